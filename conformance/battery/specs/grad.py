"""grad, grad_and_value / value_and_grad, has_aux: values, return structure, argnums."""

from __future__ import annotations

from backends.base import LayoutMismatch, unpack
from conformance.battery.catalog import Entry
from conformance.battery.specs.core import CheckFailed, Ctx, Variant, spec
from conformance.battery.specs.predicates import multi_arg, scalar


@spec("grad_value", "grad", applies=scalar)
def grad_value(ctx: Ctx) -> None:
    """grad(f)(x) equals the reference gradient with respect to the first argument."""
    ctx.against_reference("grad", "first", 1, "grad(f)(x)")


def _argnums_variants(e: Entry) -> list[Variant]:
    return [Variant("argnums=1", 1), Variant("argnums=(0,1)", (0, 1))]


@spec("grad_argnums", "grad", applies=lambda e: multi_arg(e) and e.scalar_output, variants=_argnums_variants)
def grad_argnums(ctx: Ctx) -> None:
    """grad(f, argnums=...) differentiates the chosen arguments; a tuple of argnums gives a tuple of grads."""
    args = ctx.draw_inputs()
    got = ctx.backend.grad(ctx.f, argnums=ctx.variant)(*ctx.native(args))
    if isinstance(ctx.variant, tuple) and not (isinstance(got, tuple) and len(got) == len(ctx.variant)):
        raise CheckFailed(
            f"grad(f, argnums={ctx.variant}) [{ctx.backend.name}] returned {type(got).__name__}, "
            f"expected a tuple of {len(ctx.variant)} gradients"
        )
    want = ctx.reference.grad(ctx.f_ref, argnums=ctx.variant)(*ctx.ref(args))
    ctx.expect_close(got, want, "first", f"grad(f, argnums={ctx.variant})(*args)", order=1)


def _read_layout(ctx: Ctx, layout: str, native: object, api: str) -> dict[str, object]:
    from backends.pytree import structure_repr

    ctx.figures.details["layout_declared"] = layout
    ctx.figures.details["structure_observed"] = structure_repr(ctx.numpy(native))
    try:
        return unpack(layout, native)
    except LayoutMismatch as exc:
        raise CheckFailed(f"{api} [{ctx.backend.name}] does not return its declared layout: {exc}") from None


@spec("grad_and_value", "grad_and_value", applies=lambda e: scalar(e) or e.has_aux)
def grad_and_value(ctx: Ctx) -> None:
    """The combined transform returns gradient, value (and aux) in the layout the library declares.

    torch.func.grad_and_value gives (grad, (value, aux)); jax.value_and_grad gives ((value, aux), grad).
    Reading the native result through the declared layout and comparing each part with the reference
    proves both the numbers and the declaration: a swapped pair fails the value comparison.
    """
    conv = ctx.backend.conventions
    aux = ctx.entry.has_aux
    if aux:
        ctx.require_has_aux("grad_and_value")
    args = ctx.draw_inputs()
    native = ctx.backend.grad_and_value(ctx.f, has_aux=aux)(*ctx.native(args))
    layout = conv.grad_and_value_aux_layout if aux else conv.grad_and_value_layout
    parts = _read_layout(ctx, layout, native, conv.grad_and_value_api)
    ref_grad = ctx.reference.grad(ctx.f_ref, has_aux=aux)(*ctx.ref(args))
    ref_out = ctx.f_ref(*ctx.ref(args))
    if aux:
        ref_grad = ref_grad[0]
        ctx.expect_close(parts["aux"], ref_out[1], "value", f"{conv.grad_and_value_api} aux", order=0)
        ref_out = ref_out[0]
    ctx.expect_close(parts["value"], ref_out, "value", f"{conv.grad_and_value_api} value", order=0)
    ctx.expect_close(parts["grad"], ref_grad, "first", f"{conv.grad_and_value_api} grad", order=1)


@spec("grad_has_aux", "grad", applies=lambda e: e.has_aux)
def grad_has_aux(ctx: Ctx) -> None:
    """grad(f, has_aux=True) returns the gradient and f's aux output, in the declared layout."""
    ctx.require_has_aux("grad")
    conv = ctx.backend.conventions
    args = ctx.draw_inputs()
    native = ctx.backend.grad(ctx.f, has_aux=True)(*ctx.native(args))
    parts = _read_layout(ctx, conv.grad_aux_layout, native, "grad(f, has_aux=True)")
    ref_grad, ref_aux = ctx.reference.grad(ctx.f_ref, has_aux=True)(*ctx.ref(args))
    ctx.expect_close(parts["aux"], ref_aux, "value", "grad(f, has_aux=True) aux", order=0)
    ctx.expect_close(parts["grad"], ref_grad, "first", "grad(f, has_aux=True) grad", order=1)


@spec("grad_equals_vjp", "grad", applies=scalar, uses_reference=False)
def grad_equals_vjp(ctx: Ctx) -> None:
    """grad(f)(x) == vjp(f, x)[1](1.0)[0]: reverse mode seeded with one is the gradient."""
    args = ctx.native(ctx.draw_inputs())
    g = ctx.backend.grad(ctx.f)(*args)
    _, pullback = ctx.backend.vjp(ctx.f, *args)
    seeded = pullback(ctx.backend.asarray(1.0, ctx.dtype))
    ctx.expect_close(seeded[0], ctx.numpy(g), "identity", "vjp(f, x)[1](1.0)[0] vs grad(f)(x)")
