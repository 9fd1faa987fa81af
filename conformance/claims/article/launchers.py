"""How a sandboxed run starts: one launcher per isolation mode, registered by name, and the choice between them.

``bwrap`` (bubblewrap namespaces, :mod:`conformance.claims.article.bwrap`) is the boundary; ``weak`` (rlimits and the
audit hook only) runs only when the user opts in.  A launcher turns a :class:`Request` (the run's directory, its
environment, its limits, the channels' descriptors) into the command that starts the bootstrap; ``sandbox``
starts it, reads it and classifies its outcome.  Every result records the mode's name.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable
from pathlib import Path

from conformance.claims.article import bwrap


class IsolationUnavailable(RuntimeError):
    """bwrap cannot run here and the weak mode was not allowed: untrusted code does not run."""


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
