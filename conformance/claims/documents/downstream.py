"""Which failed cells failed because of the machine, and which only because an earlier cell did.

Why: on a CPU machine a GPU tutorial's first CUDA call failed, and the eight cells after it, each failing with
``NameError`` for a name that cell would have defined, were reported as eight false claims.  Here, walking the
cells in order:

- a cell whose exception has an environment cause (``causes.cause_of``) seen for the first time is the *root*:
  verdict ``environment``, the cause named once;
- a later cell that fails with the same cause again, or with ``NameError`` for a name that a root or a downstream
  cell would have bound (by the statement that failed or the ones after it), is *downstream* of that root, and what
  it would have bound counts as missing too (so a chain of such cells traces back to the one cause);
- any other failure is the document's own.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from conformance.claims.documents.causes import Cause, cause_of

_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")


@dataclasses.dataclass(frozen=True)
class Fate:
    """Why a cell failed when the document is not to blame: ``root`` is the index of the cell with the cause."""

    cause: Cause
    root: int
    downstream: bool

    def label(self, root_name: str) -> str:
        if self.downstream:
            return f"downstream of {root_name} (environment: {self.cause.name})"
        return f"environment: {self.cause.name}"


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


def bound_names(stmt: ast.stmt) -> set[str]:
    """The module-level names one top-level statement binds (function and class bodies are their own scopes)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    names: set[str] = set()
    nested: list[ast.AST] = [stmt]
    while nested:
        node = nested.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(child.name)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                names |= bound_names(child)
            elif isinstance(child, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
                names |= {n.target.id for n in ast.walk(child)
                          if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)}
            elif isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                names.add(child.id)
            else:
                nested.append(child)
    return names


def unbound_after_failure(source: str, statement_line: int | None) -> set[str]:
    """Names a cell that failed would have bound: those of the top-level statement that failed and of the ones after
    it (every top-level name of the cell when that statement is not known, or the cell does not parse)."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for stmt in body:
        end = stmt.end_lineno or stmt.lineno
        if statement_line is None or end >= statement_line:
            names |= bound_names(stmt)
    return names


def missing_name(exception: dict[str, Any] | None) -> str | None:
    """The name of a ``NameError`` ("name 'model' is not defined"), else None."""
    if not exception or str(exception.get("type", "")).rsplit(".", 1)[-1] not in ("NameError", "UnboundLocalError"):
        return None
    found = _NAME_ERROR.search(str(exception.get("message", "")))
    return found.group(1) if found else None


def trace(sources: Sequence[str], records: Sequence[dict[str, Any] | None]) -> dict[int, Fate]:
    """The fate of every failed cell the document is not to blame for, by cell index (see the module docstring).

    ``records`` are the cells' records (``None``: never reported), ``sources`` the Python each cell ran.
    """
    fates: dict[int, Fate] = {}
    roots: dict[str, int] = {}  # cause name -> its root cell
    missing: dict[str, int] = {}  # name a blamed cell would have bound -> that cell's root
    for index, (source, rec) in enumerate(zip(sources, records)):
        if rec is None or rec.get("status") != "raised":
            continue
        exc = rec.get("exception") or {}
        cause = cause_of(exc)
        name = missing_name(exc)
        if cause is not None:
            if cause.name in roots:
                fate = Fate(cause, roots[cause.name], True)
            else:
                roots[cause.name] = index
                fate = Fate(cause, index, False)
        elif name is not None and name in missing:
            root = missing[name]
            fate = Fate(fates[root].cause, root, True)
        else:
            continue
        fates[index] = fate
        for unbound in unbound_after_failure(source, exc.get("statement_line") or exc.get("line")):
            missing.setdefault(unbound, fate.root)
    return fates
