"""Known deviations (the manifest's expected failures) and what was not checked (skips), with reasons.

The most important findings of a run are the manifest entries: each one is a
documented place where a library does not do what the battery expects.  Every
``xfail``/``xpass`` check carries its entry in ``details.deviation`` (``spec``,
``function``, ``dtype``, ``variant`` patterns, ``reason``, ``link``,
``versions``, ``source`` as ``file:line``), so the checks are grouped here by
entry: the reason, the upstream link, the version bounds, where the entry
lives, the checks it covered with their status per run, and what one covered
check actually observed.  An ``xpass`` means the entry is stale and is shown
as a warning.  Skipped checks are grouped by their message so a reader sees
what was not checked and why, with counts.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from .blocks import Doc
from .inline import Inline, em, esc, join, link, lit, ref, strong
from .model import Report, Run, fmt, num, project_path
from .text import pretty, slug
from .vocab import STATUSES, status_badge

DEVIATION_STATUSES = ("xfail", "xpass")
PATTERN_FIELDS = ("spec", "function", "dtype", "variant")


@dataclasses.dataclass
class Entry:
    """One manifest entry of one backend, with every check it covered in every run."""

    backend: str
    deviation: dict[str, Any]
    checks: list[tuple[Run, int, dict[str, Any]]] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        # Two entries may share their patterns and differ in versions or reason (a bug fixed, then another):
        # the versions bound keep their targets apart.
        return "deviation-" + slug(self.backend, *(_text(self.deviation.get(f, "")) for f in PATTERN_FIELDS),
                                   _text(self.deviation.get("versions", "")))

    @property
    def title(self) -> str:
        parts = [_text(self.deviation.get("spec")) or "?"]
        for name in ("function", "dtype", "variant"):
            value = _text(self.deviation.get(name)) or "*"
            if value != "*":
                parts.append(value)
        return f"{self.backend}: " + " · ".join(parts)

    def counts(self, run: Run | None = None) -> Counter[str]:
        return Counter(str(c.get("status", "")) for r, _, c in self.checks if run is None or r is run)

    @property
    def stale(self) -> bool:
        """Some covered check passed (xpass), or the entry matched no check at all (drift)."""
        return any(_is_drift(c) or c.get("status") == "xpass" for _, _, c in self.checks)


def _text(value: object) -> str:
    """A manifest pattern as a reader writes it: a list (any of them may match) joined with ``|``."""
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value or "")


def _is_drift(check: dict[str, Any]) -> bool:
    return check.get("spec") == "manifest" and check.get("transform") == "manifest"


def _deviation_of(check: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest entry a check carries: ``details.deviation`` (or the older ``details.manifest``)."""
    details = check.get("details") or {}
    for key in ("deviation", "manifest"):
        value = details.get(key)
        if isinstance(value, dict):
            return value
    return None


def entries(report: Report) -> list[Entry]:
    """Manifest entries in first-seen order; checks with an expectation status but no entry get one of their own."""
    found: dict[tuple[str, ...], Entry] = {}
    for run, position, check in report.checks:
        status = check.get("status")
        deviation = _deviation_of(check)
        if status not in DEVIATION_STATUSES and not (deviation and _is_drift(check)):
            continue
        backend = str(check.get("backend", ""))
        if deviation is None:
            deviation = {"spec": check.get("spec", ""), "function": check.get("function", ""), "reason": ""}
        key = (backend, *(_text(deviation.get(f)) or "*" for f in PATTERN_FIELDS), str(deviation.get("reason", "")))
        found.setdefault(key, Entry(backend, deviation)).checks.append((run, position, check))
    return sorted(found.values(), key=lambda e: not e.stale)


def _manifest_message(check: dict[str, Any], deviation: dict[str, Any]) -> bool:
    """Whether the check's message only repeats the manifest's reason (what pytest reports for an xfail)."""
    message = " ".join(str(check.get("message", "")).split())
    reason = " ".join(str(deviation.get("reason", "")).split())
    return bool(reason) and (message.startswith(reason) or message.endswith(reason) or reason in message)


def _observed(w: Doc, entry: Entry) -> None:
    """What one covered check observed: its own message, error figures, evidence in its details."""
    candidates = [(r, p, c) for r, p, c in entry.checks if not _is_drift(c)]
    if not candidates:
        return

    def score(item: tuple[Run, int, dict[str, Any]]) -> tuple[int, int]:
        _, _, c = item
        own = not _manifest_message(c, entry.deviation)
        return (int(own), int(num(c.get("max_rel_err")) is not None))

    run, _, check = max(candidates, key=score)
    w.rubric("Observed in ", esc(check.get("test_id", "")), " (run ", esc(run.name), ")")
    message = str(check.get("message", "")).strip()
    if message and not _manifest_message(check, entry.deviation):
        w.code(message, caption="message")
    rel, tol = num(check.get("max_rel_err")), check.get("tolerance") or {}
    if rel is not None:
        figures = f"max abs. error {fmt(check.get('max_abs_err'))}, max rel. error {fmt(rel)}"
        if tol:
            rtol = num(tol.get("rtol"))
            figures += f" against rtol {fmt(rtol)}"
            if rtol:
                figures += f" ({fmt(rel / rtol)}× the tolerance)"
        w.para(esc(figures))
    details = {k: v for k, v in (check.get("details") or {}).items() if k not in ("deviation", "manifest")}
    if details:
        w.code(pretty(details), language="json", caption="details")
    if rel is None and not details and (not message or _manifest_message(check, entry.deviation)):
        w.para(em(
            "The run recorded only the manifest's reason as this check's message: the library's own "
            "exception was not kept in the results."
        ))


def _check_link(run: Run, position: int, check: dict[str, Any], report: Report) -> Inline:
    test_id = str(check.get("test_id") or check.get("spec", ""))
    if check.get("status") in ("fail", "error", "xpass"):
        return ref(esc(test_id), run.check_label(position))
    if _is_drift(check):
        return lit(test_id)
    label = report.cell_label(str(check.get("backend")), str(check.get("transform")), str(check.get("dtype")))
    return ref(esc(test_id), label)


def _patterns(value: object) -> Inline:
    """One pattern, or a list of them (any may match), as literals."""
    values = value if isinstance(value, list) else [value or "*"]
    return join(" | ", (lit(str(v)) for v in values))


def _badges(counts: Counter[str]) -> Inline:
    return join(" ", (status_badge(s, counts[s]) for s in STATUSES if counts[s]))


def _entry_section(w: Doc, report: Report, entry: Entry) -> None:
    dev = entry.deviation
    w.heading(entry.title, 1, label=entry.label)
    counts = entry.counts()
    w.para(_badges(counts) or "—")
    drift = [c for _, _, c in entry.checks if _is_drift(c)]
    if counts["xpass"]:
        with w.warning():
            w.para(
                strong("Stale manifest entry:"),
                f" {counts['xpass']} covered check(s) passed although the entry expects "
                "a failure. The deviation may be fixed upstream; narrow the entry's versions or remove it (",
                lit(project_path(entry.checks[0][0], dev.get("source", ""))), ")."
            )
    if drift:
        with w.warning():
            w.para(strong("Entry matches no check:"), " ", esc(drift[0].get("message", "")))
    rows: list[list[Any]] = [["Reason", esc(dev.get("reason", "")) if dev.get("reason") else em("not recorded")]]
    url = str(dev.get("link") or dev.get("issue") or "")
    none = str(dev.get("no_upstream") or "")
    rows.append(["Upstream", link(url, url) if url else "none: " + esc(none) if none else em("no link recorded")])
    versions = str(dev.get("versions") or "")
    rows.append(["Versions", lit(versions) if versions else "all versions"])
    pattern = join(" · ", (f"{name} " + _patterns(dev.get(name)) for name in PATTERN_FIELDS))
    rows.append(["Covers", pattern])
    sources = {project_path(run, dev.get("source") or dev.get("file") or ""): None for run, _, _ in entry.checks}
    rows.append(["Manifest entry", join(", ", (lit(s) for s in sources if s)) or em("not recorded")])
    w.table(["Field", "Value"], rows, stub_columns=1, css_class="conformance-deviation")
    w.rubric("Covered checks")
    keys: dict[str, None] = {}
    for _, _, check in entry.checks:
        keys.setdefault(str(check.get("test_id", "")), None)
    table = []
    for test_id in keys:
        row: list[Inline] = []
        cells: list[Any] = []
        for run in report.runs:
            found = [(p, c) for r, p, c in entry.checks if r is run and str(c.get("test_id", "")) == test_id]
            if not row and found:
                row.append(_check_link(run, found[0][0], found[0][1], report))
            cells.append(join(" ", (status_badge(str(c.get("status", ""))) for _, c in found)) or "— " + em("not run"))
        table.append([row[0] if row else lit(test_id), *cells])
    w.table(["Check", *[esc(r.name) for r in report.runs]], table, css_class="conformance-covered")
    _observed(w, entry)


def _summary(w: Doc, report: Report, found: list[Entry]) -> None:
    rows = []
    for entry in found:
        cells = [_badges(entry.counts(run)) or "— " + em("none") for run in report.runs]
        reason = str(entry.deviation.get("reason", ""))
        short = reason if len(reason) <= 160 else reason[:160].rsplit(" ", 1)[0] + " …"
        title = ref(esc(entry.title), entry.label) + (" ⚠ " + strong("stale") if entry.stale else "")
        rows.append([title, esc(short) if short else "—", *cells])
    w.table(["Manifest entry", "Reason", *[esc(r.name) for r in report.runs]], rows, css_class="conformance-deviations")


def render_deviations(report: Report) -> Doc:
    """Every manifest entry the runs met, its covered checks per run, and what one of them observed."""
    w = Doc()
    found = entries(report)
    if not found:
        w.para(em("No check in these results was covered by a known-deviation entry (no xfail, no xpass)."))
        return w
    stale = sum(1 for e in found if e.stale)
    checks = sum(len(e.checks) for e in found)
    w.para(
        f"{len(found)} manifest entr{'y' if len(found) == 1 else 'ies'} covered {checks} check(s)",
        *(["; ", strong(f"{stale} stale"), " (shown first)."] if stale else ["."]),
    )
    _summary(w, report, found)
    for entry in found:
        _entry_section(w, report, entry)
    return w


def skip_groups(report: Report) -> list[tuple[str, list[tuple[Run, int, dict[str, Any]]]]]:
    """Skipped checks grouped by message, largest group first (ties in first-seen order)."""
    groups: dict[str, list[tuple[Run, int, dict[str, Any]]]] = {}
    for run, position, check in report.checks:
        if check.get("status") == "skip":
            message = " ".join(str(check.get("message", "")).split()) or "(no reason recorded)"
            groups.setdefault(message, []).append((run, position, check))
    order = {m: i for i, m in enumerate(groups)}
    return sorted(groups.items(), key=lambda item: (-len(item[1]), order[item[0]]))


def render_skips(report: Report) -> Doc:
    """What was not checked and why: skipped checks by reason, with counts per run and where they are."""
    w = Doc()
    groups = skip_groups(report)
    if not groups:
        w.para(em("No check was skipped in these results."))
        return w
    rows = []
    for message, checks in groups:
        per_run = [str(sum(1 for r, _, _ in checks if r is run)) for run in report.runs]
        where: Counter[tuple[str, str, str]] = Counter(
            (str(c.get("backend", "")), str(c.get("transform", "")), str(c.get("dtype", ""))) for _, _, c in checks
        )
        cells = [
            ref(esc(b) + " · " + esc(t) + " · " + esc(d), report.cell_label(b, t, d)) + f" ({n})"
            for (b, t, d), n in where.items()
        ]
        specs = Counter(str(c.get("spec", "")) for _, _, c in checks)
        rows.append([esc(message), *per_run, cells, [lit(s) + f" ({n})" for s, n in specs.items()]])
    counts = ["Checks (" + esc(r.name) + ")" for r in report.runs] if len(report.runs) > 1 else ["Checks"]
    w.table(["Reason", *counts, "Cells", "Specs"], rows, css_class="conformance-skips")
    return w
