"""The one place that talks to the sandbox: when its API changes, ``run_program`` is what changes.

Written against ``conformance.claims.article.sandbox.run_snippet(code, *, timeout, memory, preimport, records, ...)`` and
its ``SandboxResult(status, returncode, stdout, stderr, exception, duration_s, reason, isolation, records,
protocol)``.  A program that sends records (the document harness, the docstring probe) gets them back here; a
problem on the report channel is the outcome ``protocol-violation``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Sequence
from typing import Any

from conformance.claims.article.conversation import Host
from conformance.claims.documents.limits import CHANNEL_CAP

CANCEL = threading.Event()
"""The default cancel event (set on Ctrl-C): running sessions are killed at once (whole tree), queued ones never
start.  ``cli.check`` passes an event of its own, so one interrupted check does not cancel the next."""


@dataclasses.dataclass
class Outcome:
    """What the sandbox reports about one program: ``status`` is ok, exception, timeout, killed, error, cancelled
    or protocol-violation; ``records`` are the program's own records, framing-checked, in the order sent."""

    status: str
    stdout: str
    stderr: str
    duration_s: float
    reason: str = ""
    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)


OUTPUT_CAP = 64 * 1024
"""Stdout and stderr kept of a session (head and tail): only data since the records travel on their own channel,
kept for diagnosis."""


def run_program(code: str, *, timeout: float, preimport: Sequence[str] = (), memory: int | None = None,
                output_cap: int = OUTPUT_CAP, records: Collection[str] = (), channel_cap: int = CHANNEL_CAP,
                cancel: threading.Event | None = None, host: Host | None = None) -> Outcome:
    """Run ``code`` in a fresh sandboxed interpreter; never raises for anything the code does.

    ``records`` are the record types the program sends (it finds the writer as ``__report__``); with ``host`` it
    may also ask the host questions (``__ask__``, ``conformance.claims.article.conversation``).
    """
    from conformance.claims.article import sandbox

    kwargs = {"memory": memory} if memory else {}
    result = sandbox.run_snippet(code, timeout=timeout, preimport=tuple(preimport), output_cap=output_cap,
                                 cancel=CANCEL if cancel is None else cancel, records=tuple(records),
                                 channel_cap=channel_cap, answer=host, **kwargs)
    reason = result.reason
    status = result.status
    if result.protocol and status != "cancelled":
        status, reason = "protocol-violation", result.protocol
    if status == "exception" and result.exception:
        reason = reason or f"{result.exception.get('type')}: {result.exception.get('message')}"
    return Outcome(status=status, stdout=result.stdout, stderr=result.stderr, duration_s=float(result.duration_s),
                   reason=reason, records=list(result.records))
