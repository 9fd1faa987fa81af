"""check-doc's option values, checked before any document is read or run (exit 2, one line naming the fix).

Why: ``--timeout 0`` or ``-5`` ran every document as "timeout" and exited 0, ``nan`` and ``inf`` ran without a
limit, and an ``--out`` that is a directory or ``/proc/x.json`` was found unwritable only after all the work.
``conformance.__main__`` has its own copies of the first two for the battery (``_seconds``, ``_check_out``);
these are local to check-doc until the lead unifies them.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path


def seconds(value: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (e.g. 120)") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive, finite number of seconds (e.g. 120)")
    return number


def jobs(value: str) -> int:
    """An argparse type: how many documents run at once, 1 or more."""
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number (e.g. 2)") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} runs nothing (use 1 or more)")
    return count


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
