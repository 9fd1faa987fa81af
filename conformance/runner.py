"""Runs the battery: one spawned pytest process per backend, progress, crash handling, merge.

Each backend runs in its own process (``subprocess``, i.e. fork+exec of a fresh
interpreter: never a bare fork after torch or jax is imported, which can
deadlock).  A process that crashes (segfault, out of memory, hang past its time
limit) costs only its own backend: the check in flight and those never reached
are recorded as ``error`` with the cause, and the other backends complete.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import results

BATTERY = Path(__file__).with_name("battery.py")
UNEXPECTED = ("fail", "error", "xpass")


SHARDS = ("float64", "float32")
"""Each backend runs as one process per dtype, so two cores stay busy while the slowest backend runs."""


@dataclasses.dataclass
class BackendRun:
    spec: str
    shard: str
    log: Path
    out: Path
    process: subprocess.Popen[bytes]
    started: float
    deadline: float
    cause: str = ""


def pytest_command(backend: str, shard: str, log: Path, profile: str, keyword: str | None, extra: Sequence[str],
                   check_timeout: float) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest", str(BATTERY), "-p", "conformance.plugin",
        "--backend", backend, "--results-log", str(log), f"--hypothesis-profile={profile}",
        "-q", "--no-header", "-p", "no:cacheprovider", "-o", "addopts=",
        # Native tracebacks: pytest's default style re-parses the source of every frame, which costs
        # seconds on the deep dynamo tracebacks of an xfail, and the results carry their own messages.
        "--tb=native",
        f"--check-timeout={check_timeout:g}",
    ]
    cmd += ["-k", f"({keyword}) and {shard}" if keyword else shard]
    return cmd + list(extra)


def _progress(runs: list[BackendRun], backends: Sequence[str]) -> str:
    """One figure per backend, summed over its shards: done/total (unexpected)."""
    stats = {b: [0, 0, 0, 0] for b in backends}  # done, total, unexpected, shards finished
    for r in runs:
        row = stats[r.spec]
        if r.log.exists():
            for rec in results.read_jsonl(r.log):
                if rec["kind"] == "collected":
                    row[1] += len(rec["test_ids"])
                elif rec["kind"] == "check":
                    row[0] += 1
                    row[2] += rec["status"] in UNEXPECTED
        row[3] += r.process.poll() is not None
    parts = []
    for b, (done, total, bad, ended) in stats.items():
        state = " done" if ended == len(SHARDS) else ""
        parts.append(f"{b} {done}/{total or '?'}{f' ({bad} unexpected)' if bad else ''}{state}")
    return "  ".join(parts)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return {2: "interrupted", 3: "pytest internal error", 4: "pytest usage error"}.get(code, f"exit code {code}")


def _collect(run: BackendRun) -> dict[str, Any]:
    """Turn one backend's log into a partial results document, filling in what a crash left undone."""
    doc = results.new_document({})
    checks: list[dict[str, Any]] = []
    env: dict[str, Any] = {"backend": run.spec}
    collected: list[str] = []
    in_flight = None
    if run.log.exists():
        for rec in results.read_jsonl(run.log):
            kind = rec.pop("kind")
            if kind == "backend":
                env = rec
            elif kind == "collected":
                collected = rec["test_ids"]
            elif kind == "start":
                in_flight = rec["nodeid"]
            elif kind == "check":
                checks.append(rec)
                in_flight = None
    code = run.process.returncode
    if code not in (0, 1, 5) or run.cause:
        cause = run.cause or _describe_exit(code)
        tail = _tail(run.out)
        finished = {c["test_id"] for c in checks}
        for test_id in collected:
            if test_id in finished:
                continue
            spec, _, params = test_id.partition("[")
            parts = params.rstrip("]").split("-")
            was_running = in_flight is not None and in_flight.endswith(f"test_{test_id}")
            checks.append(results.CheckRecord(
                backend=env.get("backend", run.spec), library_version=env.get("version", "?"),
                device=env.get("device", "?"), dtype=parts[1] if len(parts) > 1 else "?", spec=spec,
                transform="?", function=parts[2] if len(parts) > 2 else "?", test_id=test_id, status="error",
                message=(f"backend process died while running this check: {cause}" if was_running
                         else f"not run: the backend process died earlier ({cause})"),
                details={"output_tail": tail} if was_running else {},
            ).to_json())
        if not collected:
            last = next((ln for ln in reversed(tail.splitlines()) if ln.strip()), "")
            checks.append(results.CheckRecord(
                backend=run.spec, library_version="?", device="?", dtype=run.shard, spec="backend", transform="backend",
                function="*", test_id=f"backend[{run.spec}-{run.shard}]", status="error",
                message=f"the backend process failed before collecting any check ({cause}): {last}",
                details={"output_tail": tail},
            ).to_json())
        env["process"] = {"returncode": code, "cause": cause}
    else:
        env["process"] = {"returncode": code, "cause": ""}
    doc["backends"][env.get("backend", run.spec)] = env
    doc["checks"] = checks
    return doc


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_battery(
    backends: Sequence[str],
    work_dir: Path,
    *,
    profile: str = "ci",
    keyword: str | None = None,
    jobs: int = 2,
    backend_timeout: float = 1800.0,
    check_timeout: float = 120.0,
    extra_pytest_args: Sequence[str] = (),
    echo: Any = print,
) -> list[dict[str, Any]]:
    """Run every backend's battery (``jobs`` at a time); return one partial document per backend."""
    work_dir.mkdir(parents=True, exist_ok=True)
    pending = [(b, shard) for b in backends for shard in SHARDS]
    running: list[BackendRun] = []
    finished: list[BackendRun] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    last = 0.0
    while pending or running:
        while pending and len(running) < jobs:
            spec, shard = pending.pop(0)
            safe = "".join(ch if ch.isalnum() else "_" for ch in spec) + f"-{shard}"
            log, out = work_dir / f"{safe}.jsonl", work_dir / f"{safe}.out"
            log.unlink(missing_ok=True)
            with open(out, "wb") as fh:
                proc = subprocess.Popen(
                    pytest_command(spec, shard, log, profile, keyword, extra_pytest_args, check_timeout),
                    stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                )
            now = time.monotonic()
            running.append(BackendRun(spec, shard, log, out, proc, now, now + backend_timeout))
        time.sleep(0.2)
        for r in list(running):
            if r.process.poll() is None and time.monotonic() > r.deadline:
                r.cause = f"exceeded the backend time limit of {backend_timeout:g} s and was killed"
                os.killpg(r.process.pid, signal.SIGKILL)
                r.process.wait()
            if r.process.poll() is not None:
                running.remove(r)
                finished.append(r)
        if time.monotonic() - last > 5.0 or not (pending or running):
            echo(f"[battery] {_progress(finished + running, backends)}")
            last = time.monotonic()
    docs = [_collect(r) for r in finished]
    # Manifest drift is found at collection, before the shard's -k: keep one record per entry.
    seen: set[str] = set()
    for doc in docs:
        unique = []
        for c in doc["checks"]:
            if c["spec"] == "manifest" and c["test_id"] in seen:
                continue
            seen.add(c["test_id"])
            unique.append(c)
        doc["checks"] = unique
    if not any(r.cause or r.process.returncode not in (0, 1, 5) for r in finished):
        shutil.rmtree(work_dir, ignore_errors=True)  # the logs are in the documents now; kept only after a crash
    return docs


def unexpected(checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if c["status"] in UNEXPECTED]


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """Counts per backend, then every unexpected result with its message."""
    counts = results.summarize(doc["checks"])
    header = f"{'backend':<12}" + "".join(f"{s:>7}" for s in results.STATUSES)
    lines = [header]
    for backend, row in sorted(counts.items()):
        lines.append(f"{backend:<12}" + "".join(f"{row[s]:>7}" for s in results.STATUSES))
    bad = unexpected(doc["checks"])
    if bad:
        lines.append(f"\n{len(bad)} unexpected result(s):")
        for c in bad:
            first = (c["message"] or "").strip().splitlines()
            lines.append(f"  {c['status'].upper():5} {c['backend']}: {c['test_id']}: {first[0] if first else ''}"[:400])
    return lines
