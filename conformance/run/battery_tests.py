"""The battery as ordinary pytest tests: one test function per spec, parametrized by case.

Collected only when named explicitly with the plugin active::

    python -m pytest -p conformance.run.plugin conformance/run/battery_tests.py --backend torch

(``python -m conformance run`` does this, one spawned process per backend.)
Test ids read ``test_jvp_value[torch-float32-sin_sum]``; ``-k``, ``-x``,
``--lf`` and ``--junitxml`` work as usual.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, seed
from hypothesis import strategies as st

from conformance.battery.specs import REGISTRY, Case, Ctx, Skip, Spec, run_check
from conformance.battery.specs.core import Figures
from conformance.battery.strategies import check_seed

FIGURES: dict[str, Figures] = {}
"""Error figures of the check in flight, keyed by test id; the plugin collects them into results."""


@pytest.fixture(autouse=True)
def _seed_this_check(request: pytest.FixtureRequest) -> None:
    """Give the check its own random stream, fixed by ``--hypothesis-seed`` (default 0) and its id alone, without
    the backend's name (``Case.draw_id``): every backend is judged on the same inputs."""
    case = getattr(getattr(request.node, "callspec", None), "params", {}).get("case")
    if isinstance(case, Case) and case.spec.random_inputs:
        seed(check_seed(request.config.getoption("hypothesis_seed") or 0, case.draw_id))(request.function)


def run_example(case: Case, backend: Any, reference: Any, data: Any | None, figures: Figures) -> None:
    """One example of one check, as pytest sees it: a pass, ``pytest.skip`` with the reason of what the backend
    does not offer, CheckFailed, or the library's own error.  The one body of a check, shared by the battery's
    tests here and ``conformance.run.api``'s ``parametrize_checks`` (which wraps it in hypothesis itself)."""
    try:
        run_check(Ctx(backend, reference, case, data, figures))  # declared dtypes, and Unsupported, become skips
    except Skip as exc:
        pytest.skip(str(exc))


def _run(case: Case, env: Any, data: Any | None) -> None:
    figures = FIGURES.setdefault(case.test_id, Figures())
    # How many inputs the check ran on (hypothesis examples, replays included): the false-alarm rate's unit.
    figures.details["examples"] = figures.details.get("examples", 0) + 1
    run_example(case, env.backend, env.reference, data, figures)


def _make_test(spec: Spec) -> Any:
    if spec.random_inputs:

        @given(data=st.data())
        def test(case: Case, conformance_env: Any, data: Any) -> None:
            _run(case, conformance_env, data)

        # No example database (the profiles' database=None), so no key for one: without this, hypothesis
        # (6.1xx, a private attribute) hashes the test's source with inspect.getsource on every check, about a
        # millisecond each, a sixth of its own cost per check.  If the attribute moves, it hashes again: slower,
        # never different (draws come from the check's seed, conformance.battery.strategies.check_seed).
        test._hypothesis_internal_database_key = None  # type: ignore[attr-defined]

    else:

        def test(case: Case, conformance_env: Any) -> None:  # type: ignore[misc]
            _run(case, conformance_env, None)

    test.__name__ = test.__qualname__ = f"test_{spec.id}"
    test.__doc__ = spec.doc
    test.conformance_spec = spec  # type: ignore[attr-defined]  # read by the plugin's pytest_generate_tests
    return test


for _spec in REGISTRY.values():
    globals()[f"test_{_spec.id}"] = _make_test(_spec)
