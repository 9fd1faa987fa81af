"""The complex checks catch bugs: each fault of ``tests/complex_faults.py`` fails a check of the gate's cover.

The gate's cover (the ci profile, :func:`gate_cases`) of the complex specs must fail at least one check of the
fault's specs, without an error; the unbroken library passes every check the fault fails (so the failure is the
fault's); and the fault's failures all carry the sub-check that saw it.
"""

from __future__ import annotations

import fnmatch

import pytest

from backends.base import Backend
from backends.numpy_reference import NumpyReference
from tests.complex_faults import COMPLEX_FAULTS
from tests.test_planted_faults import assert_fault_caught, gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


@pytest.mark.parametrize("fault", list(COMPLEX_FAULTS), ids=[f.__name__ for f in COMPLEX_FAULTS])
def test_complex_fault_is_caught_by_the_gate(fault: type, reference: Backend) -> None:
    library_type, specs = COMPLEX_FAULTS[fault]
    backend = fault()
    backend.setup()
    family = [c for c in gate_cases(backend) if fnmatch.fnmatchcase(c.spec.id, specs)]
    assert_fault_caught(backend, library_type, family, reference)


def test_a_wrong_declaration_fails(reference: Backend) -> None:
    """Declaring torch's convention as JAX's ('wirtinger', 'transpose') fails the grad and vjp checks."""
    import dataclasses

    from backends.torch_func import TorchFunc

    class Misdeclared(TorchFunc):
        name = "cx-misdeclared"
        conventions = dataclasses.replace(TorchFunc.conventions, complex=dataclasses.replace(
            TorchFunc.conventions.complex, grad="wirtinger", vjp="transpose"))

    backend = Misdeclared()
    backend.setup()
    family = [c for c in gate_cases(backend) if c.spec.id in ("cx_grad", "cx_vjp")]
    statuses = {c.spec.id: set() for c in family}
    for c in family:
        statuses[c.spec.id].add(run_case(c, backend, reference)[0])
    assert all("fail" in s and "error" not in s for s in statuses.values()), statuses
