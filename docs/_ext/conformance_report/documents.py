"""Documents checked without a claims file (``python -m conformance check-doc``): one row per document, then
each document's examples with what they did (runs / shows / derivative-correct) and the evidence of every claim
that did not come out true.

A reader maintaining tutorials wants the failing example's file and line, what the page states, what the code
does now, and the command that reproduces it; so each of those is on the page, read from the results alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .blocks import Doc
from .inline import Inline, em, esc, join, lit, ref, strong
from .model import Report, Run, fmt, fmt_seconds, project_path
from .text import slug
from .vocab import VERDICTS, verdict_badge

KINDS = ("runs", "shows", "derivative-correct", "asserts", "names")
"""The claim kinds every document table shows first, in this order; any other kind the results hold (a kind
registered later: ``reachable``, ``not-deprecated``) gets a column after them, so a new kind is never hidden."""


def _kinds(found: list[tuple[Run, dict[str, Any]]]) -> list[str]:
    seen = {str(c.get("kind")) for _, rec in found for c in rec.get("claims") or [] if c.get("kind")}
    return [*KINDS, *sorted(seen - set(KINDS))]


def _counts(claims: list[dict[str, Any]], kind: str) -> Inline | str:
    counts = Counter(str(c.get("verdict")) for c in claims if c.get("kind") == kind)
    if not counts:
        return "—"
    return join(" ", (verdict_badge(v, counts[v]) for v in VERDICTS if counts[v]))


def _label(run: Run, rec: dict[str, Any]) -> str:
    return "document-" + slug(f"r{run.index}", rec.get("source", ""))


def _documents(report: Report) -> list[tuple[Run, dict[str, Any]]]:
    return [(run, rec) for run in report.runs for rec in run.doc.get("documents") or []]


def _overview(w: Doc, report: Report, found: list[tuple[Run, dict[str, Any]]]) -> None:
    multi = len(report.runs) > 1
    kinds = _kinds(found)
    rows = []
    for run, rec in found:
        versions = ", ".join(f"{k} {v}" for k, v in (rec.get("libraries") or {}).items()) or "—"
        cells = rec.get("cells") or []
        rows.append([
            *([esc(run.name)] if multi else []),
            ref(esc(rec.get("title") or rec.get("source")), _label(run, rec)),
            esc(rec.get("kind", "")),
            esc(versions),
            esc(rec.get("status", "")),
            f"{rec.get('cells_run', 0)} of {len(cells)}"
            + (f" ({rec['cells_raised']} raised)" if rec.get("cells_raised") else ""),
            *(_counts(rec.get("claims") or [], k) for k in kinds),
            fmt_seconds(rec.get("duration_s")),
        ])
    w.table([*(["Run"] if multi else []), "Document", "Kind", "Libraries", "Session", "Cells run",
             *(k.capitalize() for k in kinds), "Time"], rows, css_class="conformance-documents")
    for run in report.runs:
        figures = (run.header.get("documents") or {})
        if figures.get("cells_per_s") is not None:
            w.para("Throughput (", esc(run.name), f"): {figures.get('cells_run')} cells finished"
                   + (f" and {figures['cells_raised']} raised" if figures.get("cells_raised") else "") + " in "
                   f"{fmt_seconds(run.header.get('duration_s'))}, {fmt(figures.get('cells_per_s'))} cells per second "
                   "(each document starts its own sandboxed interpreter).")


def _claims_cell(claims: list[dict[str, Any]]) -> Inline | str:
    if not claims:
        return "—"
    return join(" ", (verdict_badge(str(c.get("verdict"))) + f" line {c.get('line', '?')}"
                      + (" " + lit(c["evidence"]["transform"]) if (c.get("evidence") or {}).get("transform") else "")
                      for c in claims))


def _examples(w: Doc, rec: dict[str, Any]) -> None:
    claims = rec.get("claims") or []
    rows = []
    for cell in rec.get("cells") or []:
        mine = [c for c in claims if c.get("cell") == cell.get("index")]
        runs = [c for c in mine if c.get("kind") == "runs"]
        outcome = verdict_badge(str(runs[0].get("verdict"))) if runs else "—"
        status = str(cell.get("status", ""))
        rows.append([
            esc(cell.get("label") or cell.get("index")) + f" (line {cell.get('line', '?')})",
            outcome + " " + esc(status),
            _claims_cell([c for c in mine if c.get("kind") == "shows"]),
            _claims_cell([c for c in mine if c.get("kind") == "derivative-correct"]),
        ])
    if rows:
        w.table(["Example", "Runs", "Shows", "Derivative-correct"], rows, css_class="conformance-examples")
    else:
        w.para(em("No code examples in this document."))


def _evidence(c: dict[str, Any]) -> str:
    ev = dict(c.get("evidence") or {})
    keep = ("transform", "outcome", "hint", "representation", "stated", "got", "expected", "max_abs_err", "bound",
            "directions", "note", "detail", "exception", "origin", "calls")
    lines = []
    for key in keep:
        if key in ev and ev[key] not in (None, "", [], {}):
            value = ev[key]
            if isinstance(value, float):
                value = f"{value:.6g}"
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _findings(w: Doc, run: Run, rec: dict[str, Any]) -> None:
    notable = [c for c in rec.get("claims") or [] if c.get("verdict") != "true"]
    if not notable:
        w.para("Every claim of this document holds.")
        return
    w.rubric("Claims that do not hold, or could not be decided")
    where = project_path(run, rec.get("file") or rec.get("source")) or rec.get("source")
    for c in notable:
        place = f"{where}:{c.get('line', '?')}"
        w.para(verdict_badge(str(c.get("verdict"))), " ", strong(esc(c.get("kind"))), " · ", lit(place), " · ",
               esc(c.get("reason", "")))
        text = _evidence(c)
        if text:
            w.code(text, caption="evidence")


def render(report: Report) -> Doc:
    """The documents page: overview table, then one section per document."""
    w = Doc()
    found = _documents(report)
    if not found:
        w.para(em("No documents in these results"), " (", lit("python -m conformance check-doc PATH|module:NAME"),
               ").")
        return w
    _overview(w, report, found)
    for run, rec in found:
        title = str(rec.get("title") or rec.get("source"))
        if len(report.runs) > 1:
            title = f"{title} ({run.name})"
        w.heading(title, 0, label=_label(run, rec))
        versions = join(", ", (esc(k) + " " + lit(v) for k, v in (rec.get("libraries") or {}).items()))
        parts = [esc(rec.get("kind", "")) + " " + lit(project_path(run, rec.get("file") or rec.get("source")))]
        if versions:
            parts.append("checked with " + versions)
        parts.append("session " + esc(rec.get("status", "")) + (" (" + esc(rec["reason"]) + ")" if rec.get("reason")
                                                                 else ""))
        w.para(join(" · ", parts))
        w.code(str(rec.get("reproducer", "")), language="bash", caption="reproducer")
        _examples(w, rec)
        _findings(w, run, rec)
    return w
