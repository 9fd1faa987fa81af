"""A tolerance-free gradient check: the first-order Taylor remainder shrinks like h^2."""

from __future__ import annotations

import numpy as np

from conformance.specs.core import CheckFailed, Ctx, leaves, spec
from conformance.specs.predicates import analytic_scalar

STEPS = 2.0 ** -np.arange(2, 12)
FIT_POINTS = 5
MIN_ORDER = 1.7
"""A wrong gradient leaves a remainder of order h (slope 1); a right one gives slope 2 (or more)."""


def _axpy(x: object, h: float, v: object) -> object:
    if isinstance(x, dict):
        return {k: _axpy(x[k], h, v[k]) for k in x}
    if isinstance(x, tuple):
        return tuple(_axpy(a, h, b) for a, b in zip(x, v))
    return np.asarray(x) + h * np.asarray(v)


@spec("taylor_remainder", "grad", applies=analytic_scalar, dtypes=("float64",), uses_reference=False)
def taylor_remainder(ctx: Ctx) -> None:
    """|f(x + h v) - f(x) - h <grad f(x), v>| = O(h^2): the order fitted on the smallest usable steps is >= 1.7.

    Needs no reference and no tolerance: only the slope of log r(h) against log h, fitted on the
    steps where the remainder stands clear of rounding noise.
    """
    args = ctx.draw_inputs()
    v = ctx.draw_like(args, "direction")
    g = ctx.numpy(ctx.backend.grad(ctx.f, argnums=tuple(range(ctx.entry.arity)))(*ctx.native(args)))
    slope = sum(float(np.sum(np.asarray(a) * np.asarray(b))) for (_, a), (_, b) in zip(leaves(g), leaves(v), strict=True))
    f0 = float(ctx.numpy(ctx.f(*ctx.native(args))))
    noise = 64 * np.finfo(np.float64).eps * max(1.0, abs(f0))
    rem = []
    for h in STEPS:
        shifted = tuple(_axpy(a, h, b) for a, b in zip(args, v))
        fh = float(ctx.numpy(ctx.f(*ctx.native(shifted))))
        rem.append(abs(fh - f0 - h * slope))
    rem = np.asarray(rem)
    usable = rem > 100 * noise
    ctx.figures.details["remainders"] = rem.tolist()
    if usable.sum() < 3:
        ctx.figures.details["fitted_order"] = None
        if rem.max() > 1e3 * noise:
            raise CheckFailed(f"Taylor remainders {rem.tolist()} are neither O(h^2) nor rounding noise")
        return  # f is (nearly) linear along v: the remainder is all rounding, consistent with a right gradient
    # Fit the smallest usable steps: O(h^2) is a statement about h -> 0, and at h = 1/4 the cubic term can
    # still rival a small quadratic one (seen with the thorough profile on w*cos(b)).
    tail = np.flatnonzero(usable)[-FIT_POINTS:]
    order = float(np.polyfit(np.log(STEPS[tail]), np.log(rem[tail]), 1)[0])
    ctx.figures.details["fitted_order"] = order
    if order < MIN_ORDER:
        raise CheckFailed(
            f"grad(f) [{ctx.backend.name}, float64]: the Taylor remainder |f(x+hv)-f(x)-h<g,v>| shrinks with "
            f"order {order:.2f} < {MIN_ORDER} over h=2^-2..2^-11 (a right gradient gives 2): remainders {rem.tolist()}"
        )
