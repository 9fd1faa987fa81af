"""The typed records of :mod:`conformance.store.results` and the JSON Schema (``docs/results-schema.json``) agree.

The battery writes its records from the dataclasses (``CheckRecord.to_json``), third-party tools read the files by
the schema, and the report reads them back into the dataclasses (``from_json``): a field added to one and not the
other would be written and rejected, or accepted and never read.  So, for each record and its ``$defs`` entry:

- the same fields, both ways;
- every JSON type a field of the record can be written as is one the schema allows there (``float`` as a number,
  or as the strict-JSON string of a non-finite float, which the schema's ``number`` accepts);
- a field the schema requires has no default in the record (the writer always writes it);
- what the schema allows beyond the record's type (a ``null`` duration, a missing ``variant`` of an older file) is
  read back by ``from_json`` without raising, as the record's type.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from conformance.store import results, schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "results-schema.json").read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]

RECORDS = {results.CheckRecord: DEFS["check"], results.FunctionRow: DEFS["function"]}
"""Each typed record and the schema's definition of it."""

NOT_REQUIRED_BUT_ALWAYS_WRITTEN = {
    (results.CheckRecord, "library_version"): "hand-made and foreign files may lack it; from_json reads it as ''",
    (results.CheckRecord, "device"): "as library_version",
    (results.CheckRecord, "dtype"): "as library_version (a check that has none is a check of no dtype)",
}
"""Fields without a default in the record that the schema does not require, each with why the reader copes."""

_JSON = {str: {"string"}, int: {"integer"}, float: {"number"}, bool: {"boolean"}, dict: {"object"},
         list: {"array"}, type(None): {"null"}}


def json_types(annotation: Any) -> set[str]:
    """The JSON types a value of a record's field may be written as (by ``to_json``)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set().union(*(json_types(a) for a in typing.get_args(annotation)))
    origin = typing.get_origin(annotation) or annotation
    found = set(_JSON[origin])
    if origin is float:
        found.add("string")  # "nan", "inf", "-inf": conformance.store.results.document.jsonable
    return found


def schema_types(node: dict[str, Any]) -> set[str]:
    """The JSON types a schema node allows (``$ref``, ``anyOf``, ``type``, ``enum`` and ``const`` followed)."""
    if "$ref" in node:
        return schema_types(DEFS[node["$ref"].removeprefix("#/$defs/")])
    if "anyOf" in node:
        return set().union(*(schema_types(n) for n in node["anyOf"]))
    if "type" in node:
        kinds = {node["type"]} if isinstance(node["type"], str) else set(node["type"])
        return kinds | ({"integer"} if "number" in kinds else set())
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if values is None:
        return set(_JSON[dict]) | {"string", "number", "integer", "boolean", "array", "null"}  # anything
    return {next(iter(_JSON[type(v)])) for v in values}


def _fields(record: type) -> dict[str, Any]:
    hints = typing.get_type_hints(record)
    return {f.name: hints[f.name] for f in dataclasses.fields(record)}


@pytest.mark.parametrize("record", list(RECORDS), ids=lambda r: r.__name__)
def test_record_and_schema_have_the_same_fields(record: type) -> None:
    definition = RECORDS[record]
    assert set(_fields(record)) == set(definition["properties"]), (
        f"only in the record: {sorted(set(_fields(record)) - set(definition['properties']))}; "
        f"only in the schema: {sorted(set(definition['properties']) - set(_fields(record)))}")
    assert definition.get("additionalProperties") is False, "a field the record does not know would be accepted"


@pytest.mark.parametrize("record", list(RECORDS), ids=lambda r: r.__name__)
def test_every_type_the_record_writes_is_one_the_schema_allows(record: type) -> None:
    properties = RECORDS[record]["properties"]
    wrong = {name: (sorted(json_types(hint)), sorted(schema_types(properties[name])))
             for name, hint in _fields(record).items() if not json_types(hint) <= schema_types(properties[name])}
    assert not wrong, f"field: (written as, schema allows): {wrong}"


@pytest.mark.parametrize("record", list(RECORDS), ids=lambda r: r.__name__)
def test_required_fields_have_no_default(record: type) -> None:
    required = set(RECORDS[record].get("required", []))
    bare = {f.name for f in dataclasses.fields(record)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    assert required <= bare, f"required by the schema but optional in the record: {sorted(required - bare)}"
    extra = {(record, name) for name in bare - required}
    known = {key for key in NOT_REQUIRED_BUT_ALWAYS_WRITTEN if key[0] is record}
    assert extra == known, f"not required by the schema, no default in the record: {sorted(n for _, n in extra)}"


def _check() -> results.CheckRecord:
    return results.CheckRecord(backend="numpy", library_version="2.1", device="cpu", dtype="float64", spec="grad_value",
                               transform="grad", function="sin_sum", test_id="grad_value[numpy-float64-sin_sum]",
                               status="fail", max_abs_err=float("nan"), max_rel_err=float("inf"),
                               tolerance={"rtol": 1e-6, "atol": 0.0, "reason": "float64"}, tolerance_used=2.5,
                               duration_s=0.25, message="off", reproducer="pytest ...", details={"inputs": {"x": 1}})


def test_records_written_are_valid_and_read_back_the_same() -> None:
    doc = results.new_document(results.run_header(command=["x"]))
    doc["checks"] = [_check().to_json()]
    doc["run"][results.FUNCTION_TABLE_KEY] = [results.FunctionRow("fn_atan2", "atan2", "elementwise", True,
                                                                  True).to_json()]
    doc = json.loads(json.dumps(doc, allow_nan=False))  # as the file holds it: "nan", "inf"
    assert schema.problems(doc) == []
    again = results.CheckRecord.from_json(doc["checks"][0])
    assert again.to_json() == doc["checks"][0]
    assert results.recorded_function_table(doc["run"]) == [results.FunctionRow("fn_atan2", "atan2", "elementwise",
                                                                                True, True)]


def test_what_the_schema_allows_beyond_the_record_reads_as_the_records_type() -> None:
    """A null duration, a missing variant or device (older and hand-made files): read, typed, never raised."""
    minimal = {"backend": "numpy", "spec": "s", "transform": "grad", "function": "f", "test_id": "t",
               "status": "pass", "duration_s": None, "max_abs_err": None, "tolerance": None}
    assert schema.problems({"schema": results.SCHEMA, "schema_version": results.SCHEMA_VERSION,
                            "run": {"id": "r"}, "checks": [minimal]}) == []
    record = results.CheckRecord.from_json(minimal)
    assert (record.device, record.variant, record.duration_s, record.max_abs_err, record.details) == ("", "", 0.0,
                                                                                                       None, {})
    assert results.recorded_function_table({"id": "r"}) is None, "an older file: the table was not recorded"


def test_every_field_of_a_new_document_is_in_the_schema() -> None:
    """The document the writers start from has only fields the schema declares (it allows no others)."""
    doc = results.new_document(results.run_header(command=["x"]))
    assert set(doc) <= set(SCHEMA["properties"]), sorted(set(doc) - set(SCHEMA["properties"]))
    assert set(SCHEMA["required"]) <= set(doc)
