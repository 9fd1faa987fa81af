"""One section per surprising check: everything needed to reproduce it without opening the tests.

A failing check is only useful if someone can act on it, so each section
carries the inputs, expected against actual values, the error figures next to
the tolerance that was applied, and a reproducer to paste into a shell or a
Python prompt.
"""

from __future__ import annotations

from typing import Any

from .blocks import Doc
from .inline import Inline, em, esc, join, lit, ref
from .model import Report, Run, fmt, fmt_seconds, num
from .text import pretty
from .vocab import PROBLEM_STATUSES, status_badge

SHELL_PREFIXES = ("python -m", "pytest", "nox", "$ ", "uv ", "pip ")


def _reproducer_language(text: str) -> str:
    """Reproducers are either shell commands or Python code; highlight them as what they are."""
    return "bash" if text.lstrip().startswith(SHELL_PREFIXES) else "python"


def _figures(check: dict[str, Any]) -> list[list[Inline | str]]:
    tol = check.get("tolerance") or {}
    rel, rtol = num(check.get("max_rel_err")), num(tol.get("rtol"))
    ratio = f"{fmt(rel / rtol)}× rtol" if rel is not None and rtol else "—"
    return [
        ["max abs. error", fmt(check.get("max_abs_err"))],
        ["max rel. error", fmt(check.get("max_rel_err"))],
        ["rtol", fmt(tol.get("rtol")) if tol else em("tolerance-free check")],
        ["atol", fmt(tol.get("atol")) if tol else "—"],
        ["error / tolerance", ratio],
        ["tolerance reason", esc(tol.get("reason", "")) if tol else "—"],
    ]


def _section(w: Doc, run: Run, position: int, check: dict[str, Any], multi_run: bool) -> None:
    title = str(check.get("test_id") or check.get("spec"))
    w.heading(f"{title} ({run.name})" if multi_run else title, 1, label=run.check_label(position))
    w.para(
        status_badge(str(check.get("status", ""))), " run ", esc(run.name), " · ", join(" · ", (
            lit(check.get("backend", "")) + " " + esc(check.get("library_version", "")),
            esc(check.get("device", "")),
            lit(check.get("dtype", "")),
            "spec " + lit(check.get("spec", "")),
            "transform " + lit(check.get("transform", "")),
            "function " + lit(check.get("function", "")),
            fmt_seconds(check.get("duration_s")),
        )),
    )
    message = str(check.get("message", "")).strip()
    if "\n" in message:
        w.code(message, caption="message")
    elif message:
        with w.admonition("Message", "conformance-message"):
            w.para(esc(message))
    details = dict(check.get("details") or {})
    inputs = details.pop("inputs", None)
    expected, actual = details.pop("expected", None), details.pop("actual", None)
    w.rubric("Inputs")
    if inputs is not None:
        w.code(pretty(inputs), language="json")
    else:
        w.para(em("Not recorded."))
    w.rubric("Expected vs actual")
    if expected is None and actual is None:
        w.para(em("Not recorded (see the message and the details)."))
    else:
        w.table(["Expected (reference)", "Actual (library)"], [[_block(expected), _block(actual)]])
    w.rubric("Error figures and tolerance")
    w.table(["Figure", "Value"], _figures(check), stub_columns=1, css_class="conformance-figures")
    if details:
        w.rubric("Other details")
        w.code(pretty(details), language="json")
    w.rubric("Reproducer")
    reproducer = str(check.get("reproducer", "")).strip()
    if reproducer:
        w.code(reproducer, language=_reproducer_language(reproducer))
    else:
        w.para(em("No reproducer recorded;"), " rerun with ", lit("python -m pytest -k"), " and the test id ",
               lit(title), ".")
    label = Report.cell_label(str(check.get("backend")), str(check.get("transform")), str(check.get("dtype")))
    w.para(ref("Back to its cell in the matrix", label))


def _block(value: Any) -> Doc | str:
    if value is None:
        return "—"
    cell = Doc()
    cell.code(pretty(value), language="json" if not isinstance(value, str) else "text")
    return cell


def render(report: Report) -> Doc:
    """Failures, errors and unexpected passes of every run, each with its reproducer."""
    w = Doc()
    multi_run = len(report.runs) > 1
    for run in report.runs:
        problems = [(i, c) for i, c in enumerate(run.checks) if c.get("status") in PROBLEM_STATUSES]
        w.heading(f"Run {run.name}", 0, label=f"mismatches-run-{run.index}")
        if not problems:
            w.para("No failures, errors or unexpected passes in this run.")
            continue
        counts = {s: sum(1 for _, c in problems if c.get("status") == s) for s in PROBLEM_STATUSES}
        w.para(join(" ", (status_badge(s, n) for s, n in counts.items() if n)))
        for position, check in problems:
            _section(w, run, position, check, multi_run)
    return w
