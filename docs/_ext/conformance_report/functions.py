"""The per-function page: every standard function of the table x transform x backend.

Rows come from the function table (``conformance.functions``, plain Python and NumPy: no library is
imported), so a function appears even where no run checked it; cells come from the results files only
(the checks of the ``fn_*`` specs, matched by their ``function`` field).  One cell holds one symbol per
backend, in the order of the header; hovering a symbol shows each dtype's status and, for a skip, its
reason.  Failures and errors are listed under the table with links to their mismatch sections.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .blocks import Doc
from .inline import Inline, abbr, em, esc, join, lit
from .model import Report, Run
from .vocab import STATUS_SYMBOL, status_badge

TRANSFORMS = ("grad", "jvp", "jacrev", "jacfwd", "hessian", "vmap")
"""The family's transforms, in column order (``conformance/specs/functions.py``)."""
NOT_APPLICABLE = "—"
NOT_RUN = "·"
_WORST = ("fail", "error", "xpass", "xfail", "pass", "skip")
"""A cell shows its worst dtype: a failure in one dtype must not hide behind a pass in the other."""


def _worst(statuses: list[str]) -> str:
    ranked = [s for s in _WORST if s in statuses]
    return ranked[0] if ranked else (statuses[0] if statuses else "")


def _table_rows() -> list[Any]:
    from conformance.functions import FUNCTIONS_TABLE

    return list(FUNCTIONS_TABLE.values())


def render(report: Report) -> Doc:
    rows = _table_rows()
    backends = report.backends()
    by_key: dict[tuple[str, str, str], list[tuple[Run, int, dict[str, Any]]]] = defaultdict(list)
    for run, position, check in report.checks:
        if str(check.get("spec", "")).startswith("fn_"):
            key = (str(check.get("function", "")), str(check.get("transform", "")), str(check.get("backend", "")))
            by_key[key].append((run, position, check))
    ran = [b for b in backends if any(k[2] == b for k in by_key)]
    any_run = {(k[1], k[2]) for k in by_key}
    out = Doc()
    if not by_key:
        out.para(em("None of the given runs checked the function family (specs"), " ", lit("fn_*"), " ",
                 em("); every function of the table is listed below as not run."))
    legend = " ".join(f"{STATUS_SYMBOL[s]} {s}" for s in _WORST)
    out.para(
        "One symbol per backend in each cell, in the order ", join(", ", (lit(b) for b in ran)) or "(none ran)",
        "; the worst status over the dtypes: ", esc(legend), "; ", lit(NOT_APPLICABLE),
        " the transform does not apply (hessian of a linear function, or a transform the backend ran for no "
        "function, such as the reference's comparisons with itself), ", lit(NOT_RUN), " not run.  Hover a symbol "
        "for each dtype's status and a skip's reason."
    )
    for category in ("elementwise", "reduction", "linalg", "manipulation"):
        members = [r for r in rows if r.category == category]
        out.heading(category.capitalize(), 2, label=f"functions-{category}")
        problems: list[Inline] = []
        skips: dict[str, list[str]] = defaultdict(list)
        table = []
        for fn in members:
            cells: list[Inline | str] = [lit(fn.name)]
            for transform in TRANSFORMS:
                if transform == "hessian" and not (fn.second or fn.joint):  # fn_hessian, fn_hessian_joint
                    cells.append(NOT_APPLICABLE)
                    continue
                symbols = []
                for backend in ran:
                    records = by_key.get((fn.entry.name, transform, backend), [])
                    if not records and (transform, backend) not in any_run:
                        # No function ran under this transform there (the reference is not compared with itself).
                        symbols.append(abbr(NOT_APPLICABLE, f"{backend}: {transform} not run for any function"))
                        continue
                    if not records:
                        symbols.append(abbr(NOT_RUN, f"{backend}: not run"))
                        continue
                    status = _worst([str(c.get("status", "")) for _, _, c in records])
                    lines = []
                    for run, position, check in records:
                        st = str(check.get("status", ""))
                        msg = str(check.get("message", "")).strip().split("\n")[0][:200]
                        # A cell can hold two specs (hessian: fn_hessian and fn_hessian_joint): name the spec.
                        lines.append(f"{backend} {check.get('spec', '')} {check.get('dtype', '')}: {st}"
                                     + (f": {msg}" if msg and st != "pass" else ""))
                        if st in ("fail", "error", "xpass"):
                            problems.append(status_badge(st, ref=run.check_label(position)) + " "
                                            + lit(check.get("test_id", "")) + ": " + esc(msg))
                        elif st == "skip" and msg:
                            skips[msg].append(f"{fn.name} {transform} {check.get('dtype', '')}")
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
