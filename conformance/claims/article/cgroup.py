"""A process-count cap for one sandbox run, through a pids cgroup, for when the checker runs as root.

Why: bwrap maps the sandbox's user to the user that started it, and the kernel does not apply RLIMIT_NPROC to
uid 0, so as root a fork bomb inside the sandbox is bounded only by the wall-clock limit.  A pids cgroup counts
processes and threads whoever owns them.  Its cap applies from the moment a process joins, so the sandbox's
launcher joins first and then execs bwrap (:meth:`PidsCap.wrap`): nothing is forked before the cap holds.

As an ordinary user RLIMIT_NPROC works and no cgroup is needed (nor writable); :func:`pids_cap` returns None.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup directory for ``controller`` (v1 hierarchy), or its v2 cgroup if pids is delegated."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            base = CGROUP_ROOT / controller
            return base / path.lstrip("/") if base.is_dir() else None
    for line in lines:
        if line.startswith("0::"):
            here = CGROUP_ROOT / line[3:].lstrip("/")
            control = here / "cgroup.subtree_control"
            if control.exists() and controller in control.read_text().split():
                return here
    return None


class PidsCap:
    """One run's cgroup: created with ``pids.max``, joined by the launcher, emptied and removed afterwards."""

    def __init__(self, path: Path, max_pids: int) -> None:
        self.path = path
        path.mkdir()
        (path / "pids.max").write_text(str(int(max_pids)))

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started by a shell that first moves itself into the cgroup, then execs ``cmd``."""
        procs = self.path / "cgroup.procs"
        return ["/bin/sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sandbox-pids-cap", *cmd]

    def peak(self) -> int | None:
        """The most processes the run held at once, where the kernel reports it (v2's pids.peak)."""
        try:
            return int((self.path / "pids.peak").read_text())
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        """Kill whatever is left in the cgroup and remove it (a cgroup with members cannot be removed)."""
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.path.rmdir()
                return
            time.sleep(0.02)


@contextlib.contextmanager
def pids_cap(max_pids: int) -> Iterator[PidsCap | None]:
    """A fresh pids cgroup capped at ``max_pids`` when running as root and one can be made; else None."""
    cap = None
    if os.geteuid() == 0:
        parent = _own_cgroup("pids")
        if parent is not None and os.access(parent, os.W_OK):
            try:
                cap = PidsCap(parent / f"transform-conformance-{uuid.uuid4().hex[:12]}", max_pids)
            except OSError:
                cap = None
    try:
        yield cap
    finally:
        if cap is not None:
            cap.close()
