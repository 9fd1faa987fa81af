"""The holomorphic Hessian and argnums checks catch bugs: each fault of ``tests/complex_argnums_faults.py`` fails a
check of the gate's cover (as ``tests/test_complex_faults.py`` proves for the first-order, first-argument faults).

The gate's cover (the ci profile) of the fault's specs fails at least one check, without an error, and the unbroken
library passes every check the fault fails (so the failure is the fault's).
"""

from __future__ import annotations

import dataclasses
import fnmatch

import pytest

from backends.base import Backend
from backends.conventions import Holomorphic
from backends.jax_api import JaxApi
from backends.numpy_reference import NumpyReference
from conformance.battery.specs.core import Case
from tests.complex_argnums_faults import ARGNUMS_FAULTS
from tests.test_planted_faults import assert_fault_caught, gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


def _outcomes(backend: Backend, specs: str, reference: Backend) -> list[tuple[Case, str, str]]:
    family = [c for c in gate_cases(backend) if fnmatch.fnmatchcase(c.spec.id, specs)]
    assert family, f"the gate runs no check of {specs}"
    return [(c, *run_case(c, backend, reference)) for c in family]


@pytest.mark.parametrize("fault", list(ARGNUMS_FAULTS), ids=[f.__name__ for f in ARGNUMS_FAULTS])
def test_argnums_fault_is_caught_by_the_gate(fault: type, reference: Backend) -> None:
    library_type, specs = ARGNUMS_FAULTS[fault]
    backend = fault()
    backend.setup()
    family = [c for c in gate_cases(backend) if fnmatch.fnmatchcase(c.spec.id, specs)]
    assert_fault_caught(backend, library_type, family, reference)


def test_a_wrong_hessian_declaration_fails(reference: Backend) -> None:
    """Declaring JAX's holomorphic Hessian as MLX's grad is ('conjugate') fails the Hessian checks."""
    conv = JaxApi.conventions
    holomorphic = {**conv.complex.holomorphic, "hessian": Holomorphic("conjugate", "jax.hessian", "holomorphic")}

    class Misdeclared(JaxApi):
        name = "cx-hessian-misdeclared"
        conventions = dataclasses.replace(conv, complex=dataclasses.replace(conv.complex, holomorphic=holomorphic))

    backend = Misdeclared()
    backend.setup()
    statuses = {s for _, s, _ in _outcomes(backend, "cx_holomorphic_hessian*", reference)}
    assert "fail" in statuses and "error" not in statuses, statuses
