"""Non-smooth points: any element of the subdifferential is a legitimate answer.

Libraries differ at kinks (d|x|/dx at 0, relu at 0, max with ties); the check
passes when the gradient is finite and lies inside the subdifferential's
coordinate bounds, and records the value observed so the report can show
each library's choice side by side.
"""

from __future__ import annotations

import numpy as np

from conformance.battery.specs.core import CheckFailed, Ctx, spec
from conformance.battery.tolerances import tolerance


@spec("kink_subgradient", "grad", applies=lambda e: bool(e.kinks), uses_reference=False, random_inputs=False)
def kink_subgradient(ctx: Ctx) -> None:
    """At a kink, grad(f) returns a finite element of the subdifferential (which one is the library's choice)."""
    observed = []
    # The bounds are exact; the gradient carries a first derivative's rounding, no more (the policy, not a literal).
    tol = tolerance(ctx.dtype, "first")
    for point in ctx.entry.kinks:
        args = tuple(np.asarray(a, dtype=np.float64) for a in point)
        g = np.asarray(ctx.numpy(ctx.backend.grad(ctx.f)(*ctx.native(args))), dtype=np.float64)
        observed.append({"at": [a.tolist() for a in args], "grad": g.tolist()})
        low, high = (np.asarray(b, dtype=np.float64) for b in ctx.entry.subgradient(*point))
        slack = tol.atol + tol.rtol * float(np.max(np.abs(np.concatenate([low.ravel(), high.ravel()]))))
        if not np.isfinite(g).all() or (g < low - slack).any() or (g > high + slack).any():
            raise CheckFailed(
                f"grad({ctx.entry.name}) [{ctx.backend.name}] at the kink {args[0].tolist()} is {g.tolist()}, "
                f"outside the subdifferential bounds {low.tolist()} .. {high.tolist()}"
            )
    ctx.figures.details["observed"] = observed
