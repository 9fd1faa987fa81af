"""Claim kind ``reachable``: a statement of a cell that follows ``return``, ``raise``, ``continue`` or ``break`` in
the same block can never run.

Why a kind of its own: such a cell still "runs" (defining the function succeeds), so its ``runs`` claim is true,
yet the example the document shows computes nothing.  torch.func's whirlwind tour has both of its Hessian examples
indented under ``def f`` after its ``return``: the page says they compute Hessians, and no line of them ever
executes.  Nothing the session records can show that (the statements never run, so they raise nothing), so the
evidence is static: each cell's code is parsed with ``ast`` (nothing is run or imported).

What counts: only a terminator legal where it stands (``return`` inside a function, ``continue``/``break`` inside a
loop, ``raise`` anywhere), since a misplaced one is a ``SyntaxError`` the ``runs`` claim already reports; only
statements after it in the *same* block (a ``return`` inside an ``if`` leaves the code after the ``if`` alone);
and not a dead ``pass``, ``...`` or string (they compute nothing, so nothing is lost).  The checker's own prelude
cell is not the document's and is left out; a cell the checker skips is still read when it parses, since the
document shows its code all the same.

One claim per dead statement, anchored at its first line in the document (a cell's line ``k`` is document line
``cell.line + k - 1``, as for every kind); its evidence lists the statement's lines and the statement that makes
it unreachable.  Statements that can run make no claim: that a cell runs is the ``runs`` claim's.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from typing import Any

from conformance.claims.documents.kinds import Context, claim, claim_kind
from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult

RULE = ("false for each statement that follows a return, raise, continue or break in the same block (a function's, "
        "loop's, if's, with's or try's body): it can never run; no claim for statements that can run")
_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclasses.dataclass(frozen=True)
class Dead:
    """A statement that cannot run, the one that makes it so, and where."""

    statement: ast.stmt
    terminator: ast.stmt
    block: str
    """The block both are in, in words: ``the body of def f``, ``the cell``."""


def _legal(stmt: ast.stmt, in_function: bool, in_loop: bool) -> bool:
    if isinstance(stmt, ast.Return):
        return in_function
    if isinstance(stmt, (ast.Continue, ast.Break)):
        return in_loop
    return isinstance(stmt, ast.Raise)


def _inert(stmt: ast.stmt) -> bool:
    """``pass``, ``...`` or a bare string: a statement that computes nothing."""
    return isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))


def _children(stmt: ast.stmt, in_function: bool, in_loop: bool,
              first_line: int) -> Iterator[tuple[list[ast.stmt], str, bool, bool]]:
    """(block, its name, inside a function, inside a loop) of each block nested directly in ``stmt``; lines in the
    names are document lines (the code's line 1 is ``first_line``)."""
    line = first_line + stmt.lineno - 1
    if isinstance(stmt, _FUNCTIONS):
        yield stmt.body, f"the body of def {stmt.name}", True, False
    elif isinstance(stmt, ast.ClassDef):
        yield stmt.body, f"the body of class {stmt.name}", False, False
    elif isinstance(stmt, _LOOPS):
        word = "while" if isinstance(stmt, ast.While) else "for"
        yield stmt.body, f"the {word} loop at line {line}", in_function, True
        yield stmt.orelse, f"the else of the {word} loop at line {line}", in_function, in_loop
    elif isinstance(stmt, ast.If):
        yield stmt.body, f"the if at line {line}", in_function, in_loop
        yield stmt.orelse, f"the else of the if at line {line}", in_function, in_loop
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        yield stmt.body, f"the with at line {line}", in_function, in_loop
    elif isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
        yield stmt.body, f"the try at line {line}", in_function, in_loop
        for handler in stmt.handlers:
            yield handler.body, f"the except at line {first_line + handler.lineno - 1}", in_function, in_loop
        yield stmt.orelse, f"the else of the try at line {line}", in_function, in_loop
        yield stmt.finalbody, f"the finally of the try at line {line}", in_function, in_loop
    elif isinstance(stmt, ast.Match):
        for case in stmt.cases:
            yield case.body, f"a case of the match at line {line}", in_function, in_loop


def dead_statements(body: list[ast.stmt], first_line: int = 1, block: str = "the cell", in_function: bool = False,
                    in_loop: bool = False) -> list[Dead]:
    """Every statement of ``body`` and of the blocks inside it that follows a terminator of its own block (the
    code's line 1 is document line ``first_line``).  A dead statement's own blocks are not searched: the statement
    is reported, not what it holds."""
    found: list[Dead] = []
    terminator: ast.stmt | None = None
    for stmt in body:
        if terminator is not None:
            if not _inert(stmt):
                found.append(Dead(stmt, terminator, block))
            continue
        for inner, name, fn, loop in _children(stmt, in_function, in_loop, first_line):
            found.extend(dead_statements(inner, first_line, name, fn, loop))
        if isinstance(stmt, _TERMINATORS) and _legal(stmt, in_function, in_loop):
            terminator = stmt
    return found


def _snippet(stmt: ast.stmt) -> str:
    text = ast.unparse(stmt).split("\n")[0]
    return text if len(text) <= 80 else text[:77] + "..."


@claim_kind("reachable", rule=RULE)
def reachable(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    """One false claim per statement of the document's cells that can never run."""
    if result.status == "cancelled":
        return []  # the document is checked again
    claims: list[dict[str, Any]] = []
    for index, cell in enumerate(doc.cells):
        if cell.assumed:
            continue  # the checker's prelude is no code of the document
        try:
            tree = ast.parse(cell.code)
        except (SyntaxError, ValueError):
            continue  # the runs claim reports code that does not parse
        for dead in dead_statements(tree.body, cell.line):
            first = cell.line + dead.statement.lineno - 1
            last = cell.line + (dead.statement.end_lineno or dead.statement.lineno) - 1
            stop = cell.line + dead.terminator.lineno - 1
            word = type(dead.terminator).__name__.lower()
            reason = (f"never runs: it follows `{_snippet(dead.terminator)}` (line {stop}) in {dead.block}, "
                      f"so `{_snippet(dead.statement)}` is dead code")
            claims.append(claim("reachable", cell=index, line=first, verdict="false", reason=reason,
                                evidence={"statement": _snippet(dead.statement), "lines": list(range(first, last + 1)),
                                          "after": word, "after_line": stop, "block": dead.block}))
    return claims
