"""One shard's log, read as it grows: the runner's only view into a shard's process.

The plugin appends one JSON line per record (:class:`conformance.contract.LogKind`); the runner reads the new
lines on every tick, so the watchdog sees a ``start`` record within a tick of its writing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from conformance.contract import LogKind
from conformance.store import results
from conformance.store.schema import log_record_problem


class ShardLog:
    """The runner's view of one shard: its log, read incrementally, and what it says so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._rest = b""
        self.env: dict[str, Any] = {}
        self.collected: dict[str, dict[str, Any]] = {}
        """test_id -> identity fields (spec, transform, function, dtype, variant, name), over every restart."""
        self.checks: dict[str, dict[str, Any]] = {}
        self.in_flight: tuple[str, float] | None = None
        """(test_id, wall time it started) of the check running now, from its ``start`` record."""
        self.in_flight_seen = 0.0
        """``time.monotonic()`` when the runner read that record: what the watchdog measures from, so that
        a change of the wall clock can neither kill a check early nor let one run on."""
        self.end: dict[str, Any] | None = None
        """The runner's ``shard_end`` record: the shard is finished and is not restarted on resume."""
        self.listed = False
        """Whether a ``collected`` record was read: a process that exits without one never reached its checks."""

    def poll(self) -> None:
        """Read the records appended since the last call (a line still being written waits for the next)."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        data = self._rest + data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                continue  # a line cut by a crash mid-write
            if log_record_problem(record) is None:  # --resume refuses a tampered log before it gets here
                self._apply(record)

    def _apply(self, rec: dict[str, Any]) -> None:
        kind = rec.pop("kind", None)
        if kind == LogKind.BACKEND:
            self.env = rec
        elif kind == LogKind.COLLECTED:
            self.listed = True
            for c in rec.get("checks", []):
                self.collected.setdefault(c["test_id"], c)
        elif kind == LogKind.START:
            self.in_flight = (rec.get("test_id", ""), float(rec.get("time", time.time())))
            self.in_flight_seen = time.monotonic()
        elif kind == LogKind.CHECK:
            self.checks[rec["test_id"]] = rec
            if self.in_flight and self.in_flight[0] == rec["test_id"]:
                self.in_flight = None
        elif kind == LogKind.SHARD_END:
            self.end = rec

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        """Write a record on the shard's behalf (its process is dead), and take it in at once."""
        log = results.JsonlLog(self.path)
        try:
            log.write(kind, payload)
        finally:
            log.close()
        self.poll()

    @property
    def remaining(self) -> list[str]:
        return [t for t in self.collected if t not in self.checks]

