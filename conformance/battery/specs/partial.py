"""Partial tracing: an operation of two or three arguments where only one carries a tangent or is differentiated.

Every other check differentiates all arguments at once (``fn_grad``, ``fn_jvp``) or the first and the last
through a Jacobian.  Libraries do not run one rule for all of those: a derivative rule sees which operands are
traced, and takes other paths when some are not (torch's ``pow`` with a constant exponent, a ``where`` whose
branch is a constant, symbolic zero tangents in JAX), so a fault can live in the path of a constant operand
alone.  For each such row (:data:`PARTIAL`) and each argument k, three specs:

* ``partial_jvp_arg<k>``: jvp with argument k's tangent drawn and every other tangent exactly zero;
* ``partial_jvp_closed_arg<k>``: jvp of the function of argument k alone, the others closed over as constants
  (never traced at all), for ``where`` the constant-branch case;
* ``partial_grad_arg<k>``: grad of the weighted sum with ``argnums=k`` (for ``pow``: the base, then the exponent).

One spec per argument, not a variant: the gate's cover keeps each function once per spec aspect, and a
variant would let ``argnums=1`` of ``pow`` fall out of the gate behind ``argnums=1`` of the first row.  Each
row's availability is asked first (:func:`conformance.battery.specs.functions.require_names`); a transform the library
lacks is a skip, as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.battery.catalog import Entry
from conformance.battery.functions import FUNCTIONS_TABLE, row, weighted_sum
from conformance.battery.specs.core import Ctx, spec
from conformance.battery.specs.functions import require_names

PARTIAL: tuple[Entry, ...] = tuple(FUNCTIONS_TABLE[name].entry for name in (
    "fn_pow", "fn_multiply", "fn_divide", "fn_atan2", "fn_hypot", "fn_maximum", "fn_where", "fn_matmul",
    "fn_linalg_solve", "fn_clip_bounds",
))
"""The operations of several arguments whose rules depend on the argument (not sums: add's rule is the same
for both): powers, products, quotients, the two-argument angle and norm, a kink between two arguments, a
select, a matrix product and a solve, and the standard's one ternary differentiable in all three (clip with
array bounds)."""
MAX_ARITY = max(e.arity for e in PARTIAL)


def _closed(f: Callable[..., Any], args: tuple[Any, ...], k: int, analytic: bool) -> Callable[[Any], Any]:
    """``f`` as a function of argument ``k`` alone, the other arguments captured as constants."""

    def g(x: Any) -> Any:
        return f(*args[:k], x, *args[k + 1:])

    g.analytic = analytic  # type: ignore[attr-defined]  # read by the reference
    return g


def _zero_except(v: tuple[Any, ...], k: int) -> tuple[Any, ...]:
    return tuple(t if i == k else np.zeros_like(t) for i, t in enumerate(v))


def _jvp_arg(k: int) -> Callable[[Ctx], None]:
    def check(ctx: Ctx) -> None:
        require_names(ctx)
        args = ctx.draw_inputs()
        v = _zero_except(ctx.draw_like(args, "tangent"), k)
        ctx.expect_jvp(ctx.f, ctx.f_ref, args, v,
                       f"jvp({row(ctx.entry).name}) with only argument {k}'s tangent non-zero ")

    check.__doc__ = (f"jvp(f, x, v) with v zero except for argument {k}: J_{k} v_{k}, the other operands carrying "
                     "tangents that are exactly zero.")
    return check


def _jvp_closed(k: int) -> Callable[[Ctx], None]:
    def check(ctx: Ctx) -> None:
        require_names(ctx)
        args = ctx.draw_inputs()
        (v,) = ctx.draw_like((args[k],), "tangent")
        analytic = ctx.entry.analytic
        g = _closed(ctx.f, ctx.native(args), k, analytic)
        g_ref = _closed(ctx.f_ref, ctx.ref(args), k, analytic)
        ctx.expect_jvp(g, g_ref, (args[k],), (v,), f"jvp({row(ctx.entry).name} of argument {k}, the rest closed over)")

    check.__doc__ = (f"jvp of the function of argument {k} alone, every other argument a constant it closes over "
                     "(for where: a constant branch): the derivative through the traced operand only.")
    return check


def _grad_arg(k: int) -> Callable[[Ctx], None]:
    def check(ctx: Ctx) -> None:
        require_names(ctx)
        args = ctx.draw_inputs()
        f, f_ref, xp, xp_ref = ctx.f, ctx.f_ref, ctx.backend.xp, ctx.reference.xp

        def g(*a: Any) -> Any:
            return weighted_sum(xp, f(*a))

        def g_ref(*a: Any) -> Any:
            return weighted_sum(xp_ref, f_ref(*a))

        g.analytic = g_ref.analytic = ctx.entry.analytic  # type: ignore[attr-defined]
        got = ctx.backend.grad(g, argnums=k)(*ctx.native(args))
        want = ctx.reference.grad(g_ref, argnums=k)(*ctx.ref(args))
        ctx.expect_close(got, want, "first", f"grad(sum(w * {row(ctx.entry).name}), argnums={k})", order=1)

    check.__doc__ = (f"grad of sum(w * f(*x)) with argnums={k}: one argument differentiated, the others passed "
                     "through untraced (w fixed, non-uniform).")
    return check


def _applies(k: int) -> Callable[[Entry], bool]:
    return lambda e: e.arity > k


for _k in range(MAX_ARITY):
    spec(f"partial_jvp_arg{_k}", "jvp", applies=_applies(_k), entries=PARTIAL,
         aspect=f"tangent on argument {_k} only")(_jvp_arg(_k))
    spec(f"partial_jvp_closed_arg{_k}", "jvp", applies=_applies(_k), entries=PARTIAL,
         aspect=f"argument {_k} alone, the rest closed over")(_jvp_closed(_k))
    spec(f"partial_grad_arg{_k}", "grad", applies=_applies(_k), entries=PARTIAL,
         aspect=f"argnums={_k}")(_grad_arg(_k))
