"""Validate a results document against its JSON Schema (``docs/results-schema.json``) before the report reads it.

The report's pages are written by a Sphinx extension; a results file with a wrong field type used to crash inside
it, under Sphinx's own banner, with no hint of which file or field.  Checking the whole document against the schema
first turns that into ``FILE: $.checks[3].status: problem`` lines, every problem of the file at once.

:func:`conformance.store.results.load` runs the same check on every file it reads (``merge``, ``report``, ``--shard-costs``)
and names the line of each problem (:func:`value_lines`), and :func:`log_record_problem` holds the lines of a
shard's ``.jsonl`` log to the same record shapes, so a tampered log stops ``--resume`` with its line rather than
with a traceback halfway through.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from conformance.contract import LOG_KINDS, PROJECT_ROOT, LogKind

SCHEMA_FILE = PROJECT_ROOT / "docs" / "results-schema.json"
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


def _errors(document: Any) -> list[jsonschema.ValidationError]:
    return sorted(validator().iter_errors(document),
                  key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path])


def problems(document: Any) -> list[str]:
    """Every way ``document`` breaks the results schema, as ``$.path: problem`` (at most :data:`MAX_PROBLEMS`)."""
    errors = _errors(document)
    out = [f"{json_path(e.absolute_path)}: {_problem(e)}" for e in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        out.append(f"... and {len(errors) - MAX_PROBLEMS} more")
    return out


REWRITE_FIX = "the file was edited or written by another tool: rerun the command that wrote it"


def located_problems(document: Any, file: str | os.PathLike[str], text: str | None = None) -> list[str]:
    """:func:`problems` as ``file:line: $.path: problem (fix)``, the line found in ``text`` (read from ``file``)."""
    errors = _errors(document)
    if not errors:
        return []
    shown = errors[:MAX_PROBLEMS]
    if text is None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
    lines = value_lines(text, [tuple(e.absolute_path) for e in shown])
    out = []
    for e in shown:
        path = tuple(e.absolute_path)
        line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), 1)
        out.append(f"{file}:{line}: {json_path(path)}: {_problem(e)} ({REWRITE_FIX})")
    if len(errors) > MAX_PROBLEMS:
        out.append(f"{file}: ... and {len(errors) - MAX_PROBLEMS} more problem(s)")
    return out


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+|\s+', re.S)


def value_lines(text: str, wanted: Iterable[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    """The 1-based line where the value at each data path in ``wanted`` (and each of its ancestors) starts.

    A flat scan of the tokens with a stack of the open containers, no recursion: ``text`` is JSON that
    already parsed, and the scan only runs to explain problems, so it may be slow but never deep.
    """
    targets = {p[:n] for p in wanted for n in range(len(p) + 1)}
    found: dict[tuple[Any, ...], int] = {}
    keys: list[Any] = []
    kinds: list[str] = []
    expect_key = False
    line = 1
    for m in _TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if first.isspace():
            line += tok.count("\n")
            continue
        if first in ",:":
            if first == "," and kinds:
                if kinds[-1] == "a":
                    keys[-1] += 1
                else:
                    expect_key = True
            continue
        if first in "]}":
            kinds.pop()
            keys.pop()
            expect_key = False
            continue
        if first == '"' and kinds and kinds[-1] == "o" and expect_key:
            try:
                keys[-1] = json.loads(tok)
            except ValueError:
                keys[-1] = tok[1:-1]
            expect_key = False
            line += tok.count("\n")
            continue
        here = tuple(keys)
        if here in targets:
            found.setdefault(here, line)
        if first == "{":
            kinds.append("o")
            keys.append(None)
            expect_key = True
        elif first == "[":
            kinds.append("a")
            keys.append(0)
        line += tok.count("\n")
    return found


def json_kind(value: Any) -> str:
    """What a parsed JSON value is, for messages: ``an array``, ``a string``, ``a number``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


# -- a shard's log -------------------------------------------------------------------------------------
# The kinds of record (:data:`conformance.contract.LOG_KINDS`): the plugin writes them, the runner reads them.

_IDENTITY = {"type": "object", "required": ["test_id", "name", "spec", "transform", "function", "dtype"],
             "properties": {k: {"type": "string"} for k in
                            ("test_id", "name", "spec", "transform", "function", "dtype", "variant")}}
LOG_SCHEMAS: dict[str, dict[str, Any]] = {
    LogKind.COLLECTED: {"type": "object", "required": ["checks"],
                  "properties": {"checks": {"type": "array", "items": _IDENTITY}}},
    LogKind.START: {"type": "object", "required": ["test_id", "time"],
              "properties": {"test_id": {"type": "string"}, "nodeid": {"type": "string"},
                             "time": {"type": "number"}, "pid": {"type": "integer"}}},
    LogKind.SHARD_END: {"type": "object", "required": ["returncode", "cause"],
                  "properties": {"returncode": {"type": ["integer", "null"]}, "cause": {"type": "string"},
                                 "events": {"type": "array", "items": {"type": "string"}},
                                 "restarts": {"type": "integer", "minimum": 0}}},
}
"""The shapes of the log-only records; ``backend`` and ``check`` records are the results schema's own."""


@functools.lru_cache(maxsize=1)
def _log_validators() -> dict[str, jsonschema.protocols.Validator]:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    defs = schema.get("$defs", {})
    cls = jsonschema.validators.validator_for(schema)
    shapes = {**LOG_SCHEMAS, LogKind.BACKEND: defs["backend"], LogKind.CHECK: defs["check"]}
    return {kind: cls(inline_refs(shape, defs)) for kind, shape in shapes.items()}


def log_record_problem(record: Any) -> str | None:
    """Why one parsed log line is not a record the runner can use, or None when it is."""
    if not isinstance(record, dict):
        return f"not a log record: {json_kind(record)}, not an object"
    kind = record.get("kind")
    if kind not in LOG_KINDS:
        return f"unknown record kind {_shown(kind)} (one of {', '.join(LOG_KINDS)})"
    payload = {k: v for k, v in record.items() if k != "kind"}
    error = jsonschema.exceptions.best_match(_log_validators()[kind].iter_errors(payload))
    if error is None:
        return None
    return f"{kind} record: {json_path(error.absolute_path)}: {_problem(error)}"
