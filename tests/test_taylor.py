"""The Taylor-order check reads the order where it has settled: right gradients pass, wrong ones fail.

The synthetic cases drive :func:`odd_remainder_order` with remainders of known form (a sign change
between the h^3 and h^5 terms, a vanishing h^3 term, rounding noise); the regression case replays the
exact inputs of issue 13's thorough-profile false alarm through the real spec on torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.specs import REGISTRY, Case, Ctx, Figures
from conformance.battery.specs.core import CheckFailed
from conformance.battery.specs.taylor import THRESHOLD, odd_remainder_order
from tests.broken_backends import GradScaled

EPS = float(np.finfo(np.float64).eps)


def _synthetic(e: float, c3: float, c5: float, c7: float = 0.0, noise: float = 4 * EPS, seed: int = 0) -> Any:
    """D(h) = -e h + c3 h^3 + c5 h^5 + c7 h^7 plus rounding-sized noise that depends only on h."""
    rng = np.random.default_rng(seed)
    cache: dict[float, float] = {}

    def d(h: float) -> float:
        if h not in cache:
            cache[h] = -e * h + c3 * h**3 + c5 * h**5 + c7 * h**7 + noise * rng.uniform(-1, 1)
        return cache[h]

    return odd_remainder_order(d, lambda h: 1.0, EPS)


@pytest.mark.parametrize("c3", [1.0, -0.3, 1e-3, 1e-6, 1e-9, 0.0])
@pytest.mark.parametrize("c5", [0.0, 5.0, -5.0, 300.0, -300.0])
def test_right_gradient_passes_whatever_the_higher_terms_do(c3: float, c5: float) -> None:
    for seed in range(5):
        verdict = _synthetic(0.0, c3, c5, c7=-40.0, seed=seed)
        assert not verdict.wrong, (c3, c5, seed, verdict)
        if verdict.order is not None:
            assert verdict.order > THRESHOLD + 0.5, verdict


@pytest.mark.parametrize("e", [1e-2, 1e-4, 1e-6, 1e-7])
@pytest.mark.parametrize("c3", [1.0, -1.0, 1e-3, 0.0])
def test_wrong_gradient_fails_down_to_small_errors(e: float, c3: float) -> None:
    for seed in range(3):
        verdict = _synthetic(e, c3, c5=-3.0, seed=seed)
        assert verdict.wrong, (e, c3, seed, verdict)
        if e >= 1e-6:  # near the detection limit the last clear steps still feel the h^3 term
            assert abs(verdict.order - 1.0) < 0.1, verdict


def test_pure_rounding_is_no_verdict() -> None:
    verdict = _synthetic(0.0, 0.0, 0.0, noise=1e-13)
    assert verdict.order is None and not verdict.wrong


class _Fixed:
    """Stands in for hypothesis's ``data``: returns the given draws in order."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def draw(self, strategy: Any, label: str = "") -> Any:
        return self.values.pop(0)


# Issue 13: FAIL taylor_remainder[torch-float64-two_args] under the thorough profile (hypothesis 6.170.17,
# blob AXicY9Cwv8kAAXAWoyODxv5zMDajhv0VuIoPCBX2hxEqoPJANhOcDVSx66rOn9h/EwCMEQ6Z), decoded to these draws.
ISSUE_13_ARGS = (np.full(4, 0.390625), np.full(4, 0.390625))
ISSUE_13_DIRECTION = (np.array([-0.234375, 0.3125, 1.0, 1.0]), np.array([0.1484375, 0.0, 0.0, 0.10481530343349221]))


def _run_taylor(backend: TorchFunc) -> Figures:
    spec = REGISTRY["taylor_remainder"]
    entry = next(e for e in spec.entries if e.name == "two_args")
    case = Case(spec, backend.name, "float64", entry)
    figures = Figures()
    spec.check(Ctx(backend, NumpyReference(), case, _Fixed(ISSUE_13_ARGS, ISSUE_13_DIRECTION), figures))
    return figures


def test_issue_13_false_alarm_inputs_pass_on_torch() -> None:
    figures = _run_taylor(TorchFunc())
    assert figures.details["fitted_order"] is not None and figures.details["fitted_order"] > 2.5, figures.details


@pytest.mark.parametrize("factor", [1.01, 1 + 1e-4, 1 + 1e-7])
def test_issue_13_inputs_still_catch_a_wrong_gradient(factor: float) -> None:
    backend = GradScaled()
    backend.factor = factor
    with pytest.raises(CheckFailed, match="order 1"):
        _run_taylor(backend)


# The false-alarm measurement (benchmarks/false_alarms.py, thorough profile, seed 1) drew these for
# taylor_remainder[numpy-float64-quadratic_form]: x in the underflow band, where the reference's complex-step
# gradient of x A x underflows to 0 (hypothesis blob AXicY9BggAENBb+jKfa/tysyaNh/gInBJAF76gV5, 6.170.17).
SEED_1_ARGS = (np.zeros((3, 3)), np.full(3, 4.590021143409631e-153))
SEED_1_DIRECTION = (np.ones((3, 3)), np.zeros(3))


def test_underflow_band_inputs_are_drawn_as_zero_and_then_pass_on_the_reference() -> None:
    from conformance.battery.strategies import UNDERFLOW_BAND, _flush_below

    flushed = tuple(_flush_below(UNDERFLOW_BAND, a) for a in SEED_1_ARGS)
    assert 4.590021143409631e-153 < UNDERFLOW_BAND and not flushed[1].any()
    assert (_flush_below(UNDERFLOW_BAND, np.array([2.0**-59, -0.5])) == [2.0**-59, -0.5]).all()  # ordinary values stay
    spec = REGISTRY["taylor_remainder"]
    entry = next(e for e in spec.entries if e.name == "quadratic_form")
    reference = NumpyReference()
    case = Case(spec, reference.name, "float64", entry)
    spec.check(Ctx(reference, reference, case, _Fixed(flushed, SEED_1_DIRECTION), Figures()))
    with pytest.raises(CheckFailed, match="order 1"):  # the unflushed draw: the oracle's gradient underflows
        spec.check(Ctx(reference, reference, case, _Fixed(SEED_1_ARGS, SEED_1_DIRECTION), Figures()))
