"""The everyday rows catch bugs: a fault planted in torch's softmax or top_k is caught by the gate at its row.

Each fault (``tests/everyday_faults.py``) replaces one entry of torch's ``Backend.everyday`` with a function whose
reverse rule is wrong.  The gate's cover (the ci profile, :func:`gate_cases`) must fail a reverse-mode check of the
row, without an error, while the forward-mode ones pass; the unbroken library passes the failing checks (so the
failure is the fault's); and no other row sees it (the mapping is reached through the accessor only).  That the
fault shows at all proves the family runs the backend's mapping, not the reference's definitions.
"""

from __future__ import annotations

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.functions import FUNCTIONS
from tests.everyday_faults import EVERYDAY_FAULTS
from tests.test_planted_faults import gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


@pytest.mark.parametrize("fault", list(EVERYDAY_FAULTS), ids=[f.__name__ for f in EVERYDAY_FAULTS])
def test_everyday_fault_is_caught_by_the_gate_at_its_row(fault: type, reference: Backend) -> None:
    row = EVERYDAY_FAULTS[fault]
    backend = fault()
    backend.setup()
    family = [c for c in gate_cases(backend) if c.spec.entries is FUNCTIONS and c.entry.name == row]
    assert family, f"the gate runs no check of {row}"
    outcomes = [(c, *run_case(c, backend, reference)) for c in family]
    failing = [c.test_id for c, status, _ in outcomes if status == "fail"]
    assert any(c.spec.transform in ("grad", "jacrev") for c, status, _ in outcomes if status == "fail"), (
        f"{fault.__name__} passed every gate check of {row}: {[(c.test_id, s, m[:80]) for c, s, m in outcomes]}")
    assert not [f"{c.test_id}: {m[:160]}" for c, status, m in outcomes if status == "error"]
    assert all(s == "pass" for c, s, _ in outcomes if c.spec.transform in ("jvp", "jacfwd")), outcomes
    library = TorchFunc()
    library.setup()
    unbroken = [run_case(c, library, reference)[0] for c in family if c.test_id in failing]
    assert set(unbroken) == {"pass"}, f"the unbroken library fails these too: {failing} -> {unbroken}"
