"""A run's results document: its records, its header, an empty document, counts.

The shape is ``docs/results-schema.md`` (and ``docs/results-schema.json``); the statuses a record may carry are
:data:`conformance.contract.STATUSES`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.contract import STATUSES

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


PROJECT_ROOT = Path(__file__).resolve().parents[2]
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

