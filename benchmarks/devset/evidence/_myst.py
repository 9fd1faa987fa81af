"""Shared by the JAX evidence scripts: run a MyST page's ``{code-cell}`` blocks in one namespace, printing each
cell's outcome and what it prints or shows (a cell shows its last expression, as in a notebook)."""

import ast
import contextlib
import io
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def run_cells(name: str) -> dict:
    lines = (DOCS / name).read_text(encoding="utf-8").split("\n")
    ns: dict = {}
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```{code-cell}"):
            i += 1
            continue
        j, body = i + 1, []
        while not lines[j].startswith("```"):
            body.append(lines[j])
            j += 1
        first, src = i + 2, "\n".join(body)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                tree = ast.parse(src)
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, f"cell@{first}", "exec"), ns)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), f"cell@{first}", "eval"), ns)
                    if value is not None:
                        print(repr(value))
            status = "ok"
        except Exception as e:
            status = f"raised {type(e).__name__}: {e}"
        shown = out.getvalue().rstrip().replace("\n", "\n  | ")
        print(f"cell L{first}: {status}" + (f"\n  | {shown}" if shown else ""))
        i = j + 1
    return ns
