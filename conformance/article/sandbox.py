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
depends on it), runs the snippet, and reports on stderr: a line starting with a per-run nonce, then JSON.

Output is read with a deadline and a size cap (:mod:`conformance.article.capture`): each stream keeps its first and
last 32 KiB, so neither the checker's memory nor the results file grows with what a snippet prints.  Anything the
protocol line does not parse into becomes an ``error`` outcome, never an exception in the checker.
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
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance.article import bwrap, cgroup
from conformance.article.capture import DEFAULT_CAP, read_bounded

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

BOOTSTRAP = r'''
import json, os, resource, sys, traceback
_nonce = os.environ.pop("SANDBOX_NONCE")
_limits = json.loads(os.environ.pop("SANDBOX_LIMITS"))
for _name, _value in _limits.items():
    _res = getattr(resource, _name)
    _soft, _hard = resource.getrlimit(_res)
    _value = _value if _hard == resource.RLIM_INFINITY else min(_value, _hard)
    resource.setrlimit(_res, (_value, _value if _name != "RLIMIT_CPU" else _value + 1))
_root = os.path.realpath(os.getcwd())
_preimport = json.loads(os.environ.pop("SANDBOX_PREIMPORT"))
_audit = os.environ.pop("SANDBOX_AUDIT") == "1"
for _mod in _preimport:
    __import__(_mod)  # trusted library imports happen before the hook
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
_source = open(sys.argv[1], encoding="utf-8").read()
_code = compile(_source, "<snippet>", "exec")
if _audit:
    sys.addaudithook(_hook)
_result = {"exception": None}
try:
    exec(_code, {"__name__": "__main__"})
except BaseException as _exc:
    if isinstance(_exc, SystemExit) and _exc.code in (None, 0):
        pass
    else:
        traceback.print_exc()
        _result["exception"] = {"type": type(_exc).__qualname__ if type(_exc).__module__ == "builtins"
                                else f"{type(_exc).__module__}.{type(_exc).__qualname__}",
                                "message": str(_exc)[:4000]}
sys.stdout.flush()
sys.stderr.write("\n" + _nonce + json.dumps(_result) + "\n")
sys.stderr.flush()
os._exit(0 if _result["exception"] is None else 1)
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
    cmd = bwrap.command(req.python, ["-s", "-B", inside, f"{bwrap.INSIDE_DIR}/snippet.py"], host_dir=req.host_dir,
                        env=env, tmp_bytes=req.tmp_bytes, shm_bytes=req.shm_bytes,
                        bwrap=bwrap.available().path or "bwrap")
    return Launch(cmd, str(req.host_dir), bwrap.bwrap_env(), _bwrap_rc)


@launcher("weak")
def _launch_weak(req: Request) -> Launch:
    work = req.host_dir / "work"
    work.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **req.env, "HOME": str(work), "TMPDIR": str(work)}
    cmd = [req.python, "-s", "-B", str(req.host_dir / "bootstrap.py"), str(req.host_dir / "snippet.py")]
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


def parse_report(stderr: str, nonce: str) -> tuple[dict[str, Any] | None, str, str]:
    """Split the bootstrap's report from stderr: (report or None, stderr without it, protocol problem or "").

    Defensive: the snippet shares the stream, so a line with the nonce may be followed by anything.  The last
    such line counts; it must be a JSON object whose ``exception`` is null or an object with string fields.
    """
    lines, found = [], None
    for line in stderr.splitlines():
        if line.startswith(nonce):
            found = line[len(nonce):]
        else:
            lines.append(line)
    rest = "\n".join(lines).strip()
    if found is None:
        return None, rest, ""
    try:
        report = json.loads(found)
    except ValueError as exc:
        return None, rest, f"malformed report after the protocol marker ({exc})"
    exc_info = report.get("exception", 0) if isinstance(report, dict) else 0
    if exc_info is not None and not (isinstance(exc_info, dict) and all(
            isinstance(exc_info.get(k), str) for k in ("type", "message"))):
        return None, rest, "malformed report after the protocol marker (no valid 'exception' field)"
    return {"exception": exc_info}, rest, ""


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
) -> SandboxResult:
    """Run ``code`` as ``__main__`` in a fresh limited interpreter; never raises for anything the snippet does.

    ``preimport`` names trusted modules (torch, jax) imported before the audit hook, so library start-up is not
    mistaken for the snippet's own behaviour.  ``isolation`` defaults to :func:`choose_isolation` (which raises
    :class:`IsolationUnavailable` rather than run untrusted code unprotected).  ``audit_hook=False`` drops the
    in-process layer (the hostile tests use it to show the OS boundary holds alone).  Setting ``cancel`` kills a
    running snippet at once (status ``cancelled``) and keeps a queued one from starting.
    """
    mode = isolation or choose_isolation()
    if mode not in LAUNCHERS:
        raise ValueError(f"unknown isolation {mode!r} (known: {', '.join(LAUNCHERS)})")
    if cancel is not None and cancel.is_set():
        return SandboxResult("cancelled", None, "", "", None, 0.0, "cancelled before it started", mode)
    host_dir = Path(tempfile.mkdtemp(prefix="snippet-"))
    nonce = "@@SANDBOX-" + uuid.uuid4().hex + "@@"
    proc: subprocess.Popen[bytes] | None = None
    cleanup = contextlib.ExitStack()
    try:
        (host_dir / "snippet.py").write_text(code, encoding="utf-8")
        (host_dir / "bootstrap.py").write_text(BOOTSTRAP, encoding="utf-8")
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env.update(PYTHONPATH=str(PROJECT_ROOT), LANG=env.get("LANG", "C.UTF-8"), PYTHONIOENCODING="utf-8",
                   PYTHONDONTWRITEBYTECODE="1", SANDBOX_NONCE=nonce, SANDBOX_PREIMPORT=json.dumps(list(preimport)),
                   SANDBOX_AUDIT="1" if audit_hook else "0",
                   SANDBOX_LIMITS=json.dumps({
                       "RLIMIT_AS": int(memory), "RLIMIT_CPU": int(cpu_seconds or max(1, int(timeout * 2))),
                       "RLIMIT_NPROC": int(nproc), "RLIMIT_FSIZE": int(fsize), "RLIMIT_CORE": 0}))
        env.update(extra_env or {})
        launch = LAUNCHERS[mode](Request(host_dir, python, env, tmp_bytes, shm_bytes))
        if mode == "bwrap":  # as root, RLIMIT_NPROC does not hold: cap processes and threads with a cgroup
            cap = cleanup.enter_context(cgroup.pids_cap(max_pids))
            if cap is not None:
                launch.cmd = cap.wrap(launch.cmd)
        started = time.monotonic()
        # A new session: the group is killed as a whole, and the terminal's Ctrl-C reaches the checker only.
        proc = subprocess.Popen(launch.cmd, cwd=launch.cwd, env=launch.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
        out, err, how = read_bounded(proc, timeout=timeout, kill=lambda: _kill_tree(proc), cap=output_cap,
                                     grace=KILL_GRACE, cancel=cancel)
        rc = proc.poll()
        if rc is None:  # killed a moment ago (timeout, cancel): reap it, within a bound
            _kill_tree(proc)
            try:
                rc = proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                rc = None
        duration = round(time.monotonic() - started, 3)
        return _classify(out.text(), err.text(), nonce, None if rc is None else launch.decode_rc(rc), how.timed_out,
                         how.cancelled, timeout, duration, mode)
    finally:
        if proc is not None:
            if proc.poll() is None:
                _kill_tree(proc)  # an exception (KeyboardInterrupt) in this thread: never leave the tree running
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        cleanup.close()
        shutil.rmtree(host_dir, ignore_errors=True)


def _classify(stdout: str, stderr_all: str, nonce: str, rc: int | None, timed_out: bool, cancelled: bool,
              timeout: float, duration: float, mode: str) -> SandboxResult:
    report, stderr, problem = parse_report(stderr_all, nonce)

    def result(status: str, exc: dict[str, str] | None = None, reason: str = "") -> SandboxResult:
        return SandboxResult(status, rc, stdout, stderr, exc, duration, reason, mode)

    if cancelled:
        return result("cancelled", reason="cancelled while running (interrupt); process tree killed")
    if timed_out:
        return result("timeout", reason=f"exceeded the wall-clock limit of {timeout:g} s; process tree killed")
    if problem:
        return result("error", reason=problem)
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
