"""dtype preservation: float32 in gives float32 out, float64 in gives float64 out, for every transform."""

from __future__ import annotations

from conformance.specs.core import Ctx, spec
from conformance.specs.predicates import plain, single_array


@spec("dtype_preserved", "dtype", applies=lambda e: plain(e) and single_array(e) and not e.control_flow, uses_reference=False)
def dtype_preserved(ctx: Ctx) -> None:
    """Every transform's outputs keep the input dtype (JAX without x64 silently computes float64 in float32)."""
    b, f = ctx.backend, ctx.f
    (x,) = ctx.native(ctx.draw_inputs())
    out = f(x)
    ctx.expect_dtype(out, "f(x)")
    ctx.expect_dtype(b.jvp(f, (x,), (x,)), "jvp")
    out, pullback = b.vjp(f, x)
    ctx.expect_dtype(pullback(out), "vjp")
    ctx.expect_dtype(b.jacrev(f)(x), "jacrev")
    ctx.expect_dtype(b.jacfwd(f)(x), "jacfwd")
    ctx.expect_dtype(b.vmap(f)(b.xp.stack([x, x])), "vmap")
    if ctx.entry.scalar_output:
        ctx.expect_dtype(b.grad(f)(x), "grad")
        ctx.expect_dtype(b.hessian(f)(x), "hessian")
