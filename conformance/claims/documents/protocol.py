"""The records a document session sends to the host, and the host's check of every one of them.

The harness (``harness.py``, inside the sandbox) sends, on the sandbox's report channel and in this order: one
``setup`` record per library it intercepts; then for each cell, in order, either one ``cell`` record with status
``skipped`` (a cell the document marks skipped) or a ``start`` record, any ``derivative`` records, and the cell's
``cell`` record (``ok`` or ``raised``).  Derivative records may also come after a cell's end, from a thread it
started, as long as they name a cell that has started.

The records come from the document's own process, so a hostile document can send any of them (see
``docs/trust-boundary.md``).  What the host can do is accept only records that a session could have sent:
:func:`accept` checks the sequence (cells in order, each start followed by its end, nothing twice), every index
(in range), the record types (known ones only) and every field (known names, the right JSON types, known status
words).  The first record it cannot accept raises :class:`Violation` with what was wrong; the session's outcome is
then ``protocol-violation`` and none of that document's records count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

TYPES = ("setup", "start", "cell", "derivative")
"""Record types the harness sends (the sandbox's own ``result`` record is checked by the sandbox)."""
SHOWN = 24
"""Numbers of got/expected a derivative record carries at most (the harness's ``_SHOWN``)."""


class Violation(ValueError):
    """A record the host cannot accept; the message says which and why."""


Check = Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _numbers(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= SHOWN and all(_is_number(x) for x in v)


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(_is_str(x) for x in v)


def _statements(v: Any) -> bool:
    return isinstance(v, dict) and all(k.isdigit() and _is_str(t) for k, t in v.items())


def _cell_exception(v: Any) -> bool:
    """``statement_line``: the line of the top-level statement that raised (``line`` is the innermost frame's)."""
    return (isinstance(v, dict) and {"type", "message", "line"} <= set(v) <= {"type", "message", "line",
                                                                             "statement_line"}
            and _is_str(v["type"]) and _is_str(v["message"]) and _line(v["line"])
            and (_is_int(v.get("statement_line", 1)) and v.get("statement_line", 1) >= 1))


def _count(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _transform_calls(v: Any) -> bool:
    """A cell's account of its transform calls (``inside.ledger``): calls, distinct, checked, over_cap."""
    return isinstance(v, dict) and set(v) == {"calls", "distinct", "checked", "over_cap"} and all(
        _count(n) for n in v.values())


def _probe(v: Any) -> bool:
    if not isinstance(v, dict):
        return False
    if set(v) == {"error"}:
        return _is_str(v["error"])
    return (set(v) == {"shape", "type", "dtype", "repr"} and _is_str(v["type"]) and _is_str(v["repr"])
            and _is_str(v["dtype"])
            and (v["shape"] is None or (isinstance(v["shape"], list) and all(_count(n) for n in v["shape"]))))


def _warnings(v: Any) -> bool:
    """The warnings a cell's run showed (the harness keeps up to 50): category, message, file and line."""
    return isinstance(v, list) and len(v) <= 50 and all(
        isinstance(w, dict) and set(w) == {"category", "message", "filename", "line"} and _is_str(w["category"])
        and _is_str(w["message"]) and _is_str(w["filename"]) and _count(w["line"]) for w in v)


def _timings(v: Any) -> bool:
    """The document's own measurements (``inside.timing``): statement, median and spread in seconds, runs."""
    return isinstance(v, list) and len(v) <= 50 and all(
        isinstance(t, dict) and set(t) == {"stmt", "median_s", "iqr_s", "runs"} and _is_str(t["stmt"])
        and _is_number(t["median_s"]) and _is_number(t["iqr_s"]) and _count(t["runs"]) for t in v)


def _probes(v: Any) -> bool:
    """What the values a claim kind asked to see came out as (``inside.peek``): by expression."""
    return isinstance(v, dict) and all(_is_str(k) and _probe(p) for k, p in v.items())


def _line(v: Any) -> bool:
    return v is None or (_is_int(v) and v >= 1)


@dataclasses.dataclass(frozen=True)
class Shape:
    """The fields of one kind of record: required ones and optional ones, each with its check."""

    required: dict[str, Check]
    optional: dict[str, Check] = dataclasses.field(default_factory=dict)

    def problem(self, record: dict[str, Any]) -> str:
        for name in record:
            if name != "type" and name not in self.required and name not in self.optional:
                return f"unknown field {name[:80]!r}"
        for name in self.required:
            if name not in record:
                return f"no field {name!r}"
        for name, check in {**self.required, **self.optional}.items():
            if name in record and not check(record[name]):
                return f"field {name!r} has a value of the wrong type or range ({type(record[name]).__name__})"
        return ""


def _status(*words: str) -> Check:
    return lambda v: v in words


SETUP_VERSION = Shape({"library": _is_str, "version": _is_str})
SETUP_ERROR = Shape({"library": _is_str, "error": _is_str})
START = Shape({"cell": _is_int})
CELL_SKIPPED = Shape({"cell": _is_int, "status": _status("skipped"), "reason": _is_str})
CELL_RAN = Shape({"cell": _is_int, "status": _status("ok", "raised"), "exception": _optional(_cell_exception),
                  "display": _optional(_is_str), "statements": _statements, "duration_s": _is_number,
                  "stdout": _is_str, "stderr": _is_str, "dropped_chars": lambda v: _is_int(v) and v >= 0},
                 {"value": _is_str, "transform_calls": _transform_calls, "probes": _probes,
                  "warnings": _warnings, "timings": _timings})
_DERIVATIVE_BASE = {"cell": _is_int, "line": _line, "transform": _is_str}
_DERIVATIVE_OPTIONAL = {"stops_gradient": _strings, "duration_s": _is_number, "calls": lambda v: _is_int(v) and v >= 1}
DERIVATIVE_CHECKED = Shape({**_DERIVATIVE_BASE, "status": _status("checked"), "directions": _is_str, "note": _is_str,
                            "got": _numbers, "expected": _numbers, "max_abs_err": _is_number, "bound": _is_number,
                            "rtol": _is_number, "atol": _is_number, "dtype": _is_str,
                            "kind": _status("first", "second", "identity"), "fd_error_estimate": _is_number,
                            "size": lambda v: _is_int(v) and v >= 0}, _DERIVATIVE_OPTIONAL)
DERIVATIVE_UNVERIFIABLE = Shape({**_DERIVATIVE_BASE, "status": _status("unverifiable"), "reason": _is_str},
                                _DERIVATIVE_OPTIONAL)


def _shape(record: dict[str, Any]) -> Shape:
    kind = record.get("type")
    if kind == "setup":
        return SETUP_ERROR if "error" in record else SETUP_VERSION
    if kind == "start":
        return START
    if kind == "cell":
        return CELL_SKIPPED if record.get("status") == "skipped" else CELL_RAN
    if kind == "derivative":
        return DERIVATIVE_UNVERIFIABLE if record.get("status") == "unverifiable" else DERIVATIVE_CHECKED
    raise Violation(f"unknown record type {str(kind)[:80]!r}")


@dataclasses.dataclass
class Evidence:
    """What the host accepted of one session: per-cell records (None: never reported), derivatives, setup."""

    cells: list[dict[str, Any] | None]
    derivatives: list[dict[str, Any]]
    versions: dict[str, str]
    setup_errors: list[str]
    in_flight: int | None
    """The cell that started and did not end (the session ended while it ran), else None."""

    @classmethod
    def empty(cls, cells: int) -> Evidence:
        return cls([None] * cells, [], {}, [], None)


def accept(records: Sequence[Any], *, skipped: Sequence[bool], libraries: Sequence[str], finished: bool) -> Evidence:
    """Check ``records`` (in the order sent) against the session's plan; raise :class:`Violation` at the first one
    that does not fit.

    ``skipped`` says, per cell, whether the document marks it skipped (the harness then sends no ``start``);
    ``libraries`` are the ones the harness was told to intercept; ``finished`` is whether the session reported
    its end (then every cell must have reported too).
    """
    ev = Evidence.empty(len(skipped))
    nxt = 0  # the next cell expected to start (or to be reported skipped)
    current: int | None = None  # the cell between its start and its end
    setup_done: set[str] = set()
    for number, record in enumerate(records, start=1):
        try:
            _one(record, ev, skipped, libraries, setup_done, nxt, current)
        except Violation as exc:
            raise Violation(f"record {number} ({_kind(record)}): {exc}") from None
        kind = record["type"]
        if kind == "start":
            current = record["cell"]
        elif kind == "cell":
            current, nxt = None, record["cell"] + 1
    if current is not None:
        ev.in_flight = current
    if finished and (current is not None or nxt != len(skipped)):
        raise Violation(f"the session reported its end after {nxt} of {len(skipped)} cells")
    return ev


def _kind(record: Any) -> str:
    kind = record.get("type") if isinstance(record, dict) else None
    return str(kind)[:40] if isinstance(kind, str) else "no type"


def _one(record: Any, ev: Evidence, skipped: Sequence[bool], libraries: Sequence[str], setup_done: set[str],
         nxt: int, current: int | None) -> None:
    if not isinstance(record, dict):
        raise Violation("not a JSON object")
    problem = _shape(record).problem(record)
    if problem:
        raise Violation(problem)
    kind = record["type"]
    if kind == "setup":
        library = record["library"]
        if nxt or current is not None or library not in libraries or library in setup_done:
            raise Violation(f"a setup record for {library[:80]!r} is not expected here")
        setup_done.add(library)
        if "version" in record:
            ev.versions[library] = record["version"]
        else:
            ev.setup_errors.append(f"{library}: {record['error']}")
        return
    index = record["cell"]
    if kind == "derivative":
        if not 0 <= index < len(skipped) or (current is None and nxt == 0) or index > max(nxt - 1, current or 0):
            raise Violation(f"a derivative record for cell {index} before that cell started")
        ev.derivatives.append(record)
        return
    if current is not None and not (kind == "cell" and index == current):
        raise Violation(f"cell {current} started and has not ended; got a {kind} record for cell {index}")
    if index != nxt or index >= len(skipped):
        raise Violation(f"expected cell {nxt} of {len(skipped)} next, got a {kind} record for cell {index}")
    is_skip = kind == "cell" and record["status"] == "skipped"
    if kind == "start" and skipped[index]:
        raise Violation(f"cell {index} is skipped by the document and cannot start")
    if kind == "cell" and current is None and not is_skip:
        raise Violation(f"cell {index} ended without starting")
    if is_skip and not skipped[index]:
        raise Violation(f"cell {index} is not skipped by the document")
    if kind == "cell" and not is_skip and (record["status"] == "raised") != (record["exception"] is not None):
        raise Violation(f"cell {index} has status {record['status']!r} with exception {record['exception']!r:.80}")
    if kind == "cell":
        ev.cells[index] = record
