"""The report channel when the program asks the host questions and waits for the answers.

Why: the document checker's oracle (finite differences, tolerances, the comparison) must run on the host, out of
the untrusted document's reach, while the function it differentiates lives only in the sandboxed process.  So the
harness asks: it sends an ``ask`` record on the report channel and blocks reading one JSON line from a second pipe,
the answer channel, that only the host writes.  The host answers with the points it wants the function evaluated
at, and later turns the values into its own records (``conformance.claims.documents.oracle``).

:class:`Conversation` stands between the report channel's pipe and its :class:`~conformance.claims.article.capture.Lines`
buffer.  Each complete line is looked at once: an ``ask`` record goes to the caller's ``answer`` function and never
into the buffer; the records ``answer`` returns take its place, in order; every other line passes through
untouched (``parse_channel`` checks it later, as without a conversation).  Answers are written by a thread of
their own, so a program that asks and then stops reading can block only that thread, never the read loop and
its deadline.  What the asks may cost is capped (:data:`ASK_CAP` bytes in all, :data:`MAX_ASK` per ask); past
that, or for an ask that is not a JSON object, the conversation records the problem, answers nothing more, and
the run's outcome is ``error`` with the problem named.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
from typing import Any, Protocol

from conformance.claims.article.capture import Lines

MiB = 1024**2
MAX_ASK = 4 * MiB
"""Bytes of one ask (one line): the harness keeps its values far below this."""
ASK_CAP = 256 * MiB
"""Bytes of all the asks of one run: a document with a few hundred checked transform calls stays far below."""
_ASK = b'{"type": "ask"'



class Host(Protocol):
    """The host's side of a conversation."""

    def answer(self, ask: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The reply to one ask (it goes back to the program) and the records that take the ask's place."""

    def screen(self, record: dict[str, Any]) -> str:
        """Why the program may not send this record of its own ("" when it may): what only the host writes."""


class AskError(ValueError):
    """An ask the host cannot take: the run's outcome becomes ``error`` with this message."""


class Conversation:
    """A :class:`Lines` sink that answers the program's ``ask`` records on ``reply_fd`` (see the module)."""

    def __init__(self, lines: Lines, host: Host, reply_fd: int) -> None:
        self.lines, self.host, self.reply_fd = lines, host, reply_fd
        self.pending = bytearray()
        self.asked = 0
        self.problem = ""
        self._out: queue.Queue[bytes | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write, name="answer-channel", daemon=True)
        self._writer.start()

    def feed(self, data: bytes) -> None:
        self.pending += data
        while True:
            end = self.pending.find(b"\n")
            if end < 0:
                break
            line = bytes(self.pending[:end])
            del self.pending[:end + 1]
            self._line(line)
        if len(self.pending) > MAX_ASK and self.pending.startswith(_ASK):
            self._fail(f"an ask on the report channel is longer than {MAX_ASK} bytes")
            self.pending.clear()
        elif len(self.pending) > MAX_ASK:  # not an ask: the buffer's own caps and checks judge it
            self.lines.feed(bytes(self.pending))
            self.pending.clear()

    def close(self) -> None:
        """The channel ended: pass on an unterminated rest, stop the answer thread (bounded wait)."""
        if self.pending:
            self.lines.feed(bytes(self.pending))
            self.pending.clear()
        self._out.put(None)
        self._writer.join(timeout=1.0)

    def _line(self, raw: bytes) -> None:
        if not raw.startswith(_ASK):
            self._screen(raw)
            self.lines.feed(raw + b"\n")
            return
        if self.problem:
            return
        self.asked += len(raw)
        if self.asked > ASK_CAP:
            self._fail(f"the asks on the report channel passed {ASK_CAP} bytes in all")
            return
        try:
            record = json.loads(raw.decode("utf-8"))
            if not isinstance(record, dict):
                raise AskError("an ask on the report channel is not a JSON object")
            reply, records = self.host.answer(record)
        except (AskError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            self._fail(str(exc) or type(exc).__name__)
            return
        for rec in records:
            self.lines.feed((json.dumps(rec) + "\n").encode("ascii"))
        self._out.put((json.dumps(reply) + "\n").encode("ascii"))

    def _screen(self, raw: bytes) -> None:
        try:
            record = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return  # not a record: parse_channel names the problem
        if isinstance(record, dict):
            why = self.host.screen(record)
            if why:
                self._fail(why)

    def _fail(self, why: str) -> None:
        self.problem = self.problem or why
        self._out.put((json.dumps({"error": why}) + "\n").encode("ascii"))

    def _write(self) -> None:
        while True:
            data = self._out.get()
            if data is None:
                return
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self.reply_fd, view):]
            except OSError:  # the program ended (EPIPE): nothing more to answer
                with contextlib.suppress(Exception):
                    while self._out.get_nowait() is not None:
                        pass
                return
