"""The per-function page: every standard function of the table x transform x backend.

Rows come from the function table as the runs recorded it (``run.function_table``, written by the battery from
``conformance.battery.functions``: :class:`conformance.store.results.FunctionRow`), so a function appears even where no run
checked it, and the report never imports the catalog; cells come from the checks of the ``fn_*`` specs, matched
by their ``function`` field.  A results file written before runs recorded the table still renders: the page says
the table was not recorded and lists the functions its checks name.  One cell holds one symbol per backend, in
the order of the header; hovering a symbol shows each dtype's status and, for a skip, its reason.  Failures and
errors are listed under the table with links to their mismatch sections.
"""

from __future__ import annotations

from collections import defaultdict

from conformance.store.results import CheckRecord, FunctionRow

from .blocks import Doc
from .inline import Inline, abbr, em, esc, join, lit
from .model import Report, Run
from .text import slug
from .vocab import STATUS_SYMBOL, status_badge

TRANSFORMS = ("grad", "jvp", "jacrev", "jacfwd", "hessian", "vmap")
"""The family's transforms, in column order (``conformance/battery/specs/functions.py``)."""
NOT_APPLICABLE = "—"
NOT_RUN = "·"
_WORST = ("fail", "error", "xpass", "xfail", "pass", "skip")
"""A cell shows its worst dtype: a failure in one dtype must not hide behind a pass in the other."""
UNRECORDED = "unrecorded"
"""The section of functions that checks name but no recorded table lists (every one, for an older file)."""


def _worst(statuses: list[str]) -> str:
    ranked = [s for s in _WORST if s in statuses]
    return ranked[0] if ranked else (statuses[0] if statuses else "")


def table_rows(report: Report, checked: list[str]) -> tuple[list[FunctionRow], list[Run]]:
    """The rows of the page, and the runs that recorded no function table.

    The recorded tables of every run, in run order, each function once (runs of the same code record the same
    table; an older run's table may lack a newer row); then each function that ``checked`` names and no table
    lists, as a row of the :data:`UNRECORDED` section, whose hessian columns are not known to be inapplicable.
    """
    rows: dict[str, FunctionRow] = {}
    missing = []
    for run in report.runs:
        table = run.function_table
        if table is None:
            missing.append(run)
            continue
        for row in table:
            rows.setdefault(row.entry, row)
    for entry in checked:
        rows.setdefault(entry, FunctionRow(entry=entry, name=entry, category=UNRECORDED, hessian=True,
                                           hessian_joint=True))
    return list(rows.values()), missing


def _categories(rows: list[FunctionRow]) -> list[str]:
    """Sections in the order of the table (elementwise first), the unrecorded functions last."""
    seen = list(dict.fromkeys(r.category for r in rows if r.category != UNRECORDED))
    return seen + ([UNRECORDED] if any(r.category == UNRECORDED for r in rows) else [])


def _not_recorded(out: Doc, report: Report, missing: list[Run]) -> None:
    """Say which runs carry no function table (files written before runs recorded it), and what that changes."""
    if not missing:
        return
    if len(missing) == len(report.runs):
        out.para(em("The function table was not recorded in these results (written before runs recorded it): the "
                    "rows are the functions their checks name, and a transform that does not apply to a function "
                    "cannot be told from one not run."))
        return
    out.para(em("The function table was not recorded in "), join(", ", (esc(r.name) for r in missing)),
             em(" (written before runs recorded it): its checks are shown in the rows of the other runs' tables."))


def render(report: Report) -> Doc:
    backends = report.backends()
    by_key: dict[tuple[str, str, str], list[tuple[Run, int, CheckRecord]]] = defaultdict(list)
    for run, position, record in report.records:
        if record.spec.startswith("fn_"):
            by_key[(record.function, record.transform, record.backend)].append((run, position, record))
    rows, missing = table_rows(report, list(dict.fromkeys(k[0] for k in by_key)))
    ran = [b for b in backends if any(k[2] == b for k in by_key)]
    any_run = {(k[1], k[2]) for k in by_key}
    out = Doc()
    _not_recorded(out, report, missing)
    if not by_key:
        out.para(em("None of the given runs checked the function family (specs"), " ", lit("fn_*"), " ",
                 em("); every function of the table is listed below as not run." if rows else ")."))
    legend = " ".join(f"{STATUS_SYMBOL[s]} {s}" for s in _WORST)
    out.para(
        "One symbol per backend in each cell, in the order ", join(", ", (lit(b) for b in ran)) or "(none ran)",
        "; the worst status over the dtypes: ", esc(legend), "; ", lit(NOT_APPLICABLE),
        " the transform does not apply (hessian of a linear function, or a transform the backend ran for no "
        "function, such as the reference's comparisons with itself), ", lit(NOT_RUN), " not run.  Hover a symbol "
        "for each dtype's status and a skip's reason."
    )
    labels: set[str] = set()
    for category in _categories(rows):
        members = [r for r in rows if r.category == category]
        title = "Not in a recorded function table" if category == UNRECORDED else category[:1].upper() + category[1:]
        label = base = f"functions-{slug(category)}"  # categories are data: two may slug alike
        while label in labels:
            label = f"{base}-{len(labels)}"
        labels.add(label)
        out.heading(title, 2, label=label)
        problems: list[Inline] = []
        skips: dict[str, list[str]] = defaultdict(list)
        table = []
        for fn in members:
            cells: list[Inline | str] = [lit(fn.name)]
            for transform in TRANSFORMS:
                if transform == "hessian" and not (fn.hessian or fn.hessian_joint):  # fn_hessian(_joint)
                    cells.append(NOT_APPLICABLE)
                    continue
                symbols = []
                for backend in ran:
                    records = by_key.get((fn.entry, transform, backend), [])
                    if not records and (transform, backend) not in any_run:
                        # No function ran under this transform there (the reference is not compared with itself).
                        symbols.append(abbr(NOT_APPLICABLE, f"{backend}: {transform} not run for any function"))
                        continue
                    if not records:
                        symbols.append(abbr(NOT_RUN, f"{backend}: not run"))
                        continue
                    status = _worst([r.status for _, _, r in records])
                    lines = []
                    for run, position, record in records:
                        st = record.status
                        msg = record.message.strip().split("\n")[0][:200]
                        # A cell can hold two specs (hessian: fn_hessian and fn_hessian_joint): name the spec.
                        lines.append(f"{backend} {record.spec} {record.dtype}: {st}"
                                     + (f": {msg}" if msg and st != "pass" else ""))
                        if st in ("fail", "error", "xpass"):
                            problems.append(status_badge(st, ref=run.check_label(position)) + " "
                                            + lit(record.test_id) + ": " + esc(msg))
                        elif st == "skip" and msg:
                            skips[msg].append(f"{fn.name} {transform} {record.dtype}")
                    symbols.append(abbr(STATUS_SYMBOL.get(status, "?"), "; ".join(lines)))
                cells.append(join(" ", symbols) if symbols else NOT_RUN)
            table.append(cells)
        out.table(["function", *TRANSFORMS], table, stub_columns=1, css_class="conformance-functions")
        if problems:
            out.rubric("Failures and errors")
            out.bullets(problems)
        if skips:
            out.rubric("Skips, by reason")
            out.bullets(esc(reason) + f" ({len(where)} checks)" for reason, where in sorted(skips.items()))
    return out
