"""Checks a document writes into its code: ``assert`` statements, ``assert_close``-style calls, and a cell that ends
with a comparison (``torch.allclose(a, b)``, ``x.shape == (3, 2)``) whose value the page shows.

Why: a tutorial's last line ``torch.allclose(manual, auto)`` is the page telling its reader that two things agree;
when it evaluates to False now, that is a false claim even though every cell ran.  Each check is one claim of kind
``asserts``: true when it held, false when it did not (an assertion raised, or the shown value is False), and
unverifiable when it was not reached.  A cell whose value the document states (a stored output, a doctest want)
is judged by that statement instead (kind ``shows``), so a page showing ``False`` on purpose is not a false claim.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any

_CHECK_CALLS = {"allclose", "isclose", "array_equal", "array_equiv", "equal", "all", "any", "isfinite"}
_ASSERT_CALL = re.compile(r"^(?:assert_\w*|assert[A-Z]\w*)$")
_TRUTH = re.compile(r"^(?:np\.|numpy\.)?(True|False)_?$|^tensor\((True|False)(?:, device='[^']*')?\)$"
                    r"|^Array\((True|False), dtype=bool(?:, weak_type=True)?\)$|^array\((True|False)(?:, dtype=bool)?\)$")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One ``asserts`` claim: ``line`` is cell-relative (1-based)."""

    line: int
    verdict: str
    """A word of ``contract.VERDICTS``."""
    reason: str
    evidence: dict[str, Any]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def is_check(expr: ast.expr) -> bool:
    """A comparison, or a call whose name says it compares (``allclose``, ``equal``, ``(a == b).all()``)."""
    if isinstance(expr, ast.Compare):
        return True
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return is_check(expr.operand)
    return isinstance(expr, ast.Call) and _name(expr.func) in _CHECK_CALLS


def truth(shown: str | None) -> bool | None:
    """The truth value a shown repr spells (``False``, ``tensor(True)``, ``Array(False, dtype=bool)``), else None."""
    found = _TRUTH.match((shown or "").strip())
    if found is None:
        return None
    return next(g for g in found.groups() if g) == "True"


def _statements(source: str) -> list[ast.stmt]:
    try:
        return ast.parse(source).body
    except (SyntaxError, ValueError):
        return []


def _is_assertion(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assert) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                                            and bool(_ASSERT_CALL.match(_name(stmt.value.func))))


def find(source: str, rec: dict[str, Any] | None, *, status: str, blocked: str, stated: bool,
         stated_lines: set[int] | frozenset[int] = frozenset()) -> list[Finding]:
    """The ``asserts`` findings of one cell.

    ``status`` is the cell's (ok, raised, skipped, not run, ...); ``blocked`` is non-empty when its failure is not the
    document's doing (environment, downstream): its checks are then unverifiable with that reason; ``stated`` is
    whether the document states the cell's output, ``stated_lines`` the statements whose output it states (then a
    trailing comparison is judged as ``shows``).
    """
    body = _statements(source)
    exc = (rec or {}).get("exception") or {}
    failed_at = exc.get("statement_line") or exc.get("line")
    assertion = str(exc.get("type", "")).rsplit(".", 1)[-1] == "AssertionError"
    findings: list[Finding] = []
    for stmt in body:
        if not _is_assertion(stmt):
            continue
        text = ast.unparse(stmt)[:300]
        end = stmt.end_lineno or stmt.lineno
        evidence: dict[str, Any] = {"check": text}
        if status not in ("ok", "raised"):
            findings.append(Finding(stmt.lineno, "unverifiable", f"the cell did not run ({status})", evidence))
        elif status == "ok" or (failed_at is not None and failed_at > end):
            findings.append(Finding(stmt.lineno, "true", "the assertion held", evidence))
        elif failed_at is not None and stmt.lineno <= failed_at <= end and assertion and not blocked:
            message = str(exc.get("message") or "")
            evidence["message"] = message
            findings.append(Finding(stmt.lineno, "false", "the assertion failed" + (f": {message}" if message else ""),
                                    evidence))
        else:
            findings.append(Finding(stmt.lineno, "unverifiable", blocked or "not reached: the cell raised before it",
                                    evidence))
    last = body[-1] if body else None
    if last is not None and isinstance(last, ast.Expr) and is_check(last.value) and not stated \
            and last.lineno not in stated_lines:
        shown = (rec or {}).get("value")
        value = truth(shown) if status == "ok" else None
        evidence = {"check": ast.unparse(last)[:300], "shown": shown}
        if value is True:
            findings.append(Finding(last.lineno, "true", "the check the page shows is True", evidence))
        elif value is False:
            findings.append(Finding(last.lineno, "false", f"the page shows this check and it is False now: "
                                                        f"{evidence['check']}", evidence))
        elif status == "ok":
            pass  # not one truth value (an elementwise comparison): nothing the page claims as a whole
        else:
            findings.append(Finding(last.lineno, "unverifiable", blocked or f"the check was not reached ({status})",
                                    evidence))
    return findings
