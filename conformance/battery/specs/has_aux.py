"""Which transforms take has_aux, and where each puts the aux output."""

from __future__ import annotations

from typing import Any

from conformance.battery.catalog import Entry
from conformance.battery.specs.core import CheckFailed, Ctx, Variant, spec

TRANSFORMS = ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian")


def _variants(e: Entry) -> list[Variant]:
    return [Variant(t, t) for t in TRANSFORMS]


def _call(ctx: Ctx, transform: str, x: Any) -> Any:
    b, f = ctx.backend, ctx.f
    if transform == "vjp":
        return b.vjp(f, x, has_aux=True)[2]
    if transform == "jvp":
        return b.jvp(f, (x,), (x,), has_aux=True)[2]
    native = getattr(b, transform)(f, has_aux=True)(x)
    if transform == "grad":
        from backends.base import unpack

        return unpack(b.conventions.grad_aux_layout, native)["aux"]
    if transform == "grad_and_value":
        from backends.base import unpack

        return unpack(b.conventions.grad_and_value_aux_layout, native)["aux"]
    return native[1]


@spec("has_aux_support", "has_aux", applies=lambda e: e.has_aux, variants=_variants)
def has_aux_support(ctx: Ctx) -> None:
    """A transform the library declares with has_aux returns f's aux unchanged; one it does not declare
    rejects has_aux=True with a TypeError (torch.func.hessian has no has_aux; jax.hessian has)."""
    transform = ctx.variant
    (x,) = ctx.draw_inputs()
    declared = transform in ctx.backend.conventions.has_aux
    ctx.figures.details["declared_has_aux"] = declared
    try:
        aux = _call(ctx, transform, ctx.native(x))
    except TypeError as exc:
        ctx.figures.details["observed"] = f"TypeError: {exc}"
        if declared:
            raise CheckFailed(f"{transform}(f, has_aux=True) [{ctx.backend.name}] is declared to take has_aux but raised TypeError: {exc}") from None
        return
    ctx.figures.details["observed"] = "accepted"
    if not declared:
        raise CheckFailed(f"{transform}(f, has_aux=True) [{ctx.backend.name}] accepted has_aux, but the conventions say it does not take it")
    ctx.expect_close(aux, ctx.f_ref(ctx.ref(x))[1], "value", f"{transform}(f, has_aux=True) aux", order=0)
