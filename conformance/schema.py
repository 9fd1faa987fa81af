"""Validate a results document against its JSON Schema (``docs/results-schema.json``) before the report reads it.

The report's pages are written by a Sphinx extension; a results file with a wrong field type used to crash inside
it, under Sphinx's own banner, with no hint of which file or field.  Checking the whole document against the schema
first turns that into ``FILE: $.checks[3].status: problem`` lines, every problem of the file at once.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "results-schema.json"
MAX_PROBLEMS = 20
"""Problems listed per file; a file of the wrong shape can break thousands of records the same way."""


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every local ``{"$ref": "#/$defs/x"}`` replaced by the definition itself.

    The schema file keeps ``$defs`` for readers; validating with them inlined is about twice as fast (no reference
    lookups per record, and a results file holds thousands of records).  The schema has no recursive definitions.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [inline_refs(v, defs) for v in node]
    return node


@functools.lru_cache(maxsize=1)
def validator() -> jsonschema.protocols.Validator:
    """The schema's validator, built once per process."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(inline_refs(schema, schema.get("$defs", {})))


def json_path(path: Any) -> str:
    """``$.checks[3].status`` from a jsonschema error path."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if str(part).isidentifier() else f"[{part!r}]"
    return out


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(error: jsonschema.ValidationError) -> str:
    """One failure in words: what was expected there and what the file holds."""
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return f"expected {expected}, got {_shown(error.instance)}"
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return f"{_shown(error.instance)} is not one of {', '.join(_shown(a) for a in allowed)}"
    if error.validator == "additionalProperties":
        known = set((error.schema or {}).get("properties", {})) if isinstance(error.schema, dict) else set()
        extra = sorted(set(error.instance) - known)
        return f"unknown field(s) {', '.join(map(repr, extra))} (this report reads schema_version 1)"
    if error.validator == "anyOf" and isinstance(error.schema, dict) and error.schema.get("description"):
        return f"expected {error.schema['description']}, got {_shown(error.instance)}"
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


def problems(document: Any) -> list[str]:
    """Every way ``document`` breaks the results schema, as ``$.path: problem`` (at most :data:`MAX_PROBLEMS`)."""
    errors = sorted(validator().iter_errors(document),
                    key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path])
    out = [f"{json_path(e.absolute_path)}: {_problem(e)}" for e in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        out.append(f"... and {len(errors) - MAX_PROBLEMS} more")
    return out
