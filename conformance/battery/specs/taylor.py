"""A tolerance-free gradient check: the odd part of the Taylor remainder is O(h^3) for a right gradient.

Why the odd part.  With ``s = <g, v>`` the claimed directional derivative and ``e`` its error,

    D(h) = (f(x + h v) - f(x - h v)) / 2 - h s = -e h + c3 h^3 + c5 h^5 + ...

The even Taylor terms cancel exactly, so ``D`` has no h^2 term for the order to be confused with: a right
gradient gives order 3 (or 5, 7, ... when c3 vanishes along ``v``), a wrong one order 1 as h -> 0.  The
one-sided remainder used before mixed h^2 and h^3 terms, and a direction where the quadratic
coefficient was tiny read as order 1.58 on a right gradient (issue 13's false alarm).

Where the order is read.  Only in the asymptotic regime: the smallest steps whose ``|D|`` stands at least
``CLEAR`` times above the rounding floor, and only once two successive order estimates agree (a sign
change between c3 h^3 and c5 h^5 can bend one ratio anywhere; it cannot bend two in the same way).  The
floor is measured, not guessed: ``D`` at steps so small that every polynomial term is far below eps is
pure rounding (plus ``e h``, far below the floor for any error this check can see).  Without two agreeing
estimates above the floor, the remainder is indistinguishable from rounding, and the check records the
bound on ``|e|`` that this implies instead of a verdict it cannot support.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence

import numpy as np

from backends import pytree
from conformance.battery.specs.core import CheckFailed, Ctx, leaves, spec
from conformance.battery.specs.predicates import analytic_scalar

H_MAX = 2.0**-3
"""Largest step: with directions in [-1, 1], x +- h v stays inside every catalog domain (POS starts at 0.25)."""
STEP_RATIO = 4.0
"""Steps shrink by 4: a right gradient's ratio is >= 4^3 = 64, a wrong one's 4; log4 reads orders directly."""
STEPS = H_MAX / STEP_RATIO ** np.arange(0, 20)
PROBES = 2.0 ** -np.array([44.0, 46.0, 48.0])
"""Floor probes: at h <= 2^-44 every term c_k h^k (k >= 3) is below 1e-39, so |D| there is rounding."""
CLEAR = 64.0
"""|D| at least 64 x the floor perturbs one order estimate by at most log4(65/63) ~ 0.02."""
AGREE = 0.5
"""Two successive order estimates within this of each other mark the asymptotic regime."""
THRESHOLD = 2.0
"""Between a wrong gradient's 1 and a right one's >= 3, a unit from each."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    order: float | None
    """The order read in the asymptotic regime, or None when the remainder never clears the floor there."""
    floor: float
    steps: tuple[float, ...]
    remainders: tuple[float, ...]

    @property
    def wrong(self) -> bool:
        return self.order is not None and self.order < THRESHOLD


def odd_remainder_order(d: Callable[[float], float], scale: Callable[[float], float], eps: float) -> Verdict:
    """Read the order of ``D(h)`` as h -> 0.

    ``d(h)`` evaluates the odd remainder, ``scale(h)`` the magnitude of the function values it is computed
    from (for the eps-based part of the floor).  Steps are walked from large to small and the walk stops
    once ``D`` has sunk into the floor, so a right gradient costs a handful of evaluations.
    """
    floor = max(abs(d(h)) for h in PROBES)
    hs: list[float] = []
    rs: list[float] = []
    below = 0
    for h in STEPS:
        r = abs(d(float(h)))
        hs.append(float(h))
        rs.append(r)
        below = below + 1 if r <= CLEAR * max(floor, 4 * eps * scale(float(h))) else 0
        if below == 2:
            break
    clear = [r > CLEAR * max(floor, 4 * eps * scale(h)) for h, r in zip(hs, rs)]
    # The smallest-step run of consecutive clear remainders: the asymptotic end of what can be seen.
    end = max((i for i, c in enumerate(clear) if c), default=-1)
    start = end
    while start > 0 and clear[start - 1]:
        start -= 1
    run = rs[start : end + 1] if end >= 0 else []
    orders = [float(np.log(a / b) / np.log(STEP_RATIO)) for a, b in itertools.pairwise(run)]
    order = None
    if len(orders) >= 2 and abs(orders[-1] - orders[-2]) <= AGREE:
        order = (orders[-1] + orders[-2]) / 2
    return Verdict(order, floor, tuple(hs), tuple(rs))


def _axpy(x: object, h: float, v: object) -> object:
    return pytree.tree_map(lambda a, b: np.asarray(a) + h * np.asarray(b), x, v)


def _dot(a: object, b: object) -> float:
    return sum(float(np.sum(np.asarray(p) * np.asarray(q))) for (_, p), (_, q) in zip(leaves(a), leaves(b), strict=True))


@spec("taylor_remainder", "grad", applies=analytic_scalar, dtypes=("float64",), uses_reference=False)
def taylor_remainder(ctx: Ctx) -> None:
    """(f(x+hv) - f(x-hv))/2 - h <grad f(x), v> = O(h^3): the order read in the asymptotic regime is >= 2.

    Needs no reference and no tolerance: a wrong gradient leaves an O(h) term, a right one O(h^3) or
    smaller; the order is read only above the measured rounding floor and only where it has settled.
    """
    args = ctx.draw_inputs()
    v = ctx.draw_like(args, "direction")
    g = ctx.numpy(ctx.backend.grad(ctx.f, argnums=tuple(range(ctx.entry.arity)))(*ctx.native(args)))
    s = _dot(g, v)
    cache: dict[float, tuple[float, float]] = {}

    def values(h: float) -> tuple[float, float]:
        if h not in cache:
            plus, minus = (tuple(_axpy(a, sign * h, b) for a, b in zip(args, v)) for sign in (1.0, -1.0))
            cache[h] = (float(ctx.numpy(ctx.f(*ctx.native(plus)))), float(ctx.numpy(ctx.f(*ctx.native(minus)))))
        return cache[h]

    def d(h: float) -> float:
        fp, fm = values(h)
        return (fp - fm) / 2 - h * s

    def scale(h: float) -> float:
        fp, fm = values(h)
        return abs(fp) + abs(fm) + abs(h * s)

    verdict = odd_remainder_order(d, scale, float(np.finfo(np.float64).eps))
    ctx.figures.details["remainders"] = list(verdict.remainders)
    ctx.figures.details["fitted_order"] = verdict.order
    ctx.figures.details["rounding_floor"] = verdict.floor
    if verdict.wrong:
        # A function whose float64 values are computed at lower precision is constant at fine scales: the
        # library's gradient is then not the derivative of the values it computes.  Say so when it is seen.
        flat = [h for h in verdict.steps if values(h)[0] == values(h)[1] and h * abs(s) > 1e3 * verdict.floor]
        why = (f"; f(x+hv) == f(x-hv) exactly for h <= {max(flat):.1e}: f's values do not resolve these steps "
               f"(float64 computed at lower precision?), so the gradient is not the derivative of the values") if flat else ""
        raise CheckFailed(
            f"grad(f) [{ctx.backend.name}, float64]: the odd Taylor remainder (f(x+hv)-f(x-hv))/2 - h<g,v> "
            f"shrinks with order {verdict.order:.2f} < {THRESHOLD} where it has settled above the rounding floor "
            f"{verdict.floor:.1e} (a right gradient gives 3 or more, a wrong one 1){why}: "
            f"h={_short(verdict.steps)}, |D|={_short(verdict.remainders)}"
        )


def _short(xs: Sequence[float]) -> str:
    return "[" + ", ".join(f"{x:.2g}" for x in xs) + "]"
