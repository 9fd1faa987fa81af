"""Runs the battery: spawned pytest shards, an outside watchdog, restarts, interrupts, merge.

Each backend runs as one pytest process per dtype (a "shard"), spawned with
``subprocess`` (fork+exec of a fresh interpreter: never a bare fork after torch
or jax is imported, which can deadlock), in its own process group, appending
JSON lines to its log (see :mod:`conformance.plugin`).

The runner never trusts a shard to stop by itself:

- a watchdog reads each log's ``start`` records and kills the shard's process
  group when a check runs past its limit, whatever the backend does (blocks
  SIGALRM, swallows BaseException, sleeps in C); the check is recorded as
  ``error`` and the shard restarts with the checks already recorded skipped;
- a crash (segfault, out of memory) likewise costs the check in flight, and
  the shard goes on from the next one;
- Ctrl-C, SIGTERM or SIGHUP kill every shard's process group and raise
  :class:`Interrupted` carrying what had finished, and each shard dies with
  the runner when the runner is killed outright (the plugin asks the kernel
  for it).  The logs stay in ``.partial/<id>/``, and a later run finishes them
  (``run_battery(..., resume=True)``, i.e. ``python -m conformance run --resume``)
  without rerunning what finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance import results
from conformance.results import UNEXPECTED
from conformance.schema import log_record_problem

BATTERY = Path(__file__).with_name("battery.py")
BATTERY_NODE = "conformance/battery.py"
"""How a reproducer names the battery: a path relative to the project root, where it is run from."""

SHARDS = ("float64", "float32")
"""Each backend runs as one process per dtype, so two cores stay busy while the slowest backend runs."""

PARENT_PID_ENV = "CONFORMANCE_PARENT_PID"
"""Set in each shard's environment: the plugin ends the shard when this process is no longer its parent."""
RUN_ID_ENV = "CONFORMANCE_RUN_ID"
"""Set in each shard's environment (inherited by anything it spawns), so a run's processes can be found."""

MAX_RESTARTS = 20
"""Restarts of one shard after a crash or a watchdog kill; a backend that dies on every check stops here."""

NORMAL_EXITS = (0, 1, 5)
"""pytest's exit codes of a session that ran to its end: all passed, some failed, nothing collected."""

INTERRUPTING = ("SIGINT", "SIGTERM", "SIGHUP")


def watchdog_grace(check_timeout: float) -> float:
    """Seconds past the per-check limit before the watchdog kills: the in-process alarm gets the first chance."""
    return 2.0 + 0.05 * check_timeout


@dataclasses.dataclass(frozen=True)
class ShardOptions:
    """Everything a shard's command line carries, so a restart and a reproducer repeat it exactly."""

    profile: str = "ci"
    seed: int | None = None
    keyword: str | None = None
    manifests: tuple[str, ...] = ()
    check_timeout: float = 120.0
    extra: tuple[str, ...] = ()
    shard: str | None = None
    """``K/N``: this machine's part of every backend's battery (see :mod:`conformance.sharding`)."""
    shard_costs: str | None = None
    """Expected check times for the partition: a results file or a costs table (default: the committed one)."""
    device: str | None = None
    """``--device``: where the backends compute (None: each library's default)."""


def _options_args(backend: str, opts: ShardOptions) -> list[str]:
    args = ["--backend", backend]
    for m in opts.manifests:
        args += ["--manifest", m]
    args += [f"--check-timeout={opts.check_timeout:g}", f"--hypothesis-profile={opts.profile}"]
    if opts.seed is not None:
        args.append(f"--hypothesis-seed={opts.seed}")
    if opts.device:
        args.append(f"--device={opts.device}")
    return args


def _partition_args(opts: ShardOptions, part: tuple[int, int]) -> list[str]:
    """The sharding plugin's options: the machine's shard, then this process's part of it (cores)."""
    chain = [s for s in (opts.shard, f"{part[0]}/{part[1]}" if part[1] > 1 else None) if s]
    if not chain:
        return []
    args = ["-p", "conformance.sharding", f"--shard={','.join(chain)}"]
    if opts.shard_costs:
        args.append(f"--shard-costs={opts.shard_costs}")
    return args


class BadKeyword(ValueError):
    """A ``-k`` expression pytest would refuse: said once, before any shard starts, in pytest's own words."""


def check_keyword(keyword: str | None) -> None:
    """Refuse a ``-k`` expression pytest cannot parse, alone or as the runner composes it with a dtype.

    Without this every shard's pytest refuses it on its own, and each of its checks is recorded as
    "not run": hundreds of errors instead of one line.
    """
    if keyword is None:
        return
    from _pytest.mark import expression

    errors: tuple[type[BaseException], ...] = (SyntaxError,)
    if hasattr(expression, "ParseError"):  # pytest < 9
        errors = (*errors, expression.ParseError)
    for text in (keyword, f"({keyword}) and {SHARDS[0]}"):
        try:
            expression.Expression.compile(text)
        except errors as exc:
            column = getattr(exc, "offset", None) or getattr(exc, "column", None)
            what = getattr(exc, "msg", None) or getattr(exc, "message", None) or str(exc)
            raise BadKeyword(f"-k {keyword!r}: pytest cannot parse it" + (f": at column {column}" if column else "")
                             + f": {what} (write names joined by and, or, not and balanced parentheses, e.g. "
                               "-k \"jvp_value and not float32\")") from None


def shard_log_name(spec: str, dtype: str, part: int = 1, split: int = 1) -> str:
    """The file name (without suffix) of one shard's log and output, in the run's ``.partial/<id>/``."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in spec) + f"-{dtype}"
    return safe + (f"-{part}of{split}" if split > 1 else "")


def log_names(backends: Sequence[str], split: int = 1) -> set[str]:
    """Every shard log name a run of ``backends`` (``split`` processes per backend x dtype) writes."""
    return {shard_log_name(b, d, part, split) for part in range(1, split + 1) for b in backends for d in SHARDS}


def pytest_command(backend: str, shard: str, log: Path, opts: ShardOptions, *, skip_recorded: bool = True,
                   part: tuple[int, int] = (1, 1)) -> list[str]:
    """The shard's command: the battery with the plugin, one dtype (one part of it), logging to ``log``."""
    cmd = [
        sys.executable, "-m", "pytest", str(BATTERY), "-p", "conformance.plugin",
        *_options_args(backend, opts), "--results-log", str(log),
        "-q", "--no-header", "-p", "no:cacheprovider", "-o", "addopts=",
        # Native tracebacks: pytest's default style re-parses the source of every frame, which costs
        # seconds on the deep dynamo tracebacks of an xfail, and the results carry their own messages.
        "--tb=native",
        *_partition_args(opts, part),
    ]
    if skip_recorded:
        cmd.append("--skip-recorded")
    cmd += ["-k", f"({opts.keyword}) and {shard}" if opts.keyword else shard]
    return cmd + list(opts.extra)


def reproducer_command(backend: str, test_name: str, *, profile: str, seed: int | None,
                       manifests: Sequence[str], check_timeout: float, device: str | None = None) -> str:
    """A shell command, run from the project root, that reruns one check as the run did.

    ``test_name`` is pytest's name of the check (``test_jvp_value[torch-float32-sin_sum]``).
    """
    opts = ShardOptions(profile=profile, seed=seed, manifests=tuple(manifests), check_timeout=check_timeout,
                        device=device)
    args = ["python", "-m", "pytest", "-p", "conformance.plugin", *_options_args(backend, opts),
            f"{BATTERY_NODE}::{test_name}"]
    return shlex.join(args)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``documents`` hold every check that finished before it.

    A KeyboardInterrupt, so that a caller that does not handle it exits as on Ctrl-C.
    """

    def __init__(self, documents: list[dict[str, Any]], reason: str, signum: int) -> None:
        super().__init__(reason)
        self.documents = documents
        self.reason = reason
        self.signum = signum


# -- one shard's log, read as it grows ----------------------------------------------------------

class ShardLog:
    """The runner's view of one shard: its log, read incrementally, and what it says so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._rest = b""
        self.env: dict[str, Any] = {}
        self.collected: dict[str, dict[str, Any]] = {}
        """test_id -> identity fields (spec, transform, function, dtype, variant, name), over every restart."""
        self.checks: dict[str, dict[str, Any]] = {}
        self.in_flight: tuple[str, float] | None = None
        """(test_id, wall time it started) of the check running now, from its ``start`` record."""
        self.in_flight_seen = 0.0
        """``time.monotonic()`` when the runner read that record: what the watchdog measures from, so that
        a change of the wall clock can neither kill a check early nor let one run on."""
        self.end: dict[str, Any] | None = None
        """The runner's ``shard_end`` record: the shard is finished and is not restarted on resume."""
        self.listed = False
        """Whether a ``collected`` record was read: a process that exits without one never reached its checks."""

    def poll(self) -> None:
        """Read the records appended since the last call (a line still being written waits for the next)."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        data = self._rest + data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                continue  # a line cut by a crash mid-write
            if log_record_problem(record) is None:  # --resume refuses a tampered log before it gets here
                self._apply(record)

    def _apply(self, rec: dict[str, Any]) -> None:
        kind = rec.pop("kind", None)
        if kind == "backend":
            self.env = rec
        elif kind == "collected":
            self.listed = True
            for c in rec.get("checks", []):
                self.collected.setdefault(c["test_id"], c)
        elif kind == "start":
            self.in_flight = (rec.get("test_id", ""), float(rec.get("time", time.time())))
            self.in_flight_seen = time.monotonic()
        elif kind == "check":
            self.checks[rec["test_id"]] = rec
            if self.in_flight and self.in_flight[0] == rec["test_id"]:
                self.in_flight = None
        elif kind == "shard_end":
            self.end = rec

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        """Write a record on the shard's behalf (its process is dead), and take it in at once."""
        log = results.JsonlLog(self.path)
        try:
            log.write(kind, payload)
        finally:
            log.close()
        self.poll()

    @property
    def remaining(self) -> list[str]:
        return [t for t in self.collected if t not in self.checks]


@dataclasses.dataclass
class Shard:
    spec: str
    dtype: str
    log: ShardLog
    out: Path
    part: tuple[int, int] = (1, 1)
    """(j, m): this process runs part j of m of the backend x dtype, when ``jobs`` exceed those processes."""
    process: subprocess.Popen[bytes] | None = None
    deadline: float = 0.0
    restarts: int = 0
    checks_at_start: int = 0
    events: list[str] = dataclasses.field(default_factory=list)
    """What went wrong, in order: crashes, watchdog kills; the first is the backend's ``cause``."""
    cause: str = ""
    """Why the shard stopped short, when it did (checks left are recorded as not run)."""
    returncode: int | None = None
    done: bool = False


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return {2: "interrupted or a collection error", 3: "pytest internal error", 4: "pytest usage error"}.get(
        code, f"exit code {code}")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the shard's whole process group (anything it spawned too), then reap it.

    Safe after the leader is reaped: Linux does not hand out a PID still in use as a group ID.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Battery:
    """The scheduling loop: start shards ``jobs`` at a time, watch them, restart, stop on a signal."""

    def __init__(self, backends: Sequence[str], work_dir: Path, opts: ShardOptions, *, jobs: int,
                 backend_timeout: float, echo: Callable[[str], Any], resume: bool, split: int = 1,
                 keep_logs: bool = False) -> None:
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
                    RUN_ID_ENV: work_dir.name}
        self.shards: list[Shard] = []
        for part in range(1, split + 1):  # part 1 of every backend first: the slowest backends start at once
            for spec in self.backends:
                for dtype in SHARDS:
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
                    _kill_group(shard.process)
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
            discard_logs(self.work_dir, docs)
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
            _kill_group(shard.process)
            shard.log.poll()
            self._ended(shard, f"exceeded the backend time limit of {self.backend_timeout:g} s and was killed",
                        restart=False)
            return
        limit = self.opts.check_timeout + watchdog_grace(self.opts.check_timeout)
        if code is None and shard.log.in_flight and time.monotonic() - shard.log.in_flight_seen > limit:
            _kill_group(shard.process)
            shard.log.poll()
            if shard.log.in_flight:  # it may have finished in the meantime
                self._ended(shard, "watchdog", restart=True)
            else:
                self._ended(shard, "killed by the watchdog between checks", restart=True)
            return
        if code is not None:
            _kill_group(shard.process)  # whatever the shard left running in its group goes with it
            shard.log.poll()
            if code in NORMAL_EXITS and not shard.log.in_flight:
                # A process that never listed its checks (its backend failed to start) reached no verdict.
                self._finish(shard, code, "" if shard.log.listed else
                             f"the backend process ended ({_describe_exit(code)}) before listing its checks")
            else:
                self._ended(shard, _describe_exit(code), restart=True)

    def _ended(self, shard: Shard, cause: str, *, restart: bool) -> None:
        """The shard's process is dead before its end: record the check in flight, then go on or stop."""
        assert shard.process is not None
        in_flight = shard.log.in_flight
        watchdog = cause == "watchdog"
        if in_flight and in_flight[0] in shard.log.collected:
            test_id = in_flight[0]
            if watchdog:
                limit = self.opts.check_timeout
                message = (f"time limit exceeded: the check ran past {limit:g} s and did not answer the in-process "
                           f"alarm, so its process was killed by the watchdog after "
                           f"{limit + watchdog_grace(limit):g} s")
                event = f"a check ran past its time limit and was killed by the watchdog: {test_id}"
            else:
                message = f"backend process died while running this check: {cause}"
                event = f"{cause} while running {test_id}"
            record = self._record(shard, test_id, message, details={"output_tail": _tail(shard.out)},
                                  duration_s=round(time.time() - in_flight[1], 3))
            shard.log.append("check", record)
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
        shard.log.append("shard_end", {"returncode": code, "cause": cause, "events": shard.events,
                                       "restarts": shard.restarts})

    def _record(self, shard: Shard, test_id: str, message: str, details: dict[str, Any] | None = None,
                duration_s: float = 0.0) -> dict[str, Any]:
        """An ``error`` record for a check the shard could not record itself, from its collected identity."""
        ident = shard.log.collected[test_id]
        env = shard.log.env
        return results.CheckRecord(
            backend=env.get("backend", shard.spec), library_version=env.get("version", "?"),
            device=env.get("device", "?"), dtype=ident["dtype"], spec=ident["spec"], transform=ident["transform"],
            function=ident["function"], variant=ident.get("variant", ""), test_id=test_id, status="error",
            message=message, duration_s=duration_s,
            reproducer=reproducer_command(shard.spec, ident["name"], profile=self.opts.profile, seed=self.opts.seed,
                                          manifests=self.opts.manifests, check_timeout=self.opts.check_timeout,
                                          device=self.opts.device),
            details=details or {},
        ).to_json()

    # -- results ----------------------------------------------------------------------------------
    def _documents(self, interrupted: str) -> list[dict[str, Any]]:
        """One partial document per backend (both dtype shards), checks deduplicated."""
        docs: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()  # manifest drift is found at collection, before the shard's -k: once per entry
        for shard in self.shards:
            if interrupted and not shard.log.env and not shard.log.checks:
                continue  # never started: nothing to say about it but that it is missing, which resume fixes
            name, env, checks = self._collect(shard, interrupted)
            doc = docs.setdefault(name, results.new_document({}))
            if interrupted:
                doc["interrupted"], doc["interrupted_reason"] = True, interrupted
            previous = doc["backends"].get(name)
            if previous:
                env["process"] = _combine(previous["process"], env["process"])
            doc["backends"][name] = env
            for c in checks:
                if c["spec"] == "manifest" and c["test_id"] in seen:
                    continue
                seen.add(c["test_id"])
                doc["checks"].append(c)
        return list(docs.values())

    def _collect(self, shard: Shard, interrupted: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        log = shard.log
        env = dict(log.env) or {"backend": shard.spec}
        checks = list(log.checks.values())
        started = shard.process is not None or shard.done
        if interrupted and not shard.done:
            cause = f"interrupted ({interrupted})" if started else f"not started ({interrupted})"
        else:
            cause = shard.cause
            code = shard.returncode
            if log.remaining and not cause:
                cause = f"the process ended ({_describe_exit(code) if code is not None else '?'}) before these checks"
            for test_id in log.remaining:
                checks.append(self._record(shard, test_id, f"not run: the backend process stopped early ({cause})"))
            if not log.collected and cause:
                tail = _tail(shard.out)
                last = next((ln for ln in reversed(tail.splitlines()) if ln.strip()), "")
                checks.append(results.CheckRecord(
                    backend=shard.spec, library_version="?", device="?", dtype=shard.dtype, spec="backend",
                    transform="backend", function="*", status="error",
                    test_id=f"backend[{shard.spec}-{shard.dtype}" + (f"-{shard.part[0]}of{shard.part[1]}]"
                                                                     if shard.part[1] > 1 else "]"),
                    message=f"the backend process failed before collecting any check ({cause}): {last}",
                    details={"output_tail": tail},
                ).to_json())
        env["process"] = {
            "returncode": shard.returncode,
            "cause": cause or (shard.events[0] if shard.events else ""),
            "restarts": shard.restarts,
        }
        return env.get("backend", shard.spec), env, checks

    def progress(self) -> str:
        """One figure per backend, summed over its shards: done/total (unexpected)."""
        stats = {b: [0, 0, 0, 0, 0] for b in self.backends}  # done, total, unexpected, shards finished, restarts
        for s in self.shards:
            row = stats[s.spec]
            row[0] += len(s.log.checks)
            row[1] += len(s.log.collected)
            row[2] += sum(c["status"] in UNEXPECTED for c in s.log.checks.values())
            row[3] += s.done
            row[4] += s.restarts
        parts = []
        per_backend = len(self.shards) // max(1, len(self.backends))
        for b, (done, total, bad, ended, restarts) in stats.items():
            state = " done" if ended == per_backend else ""
            extra = f" ({bad} unexpected)" if bad else ""
            extra += f" ({restarts} restarts)" if restarts else ""
            parts.append(f"{b} {done}/{total or '?'}{extra}{state}")
        return "  ".join(parts)


def discard_logs(work_dir: Path, documents: Sequence[dict[str, Any]]) -> None:
    """Remove a finished run's logs, once its results are safely written; kept after any trouble.

    The command line calls this only after the results file is on disk, so a failed write (a full disk)
    still leaves everything ``--resume`` needs.
    """
    troubled = any((env.get("process") or {}).get("cause") or (env.get("process") or {}).get("restarts")
                   for doc in documents for env in doc.get("backends", {}).values())
    if not troubled:
        shutil.rmtree(work_dir, ignore_errors=True)  # the logs are in the documents


def _combine(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The process figures of a backend's two shards: the worse exit, every cause, all restarts."""
    codes = [c for c in (a.get("returncode"), b.get("returncode")) if c is not None]
    abnormal = [c for c in codes if c not in NORMAL_EXITS]
    causes = [c for c in (a.get("cause"), b.get("cause")) if c]
    return {
        "returncode": abnormal[0] if abnormal else (max(codes) if codes else None),
        "cause": "; ".join(dict.fromkeys(causes)),
        "restarts": int(a.get("restarts", 0)) + int(b.get("restarts", 0)),
    }


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
    ``device`` (``--device``) is passed to every shard; None leaves each library on its default.
    ``keep_logs``: leave the logs of a clean run for the caller to remove (:func:`discard_logs`) once it has
    written the results.
    """
    opts = ShardOptions(profile=profile, seed=seed, keyword=keyword, manifests=tuple(str(m) for m in manifests),
                        check_timeout=check_timeout, extra=tuple(extra_pytest_args), shard=shard,
                        shard_costs=shard_costs, device=device)
    battery = Battery(backends, work_dir, opts, jobs=jobs, backend_timeout=backend_timeout, echo=echo, resume=resume,
                      split=split, keep_logs=keep_logs)
    return battery.run()


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
    if doc.get("interrupted"):
        lines.append(f"\nINTERRUPTED ({doc.get('interrupted_reason', '')}): only the checks that finished are recorded")
    return lines
