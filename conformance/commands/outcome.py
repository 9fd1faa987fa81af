"""Running the battery for a command, and writing its results file: finished, interrupted, or kept for later.

:func:`run_to_file` is the one sequence ``run`` and ``all`` share: the battery, its shards' documents merged, the
command's later steps (``all``: the article, the docstrings), the results file written once, and only then the
shards' logs removed.  A results file that cannot be written (a full disk), or a later step that fails, keeps
the logs and says the ``--resume`` command that finishes the run; an interrupted battery writes what finished,
marked interrupted, and says the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance.battery import coverage
from conformance.contract import RESULTS_DIR
from conformance.run import runner
from conformance.store import outputs, results


def resume_command(command: str, work_dir: Path) -> str:
    return shlex.join(["python", "-m", "conformance", command, "--resume", str(work_dir)])


def kept_hint(command: str, work_dir: Path) -> dict[str, str]:
    """What a failed write of the results says: the logs survive, and the command that finishes the run."""
    return {"kept": f"the finished checks are kept in {work_dir}",
            "resume": f"free space (or fix the cause), then: {resume_command(command, work_dir)}"}


def battery(settings: dict[str, Any], work_dir: Path, resume: bool, command: str = "run") -> list[dict[str, Any]]:
    print(f"[battery] logs: {work_dir}", flush=True)
    try:
        return _run_battery(settings, work_dir, resume)
    except OSError as exc:  # the disk filled up under a log, the work directory went away...
        hint = kept_hint(command, work_dir)
        raise outputs.OutputError(f"{work_dir}: the battery stopped: {outputs.describe(exc)}; {hint['kept']}; "
                                  f"{hint['resume']}") from None


def _run_battery(settings: dict[str, Any], work_dir: Path, resume: bool) -> list[dict[str, Any]]:
    return runner.run_battery(
        settings["backends"], work_dir, profile=settings["profile"], keyword=settings["keyword"],
        jobs=settings["jobs"], backend_timeout=settings["backend_timeout"], check_timeout=settings["check_timeout"],
        manifests=settings["manifests"], seed=settings["seed"], resume=resume,
        shard=settings.get("shard"), shard_costs=settings.get("shard_costs"), split=settings.get("split", 1),
        per_dtype=settings.get("per_dtype"), device=settings.get("device"), keep_logs=True,
        # The runner selects a dtype with -k in every shard; whether the user's selection turns the cover
        # off is decided here, on the user's own -k.
        extra_pytest_args=[f"--checks={coverage.mode_for(settings['profile'], settings.get('checks'), settings['keyword'] or '')}"],
    )


Step = Callable[[dict[str, Any]], dict[str, Any]]
"""A later part of a command: given the battery's merged document, the document with its own records added (it
may return a new one, as :func:`conformance.store.results.merge` does)."""


@dataclasses.dataclass(frozen=True)
class Written:
    """A command's results file, written once: its document and path, or the exit status of an interrupted run."""

    doc: dict[str, Any]
    path: Path | None
    interrupted: int | None = None
    """128 + the signal when the battery was interrupted: the file then holds what finished (and says so)."""


def run_to_file(args: argparse.Namespace, settings: dict[str, Any], header: dict[str, Any], work_dir: Path,
                out: Path | None, started: float, steps: Sequence[Step] = ()) -> Written:
    """The battery, its shards' documents merged, each of ``steps``, then the results file written once.

    One write, at the end, so that no reader (a CI step, the report) ever sees a results file that holds the
    battery but not yet the rest; what protects the finished checks meanwhile is their logs, removed only once
    the file is written.  Should a step fail, the logs stay and the error is preceded by the ``--resume``
    command that finishes the run from them (the battery's checks are not rerun).  The battery's summary is
    printed before the steps, so that a long article check is not a silence, and a failed write still shows it.
    """
    try:
        partials = battery(settings, work_dir, args.resume is not None, args.command)
    except runner.Interrupted as exc:
        return Written({}, None, write_interrupted(exc, args.command, header, work_dir, out, started))
    doc = results.merge(partials, header)
    print("\n".join(runner.summary_lines(doc)), flush=True)
    try:
        for step in steps:
            doc = step(doc)
    except BaseException:
        print(f"\nthe battery's checks are kept in {work_dir}; to finish the run: "
              f"{resume_command(args.command, work_dir)}", file=sys.stderr, flush=True)
        raise
    path = finish(doc, out, started, **kept_hint(args.command, work_dir))
    runner.discard_logs(work_dir, partials)  # only now: a failed write above leaves them for --resume
    return Written(doc, path)


def write_interrupted(exc: runner.Interrupted, command: str, header: dict[str, Any], work_dir: Path, out: Path | None,
                 started: float) -> int:
    """Write what finished, marked interrupted, and say how to finish the run."""
    doc = results.merge(exc.documents, header)
    doc["interrupted"], doc["interrupted_reason"] = True, exc.reason
    doc["run"]["resume"] = resume_command(command, work_dir)
    path = finish(doc, out, started, **kept_hint(command, work_dir))
    print("\n".join(runner.summary_lines(doc)))
    print(f"\npartial results: {path}\nto finish the run: {doc['run']['resume']}", flush=True)
    return 128 + exc.signum


def default_label(doc: dict[str, Any]) -> str:
    """The report column's name when none is given: devices, machine and each library's version."""
    libs = ", ".join(f"{name} {env.get('version', '?')}" for name, env in sorted(doc["backends"].items()))
    devices = sorted({str(env.get("device", "?")) for env in doc["backends"].values()})
    return f"{'/'.join(devices)} {doc['run'].get('machine')}: {libs}"


def finish(doc: dict[str, Any], out: Path | None, started: float, *, kept: str = "", resume: str = "") -> Path:
    doc["run"]["finished"] = results.now()
    if not doc["run"].get("label"):
        doc["run"]["label"] = default_label(doc)
    doc["run"]["duration_s"] = round(time.monotonic() - started, 3)
    path = out or RESULTS_DIR / f"run-{doc['run']['id']}.json"
    return results.write_atomic(path, doc, kept=kept, resume=resume)

