"""Faults planted in the library (tests/library_faults.py) are caught, and caught at the right place.

The battery was not written against these: each is a maintainer's realistic bug in one operation's
derivative rule, in one batching rule that misbehaves only at some batch sizes or axes, or in how
pytree leaves are paired.  For each, some check of the named transform family must fail; for a
derivative-rule fault, every failing check must be of a function that calls the faulty operation, so
the report points at the culprit instead of going red everywhere.
"""

from __future__ import annotations

import inspect

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.catalog import Entry
from conformance.battery.functions import FUNCTIONS
from conformance.battery.specs.magnitudes import LARGE_ENTRIES
from conformance.inputs import manifest
from tests.library_faults import FAULTS, FUNCTION_FAULTS, Planted
from tests.test_planted_faults import gate_cases, run_case

TORCH_DEVIATIONS = manifest.for_backend("torch")
"""The manifest of the library the faults are planted in: its known deviations are not the faults'."""


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


def calls(entry: Entry, op: str) -> bool:
    """Whether the entry's function calls ``xp.<op>`` (its source, branches included)."""
    sources = [inspect.getsource(entry.fn)] + [inspect.getsource(b) for b in entry.branches or ()]
    return any(f"xp.{op}(" in src for src in sources)


@pytest.mark.parametrize("fault", list(FAULTS), ids=[f.__name__ for f in FAULTS])
def test_library_fault_is_caught_where_it_lives(fault: type, reference: Backend) -> None:
    planted: Planted = FAULTS[fault]
    backend = fault()
    backend.setup()
    # The checks the gate runs (the ci profile's cover): the fast gate is what must catch these.
    # The function-table families (the standard rows, and those rows at large magnitudes) have their own faults.
    family = [c for c in gate_cases(backend) if c.spec.transform == planted.transform
              and c.spec.entries is not FUNCTIONS and c.spec.entries is not LARGE_ENTRIES
              and manifest.covering(c, TORCH_DEVIATIONS) is None]  # torch's own known deviations fail regardless
    if planted.op:
        family = [c for c in family if not c.entry.tags & {"nonsmooth", "control_flow"}]
    outcomes = [(c, *run_case(c, backend, reference)) for c in family]
    failing = [(c, msg) for c, status, msg in outcomes if status == "fail"]
    assert failing, f"{fault.__name__} ({fault.__doc__.strip()}) passed every {planted.transform} check"
    if planted.op:
        stray = [c.test_id for c, _ in failing if not calls(c.entry, planted.op)]
        assert not stray, f"{fault.__name__}: checks of functions that never call {planted.op} failed: {stray}"
        errors = [f"{c.test_id}: {msg[:160]}" for c, status, msg in outcomes if status == "error"]
        assert not errors, errors


@pytest.mark.parametrize("fault", list(FUNCTION_FAULTS), ids=[f.__name__ for f in FUNCTION_FAULTS])
def test_function_fault_is_caught_by_the_gate_where_it_lives(fault: type, reference: Backend) -> None:
    """A fault on a measure-zero set of inputs (a tie) is caught by the gate's three draws, because the row
    declares the set as points: one of the gate's checks of the operation's row, of the planted transform,
    fails, and the unbroken library passes that check."""
    planted: Planted = FUNCTION_FAULTS[fault]
    backend = fault()
    backend.setup()
    family = [c for c in gate_cases(backend) if c.spec.entries is FUNCTIONS and c.entry.name == f"fn_{planted.op}"]
    outcomes = [(c, *run_case(c, backend, reference)) for c in family]
    failing = [c.test_id for c, status, _ in outcomes if status == "fail"]
    assert any(c.spec.transform == planted.transform for c, status, _ in outcomes if status == "fail"), (
        f"{fault.__name__} passed every gate check of fn_{planted.op}: {[(c.test_id, s) for c, s, _ in outcomes]}")
    assert not [c.test_id for c, status, _ in outcomes if status == "error"]
    library = TorchFunc()
    library.setup()
    unbroken = [run_case(c, library, reference)[0] for c in family if c.test_id in failing]
    assert set(unbroken) <= {"pass"}, f"the unbroken library fails these too: {failing} -> {unbroken}"


def test_forty_faults_are_planted() -> None:
    from tests.broken_backends import FAULTS as ADAPTER_FAULTS
    from tests.reduction_faults import REDUCTION_FAULTS

    assert len(FAULTS) + len(FUNCTION_FAULTS) + len(REDUCTION_FAULTS) + len(ADAPTER_FAULTS) >= 45
