"""A run's results document: its typed records, its header, an empty document, counts.

The shape is ``docs/results-schema.md`` (and ``docs/results-schema.json``); the statuses a record may carry are
:data:`conformance.contract.STATUSES`.  The records are dataclasses, written with ``to_json`` and read back with
``from_json``, so that the writers (the plugin, the runner, the command line) and the readers (the report) share
one definition of each field; ``tests/test_results_records.py`` holds them and the JSON Schema to the same fields
and types.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.contract import PROJECT_ROOT, STATUSES

SCHEMA = "transform-conformance/results"
SCHEMA_VERSION = 1


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
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckRecord:
        """The record a results file holds (``$defs.check``), read back for the report.

        Reading does not judge: the schema check before it does (``conformance.store.schema``), and the report audits
        what it reads and warns, so an unknown status is kept as it is rather than raised here.  A field the file
        lacks (``library_version`` in a hand-made file, ``variant`` in an older one) takes its empty value, and the
        strict-JSON spellings of non-finite floats (``"nan"``, ``"inf"``) become floats again.
        """
        record = cls.__new__(cls)
        for field in dataclasses.fields(cls):
            value = data.get(field.name)
            if field.name in _NUMBERS:
                value = _number(value)
            elif field.name in _MAPPINGS:
                value = value if isinstance(value, dict) else None
            elif value is not None:
                value = str(value)
            if value is None and field.name not in _NULLABLE:
                value = ("" if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
                         else field.default if field.default_factory is dataclasses.MISSING
                         else field.default_factory())
            setattr(record, field.name, value)
        return record


# How :meth:`CheckRecord.from_json` reads each field, from the record's own annotations (strings here: this module
# has ``from __future__ import annotations``), so that a field added to the record is read by its type.
_NUMBERS = frozenset(f.name for f in dataclasses.fields(CheckRecord) if str(f.type).startswith("float"))
_MAPPINGS = frozenset(f.name for f in dataclasses.fields(CheckRecord) if str(f.type).startswith("dict"))
_NULLABLE = frozenset(f.name for f in dataclasses.fields(CheckRecord) if str(f.type).endswith("| None"))


def _number(value: Any) -> float | None:
    """A float from a results value (``"nan"``, ``"inf"`` and ``"-inf"`` included), None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class FunctionRow:
    """One row of the battery's function table (:mod:`conformance.battery.functions`), as a run records it.

    The run writes the whole table into its header (``run.function_table``), so that the report lists every
    function of the standard, checked or not, from the results alone: it never imports the catalog (which imports
    NumPy and the battery's machinery), and a report of an older run shows the table that run had.
    """

    entry: str
    """The catalog entry's name, which the checks of the ``fn_*`` specs carry as ``function`` (``fn_atan2``)."""
    name: str
    """The standard's name (``atan2``, ``linalg.solve``, ``logsumexp (composition)``)."""
    category: str
    """The report's section: ``elementwise``, ``reduction``, ``linalg`` or ``manipulation``."""
    hessian: bool
    """``fn_hessian`` applies (twice differentiable, not linear in the first argument)."""
    hessian_joint: bool
    """``fn_hessian_joint`` applies (two or more arguments, a joint Hessian that is not zero)."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FunctionRow:
        return cls(entry=str(data.get("entry", "")), name=str(data.get("name", "")),
                   category=str(data.get("category", "")), hessian=bool(data.get("hessian")),
                   hessian_joint=bool(data.get("hessian_joint")))


FUNCTION_TABLE_KEY = "function_table"
"""Where in the run header the function table travels (``$defs.run.properties.function_table``)."""


def recorded_function_table(header: Mapping[str, Any]) -> list[FunctionRow] | None:
    """The function table a run header carries, or None when the run did not record one (an older file)."""
    rows = header.get(FUNCTION_TABLE_KEY)
    if not isinstance(rows, list):
        return None
    return [FunctionRow.from_json(row) for row in rows if isinstance(row, dict)]


def jsonable(obj: Any) -> Any:
    """Plain JSON types only; non-finite floats become strings so the file stays strict JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return repr(obj)
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        try:
            return jsonable(obj.item())
        except (TypeError, ValueError):
            pass
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
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
        "revision": revision(),
        **extra,
    }


SOURCE_DIRS = ("conformance", "backends")
"""What decides a check's result besides the libraries: the specs, the runner, the backends, the manifests."""


def source_hash(root: Path = PROJECT_ROOT) -> str:
    """sha256 over the project's source files (path and bytes, in path order).

    The merge compares this, not only the git commit: a CI job runs from a clean
    checkout, but a developer's machine may run uncommitted edits, and a hash of
    what ran is the same on every machine that ran the same code.
    """
    digest = hashlib.sha256()
    for top in SOURCE_DIRS:
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".py", ".toml", ".json") or "__pycache__" in path.parts or not path.is_file():
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def revision(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The code that ran: the git commit when there is one, and the hash of the source (see :func:`source_hash`)."""
    commit = None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
        commit = done.stdout.strip() or None if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git": commit, "source_sha256": source_hash(root), "battery_commits": battery_commits(root)}


def battery_commits(root: Path = PROJECT_ROOT) -> list[str] | None:
    """The commits up to HEAD that touched :data:`conformance.contract.BATTERY_PATHS`, newest first (at most
    :data:`~conformance.contract.BATTERY_HISTORY`), or None without git: the report tells from them how stale a
    false-alarm figure measured at an older revision is, without running git itself."""
    from conformance.contract import BATTERY_HISTORY, BATTERY_PATHS

    try:
        done = subprocess.run(["git", "-C", str(root), "log", f"--max-count={BATTERY_HISTORY}", "--format=%H", "HEAD",
                               "--", *BATTERY_PATHS], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.split() if done.returncode == 0 else None


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


def summarize(checks: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Counts of statuses per backend."""
    counts: dict[str, dict[str, int]] = {}
    for c in checks:
        row = counts.setdefault(c["backend"], dict.fromkeys(STATUSES, 0))
        row[c["status"]] += 1
    return counts

