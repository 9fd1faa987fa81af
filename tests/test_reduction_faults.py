"""The reductions' argument variants can fail: a fault in one calling form is caught by the gate at that form's row.

Each fault (``tests/reduction_faults.py``) breaks torch's reverse rule of one reduction in one calling form only
(keepdims, a negative axis, a tuple of axes).  The gate's cover (the ci profile, :func:`gate_cases`) must catch it
with a failing check of the planted transform at the variant's row, without an error; the unbroken library passes
the same checks (the failure is the fault's, not the row's); and the reduction's standard row (``axis=1`` of a
matrix) passes under the fault: without the variant rows the battery would not see it.
"""

from __future__ import annotations

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.functions import FUNCTIONS
from tests.reduction_faults import REDUCTION_FAULTS
from tests.test_planted_faults import gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


@pytest.mark.parametrize("fault", list(REDUCTION_FAULTS), ids=[f.__name__ for f in REDUCTION_FAULTS])
def test_reduction_fault_is_caught_by_the_gate_at_its_variant_row(fault: type, reference: Backend) -> None:
    planted, variant, standard = REDUCTION_FAULTS[fault]
    backend = fault()
    backend.setup()
    gate = [c for c in gate_cases(backend) if c.spec.entries is FUNCTIONS]
    family = [c for c in gate if c.entry.name == variant]
    assert family, f"the gate runs no check of {variant}"
    outcomes = [(c, *run_case(c, backend, reference)) for c in family]
    failing = [c.test_id for c, status, _ in outcomes if status == "fail"]
    assert any(c.spec.transform == planted.transform for c, status, _ in outcomes if status == "fail"), (
        f"{fault.__name__} passed every gate check of {variant}: {[(c.test_id, s, m[:80]) for c, s, m in outcomes]}")
    assert not [f"{c.test_id}: {m[:160]}" for c, status, m in outcomes if status == "error"]
    library = TorchFunc()
    library.setup()
    unbroken = [run_case(c, library, reference)[0] for c in family if c.test_id in failing]
    assert set(unbroken) <= {"pass"}, f"the unbroken library fails these too: {failing} -> {unbroken}"
    missed = [(c.test_id, *run_case(c, backend, reference)) for c in gate if c.entry.name == standard]
    assert missed and all(status == "pass" for _, status, _ in missed), (
        f"{fault.__name__} is not specific to its calling form: the standard row {standard} sees it: {missed}")
