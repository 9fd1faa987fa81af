"""Running the battery for a command, and writing its results file: finished, interrupted, or kept for later.

A results file that cannot be written (a full disk) keeps the shards' logs and says the ``--resume`` command
that finishes the run; an interrupted run writes what finished, marked interrupted, and says the same.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

from conformance import coverage, outputs, results, runner
from conformance.contract import RESULTS_DIR


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
        device=settings.get("device"), keep_logs=True,
        # The runner selects a dtype with -k in every shard; whether the user's selection turns the cover
        # off is decided here, on the user's own -k.
        extra_pytest_args=[f"--checks={coverage.mode_for(settings['profile'], settings.get('checks'), settings['keyword'] or '')}"],
    )


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

