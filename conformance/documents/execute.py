"""The one place that talks to the sandbox: when its API changes, ``run_program`` is what changes.

Written against ``conformance.article.sandbox.run_snippet(code, *, timeout, memory, preimport, ...)`` and its
``SandboxResult(status, returncode, stdout, stderr, exception, duration_s, reason)``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

CANCEL = threading.Event()
"""Set on Ctrl-C: running sessions are killed at once (whole tree) and queued ones never start."""


@dataclasses.dataclass
class Outcome:
    """What the sandbox reports about one program: ``status`` is ok, exception, timeout or killed."""

    status: str
    stdout: str
    stderr: str
    duration_s: float
    reason: str = ""


OUTPUT_CAP = 16 * 1024 * 1024
"""A document session's whole output: one JSON line per event, each cell's own output already capped by the
harness (20,000 characters), so the sandbox's default 64 KiB (head and tail) would cut events out of the middle."""


def run_program(code: str, *, timeout: float, preimport: Sequence[str] = (), memory: int | None = None,
                output_cap: int = OUTPUT_CAP) -> Outcome:
    """Run ``code`` in a fresh sandboxed interpreter; never raises for anything the code does."""
    from conformance.article import sandbox

    kwargs = {"memory": memory} if memory else {}
    result = sandbox.run_snippet(code, timeout=timeout, preimport=tuple(preimport), output_cap=output_cap,
                                 cancel=CANCEL, **kwargs)
    reason = result.reason
    if result.status == "exception" and result.exception:
        reason = reason or f"{result.exception.get('type')}: {result.exception.get('message')}"
    return Outcome(status=result.status, stdout=result.stdout, stderr=result.stderr,
                   duration_s=float(result.duration_s), reason=reason)
