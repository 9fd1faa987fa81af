"""Draw filters and constructs for reductions over any axes (an int, a tuple, None) and under a ``where=`` mask.

The function table's standard reduction rows reduce axis 1 of a matrix, and their kink filters look at rows
(``conformance.battery.functions._top_gap``, ``catalog.widen_top_gap``).  The reductions' argument variants reduce other
slices of a cube, or the entries a mask keeps: a kink (a tie for max and min, a zero variance for std) lives in the
slice the reduction reduces, so these helpers find those slices and apply the same margins there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.battery.catalog import KINK_MARGIN, widen_top_gap

SPREAD = 0.1
"""std's kink is where a slice's variance is 0: draws keep every reduced slice's variance above this (as ``std``)."""


def _slices(shape: tuple[int, ...], axis: Any, mask: Any = None) -> list[np.ndarray]:
    """The flat indices of each slice that a reduction over ``axis`` (an int, a tuple, None: every axis) reduces,
    less the entries ``mask`` leaves out: what the variants' kink filters look at."""
    n = len(shape)
    axes = tuple(range(n)) if axis is None else tuple(a % n for a in (axis if isinstance(axis, tuple) else (axis,)))
    index = np.arange(int(np.prod(shape, dtype=int))).reshape(shape)
    moved = np.moveaxis(index, axes, tuple(range(n - len(axes), n)))
    rows = moved.reshape(-1, int(np.prod([shape[a] for a in axes], dtype=int)))
    keep = np.ones(index.size, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask), shape).ravel()
    return [r[keep[r]] for r in rows]


def top_gap_over(sign: float, axis: Any, mask: Any = None) -> tuple[Callable[..., bool], Callable[..., tuple[Any]]]:
    """``valid`` and ``construct`` for max (``sign=-1``: min) over ``axis``: in every reduced slice the leader ahead
    of the runner-up by more than KINK_MARGIN; the construct widens each slice's gap as ``widen_top_gap`` does a row's."""
    widen = widen_top_gap(sign)

    def valid(x: Any) -> bool:
        flat = np.asarray(x).ravel()
        return all(np.diff(np.sort(sign * flat[r])[-2:])[0] > KINK_MARGIN for r in _slices(np.shape(x), axis, mask))

    def construct(x: Any) -> tuple[Any]:
        flat = np.asarray(x, dtype=np.float64).ravel().copy()
        for r in _slices(np.shape(x), axis, mask):
            flat[r] = widen(flat[r])[0]
        return (flat.reshape(np.shape(x)),)

    return valid, construct


def spread_over(axis: Any, mask: Any = None, low: float = -2.0, high: float = 2.0
                 ) -> tuple[Callable[..., bool], Callable[..., tuple[Any]]]:
    """``valid`` and ``construct`` for std over ``axis``: every reduced slice's variance above SPREAD.  A slice of two
    entries keeps it only where they are 0.63 apart (a filter would keep a quarter of the cube's draws), so the
    construct scales a too-narrow slice's deviations from its mean up to twice SPREAD (a fixed ramp where they are
    all equal) and moves the slice into the domain; slices already spread are not touched."""

    def valid(x: Any) -> bool:
        flat = np.asarray(x).ravel()
        return all(np.var(flat[r]) > SPREAD for r in _slices(np.shape(x), axis, mask))

    def construct(x: Any) -> tuple[Any]:
        flat = np.asarray(x, dtype=np.float64).ravel().copy()
        for r in _slices(np.shape(x), axis, mask):
            v = flat[r]
            if np.var(v) > SPREAD:
                continue
            dev = v - v.mean()
            if np.var(dev) < 1e-6:
                dev = np.linspace(-1.0, 1.0, v.size)
            dev *= np.sqrt(2 * SPREAD / np.var(dev))
            flat[r] = np.clip(v.mean(), low - dev.min(), high - dev.max()) + dev
        return (flat.reshape(np.shape(x)),)

    return valid, construct
