"""The scheduling loop: start shards ``jobs`` at a time, watch them, restart them, stop them all on a signal.

The loop never trusts a shard to stop by itself: a watchdog reads each log's ``start`` records and kills the
shard's process group when a check runs past its limit (the in-process alarm gets :func:`watchdog_grace` first),
a crash costs only the check in flight, and Ctrl-C, SIGTERM or SIGHUP kill every shard and raise
:class:`Interrupted` with what had finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance.contract import PARENT_PID_ENV, REFERENCE_CACHE_DIR, REFERENCE_CACHE_ENV, RUN_ID_ENV, LogKind
from conformance.run.runner import partials, summary
from conformance.run.runner.command import ShardOptions, backends_per_dtype, layout, pytest_command, shard_log_name
from conformance.run.runner.process import NORMAL_EXITS, Shard, describe_exit, kill_group
from conformance.run.runner.shard_log import ShardLog

MAX_RESTARTS = 20
"""Restarts of one shard after a crash or a watchdog kill; a backend that dies on every check stops here."""

INTERRUPTING = ("SIGINT", "SIGTERM", "SIGHUP")


def watchdog_grace(check_timeout: float) -> float:
    """Seconds past the per-check limit before the watchdog kills: the in-process alarm gets the first chance."""
    return 2.0 + 0.05 * check_timeout


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``documents`` hold every check that finished before it.

    A KeyboardInterrupt, so that a caller that does not handle it exits as on Ctrl-C.
    """

    def __init__(self, documents: list[dict[str, Any]], reason: str, signum: int) -> None:
        super().__init__(reason)
        self.documents = documents
        self.reason = reason
        self.signum = signum


class Battery:
    """The scheduling loop: start shards ``jobs`` at a time, watch them, restart, stop on a signal."""

    def __init__(self, backends: Sequence[str], work_dir: Path, opts: ShardOptions, *, jobs: int,
                 backend_timeout: float, echo: Callable[[str], Any], resume: bool, split: int = 1,
                 per_dtype: int | None = None, keep_logs: bool = False) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        if split < 1:
            raise ValueError(f"split must be at least 1, got {split}")
        self.backends = list(backends)
        self.keep_logs = keep_logs
        self.work_dir = work_dir
        self.opts = opts
        self.jobs = jobs
        self.backend_timeout = backend_timeout
        self.echo = echo
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_PID_ENV: str(os.getpid()),
                    RUN_ID_ENV: work_dir.name,
                    # The reference's results, computed once and read by every backend's shard (reference_cache).
                    REFERENCE_CACHE_ENV: str((work_dir / REFERENCE_CACHE_DIR).resolve())}
        self.shards: list[Shard] = []
        dtypes_of = layout(self.backends, backends_per_dtype(jobs) if per_dtype is None else per_dtype, split)
        for part in range(1, split + 1):  # part 1 of every backend first: the slowest backends start at once
            for spec in self.backends:
                for dtype in dtypes_of[spec]:
                    safe = shard_log_name(spec, dtype, part, split)
                    log = work_dir / f"{safe}.jsonl"
                    if not resume:
                        log.unlink(missing_ok=True)
                    shard = Shard(spec, dtype, ShardLog(log), work_dir / f"{safe}.out", part=(part, split))
                    shard.log.poll()
                    if shard.log.end is not None:  # finished by the run being resumed
                        shard.done = True
                        shard.returncode = shard.log.end.get("returncode")
                        shard.cause = shard.log.end.get("cause", "")
                        shard.events = list(shard.log.end.get("events", []))
                        shard.restarts = int(shard.log.end.get("restarts", 0))
                    self.shards.append(shard)
        self.stop: tuple[str, int] | None = None

    # -- signals ---------------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        # Only a flag: the loop notices within one tick and cleans up outside any half-done step.
        if self.stop is None:
            self.stop = (signal.Signals(signum).name, signum)

    def _install(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for name in INTERRUPTING:
            sig = getattr(signal, name, None)
            if sig is not None:
                previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        previous = self._install()
        try:
            self._loop()
        finally:
            for shard in self.shards:  # whatever ended the loop, no shard outlives it
                if shard.process is not None and shard.process.poll() is None:
                    kill_group(shard.process)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.stop is not None:
            name, signum = self.stop
            for shard in self.shards:
                shard.log.poll()
            reason = f"received {name}"
            raise Interrupted(self._documents(interrupted=reason), reason, signum)
        docs = self._documents(interrupted="")
        if not self.keep_logs:
            partials.discard_logs(self.work_dir, docs)
        return docs

    def _loop(self) -> None:
        pending = [s for s in self.shards if not s.done]
        running: list[Shard] = []
        last = 0.0
        while (pending or running) and self.stop is None:
            while pending and len(running) < self.jobs:
                shard = pending.pop(0)
                shard.deadline = time.monotonic() + self.backend_timeout
                self._start(shard)
                running.append(shard)
            time.sleep(0.1)
            for shard in list(running):
                if self.stop is not None:
                    break
                self._watch(shard)
                if shard.done:
                    running.remove(shard)
            if time.monotonic() - last > 5.0 or not (pending or running):
                self.echo(f"[battery] {self.progress()}")
                last = time.monotonic()

    def _start(self, shard: Shard) -> None:
        shard.log.poll()
        shard.checks_at_start = len(shard.log.checks)
        shard.log.in_flight = None
        with open(shard.out, "ab") as fh:
            shard.process = subprocess.Popen(
                pytest_command(shard.spec, shard.dtype, shard.log.path, self.opts, part=shard.part),
                stdout=fh, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            )

    def _watch(self, shard: Shard) -> None:
        """One tick of one shard: read its log, enforce the limits, handle its exit."""
        assert shard.process is not None
        shard.log.poll()
        code = shard.process.poll()
        if code is None and time.monotonic() > shard.deadline:
            kill_group(shard.process)
            shard.log.poll()
            self._ended(shard, f"exceeded the backend time limit of {self.backend_timeout:g} s and was killed",
                        restart=False)
            return
        limit = self.opts.check_timeout + watchdog_grace(self.opts.check_timeout)
        if code is None and shard.log.in_flight and time.monotonic() - shard.log.in_flight_seen > limit:
            kill_group(shard.process)
            shard.log.poll()
            if shard.log.in_flight:  # it may have finished in the meantime
                self._ended(shard, "watchdog", restart=True)
            else:
                self._ended(shard, "killed by the watchdog between checks", restart=True)
            return
        if code is not None:
            kill_group(shard.process)  # whatever the shard left running in its group goes with it
            shard.log.poll()
            if code in NORMAL_EXITS and not shard.log.in_flight:
                # A process that never listed its checks (its backend failed to start) reached no verdict.
                self._finish(shard, code, "" if shard.log.listed else
                             f"the backend process ended ({describe_exit(code)}) before listing its checks")
            else:
                self._ended(shard, describe_exit(code), restart=True)

    def _ended(self, shard: Shard, cause: str, *, restart: bool) -> None:
        """The shard's process is dead before its end: record the check in flight, then go on or stop."""
        assert shard.process is not None
        in_flight = shard.log.in_flight
        if in_flight and in_flight[0] in shard.log.collected:
            event, record = partials.in_flight_record(shard, self.opts, cause, watchdog=cause == "watchdog",
                                                      grace=watchdog_grace(self.opts.check_timeout))
            shard.log.append(LogKind.CHECK, record)
        else:
            event = cause
        shard.events.append(event)
        progressed = len(shard.log.checks) > shard.checks_at_start
        code = shard.process.returncode
        if shard.log.listed and not shard.log.remaining:
            self._finish(shard, code, "")
        elif not restart:
            self._finish(shard, code, event)
        elif not progressed:
            self._finish(shard, code, f"{event} (before finishing any check, so it was not restarted)")
        elif shard.restarts >= MAX_RESTARTS:
            self._finish(shard, code, f"{event}; stopped after {MAX_RESTARTS} restarts")
        elif time.monotonic() >= shard.deadline:
            self._finish(shard, code, f"{event}; the backend time limit of {self.backend_timeout:g} s is spent")
        else:
            shard.restarts += 1
            self._start(shard)

    def _finish(self, shard: Shard, code: int | None, cause: str) -> None:
        shard.done = True
        shard.returncode = code
        shard.cause = cause
        shard.log.append(LogKind.SHARD_END, {"returncode": code, "cause": cause, "events": shard.events,
                                             "restarts": shard.restarts})

    # -- results ----------------------------------------------------------------------------------
    def _documents(self, interrupted: str) -> list[dict[str, Any]]:
        return partials.documents(self.shards, self.opts, interrupted)

    def progress(self) -> str:
        """One figure per backend, summed over its shards: done/total (unexpected)."""
        return summary.progress(self.backends, self.shards)


def run_battery(
    backends: Sequence[str],
    work_dir: Path,
    *,
    profile: str = "ci",
    keyword: str | None = None,
    jobs: int = 2,
    backend_timeout: float = 1800.0,
    check_timeout: float = 120.0,
    manifests: Sequence[str] = (),
    seed: int | None = None,
    extra_pytest_args: Sequence[str] = (),
    echo: Any = print,
    resume: bool = False,
    shard: str | None = None,
    shard_costs: str | None = None,
    split: int = 1,
    per_dtype: int | None = None,
    device: str | None = None,
    keep_logs: bool = False,
) -> list[dict[str, Any]]:
    """Run every backend's battery (``jobs`` shards at a time); return one partial document per backend.

    With ``resume``, the logs already in ``work_dir`` are kept: finished shards are
    not started again and the others skip every check they recorded.  Raises
    :class:`Interrupted` on SIGINT, SIGTERM or SIGHUP, after killing every shard.
    ``shard`` (``K/N``) runs this machine's part of each backend's battery;
    ``split`` runs each backend x dtype as that many processes (all cores of a
    big machine), which changes no result: every check's draws are fixed by its id.
    ``per_dtype``: how many backends run one process per dtype (:func:`conformance.run.runner.command.layout`), the
    run file's ``per_dtype``; None derives it from ``jobs``, as a fresh run does.
    ``device`` (``--device``) is passed to every shard; None leaves each library on its default.
    ``keep_logs``: leave the logs of a clean run for the caller to remove (:func:`discard_logs`) once it has
    written the results.
    """
    opts = ShardOptions(profile=profile, seed=seed, keyword=keyword, manifests=tuple(str(m) for m in manifests),
                        check_timeout=check_timeout, extra=tuple(extra_pytest_args), shard=shard,
                        shard_costs=shard_costs, device=device)
    battery = Battery(backends, work_dir, opts, jobs=jobs, backend_timeout=backend_timeout, echo=echo, resume=resume,
                      split=split, per_dtype=per_dtype, keep_logs=keep_logs)
    return battery.run()

