"""cond: takes the branch its predicate names, and differentiates through the taken branch."""

from __future__ import annotations

from typing import Any

from conformance.battery.specs.core import Ctx, spec


def _has_branches(e: Any) -> bool:
    return e.branches is not None


@spec("cond_branch", "cond", applies=_has_branches, uses_reference=False)
def cond_branch(ctx: Ctx) -> None:
    """cond(True, t, f, ops) == t(*ops) and cond(False, t, f, ops) == f(*ops)."""
    xp = ctx.backend.xp
    t, f = (lambda *a, fn=fn: fn(xp, *a) for fn in ctx.entry.branches)
    args = ctx.native(ctx.draw_inputs())
    for pred, branch, name in ((True, t, "true_fn"), (False, f, "false_fn")):
        got = ctx.unsupported(lambda pred=pred: ctx.backend.cond(xp.asarray(pred), t, f, args))
        ctx.expect_close(got, ctx.numpy(branch(*args)), "identity", f"cond({pred}, ...) vs {name}(*operands)")


def _cond_fn(ctx: Ctx, backend: Any) -> Any:
    xp = backend.xp
    t, f = (lambda *a, fn=fn: fn(xp, *a) for fn in ctx.entry.branches)

    def through_cond(*args: Any) -> Any:
        return backend.cond(ctx.entry.predicate(xp, *args), t, f, args)

    return through_cond


@spec("cond_grad", "cond", applies=_has_branches)
def cond_grad(ctx: Ctx) -> None:
    """grad(x -> cond(p(x), t, f, (x,)))(x) equals the reference gradient of the branch taken."""
    args = ctx.draw_inputs()
    got = ctx.unsupported(lambda: ctx.backend.grad(_cond_fn(ctx, ctx.backend))(*ctx.native(args)))
    want = ctx.reference.grad(_cond_fn(ctx, ctx.reference))(*ctx.ref(args))
    ctx.expect_close(got, want, "first", "grad of a function through cond", order=1)
