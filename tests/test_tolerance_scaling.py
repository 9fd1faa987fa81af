"""Tolerances grow with the problem's size past 16 terms, and only there.

Three things are shown here, each able to fail:

* the law (:func:`conformance.battery.tolerances.size_factor`) leaves every bound alone up to 16 terms, and
  the battery's own checks never exceed 16 (every spec is run once on the NumPy reference with the
  tolerance calls watched), so no current check's tolerance changed;
* the scaling is needed: jvps of ``sum(sin(x))`` in float32 whose terms cancel exceed the unscaled
  bound at 65536 entries (at 2048 they do not, by a wide margin: see the figures in the docstring of
  ``conformance/battery/tolerances.py``), and pass the scaled one;
* it is no blanket: a jvp 1 % off still fails at 2048 entries, on every draw.

The jvp checks go through :meth:`Ctx.expect_close` with the real NumPy reference, as the battery does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.numpy_reference import ERROR_BOUNDS, NumpyReference
from conformance.battery.catalog import CATALOG
from conformance.battery.specs import REGISTRY, core
from conformance.battery.specs.core import Case, CheckFailed, Ctx, Figures, Skip, run_check
from conformance.battery.tolerances import BASE_SIZE, EPS, KINDS, SCALING, policy_table, size_factor, tolerance

SIN_SUM = next(e for e in CATALOG if e.name == "sin_sum")
DRAWS = 20


# -- the law ----------------------------------------------------------------------------------------

def test_nothing_changes_up_to_16_terms_and_bounds_grow_like_the_square_root_past_it() -> None:
    for dtype in EPS:
        for kind in KINDS:
            for method in (None, *ERROR_BOUNDS):
                base = tolerance(dtype, kind, method)
                for n in range(1, BASE_SIZE + 1):
                    assert tolerance(dtype, kind, method, size=n) == base
                ref = ERROR_BOUNDS.get(method or "", 0.0)
                for n in (17, 64, 2048, 65536):
                    grown = tolerance(dtype, kind, method, size=n)
                    assert grown.rtol - ref == pytest.approx((base.rtol - ref) * np.sqrt(n / BASE_SIZE), rel=1e-12)
                    assert grown.atol == grown.rtol and f"{n} terms" in grown.reason
    assert size_factor(64) == 2.0
    with pytest.raises(ValueError, match="at least one term"):
        size_factor(0)


def test_the_policy_table_says_how_bounds_grow() -> None:
    rows = policy_table()
    assert len(rows) == len(EPS) * len(KINDS)
    for row in rows:
        assert row["rtol"] == tolerance(str(row["dtype"]), str(row["kind"])).rtol  # the rows are the n <= 16 bounds
        assert "sqrt(n/16)" in str(row["reason"]) and "Higham" in str(row["reason"]) and row["scaling"] == SCALING


# -- the battery is unaffected ----------------------------------------------------------------------

settings.register_profile("one-example", max_examples=1, derandomize=True, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))


class _JitByIdentity(NumpyReference):
    """The reference with a jit that compiles nothing, so that jit_agrees reaches its comparison too."""

    def jit(self, f: Any) -> Any:
        return f


def _source(fn: Any) -> str:
    import inspect

    return inspect.getsource(inspect.getmodule(fn))  # a spec may compare through a helper of its module


def _run_once(reference: NumpyReference, case: Case) -> Any:
    def once(data: Any | None) -> None:
        try:
            run_check(Ctx(reference, reference, case, data, Figures()))
        except (Skip, CheckFailed, NotImplementedError, TypeError, ValueError):
            pass  # the verdict does not matter here, only the bounds asked for

    return once


def test_every_check_of_the_battery_keeps_its_tolerance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every spec x entry x dtype runs once on the NumPy reference; each tolerance it asks for is unscaled.

    One example each suffices: what is drawn varies, its shapes do not (they are the catalog's).

    The reference stands in for a backend so that the specs comparing with the reference run too; what
    a check draws does not depend on the backend, so the sizes seen are those every backend sees.
    """
    seen: list[tuple[str, int]] = []
    unscaled = core.tolerance

    def watch(dtype: str, kind: str, method: str | None = None, size: int = 1) -> Any:
        seen.append((current[0], size))
        assert unscaled(dtype, kind, method, size=size) == unscaled(dtype, kind, method)
        return unscaled(dtype, kind, method, size=size)

    monkeypatch.setattr(core, "tolerance", watch)
    reference = _JitByIdentity()
    reference.setup()
    current = [""]
    reached: set[str] = set()
    for spec in REGISTRY.values():
        for dtype in spec.dtypes:
            for entry in spec.entries:
                if not spec.applies(entry):
                    continue
                for variant in spec.variants(entry) if spec.variants else [None]:
                    case = Case(spec, "numpy", dtype, entry, variant)
                    current[0] = case.test_id
                    once = _run_once(reference, case)
                    if spec.random_inputs:
                        settings(settings.get_profile("one-example"))(given(data=st.data())(once))()
                    else:
                        once(None)
                    reached.add(spec.id)
    assert max(size for _, size in seen) <= BASE_SIZE, [s for s in seen if s[1] > BASE_SIZE][:5]
    # Not vacuous: the specs that compare values asked for bounds, with their real input sizes.
    assert len(reached) == len(REGISTRY) and len(seen) > 500
    assert {size for _, size in seen} >= {1, 4, 9, 12}  # scalars, vectors, 3x3 matrices, scan's 4 x 3 inputs
    asked = {test_id.partition("[")[0] for test_id, _ in seen}
    comparing = {s.id for s in REGISTRY.values() if "expect_close" in _source(s.check)}
    # Specs the reference cannot stand in for: it declares no complex dtype, and its index convention ("error")
    # raises where the others compare.  Their sizes are bounded here from their entries' shapes instead.
    elsewhere = {s.id for s in REGISTRY.values() if s.id.startswith(("cx_", "complex_")) or s.id == "index_beyond"}
    assert comparing - elsewhere <= asked, f"specs that compare but were not watched: {sorted(comparing - asked)}"
    for spec_id in elsewhere & comparing:
        for entry in REGISTRY[spec_id].entries:
            sizes = [int(np.prod(a.shape)) for a in entry.args]
            assert max(sizes, default=1) <= BASE_SIZE, (spec_id, entry.name, sizes)


# -- the scaling is needed, and is no blanket ------------------------------------------------------

class _Drawn:
    """Stands in for hypothesis's ``data``: hands out fixed values, recorded like real draws."""

    def __init__(self, *values: Any) -> None:
        self._values = list(values)

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return self._values.pop(0)


def _backends() -> list[Any]:
    from backends.jax_api import JaxApi
    from backends.torch_func import TorchFunc

    out = []
    for cls in (TorchFunc, JaxApi):
        b = cls()
        b.setup()
        out.append(b)
    return out


@pytest.fixture(scope="module")
def libraries() -> list[Any]:
    return _backends()


def _random(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, n), rng.uniform(-1, 1, n)  # sin_sum's domain, and the tangents' range


def _cancelling(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of the same domains whose jvp terms cos(x_i) t_i cancel exactly: the second half repeats the
    first half's x in another order, with the tangents negated."""
    rng = np.random.default_rng(seed)
    x, t, order = rng.uniform(-2, 2, n // 2), rng.uniform(-1, 1, n // 2), rng.permutation(n // 2)
    return np.concatenate([x, x[order]]), np.concatenate([t, -t[order]])


def _jvp_verdict(backend: Any, x: np.ndarray, t: np.ndarray, *, size: int | None = None, scale: float = 1.0) -> bool:
    """Whether the float32 jvp of sin_sum at (x, t) passes the battery's comparison (``size``: forced)."""
    x32, t32 = (np.asarray(a, np.float32).astype(np.float64) for a in (x, t))
    reference = NumpyReference()
    case = Case(REGISTRY["jvp_value"], backend.name, "float32", SIN_SUM)
    ctx = Ctx(backend, reference, case, _Drawn((x32,), (t32,)), Figures())
    (args,), (tangent,) = ctx.draw_inputs(), ctx.draw_like((x32,), "tangent")
    _, got = backend.jvp(ctx.f, (backend.asarray(args, "float32"),), (backend.asarray(tangent, "float32"),))
    _, want = reference.jvp(ctx.f_ref, (reference.asarray(args, "float64"),), (reference.asarray(tangent, "float64"),))
    try:
        ctx.expect_close(got * scale, want, "first", "jvp", order=1, size=size)
    except CheckFailed:
        return False
    assert ctx.figures.tolerance is not None and (size is not None or f"{x.size} terms" in ctx.figures.tolerance.reason)
    return True


def test_a_2048_term_sum_passes_the_scaled_policy_on_every_draw(libraries: list[Any]) -> None:
    for backend in libraries:
        for seed in range(DRAWS):
            assert _jvp_verdict(backend, *_random(2048, seed)), (backend.name, seed)
            assert _jvp_verdict(backend, *_cancelling(2048, seed)), (backend.name, seed)


def test_cancelling_sums_of_65536_terms_need_the_scaling(libraries: list[Any]) -> None:
    """Unscaled (size forced to 16), some draws fail on each library; scaled, none does."""
    for backend in libraries:
        unscaled_failures = [s for s in range(DRAWS) if not _jvp_verdict(backend, *_cancelling(65536, s), size=BASE_SIZE)]
        assert unscaled_failures, f"{backend.name}: no draw exceeds the unscaled bound, so the scaling is not shown"
        assert all(_jvp_verdict(backend, *_cancelling(65536, s)) for s in range(DRAWS)), backend.name


def test_a_jvp_one_percent_off_still_fails_at_2048_terms(libraries: list[Any]) -> None:
    for backend in libraries:
        passed = [s for s in range(DRAWS) if _jvp_verdict(backend, *_random(2048, s), scale=1.01)]
        assert not passed, f"{backend.name}: a 1 % error passed the scaled bound on draws {passed}"


def test_the_size_is_the_largest_leaf_drawn_in_the_example() -> None:
    reference = NumpyReference()
    case = Case(REGISTRY["jvp_value"], "numpy", "float32", SIN_SUM)
    ctx = Ctx(reference, reference, case, _Drawn((np.zeros(4),), {"b": np.zeros((8, 8)), "w": np.zeros(3)}), Figures())
    assert ctx.drawn_size() == 1  # nothing drawn yet: the unscaled bound
    ctx.draw(None, "args")
    assert ctx.drawn_size() == 4
    ctx.draw(None, "other")
    assert ctx.drawn_size() == 64
    fresh = Ctx(reference, reference, dataclasses.replace(case), None, ctx.figures)
    assert fresh.drawn_size() == 1  # a new example starts afresh
