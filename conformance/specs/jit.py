"""jit(T(f)) == T(f) for every transform T, where the library has a jit.

One check per transform (a variant each): a library whose compiler cannot take one transform, or
that lacks the transform, skips that check alone.  Each check records what compiled it
(``Backend.jit_description``: torch.compile's backend, mx.compile, jax.jit).
"""

from __future__ import annotations

from typing import Any

from conformance.catalog import Entry
from conformance.specs.core import Ctx, Variant, spec, stack

ENTRIES = frozenset({"sin_sum", "logsumexp", "quadratic_form", "tanh_vec", "dict_input"})
TRANSFORMS = ("jvp", "jacrev", "vmap", "grad", "hessian")
SCALAR_ONLY = frozenset({"grad", "hessian"})


def _variants(e: Entry) -> list[Variant]:
    return [Variant(t, t) for t in TRANSFORMS if e.scalar_output or t not in SCALAR_ONLY]


def _call(ctx: Ctx, transform: str, args: tuple[Any, ...]) -> Any:
    b, f = ctx.backend, ctx.f
    x = ctx.native(args)
    if transform == "jvp":
        v = ctx.native(ctx.draw_like(args, "tangent"))
        return lambda: b.jvp(f, x, v)
    if transform == "vmap":
        batched = ctx.native(tuple(stack([a, a]) for a in args))
        return lambda: b.vmap(f)(*batched)
    return lambda: getattr(b, transform)(f)(*x)


@spec("jit_agrees", "jit", applies=lambda e: e.name in ENTRIES, uses_reference=False, variants=_variants)
def jit_agrees(ctx: Ctx) -> None:
    """Compiling a transformed function changes nothing but speed: jit(T(f)) equals the eager T(f)."""
    b = ctx.backend
    b.jit(lambda: None)  # Unsupported (a skip) where the library has no jit
    ctx.figures.details["compiled_with"] = b.jit_description()
    call = _call(ctx, ctx.variant, ctx.draw_inputs())
    eager = ctx.numpy(call())
    compiled = b.jit(call)()
    ctx.expect_close(compiled, eager, "identity", f"jit({ctx.variant}) vs eager {ctx.variant}")
