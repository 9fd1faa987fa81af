"""check-doc's option values, checked before any document is read or run (exit 2, one line naming the fix).

Why: ``--timeout 0`` or ``-5`` ran every document as "timeout" and exited 0, ``nan`` and ``inf`` ran without a
limit, and an ``--out`` that is a directory or ``/proc/x.json`` was found unwritable only after all the work.
``conformance.__main__`` has its own copies of the first two for the battery (``_seconds``, ``_check_out``);
these are local to check-doc until the lead unifies them.  ``--device-map`` entries are checked the same way: a
malformed one never reaches a sandbox.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
from pathlib import Path

from conformance.arguments import count_type


def seconds(value: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (e.g. 120)") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive, finite number of seconds (e.g. 120)")
    return number


jobs = count_type("--jobs")
"""An argparse type: how many documents run at once, 1 or more."""


def output_problem(out: Path, flag: str = "--out") -> str:
    """Why a results file cannot be written at ``out`` ("" when it can), found by trying, not by permission bits.

    ``os.access`` says yes to root for ``/proc``; only creating a file there says no.  So a temporary file is
    created, and removed at once, in the directory the results will go to (or its nearest existing ancestor,
    since the writer creates missing directories).  A path that exists and is not a regular file is refused too:
    the atomic writer would replace a FIFO or a device node with the results.
    """
    if out.is_dir():
        return f"{flag} {out}: is a directory (give a file name, e.g. {flag} {out / 'run.json'})"
    if out.exists() and not out.is_file():
        return f"{flag} {out}: exists and is not a regular file (give the name of a results file)"
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{flag} {out}: {parent} is not a directory (choose a path in a writable directory)"
    try:
        fd, probe = tempfile.mkstemp(prefix=".check-doc-probe-", dir=parent)
    except OSError as exc:
        return f"{flag} {out}: cannot create files in {parent} ({exc.strerror or exc}; choose a writable place)"
    os.close(fd)
    os.unlink(probe)
    return ""


DEVICE_KINDS = ("cpu", "cuda", "gpu", "mps", "xpu", "tpu")
"""Device names ``--device-map`` takes: torch's (``cuda``, ``mps``, ``xpu``) and jax's (``gpu``, ``tpu``)."""
_DEVICE = re.compile(rf"^(?:{'|'.join(DEVICE_KINDS)})(?::\d+)?$")


def device_map_entry(value: str) -> tuple[str, str]:
    """An argparse type: one ``FROM=TO`` of ``--device-map`` (``cuda=cpu``, ``cuda:1=cpu``)."""
    source, sep, target = value.strip().partition("=")
    source, target = source.strip().lower(), target.strip().lower()
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"{value!r} is not FROM=TO (e.g. --device-map cuda=cpu)")
    for name in (source, target):
        if not _DEVICE.match(name):
            raise argparse.ArgumentTypeError(f"{value!r}: {name!r} is not a device (one of {', '.join(DEVICE_KINDS)}, "
                                             "optionally with :INDEX; e.g. --device-map cuda=cpu)")
    if source == target:
        raise argparse.ArgumentTypeError(f"{value!r} maps a device to itself (e.g. --device-map cuda=cpu)")
    return source, target


def device_map(entries: list[tuple[str, str]] | None) -> tuple[dict[str, str], str]:
    """The map of all ``--device-map`` entries, and "" or why they do not make one (a device mapped twice)."""
    mapping: dict[str, str] = {}
    for source, target in entries or []:
        if source in mapping and mapping[source] != target:
            return {}, (f"--device-map maps {source} twice ({mapping[source]} and {target}): give each device "
                        "once")
        mapping[source] = target
    return mapping, ""
