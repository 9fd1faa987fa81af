"""The results store: schema, atomic writer, incremental log, reader and merger.

One run writes one JSON document (see ``docs/results-schema.md``)::

    {"schema": "transform-conformance/results", "schema_version": 1,
     "interrupted": false, "interrupted_reason": "",
     "run": {...header...}, "backends": {name: environment},
     "checks": [CheckRecord...], "claims": [ClaimRecord...], "articles": [...]}

Backend processes append one JSON line per finished check to a ``.jsonl``
log (flushed each time), so a crash loses at most the check in flight; the
runner then merges the logs into the run document, which is written to a
temporary file and renamed, so a reader never sees a truncated file.  The
names shared by the runner, the plugin and the command line (statuses, the
set that fails the gate, where results and logs live) are defined here once.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA = "transform-conformance/results"
SCHEMA_VERSION = 1
STATUSES = ("pass", "fail", "error", "skip", "xfail", "xpass")
UNEXPECTED = ("fail", "error", "xpass")
"""The statuses that fail the gate: a verdict of non-conformance, no verdict, or a deviation that went away."""

RESULTS_DIR = Path("reports") / "results"
"""Where runs write ``run-<id>.json``, relative to the working directory."""
PARTIAL_DIR = RESULTS_DIR / ".partial"
"""Where a run keeps its shards' logs (``.partial/<id>/``) until they are merged; ``--resume`` reads them."""


@dataclasses.dataclass
class CheckRecord:
    """One check: a spec run on one backend, dtype and catalog function."""

    backend: str
    library_version: str
    device: str
    dtype: str
    spec: str
    transform: str
    function: str
    test_id: str
    status: str
    variant: str = ""
    """The spec's extra parameter (e.g. one in_dims choice); "" when the spec has none."""
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    tolerance: dict[str, Any] | None = None
    """``{"rtol": .., "atol": .., "reason": ..}`` as used, or None for tolerance-free checks."""
    tolerance_used: float | None = None
    """Worst ``max|a - e| / (atol + rtol max|e|)`` over the check's comparisons: above 1 fails."""
    duration_s: float = 0.0
    message: str = ""
    reproducer: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Spec-specific evidence: observed values at kinks, layouts read, fitted orders."""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")

    def to_json(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


def _jsonable(obj: Any) -> Any:
    """Plain JSON types only; non-finite floats become strings so the file stays strict JSON."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return repr(obj)
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        try:
            return _jsonable(obj.item())
        except (TypeError, ValueError):
            pass
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    return repr(obj)


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def run_header(command: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """Where and how a run happened, for the report's environment page."""
    return {
        "id": _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}",
        "started": now(),
        "finished": None,
        "command": command if command is not None else [sys.executable, *sys.argv],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "processor_count": os.cpu_count(),
        **extra,
    }


def new_document(header: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "interrupted": False,
        "interrupted_reason": "",
        "run": header,
        "backends": {},
        "checks": [],
        "claims": [],
        "articles": [],
        "documents": [],
    }


def write_atomic(path: str | os.PathLike[str], document: dict[str, Any]) -> Path:
    """Write JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_jsonable(document), fh, indent=1, ensure_ascii=False, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


class JsonlLog:
    """Append-only log of records, one JSON object a line, flushed after each."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, kind: str, payload: dict[str, Any]) -> None:
        self._fh.write(json.dumps({"kind": kind, **_jsonable(payload)}, ensure_ascii=False, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Records of a log; a last line cut by a crash is skipped, not fatal."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class SchemaError(ValueError):
    pass


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a results document, checking its schema name and version."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if doc.get("schema") != SCHEMA:
        raise SchemaError(f"{path}: schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise SchemaError(
            f"{path}: schema_version {doc.get('schema_version')!r} is not supported (this code reads {SCHEMA_VERSION})"
        )
    for key in ("run", "backends", "checks", "claims", "articles", "documents"):
        doc.setdefault(key, {} if key in ("run", "backends") else [])
    doc.setdefault("interrupted", False)  # files written before the field existed were always complete
    doc.setdefault("interrupted_reason", "")
    return doc


def merge(documents: Iterable[dict[str, Any]], header: dict[str, Any]) -> dict[str, Any]:
    """Combine partial documents of one run (one per backend, plus claims) into one."""
    out = new_document(header)
    for doc in documents:
        if doc.get("interrupted"):
            out["interrupted"] = True
            out["interrupted_reason"] = out["interrupted_reason"] or doc.get("interrupted_reason", "")
        out["backends"].update(doc.get("backends", {}))
        out["checks"].extend(doc.get("checks", []))
        out["claims"].extend(doc.get("claims", []))
        out["articles"].extend(doc.get("articles", []))
        out["documents"].extend(doc.get("documents", []))
    return out


def summarize(checks: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Counts of statuses per backend."""
    counts: dict[str, dict[str, int]] = {}
    for c in checks:
        row = counts.setdefault(c["backend"], dict.fromkeys(STATUSES, 0))
        row[c["status"]] += 1
    return counts
