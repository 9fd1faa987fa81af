"""hessian: values against the reference, and hessian == jacfwd(jacrev(f))."""

from __future__ import annotations

from conformance.battery.specs.core import Ctx, spec
from conformance.battery.specs.predicates import scalar


@spec("hessian_value", "hessian", applies=scalar)
def hessian_value(ctx: Ctx) -> None:
    """hessian(f)(x) is the matrix of second derivatives, shaped in.shape + in.shape."""
    ctx.against_reference("hessian", "second", 2, "hessian(f)(x)")


@spec("hessian_equals_jacfwd_jacrev", "hessian", applies=scalar, uses_reference=False)
def hessian_equals_jacfwd_jacrev(ctx: Ctx) -> None:
    """hessian(f) == jacfwd(jacrev(f)) inside one backend (both libraries document it so)."""
    args = ctx.native(ctx.draw_inputs())
    h = ctx.backend.hessian(ctx.f)(*args)
    fr = ctx.backend.jacfwd(ctx.backend.jacrev(ctx.f))(*args)
    ctx.expect_close(h, ctx.numpy(fr), "second", "hessian(f)(x) vs jacfwd(jacrev(f))(x)")
