"""The fft rows catch bugs: a fault planted in one of torch's fft rules is caught by the gate at its row.

Each fault (``tests/fft_faults.py``) replaces one function of the fft namespace the rows call with one whose reverse
rule or batching rule is wrong.  The gate's cover (the ci profile, :func:`gate_cases`) must fail a check of the
row by one of the transforms the rule serves, without an error; the unbroken library passes the failing checks (so
the failure is the fault's).
"""

from __future__ import annotations

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.functions import FUNCTIONS
from tests.fft_faults import FFT_FAULTS
from tests.test_planted_faults import gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


@pytest.mark.parametrize("fault", list(FFT_FAULTS), ids=[f.__name__ for f in FFT_FAULTS])
def test_fft_fault_is_caught_by_the_gate_at_its_row(fault: type, reference: Backend) -> None:
    row, transforms = FFT_FAULTS[fault]
    backend = fault()
    backend.setup()
    family = [c for c in gate_cases(backend) if c.spec.entries is FUNCTIONS and c.entry.name == row]
    assert family, f"the gate runs no check of {row}"
    outcomes = [(c, *run_case(c, backend, reference)) for c in family]
    failing = [c.test_id for c, status, _ in outcomes if status == "fail"]
    assert any(c.spec.transform in transforms for c, status, _ in outcomes if status == "fail"), (
        f"{fault.__name__} passed every gate check of {row} by {sorted(transforms)}: "
        f"{[(c.test_id, s, m[:80]) for c, s, m in outcomes]}")
    assert not [f"{c.test_id}: {m[:160]}" for c, status, m in outcomes if status == "error"]
    library = TorchFunc()
    library.setup()
    unbroken = [run_case(c, library, reference)[0] for c in family if c.test_id in failing]
    assert set(unbroken) == {"pass"}, f"the unbroken library fails these too: {failing} -> {unbroken}"
