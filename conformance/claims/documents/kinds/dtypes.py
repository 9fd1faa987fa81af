"""Claim kind ``dtypes``: a dtype the page states for a value, held against the value's dtype in the session.

Why: "``x64`` is a float64 copy", ``y = x.half()  # float16``: a tutorial about precision states dtypes, and
JAX's float32 default makes a stated float64 wrong more often than readers expect.  Statements are found and
measured as the ``shapes`` kind finds and measures shapes (inline code, then a verb, then the dtype; or a comment
on the line that assigns the value), with the same guards (the sentence's names bound at the cell's top level or
imported, nothing said to be inside a function or transform); the session's probe (``inside.peek``) reports the
value's dtype, compared by its base name (``torch.float64``, ``dtype('float64')``, ``mlx.core.float64`` are all
``float64``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from conformance.claims.documents.kinds import Context, claim, claim_kind, prose
from conformance.claims.documents.kinds.shapes import (
    MAX_PROBES,
    _cell_before,
    _means_the_cells,
    asked,
    placed_inside,
    seen,
)
from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult

RULE = ("true when the value's dtype is the stated one; false when it is another; unverifiable when the expression "
        "could not be evaluated after its cell or has no dtype")
DTYPES = ("bfloat16", "float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32", "int64",
          "uint8", "bool")
_NAME = r"(?P<dtype>" + "|".join(DTYPES) + r")"
_PROSE = re.compile(
    r"(?:``(?P<e1>[^`]{1,200})``|`(?P<e2>[^`]{1,200})`)\s+"
    r"(?:is|are|has|returns?|gives|produces|will\s+(?:be|have|return))\s+"
    r"(?:(?:an?|of|with|the)\s+)*(?:dtype\s+|type\s+)?" + _NAME + r"\b(?!\s*(?:->|to\b))")
_COMMENT = re.compile(r"^#\s*(?:dtype\s*[:=]?\s*|->\s*)?" + _NAME + r"(?:\s+(?:tensor|array|values?))?\s*$",
                      re.IGNORECASE)


def base_name(dtype: str) -> str:
    """``torch.float64`` -> ``float64``; ``dtype('float32')`` -> ``float32``; empty when there is none."""
    m = re.search(r"(" + "|".join(sorted(DTYPES, key=len, reverse=True)) + r")\b", dtype or "")
    return m.group(1) if m else ""


def statements(doc: Document) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in prose.blocks(doc):
        if block.heading:
            continue
        for m in _PROSE.finditer(block.text):
            expr = (m.group("e1") or m.group("e2") or "").strip()
            try:
                if isinstance(ast.parse(expr, mode="eval").body, ast.Constant):
                    continue
            except SyntaxError:
                continue
            line = block.line_at(m.start())
            cell = _cell_before(doc, line, after=block.text.rstrip().endswith(":"))
            if cell is None or placed_inside(block.text, m.start()) or not _means_the_cells(doc, expr, cell):
                continue
            found.append({"line": line, "expression": expr, "stated": m.group("dtype"), "cell": cell,
                          "quote": m.group(0)[:200]})
    for index, cell in enumerate(doc.cells):
        if cell.assumed:
            continue
        try:
            tree = ast.parse(cell.code)
        except SyntaxError:
            continue
        lines = cell.code.splitlines()
        names = [t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            text = lines[(stmt.end_lineno or stmt.lineno) - 1]
            at = text.find("#")
            m = _COMMENT.match(text[at:].strip()) if at >= 0 else None
            name = stmt.targets[0].id
            if m is None or names.count(name) != 1:
                continue
            found.append({"line": cell.line + (stmt.end_lineno or stmt.lineno) - 1, "expression": name,
                          "stated": m.group("dtype").lower(), "cell": index, "quote": text[at:].strip()[:200]})
    return found[:MAX_PROBES]


@claim_kind("dtypes", rule=RULE, probes=lambda doc: asked(statements(doc)))
def dtypes(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    claims = []
    for st in statements(doc):
        probe = seen(result, st)
        got = base_name(str((probe or {}).get("dtype", "")))
        if probe is None or "error" in probe:
            verdict, reason = "unverifiable", (f"{st['expression']} was not evaluated after its cell"
                                               + (f": {probe['error']}" if probe else ""))
        elif not got:
            verdict, reason = "unverifiable", f"{st['expression']} is a {probe.get('type')}, which has no dtype"
        elif got == st["stated"]:
            verdict, reason = "true", f"{st['expression']} is {got}, as stated"
        else:
            verdict, reason = "false", f"{st['expression']} is {got}, not the stated {st['stated']}"
        claims.append(claim("dtypes", cell=st["cell"], line=st["line"], verdict=verdict, reason=reason,
                            evidence={"expression": st["expression"], "stated": st["stated"], "seen": probe,
                                      "quote": st["quote"]},
                            id=f"dtypes@{st['line']}#{st['cell']}:{st['expression'][:60]}"))
    return claims
