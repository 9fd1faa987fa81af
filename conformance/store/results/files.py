"""Results files on disk: the atomic writer with its digest, a shard's append-only log, strict readers.

A results document is written to a temporary file and renamed (:func:`write_atomic`), so a reader never sees a
truncated file; a shard appends one JSON line per record to its log (:class:`JsonlLog`), flushed each time, so
a crash loses at most the check in flight.  Every reader turns a bad file into a one-line :class:`SchemaError`
naming the file and line, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from conformance.store import outputs
from conformance.store.results.document import SCHEMA, SCHEMA_VERSION, jsonable


def checks_digest(checks: Iterable[dict[str, Any]]) -> str:
    """sha256 over the canonical JSON of a checks list (sorted keys, no spaces, strict JSON).

    Written next to the checks (``checks_sha256``) whenever a results document is written, and verified by
    ``merge``: a shard whose checks were deleted, flipped or relabelled after the run no longer matches, so it
    cannot slip into a merged document as if it had run that way.  An integrity check, not a signature: whoever
    edits the checks can recompute it, but no edit goes unnoticed by accident.
    """
    text = json.dumps(jsonable(list(checks)), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_atomic(path: str | os.PathLike[str], document: dict[str, Any], *, kept: str = "",
                 resume: str = "") -> Path:
    """Write JSON to ``path`` through a temporary file and a rename (see :func:`conformance.store.outputs.write_atomic`).

    A results document (``"schema"`` is :data:`SCHEMA`) gets its ``checks_sha256`` digest here, so that every
    writer of results files records it.  A failed write (disk full...) raises
    :class:`conformance.store.outputs.OutputError` naming what was ``kept`` and how to ``resume``.
    """
    data = jsonable(document)
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        data["checks_sha256"] = checks_digest(data.get("checks", []))
        if isinstance(document, dict):
            document["checks_sha256"] = data["checks_sha256"]
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return outputs.write_atomic(path, text, kept=kept, resume=resume)


class JsonlLog:
    """Append-only log of records, one JSON object a line, flushed after each."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, kind: str, payload: dict[str, Any]) -> None:
        self._fh.write(json.dumps({"kind": kind, **jsonable(payload)}, ensure_ascii=False, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a log, one a line; a line cut by a crash (or not an object at all) is skipped.

    Readers that act on a record's fields check them (:func:`conformance.store.schema.log_record_problem`), and
    ``--resume`` refuses a tampered log with its line before any of them runs
    (:func:`conformance.run.preflight.resume_files`).
    """
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(record, dict):
                yield record


class SchemaError(ValueError):
    pass


MAX_DEPTH_NOTE = "nested too deeply to be a file this tool wrote"


def parse_json(text: str, where: str | os.PathLike[str]) -> Any:
    """``json.loads`` whose every failure is a one-line :class:`SchemaError` naming ``where`` and the line.

    A file nested thousands of levels deep makes the decoder recurse until Python's limit: that is a
    bad file, not a crash of the tool.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg} (fix the file, or rerun the command "
                          "that wrote it)") from None
    except RecursionError:
        raise SchemaError(f"{where}:1: {MAX_DEPTH_NOTE} (the files it writes are a few levels deep: this one was "
                          "not written by the tool; rerun the command that should have written it)") from None


def read_text(path: str | os.PathLike[str]) -> str:
    """A JSON file's text; one that is not UTF-8 is a SchemaError (OSError is left to the caller)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}:1: not UTF-8 text ({exc.reason} at byte {exc.start}) (give a file written "
                          "by the tool)") from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read and parse a JSON file; non-UTF-8, invalid or absurdly nested text is a SchemaError."""
    return parse_json(read_text(path), path)


def load(path: str | os.PathLike[str], *, check_shape: bool = False) -> dict[str, Any]:
    """Read a results document, checking its schema name and version (and with ``check_shape``, every field).

    Invalid, non-UTF-8 or absurdly nested text is a :class:`SchemaError` naming the file and line, never a
    traceback.  ``check_shape`` checks the whole document against ``docs/results-schema.json``
    (:mod:`conformance.store.schema`), so a tampered or foreign file stops as ``file:line: $.path: problem (fix)``
    before the command reads a field of the wrong type (``merge`` and ``--shard-costs`` ask for it; the
    report runs the same check with its own wording).
    """
    from conformance.store import schema

    path = Path(path)
    text = read_text(path)
    doc = parse_json(text, path)
    if not isinstance(doc, dict):
        raise SchemaError(f"{path}:1: not a results document: the top level is {schema.json_kind(doc)}, not an "
                          "object (give a results file written by the tool)")
    if doc.get("schema") != SCHEMA:
        raise SchemaError(f"{path}: schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise SchemaError(
            f"{path}: schema_version {doc.get('schema_version')!r} is not supported (this code reads {SCHEMA_VERSION})"
        )
    found = schema.located_problems(doc, path, text) if check_shape else []
    if found:
        raise SchemaError("\n".join(found))
    for key in ("run", "backends", "checks", "claims", "articles", "documents"):
        doc.setdefault(key, {} if key in ("run", "backends") else [])
    doc.setdefault("interrupted", False)  # files written before the field existed were always complete
    doc.setdefault("interrupted_reason", "")
    return doc
