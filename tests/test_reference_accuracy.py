"""The NumPy reference is the oracle, so its own error must be known and small.

The first half proves every entry of ``ERROR_BOUNDS`` on functions with
closed-form derivatives, for hypothesis-drawn float64 inputs spanning the
catalog's domains and beyond (|x| up to 6, positive inputs down to 0.1); the
battery adds these bounds to its tolerances, so a bound that is not true would
let a wrong backend pass.  Each bound must hold with a margin of ``MARGIN``.

The second half pins the transform semantics the battery relies on (shapes,
pytree nesting, layouts, vmap axes, declared errors, dtype preservation), which
must match jax / torch.func after layout unpacking.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import array_api_compat.numpy as xp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backends import pytree
from backends.base import unpack
from backends.numpy_reference import ERROR_BOUNDS, NumpyReference
from conformance.battery import catalog

REF = NumpyReference()
MARGIN = 10.0
"""Every measured error must stay below its bound divided by this."""

BOUNDS = settings(deadline=None, max_examples=30, derandomize=True)


def marked(fn: Callable[..., Any], analytic: bool) -> Callable[..., Any]:
    """``fn`` carrying the flag ``conformance.battery.catalog.Entry.bind`` sets."""

    def bound(*args: Any) -> Any:
        return fn(*args)

    bound.analytic = analytic  # type: ignore[attr-defined]
    bound.__name__ = fn.__name__
    return bound


def norm_err(actual: Any, exact: Any) -> float:
    """The bounds' measure: max|err| / max|exact|, with 1 as the floor of the denominator."""
    actual, exact = np.asarray(actual, np.float64), np.asarray(exact, np.float64)
    assert actual.shape == exact.shape
    return float(np.max(np.abs(actual - exact), initial=0.0) / max(1.0, np.max(np.abs(exact), initial=0.0)))


def assert_within_bound(f: Callable[..., Any], order: int, actual: Any, exact: Any) -> None:
    method = REF.method_for(f, order)
    err = norm_err(actual, exact)
    assert err * MARGIN <= ERROR_BOUNDS[method], f"{method}: error {err:.2e} vs bound {ERROR_BOUNDS[method]:.0e}"


def vec(n: int, low: float, high: float) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, (n,), elements=st.floats(low, high))


def away_from_zero(n: int) -> st.SearchStrategy[np.ndarray]:
    """Entries with 0.05 <= |x| <= 6: the battery's kink margin."""
    return st.tuples(vec(n, 0.05, 6.0), arrays(np.bool_, (n,))).map(lambda p: np.where(p[1], p[0], -p[0]))


def solve_matrix() -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, (3, 3), elements=st.floats(-1.0, 1.0)).map(lambda a: a + 4.0 * np.eye(3))


def _prod_except(x: np.ndarray, *skip: int) -> float:
    return float(np.prod([v for i, v in enumerate(x) if i not in skip]))


# --- closed forms ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Closed:
    """f(x), its Jacobian and (where cheap enough to test) its Hessian, in closed form."""

    name: str
    fn: Callable[[np.ndarray], Any]
    draw: st.SearchStrategy[np.ndarray]
    jac: Callable[[np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray], np.ndarray] | None
    smooth: bool = True
    """False where no holomorphic extension exists: only finite differences apply."""
    nested_fd: bool = True
    """Test the nested-Richardson Hessian too: it costs (10 n)**2 evaluations, so 9 inputs are skipped to stay fast."""
    valid: Callable[[np.ndarray], bool] = lambda x: True


N = 3
"""Inputs of the scalar closed forms: small, since a nested-Richardson Hessian costs (10 N)**2 evaluations."""
A3 = np.array([[0.9, -0.4, 0.3], [0.2, 0.7, -0.8], [-0.5, 0.1, 0.6]])
S3 = np.array([[4.3, -0.6, 0.2], [0.5, 3.8, -0.9], [-0.7, 0.4, 4.6]])
X3 = np.array([1.3, -0.7, 2.1])


def _sech2(z: np.ndarray) -> np.ndarray:
    return 1.0 / np.cosh(z) ** 2


def _tanh_hess(x: np.ndarray) -> np.ndarray:
    z = A3 @ x
    return (-2.0 * np.tanh(z) * _sech2(z))[:, None, None] * A3[:, :, None] * A3[:, None, :]


def _tanh_jac_a(a: np.ndarray) -> np.ndarray:
    jac = np.zeros((3, 3, 3))
    for i in range(3):
        jac[i, i, :] = _sech2(a @ X3)[i] * X3
    return jac


def _branch(x: Any) -> Any:
    if xp.sum(x) > 0:
        return xp.sum(x**2)
    return xp.sum(xp.sin(x))


def _solve(a: Any, b: Any) -> Any:
    return xp.linalg.solve(a, b[..., None])[..., 0]


CLOSED: tuple[Closed, ...] = (
    Closed("sin", lambda x: xp.sum(xp.sin(x)), vec(N, -6, 6), np.cos, lambda x: np.diag(-np.sin(x))),
    Closed(
        "exp", lambda x: xp.mean(xp.exp(x)), vec(N, -4, 4), lambda x: np.exp(x) / N, lambda x: np.diag(np.exp(x) / N)
    ),
    Closed("log", lambda x: xp.sum(xp.log(x)), vec(N, 0.1, 10), lambda x: 1 / x, lambda x: np.diag(-1 / x**2)),
    Closed(
        "poly",
        lambda x: xp.sum(x**3 - 2.0 * x**2),
        vec(N, -6, 6),
        lambda x: 3 * x**2 - 4 * x,
        lambda x: np.diag(6 * x - 4),
    ),
    Closed(
        "prod",
        lambda x: xp.prod(x),
        vec(N, -3, 3),
        lambda x: np.array([_prod_except(x, i) for i in range(N)]),
        lambda x: np.array([[0.0 if i == j else _prod_except(x, i, j) for j in range(N)] for i in range(N)]),
    ),
    Closed("tanh_Ax", lambda x: xp.tanh(A3 @ x), vec(3, -3, 3), lambda x: _sech2(A3 @ x)[:, None] * A3, _tanh_hess),
    Closed(
        "tanh_Ax_wrt_A",
        lambda a: xp.tanh(a @ X3),
        arrays(np.float64, (3, 3), elements=st.floats(-1, 1)),
        _tanh_jac_a,
        None,
    ),
    Closed("xAx", lambda x: xp.sum(x * (A3 @ x)), vec(3, -6, 6), lambda x: (A3 + A3.T) @ x, lambda x: A3 + A3.T),
    Closed(
        "xAx_wrt_A",
        lambda a: xp.sum(X3 * (a @ X3)),
        arrays(np.float64, (3, 3), elements=st.floats(-3, 3)),
        lambda a: np.outer(X3, X3),
        lambda a: np.zeros((3, 3, 3, 3)),
        nested_fd=False,
    ),
    Closed(
        "solve_wrt_b",
        lambda b: _solve(S3, b),
        vec(3, -6, 6),
        lambda b: np.linalg.inv(S3),
        lambda b: np.zeros((3, 3, 3)),
    ),
    Closed(
        "solve_wrt_A",
        lambda a: _solve(a, X3),
        solve_matrix(),
        lambda a: -np.linalg.inv(a)[:, :, None] * np.linalg.solve(a, X3)[None, None, :],
        None,
    ),
    Closed("abs", lambda x: xp.sum(xp.abs(x)), away_from_zero(N), np.sign, lambda x: np.zeros((N, N)), smooth=False),
    Closed(
        "relu",
        lambda x: xp.sum(xp.where(x > 0, x, xp.zeros_like(x))),
        away_from_zero(N),
        lambda x: (x > 0).astype(np.float64),
        lambda x: np.zeros((N, N)),
        smooth=False,
    ),
    Closed(
        "python_if",
        _branch,
        vec(N, -3, 3),
        lambda x: 2 * x if x.sum() > 0 else np.cos(x),
        lambda x: 2 * np.eye(N) if x.sum() > 0 else np.diag(-np.sin(x)),
        smooth=False,
        valid=lambda x: abs(float(x.sum())) > 0.05,
    ),
)

METHOD_CASES = [
    pytest.param(case, analytic, id=f"{case.name}-{'cs' if analytic else 'fd'}")
    for case in CLOSED
    for analytic in ((True, False) if case.smooth else (False,))
]


@pytest.mark.parametrize(("case", "analytic"), METHOD_CASES)
@BOUNDS
@given(data=st.data())
def test_error_bounds_on_closed_forms(case: Closed, analytic: bool, data: st.DataObject) -> None:
    x = data.draw(case.draw)
    assume(case.valid(x))
    f = marked(case.fn, analytic)
    assert_within_bound(f, 1, REF.jacrev(f)(x), case.jac(x))
    if case.hess is not None and (analytic or case.nested_fd):
        assert_within_bound(f, 2, REF.hessian(f)(x), case.hess(x))


def test_method_for_names_the_method_used() -> None:
    smooth, rough = marked(np.sin, True), marked(np.abs, False)
    assert REF.method_for(smooth, 0) == "evaluation"
    assert REF.method_for(smooth, 1) == "complex_step"
    assert REF.method_for(rough, 1) == "richardson"
    assert REF.method_for(smooth, 2) == "hessian_complex_step"
    assert REF.method_for(rough, 2) == "hessian_richardson"
    assert REF.method_for(lambda x: x, 1) == "richardson", "unmarked functions are not trusted to be analytic"
    # A wrapper counts as the derivative it already is.
    assert REF.method_for(REF.grad(smooth), 1) == "hessian_complex_step"
    assert REF.method_for(REF.vmap(REF.grad(rough)), 0) == "richardson"
    assert ERROR_BOUNDS["evaluation"] == 0.0
    assert set(ERROR_BOUNDS) == {
        "complex_step",
        "richardson",
        "hessian_complex_step",
        "hessian_richardson",
        "evaluation",
    }


@BOUNDS
@given(vec(4, -6, 6), vec(4, -3, 3))
def test_jvp_and_vjp_within_first_order_bounds(x: np.ndarray, t: np.ndarray) -> None:
    for analytic in (True, False):
        f = marked(lambda v: xp.sin(v) * xp.cos(2.0 * v), analytic)
        jac = np.diag(np.cos(x) * np.cos(2 * x) - 2 * np.sin(x) * np.sin(2 * x))
        out, tangent = REF.jvp(f, (x,), (t,))
        assert np.array_equal(out, np.sin(x) * np.cos(2 * x))
        assert_within_bound(f, 1, tangent, jac @ t)
        _, vjp_fn = REF.vjp(f, x)
        (cotangent,) = vjp_fn(t)
        assert_within_bound(f, 1, cotangent, t @ jac)


@BOUNDS
@given(vec(4, -3, 3))
def test_composed_hessian_matches_hessian_method(x: np.ndarray) -> None:
    """jacfwd(grad(f)) of analytic f is the FD of the CS gradient: the hessian_complex_step bound applies."""
    f = marked(lambda v: xp.sum(xp.sin(v) * v**2), True)
    exact = np.diag((2 - x**2) * np.sin(x) + 4 * x * np.cos(x))
    g = REF.grad(f)
    assert REF.method_for(g, 1) == "hessian_complex_step"
    assert_within_bound(g, 1, REF.jacfwd(g)(x), exact)
    assert_within_bound(f, 2, REF.hessian(f)(x), exact)


def test_evaluation_is_exact() -> None:
    f = marked(lambda v: xp.sum(xp.exp(v) * v), True)
    x = np.linspace(-1.0, 2.0, 5)
    _, value = REF.grad_and_value(f)(x)
    assert value == f(x)
    assert np.array_equal(REF.vmap(f)(x[None, :].repeat(2, 0)), [f(x), f(x)])


# --- pytrees, argnums, aux ------------------------------------------------------------------------


def test_grad_pytree_inputs() -> None:
    pair = marked(lambda p: xp.sum(p[0] * xp.exp(p[1])), True)
    a, b = np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.2, -0.3])
    ga, gb = REF.grad(pair)((a, b))
    np.testing.assert_allclose(ga, np.exp(b), rtol=1e-13)
    np.testing.assert_allclose(gb, a * np.exp(b), rtol=1e-13)

    dct = marked(lambda d: xp.sum(d["w"] * xp.cos(d["b"])), True)
    g = REF.grad(dct)({"w": a, "b": b})
    assert pytree.structure_repr(g) == "{b: array(3,), w: array(3,)}"
    np.testing.assert_allclose(g["w"], np.cos(b), rtol=1e-13)
    np.testing.assert_allclose(g["b"], -a * np.sin(b), rtol=1e-13)


def test_tuple_argnums() -> None:
    f = marked(lambda x, y: xp.sum(xp.sin(x) * y**2), True)
    x, y = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    gx, gy = REF.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.cos(x) * y**2, rtol=1e-13)
    np.testing.assert_allclose(gy, 2 * np.sin(x) * y, rtol=1e-13)
    np.testing.assert_allclose(REF.grad(f, argnums=1)(x, y), gy, rtol=1e-15)
    # Jacobian: each output leaf holds a tuple with one entry per argnum, as in jax.
    g = marked(lambda x, y: (x * y, xp.sum(x)), True)
    jac = REF.jacrev(g, argnums=(0, 1))(x, y)
    assert pytree.structure_repr(jac) == "((array(2, 2), array(2, 2)), (array(2,), array(2,)))"
    np.testing.assert_allclose(jac[0][1], np.diag(x), rtol=1e-13)
    np.testing.assert_allclose(jac[1][0], [1.0, 1.0], rtol=1e-13)


def test_has_aux_layouts_match_the_conventions() -> None:
    f = marked(lambda x: (xp.sum(xp.sin(x) ** 2), xp.cos(x)), True)
    x = np.array([0.4, -0.9, 1.7])
    grad = np.sin(2 * x)
    conv = REF.conventions
    parts = unpack(conv.grad_aux_layout, REF.grad(f, has_aux=True)(x))
    np.testing.assert_allclose(parts["grad"], grad, rtol=1e-13)
    assert np.array_equal(parts["aux"], np.cos(x))
    parts = unpack(conv.grad_and_value_aux_layout, REF.grad_and_value(f, has_aux=True)(x))
    assert parts["value"] == np.sum(np.sin(x) ** 2) and np.array_equal(parts["aux"], np.cos(x))
    plain = marked(lambda x: xp.sum(xp.sin(x) ** 2), True)
    parts = unpack(conv.grad_and_value_layout, REF.grad_and_value(plain)(x))
    np.testing.assert_allclose(parts["grad"], grad, rtol=1e-13)

    out, vjp_fn, aux = REF.vjp(f, x, has_aux=True)
    assert out == np.sum(np.sin(x) ** 2) and np.array_equal(aux, np.cos(x))
    np.testing.assert_allclose(vjp_fn(np.asarray(2.0))[0], 2 * grad, rtol=1e-13)
    _, tangent, aux = REF.jvp(f, (x,), (np.ones(3),), has_aux=True)
    np.testing.assert_allclose(tangent, grad.sum(), rtol=1e-13)
    assert np.array_equal(aux, np.cos(x))
    for jacobian in (REF.jacrev, REF.jacfwd):
        jac, aux = jacobian(f, has_aux=True)(x)
        np.testing.assert_allclose(jac, grad, rtol=1e-13)
        assert np.array_equal(aux, np.cos(x))


def test_pytree_outputs_vjp_jvp_jacobian() -> None:
    f = marked(lambda x: {"s": xp.sum(xp.exp(x)), "v": x * 3.0}, True)
    x = np.array([0.2, -0.5, 1.0])
    out, vjp_fn = REF.vjp(f, x)
    assert pytree.structure_repr(out) == "{s: array(), v: array(3,)}"
    (ct,) = vjp_fn({"s": np.asarray(2.0), "v": np.array([1.0, 0.0, -1.0])})
    np.testing.assert_allclose(ct, 2 * np.exp(x) + 3 * np.array([1.0, 0.0, -1.0]), rtol=1e-13)
    with pytest.raises(ValueError, match="structure"):
        vjp_fn((np.asarray(2.0), x))

    g = marked(lambda x: (xp.sin(x), xp.sum(x**2)), True)
    t = np.array([1.0, 2.0, -1.0])
    out, tangent = REF.jvp(g, (x,), (t,))
    np.testing.assert_allclose(tangent[0], np.cos(x) * t, rtol=1e-13)
    np.testing.assert_allclose(tangent[1], 2 * x @ t, rtol=1e-13)

    jac = REF.jacrev(f)(x)
    assert pytree.structure_repr(jac) == "{s: array(3,), v: array(3, 3)}"
    np.testing.assert_allclose(jac["v"], 3 * np.eye(3), rtol=1e-13)
    pair = marked(lambda p: p[0] * xp.exp(p[1]), True)
    a, b = np.array([0.5, -1.0]), np.array([0.1, 0.2])
    _, jb = REF.jacfwd(pair)((a, b))
    np.testing.assert_allclose(jb, np.diag(a * np.exp(b)), rtol=1e-13)


def test_hessian_pytree_nesting() -> None:
    f = marked(lambda d: xp.sum(d["w"] * xp.cos(d["b"])), True)
    w, b = np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.2, -0.3])
    hess = REF.hessian(f)({"w": w, "b": b})
    assert pytree.structure_repr(hess) == ("{b: {b: array(3, 3), w: array(3, 3)}, w: {b: array(3, 3), w: array(3, 3)}}")
    np.testing.assert_allclose(hess["b"]["b"], np.diag(-w * np.cos(b)), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(hess["w"]["b"], np.diag(-np.sin(b)), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(hess["w"]["w"], 0.0, atol=1e-9)
    vector = marked(lambda x: xp.sin(x) * x[0], True)
    assert REF.hessian(vector)(np.array([0.1, 0.2])).shape == (2, 2, 2)


# --- vmap, scan, cond -----------------------------------------------------------------------------


def test_vmap_axes() -> None:
    x, y = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0, 2.0])
    add = lambda a, b: a * b  # noqa: E731
    np.testing.assert_array_equal(REF.vmap(add, in_dims=(0, None))(x, y), x * y)
    np.testing.assert_array_equal(REF.vmap(add, in_dims=(1, None))(x, y[:2]), (x * y[:2, None]).T)
    np.testing.assert_array_equal(REF.vmap(add, in_dims=(-1, 0))(x, y), (x * y).T)
    np.testing.assert_array_equal(REF.vmap(add, in_dims=(0, None), out_dims=1)(x, y), (x * y).T)
    dict_fn = lambda d: d["w"] * d["b"]  # noqa: E731
    out = REF.vmap(dict_fn, in_dims=({"w": 0, "b": None},))({"w": x, "b": y})
    np.testing.assert_array_equal(out, x * y)
    outer = REF.vmap(REF.vmap(lambda a: a**2))(x)
    np.testing.assert_array_equal(outer, x**2)
    pair = REF.vmap(lambda a: (a.sum(), a * 2), out_dims=(0, 1))(x)
    assert pair[0].shape == (2,) and pair[1].shape == (3, 2)
    with pytest.raises(ValueError, match="batch sizes"):
        REF.vmap(add)(x, y)


def test_vmap_python_if_is_fine_in_a_loop() -> None:
    f = lambda v: v * v if v % 2 == 0 else v  # noqa: E731
    np.testing.assert_array_equal(REF.vmap(f)(np.array([1.0, 2.0, 3.0, 4.0])), [1.0, 4.0, 3.0, 16.0])


def test_vmap_of_grad() -> None:
    f = marked(lambda v: xp.sum(xp.sin(v) ** 2), True)
    xs = np.array([[0.1, 0.2], [1.0, -2.0], [0.5, 0.5]])
    np.testing.assert_allclose(REF.vmap(REF.grad(f))(xs), np.sin(2 * xs), rtol=1e-13)


def test_scan_matches_a_hand_loop() -> None:
    def body(carry: Any, x: Any) -> Any:
        total, count = carry
        return (total + x["a"] * x["b"], count + 1.0), {"partial": total, "sq": x["a"] ** 2}

    xs = {"a": np.arange(8.0).reshape(4, 2), "b": np.array([1.0, -1.0, 0.5, 2.0])[:, None]}
    carry, ys = REF.scan(body, (np.zeros(2), np.asarray(0.0)), xs)
    total, partial = np.zeros(2), []
    for i in range(4):
        partial.append(total)
        total = total + xs["a"][i] * xs["b"][i]
    np.testing.assert_array_equal(carry[0], total)
    assert carry[1] == 4.0
    np.testing.assert_array_equal(ys["partial"], np.stack(partial))
    np.testing.assert_array_equal(ys["sq"], xs["a"] ** 2)
    carry, ys = REF.scan(lambda c, x: (c * x, None), np.asarray(1.0), np.array([2.0, 3.0]))
    assert carry == 6.0 and ys is None


def test_grad_through_scan() -> None:
    def cumulative(x: Any) -> Any:
        carry, ys = REF.scan(lambda c, v: (c * xp.sin(v), c), np.asarray(1.0), x)
        return carry + xp.sum(ys)

    x = np.array([0.3, 1.1, -0.4])
    s = np.sin(x)
    # carry = s0 s1 s2, ys = (1, s0, s0 s1)
    exact = np.cos(x) * np.array([s[1] * s[2] + 1 + s[1], s[0] * s[2] + s[0], s[0] * s[1]])
    for analytic in (True, False):
        f = marked(cumulative, analytic)
        assert_within_bound(f, 1, REF.grad(f)(x), exact)


def test_cond() -> None:
    ops = (np.array([1.0, 2.0]), np.asarray(3.0))
    assert np.array_equal(REF.cond(np.asarray(True), lambda a, b: a * b, lambda a, b: a - b, ops), [3.0, 6.0])
    assert np.array_equal(REF.cond(np.asarray(False), lambda a, b: a * b, lambda a, b: a - b, ops), [-2.0, -1.0])


# --- declared errors, dtypes ----------------------------------------------------------------------


def _assert_declared(situation: str, call: Callable[[], Any]) -> None:
    """The exception type and message the conventions declare for ``situation``."""
    conv = REF.conventions.errors[situation]
    with pytest.raises(Exception) as info:  # the declaration says which
        call()
    assert conv.exception in [c.__name__ for c in type(info.value).__mro__]
    assert re.search(conv.message, str(info.value)), str(info.value)


SQUARE_SUM = marked(lambda x: xp.sum(x * x), True)
DERIVATIVE_CALLS: dict[str, Callable[[Callable[..., Any], np.ndarray, bool], Any]] = {
    "grad": lambda f, x, aux: REF.grad(f, has_aux=aux)(x),
    "grad_and_value": lambda f, x, aux: REF.grad_and_value(f, has_aux=aux)(x),
    "jacrev": lambda f, x, aux: REF.jacrev(f, has_aux=aux)(x),
    "jacfwd": lambda f, x, aux: REF.jacfwd(f, has_aux=aux)(x),
    "vjp": lambda f, x, aux: REF.vjp(f, x, has_aux=aux),
    "jvp": lambda f, x, aux: REF.jvp(f, (x,), (x,), has_aux=aux),
}


@pytest.mark.parametrize("transform", [*DERIVATIVE_CALLS, "hessian"])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_non_floating_input_raises_declared_error(transform: str, dtype: type) -> None:
    x = np.arange(3).astype(dtype)
    if transform == "hessian":
        _assert_declared("grad_int_input", lambda: REF.hessian(SQUARE_SUM)(x))
    else:
        _assert_declared("grad_int_input", lambda: DERIVATIVE_CALLS[transform](SQUARE_SUM, x, False))


@pytest.mark.parametrize("transform", DERIVATIVE_CALLS)
@pytest.mark.parametrize(
    "returns",
    [SQUARE_SUM, marked(lambda x: (xp.sum(x), x, x), True), marked(lambda x: [xp.sum(x), x], True)],
    ids=["array", "triple", "list"],
)
def test_has_aux_without_a_pair_raises_declared_error(transform: str, returns: Callable[..., Any]) -> None:
    _assert_declared("aux_not_tuple", lambda: DERIVATIVE_CALLS[transform](returns, np.ones(3), True))


def test_grad_of_non_scalar_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="scalar"):
        REF.grad(marked(lambda v: v * 2.0, True))(np.ones(3))


def test_float32_in_float32_out() -> None:
    f = marked(lambda x: xp.sum(xp.sin(x) * x), True)
    g = marked(lambda x: xp.sin(x) * x, False)
    x = np.array([0.1, -0.5, 2.0], dtype=np.float32)
    results = [
        REF.grad(f)(x),
        *REF.grad_and_value(f)(x),
        REF.jacrev(g)(x),
        REF.jacfwd(f)(x),
        REF.hessian(f)(x),
        *REF.jvp(g, (x,), (x,)),
        REF.vjp(g, x)[0],
        REF.vjp(g, x)[1](x)[0],
    ]
    for r in results:
        assert r.dtype == np.float32, r
    assert REF.grad(f)(x.astype(np.float64)).dtype == np.float64


def test_xp_namespace_keeps_complex128() -> None:
    """Complex step needs the catalog's namespace to compute on complex arrays without dropping Im."""
    z = np.array([0.5 + 1e-30j, 1.5 + 2e-30j, 1.0 + 0j])
    m = np.eye(3) * 4.0 + 0.25 + 1e-30j
    ns = REF.xp
    for name in ("sin", "exp", "log", "tanh", "sqrt"):
        out = getattr(ns, name)(z)
        assert out.dtype == np.complex128 and out[0].imag != 0.0, name
    for out in (ns.prod(z), ns.sum(z), ns.mean(z), m @ z, ns.linalg.solve(m, z[:, None])[:, 0]):
        assert np.asarray(out).dtype == np.complex128 and np.all(np.imag(out) != 0.0)


def _catalog_inputs(entry: Any, rng: np.random.Generator) -> list[Any]:
    def draw(arg: Any) -> np.ndarray:
        value = rng.uniform(arg.low, arg.high, arg.shape)
        return value + arg.diag_boost * np.eye(arg.shape[0]) if arg.diag_boost else value

    while True:
        args = []
        for arg in entry.args:
            if arg.kind == "pair":
                args.append((draw(arg), draw(arg)))
            elif arg.kind == "dict":
                args.append({"w": draw(arg), "b": draw(arg)})
            else:
                args.append(draw(arg))
        if entry.valid is None or entry.valid(*args):
            return args


def test_every_catalog_entry_differentiates() -> None:
    """The reference runs on everything the battery asks of it, with the method its flag implies."""
    rng = np.random.default_rng(0)
    for entry in catalog.CATALOG:
        f = entry.bind(REF.xp)
        args = _catalog_inputs(entry, rng)
        assert REF.method_for(f, 1) == ("complex_step" if entry.analytic else "richardson")
        jac = REF.jacrev(f, argnums=tuple(range(entry.arity)), has_aux=entry.has_aux)(*args)
        assert all(np.all(np.isfinite(leaf)) for leaf in pytree.flatten(jac)[0]), entry.name
        if entry.scalar_output and not entry.has_aux:
            grads = REF.grad(f, argnums=tuple(range(entry.arity)))(*args)
            assert pytree.flatten(grads)[1] == pytree.flatten(tuple(args))[1], entry.name


# --- pytree helpers -------------------------------------------------------------------------------


def test_pytree_roundtrip_and_repr() -> None:
    tree = ({"w": np.zeros(3), "b": np.ones(3)}, [np.zeros(()), None], 1.5)
    leaves, treedef = pytree.flatten(tree)
    assert len(leaves) == 4 and treedef.num_leaves == 4
    assert leaves[0] is tree[0]["b"], "dict leaves come in sorted-key order"
    rebuilt = pytree.unflatten(treedef, leaves)
    assert pytree.flatten(rebuilt)[1] == treedef and rebuilt[1][1] is None
    assert pytree.structure_repr(tree) == "({b: array(3,), w: array(3,)}, [array(), None], float)"
    doubled = pytree.tree_map(lambda a, b: a + b, tree[0], tree[0])
    np.testing.assert_array_equal(doubled["b"], 2 * np.ones(3))
    with pytest.raises(ValueError, match="does not match"):
        pytree.tree_map(lambda a, b: a, (1.0, 2.0), [1.0, 2.0])
