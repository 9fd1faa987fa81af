"""The accuracy modes' checks catch a mode that breaks its promise: each fault of ``tests/mode_faults.py`` fails a
check of the mode's row in the gate's cover (without an error), and the unbroken library passes those checks."""

from __future__ import annotations

import fnmatch

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from conformance.battery import everyday
from tests.mode_faults import MODE_FAULTS
from tests.test_planted_faults import assert_fault_caught, gate_cases


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


def test_the_modes_are_everyday_rows() -> None:
    assert {"softmax_precise", "matmul_highest"} <= set(everyday.SIGNATURES)


@pytest.mark.parametrize("fault", list(MODE_FAULTS), ids=[f.__name__ for f in MODE_FAULTS])
def test_a_broken_mode_is_caught_by_the_gate(fault: type, reference: Backend) -> None:
    library_type, entry, specs = MODE_FAULTS[fault]
    backend = fault()
    backend.setup()
    gate = [c for c in gate_cases(backend) if c.entry.name == entry and fnmatch.fnmatchcase(c.spec.id, specs)]
    assert_fault_caught(backend, library_type, gate, reference)
