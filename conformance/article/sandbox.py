"""Run one untrusted snippet in its own fresh interpreter, inside an OS boundary, and record what happened.

Article code is untrusted: it may hang, allocate without bound, fork, write or read files, open sockets, signal
other processes, or try to switch the sandbox off from inside.  Security rests on the operating system, not on the
snippet's own interpreter:

- ``isolation = "bwrap"`` (the default, :mod:`conformance.article.bwrap`): new user, PID, mount, network, IPC and
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

Output is read with a deadline and a size cap (:mod:`conformance.article.capture`): each stream keeps its first and
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
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from conformance.article import bwrap, cgroup
from conformance.article.capture import DEFAULT_CAP, Lines, read_bounded
from conformance.article.conversation import Conversation, Host

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
PROJECT_ROOT = Path(__file__).resolve().parents[2]
KILL_GRACE = 1.0
"""Seconds reading goes on after the child exits or is killed: enough to drain the pipes, not enough to hang."""
STATUSES = ("ok", "exception", "timeout", "killed", "error", "cancelled")
DEFAULT_CHANNEL_CAP = 1 * MiB
"""Bytes the report channel may carry: one result record for a snippet; a caller sending more records sets more."""
MAX_RECORD = 4 * MiB
"""Bytes of one record (one line): more is refused unparsed, so one hostile line cannot cost the host gigabytes."""

BOOTSTRAP = r'''
import json, os, resource, sys, traceback
def _open_channel():
    # The report channel, before the libraries and the snippet run: the inherited pipe (its number is the last argument) moves to
    # an unpredictable number, close-on-exec, and the original is closed.  Only the returned closure holds it.
    import fcntl, secrets, threading
    inherited = int(sys.argv.pop())
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    top = 4096 if soft == resource.RLIM_INFINITY else min(soft, 4096)
    try:
        fd = fcntl.fcntl(inherited, fcntl.F_DUPFD_CLOEXEC, 64 + secrets.randbelow(max(1, top - 128)))
    except OSError:
        fd = fcntl.fcntl(inherited, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(inherited)
    listen = int(sys.argv.pop())  # the answer channel's read end, or -1: the host answers asks there
    if listen >= 0:
        try:
            answers = fcntl.fcntl(listen, fcntl.F_DUPFD_CLOEXEC, 64 + secrets.randbelow(max(1, top - 128)))
        except OSError:
            answers = fcntl.fcntl(listen, fcntl.F_DUPFD_CLOEXEC, 3)
        os.close(listen)
    pid, lock, dumps, write, getpid, read, loads = (os.getpid(), threading.Lock(), json.dumps, os.write, os.getpid,
                                                     os.read, json.loads)
    def report(record):
        if getpid() != pid:  # a forked child of the program: not the run's record
            return
        data = memoryview((dumps(record, default=repr) + "\n").encode("ascii"))
        with lock:
            while data:
                data = data[write(fd, data):]
    ask_lock = threading.Lock()
    def ask(record):
        # One question to the host and its one-line answer; the lock keeps question and answer together.
        if listen < 0:
            raise RuntimeError("this run has no answer channel")
        with ask_lock:
            report({"type": "ask", **record})
            buf = bytearray()
            while not buf.endswith(b"\n"):
                chunk = read(answers, 1 << 16)
                if not chunk:
                    raise EOFError("the host closed the answer channel")
                buf += chunk
        return loads(bytes(buf))
    return report, ask
_limits = json.loads(os.environ.pop("SANDBOX_LIMITS"))
for _name, _value in _limits.items():
    _res = getattr(resource, _name)
    _soft, _hard = resource.getrlimit(_res)
    _value = _value if _hard == resource.RLIM_INFINITY else min(_value, _hard)
    resource.setrlimit(_res, (_value, _value if _name != "RLIMIT_CPU" else _value + 1))
_root = os.path.realpath(os.getcwd())
_preimport = json.loads(os.environ.pop("SANDBOX_PREIMPORT"))
_audit = os.environ.pop("SANDBOX_AUDIT") == "1"
_share = os.environ.pop("SANDBOX_SHARE") == "1"
_BLOCK = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
          "os.kill", "os.killpg", "pty.spawn"}
_PATHS = {"os.remove": 0, "os.unlink": 0, "os.rmdir": 0, "os.rename": (0, 1), "os.replace": (0, 1),
          "os.mkdir": 0, "os.chmod": 0, "os.chown": 0, "os.truncate": 0, "os.symlink": (0, 1), "os.link": (0, 1),
          "shutil.rmtree": 0, "os.utime": 0, "os.chdir": 0}
def _inside(path):
    if isinstance(path, int):
        return True
    try:
        real = os.path.realpath(os.fsdecode(path))
    except Exception:
        return False
    return real == _root or real.startswith(_root + os.sep)
def _hook(event, args):
    if event in _BLOCK:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "import" and args and args[0] in ("ctypes", "_ctypes") and "ctypes" not in sys.modules:
        raise PermissionError("sandbox: importing ctypes is not allowed")
    if event == "open" and len(args) >= 2:
        path, mode = args[0], args[1]
        flags = args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
        if writing and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the sandbox directory is not allowed")
    elif event in _PATHS:
        idx = _PATHS[event]
        for i in (idx if isinstance(idx, tuple) else (idx,)):
            if i < len(args) and not _inside(args[i]):
                raise PermissionError(f"sandbox: {event} on {args[i]!r} outside the sandbox directory is not allowed")
def _text(value):
    try:
        return str(value)
    except BaseException:
        return "<unprintable>"
def _main(channel):
    report, ask = channel
    for mod in _preimport:
        __import__(mod)  # trusted library imports happen before the hook
    code = compile(open(sys.argv[1], encoding="utf-8").read(), "<snippet>", "exec")
    scope = {"__name__": "__main__"}
    if _share:  # a trusted program (the document harness) that sends records of its own
        scope["__report__"] = report
        scope["__ask__"] = ask
    if _audit:
        sys.addaudithook(_hook)
    result = {"type": "result", "exception": None}
    try:
        exec(code, scope)
    except BaseException as exc:
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            pass
        else:
            try:
                traceback.print_exc()
            except BaseException:
                pass
            kind = type(exc)
            result["exception"] = {"type": kind.__qualname__ if kind.__module__ == "builtins"
                                   else f"{kind.__module__}.{kind.__qualname__}", "message": _text(exc)[:4000]}
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    report(result)
    os._exit(0 if result["exception"] is None else 1)
_main(_open_channel())
'''


class IsolationUnavailable(RuntimeError):
    """bwrap cannot run here and the weak mode was not allowed: untrusted code does not run."""


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


# --- isolation modes -------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Launch:
    """How to start the bootstrap: the command, its working directory and the environment of the started process."""

    cmd: list[str]
    cwd: str
    env: dict[str, str]
    decode_rc: Callable[[int], int] = lambda rc: rc
    """Maps the started process's exit status to the snippet's (bwrap reports a signal as 128 + N)."""


@dataclasses.dataclass
class Request:
    """Everything a launcher needs for one run."""

    host_dir: Path
    python: str
    env: dict[str, str]
    tmp_bytes: int
    shm_bytes: int
    report_fd: int
    """The write end of the report channel, inherited by the started process under this number."""
    answer_fd: int = -1
    """The read end of the answer channel (``conversation``), inherited likewise; -1 when the run has none."""


LAUNCHERS: dict[str, Callable[[Request], Launch]] = {}


def launcher(name: str) -> Callable[[Callable[[Request], Launch]], Callable[[Request], Launch]]:
    """Register an isolation mode under ``name`` (the value recorded in every result's ``isolation``)."""
    def register(fn: Callable[[Request], Launch]) -> Callable[[Request], Launch]:
        LAUNCHERS[name] = fn
        return fn
    return register


def _bwrap_rc(rc: int) -> int:
    return -(rc - 128) if rc > 128 and (rc - 128) in {s.value for s in signal.Signals} else rc


@launcher("bwrap")
def _launch_bwrap(req: Request) -> Launch:
    bwrap.identity_files(req.host_dir)
    inside = f"{bwrap.INSIDE_DIR}/bootstrap.py"
    env = {"PATH": "/usr/bin:/bin", **req.env, "HOME": bwrap.INSIDE_TMP, "TMPDIR": bwrap.INSIDE_TMP,
           "XDG_CACHE_HOME": f"{bwrap.INSIDE_TMP}/.cache", "MPLCONFIGDIR": f"{bwrap.INSIDE_TMP}/.mpl",
           "USER": "sandbox", "LOGNAME": "sandbox"}
    cmd = bwrap.command(req.python, ["-s", "-B", inside, f"{bwrap.INSIDE_DIR}/snippet.py", str(req.answer_fd),
                                      str(req.report_fd)],
                        host_dir=req.host_dir,
                        env=env, tmp_bytes=req.tmp_bytes, shm_bytes=req.shm_bytes,
                        bwrap=bwrap.available().path or "bwrap")
    return Launch(cmd, str(req.host_dir), bwrap.bwrap_env(), _bwrap_rc)


@launcher("weak")
def _launch_weak(req: Request) -> Launch:
    work = req.host_dir / "work"
    work.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **req.env, "HOME": str(work), "TMPDIR": str(work)}
    cmd = [req.python, "-s", "-B", str(req.host_dir / "bootstrap.py"), str(req.host_dir / "snippet.py"),
           str(req.answer_fd), str(req.report_fd)]
    return Launch(cmd, str(work), env)


_allow_weak = False


def allow_weak_sandbox(allowed: bool) -> None:
    """Process-wide opt-in (``--allow-weak-sandbox``): without bwrap, run snippets with rlimits and the hook only."""
    global _allow_weak
    _allow_weak = bool(allowed)


def choose_isolation(allow_weak: bool | None = None) -> str:
    """``bwrap`` when it works here; else ``weak`` if allowed; else :class:`IsolationUnavailable` with the fix."""
    avail = bwrap.available()
    if avail.ok:
        return "bwrap"
    if _allow_weak if allow_weak is None else allow_weak:
        return "weak"
    raise IsolationUnavailable(
        f"untrusted article code needs an OS sandbox, but {avail.why}. To run it anyway with only rlimits and an "
        "in-process audit hook (no protection against deliberate attacks), pass --allow-weak-sandbox.")


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
    the program may also ask the host questions (``__ask__(record) -> reply``, :mod:`conformance.article.conversation`):
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
