"""What a checked document adds up to: its cells' outcomes, its claims by verdict, its transform calls, and the
console lines that say so.

Why: check-doc printed "ok, 12/12 cells run" for a notebook where 8 of 12 cells raised: the count was of cells
*executed*, not of cells that ran to the end.  Every count here comes from the cells' own outcomes: ``cells_run`` is
the cells that finished, ``cells_raised`` those that raised, and a document whose cells raised because of the
machine says which cell, for what cause, and how many failed only because of it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.claims.documents.console import printable
from conformance.contract import VERDICTS

VERDICT_WORDS = tuple(v for v in VERDICTS if v != "partly")
"""The verdicts a document's claims carry: the contract's, but ``partly`` (a document runs on one installed library,
so no claim of it holds on some libraries and not on others)."""
CALL_COUNTS = ("calls", "distinct", "checked", "over_cap")


def claims_by_kind(claims: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per claim kind, how many claims have each verdict."""
    table: dict[str, dict[str, int]] = {}
    for c in claims:
        row = table.setdefault(c["kind"], dict.fromkeys(VERDICT_WORDS, 0))
        row[c["verdict"]] += 1
    return table


def cell_counts(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields of a document record that count its cells: finished, raised, by status, environment roots."""
    by_status = Counter(c["status"] for c in cells)
    roots = [c for c in cells if c.get("environment") and "downstream_of" not in c]
    environment = [{"cell": c["index"], "label": c.get("label", ""), "line": c.get("line"), "cause": c["environment"],
                    "downstream": [d["index"] for d in cells if d.get("downstream_of") == c["index"]]}
                   for c in roots]
    return {"cells_run": by_status.get("ok", 0), "cells_raised": by_status.get("raised", 0),
            "cell_counts": dict(by_status), "environment": environment}


def transform_calls(cells: list[dict[str, Any]]) -> dict[str, int]:
    """The document's transform calls: made at top level, distinct, checked, distinct ones past a site's cap."""
    totals = dict.fromkeys(CALL_COUNTS, 0)
    for c in cells:
        for k in CALL_COUNTS:
            totals[k] += int((c.get("transform_calls") or {}).get(k, 0))
    return totals


def _cells_part(rec: dict[str, Any]) -> str:
    total, ran, raised = len(rec["cells"]), rec.get("cells_run", 0), rec.get("cells_raised", 0)
    text = f"{ran}/{total} cells ran to the end"
    if raised:
        text += f", {raised} raised"
        blamed = []
        for env in rec.get("environment") or []:
            where = env.get("label") or f"line {env.get('line')}"
            blamed.append(f"{where}: environment ({env['cause']})" +
                          (f", {len(env['downstream'])} downstream of it" if env["downstream"] else ""))
        if blamed:
            text += " (" + "; ".join(blamed) + ")"
    others = {k: v for k, v in (rec.get("cell_counts") or {}).items() if k not in ("ok", "raised")}
    if others:
        text += ", " + ", ".join(f"{n} {status}" for status, n in sorted(others.items()))
    return text


def _kind_part(kind: str, row: dict[str, int], calls: dict[str, int]) -> str:
    text = f"{kind} {row.get('true', 0)}/{sum(row.values())}"
    extra = [f"{row[w]} {w}" for w in ("false", "environment") if row.get(w)]
    if kind == "derivative-correct" and calls.get("calls"):
        extra.append(f"{calls['calls']:,} calls, {calls['distinct']:,} distinct, {calls['checked']:,} checked")
    return text + (f" ({'; '.join(extra)})" if extra else "")


def summary_lines(records: list[dict[str, Any]]) -> list[str]:
    """The console summary: one line per document, then one per false claim and per environment cause; every line
    through ``printable``."""
    lines = []
    for rec in records:
        calls = rec.get("transform_calls") or {}
        parts = [_kind_part(kind, row, calls) for kind, row in rec["summary"].items()]
        status = rec["status"] + (f" ({str(rec['reason'])[:300]})" if rec["status"] != "ok" and rec["reason"] else "")
        lines.append(f"{rec['source']}: {status}, {_cells_part(rec)} in {rec['duration_s']:.1f} s"
                     + ("; " + ", ".join(parts) if parts else ""))
        where = rec["file"] or rec["source"]
        for c in rec["claims"]:
            if c["verdict"] in ("false", "environment"):
                word = c["verdict"]
                reason = str(c["reason"]).removeprefix("environment: ")
                lines.append(f"  {where}:{c['line']}: {c['kind']} {word}: {reason}")
    return [printable(line) for line in lines]


def totals_line(records: list[dict[str, Any]], wall: float) -> str:
    """The last console line: documents, cells that finished and that raised, the time, the throughput."""
    ran = sum(r.get("cells_run", 0) for r in records)
    raised = sum(r.get("cells_raised", 0) for r in records)
    rate = (ran + raised) / wall if wall else 0.0
    return (f"{len(records)} documents, {ran} cells ran to the end" + (f", {raised} raised" if raised else "")
            + f", in {wall:.1f} s ({rate:.2f} cells/s)")
