"""Where the libraries legitimately differ, from the data the run verified.

Nothing here is typed in per library: the convention tables come from each
backend's declared ``conventions`` (which the battery verifies by running the
library), the code samples are generated from those declarations, and the
behaviour at non-smooth points and on misuse comes from checks' ``details`` with
the outcome observed in the run.  A new backend therefore appears here without
editing the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .blocks import Doc
from .inline import Inline, em, esc, join, link, lit
from .model import Report, Run
from .text import compact
from .vocab import status_badge

FIELDS: dict[str, tuple[str, Inline]] = {
    "grad_and_value_api": (
        "Value-and-gradient API",
        Inline("The public function that returns a value and a gradient together."),
    ),
    "grad_and_value_layout": (
        "Return order of value and gradient",
        Inline(lit("grad_and_value"), " returns the gradient first, ", lit("value_and_grad"), " the value first."),
    ),
    "grad_and_value_aux_layout": (
        "has_aux nesting",
        Inline("Where the auxiliary output sits when the function returns ", lit("(output, aux)"), "."),
    ),
    "grad_aux_layout": ("grad with has_aux", Inline("What ", lit("grad(f, has_aux=True)"), " returns.")),
    "has_aux": ("Transforms that take has_aux", Inline("Which transforms accept the ", lit("has_aux"), " keyword.")),
    "batch_keyword": ("vmap axis keywords", Inline("The names of vmap's input and output axis keywords.")),
    "jvp_primals": ("jvp argument convention", Inline("How ", lit("jvp"), " takes its primals and tangents.")),
    "scan_api": ("Public scan", Inline("The public scan, or none where the library has no public scan.")),
    "cond_api": ("Public cond", Inline("The public cond, or none where the library has no public cond.")),
}
"""Each declared convention: its section title, and what it means (the report's own text, with literals)."""

GROUPS: tuple[tuple[str, Inline, Callable[[dict[str, Any]], bool]], ...] = (
    (
        "Behaviour at non-smooth points",
        Inline("Checks of spec ", lit("kink_*"), ": the derivative each library returns where the function has a "
               "kink. Any value within the subgradient is correct; libraries pick different ones."),
        lambda c: str(c.get("spec", "")).startswith("kink_"),
    ),
    (
        "Errors for misuse and data-dependent control flow",
        Inline("Checks of spec ", lit("error_*"), ": the exception each library raised, against the one it "
               "documents."),
        lambda c: str(c.get("spec", "")).startswith("error_"),
    ),
    (
        "Layouts read from native results",
        Inline("Checks whose details record the layout the battery read from the library's native result."),
        lambda c: "layout" in (c.get("details") or {}),
    ),
)


def _value(value: Any) -> Inline:
    if value in ("", None, [], {}):
        return em("none")
    if isinstance(value, list):
        return join(", ", (lit(v) for v in value))
    return lit(compact(value))


def _conventions(report: Report) -> dict[str, list[tuple[Run, dict[str, Any]]]]:
    """Each backend's conventions record, per run that has it."""
    found: dict[str, list[tuple[Run, dict[str, Any]]]] = {}
    for run in report.runs:
        for backend, env in run.backends.items():
            found.setdefault(backend, []).append((run, env.get("conventions") or {}))
    return found


def _assign_target(layout: str) -> str:
    """``(grad, (value, aux))`` -> ``grad, (value, aux)``: a layout as the left side of an assignment."""
    text = layout.strip()
    if text.startswith("(") and text.endswith(")"):
        depth = 0
        for position, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and position < len(text) - 1:
                return text
        return text[1:-1].strip()
    return text or "result"


def sample(conv: dict[str, Any]) -> str:
    """A short code sample generated from one library's declared conventions."""
    api = str(conv.get("grad_and_value_api") or "grad_and_value")
    aux_ok = api.rsplit(".", 1)[-1] in (conv.get("has_aux") or [])
    lines = [f"# value and gradient: {api} returns {conv.get('grad_and_value_layout', '?')}"]
    lines.append(f"{_assign_target(str(conv.get('grad_and_value_layout', '')))} = {api}(f)(x)")
    if aux_ok:
        lines.append(f"# with has_aux=True it returns {conv.get('grad_and_value_aux_layout', '?')}")
        lines.append(
            f"{_assign_target(str(conv.get('grad_and_value_aux_layout', '')))} = {api}(f_aux, has_aux=True)(x)"
        )
    lines.append(f"# grad(f_aux, has_aux=True) returns {conv.get('grad_aux_layout', '?')}")
    keywords = list(conv.get("batch_keyword") or ["in_dims", "out_dims"])
    if len(keywords) == 2:
        lines.append(f"batched = vmap(f, {keywords[0]}=0, {keywords[1]}=0)(xs)")
    if conv.get("jvp_primals") == "tuple":
        lines.append("out, tangent_out = jvp(f, (x,), (t,))  # primals and tangents as tuples")
    for name in ("scan_api", "cond_api"):
        what = name.split("_")[0]
        lines.append(f"# {what}: {conv[name]}" if conv.get(name) else f"# {what}: no public {what}")
    takes = ", ".join(conv.get("has_aux") or []) or "none"
    lines.append(f"# transforms that take has_aux: {takes}")
    return "\n".join(lines)


def _render_conventions(w: Doc, report: Report) -> None:
    conventions = _conventions(report)
    if not conventions:
        w.para(em("No backend recorded its conventions in these results."))
        return
    backends = list(conventions)
    for field, (title, meaning) in FIELDS.items():
        w.heading(title, 1, label=f"convention-{field.replace('_', '-')}")
        w.para(meaning, " Field ", lit(field), ".")
        rows = []
        for backend in backends:
            by_run = {run.index: conv for run, conv in conventions[backend]}
            rows.append(
                [
                    lit(backend),
                    *[_value(by_run[r.index].get(field)) if r.index in by_run else "—" for r in report.runs],
                ]
            )
        w.table(["Backend", *[esc(r.name) for r in report.runs]], rows, stub_columns=1)
    _render_errors(w, report, conventions)
    w.heading("Generated code samples", 1, label="convention-samples")
    w.para("Generated from each library's declared conventions (latest run that has the backend).")
    with w.tabs("conformance-samples"):
        for backend in backends:
            with w.tab(esc(backend)):
                w.code(sample(conventions[backend][-1][1]), language="python")


def _render_errors(w: Doc, report: Report, conventions: dict[str, list[tuple[Run, dict[str, Any]]]]) -> None:
    w.heading("Documented errors", 1, label="convention-errors")
    situations: dict[str, None] = {}
    for records in conventions.values():
        for _, conv in records:
            situations.update(dict.fromkeys(conv.get("errors") or {}))
    if not situations:
        w.para(em("No library declares documented errors."))
        return
    w.para("What each library documents it raises, by situation (field ", lit("errors"), ").")
    for situation in situations:
        rows = []
        for backend, records in conventions.items():
            by_run = {run.index: (conv.get("errors") or {}).get(situation) for run, conv in records}
            cells: list[Inline] = []
            for run in report.runs:
                entry = by_run.get(run.index)
                if not isinstance(entry, dict) or not entry:
                    cells.append(em("not declared"))
                    continue
                text = lit(entry.get("exception", ""))
                if entry.get("message"):
                    text += " matching " + lit(entry["message"])
                if entry.get("doc"):
                    text += " (" + link("documentation", entry["doc"]) + ")"
                cells.append(text)
            rows.append([lit(backend), *cells])
        w.table(
            ["Backend", *[esc(r.name) for r in report.runs]], rows, title=esc(situation.replace("_", " ")),
            stub_columns=1
        )


def _render_observed(w: Doc, report: Report) -> None:
    multi_run = len(report.runs) > 1
    for title, meaning, wanted in GROUPS:
        w.heading(title, 1, label=f"observed-{title.split()[0].lower()}")
        w.para(meaning)
        rows = []
        for run, _, check in report.checks:
            if not wanted(check):
                continue
            details = dict(check.get("details") or {})
            observed = details.pop("observed") if "observed" in details else details.pop("layout", None)
            rows.append(
                [
                    lit(check.get("spec", "")) + " · " + lit(check.get("function", "")),
                    lit(check.get("backend", "")),
                    lit(check.get("dtype", "")),
                    *([esc(run.name)] if multi_run else []),
                    status_badge(str(check.get("status", ""))),
                    _value(observed),
                    esc(compact(details)) if details else "—",
                ]
            )
        if rows:
            header = [
                "Check",
                "Backend",
                "dtype",
                *(["Run"] if multi_run else []),
                "Outcome",
                "Observed",
                "Other details",
            ]
            w.table(header, rows, css_class="conformance-observed")
        else:
            w.para(em("No such checks in these results."))


def render(report: Report) -> Doc:
    """Conventions side by side, generated samples, and observed behaviour where libraries may differ."""
    w = Doc()
    w.heading("Declared conventions", 0)
    w.para(
        "Each library's calling and return conventions, as its backend declares them; the battery reads "
        "native results through these declarations, so a wrong one makes value checks fail."
    )
    _render_conventions(w, report)
    w.heading("Observed in the run", 0)
    _render_observed(w, report)
    return w
