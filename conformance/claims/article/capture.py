"""Read a child's stdout and stderr with a deadline and a size cap.

Why not ``Popen.communicate``: it buffers everything (a 100 MB print grew the checker by 300 MB) and waits for
end-of-file, which any process holding a copy of the pipe can withhold forever (a grandchild in its own session
outlived the kill of the process group).  Here each stream keeps only its first and last bytes
(:class:`HeadTail`), and reading stops at the deadline, or a short grace after the child exits, whether or not
the pipes were closed.

A third pipe, the report channel of :mod:`conformance.claims.article.sandbox`, is read the same way into a
:class:`Lines` buffer: the records on it must arrive whole, so it keeps its first bytes up to a cap (never a
middle cut) and says when more came.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

KiB = 1024
DEFAULT_CAP = 64 * KiB
CHUNK = 64 * KiB


class HeadTail:
    """The first and last ``cap // 2`` bytes of a stream, and how many bytes it had in all."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.half = max(1, cap // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.half:  # trim rarely: amortized O(1) per byte, memory <= 2 * half + chunk
                del self.tail[: len(self.tail) - self.half]

    @property
    def cut(self) -> int:
        return self.total - len(self.head) - min(len(self.tail), self.half)

    def parts(self) -> tuple[bytes, int, bytes]:
        """(head, bytes cut, tail)."""
        tail = bytes(self.tail[-self.half:]) if self.tail else b""
        return bytes(self.head), self.cut, tail

    def text(self) -> str:
        """The kept bytes as text; a ``[... N bytes cut ...]`` line marks where the middle was dropped."""
        head, cut, tail = self.parts()
        if not cut:
            return (head + tail).decode("utf-8", "replace")
        return (head.decode("utf-8", "replace") + f"\n[... {cut} bytes cut ...]\n"
                + tail.decode("utf-8", "replace"))


class Lines:
    """The first ``cap`` bytes of a stream, whole lines only, and whether more came (``overflowed``).

    For a record channel: a line cut in the middle is no record, and keeping the head (not head and tail) keeps
    records in the order they were sent.  Past the cap the rest is counted and dropped, so memory stays bounded.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += data[:room]

    @property
    def overflowed(self) -> bool:
        return self.total > self.cap

    def lines(self) -> tuple[list[bytes], bytes]:
        """(complete lines, without their newline; the unterminated rest, b"" when the stream ended a line)."""
        *whole, rest = bytes(self.data).split(b"\n")
        return whole, rest


class Sink(Protocol):
    def feed(self, data: bytes) -> None: ...


class Outcome:
    """How reading ended: ``timed_out`` when the deadline passed first, ``cancelled`` when asked to stop."""

    def __init__(self) -> None:
        self.timed_out = False
        self.cancelled = False


def read_bounded(
    proc: subprocess.Popen[bytes],
    *,
    timeout: float,
    kill: Callable[[], None],
    cap: int = DEFAULT_CAP,
    grace: float = 1.0,
    cancel: threading.Event | None = None,
    extra: Mapping[int, Sink] | None = None,
) -> tuple[HeadTail, HeadTail, Outcome]:
    """Collect ``proc``'s stdout/stderr until both close and it exits, or ``grace`` s after it exits, or the deadline.

    ``extra`` maps more file descriptors (the read end of a pipe the child writes) to the buffers they fill; they
    are read, and waited for, like the two standard streams.

    At the deadline (or on ``cancel``) ``kill`` is called once and reading continues for at most ``grace``
    seconds more, so the whole call takes at most ``timeout + grace`` (plus one poll interval) however the child
    and its descendants behave.
    """
    assert proc.stdout is not None and proc.stderr is not None
    bufs: dict[int, Sink] = {proc.stdout.fileno(): HeadTail(cap), proc.stderr.fileno(): HeadTail(cap)}
    bufs.update(extra or {})
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    outcome = Outcome()
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    stop_at: float | None = None  # set once the child has exited or been killed
    try:
        while True:
            now = time.monotonic()
            if stop_at is None:
                if cancel is not None and cancel.is_set():
                    outcome.cancelled = True
                elif now >= deadline:
                    outcome.timed_out = True
                if outcome.cancelled or outcome.timed_out:
                    kill()
                    stop_at = now + grace
                elif proc.poll() is not None:
                    stop_at = now + grace
            if stop_at is not None and now >= stop_at:
                break
            wait = min(0.2, (stop_at if stop_at is not None else deadline) - now)
            if not sel.get_map():  # both pipes closed: the process alone decides now (until the deadline)
                if proc.poll() is not None:
                    break
                try:
                    proc.wait(timeout=max(0.0, min(wait, 0.05)))
                except subprocess.TimeoutExpired:
                    pass
                continue
            for key, _ in sel.select(max(0.0, wait)):
                try:
                    data = os.read(key.fd, CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    bufs[key.fd].feed(data)
                else:
                    sel.unregister(key.fd)
    finally:
        sel.close()
    out, err = bufs[out_fd], bufs[err_fd]
    assert isinstance(out, HeadTail) and isinstance(err, HeadTail)
    return out, err, outcome
