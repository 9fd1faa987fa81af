"""Finding sandboxes from the host side, for tests that must show a sandbox's processes are gone."""

from __future__ import annotations

import tempfile
from pathlib import Path


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, waiting for its new parent to reap it) does not count."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def sandboxes_with(marker: str) -> dict[bytes, list[int]]:
    """Host pids of the bwrap processes (two per sandbox) running a snippet whose code has ``marker``, per sandbox.

    The code lives in a host directory that bwrap binds; its path is on bwrap's command line.  When bwrap is gone,
    so is its PID namespace and everything in it.
    """
    dirs = [str(p.parent).encode() for p in Path(tempfile.gettempdir()).glob("snippet-*/snippet.py")
            if marker in p.read_text(errors="replace")]
    pids: dict[bytes, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        for d in dirs:
            if d in cmdline and alive(int(entry.name)):
                pids.setdefault(d, []).append(int(entry.name))
    return pids


def host_pids_with(marker: str) -> list[int]:
    """Live host processes whose command line contains ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes() and alive(int(entry.name)):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids
