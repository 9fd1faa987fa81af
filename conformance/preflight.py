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

from conformance.validation import InputError

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
    from conformance import manifest

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
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # the command's own --resume check says what is wrong with it


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


@for_commands("all")
def shipped_claims(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """The shipped article's claims file, quotes and snippets included (``all`` checks it after the battery)."""
    from conformance.article.claims import load
    from conformance.article.cli import SHIPPED_CLAIMS

    return _problems(lambda: load(SHIPPED_CLAIMS))


@for_commands("check-article")
def claims(args: argparse.Namespace, default_backends: Sequence[str]) -> list[str]:
    """The claims file given on the command line, anchored in the article given there."""
    from conformance.article.claims import load

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
