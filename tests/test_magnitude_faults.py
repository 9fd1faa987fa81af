"""Float32 at large magnitudes catches the naive formulas: each planted fault (``tests/magnitude_faults.py``) fails
a large-magnitude check of its row in the gate's cover, and no other check of the row's standard family.

That the standard family passes them is the reason the class exists: on order-1 inputs the naive formulas are
right.  The unbroken library passes the failing checks, so the failure is the fault's.
"""

from __future__ import annotations

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.functions import FUNCTIONS
from conformance.battery.specs.magnitudes import LARGE, LARGE_ENTRIES
from tests.magnitude_faults import MAGNITUDE_FAULTS
from tests.test_planted_faults import gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


def test_every_large_row_is_a_row_of_the_table_on_its_own_domain() -> None:
    assert [e.name for e in LARGE_ENTRIES] == list(LARGE)
    assert all(a.low == LARGE[e.name].low and a.high == LARGE[e.name].high for e in LARGE_ENTRIES for a in e.args)
    assert all(max(abs(a.low), abs(a.high)) >= 60 for e in LARGE_ENTRIES for a in e.args)


@pytest.mark.parametrize("fault", list(MAGNITUDE_FAULTS), ids=[f.__name__ for f in MAGNITUDE_FAULTS])
def test_a_naive_formula_is_caught_at_large_magnitudes_only(fault: type, reference: Backend) -> None:
    row = MAGNITUDE_FAULTS[fault]
    backend = fault()
    backend.setup()
    gate = [c for c in gate_cases(backend) if c.entry.name == row]
    large = [c for c in gate if c.spec.entries is LARGE_ENTRIES]
    standard = [c for c in gate if c.spec.entries is FUNCTIONS and c.spec.transform in ("grad", "jvp")]
    assert large and standard, f"the gate runs no large-magnitude or no standard check of {row}"
    outcomes = [(c, *run_case(c, backend, reference)) for c in large]
    failing = [c.test_id for c, status, _ in outcomes if status == "fail"]
    assert failing, f"{fault.__name__} passed every large-magnitude check: {[(c.test_id, s, m[:80]) for c, s, m in outcomes]}"
    assert not [m for _, status, m in outcomes if status == "error"], outcomes
    assert {run_case(c, backend, reference)[0] for c in standard} == {"pass"}, "the order-1 checks see it too"
    library = TorchFunc()
    library.setup()
    assert {run_case(c, library, reference)[0] for c in large if c.test_id in failing} == {"pass"}
