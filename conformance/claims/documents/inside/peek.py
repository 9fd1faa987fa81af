"""Values the host asks to see once a cell has finished: a claim kind's expressions, evaluated in the document's
namespace, their shapes and types sent back.

Why: a page states facts about values it never prints ("``torch.nonzero(xs[0])`` returns a Tensor of shape 2").
A claim kind (``kinds.shapes``) names the expression and the cell after which it holds; the harness evaluates it
there, with the document's random stream saved and restored and anything it prints discarded, so the document
runs on as if nothing had looked.  Only what the host needs to judge comes back (the shape, the type's name, a
dtype, clipped representation), never a verdict.
"""

from __future__ import annotations

import sys
from typing import Any

from conformance.claims.documents.inside import ledger, output

REPR = 200
"""Characters of a value's representation kept (for the evidence only)."""


def shape_of(value: Any) -> list[int] | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        return [int(n) for n in tuple(shape)]
    except (TypeError, ValueError):
        return None


def look(expressions: list[str], namespace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each expression's shape, type and clipped representation, or the error evaluating it raised."""
    seen: dict[str, dict[str, Any]] = {}
    saved, stdout = ledger.save_rng(), sys.stdout
    sys.stdout = output.Capture()
    try:
        for expr in expressions:
            try:
                value = eval(compile(expr, "<probe>", "eval"), namespace)
                kind = type(value)
                seen[expr] = {"shape": shape_of(value), "type": f"{kind.__module__}.{kind.__qualname__}",
                              "dtype": str(getattr(value, "dtype", ""))[:60],
                              "repr": (output.display(value) or "")[:REPR]}
            except BaseException as exc:  # the expression's own failure is what the host judges
                seen[expr] = {"error": f"{type(exc).__name__}: {str(exc)[:REPR]}"}
    finally:
        sys.stdout = stdout
        ledger.restore_rng(saved)
    return seen
