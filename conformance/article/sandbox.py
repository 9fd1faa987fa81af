"""Run one untrusted snippet in its own fresh interpreter, with limits, and record what happened.

Why a process per snippet: article code is untrusted and may hang, allocate without bound, fork or write files.
Each snippet gets

- a fresh interpreter (``subprocess``: fork+exec, never a bare fork of a process that imported torch or jax);
- its own session (process group), killed as a whole at the wall-clock limit -> status ``timeout``;
- ``resource`` limits set by the bootstrap *in the child, before anything else runs*: RLIMIT_AS (address space;
  torch and jax reserve a lot of virtual memory, so the default is 8 GiB), RLIMIT_CPU, RLIMIT_NPROC and
  RLIMIT_FSIZE.  (They are set by the child rather than through ``preexec_fn`` because ``preexec_fn`` is unsafe
  when the parent has threads, and the checker runs snippets from a thread pool.)
- a temporary working directory that is also its HOME and TMPDIR, removed afterwards;
- a scrubbed environment: PATH, HOME, TMPDIR, LANG, PYTHONPATH (so the project's packages import) and a few
  thread-count variables; nothing else from the caller leaks in (no JAX_ENABLE_X64 unless asked for);
- a Python audit hook (``sys.addaudithook``), installed by a small bootstrap after the trusted library imports
  and before the snippet, that refuses writes, removals, renames and directory changes outside the temporary
  directory, and refuses ``os.fork``, ``os.system``, ``os.exec*``, ``os.posix_spawn`` and ``subprocess.Popen``.

What this does NOT stop: an audit hook sees only operations that go through CPython's audited APIs.  Code that uses
``ctypes`` (or any C extension) to call libc directly (``ctypes.CDLL(None).fork()``, raw ``open(2)``) bypasses it;
importing ``ctypes`` is therefore refused as well, but a library that already imported it can still be abused.  As
root, RLIMIT_NPROC is not enforced by the kernel.  This is a guard against accidents in article code, not a
security boundary against a determined attacker; use a container or a VM for that.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

GiB = 1024**3
DEFAULT_MEMORY = 8 * GiB
DEFAULT_TIMEOUT = 60.0
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

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
_source = open("snippet.py", encoding="utf-8").read()
_code = compile(_source, "<snippet>", "exec")
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
                                "message": str(_exc)}
sys.stdout.flush()
sys.stderr.write("\n" + _nonce + json.dumps(_result) + "\n")
sys.stderr.flush()
os._exit(0 if _result["exception"] is None else 1)
'''


@dataclasses.dataclass
class SandboxResult:
    """What one run produced: ``status`` is ok, exception, timeout or killed (``reason`` says why)."""

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    exception: dict[str, str] | None
    duration_s: float
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return str(code)


def run_snippet(
    code: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory: int = DEFAULT_MEMORY,
    cpu_seconds: int | None = None,
    nproc: int = 4096,
    fsize: int = 64 * 1024**2,
    preimport: Sequence[str] = (),
    extra_env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> SandboxResult:
    """Run ``code`` as ``__main__`` in a fresh limited interpreter; never raises for anything the snippet does.

    ``preimport`` names trusted modules (torch, jax) imported before the audit hook, so library start-up is not
    mistaken for the snippet's own behaviour.
    """
    work = Path(tempfile.mkdtemp(prefix="snippet-"))
    nonce = "@@SANDBOX-" + uuid.uuid4().hex + "@@"
    try:
        (work / "snippet.py").write_text(code, encoding="utf-8")
        (work / "bootstrap.py").write_text(BOOTSTRAP, encoding="utf-8")
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        env.update(HOME=str(work), TMPDIR=str(work), LANG=env.get("LANG", "C.UTF-8"), PYTHONIOENCODING="utf-8",
                   PYTHONDONTWRITEBYTECODE="1", SANDBOX_NONCE=nonce, SANDBOX_PREIMPORT=json.dumps(list(preimport)),
                   SANDBOX_LIMITS=json.dumps({
                       "RLIMIT_AS": int(memory), "RLIMIT_CPU": int(cpu_seconds or max(1, int(timeout * 2))),
                       "RLIMIT_NPROC": int(nproc), "RLIMIT_FSIZE": int(fsize)}))
        env.update(extra_env or {})
        # -s: no user site; -B: no .pyc writes.  Not -I, which would drop PYTHONPATH (the project's packages).
        cmd = [python, "-s", "-B", str(work / "bootstrap.py")]
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        duration = round(time.monotonic() - started, 3)
        stdout = out.decode("utf-8", "replace")
        stderr_all = err.decode("utf-8", "replace")
        result = None
        stderr_lines = []
        for line in stderr_all.splitlines():
            if line.startswith(nonce):
                result = json.loads(line[len(nonce):])
            else:
                stderr_lines.append(line)
        stderr = "\n".join(stderr_lines).strip()
        if timed_out:
            return SandboxResult("timeout", proc.returncode, stdout, stderr, None, duration,
                                 f"exceeded the wall-clock limit of {timeout:g} s; process group killed")
        if result is None:
            rc = proc.returncode
            reason = (f"killed by signal {_signal_name(-rc)}" if rc < 0 else f"exited with code {rc} before reporting")
            if rc < 0 and -rc == signal.SIGXCPU:
                reason += " (CPU time limit)"
            tail = stderr.splitlines()[-1:] if stderr else []
            if tail and "MemoryError" in tail[0]:
                reason += " (out of memory)"
            return SandboxResult("killed", rc, stdout, stderr, None, duration, reason)
        exc = result["exception"]
        if exc is None:
            return SandboxResult("ok", proc.returncode, stdout, stderr, None, duration)
        reason = "memory limit (RLIMIT_AS) reached" if exc["type"] == "MemoryError" else ""
        return SandboxResult("exception", proc.returncode, stdout, stderr, exc, duration, reason)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def probe_code(body: str) -> str:
    """Dedent helper for probe scripts the checker itself writes (trusted, but run the same way)."""
    return textwrap.dedent(body).strip() + "\n"
