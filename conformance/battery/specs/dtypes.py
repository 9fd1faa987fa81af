"""dtype preservation: float32 in gives float32 out, float64 in gives float64 out, for every transform.

One check per transform (a variant each), so a library without, say, jacfwd skips that one check
and still has every other transform's dtype checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.battery.catalog import Entry
from conformance.battery.specs.core import Ctx, Variant, spec
from conformance.battery.specs.predicates import plain, single_array


def _f(ctx: Ctx, x: Any) -> Any:
    return ctx.f(x)


def _jvp(ctx: Ctx, x: Any) -> Any:
    return ctx.backend.jvp(ctx.f, (x,), (x,))


def _vjp(ctx: Ctx, x: Any) -> Any:
    out, pullback = ctx.backend.vjp(ctx.f, x)
    return pullback(out)


def _vmap(ctx: Ctx, x: Any) -> Any:
    return ctx.backend.vmap(ctx.f)(ctx.backend.xp.stack([x, x]))


TRANSFORMS: dict[str, tuple[Callable[[Ctx, Any], Any], bool]] = {
    "f": (_f, False),
    "jvp": (_jvp, False),
    "vjp": (_vjp, False),
    "jacrev": (lambda ctx, x: ctx.backend.jacrev(ctx.f)(x), False),
    "jacfwd": (lambda ctx, x: ctx.backend.jacfwd(ctx.f)(x), False),
    "vmap": (_vmap, False),
    "grad": (lambda ctx, x: ctx.backend.grad(ctx.f)(x), True),
    "hessian": (lambda ctx, x: ctx.backend.hessian(ctx.f)(x), True),
}
"""transform -> (how to call it on x, whether it needs a scalar output)."""


def _variants(e: Entry) -> list[Variant]:
    return [Variant(name, name) for name, (_, scalar_only) in TRANSFORMS.items() if e.scalar_output or not scalar_only]


@spec("dtype_preserved", "dtype", applies=lambda e: plain(e) and single_array(e) and not e.control_flow,
      uses_reference=False, variants=_variants)
def dtype_preserved(ctx: Ctx) -> None:
    """The transform's outputs keep the input dtype (JAX without x64 silently computes float64 in float32)."""
    call, _ = TRANSFORMS[ctx.variant]
    (x,) = ctx.native(ctx.draw_inputs())
    label = "f(x)" if ctx.variant == "f" else ctx.variant
    ctx.expect_dtype(call(ctx, x), label)
