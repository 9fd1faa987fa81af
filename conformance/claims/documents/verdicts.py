"""Claims and their verdicts, computed from a session's evidence by the written rules below (never typed in).

Four kinds of claim, made by every document without a claims file:

- ``runs``: each cell runs.  true: it finished; false: it raised (unless the document states that exception);
  ``environment``: it raised because of the machine (no GPU, a package not installed, no network: ``causes``),
  the cause named once; unverifiable: skipped by the document, never reached (the session timed out, was killed,
  or crashed), or downstream of an environment failure (``downstream``: it failed only because that cell did);
- ``shows``: each stated output (stored notebook output, doctest expectation, trailing comment, output block)
  matches what the cell prints now, by ``compare.compare``.  true: match; false: no match, or the cell raised
  instead of printing; unverifiable: the cell (or the statement) did not run.
- ``derivative-correct``: each top-level call of an intercepted transform.  true: the result is within
  ``bound`` of finite differences of the document's own function; false: it is not (got/expected/error kept);
  unverifiable: the check had no numbers (traced values, a recorded graph, a function it could not evaluate).
  Identical calls are one claim (``calls`` says how many), and at most three calls per site are checked;
- ``asserts``: each check the code makes (``assert``, ``assert_close``, a cell ending with ``allclose(...)`` or
  ``==`` whose value the page shows): true when it held, false when it did not (``asserts``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from conformance.claims.documents import asserts, compare, downstream, intent, kinds, prelude
from conformance.claims.documents.model import Cell, Document
from conformance.claims.documents.session import SessionResult
from conformance.contract import checked_verdict, verdict_of

RULES = {
    "runs": "true when the cell finished, or raised where the document states it raises (a stated traceback, a "
            "raises-exception tag, a '# Raises ...' comment, 'the following will raise' right before it); false "
            "when it raised an exception the document does not state, or finished where the document states it "
            "raises; environment when it raised because of the machine (no GPU, a package not installed, no "
            "network); unverifiable when it was skipped, never reached, failed only because an environment "
            "failure did, is a fragment: a block of expressions only (no assignment, def or import) that "
            "raised NameError for a name no cell of the document binds, or is an illustration the prose right "
            "before it introduces as an equivalence or pseudo-code ('is equivalent to:') and raised",
    "asserts": "true when the document's assertion held or its shown check is True; false when the assertion "
               "raised or the check it shows is False; unverifiable when it was not reached",
    "shows": "numbers within the value tolerance plus the printed precision, structure (skeleton, integers, "
             "dtype words) equal, up to representation differences (weak_type, a dtype= suffix, wrappers: named in the "
             "reason); false when they differ (the reason says how: value, structure, text, a likely changed random "
             "stream) or the cell raised instead",
    "derivative-correct": "max|got - expected| <= atol + rtol*max|expected| + 10x the finite-difference error "
                          "estimate, expected from Richardson-extrapolated central differences of the document's "
                          "function (float64 where it accepts float64); a function that stops gradients "
                          "(no_grad, detach, stop_gradient) is not promised that, nor a derivative rule the page defines "
                          "and says changes the gradient on purpose (clipping, straight-through), so a disagreement "
                          "there is unverifiable",
}


def _not_reached(result: SessionResult, index: int) -> str:
    if result.in_flight == index:
        if result.status == "timeout":
            return f"timeout: the document exceeded its limit while this cell ran ({result.reason})"
        return f"{result.status}: the session ended while this cell ran ({result.reason})"
    return f"not run: the session ended before this cell ({result.status}: {result.reason})"


def _claim(doc: Document, kind: str, cell: int, line: int, verdict: str, reason: str,
           evidence: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{kind}@{line}" + (f"#{cell}" if kind != "runs" else ""), "kind": kind, "cell": cell,
            "line": line, "verdict": checked_verdict(verdict), "reason": reason, "rule": RULES[kind], "evidence": evidence}


def _actual_cell_output(rec: dict[str, Any], cell: Any = None) -> str:
    """What the cell put on the page: its stdout, then the value it shows.  A cell that displays nothing itself
    (a Markdown fence, a reST block) shows its trailing expression's value, as an output block after it quotes."""
    out = str(rec.get("stdout") or "")
    shown = rec.get("display")
    if shown is None and cell is not None and cell.display == "none":
        shown = rec.get("value")
    if shown:
        out = out + ("\n" if out and not out.endswith("\n") else "") + str(shown)
    return out


def cell_name(cell: Cell) -> str:
    """How a message names a cell: ``cell 5`` in a notebook, ``the cell at line 12`` in a text document."""
    if prelude.is_prelude(cell):
        return f"the checker's assumed imports ({'; '.join(cell.assumed)})"
    label = cell.label or f"line {cell.line}"
    return label if label.startswith(("cell ", "example ")) and not label.startswith("cell at") else \
        f"the cell at {label.removeprefix('cell at ')}"


def _installed_by(doc: Document, index: int, cause: str) -> str:
    """Where the document installs a missing package with a shell line that did not run, if it does."""
    package = cause.removeprefix("package not installed: ").lower().replace("-", "_")
    for cell in doc.cells[:index]:
        if package in cell.installs:
            return f"; the document installs it in {cell_name(cell)} with a shell line, which is not run here"
    return ""


def _runs(doc: Document, index: int, cell: Cell, rec: dict[str, Any] | None, status: str, reason: str,
          fate: downstream.Fate | None, states_exception: bool) -> dict[str, Any]:
    if status == "ok" and cell.raises:
        return _claim(doc, "runs", index, cell.line, "false",
                      f"the cell finished, but the document states it raises ({cell.raises})", {"status": status})
    if status == "ok":
        return _claim(doc, "runs", index, cell.line, "true", "the cell finished", {"status": status})
    if status != "raised":
        return _claim(doc, "runs", index, cell.line, "unverifiable", reason, {"status": status})
    exc = (rec or {}).get("exception") or {}
    where = cell.line + int(exc["line"]) - 1 if exc.get("line") else cell.line
    evidence: dict[str, Any] = {"status": status, "exception": exc}
    if states_exception:
        said = f" ({cell.raises})" if cell.raises else ""
        return _claim(doc, "runs", index, where, "true", f"it raised, as the document states{said}", evidence)
    if fate is None and cell.illustrates:
        return _claim(doc, "runs", index, where, "unverifiable",
                      f"an illustration: the document introduces it as an equivalence, not an example to run as "
                      f"written ({cell.illustrates}); it raised {reason}", evidence)
    fragment = _fragment_name(doc, cell, exc)
    if fate is None and fragment:
        return _claim(doc, "runs", index, where, "unverifiable",
                      f"a fragment: uses names the document never defines ({fragment!r}), so it is not meant to "
                      f"run on its own ({reason})", evidence)
    if fate is None:
        text = f"raised {reason}"
        if str(exc.get("type", "")).rsplit(".", 1)[-1] == "AssertionError":
            text = "an assertion failed" + (f": {exc.get('message')}" if exc.get("message") else " (AssertionError)")
        return _claim(doc, "runs", index, where, "false", text, evidence)
    evidence.update(fate.cause.to_json())
    if not fate.downstream:
        text = f"environment: {fate.cause.name} ({reason}){_installed_by(doc, index, fate.cause.name)}; " \
               f"{fate.cause.fix}"
        return _claim(doc, "runs", index, where, "environment", text, evidence)
    claim = _claim(doc, "runs", index, where, "unverifiable",
                   f"{fate.label(cell_name(doc.cells[fate.root]))}: {reason}", evidence)
    claim["downstream_of"] = fate.root
    return claim


_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")


def _fragment_name(doc: Document, cell: Cell, exc: dict[str, Any]) -> str:
    """The undefined name when the cell is a fragment (see the ``runs`` rule), else empty."""
    match = _NAME_ERROR.search(str(exc.get("message", "")))
    if str(exc.get("type", "")).rsplit(".", 1)[-1] != "NameError" or not match:
        return ""
    try:
        tree = ast.parse(cell.code)
    except SyntaxError:
        return ""
    if not tree.body or not all(isinstance(stmt, ast.Expr) for stmt in tree.body):
        return ""
    missing, _ = prelude.unbound_names([c.code for c in doc.cells])
    return match.group(1) if match.group(1) in missing else ""


def _prelude_record(cell: Cell, rec: dict[str, Any] | None, status: str) -> dict[str, Any]:
    """The checker's own prelude cell in the results: what it assumed, and whether the imports worked."""
    return {"prelude": True, "assumed": list(cell.assumed), "status": "prelude" if status == "ok" else status}


def judge(doc: Document, result: SessionResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(cell records for the results file, claims with verdicts)."""
    cells_out: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    fates = downstream.trace([c.code for c in doc.cells], result.cells)
    for index, cell in enumerate(doc.cells):
        rec = result.cells[index]
        states_exception = bool(cell.raises) or any(compare.is_exception(e.text) for e in cell.expected
                                                    if e.scope == "cell")
        if rec is None:
            in_flight = result.in_flight == index and result.status in ("timeout", "killed")
            status, reason = (result.status if in_flight else "not run"), _not_reached(result, index)
        elif rec["status"] == "skipped":
            status, reason = "skipped", str(rec.get("reason", ""))
        elif rec["status"] == "raised":
            exc = rec.get("exception") or {}
            status, reason = "raised", f"{exc.get('type')}: {exc.get('message')}"
        else:
            status, reason = "ok", ""
        fate = None if states_exception else fates.get(index)
        blocked = fate.label(cell_name(doc.cells[fate.root])) if fate else ""
        out = {
            "index": index, "label": cell.label, "line": cell.line, "status": status, "reason": reason,
            "source": cell.source, "stdout": (rec or {}).get("stdout", ""), "display": (rec or {}).get("display"),
            "value": (rec or {}).get("value"), "duration_s": (rec or {}).get("duration_s"),
            "dropped_chars": (rec or {}).get("dropped_chars", 0),
        }
        if cell.notes:
            out["notes"] = list(cell.notes)
        if (rec or {}).get("transform_calls"):
            out["transform_calls"] = dict(rec["transform_calls"])  # type: ignore[index]
        if fate is not None:
            out["environment"] = fate.cause.name
            if fate.downstream:
                out["downstream_of"] = fate.root
        if prelude.is_prelude(cell):
            out.update(_prelude_record(cell, rec, status))
            cells_out.append(out)
            if status != "ok":  # an assumed import that failed (mlx not installed) is named once, here
                claims.append(_runs(doc, index, cell, rec, status, reason, fate, False))
            continue
        cells_out.append(out)
        claims.append(_runs(doc, index, cell, rec, status, reason, fate, states_exception))
        for exp in cell.expected:
            claims.append(_shows(doc, index, cell, exp, rec, status, reason, blocked))
        stated = {e.statement_line or 0 for e in cell.expected if e.scope == "line"}
        for found in asserts.find(cell.code, rec, status=status, blocked=blocked,
                                  stated=any(e.scope == "cell" for e in cell.expected), stated_lines=stated):
            claims.append(_claim(doc, "asserts", index, cell.line + found.line - 1, found.verdict, found.reason,
                                 found.evidence))
    for rec in _merge_repeats(result.derivatives):
        claims.append(_derivative(doc, rec))
    claims.extend(kinds.judge_registered(doc, result))
    return cells_out, claims


def _shows(doc: Document, index: int, cell: Any, exp: Any, rec: dict[str, Any] | None, status: str,
           reason: str, blocked: str = "") -> dict[str, Any]:
    evidence: dict[str, Any] = {"stated": exp.text, "origin": exp.origin}
    sources = [c.source for c in doc.cells[:index + 1]]  # what the random-stream hint reads
    if status in ("not run", "timeout", "killed", "skipped"):
        return _claim(doc, "shows", index, exp.line, "unverifiable", f"the cell did not run ({reason})", evidence)
    if blocked:  # it raised because of the machine: what it would show cannot be seen here
        return _claim(doc, "shows", index, exp.line, "unverifiable", f"the cell did not finish here ({blocked})",
                      evidence)
    assert rec is not None
    if exp.scope == "line":
        printed = (rec.get("statements") or {}).get(str(exp.statement_line))
        if printed is None:
            why = f"the statement was not reached ({reason})" if status == "raised" else "the statement printed nothing"
            verdict = "unverifiable" if status == "raised" else "false"
            return _claim(doc, "shows", index, exp.line, verdict, why, evidence)
        evidence["got"] = printed
        result = compare.compare(exp.text, printed.strip(), source=sources)
    elif compare.is_exception(exp.text):
        exc = rec.get("exception")
        if not exc:
            evidence["got"] = _actual_cell_output(rec, cell)
            return _claim(doc, "shows", index, exp.line, "false", "the document states an exception; none was raised",
                          evidence)
        evidence["got"] = f"{exc.get('type')}: {exc.get('message')}"
        result = compare.compare_exception(exp.text, str(exc.get("type")), str(exc.get("message")), source=sources)
    else:
        evidence["got"] = _actual_cell_output(rec, cell)
        if status == "raised":
            return _claim(doc, "shows", index, exp.line, "false", f"the cell raised instead ({reason})", evidence)
        result = compare.compare(exp.text, evidence["got"], source=sources)
    evidence.update(how=result.how, max_abs_err=result.max_abs_err, bound=result.bound, dtype=result.dtype)
    evidence.update(result.evidence())
    if result.detail:
        evidence["detail"] = result.detail
    return _claim(doc, "shows", index, exp.line, verdict_of(result.match),
                  ("the output matches" + (f" ({result.detail})" if result.detail else "")) if result.match
                  else result.detail or "the output differs", evidence)


def _derivative(doc: Document, rec: dict[str, Any]) -> dict[str, Any]:
    index = rec.get("cell")
    cell = doc.cells[index] if isinstance(index, int) and 0 <= index < len(doc.cells) else None
    base = cell.line if cell else 0
    line = base + int(rec["line"]) - 1 if rec.get("line") and cell else base
    evidence = {k: v for k, v in rec.items() if k not in ("type", "cell", "line")}
    name = str(rec.get("transform"))
    if rec.get("status") != "checked":
        claim = _claim(doc, "derivative-correct", index if index is not None else -1, line, "unverifiable",
                       str(rec.get("reason", "")), evidence)
    else:
        err, bound = rec.get("max_abs_err"), rec.get("bound")
        ok = isinstance(err, (int, float)) and isinstance(bound, (int, float)) and err <= bound
        against = "the loop over the batch" if rec.get("kind") == "identity" else "finite differences"
        text = (f"{name} agrees with {against} (error {err:.3g} <= {bound:.3g})" if ok else
                f"{name} disagrees with {against} of the document's function: error {err:.3g} > bound {bound:.3g}")
        if rec.get("error"):
            text = f"{name}: {rec['error']}"
        verdict = verdict_of(bool(ok))
        deliberate = intent.deliberate_rule(doc, index) if not ok and cell is not None else ""
        if deliberate:
            text += f" ({deliberate}: its result is not meant to be the derivative of the function's values)"
            verdict = "unverifiable"
        elif not ok and rec.get("stops_gradient"):
            # The transform follows no_grad/detach/stop_gradient by design, so finite differences of the values are
            # not what it promises: a documented use of that is no wrong derivative, and nothing here can judge it.
            text += (f" (the function stops gradients with {', '.join(rec['stops_gradient'])}: the transform "
                     "follows that by design, so its result is not the derivative of the function's values)")
            verdict = "unverifiable"
        claim = _claim(doc, "derivative-correct", index, line, verdict, text, evidence)
    claim["id"] = f"derivative-correct@{line}:{name}"
    return claim


def _merge_repeats(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unverifiable records of the same call site and reason (a loop calling ``torch.autograd.grad``) count once."""
    merged: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rec in records:
        if rec.get("status") == "checked":
            merged.append(rec)
            continue
        key = (rec.get("cell"), rec.get("line"), rec.get("transform"), rec.get("reason"))
        if key in seen:
            seen[key]["calls"] = seen[key].get("calls", 1) + rec.get("calls", 1)
        else:
            seen[key] = dict(rec)
            merged.append(seen[key])
    return merged
