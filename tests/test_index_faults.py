"""The indexing and static-axis specs catch bugs: each fault of ``tests/index_faults.py`` fails the gate's cover.

For each planted fault the gate's checks (the ci cover, :func:`gate_cases`) of its spec and entry must fail, none
with an error, and the unbroken torch adapter must pass every check that failed, so each failure is the fault's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backends.base import Backend
from backends.conventions import Conventions
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery import index_bounds
from tests.index_faults import INDEX_FAULTS
from tests.test_planted_faults import gate_cases, run_case


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


@pytest.mark.parametrize("fault", list(INDEX_FAULTS), ids=[f.__name__ for f in INDEX_FAULTS])
def test_index_fault_is_caught_by_the_gate(fault: type, reference: Backend) -> None:
    spec_id, entry = INDEX_FAULTS[fault]
    backend = fault()
    backend.setup()
    family = [c for c in gate_cases(backend) if c.spec.id == spec_id and c.entry.name == entry]
    assert family, f"the gate runs no check of {spec_id} on {entry}"
    outcomes = [(c, *run_case(c, backend, reference)) for c in family]
    failing = [c.test_id for c, status, _ in outcomes if status == "fail"]
    assert failing, f"{fault.__name__} passed the gate: {[(c.test_id, s, m[:100]) for c, s, m in outcomes]}"
    assert not [f"{c.test_id}: {m[:160]}" for c, status, m in outcomes if status == "error"]
    library = TorchFunc()
    library.setup()
    unbroken = [run_case(c, library, reference)[0] for c in family if c.test_id in failing]
    assert set(unbroken) == {"pass"}, f"the unbroken library fails these too: {failing} -> {unbroken}"


def test_each_word_defines_its_positions() -> None:
    idx = np.array([0, 4, -1, -5, 5, -6, 8])
    assert index_bounds.positions(idx, 5, "clamp")[0].tolist() == [0, 4, 4, 0, 4, 0, 4]
    assert index_bounds.positions(idx, 5, "wrap")[0].tolist() == [0, 4, 4, 0, 0, 4, 3]
    pos, reads = index_bounds.positions(idx, 5, "fill")
    assert reads.tolist() == [True] * 4 + [False] * 3 and pos[:4].tolist() == [0, 4, 4, 0]
    with pytest.raises(ValueError):
        index_bounds.positions(idx, 5, "error")


def test_a_declaration_outside_the_vocabulary_is_refused() -> None:
    fields = {k: getattr(TorchFunc.conventions, k) for k in ("grad_and_value_api", "grad_and_value_layout",
              "grad_and_value_aux_layout", "grad_aux_layout", "batch_keyword", "has_aux", "jvp_primals", "scan_api",
              "cond_api")}
    with pytest.raises(ValueError):
        Conventions(**fields, index_bounds={"take": "saturate"})
    assert Conventions(**fields).index_bound("getitem") == "error"


def test_the_readme_documents_the_field() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "| `index_bounds` |" in readme
