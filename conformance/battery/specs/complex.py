"""Complex dtypes: holomorphic functions and real-valued functions of complex inputs, under every transform.

Libraries differ here by design, so each check compares the library with the reference's Wirtinger derivatives
(``backends.reference_complex``) under the convention the library DECLARES (``Conventions.complex``,
``backends.conventions.ComplexConvention``): a wrong declaration fails like a wrong derivative.

* ``cx_jvp``: jvp of every row, ``df(z)[t]`` for a complex tangent; no convention is involved.
* ``cx_vjp``: the pullback of a drawn cotangent (complex for a complex output), ``adjoint`` or ``transpose``.
* ``cx_grad``: grad of the real-valued scalar rows in every argument, ``conjugate`` or ``wirtinger``.
* ``cx_jacrev``: jacrev of the real-valued rows: the pullback of each basis cotangent.
* ``cx_holomorphic_grad`` / ``_jacrev`` / ``_jacfwd``: f'(z) (or its conjugate, as declared) of the holomorphic
  rows, asked for as declared (JAX's ``holomorphic=True``, ``autograd.holomorphic_grad``, the transform as is).
* ``cx_holomorphic_hessian``: f''(z) of the summed holomorphic rows (``jax.hessian(f, holomorphic=True)``).
* ``cx_holomorphic_*_argnums``: the four above in the second argument of the two-argument rows, and in both
  (``argnums=(0, 1)``: a tuple, the Hessian's blocks nested); ``cx_grad_argnums``: grad of the real-valued
  two-argument rows in the second (cx_grad takes both).  jvp and vjp take every argument already.
* The Hessian of a real-valued L of complex z: every library refuses it (``ComplexConvention.unsupported``
  ``"hessian"``, verified below), since it is the Jacobian of a non-holomorphic gradient: JAX's jacfwd refuses
  complex inputs and jacrev complex outputs without ``holomorphic=True``, torch.func both, torch.autograd and
  autograd a complex output, and MLX has no Hessian.
* ``cx_vmap``: vmap of the holomorphic rows against a loop.
* ``complex_declared_unsupported``: each refusal the adapter declares does raise.

Every result's dtype is checked too: complex results in the complex dtype under test, real ones (a real-valued
row's value and tangent) in its component dtype, so a complex64 computed in complex128 or cast to float fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backends import reference_complex as rc
from backends.base import Backend
from conformance import dotted
from conformance.battery.complex_rows import BY_NAME, COMPONENT, ENTRIES, ComplexRow, inputs, join, parts, row
from conformance.battery.entry import Arg, Entry
from conformance.battery.functions import missing_names
from conformance.battery.specs.core import CheckFailed, Ctx, Skip, Variant, leaves, spec, tree_map
from conformance.battery.strategies import array_for

DTYPES = ("complex64", "complex128")
Argnums = int | tuple[int, ...]
HOLOMORPHIC = tuple(e for e in ENTRIES if row(e).holomorphic)
REAL = tuple(e for e in ENTRIES if not row(e).holomorphic)
ELEMENTWISE = ("cx_square", "cx_exp", "cx_sin", "cx_poly", "cx_divide", "cx_zw_sin")
BATCHED = ("cx_square", "cx_sin", "cx_product", "cx_matmul", "cx_divide")
TRANSFORMS = ("grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap")
HOLOMORPHIC_TRANSFORMS = ("grad", "jacrev", "jacfwd", "hessian")
REFUSABLE = frozenset(TRANSFORMS) | {f"holomorphic {t}" for t in HOLOMORPHIC_TRANSFORMS}
"""The keys ``ComplexConvention.unsupported`` may use."""


def _require(ctx: Ctx, key: str) -> ComplexRow:
    """The row, or a skip: no complex support declared, a refusal declared for ``key``, a namespace name missing."""
    conv = ctx.backend.conventions.complex
    if not conv.grad:
        raise Skip(f"{ctx.backend.name} declares no complex convention: {conv.note}")
    offered = ctx.backend.conventions.unsupported.get(key.removeprefix("holomorphic "))
    if offered:
        raise Skip(offered)
    if key in conv.unsupported:
        raise Skip(f"{ctx.backend.library} refuses {key} on complex inputs: {conv.unsupported[key]}")
    r = row(ctx.entry)
    missing = missing_names(ctx.backend.xp, r.names)
    if missing:
        raise Skip(f"{ctx.backend.library}'s array namespace has no {', '.join(missing)}")
    return r


def _draw(ctx: Ctx, r: ComplexRow) -> tuple[Any, ...]:
    return join(ctx.draw(inputs(r, ctx.dtype), "args"))


def _draw_like(ctx: Ctx, value: Any, label: str) -> Any:
    """A direction shaped like ``value``: complex (drawn as its parts) where ``value`` is, real otherwise."""
    shape = np.shape(value)
    if np.iscomplexobj(value):
        return join(ctx.draw(parts(shape, ctx.dtype, -1.0, 1.0), label))
    return ctx.draw(array_for(Arg(shape, -1.0, 1.0), COMPONENT[ctx.dtype]), label)


def _native(ctx: Ctx, tree: Any) -> Any:
    """NumPy leaves -> the backend's, complex ones in the dtype under test, real ones in its component dtype."""
    return tree_map(lambda a: ctx.backend.asarray(a, ctx.dtype if np.iscomplexobj(a) else COMPONENT[ctx.dtype]), tree)


def _expect(ctx: Ctx, got: Any, want: Any, kind: str, what: str, order: int) -> None:
    """Dtypes first (complex where the exact result is complex, the component dtype where it is real), then values."""
    for (path, leaf), (_, exact) in zip(leaves(got), leaves(want), strict=False):
        dtype = str(np.asarray(ctx.backend.to_numpy(leaf)).dtype)
        expected = ctx.dtype if np.iscomplexobj(exact) else COMPONENT[ctx.dtype]
        if dtype != expected:
            raise CheckFailed(f"{what} [{ctx.backend.name}]: output{path} has dtype {dtype}, expected {expected} "
                              f"(a {ctx.dtype} input)")
    ctx.expect_close(got, want, kind, what, order=order)


def _conj_if(returns: str, value: np.ndarray) -> np.ndarray:
    return np.conj(value) if returns == "conjugate" else value


@spec("cx_jvp", "jvp", entries=ENTRIES, dtypes=DTYPES, aspect="complex")
def cx_jvp(ctx: Ctx) -> None:
    """jvp(f, z, t) = df(z)[t] for a complex tangent t: f'(z) t for a holomorphic f, dL/dx t_x + dL/dy t_y for a
    real-valued one; the same in every library (no convention)."""
    r = _require(ctx, "jvp")
    args = _draw(ctx, r)
    tangents = tuple(_draw_like(ctx, a, f"tangent{k}") for k, a in enumerate(args))
    out, tangent_out = ctx.backend.jvp(ctx.f, _native(ctx, args), _native(ctx, tangents))
    want_out, want_tangent = rc.jvp(ctx.reference, ctx.f_ref, args, tangents)
    _expect(ctx, out, want_out, "value", f"jvp({r.name})[0]", 0)
    _expect(ctx, tangent_out, want_tangent, "first", f"jvp({r.name})[1]", 1)


@spec("cx_vjp", "vjp", entries=ENTRIES, dtypes=DTYPES, aspect="complex")
def cx_vjp(ctx: Ctx) -> None:
    """The pullback of a drawn cotangent c under the declared ComplexConvention.vjp: J^H c ('adjoint', c conj(f')
    for a holomorphic f) or J^T c ('transpose', c f')."""
    r = _require(ctx, "vjp")
    conv = ctx.backend.conventions.complex
    args = _draw(ctx, r)
    want_out, want_pullback = rc.vjp(ctx.reference, ctx.f_ref, args, conv.vjp)
    c = _draw_like(ctx, want_out, "cotangent")
    out, pullback = ctx.backend.vjp(ctx.f, *_native(ctx, args))
    _expect(ctx, out, want_out, "value", f"vjp({r.name}) output", 0)
    _expect(ctx, tuple(pullback(_native(ctx, c))), want_pullback(c), "first",
            f"vjp({r.name}) pullback, declared {conv.vjp!r}", 1)


@spec("cx_grad", "grad", applies=lambda e: row(e).scalar, entries=REAL, dtypes=DTYPES, aspect="complex")
def cx_grad(ctx: Ctx) -> None:
    """grad of a real-valued L(z) in every argument under the declared ComplexConvention.grad: dL/dx + i dL/dy
    ('conjugate') or dL/dx - i dL/dy ('wirtinger')."""
    r = _require(ctx, "grad")
    conv = ctx.backend.conventions.complex
    args = _draw(ctx, r)
    nums = tuple(range(len(args)))
    got = ctx.backend.grad(ctx.f, argnums=nums if len(nums) > 1 else 0)(*_native(ctx, args))
    want = tuple(rc.grad(ctx.reference, ctx.f_ref, args, conv.grad, k) for k in nums)
    _expect(ctx, got, want if len(nums) > 1 else want[0], "first", f"grad({r.name}), declared {conv.grad!r}", 1)


@spec("cx_jacrev", "jacrev", entries=REAL, dtypes=DTYPES, aspect="complex")
def cx_jacrev(ctx: Ctx) -> None:
    """jacrev of a real-valued f of complex z: row k is the pullback of the k-th basis cotangent under the declared
    ComplexConvention.vjp (for a scalar f: its grad)."""
    r = _require(ctx, "jacrev")
    conv = ctx.backend.conventions.complex
    args = _draw(ctx, r)
    got = ctx.backend.jacrev(ctx.f)(*_native(ctx, args))
    want = rc.jacobian_by_vjp(ctx.reference, ctx.f_ref, args, conv.vjp)
    _expect(ctx, got, want, "first", f"jacrev({r.name}), declared vjp {conv.vjp!r}", 1)


def _holomorphic(ctx: Ctx, transform: str) -> Callable[[Callable[..., Any], Argnums], Callable[..., Any]]:
    """The declared way to ask ``transform`` for a holomorphic derivative in ``argnums``, or a skip saying there is
    none."""
    conv = ctx.backend.conventions.complex
    how = conv.holomorphic.get(transform)
    if how is None:
        why = conv.unsupported.get(f"holomorphic {transform}", "no way to ask for it is declared")
        raise Skip(f"{ctx.backend.library} has no holomorphic {transform}: {why}")
    if not how.api:
        return lambda f, nums: getattr(ctx.backend, transform)(f, argnums=nums)
    api = dotted.resolve(how.api)
    return lambda f, nums: api(f, nums, **({how.keyword: True} if how.keyword else {}))


def _by_argnums(derivative: Callable[[int], np.ndarray], nums: Argnums) -> Any:
    return derivative(nums) if isinstance(nums, int) else tuple(derivative(k) for k in nums)


def _holomorphic_check(transform: str, second_argument: bool) -> Callable[[Ctx], None]:
    def check(ctx: Ctx) -> None:
        r = _require(ctx, f"holomorphic {transform}")
        transformed = _holomorphic(ctx, transform)
        returns = ctx.backend.conventions.complex.holomorphic[transform].returns
        nums = ctx.variant if second_argument else 0
        args = _draw(ctx, r)
        f, f_ref = ctx.f, ctx.f_ref
        if transform in ("grad", "hessian"):
            xp, xp_ref = ctx.backend.xp, ctx.reference.xp
            f, f_ref = (lambda *a: xp.sum(ctx.f(*a))), (lambda *a: xp_ref.sum(ctx.f_ref(*a)))
        got = transformed(f, nums)(*_native(ctx, args))
        if transform == "hessian":
            exact = rc.holomorphic_hessian(ctx.reference, f_ref, args, nums)
        else:
            exact = _by_argnums(lambda k: rc.holomorphic_jacobian(ctx.reference, f_ref, args, k), nums)
        order = 2 if transform == "hessian" else 1
        _expect(ctx, got, tree_map(lambda d: _conj_if(returns, d), exact), "second" if order == 2 else "first",
                f"holomorphic {transform}({r.name}, argnums={nums}), declared {returns!r}", order)

    which = "in the argnums of the variant (1, or (0, 1): a tuple)" if second_argument else "in its first argument"
    check.__doc__ = (f"{transform} of a holomorphic f (of sum(f) for grad and hessian) {which}, asked for as "
                     "ComplexConvention.holomorphic declares: f'(z) (f''(z) for hessian), or its conjugate where "
                     "declared 'conjugate'.")
    return check


ARGNUMS = (Variant("argnums1", 1), Variant("argnums01", (0, 1)))
TWO_ARGUMENTS = frozenset(e.name for e in ENTRIES if len(row(e).shapes) == 2)

for _t, _applies in (("grad", lambda e: e.name in ELEMENTWISE), ("jacrev", lambda e: True),
                     ("jacfwd", lambda e: True), ("hessian", lambda e: e.name in ELEMENTWISE)):
    spec(f"cx_holomorphic_{_t}", _t, applies=_applies, entries=HOLOMORPHIC, dtypes=DTYPES,
         aspect="complex holomorphic")(_holomorphic_check(_t, second_argument=False))
    spec(f"cx_holomorphic_{_t}_argnums", _t, applies=lambda e: e.name in TWO_ARGUMENTS, entries=HOLOMORPHIC,
         dtypes=DTYPES, variants=lambda e: list(ARGNUMS), aspect="complex holomorphic argnums",
         )(_holomorphic_check(_t, second_argument=True))


@spec("cx_grad_argnums", "grad", applies=lambda e: row(e).scalar and e.name in TWO_ARGUMENTS, entries=REAL,
      dtypes=DTYPES, aspect="complex argnums")
def cx_grad_argnums(ctx: Ctx) -> None:
    """grad(L, argnums=1) of a real-valued two-argument L: the declared ComplexConvention.grad in the second
    argument alone (a grad of the first, or of both, fails)."""
    r = _require(ctx, "grad")
    conv = ctx.backend.conventions.complex
    args = _draw(ctx, r)
    got = ctx.backend.grad(ctx.f, argnums=1)(*_native(ctx, args))
    _expect(ctx, got, rc.grad(ctx.reference, ctx.f_ref, args, conv.grad, 1), "first",
            f"grad({r.name}, argnums=1), declared {conv.grad!r}", 1)


@spec("cx_vmap", "vmap", applies=lambda e: e.name in BATCHED, entries=HOLOMORPHIC, dtypes=DTYPES, aspect="complex")
def cx_vmap(ctx: Ctx) -> None:
    """vmap(f) over a batch of two complex samples equals f on each sample (the reference's loop)."""
    r = _require(ctx, "vmap")
    samples = [_draw(ctx, r) for _ in range(2)]
    batched = tuple(np.stack([s[k] for s in samples]) for k in range(len(samples[0])))
    got = ctx.backend.vmap(ctx.f)(*_native(ctx, batched))
    want = np.stack([ctx.f_ref(*s) for s in samples])
    _expect(ctx, got, want, "value", f"vmap({r.name})", 0)


def _refused(backend: Backend, key: str, real_valued: Entry, z: Any) -> Callable[[], Any]:
    """The call ``key`` names: a holomorphic one on z*z (summed for grad and hessian), the others on a real-valued
    row."""
    transform = key.removeprefix("holomorphic ")
    f = (BY_NAME["cx_square"].entry if key != transform else real_valued).bind(backend.xp)
    if key in ("holomorphic grad", "holomorphic hessian"):
        square = f
        f = lambda z: backend.xp.sum(square(z))  # noqa: E731
    if transform == "vjp":
        return lambda: backend.vjp(f, z)[1](f(z))
    if transform == "jvp":
        return lambda: backend.jvp(f, (z,), (z,))
    if transform == "vmap":
        return lambda: backend.vmap(f)(z[None])
    return lambda: getattr(backend, transform)(f)(z)


@spec("complex_declared_unsupported", "conventions", applies=lambda e: e.name == "cx_abs2_sum", entries=ENTRIES,
      dtypes=("complex64",), random_inputs=False)
def complex_declared_unsupported(ctx: Ctx) -> None:
    """Every refusal in ComplexConvention.unsupported raises when called (a holomorphic one on z*z, summed for grad
    and hessian, the others on sum(|z|^2)): a declaration cannot hide a transform that returns a value."""
    conv = ctx.backend.conventions.complex
    if not conv.unsupported:
        raise Skip(f"{ctx.backend.name} declares no complex refusal")
    z = np.array([0.5 + 0.25j, -0.75 + 1.0j, 1.25 - 0.5j])
    ctx.record_input("z", np.stack([z.real, z.imag]))
    returned = []
    for key in sorted(conv.unsupported):
        if key not in REFUSABLE:
            raise CheckFailed(f"ComplexConvention.unsupported key {key!r} is none of {sorted(REFUSABLE)}")
        try:
            _refused(ctx.backend, key, ctx.entry, ctx.backend.asarray(z, ctx.dtype))()
        except Exception:  # any refusal is one; the declaration says why
            continue
        returned.append(key)
    if returned:
        raise CheckFailed(f"{ctx.backend.name} declares {returned} unsupported on complex inputs, but they return a "
                          "result: check it and declare the convention instead")
