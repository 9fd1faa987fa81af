"""Validate every input file a command will read, before any process starts (``python -m conformance ...``).

A mistake in a manifest or a claims file (or a ``--device`` a backend does not have) used to surface late: inside each battery child process (the same error
once per shard), or after every snippet had run.  :func:`check` runs the input checks registered for the command,
prints every problem once as ``file:line: problem (fix)``, and tells the caller to exit with status 2 before any
work starts.  Checks register themselves per command with :func:`for_commands`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from conformance.inputs.validation import InputError

Check = Callable[[argparse.Namespace, Sequence[str]], list[str]]
CHECKS: dict[str, list[Check]] = {}
"""Input checks by command name; each returns formatted problem lines (empty when all is well)."""


def for_commands(*commands: str) -> Callable[[Check], Check]:
    """Register an input check for ``commands``."""

    def register(check: Check) -> Check:
        for command in commands:
            CHECKS.setdefault(command, []).append(check)
        return check

    return register


def _problems(load: Callable[[], object]) -> list[str]:
    try:
        load()
    except InputError as exc:
        return exc.messages
    return []


@for_commands("run", "all")
def manifests(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """The built-in manifest of every selected backend and every ``--manifest`` file that exists.

    A ``--manifest`` that does not exist is left to the command's own usage check, which says so.
    """
    from conformance.inputs import manifest

    extra = [Path(m) for m in getattr(args, "manifest", None) or [] if Path(m).is_file()]
    paths: dict[Path, None] = {}
    for name in getattr(args, "backends", None) or default_backends:
        paths.update(dict.fromkeys(manifest.paths_for(name)))
    paths.update(dict.fromkeys(extra))
    return [line for path in paths for line in _problems(lambda p=path: manifest.validate(p))]


DEVICE_PROBE_TIMEOUT = 300.0
"""Seconds one backend's device probe may take (it imports the library, seconds for torch or jax)."""

_PROBE = """
import sys
from backends.base import DeviceUnavailable, load_backend
try:
    backend = load_backend(sys.argv[1])
    backend.setup()
except Exception:
    sys.exit(0)  # a backend that does not load is the run's to report, check by check, as without --device
try:
    backend.use_device(sys.argv[2])
except DeviceUnavailable as exc:
    print(exc)
    sys.exit(3)
"""


def _run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--resume``: the interrupted run's own settings (its device and backends); {} when unreadable."""
    try:
        return dict(json.loads((Path(args.resume) / "run.json").read_text(encoding="utf-8"))["settings"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return {}  # resume_files says what is wrong with it


@for_commands("run", "all")
def device(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """``--device``: every selected backend must have it, asked once per backend before any shard starts.

    Each backend is asked in a spawned interpreter, all at once: this process stays free of torch and jax
    (a fork after importing them can deadlock), and a library that hangs or crashes on import cannot take
    the command line down.  Without the probe a missing device would fail in every shard, check by check.
    """
    if getattr(args, "resume", None) and getattr(args, "device", None):
        return []  # --resume takes the run's own options: the command refuses a --device given with it
    saved = _run_settings(args) if getattr(args, "resume", None) else {}
    name = getattr(args, "device", None) or saved.get("device")
    if not name:
        return []
    backends = list(getattr(args, "backends", None) or saved.get("backends") or default_backends)
    probes = {b: subprocess.Popen([sys.executable, "-c", _PROBE, b, str(name)], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True) for b in dict.fromkeys(backends)}
    problems = []
    for backend, proc in probes.items():
        try:
            out, _ = proc.communicate(timeout=DEVICE_PROBE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            problems.append(f"--device {name}: backend {backend!r} did not answer within {DEVICE_PROBE_TIMEOUT:g} s "
                            f"whether it has that device (run without --device to see how it behaves)")
            continue
        if proc.returncode == 3:
            problems.append(f"--device {name}: {out.strip()}")
    return problems


RUN_FILE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["header", "settings"],
    "properties": {
        "header": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}}},
        "out": {"type": ["string", "null"]},
        "settings": {
            "type": "object",
            "required": ["backends", "profile", "manifests", "check_timeout", "backend_timeout"],
            "properties": {
                "backends": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                "profile": {"enum": ["ci", "thorough"]},
                "seed": {"type": ["integer", "null"]},
                "keyword": {"type": ["string", "null"]},
                "manifests": {"type": "array", "items": {"type": "string"}},
                "check_timeout": {"type": "number", "minimum": 0.1, "maximum": 1e6},
                "backend_timeout": {"type": "number", "minimum": 0.1, "maximum": 1e6},
                "jobs": {"type": "integer", "minimum": 1},
                "split": {"type": "integer", "minimum": 1},
                "per_dtype": {"type": "integer", "minimum": 0},
                "shard": {"type": ["string", "null"], "pattern": "^[0-9]+/[0-9]+$"},
                "shard_costs": {"type": ["string", "null"]},
                "device": {"type": ["string", "null"]},
                "checks": {"enum": [None, "cover", "all"]},
            },
        },
    },
}
"""What ``--resume`` reads from ``.partial/<id>/run.json`` (written by the run it finishes)."""
RESUME_FIX = "restore the file the run wrote, or start the run afresh without --resume"


def _run_file_problems(run_file: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The run file's settings and every problem of it, as ``file:line: problem (fix)``."""
    import jsonschema

    from conformance.run.runner import BadKeyword, check_keyword
    from conformance.store import results, schema

    try:
        text = results.read_text(run_file)
        data = results.parse_json(text, run_file)
    except OSError as exc:
        return None, [f"{run_file}:1: cannot read it ({exc.strerror or exc}) ({RESUME_FIX})"]
    except results.SchemaError as exc:
        return None, [str(exc)]
    found = [(tuple(e.absolute_path), schema.json_path(e.absolute_path), e.message[:200])
             for e in jsonschema.Draft202012Validator(RUN_FILE_SCHEMA).iter_errors(data)]
    if not found:
        from backends.base import resolve_backend_target

        settings = data["settings"]
        for i, name in enumerate(settings["backends"]):
            try:
                resolve_backend_target(name)
            except LookupError as exc:
                found.append((("settings", "backends", i), f"$.settings.backends[{i}]", str(exc)))
        try:
            check_keyword(settings.get("keyword"))
        except BadKeyword as exc:
            found.append((("settings", "keyword"), "$.settings.keyword", str(exc)))
    if not found:
        return data["settings"], []
    lines = schema.value_lines(text, [path for path, _, _ in found])
    out = []
    for path, where, what in found:
        line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), 1)
        out.append(f"{run_file}:{line}: {where}: {what} ({RESUME_FIX})")
    return None, out


def _log_problems(log: Path) -> list[str]:
    """Every line of a shard log that parses as JSON but is no record the runner can use.

    A line that is not JSON at all is what a crash mid-write leaves (the next process appends after it), so
    it is skipped as before; a JSON value of the wrong shape was put there by something else.
    """
    from conformance.store.schema import log_record_problem

    problems = []
    try:
        with open(log, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                except RecursionError:
                    problems.append(f"{log}:{number}: nested too deeply to be a log record ({RESUME_FIX}, or delete "
                                    "the line to rerun its check)")
                    continue
                if (why := log_record_problem(record)) is not None:
                    problems.append(f"{log}:{number}: {why} (the log was edited: delete the line to rerun its "
                                    f"check, or {RESUME_FIX})")
                if len(problems) >= 20:
                    problems.append(f"{log}: ... further lines not checked")
                    break
    except OSError as exc:
        problems.append(f"{log}:1: cannot read it ({exc.strerror or exc}) ({RESUME_FIX})")
    return problems


@for_commands("run", "all")
def resume_files(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """``--resume DIR``: the run file and every shard log, checked before any of them is trusted.

    A tampered line used to surface as a traceback in the runner, and a run file naming other backends than
    its logs silently dropped the finished checks; each is now a ``file:line: problem (fix)`` line.  A
    directory without a run file is left to the command's own check, which says so.
    """
    from conformance.run.runner import log_names, saved_per_dtype

    if not getattr(args, "resume", None):
        return []
    own = ("backends", "profile", "seed", "keyword", "manifest", "check_timeout", "label", "shard", "shard_costs",
           "device", "checks")
    if any(getattr(args, name, None) not in (None, [], False) for name in own):
        return []  # --resume takes the run's own options: the command refuses these first, in one line
    work_dir = Path(args.resume)
    run_file = work_dir / "run.json"
    if not run_file.is_file():
        return []
    settings, problems = _run_file_problems(run_file)
    logs = sorted(work_dir.glob("*.jsonl"))
    if settings is not None:
        expected = log_names(settings["backends"], saved_per_dtype(settings), int(settings.get("split") or 1))
        for log in logs:
            if log.stem not in expected:
                problems.append(f"{log}:1: the log of a shard this run does not have (run.json names backends "
                                f"{', '.join(settings['backends'])}): resuming would drop its finished checks "
                                f"({RESUME_FIX})")
    for log in logs:
        problems += _log_problems(log)
    return problems


@for_commands("all")
def shipped_claims(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """The shipped article's claims file, quotes and snippets included (``all`` checks it after the battery)."""
    from conformance.claims.article.claims import load
    from conformance.claims.article.cli import SHIPPED_CLAIMS

    return _problems(lambda: load(SHIPPED_CLAIMS))


@for_commands("check-article")
def claims(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """The claims file given on the command line, anchored in the article given there."""
    from conformance.claims.article.claims import load

    if not Path(args.claims).is_file():
        return [f"{args.claims}: claims file does not exist"]
    if not Path(args.article).is_file():
        return [f"{args.article}: article file does not exist"]
    return _problems(lambda: load(args.claims, article=args.article))


def check(args: argparse.Namespace, default_backends: Sequence[str], stream: TextIO | None = None) -> int | None:
    """Run the checks of ``args.command``; print every problem once and return 2, or None when all is well."""
    problems: list[str] = []
    for run in CHECKS.get(getattr(args, "command", ""), []):
        problems += run(args, default_backends)
    if not problems:
        return None
    out = stream or sys.stderr
    for line in dict.fromkeys(problems):
        print(line, file=out)
    print(f"error: {len(problems)} problem(s) in the input; nothing was run", file=out)
    return 2
