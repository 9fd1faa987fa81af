"""vjp and jvp: values against the reference, and their duality inside each backend."""

from __future__ import annotations

import numpy as np

from conformance.battery.specs.core import Ctx, leaves, spec
from conformance.battery.specs.predicates import plain


@spec("vjp_value", "vjp", applies=plain)
def vjp_value(ctx: Ctx) -> None:
    """vjp(f, *x) returns f(x) and a pullback whose value at u is J(x)^T u, one cotangent per primal."""
    args = ctx.draw_inputs()
    out, pullback = ctx.backend.vjp(ctx.f, *ctx.native(args))
    ref_out, ref_pullback = ctx.reference.vjp(ctx.f_ref, *ctx.ref(args))
    ctx.expect_close(out, ref_out, "value", "vjp(f, *x)[0]", order=0)
    u = ctx.draw_cotangent(args)
    ctx.expect_close(pullback(ctx.native(u)), ref_pullback(ctx.ref(u)), "first", "vjp(f, *x)[1](u)", order=1)


@spec("jvp_value", "jvp", applies=plain)
def jvp_value(ctx: Ctx) -> None:
    """jvp(f, primals, tangents) returns (f(x), J(x) v) with primals and tangents as tuples."""
    args = ctx.draw_inputs()
    ctx.expect_jvp(ctx.f, ctx.f_ref, args, ctx.draw_like(args, "tangent"), "jvp(f, x, v)")


def _dot(a: object, b: object) -> tuple[float, float]:
    """<a, b> over all leaves, and ||a|| ||b||, the Cauchy-Schwarz bound on it.

    The bound is the scale at which rounding error in either inner product lives; the
    sum of the terms would not do, since it is zero when J v vanishes while J^T u does not.
    """
    total, norm_a, norm_b = 0.0, 0.0, 0.0
    for (_, x), (_, y) in zip(leaves(a), leaves(b), strict=True):
        x64, y64 = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        total += float(np.sum(x64 * y64))
        norm_a += float(np.sum(x64**2))
        norm_b += float(np.sum(y64**2))
    return total, float(np.sqrt(norm_a * norm_b))


@spec("jvp_vjp_duality", "jvp", applies=plain, uses_reference=False)
def jvp_vjp_duality(ctx: Ctx) -> None:
    """<J v, u> == <v, J^T u>: forward and reverse mode compute transposes of one linear map."""
    args = ctx.draw_inputs()
    v = ctx.draw_like(args, "tangent")
    _, jv = ctx.backend.jvp(ctx.f, ctx.native(args), ctx.native(v))
    u = ctx.draw_cotangent(args)
    _, pullback = ctx.backend.vjp(ctx.f, *ctx.native(args))
    jtu = pullback(ctx.native(u))
    lhs, lscale = _dot(ctx.numpy(jv), u)
    rhs, rscale = _dot(v, ctx.numpy(jtu))
    # Compare the two scalars at the scale of the vectors involved, not of their (possibly cancelling) sum,
    # and never below 1: inputs and directions are O(1), the same floor the policy's atol applies.
    scale = max(lscale + rscale, 1.0)
    ctx.figures.details["inner_products"] = [lhs, rhs]
    ctx.expect_close(np.asarray(lhs / scale), np.asarray(rhs / scale), "identity", "<J v, u> vs <v, J^T u> (scaled)")
