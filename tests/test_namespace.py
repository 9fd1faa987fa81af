"""The namespace helper (backends/namespace.py) and the namespace contract (conformance/namespace_contract.py).

An adapter for a library without array-api-compat builds its ``xp`` from a name map; the contract says which names
that namespace must offer.  Both must be right for a third party: a wrong contract lets a namespace look complete
while checks skip, a wrong helper makes a mapped function look missing.
"""

from __future__ import annotations

import types

import array_api_compat.numpy as np_xp
import numpy as np
import pytest

from backends.namespace import MISSING, MappedNamespace
from conformance.functions import FUNCTIONS_TABLE, missing_names
from conformance.namespace_contract import contract, lacking


def _module() -> types.ModuleType:
    lib = types.ModuleType("fakelib")
    lib.arccos = np.arccos
    lib.concatenate = np.concatenate
    lib.sin = np.sin
    lib.transpose = lambda x, a, b: x  # another function under a standard name
    lib.math = types.SimpleNamespace(solve=np.linalg.solve)
    return lib


def test_names_map_to_attributes_callables_sub_namespaces_and_aliases() -> None:
    xp = MappedNamespace(_module(), {"concat": "concatenate", "linalg.solve": "math.solve", "linalg.det": np.linalg.det,
                                     "permute_dims": MISSING}, library="fakelib")
    assert xp.concat is np.concatenate and xp.sin is np.sin
    assert xp.linalg.solve is np.linalg.solve and xp.linalg.det is np.linalg.det
    assert xp.acos is np.arccos  # not mapped: the alias table's other name of the same function
    with pytest.raises(AttributeError, match="MISSING"):
        _ = xp.permute_dims
    with pytest.raises(AttributeError):
        _ = xp.linalg.inv
    lacked = missing_names(xp, ("sin", "linalg.solve", "linalg.inv", "permute_dims"))
    assert lacked == ["linalg.inv", "permute_dims", "asarray", "sum"]  # the last two: every row's infrastructure


def test_a_mapping_to_a_name_the_module_lacks_says_so() -> None:
    xp = MappedNamespace(_module(), {"cos": "cosine"})
    with pytest.raises(AttributeError, match="mapped to 'cosine', which the module lacks"):
        _ = xp.cos


def test_the_contract_holds_every_rows_names_and_the_specs_own() -> None:
    names = contract()
    for fn_row in FUNCTIONS_TABLE.values():
        assert set(fn_row.uses) <= set(names), fn_row.name
    assert "sin_sum" in names["sin"] and "fn_sin" in names["sin"]  # measured from a catalog entry and declared by a row
    assert any(u.startswith("spec:") for u in names["sum"])  # the specs' weighted sums
    assert "linalg.solve" in names


def test_a_full_namespace_lacks_nothing_and_a_partial_one_lacks_what_it_dropped() -> None:
    assert lacking(np_xp) == {}
    partial = MappedNamespace(np_xp, {"hypot": MISSING, "linalg.solve": MISSING})
    assert set(lacking(partial)) == {"hypot", "linalg.solve"}
    assert "fn_hypot" in lacking(partial)["hypot"]
