"""The namespace helper (backends/namespace.py) and the namespace contract (conformance/battery/namespace_contract.py).

An adapter for a library without array-api-compat builds its ``xp`` from a name map; the contract says which names
that namespace must offer.  Both must be right for a third party: a wrong contract lets a namespace look complete
while checks skip, a wrong helper makes a mapped function look missing.
"""

from __future__ import annotations

import dataclasses
import types

import array_api_compat.numpy as np_xp
import numpy as np
import pytest

import conformance
from backends.namespace import MISSING, MappedNamespace
from backends.numpy_reference import NumpyReference
from conformance.battery.functions import FUNCTIONS_TABLE, missing_names
from conformance.battery.namespace_contract import contract, lacking, undeclared_rejected_keywords


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


class _Lacking(NumpyReference):
    """The reference's transforms over a namespace without ``take``, ``take_along_axis`` and ``linalg.solve``
    (names that no function row looks up before it runs), whose ``sin`` raises an AttributeError of its own."""

    name, library, is_reference = "lacking", "lacking", False

    @property
    def xp(self) -> MappedNamespace:
        def sin(x: object) -> object:
            return types.SimpleNamespace().sine  # a library's own AttributeError, inside one of its functions

        return MappedNamespace(np_xp, {"take": MISSING, "take_along_axis": MISSING, "linalg.solve": MISSING,
                                       "sin": sin}, library="lacking")


def test_a_name_the_namespace_lacks_skips_every_check_reaching_it_and_a_librarys_attribute_error_stays_one() -> None:
    result = conformance.check_backend(_Lacking(), specs=["index_edges", "vjp_value"])
    by_function = {(r["spec"], r["function"]): r for r in result.records}
    for function, name in (("index_take", "take"), ("index_take_along_axis", "take_along_axis")):
        record = by_function["index_edges", function]
        assert record["status"] == "skip" and record["message"].startswith(f"lacking lacks {name}:"), record
    solve = by_function["vjp_value", "solve"]
    assert solve["status"] == "skip" and "lacks linalg.solve" in solve["message"], solve
    sin = by_function["vjp_value", "sin_sum"]
    assert sin["status"] == "error" and "sine" in sin["message"], sin
    errors = [r for r in result.records if r["status"] == "error"]
    assert errors and all("'sine'" in r["message"] for r in errors)  # the entries calling sin, and nothing else


class _NoWhere(NumpyReference):
    """The reference over a namespace whose ``sum`` takes no ``where=`` (MyGrad's, torch's)."""

    name, library, is_reference = "nowhere", "nowhere", False

    @property
    def xp(self) -> MappedNamespace:
        return MappedNamespace(np_xp, {"sum": lambda x, axis=None, keepdims=False: np.sum(x, axis=axis,
                                                                                             keepdims=keepdims)})


def test_namespace_lists_the_keywords_a_namespace_rejects_until_they_are_declared() -> None:
    found = undeclared_rejected_keywords(_NoWhere())
    assert set(found) == {"sum(where=)"} and "where" in found["sum(where=)"]
    declared = _NoWhere()
    declared.conventions = dataclasses.replace(declared.conventions, lacks_keywords={"sum(where=)": "no mask"})
    assert undeclared_rejected_keywords(declared) == {}
    assert undeclared_rejected_keywords(NumpyReference()) == {}
