"""Non-contiguous inputs: a transform at a strided view equals the same transform at a fresh array.

Libraries whose arrays have a memory layout (torch, NumPy) run every kernel and derivative rule on
views too: a rule that assumes contiguous memory is right on every freshly made array and wrong on a
slice or a transpose.  Both sides are computed by the same library, so the expectation is exact up
to rounding ("identity"); a library without views (JAX, MLX) skips with that reason.
"""

from __future__ import annotations

from typing import Any

from conformance.battery.specs.core import Ctx, spec, tree_map
from conformance.battery.specs.predicates import plain, probe
from conformance.battery.specs.vmap import draw_batch


def _views(ctx: Ctx, tree: Any) -> Any:
    return tree_map(lambda leaf: ctx.backend.as_strided_view(leaf, ctx.dtype), tree)


def _applies(e: Any) -> bool:
    return probe(e) and plain(e) and all(a.shape for a in e.args)


@spec("layout_vjp", "vjp", applies=_applies, uses_reference=False)
def layout_vjp(ctx: Ctx) -> None:
    """vjp(f, *views) gives the value and the cotangents vjp(f, *x) gives, the views being strided copies of x."""
    args = ctx.draw_inputs()
    u = ctx.native(ctx.draw_cotangent(args))
    # The transform on fresh arrays first: a library without it skips for that reason, not for its views.
    out, pullback = ctx.backend.vjp(ctx.f, *ctx.native(args))
    v_out, v_pullback = ctx.backend.vjp(ctx.f, *_views(ctx, args))
    ctx.expect_close(v_out, ctx.numpy(out), "identity", "vjp(f, *views)[0] vs vjp(f, *x)[0]")
    ctx.expect_close(v_pullback(u), ctx.numpy(pullback(u)), "identity", "vjp(f, *views)[1](u) vs vjp(f, *x)[1](u)")


@spec("layout_jvp", "jvp", applies=_applies, uses_reference=False)
def layout_jvp(ctx: Ctx) -> None:
    """jvp(f, views, tangent views) equals jvp(f, x, v): primals and tangents both strided copies."""
    args = ctx.draw_inputs()
    v = ctx.draw_like(args, "tangent")
    out, t_out = ctx.backend.jvp(ctx.f, ctx.native(args), ctx.native(v))
    v_out, v_t_out = ctx.backend.jvp(ctx.f, _views(ctx, args), _views(ctx, v))
    ctx.expect_close(v_out, ctx.numpy(out), "identity", "jvp(f, views, v views)[0] vs jvp(f, x, v)[0]")
    ctx.expect_close(v_t_out, ctx.numpy(t_out), "identity", "jvp(f, views, v views)[1] vs jvp(f, x, v)[1]")


@spec("layout_vmap", "vmap", applies=_applies, uses_reference=False)
def layout_vmap(ctx: Ctx) -> None:
    """vmap(f) over a strided view of the batch equals vmap(f) over a fresh batch."""
    _, batched = draw_batch(ctx, 0, size=4)
    fresh = ctx.backend.vmap(ctx.f)(*ctx.native(batched))
    viewed = ctx.backend.vmap(ctx.f)(*_views(ctx, batched))
    ctx.expect_close(viewed, ctx.numpy(fresh), "identity", "vmap(f)(views) vs vmap(f)(X)")
