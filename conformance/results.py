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
import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from conformance import outputs

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
        "revision": revision(),
        **extra,
    }


PROJECT_ROOT = Path(__file__).resolve().parents[1]
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
    return {"git": commit, "source_sha256": source_hash(root)}


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


def checks_digest(checks: Iterable[dict[str, Any]]) -> str:
    """sha256 over the canonical JSON of a checks list (sorted keys, no spaces, strict JSON).

    Written next to the checks (``checks_sha256``) whenever a results document is written, and verified by
    ``merge``: a shard whose checks were deleted, flipped or relabelled after the run no longer matches, so it
    cannot slip into a merged document as if it had run that way.  An integrity check, not a signature: whoever
    edits the checks can recompute it, but no edit goes unnoticed by accident.
    """
    text = json.dumps(_jsonable(list(checks)), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_digest(document: dict[str, Any], name: str) -> None:
    """Raise :class:`MergeError` unless ``document``'s checks match the ``checks_sha256`` written with them."""
    stored = document.get("checks_sha256")
    if stored is None:
        raise MergeError(f"{name}: no checks_sha256 digest (written by an older version of the tool, or the field "
                         "was removed): rerun that shard with this version")
    if stored != checks_digest(document.get("checks", [])):
        raise MergeError(f"{name}: its checks do not match their checks_sha256 digest (checks were deleted, changed "
                         "or relabelled after the run wrote the file): rerun that shard instead of editing it")


def write_atomic(path: str | os.PathLike[str], document: dict[str, Any], *, kept: str = "",
                 resume: str = "") -> Path:
    """Write JSON to ``path`` through a temporary file and a rename (see :func:`conformance.outputs.write_atomic`).

    A results document (``"schema"`` is :data:`SCHEMA`) gets its ``checks_sha256`` digest here, so that every
    writer of results files records it.  A failed write (disk full...) raises
    :class:`conformance.outputs.OutputError` naming what was ``kept`` and how to ``resume``.
    """
    data = _jsonable(document)
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
        self._fh.write(json.dumps({"kind": kind, **_jsonable(payload)}, ensure_ascii=False, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a log, one a line; a line cut by a crash (or not an object at all) is skipped.

    Readers that act on a record's fields check them (:func:`conformance.schema.log_record_problem`), and
    ``--resume`` refuses a tampered log with its line before any of them runs
    (:func:`conformance.preflight.resume_files`).
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
    (:mod:`conformance.schema`), so a tampered or foreign file stops as ``file:line: $.path: problem (fix)``
    before the command reads a field of the wrong type (``merge`` and ``--shard-costs`` ask for it; the
    report runs the same check with its own wording).
    """
    from conformance import schema

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


# -- merging runs of many machines ---------------------------------------------------------------------

class MergeError(ValueError):
    """Results files that are not parts of one run: mixed code, options or library versions, or repeated checks."""


_SAME_RUN = (("profile", "the hypothesis profile (--profile)"),
             ("hypothesis_seed", "the hypothesis seed (pass the same --seed to every shard)"))


def _check_key(check: dict[str, Any]) -> tuple[str, str]:
    return check["backend"], check["test_id"]


def merge_runs(documents: list[dict[str, Any]], names: list[str], *, allow_partial: bool = False) -> dict[str, Any]:
    """One document from the results of several machines (shards of one run), or :class:`MergeError`.

    Refuses files whose code differs (``run.revision.source_sha256``), whose
    profile or seed differ, whose copy of a backend is another library version,
    or that both hold one check: a merged document must read as one run, or a
    report built from it would show a column no machine ran.  Known-deviation
    drift records are the exception: every shard finds the same drift, so one
    copy of each identical record is kept.  With shards recorded, a missing
    shard is refused too, unless ``allow_partial``.
    """
    if not documents:
        raise MergeError("nothing to merge (give two or more results files)")
    revisions = {}
    for doc, name in zip(documents, names, strict=True):
        rev = (doc["run"].get("revision") or {}).get("source_sha256")
        if not rev:
            raise MergeError(f"{name}: no code revision recorded in run.revision (rerun it with this version of "
                             "the tool, which records one)")
        revisions.setdefault(rev, []).append(name)
    if len(revisions) > 1:
        parts = "; ".join(f"{rev[:12]}: {', '.join(files)}" for rev, files in revisions.items())
        raise MergeError(f"the files ran different code ({parts}): rerun every shard from one commit")
    first = documents[0]["run"]
    for key, what in _SAME_RUN:
        values = {json.dumps(d["run"].get(key)) for d in documents}
        if len(values) > 1:
            raise MergeError(f"the files differ in {what}: {', '.join(sorted(values))}")
    _check_shards(documents, names, allow_partial)

    header = {k: v for k, v in first.items() if k not in ("shard", "duration_s", "resume")}
    header["id"] = "merged-" + hashlib.sha256("".join(sorted(d["run"].get("id", "") for d in documents))
                                                  .encode()).hexdigest()[:12]
    header["merged_from"] = [{"file": name, "id": d["run"].get("id"), "shard": d["run"].get("shard"),
                              "platform": d["run"].get("platform"), "duration_s": d["run"].get("duration_s")}
                             for d, name in zip(documents, names, strict=True)]
    durations = [d["run"].get("duration_s") for d in documents if isinstance(d["run"].get("duration_s"), (int, float))]
    header["duration_s"] = max(durations) if durations else None
    out = new_document(header)
    owner: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for doc, name in zip(documents, names, strict=True):
        if doc.get("interrupted"):
            out["interrupted"] = True
            out["interrupted_reason"] = out["interrupted_reason"] or f"{name}: {doc.get('interrupted_reason', '')}"
        for backend, env in doc.get("backends", {}).items():
            _merge_backend(out["backends"], backend, env, name)
        for check in doc.get("checks", []):
            key = _check_key(check)
            if key in owner:
                other, seen = owner[key]
                if check.get("spec") == "manifest" and seen == check:
                    continue
                raise MergeError(f"{other} and {name} both hold check {key[1]} of backend {key[0]}: each check must "
                                 "come from one shard (did two jobs run the same --shard, or one file go in twice?)")
            owner[key] = (name, check)
            out["checks"].append(check)
        out["claims"].extend(doc.get("claims", []))
        out["articles"].extend(doc.get("articles", []))
        out["documents"].extend(doc.get("documents", []))
    return out


def _check_shards(documents: list[dict[str, Any]], names: list[str], allow_partial: bool) -> None:
    """Each run's shards once, all of them, split the same way; a run is one set of backends.

    A CI matrix runs each backend's shards as separate jobs (``--backend jax --shard 1/2``),
    so shard ``1/2`` of jax and shard ``1/2`` of torch are different parts: shards are
    counted per set of backends.
    """
    runs: dict[tuple[str, ...], list[tuple[str | None, str]]] = {}
    for d, name in zip(documents, names, strict=True):
        key = tuple(sorted((d["run"].get("options") or {}).get("backends") or d.get("backends", {})))
        runs.setdefault(key, []).append((d["run"].get("shard"), name))
    for backends, shards in runs.items():
        what = "+".join(backends)
        given = [(s, n) for s, n in shards if s]
        if not given:
            if len(shards) > 1:
                names_ = ", ".join(n for _, n in shards)
                raise MergeError(f"{names_}: each ran all of {what}, so they hold the same checks (merge shards "
                                 "of one run; compare separate runs as report columns instead)")
            continue
        if len(given) < len(shards):
            plain = [n for s, n in shards if not s]
            raise MergeError(f"{', '.join(plain)}: not a shard, while other files of {what} are (merge one run's "
                             "shards)")
        counts = {s.split("/")[1] for s, _ in given}
        if len(counts) > 1:
            raise MergeError(f"the files of {what} split the battery differently (--shard K/N with N in "
                             f"{sorted(counts)}): give every job the same N")
        seen: dict[str, str] = {}
        for s, name in given:
            if s in seen:
                raise MergeError(f"{seen[s]} and {name} are both shard {s} of {what} (each shard once)")
            seen[s] = name
        count = int(counts.pop())
        missing = [f"{k}/{count}" for k in range(1, count + 1) if f"{k}/{count}" not in seen]
        if missing and not allow_partial:
            raise MergeError(f"shard(s) {', '.join(missing)} of {what} missing: their checks would be absent from "
                             "the report (add their files, or --allow-partial to merge what there is)")


def _merge_backend(backends: dict[str, Any], name: str, env: dict[str, Any], source: str) -> None:
    """One backend's environment across shards: one library version, every process's trouble."""
    if name not in backends:
        backends[name] = {**env, "sources": [source]}
        return
    have = backends[name]
    if have.get("version") != env.get("version"):
        raise MergeError(f"{', '.join(have['sources'])} ran {name} {have.get('version')}, {source} ran "
                         f"{name} {env.get('version')}: one document holds one version of each library (merge each "
                         "version's shards apart; the report shows each merged file as a column)")
    have["sources"].append(source)
    a, b = have.get("process") or {}, env.get("process") or {}
    causes = [c for c in (a.get("cause"), b.get("cause")) if c]
    codes = [c for c in (a.get("returncode"), b.get("returncode")) if c is not None]
    have["process"] = {"returncode": max(codes, key=lambda c: (c not in (0, 1, 5), c)) if codes else None,
                       "cause": "; ".join(dict.fromkeys(causes)),
                       "restarts": int(a.get("restarts", 0)) + int(b.get("restarts", 0))}
