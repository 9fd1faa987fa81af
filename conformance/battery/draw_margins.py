"""Keeping drawn inputs away from kinks: the margin, and the constructions that move a draw out of it.

Why constructions rather than filters: a filter that can reject every draw for some seed is a false alarm waiting
for a check's name (hypothesis's ``Unsatisfiable``); a construction moves the offending entries and keeps every
draw.  The catalog (``conformance.battery.catalog``) and the function table (``conformance.battery.functions``) use them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

KINK_MARGIN = 0.05
"""Drawn entries stay this far from kinks, per entry: the reference's finite-difference steps (at most
2**-6, two of them when nested) move each entry by less.  A kink in a function of ``n`` entries together
(a branch on ``sum(x)``) needs ``n`` times the margin: a step along a dense direction moves each entry by
up to one step, so their sum by up to ``n`` (the false alarm of seed 8: ``sum(x) = 0.0625``, one step
of 2**-6 along ``(1, 1, 1, 1)`` reached the branch, and the reference differenced across it)."""

PUSH = 2 * KINK_MARGIN
"""How far :func:`push_away` and :func:`pull_apart` move an entry from the point it was too close to: twice the
margin, so rounding to float32 afterwards cannot bring it back inside."""


def push_away(*points: float, low: float = -2.0, high: float = 2.0) -> Callable[..., tuple[Any, ...]]:
    """A ``construct`` for "every entry at least KINK_MARGIN from each of ``points``": each entry within the
    margin of a point moves to ``point +- PUSH`` on its own side (a signed zero's side for the point 0), or on
    the other side where its own leaves ``[low, high]``.  Entries already far enough are not touched."""

    def construct(*args: Any) -> tuple[Any, ...]:
        return tuple(_pushed(np.asarray(a, dtype=np.float64), points, low, high) for a in args)

    return construct


def _pushed(a: np.ndarray, points: tuple[float, ...], low: float, high: float) -> np.ndarray:
    out = a.copy()
    for p in points:
        near = np.abs(out - p) <= KINK_MARGIN
        side = np.where(out - p != 0, np.sign(out - p), np.copysign(1.0, out) if p == 0 else 1.0)
        moved = p + side * PUSH
        moved = np.where((moved < low) | (moved > high), p - side * PUSH, moved)
        out = np.where(near, moved, out)
    return out


def pull_apart(a: Any, b: Any, low: float = -2.0, high: float = 2.0) -> tuple[Any, Any]:
    """A ``construct`` for "a and b apart by more than KINK_MARGIN, entry by entry" (the kink of max(a, b)):
    where they are too close, b moves to ``a +- PUSH`` on its own side of a (or the other, at the domain's edge)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    near = np.abs(a - b) <= KINK_MARGIN
    side = np.where(b - a != 0, np.sign(b - a), 1.0)
    moved = a + side * PUSH
    moved = np.where((moved < low) | (moved > high), a - side * PUSH, moved)
    return a, np.where(near, moved, b)


def widen_top_gap(sign: float, low: float = -2.0, high: float = 2.0) -> Callable[[Any], tuple[Any]]:
    """A ``construct`` for "the largest entry (``sign=-1``: the smallest) of each row ahead of the next by more
    than KINK_MARGIN" (the kink of max at ties): where the gap is too small, the leader moves PUSH past the
    runner-up, or, at the domain's edge, the runner-up moves PUSH behind the leader."""

    top = high if sign > 0 else -low  # the domain's edge on the leader's side, in the flipped coordinates

    def construct(x: Any) -> tuple[Any]:
        rows = np.array(sign * np.asarray(x, dtype=np.float64), ndmin=2)
        for r in rows:
            order = np.argsort(r, kind="stable")
            first, second = order[-1], order[-2]
            if r[first] - r[second] > KINK_MARGIN:
                continue
            if r[second] + PUSH <= top:
                r[first] = r[second] + PUSH
            else:
                r[second] = r[first] - PUSH
        return (sign * rows.reshape(np.shape(x)),)

    return construct
