"""Claim kind ``shapes``: a shape the page states for a value, held against the value's shape in the session.

Why: tutorials state shapes they never print ("``torch.nonzero(xs[0])`` returns a Tensor of shape 2";
``J = jacrev(f)(x)  # shape (3, 4)``), and a wrong one misleads a reader as much as a wrong printed number.  The
statement names an expression (the inline code of the sentence, or the variable the commented line assigns); the
session evaluates it after the cell it follows (``probes``: ``inside.peek``, the document's random stream kept)
and sends its shape back; the verdict compares the two as tuples of whole numbers.

What counts as a statement, written down so the misses are known:

- prose: inline code, then within the sentence a verb (returns, is, has, gives, produces, outputs, yields, will
  be/have/return), then ``shape`` and the shape: ``(2, 3)``, ``[2, 3]``, ``torch.Size([2, 3])``, ``2 x 3`` or
  ``2``, in or out of inline code.  It holds after the last cell before the sentence; when the sentence ends
  with a colon (it introduces the block after it), after the next cell;
- a comment on a line of code: ``# shape (3, 4)``, ``# -> shape: (3, 4)``, ``# x has shape (3, 4)``: the named
  variable, else the line's single assignment target, else the line's expression; only when the cell assigns that
  name once (a later assignment in the same cell would change what is measured).

Symbolic shapes (``(B, 3)``, ``[N]``) and sizes ("of size 3": the number of elements) are not read, nor a sentence
that places the value inside something ("Inside of vmap, ``result`` is a Tensor of shape [3, 3]"): that is a local
or a traced value, not the page's variable of the same name.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from conformance.claims.documents.kinds import Context, claim, claim_kind, prose
from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult

RULE = ("true when the value's shape equals the stated shape; false when it differs; unverifiable when the "
        "expression could not be evaluated after its cell or has no shape")
_SHAPE = r"(?P<shape>``?[^`]{1,60}?``?|torch\.Size\(\[[\d,\s]*\]\)|\([\d,\s]*\)|\[[\d,\s]*\]|\d+(?:\s*[x×]\s*\d+)*)"
_PROSE = re.compile(
    r"(?:``(?P<e1>[^`]{1,200})``|`(?P<e2>[^`]{1,200})`)\s+"
    r"(?:returns?|is|has|gives|produces|outputs?|yields|will\s+(?:be|have|return|give))\b"
    r"[^.;:`]{0,60}?\bshape\s+(?:of\s+)?" + _SHAPE)
_COMMENT = re.compile(
    r"^#\s*(?:->\s*|=>\s*)?(?:(?P<name>[A-Za-z_]\w*)\s+(?:has|is\s+of|of)\s+(?:the\s+)?)?shape\s*(?:is\s+|:\s*|=\s*|of\s+)?"
    + _SHAPE + r"\s*$", re.IGNORECASE)
_INSIDE = re.compile(r"\b(?:inside|within|under)\b", re.IGNORECASE)
"""A sentence that places the value inside a function or a transform speaks of a local or a traced value, not of
the page's variable of that name."""
MAX_PROBES = 50
"""Expressions asked per document: a page states a few shapes; more is a page the reading misunderstands."""


def parse_shape(text: str) -> tuple[int, ...] | None:
    """The stated shape as whole numbers, or None when it is not one (symbolic, a range, prose)."""
    t = text.strip().strip("`").strip()
    t = re.sub(r"^torch\.Size\(\s*(\[.*\])\s*\)$", r"\1", t)
    if re.fullmatch(r"\d+(?:\s*[x×]\s*\d+)*", t):
        return tuple(int(n) for n in re.split(r"\s*[x×]\s*", t))
    m = re.fullmatch(r"[(\[]\s*((?:\d+\s*,\s*)*\d*)\s*,?\s*[)\]]", t)
    if m is None:
        return None
    return tuple(int(n) for n in re.findall(r"\d+", m.group(1)))


def _expression(text: str) -> str | None:
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    if isinstance(tree.body, ast.Constant):
        return None
    return text


def _top_level_names(code: str) -> set[str]:
    """Names a cell binds at its top level (assignments, loops, with, imports, defs): what a later sentence can
    mean by the name.  A name bound only inside a function body is that function's, not the page's."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()

    def targets(node: ast.AST) -> None:
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                names.add(n.id)

    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for t in getattr(stmt, "targets", None) or [stmt.target]:  # type: ignore[attr-defined]
                targets(t)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            targets(stmt.target)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    targets(item.optional_vars)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
    return names


def _imported(doc: Document, upto: int) -> set[str]:
    """Module names the cells up to ``upto`` import (and the checker's prelude assumes)."""
    found: set[str] = set()
    for cell in doc.cells[:upto + 1]:
        try:
            tree = ast.parse(cell.code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update((a.asname or a.name).split(".")[0] for a in node.names)
    return found


def _means_the_cells(doc: Document, expr: str, index: int) -> bool:
    """Whether every name the expression reads is one the cell binds at top level, or an imported module: the
    sentence then speaks of the page's value.  ``result`` in "inside vmap, ``result`` has shape [3, 3]" is a
    function's local, and another ``result`` of the page would be measured in its place."""
    free = {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}
    return bool(free) and free <= _top_level_names(doc.cells[index].code) | _imported(doc, index)


def placed_inside(text: str, pos: int) -> bool:
    """Whether the sentence before ``pos`` places the value inside something (:data:`_INSIDE`)."""
    start = max(text.rfind(". ", 0, pos), text.rfind("\n\n", 0, pos), 0)
    return _INSIDE.search(text[start:pos]) is not None


def asked(found: list[dict[str, Any]]) -> dict[int, list[str]]:
    """The probes a kind's statements need: each statement's expression, after its cell."""
    out: dict[int, list[str]] = {}
    for st in found:
        out.setdefault(st["cell"], []).append(st["expression"])
    return out


def seen(result: SessionResult, st: dict[str, Any]) -> dict[str, Any] | None:
    """What the session's probe reported for a statement's expression (None: not evaluated)."""
    rec = result.cells[st["cell"]] if st["cell"] < len(result.cells) else None
    return ((rec or {}).get("probes") or {}).get(st["expression"])


def _cell_before(doc: Document, line: int, after: bool) -> int | None:
    """The cell the statement follows (or, ``after``, the first cell after it), skipping the checker's prelude."""
    cells = [(i, c) for i, c in enumerate(doc.cells) if not c.assumed and not c.skipped]
    if after:
        return next((i for i, c in cells if c.line > line), None)
    before = [i for i, c in cells if c.line <= line]
    return before[-1] if before else None


def statements(doc: Document) -> list[dict[str, Any]]:
    """Every stated shape: its document line, the expression, the shape, and the cell after which it holds."""
    found: list[dict[str, Any]] = []
    for block in prose.blocks(doc):
        if block.heading:
            continue
        for m in _PROSE.finditer(block.text):
            expr, shape = _expression(m.group("e1") or m.group("e2") or ""), parse_shape(m.group("shape"))
            line = block.line_at(m.start())
            rest = block.text[m.end():].lstrip()
            cell = _cell_before(doc, line, after=rest.startswith(":") or block.text.rstrip().endswith(":"))
            inside = placed_inside(block.text, m.start())  # "Inside of vmap, ``result`` is ... [3, 3]"
            if expr and shape is not None and cell is not None and not inside and _means_the_cells(doc, expr, cell):
                found.append({"line": line, "expression": expr, "stated": list(shape), "cell": cell,
                              "quote": m.group(0)[:200], "where": "prose"})
    for index, cell in enumerate(doc.cells):
        if cell.assumed:
            continue
        found += _comment_statements(index, cell.code, cell.line)
    return found[:MAX_PROBES]


def _comment_statements(index: int, code: str, first: int) -> list[dict[str, Any]]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    assigned: dict[str, int] = {}
    for node in ast.walk(tree):
        for target in getattr(node, "targets", []) + ([node.target] if isinstance(node, (ast.AugAssign,
                                                                                      ast.AnnAssign)) else []):
            if isinstance(target, ast.Name):
                assigned[target.id] = assigned.get(target.id, 0) + 1
    lines = code.splitlines()
    found = []
    for stmt in tree.body:
        text = lines[stmt.end_lineno - 1] if stmt.end_lineno else ""
        at = text.find("#")
        m = _COMMENT.match(text[at:].strip()) if at >= 0 else None
        if m is None or parse_shape(m.group("shape")) is None:
            continue
        name = m.group("name")
        if name is None and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
        expr = name or (ast.get_source_segment(code, stmt.value) if isinstance(stmt, ast.Expr) else None)
        if not expr or (name and assigned.get(name, 0) != 1):
            continue
        found.append({"line": first + (stmt.end_lineno or stmt.lineno) - 1, "expression": expr,
                      "stated": list(parse_shape(m.group("shape")) or ()), "cell": index,
                      "quote": text[at:].strip()[:200], "where": "comment"})
    return found


@claim_kind("shapes", rule=RULE, probes=lambda doc: asked(statements(doc)))
def shapes(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    claims = []
    for st in statements(doc):
        probe = seen(result, st)
        evidence = {"expression": st["expression"], "stated": st["stated"], "quote": st["quote"],
                    "where": st["where"], "seen": probe}
        stated = tuple(st["stated"])
        if probe is None:
            verdict, reason = "unverifiable", f"{st['expression']} was not evaluated (its cell did not finish)"
        elif "error" in probe:
            verdict, reason = "unverifiable", f"evaluating {st['expression']} after its cell raised {probe['error']}"
        elif probe.get("shape") is None:
            verdict, reason = "unverifiable", f"{st['expression']} is a {probe.get('type')}, which has no shape"
        elif tuple(probe["shape"]) == stated:
            verdict, reason = "true", f"{st['expression']} has shape {stated}, as stated"
        else:
            verdict, reason = "false", (f"{st['expression']} has shape {tuple(probe['shape'])}, not the stated "
                                      f"{stated}")
        claims.append(claim("shapes", cell=st["cell"], line=st["line"], verdict=verdict, reason=reason,
                            evidence=evidence, id=f"shapes@{st['line']}#{st['cell']}:{st['expression'][:60]}"))
    return claims
