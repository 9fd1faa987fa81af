"""Front page figures, the backend x transform x dtype matrix, and the per-cell check lists.

The matrix is the page a reader opens first, so each cell says everything at
a glance: counts per status as badges whose colour, symbol and word agree, each
linking to the list of that cell's checks.  One column per run, so several
runs (machines, versions) compare side by side.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.store.results import CheckRecord

from .blocks import Doc
from .inline import Inline, doc, em, esc, join, lit, ref, strong
from .model import OFFERABLE, Report, Run, fmt, fmt_seconds, num, offered
from .vocab import (
    PROBLEM_STATUSES,
    STATUS_MEANING,
    STATUSES,
    VERDICT_MEANING,
    VERDICTS,
    status_badge,
    verdict_badge,
)

MESSAGE_LIMIT = 300
"""Characters of a check's message shown in a table cell; the mismatch page has the whole text."""


def _pass_rate(run: Run, backend: str | None = None) -> str:
    counts = run.status_counts(backend)
    ran = counts["pass"] + counts["fail"] + counts["error"]
    if not ran:
        return "— (no check ran)"
    return f"{100 * counts['pass'] / ran:.1f} % ({counts['pass']} of {ran})"


def _failures(run: Run) -> Inline | str:
    counts = run.status_counts()
    total = counts["fail"] + counts["error"]
    text = f"{total} (fail {counts['fail']}, error {counts['error']})"
    return doc(text, "/mismatches") if total or counts["xpass"] else "0"


def _deviations(run: Run) -> Inline | str:
    counts = run.status_counts()
    if not counts["xfail"] and not counts["xpass"]:
        return "0"
    text = f"{counts['xfail']} expected failure{'' if counts['xfail'] == 1 else 's'}"
    if counts["xpass"]:
        text += f", {counts['xpass']} stale (xpass)"
    return doc(text, "/deviations")


def _skips(run: Run) -> Inline | str:
    skipped = run.status_counts()["skip"]
    return doc(f"{skipped} skipped, with reasons", "/deviations") if skipped else "0"


def _coverage(run: Run) -> list[Inline]:
    parts = []
    for article in run.articles:
        if article.get("not_applicable"):
            parts.append(esc(article.get("id", "")) + ": not applicable (" + esc(article["not_applicable"]) + ")")
            continue
        coverage = num(article.get("coverage"))
        share = f"{100 * coverage:.0f} %" if coverage is not None else "—"
        parts.append(
            esc(article.get("id", "")) + f": {share} "
            f"({article.get('covered_sentences', '?')} of {article.get('checkable_sentences', '?')} sentences)"
        )
    return parts or [Inline("—")]


def render_headline(report: Report) -> Doc:
    """The run's headline figures, one column per run."""
    w = Doc()
    runs = report.runs
    rows: list[list[Any]] = [
        ["Checks", *[str(len(r.checks)) for r in runs]],
        ["Pass rate", *[_pass_rate(r) for r in runs]],
        ["Failures", *[_failures(r) for r in runs]],
        [
            "Statuses",
            *[join(" ", (status_badge(s, n) for s in STATUSES if (n := r.status_counts()[s]))) or "—" for r in runs],
        ],
        ["Known deviations", *[_deviations(r) for r in runs]],
        ["Not checked", *[_skips(r) for r in runs]],
        ["Duration", *[fmt_seconds(r.header.get("duration_s")) for r in runs]],
        ["Claims", *[doc(str(len(r.claims)), "/article") if r.claims else "0" for r in runs]],
        [
            "Verdicts",
            *[join(" ", (verdict_badge(v, n) for v in VERDICTS if (n := r.verdict_counts()[v]))) or "—" for r in runs],
        ],
        ["Article coverage", *[_coverage(r) for r in runs]],
    ]
    w.table(["Figure", *[esc(r.name) for r in runs]], rows, stub_columns=1, css_class="conformance-headline")
    w.para(
        "The pass rate counts passes among the checks that ran and were expected to pass "
        "(skips and expected failures are left out)."
    )
    return w


def _offered_cell(run: Run, backend: str) -> Inline:
    found = offered(run.backends.get(backend, {}))
    if found is None:
        return em("not recorded")
    names, _ = found
    listed = join(", ", (lit(t) for t in names)) if names else em("none")
    return f"{len(names)} of {len(OFFERABLE)}: " + listed


def _backend_counts(run: Run, backend: str) -> list[Inline | str]:
    counts = run.status_counts(backend)
    problems = counts["fail"] + counts["error"] + counts["xpass"]
    return [
        _pass_rate(run, backend),
        doc(str(counts["skip"]), "/deviations") if counts["skip"] else "0",
        doc(str(counts["xfail"]), "/deviations") if counts["xfail"] else "0",
        doc(str(problems), "/mismatches") if problems else "0",
    ]


def render_backends(report: Report) -> Doc:
    """One row per library (and run): pass rate over the checks that ran, then skips and deviations apart.

    A library that lacks half the transforms is not "50 % conformant": its missing transforms are skips
    ("not offered", counted on their own), its known deviations are expected failures (counted on their own),
    and the pass rate is taken over what ran.  The "transforms offered" column says what the figures cover.
    """
    w = Doc()
    multi_run = len(report.runs) > 1
    rows = []
    for backend in report.backends():
        for run in report.runs:
            if not run.has_backend(backend):
                continue  # a run without this library adds no row (no empty cells)
            env = run.backends.get(backend, {})
            library = join(" ", (esc(v) for v in (env.get("library", backend), env.get("version", "")) if v))
            rows.append([lit(backend), *([esc(run.name)] if multi_run else []), library, _offered_cell(run, backend),
                         *_backend_counts(run, backend)])
    if not rows:
        w.para(em("No backend recorded."))
        return w
    header = ["Backend", *(["Run"] if multi_run else []), "Library", "Transforms offered",
              "Pass rate (of checks that ran)", "Not offered (skip)", "Known deviations (xfail)",
              "Fail / error / xpass"]
    w.table(header, rows, stub_columns=1, css_class="conformance-backends")
    w.para(
        "Checks that ran are those that reached a verdict the gate counts: pass, fail or error.  A check of a "
        "transform, dtype or keyword the library does not offer is a skip with the library's declared reason; "
        "a check covered by a manifest entry is a known deviation (xfail).  Neither enters the pass rate."
    )
    return w


def render_legend(report: Report) -> Doc:
    """What the status symbols mean: the matrix must be readable without colour."""
    w = Doc()
    w.table(
        ["Status", "Meaning"],
        [[status_badge(s), STATUS_MEANING[s]] for s in STATUSES],
        css_class="conformance-legend",
    )
    return w


def render_verdict_legend(report: Report) -> Doc:
    """What the verdict symbols mean, for the claim pages."""
    w = Doc()
    w.table(
        ["Verdict", "Meaning"],
        [[verdict_badge(v), VERDICT_MEANING[v]] for v in VERDICTS],
        css_class="conformance-legend",
    )
    return w


def _library_header(report: Report, run: Run, backend: str) -> list[Inline]:
    """A run's column header for one backend: its name, library version and device, crash cause."""
    lines = [strong(esc(run.name))]
    env = run.backends.get(backend, {})
    library = env.get("library", backend)
    pairs = run.library(backend)
    if not pairs:
        lines.append(em("(not in this run)"))
    for version, device in pairs:
        lines.append(esc(library) + " " + esc(version) + " · " + esc(device))
    cause = (env.get("process") or {}).get("cause")
    if cause:
        lines.append("⚠ crashed: " + esc(cause))
    return lines


def _cell(report: Report, backend: str, transform: str, dtype: str, run: Run) -> Inline:
    checks = report.cell(backend, transform, dtype, run)
    if not checks:
        return "— " + em("not run")
    counts: dict[str, int] = {}
    for _, record in checks:
        counts[record.status] = counts.get(record.status, 0) + 1
    label = report.cell_label(backend, transform, dtype)
    ordered = [s for s in STATUSES if s in counts] + sorted(set(counts) - set(STATUSES))
    return join(" ", (status_badge(s, counts[s], ref=label) for s in ordered))


def render_matrix(report: Report) -> Doc:
    """One table per backend: rows transform x dtype, one column per run."""
    w = Doc()
    for backend in report.backends():
        w.heading(backend, 0)
        runs = [run for run in report.runs if run.has_backend(backend)]  # no column for a run without it
        rows = []
        for transform in report.transforms(backend):
            for dtype in report.dtypes(backend):
                if any(report.cell(backend, transform, dtype, run) for run in runs):
                    cells = [_cell(report, backend, transform, dtype, run) for run in runs]
                    rows.append([lit(transform), lit(dtype), *cells])
        if not rows:
            w.para(em("No checks recorded for this backend."))
            continue
        header = ["Transform", "dtype", *[_library_header(report, run, backend) for run in runs]]
        w.table(header, rows, stub_columns=2, css_class="conformance-matrix")
    return w


def _overview_cell(report: Report, backend: str, transform: str, dtype: str, run: Run) -> Inline | str:
    """Compact cell: symbol and count per status (the legend names the symbols), linked to the cell's checks."""
    counts = Counter(r.status for _, r in report.cell(backend, transform, dtype, run))
    if not counts:
        return "—"
    label = report.cell_label(backend, transform, dtype)
    ordered = [s for s in STATUSES if s in counts] + sorted(set(counts) - set(STATUSES))
    return join(" ", (status_badge(s, counts[s], ref=label, word=False) for s in ordered))


def overview_columns(report: Report) -> list[tuple[str, str, Run]]:
    """The overview's columns: (backend, dtype, run), backends in report order, one column per run that checked it.

    Runs of different libraries side by side would otherwise give every run a column of dashes for every
    library it did not check.
    """
    present = {(r.backend, r.dtype, run.index) for run, _, r in report.records}
    return [
        (backend, dtype, run)
        for backend in report.backends()
        for dtype in report.dtypes(backend)
        for run in report.runs
        if (backend, dtype, run.index) in present
    ]


def render_overview(report: Report) -> Doc:
    """One table for the whole report: transforms as rows, (backend, dtype) as columns, one column per run."""
    w = Doc()
    columns = overview_columns(report)
    if not columns:
        w.para(em("No checks recorded."))
        return w
    multi_run = len(report.runs) > 1
    header: list[Any] = ["Transform"]
    for backend, dtype, run in columns:
        header.append([strong(esc(backend)), lit(dtype), *([esc(run.name)] if multi_run else [])])
    rows = []
    for transform in report.transforms():
        cells = [_overview_cell(report, b, transform, d, r) for b, d, r in columns]
        if any(cell != "—" for cell in cells):
            rows.append([lit(transform), *cells])
    w.table(header, rows, stub_columns=1, css_class="conformance-overview")
    return w


def _error_figures(record: CheckRecord) -> str:
    rel, tol = num(record.max_rel_err), record.tolerance or {}
    if rel is None:
        return ""
    return f"rel. error {fmt(rel)} (rtol {fmt(tol.get('rtol'))})" if tol else f"rel. error {fmt(rel)}"


def _check_cell(run: Run, position: int, record: CheckRecord, w: Doc) -> None:
    """One check in a cell of the per-cell table: status and figures, its message, a link to its details."""
    status = record.status
    figures = _error_figures(record)
    w.para(status_badge(status) + (" " + esc(figures) if figures else ""))
    message = record.message.strip()
    manifest = record.details.get("manifest") or {}
    if not message and isinstance(manifest, dict):
        message = str(manifest.get("reason", ""))
    if message:
        short = message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + " …"
        w.para(esc(short))
    if status in PROBLEM_STATUSES:
        w.para(ref("details and reproducer", run.check_label(position)))


def render_checks(report: Report) -> Doc:
    """The checks of each matrix cell (the matrix links here), one column per run."""
    w = Doc()
    for backend in report.backends():
        w.heading(backend, 0)
        for transform in report.transforms(backend):
            for dtype in report.dtypes(backend):
                runs = [run for run in report.runs if run.has_backend(backend)]
                per_run = {run.index: report.cell(backend, transform, dtype, run) for run in runs}
                if not any(per_run.values()):
                    continue
                w.heading(f"{backend} · {transform} · {dtype}", 1, label=report.cell_label(backend, transform, dtype))
                keys: dict[tuple[str, str], None] = {}
                for checks in per_run.values():
                    for _, record in checks:
                        keys.setdefault((record.spec, record.function), None)
                rows = []
                for spec, function in keys:
                    row: list[Any] = [lit(spec), lit(function)]
                    for run in runs:
                        cell = Doc()
                        for i, record in per_run[run.index]:
                            if (record.spec, record.function) == (spec, function):
                                _check_cell(run, i, record, cell)
                        row.append(cell if cell.nodes() else "— " + em("not run"))
                    rows.append(row)
                w.table(["Spec", "Function", *[esc(r.name) for r in runs]], rows, stub_columns=1)
    return w
