"""A shard's process: its state in the scheduling loop, how its exit reads, and how it is stopped for good."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
from pathlib import Path

from conformance.run.runner.shard_log import ShardLog

NORMAL_EXITS = (0, 1, 5)
"""pytest's exit codes of a session that ran to its end: all passed, some failed, nothing collected."""


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


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return {2: "interrupted or a collection error", 3: "pytest internal error", 4: "pytest usage error"}.get(
        code, f"exit code {code}")


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the shard's whole process group (anything it spawned too), then reap it.

    Safe after the leader is reaped: Linux does not hand out a PID still in use as a group ID.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
