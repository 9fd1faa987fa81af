"""The standard-function family: each array API function under each transform, once per dtype.

The entries are :data:`conformance.battery.functions.FUNCTIONS`, one per standard function, and one per other public
name of one (``power`` for ``pow``: the alias table, ``backends/aliases.py``), since a library may register
each name apart and a bug can hide in one.  Kept small on purpose (one check per function, transform and
dtype): the table has some hundred rows and the whole gate must stay fast.  Every check first asks whether
the backend's namespace has the names the function uses (:func:`require_names`); a missing one is a skip
that names it, never a pass.

* ``fn_grad``: grad of the weighted sum (fixed non-uniform weights) with respect to every argument;
* ``fn_jvp``: jvp along drawn tangents for every argument;
* ``fn_jacrev`` / ``fn_jacfwd``: the Jacobian with respect to the first (jacrev) and the last (jacfwd)
  argument, so that two-argument functions get both of their Jacobians checked once;
* ``fn_hessian``: hessian of the weighted sum, for the nonlinear, twice differentiable rows (float64 only);
* ``fn_hessian_joint``: the same in all arguments at once, packed into one vector, so the mixed partials
  d2/dx dy are checked (rows of two or more arguments whose joint Hessian is not zero; float64 only);
* ``fn_vmap``: vmap over a batch of 4 (every argument batched) against a Python loop (float64 only).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from backends.aliases import NOT_ALIASES, resolve
from backends.base import Backend
from conformance.battery import everyday, strategies
from conformance.battery.catalog import Entry
from conformance.battery.functions import FUNCTIONS, Function, missing_names, row, weighted_sum
from conformance.battery.specs.core import Ctx, Skip, spec, stack

VMAP_BATCH = 4
SLOW_DTYPES = ("float64",)
"""hessian and vmap run in float64 only: they are the family's two costliest checks (JAX compiles every
batched and twice-differentiated primitive anew), and float32 adds rounding, not transform, coverage there."""


def require_names(ctx: Ctx) -> None:
    """Skip unless the backend's namespace offers every name the function uses (checked by getattr path).

    A transform the backend declares it does not offer is the skip's reason first: it holds whatever the row,
    and it is the reason every check of that transform must carry (README: a declaration hides no check)."""
    declared = ctx.backend.conventions.unsupported.get(ctx.case.spec.transform)
    if declared:
        raise Skip(declared)
    reason = unavailable(ctx.backend, row(ctx.entry))
    if reason:
        raise Skip(reason)
    if row(ctx.entry).library:
        # An everyday row reaches the library through the backend's mapping, the reference's through its own.
        ctx.f = ctx.entry.bind(everyday.Bound(ctx.backend))
        ctx.f_ref = ctx.entry.bind(everyday.Bound(ctx.reference))


def unavailable(backend: Backend, fn: Function) -> str | None:
    """Why ``fn``'s row cannot run on ``backend`` (the skip's reason), or None when it can.

    A standard row whose names the namespace lacks: "<library> lacks <function>: ... has no <names>" (the one
    place that reason is written: ``tests/test_aliases.py`` fails if the library exports the function under
    a name of the alias table, since that is a mapping the adapter forgot).  An alias row (``power`` for
    ``pow``) skips where the library does not export that alias, where its function of that name is another
    function (``backends/aliases.py``'s NOT_ALIASES), and where the alias is the very object of the standard
    name: a fault cannot hide in one name of a single object, and the standard row checks it.  A row passing a
    keyword the backend declares its namespace rejects (``Conventions.lacks_keywords``, e.g. ``sum(where=)``)
    skips with the declared reason: "<library> lacks sum (where=mask): <why>".  An everyday row (``softmax
    (library)``, :mod:`conformance.battery.everyday`) skips where the backend maps nothing to its name, or maps a name that
    does not resolve: "<library> lacks softmax (library): <what was looked for>"."""
    if fn.library:
        _, why = everyday.find(backend, fn.library)
        if why:
            return f"{backend.library} lacks {fn.name}: {why}"
    xp = backend.xp
    missing = missing_names(xp, fn.uses)
    if fn.alias_of:
        alias = fn.name.split(" (", 1)[0]
        if (backend.library, alias) in NOT_ALIASES:
            return f"{backend.library}'s {alias} is not {fn.alias_of}: {NOT_ALIASES[backend.library, alias]}"
        if missing:
            return (f"{backend.library} exports no {', '.join(missing)} (another name of {fn.alias_of}, which "
                    f"its own row checks)")
        if resolve(xp, alias) is resolve(xp, fn.alias_of):
            return f"{backend.library}'s {alias} is {fn.alias_of}, the same object: its row checks it"
        return None
    if missing:
        # A module names itself; a shim class (MLX's, autograd's) is named by its class, not its fall-through.
        where = xp.__name__ if isinstance(xp, types.ModuleType) else f"{type(xp).__module__}.{type(xp).__name__}"
        return f"{backend.library} lacks {fn.name}: its array namespace ({where}) has no {', '.join(missing)}"
    declared = backend.conventions.lacks_keywords
    lacking = [declared[k] for k in fn.keywords if k in declared]
    if lacking:
        return f"{backend.library} lacks {fn.name}: " + "; ".join(lacking)
    return None


def _all_argnums(e: Entry) -> int | tuple[int, ...]:
    return tuple(range(e.arity)) if e.arity > 1 else 0


def weighted_scalar(ctx: Ctx) -> tuple[Any, Any]:
    """The weighted sum of f on the backend and on the reference (the reference reads ``analytic``): the scalar
    grad and hessian differentiate, weights fixed and non-uniform so that a permuted gradient shows."""
    f, f_ref, xp, xp_ref = ctx.f, ctx.f_ref, ctx.backend.xp, ctx.reference.xp

    def g(*args: Any) -> Any:
        return weighted_sum(xp, f(*args))

    def g_ref(*args: Any) -> Any:
        return weighted_sum(xp_ref, f_ref(*args))

    # Both carry the flag Entry.bind sets: the reference reads it, and so may a numerical backend (the test fakes).
    g.analytic = g_ref.analytic = ctx.entry.analytic  # type: ignore[attr-defined]
    return g, g_ref


@spec("fn_grad", "grad", entries=FUNCTIONS)
def fn_grad(ctx: Ctx) -> None:
    """grad of sum(w * f(*x)) with respect to every argument equals the reference's (w fixed, non-uniform)."""
    grad_in_every_argument(ctx, f"grad(sum(w * {row(ctx.entry).name}), argnums={_all_argnums(ctx.entry)})")


def grad_in_every_argument(ctx: Ctx, what: str) -> None:
    """The check of ``fn_grad``, shared with the rows redrawn at large magnitudes (``specs/magnitudes.py``)."""
    require_names(ctx)
    args = ctx.draw_inputs()
    g, g_ref = weighted_scalar(ctx)
    argnums = _all_argnums(ctx.entry)
    got = ctx.backend.grad(g, argnums=argnums)(*ctx.native(args))
    want = ctx.shared_reference(f"grad(weighted sum) argnums={argnums}", args,
                                lambda: ctx.reference.grad(g_ref, argnums=argnums)(*ctx.ref(args)))
    ctx.expect_close(got, want, "first", what, order=1)


@spec("fn_jvp", "jvp", entries=FUNCTIONS)
def fn_jvp(ctx: Ctx) -> None:
    """jvp(f, x, v) gives f(x) and J(x) v, with a tangent for every argument."""
    require_names(ctx)
    args = ctx.draw_inputs()
    ctx.expect_jvp(ctx.f, ctx.f_ref, args, ctx.draw_like(args, "tangent"), f"jvp({row(ctx.entry).name})")


def _jacobian(ctx: Ctx, transform: str, argnums: int) -> None:
    require_names(ctx)
    ctx.against_reference(transform, "first", 1, f"{transform}({row(ctx.entry).name}, argnums={argnums})",
                          argnums=argnums)


@spec("fn_jacrev", "jacrev", entries=FUNCTIONS)
def fn_jacrev(ctx: Ctx) -> None:
    """jacrev(f)(*x) with respect to the first argument: the Jacobian, shaped out.shape + in.shape."""
    _jacobian(ctx, "jacrev", 0)


@spec("fn_jacfwd", "jacfwd", entries=FUNCTIONS)
def fn_jacfwd(ctx: Ctx) -> None:
    """jacfwd(f)(*x) with respect to the last argument (the first one's is jacrev's)."""
    _jacobian(ctx, "jacfwd", ctx.entry.arity - 1)


@spec("fn_hessian", "hessian", applies=lambda e: row(e).second, entries=FUNCTIONS, dtypes=SLOW_DTYPES)
def fn_hessian(ctx: Ctx) -> None:
    """hessian of sum(w * f(*x)) with respect to the first argument (nonlinear, twice differentiable rows)."""
    require_names(ctx)
    args = ctx.draw_inputs()
    g, g_ref = weighted_scalar(ctx)
    got = ctx.backend.hessian(g)(*ctx.native(args))
    want = ctx.shared_reference("hessian(weighted sum)", args, lambda: ctx.reference.hessian(g_ref)(*ctx.ref(args)))
    ctx.expect_close(got, want, "second", f"hessian(sum(w * {row(ctx.entry).name}))", order=2)


def _packed(g: Any, xp: Any, shapes: list[tuple[int, ...]]) -> Any:
    """``g`` as a function of one flat vector holding every argument: slices of it, reshaped."""

    def h(z: Any) -> Any:
        parts, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape, dtype=int))
            parts.append(xp.reshape(z[start:start + size], shape))
            start += size
        return g(*parts)

    h.analytic = getattr(g, "analytic", True)  # type: ignore[attr-defined]  # read by the reference
    return h


@spec("fn_hessian_joint", "hessian", applies=lambda e: row(e).joint, entries=FUNCTIONS, dtypes=SLOW_DTYPES,
      aspect="mixed partials")
def fn_hessian_joint(ctx: Ctx) -> None:
    """hessian of sum(w * f(*x)) in every argument at once: the arguments packed into one vector, so the
    Hessian holds the mixed partials d2/dx dy that fn_hessian (the first argument alone) never sees.  One
    argument of a single array keeps every library in play, including those whose hessian takes one argnum."""
    require_names(ctx)
    args = ctx.draw_inputs()
    g, g_ref = weighted_scalar(ctx)
    shapes = [tuple(np.shape(a)) for a in args]
    z = np.concatenate([np.ravel(a) for a in args])
    got = ctx.backend.hessian(_packed(g, ctx.backend.xp, shapes))(ctx.native(z))
    want = ctx.shared_reference("hessian(weighted sum, packed)", z,
                                lambda: ctx.reference.hessian(_packed(g_ref, ctx.reference.xp, shapes))(ctx.ref(z)))
    ctx.expect_close(got, want, "second", f"hessian(sum(w * {row(ctx.entry).name}) in all arguments)", order=2)


@spec("fn_vmap", "vmap", entries=FUNCTIONS, uses_reference=False, dtypes=SLOW_DTYPES)
def fn_vmap(ctx: Ctx) -> None:
    """vmap(f)(X) over a batch of 4 (every argument batched on axis 0) equals a Python loop."""
    require_names(ctx)
    strat = strategies.inputs(ctx.entry, ctx.dtype)
    samples = [ctx.draw(strat, label=f"sample {i}") for i in range(VMAP_BATCH)]
    batched = tuple(stack([s[j] for s in samples], 0) for j in range(ctx.entry.arity))
    got = ctx.backend.vmap(ctx.f)(*ctx.native(batched))
    looped = stack([ctx.numpy(ctx.f(*ctx.native(s))) for s in samples], 0)
    ctx.expect_close(got, looped, "identity", f"vmap({row(ctx.entry).name})(X) vs loop")
