"""Finite differences: the one engine the NumPy reference and the document checker's oracle share.

Why one module: the battery's reference (``backends.numpy_reference``) and the host's check of a document's
transform calls (``conformance.claims.documents.oracle``) both differentiate a function they can only evaluate.  They
differ in where the evaluations happen (here, in NumPy; in the document's sandbox, at points the host plans) and in
their steps (the reference works in float64 at O(1) inputs; a document's function may reject float64), not in the
arithmetic, which lives here once:

- a central difference ``(f(x + h t) - f(x - h t)) / 2h`` along a direction ``t``;
- a second difference ``(f(+v+w) - f(+v-w) - f(-v+w) + f(-v-w)) / 4s^2`` for a pair of directions;
- a Richardson table over halving steps (both error series are in ``h**2``), with the last correction as an
  estimate of the error left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def richardson(estimates: Sequence[np.ndarray]) -> np.ndarray:
    """Extrapolate difference estimates D(h), D(h/2), ... to h = 0; their error series is in h**2."""
    row = [estimates[0]]
    for i in range(1, len(estimates)):
        new = [estimates[i]]
        for j in range(1, i + 1):
            new.append(new[j - 1] + (new[j - 1] - row[j - 1]) / (4.0**j - 1.0))
        row = new
    return row[-1]


def central(plus: np.ndarray, minus: np.ndarray, h: float) -> np.ndarray:
    """The central difference from ``f(x + h t)`` and ``f(x - h t)``."""
    return (np.asarray(plus) - np.asarray(minus)) / (2.0 * h)


def second(pp: np.ndarray, pm: np.ndarray, mp: np.ndarray, mm: np.ndarray, s: float) -> np.ndarray:
    """The mixed second difference from f at ``x + s v + s w``, ``x + s v - s w``, ``x - s v + s w``, ``x - s v - s w``."""
    return (np.asarray(pp) - np.asarray(pm) - np.asarray(mp) + np.asarray(mm)) / (4.0 * s * s)


def extrapolated(estimates: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The Richardson extrapolation of ``estimates`` (largest step first) and an estimate of its error: how far it
    moved from the finest estimate."""
    best = richardson(estimates)
    return best, np.abs(best - np.asarray(estimates[-1]))
