"""Run one untrusted snippet in its own fresh interpreter, inside an OS boundary, and record what happened.

Article code is untrusted: it may hang, allocate without bound, fork, write or read files, open sockets, signal
other processes, or try to switch the sandbox off from inside.  Security rests on the operating system, not on the
snippet's own interpreter:

- ``isolation = "bwrap"`` (the default, :mod:`conformance.claims.article.bwrap`): new user, PID, mount, network, IPC and
  UTS namespaces; a read-only view of only what Python needs; no home directory, no other project files, no other
  processes, no network; writable space only in size-capped tmpfs mounts; killed with its whole tree at the
  wall-clock limit, on cancellation, or when the checker dies.
- ``isolation = "weak"``: a fresh interpreter with rlimits and an audit hook, nothing more.  It runs only when the
  user opts in (``--allow-weak-sandbox``) on a machine where bwrap cannot run, and every result says which
  isolation produced it, so the report can mark weak results.

Inside either, a small bootstrap sets rlimits first (RLIMIT_AS: address space, 8 GiB by default because torch and
jax reserve a lot of virtual memory; RLIMIT_CPU; RLIMIT_NPROC; RLIMIT_FSIZE: per file; RLIMIT_CORE: 0), imports the
trusted libraries, installs a Python audit hook (a second layer that turns accidental forks and writes into a clear
``PermissionError``; it lives in the snippet's own process, so a determined snippet can remove it, and nothing
depends on it), runs the snippet, and reports its outcome as one JSON record on the report channel.

The report channel is a pipe of its own, not stdout or stderr, and no secret authenticates it (a nonce in the
environment was readable from ``/proc/self/environ``).  Its write end is inherited under a number given on the
bootstrap's command line; before any untrusted code runs, the bootstrap moves it to an unpredictable number,
close-on-exec (no program the snippet starts inherits it), closes the original, and keeps it only in a closure.  So
the snippet's stdout and stderr are plain data, whatever they contain.  Code in the snippet's own process can still
find the pipe (``/proc/self/fd``) and write to it: a snippet can always lie about its own outcome, and only about
that (``docs/trust-boundary.md``).  The host therefore checks every line it reads there (:func:`parse_channel`):
whole lines of UTF-8 JSON objects, known record types only, the result record last and well-formed, at most
``channel_cap`` bytes.  Anything else is an ``error`` outcome with the problem named, never an exception here.

Output is read with a deadline and a size cap (:mod:`conformance.claims.article.capture`): each stream keeps its first and
last 32 KiB, so neither the checker's memory nor the results file grows with what a snippet prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from conformance.claims.article import cgroup
from conformance.claims.article.capture import DEFAULT_CAP, Lines, read_bounded
from conformance.claims.article.conversation import Conversation, Host
from conformance.claims.article.launchers import LAUNCHERS, Request
from conformance.claims.article.launchers import IsolationUnavailable as IsolationUnavailable  # re-exported: callers
from conformance.claims.article.launchers import allow_weak_sandbox as allow_weak_sandbox  # catch and set these here
from conformance.claims.article.launchers import choose_isolation as choose_isolation
from conformance.contract import PROJECT_ROOT

GiB = 1024**3
MiB = 1024**2
DEFAULT_MEMORY = 8 * GiB
DEFAULT_TIMEOUT = 60.0
DEFAULT_TMP = 512 * MiB
"""Total disk a snippet may use (its /tmp tmpfs); jax and torch caches live there too."""
DEFAULT_SHM = 64 * MiB
DEFAULT_MAX_PIDS = 512
"""Processes and threads one bwrap run may hold, when the checker is root (a pids cgroup; RLIMIT_NPROC otherwise).
jax and torch start a few dozen threads; a fork bomb meets EAGAIN here instead of loading the machine."""
KEEP_ENV = ("LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
KILL_GRACE = 1.0
"""Seconds reading goes on after the child exits or is killed: enough to drain the pipes, not enough to hang."""
STATUSES = ("ok", "exception", "timeout", "killed", "error", "cancelled")
DEFAULT_CHANNEL_CAP = 1 * MiB
"""Bytes the report channel may carry: one result record for a snippet; a caller sending more records sets more."""
MAX_RECORD = 4 * MiB
"""Bytes of one record (one line): more is refused unparsed, so one hostile line cannot cost the host gigabytes."""

BOOTSTRAP = (Path(__file__).with_name("bootstrap.py")).read_text(encoding="utf-8")
"""The bootstrap's source (``bootstrap.py``), written into each run's directory and run there as the script."""


@dataclasses.dataclass
class SandboxResult:
    """What one run produced: ``status`` is one of :data:`STATUSES` (``reason`` says why it is not ok).

    ``isolation`` names the boundary the code ran in (``bwrap`` or ``weak``), so results from a weak run can be
    told apart in the results file and the report.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    exception: dict[str, str] | None
    duration_s: float
    reason: str = ""
    isolation: str = ""
    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """The program's own records (types the caller allowed), in the order sent; the result record is not one."""
    protocol: str = ""
    """What was wrong on the report channel ("" when nothing): the status is then ``error`` with this reason."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- one run -----------------------------------------------------------------------------------------------------

def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return str(code)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the started process's group.  With bwrap the namespace's init dies with it (``--die-with-parent``),
    and the kernel then kills every process in the PID namespace, including any that started their own session."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


@dataclasses.dataclass
class Channel:
    """What the report channel carried: the program's records, the bootstrap's result, and the first problem."""

    records: list[dict[str, Any]]
    result: dict[str, Any] | None
    problem: str = ""


def _result_problem(record: dict[str, Any]) -> str:
    if set(record) != {"type", "exception"}:
        extra = sorted(set(record) - {"type", "exception"})
        return f"unexpected fields {extra} in the result record" if extra else "the result record has no 'exception'"
    exc = record["exception"]
    if exc is None:
        return ""
    if not isinstance(exc, dict) or set(exc) != {"type", "message"} or not all(
            isinstance(exc[k], str) for k in ("type", "message")):
        return "the result record's 'exception' is not null or {type, message} strings"
    return ""


def parse_channel(lines: Lines, *, record_types: Collection[str] = (), complete: bool = True) -> Channel:
    """Check every line the channel carried, in order; stop at the first one the host cannot accept.

    Each line must be UTF-8 JSON (at most :data:`MAX_RECORD` bytes) holding an object with a string ``type``:
    ``result`` (the bootstrap's, last and only once, ``{"type": "result", "exception": null | {"type": str,
    "message": str}}``) or one of ``record_types`` (the caller checks those further).  Blank lines are ignored.
    A last line without its newline is a problem only when the run was ``complete`` (not killed mid-write).
    Never raises.
    """
    out = Channel([], None)
    if lines.overflowed:
        out.problem = (f"the report channel carried {lines.total} bytes, over its limit of {lines.cap} "
                       "(records past the limit were dropped)")
        return out
    whole, rest = lines.lines()
    for number, raw in enumerate(whole, start=1):
        if not raw.strip():
            continue
        where = f"record {number} of the report channel"
        if len(raw) > MAX_RECORD:
            out.problem = f"{where} has {len(raw)} bytes, over the limit of {MAX_RECORD} for one record"
            return out
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.problem = f"{where} is not UTF-8 text"
        except RecursionError:
            out.problem = f"{where} is nested too deeply to read"
        except ValueError as exc:
            out.problem = f"{where} is not JSON ({exc})"
        else:
            kind = record.get("type") if isinstance(record, dict) else None
            if not isinstance(record, dict):
                out.problem = f"{where} is not a JSON object"
            elif out.result is not None:
                out.problem = f"{where} follows the result record"
            elif kind == "result":
                out.problem = _result_problem(record) and f"{where}: {_result_problem(record)}"
                out.result = record
            elif isinstance(kind, str) and kind in record_types:
                out.records.append(record)
            else:
                out.problem = f"{where} has an unknown record type {str(kind)[:80]!r}"
        if out.problem:
            out.result = None
            return out
    if rest.strip() and complete:
        out.problem = "the report channel ended in the middle of a record"
        out.result = None
    return out


def run_snippet(
    code: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory: int = DEFAULT_MEMORY,
    cpu_seconds: int | None = None,
    nproc: int = 4096,
    max_pids: int = DEFAULT_MAX_PIDS,
    fsize: int = 64 * MiB,
    tmp_bytes: int = DEFAULT_TMP,
    shm_bytes: int = DEFAULT_SHM,
    output_cap: int = DEFAULT_CAP,
    preimport: Sequence[str] = (),
    extra_env: dict[str, str] | None = None,
    python: str = sys.executable,
    isolation: str | None = None,
    audit_hook: bool = True,
    cancel: threading.Event | None = None,
    records: Collection[str] = (),
    channel_cap: int = DEFAULT_CHANNEL_CAP,
    answer: Host | None = None,
) -> SandboxResult:
    """Run ``code`` as ``__main__`` in a fresh limited interpreter; never raises for anything the snippet does.

    ``preimport`` names trusted modules (torch, jax) imported before the audit hook, so library start-up is not
    mistaken for the snippet's own behaviour.  ``isolation`` defaults to :func:`choose_isolation` (which raises
    :class:`IsolationUnavailable` rather than run untrusted code unprotected).  ``audit_hook=False`` drops the
    in-process layer (the hostile tests use it to show the OS boundary holds alone).  Setting ``cancel`` kills a
    running snippet at once (status ``cancelled``) and keeps a queued one from starting.

    ``records`` names the record types a trusted program run this way (the document harness) sends on the report
    channel besides the result; when given, the program finds the channel's writer as ``__report__`` in its
    globals, and the records come back, checked for framing only, in ``SandboxResult.records``.  With ``answer``
    the program may also ask the host questions (``__ask__(record) -> reply``, :mod:`conformance.claims.article.conversation`):
    ``answer.answer(ask)`` gives the reply and the records that stand in the channel in the ask's place.
    """
    mode = isolation or choose_isolation()
    if mode not in LAUNCHERS:
        raise ValueError(f"unknown isolation {mode!r} (known: {', '.join(LAUNCHERS)})")
    if cancel is not None and cancel.is_set():
        return SandboxResult("cancelled", None, "", "", None, 0.0, "cancelled before it started", mode)
    channel_r, channel_w = os.pipe()  # both close-on-exec here: only this run's child gets the write end
    answer_r, answer_w = os.pipe() if answer is not None else (-1, -1)
    host_dir = Path(tempfile.mkdtemp(prefix="snippet-"))
    proc: subprocess.Popen[bytes] | None = None
    cleanup = contextlib.ExitStack()
    try:
        (host_dir / "snippet.py").write_text(code, encoding="utf-8")
        (host_dir / "bootstrap.py").write_text(BOOTSTRAP, encoding="utf-8")
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env.update(PYTHONPATH=str(PROJECT_ROOT), LANG=env.get("LANG", "C.UTF-8"), PYTHONIOENCODING="utf-8",
                   PYTHONDONTWRITEBYTECODE="1", SANDBOX_PREIMPORT=json.dumps(list(preimport)),
                   SANDBOX_AUDIT="1" if audit_hook else "0", SANDBOX_SHARE="1" if records else "0",
                   SANDBOX_LIMITS=json.dumps({
                       "RLIMIT_AS": int(memory), "RLIMIT_CPU": int(cpu_seconds or max(1, int(timeout * 2))),
                       "RLIMIT_NPROC": int(nproc), "RLIMIT_FSIZE": int(fsize), "RLIMIT_CORE": 0}))
        env.update(extra_env or {})
        launch = LAUNCHERS[mode](Request(host_dir, python, env, tmp_bytes, shm_bytes, channel_w, answer_r))
        if mode == "bwrap":  # as root, RLIMIT_NPROC does not hold: cap processes and threads with a cgroup
            cap = cleanup.enter_context(cgroup.pids_cap(max_pids))
            if cap is not None:
                launch.cmd = cap.wrap(launch.cmd)
        started = time.monotonic()
        # A new session: the group is killed as a whole, and the terminal's Ctrl-C reaches the checker only.
        proc = subprocess.Popen(launch.cmd, cwd=launch.cwd, env=launch.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True,
                                pass_fds=(channel_w,) if answer is None else (channel_w, answer_r))
        for fd in (channel_w, answer_r):
            if fd >= 0:
                os.close(fd)
        channel_w = answer_r = -1
        channel = Lines(channel_cap)
        sink: Lines | Conversation = channel
        if answer is not None:
            sink = talk = cleanup.enter_context(_talking(Conversation(channel, answer, answer_w)))
        out, err, how = read_bounded(proc, timeout=timeout, kill=lambda: _kill_tree(proc), cap=output_cap,
                                     grace=KILL_GRACE, cancel=cancel, extra={channel_r: sink})
        if answer is not None:
            talk.close()
        rc = proc.poll()
        if rc is None:  # killed a moment ago (timeout, cancel): reap it, within a bound
            _kill_tree(proc)
            try:
                rc = proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                rc = None
        duration = round(time.monotonic() - started, 3)
        code_rc = None if rc is None else launch.decode_rc(rc)
        # A line cut short is a problem only when nothing cut it: not a kill, a timeout or a signal.
        report = parse_channel(channel, record_types=records,
                               complete=not (how.timed_out or how.cancelled) and code_rc is not None and code_rc >= 0)
        if answer is not None and talk.problem and not report.problem:
            report.problem, report.result = f"the program's asks: {talk.problem}", None
        return _classify(out.text(), err.text(), report, code_rc, how.timed_out, how.cancelled, timeout, duration,
                         mode)
    finally:
        for fd in (channel_r, channel_w, answer_r, answer_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if proc is not None:
            if proc.poll() is None:
                _kill_tree(proc)  # an exception (KeyboardInterrupt) in this thread: never leave the tree running
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        cleanup.close()
        shutil.rmtree(host_dir, ignore_errors=True)


@contextlib.contextmanager
def _talking(talk: Conversation) -> Iterator[Conversation]:
    """The conversation, its answer thread stopped however the run ends (its pipe is closed after)."""
    try:
        yield talk
    finally:
        talk.close()


def _classify(stdout: str, stderr_all: str, channel: Channel, rc: int | None, timed_out: bool, cancelled: bool,
              timeout: float, duration: float, mode: str) -> SandboxResult:
    stderr = stderr_all.strip()
    report = channel.result

    def result(status: str, exc: dict[str, str] | None = None, reason: str = "") -> SandboxResult:
        return SandboxResult(status, rc, stdout, stderr, exc, duration, reason, mode, channel.records,
                             channel.problem)

    if cancelled:
        return result("cancelled", reason="cancelled while running (interrupt); process tree killed")
    if channel.problem:  # before a timeout: what the program sent is not evidence, however the run ended
        return result("error", reason=channel.problem)
    if timed_out:
        return result("timeout", reason=f"exceeded the wall-clock limit of {timeout:g} s; process tree killed")
    if report is None:
        if rc is None:
            return result("error", reason="did not exit after its output closed; process tree killed")
        if rc < 0:
            reason = f"killed by signal {_signal_name(-rc)}"
            if -rc == signal.SIGXCPU:
                reason += " (CPU time limit)"
        elif rc == 0:
            return result("error", reason="exited with code 0 without reporting a result")
        else:
            reason = f"exited with code {rc} before reporting"
        tail = stderr.splitlines()[-1:] if stderr else []
        if tail and "MemoryError" in tail[0]:
            reason += " (out of memory)"
        return result("killed", reason=reason)
    exc = report["exception"]
    if exc is None:
        return result("ok")
    return result("exception", exc, "memory limit (RLIMIT_AS) reached" if exc["type"] == "MemoryError" else "")


def probe_code(body: str) -> str:
    """Dedent helper for probe scripts the checker itself writes (trusted, but run the same way)."""
    return textwrap.dedent(body).strip() + "\n"
