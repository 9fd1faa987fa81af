"""What each index-bounds convention means, by definition: the value and the derivative of a gather whose index
may lie beyond the bounds.

A library declares one word per operation (``Conventions.index_bounds``, vocabulary
:data:`backends.conventions.INDEX_BOUNDS`); the indexing specs (``conformance/battery/specs/indexing.py``) compare the
library with its own declared word through the functions here, so a declaration is verified by running, never
trusted.  Every word agrees inside the bounds, negative indices included (``-n <= i < n``, the standard's), and
differs beyond them:

* ``clamp``: a negative index is counted from the end, then clipped into ``[0, n - 1]`` (JAX's ``x[i]``);
* ``fill``: the value is NaN (inexact dtypes) and the index contributes no derivative (``jnp.take``'s default);
* ``wrap``: the index modulo n (``numpy.take(mode='wrap')``);
* ``error``: the call raises; ``unchecked``: the value is undefined (MLX reads whatever memory is there).

The derivative of a gather is its own linear map (it is linear in ``x``): the gradient of ``sum(w * gather(x))``
scatters ``w`` to every position read, adding where one is read twice, and drops what a ``fill`` index reads.
It is computed here by applying the linear part to each unit array, so it shares no scatter code with anything.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backends.conventions import INDEX_BOUNDS

DEFINED = ("clamp", "fill", "wrap")
"""The words that give an index beyond the bounds a value (and a derivative) to check."""
assert set(DEFINED) < set(INDEX_BOUNDS)


def positions(indices: np.ndarray, n: int, word: str) -> tuple[np.ndarray, np.ndarray]:
    """The position each index reads along an axis of length ``n`` under ``word``, and whether it reads at all."""
    idx = np.asarray(indices, dtype=np.int64)
    counted = np.where(idx < 0, idx + n, idx)
    inside = (counted >= 0) & (counted < n)
    if word == "clamp":
        return np.clip(counted, 0, n - 1), np.ones_like(inside)
    if word == "wrap":
        return np.mod(idx, n), np.ones_like(inside)
    if word == "fill" or inside.all():
        return np.where(inside, counted, 0), inside
    raise ValueError(f"index_bounds {word!r} defines no value for indices {idx.tolist()} beyond a length of {n}")


def gather(x: np.ndarray, indices: np.ndarray, op: str, axis: int, word: str, fill: float = np.nan) -> np.ndarray:
    """``take(x, indices, axis)`` (``op`` "take"; ``x[i]`` is take along axis 0) or ``take_along_axis`` under ``word``,
    each position that reads nothing holding ``fill``."""
    x = np.asarray(x)
    pos, reads = positions(indices, x.shape[axis], word)
    if op == "take":
        out = np.take(x, pos, axis=axis)
        lead = axis % x.ndim
        mask = reads.reshape((1,) * lead + reads.shape + (1,) * (x.ndim - lead - 1))
    elif op == "take_along_axis":
        out, mask = np.take_along_axis(x, pos, axis=axis), reads
    else:
        raise ValueError(f"no gather named {op!r}")
    return np.where(mask, out, fill)


def gradient(x: np.ndarray, w: np.ndarray, linear: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The gradient of ``sum(w * linear(x))`` for a linear ``linear``: ``J^T w``, one unit array at a time."""
    x = np.asarray(x, dtype=np.float64)
    flat = np.zeros(x.size)
    for j in range(x.size):
        unit = np.zeros(x.size)
        unit[j] = 1.0
        flat[j] = np.sum(w * linear(unit.reshape(x.shape)))
    return flat.reshape(x.shape)
