"""backends/tape.py: grad and vjp built from a library's tape, checked by the battery like any adapter's.

The adapter (tests/tape_adapter.py) drives torch.autograd through the two methods a tape library's adapter writes;
it must go green where torch is right, and red when its gradients are 1 % off.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tape_adapter

import conformance

SPECS = ["grad_value", "grad_argnums", "grad_equals_vjp", "grad_has_aux", "vjp_value", "has_aux_support", "fn_grad"]


@pytest.fixture
def broken() -> Iterator[None]:
    tape_adapter.BROKEN = True
    yield
    tape_adapter.BROKEN = False


def _statuses(result: conformance.run.api.CheckResult) -> dict[str, set[str]]:
    by_spec: dict[str, set[str]] = {}
    for r in result.records:
        by_spec.setdefault(r["spec"], set()).add(r["status"])
    return by_spec


def test_a_tape_adapter_passes_the_grad_and_vjp_checks() -> None:
    result = conformance.check_backend(tape_adapter.TorchTape(), specs=SPECS)
    assert result.ok, result.summary()
    by_spec = _statuses(result)
    for spec in ("grad_value", "grad_argnums", "vjp_value"):
        assert "pass" in by_spec[spec], (spec, by_spec.get(spec))


def test_a_tape_adapter_with_wrong_gradients_fails_them(broken: None) -> None:
    result = conformance.check_backend(tape_adapter.TorchTape(), specs=["grad_value", "vjp_value"],
                                       dtypes=["float64"])
    assert _statuses(result) == {"grad_value": {"fail"}, "vjp_value": {"fail"}}
