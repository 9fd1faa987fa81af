"""jacrev and jacfwd: values against the reference, and agreement with each other."""

from __future__ import annotations

from conformance.battery.catalog import Entry
from conformance.battery.specs.core import Ctx, Variant, spec
from conformance.battery.specs.predicates import plain


def _argnums(e: Entry) -> list[Variant]:
    if e.arity > 1:
        return [Variant("argnums=0", 0), Variant("argnums=(0,1)", (0, 1))]
    return [Variant("argnums=0", 0)]


@spec("jacrev_value", "jacrev", applies=plain, variants=_argnums)
def jacrev_value(ctx: Ctx) -> None:
    """jacrev(f)(x) is the Jacobian, shaped out.shape + in.shape, nested like jax for pytrees."""
    ctx.against_reference("jacrev", "first", 1, f"jacrev(f, argnums={ctx.variant})(*x)", argnums=ctx.variant)


@spec("jacfwd_value", "jacfwd", applies=plain, variants=_argnums)
def jacfwd_value(ctx: Ctx) -> None:
    """jacfwd(f)(x) is the same Jacobian as jacrev, computed column by column in forward mode."""
    ctx.against_reference("jacfwd", "first", 1, f"jacfwd(f, argnums={ctx.variant})(*x)", argnums=ctx.variant)


@spec("jacfwd_equals_jacrev", "jacfwd", applies=plain, uses_reference=False, variants=_argnums)
def jacfwd_equals_jacrev(ctx: Ctx) -> None:
    """jacfwd(f) == jacrev(f) inside one backend."""
    args = ctx.native(ctx.draw_inputs())
    fwd = ctx.backend.jacfwd(ctx.f, argnums=ctx.variant)(*args)
    rev = ctx.backend.jacrev(ctx.f, argnums=ctx.variant)(*args)
    ctx.expect_close(fwd, ctx.numpy(rev), "identity", "jacfwd(f)(x) vs jacrev(f)(x)")
