"""jit(T(f)) == T(f) for every transform T, where the library has a jit."""

from __future__ import annotations

from conformance.specs.core import Ctx, spec, stack

ENTRIES = frozenset({"sin_sum", "logsumexp", "quadratic_form", "tanh_vec", "dict_input"})


@spec("jit_agrees", "jit", applies=lambda e: e.name in ENTRIES, uses_reference=False)
def jit_agrees(ctx: Ctx) -> None:
    """Compiling a transformed function changes nothing but speed: jit of jvp, vjp, jacrev, vmap (and grad,
    hessian for scalar functions) equals the eager result."""
    b, f = ctx.backend, ctx.f
    args = ctx.draw_inputs()
    x = ctx.native(args)
    v = ctx.native(ctx.draw_like(args, "tangent"))
    ctx.unsupported(lambda: b.jit(f))
    pairs = {
        "jvp": lambda: b.jvp(f, x, v),
        "jacrev": lambda: b.jacrev(f)(*x),
        "vmap": lambda: b.vmap(f)(*ctx.native(tuple(stack([a, a]) for a in args))),
    }
    if ctx.entry.scalar_output:
        pairs["grad"] = lambda: b.grad(f)(*x)
        pairs["hessian"] = lambda: b.hessian(f)(*x)
    for name, call in pairs.items():
        eager = ctx.numpy(call())
        compiled = b.jit(call)()
        ctx.expect_close(compiled, eager, "identity", f"jit({name}) vs eager {name}")
