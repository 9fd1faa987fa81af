"""The imports a page assumes but never writes, as one cell of the checker's own run before the document's first.

Why: MLX's transforms page never writes ``import mlx.core as mx`` and torch.func's pages never import ``vmap``
(their ``.. currentmodule:: torch.func`` stands for it), so every cell failed with ``NameError`` and each was
reported as a document error.  A reader of the page supplies those imports without thinking; so does this, and
says so: the prelude cell carries ``assumed`` (``import mlx.core as mx``), makes no claim of its own and is
recorded in the results as the checker's assumption.

Only names a cell *loads* and no cell of the document ever binds (assigns, imports, defines, takes as an
argument) are supplied, so a page that writes its own imports, or binds ``np`` to something else, is run as
written.  Two sources, in this order: the table of conventional aliases below, then the page's current module
(``.. currentmodule::``, ``.. module::``, ``.. py:currentmodule::``, MyST ``{currentmodule}``), from which an
unbound name is imported when the module has it.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import re
from collections.abc import Callable

from conformance.claims.documents.model import Cell, Document


@dataclasses.dataclass(frozen=True)
class Convention:
    statement: str
    reason: str
    when: Callable[[set[str]], bool] | None = None
    """Whether the convention applies, given the top-level packages the document imports or is assumed to."""


def _uses_jax(imported: set[str]) -> bool:
    return "jax" in imported


CONVENTIONS: dict[str, Convention] = {
    "np": Convention("import numpy as np", "NumPy's own documentation and every scientific tutorial"),
    "onp": Convention("import numpy as onp", "JAX's documentation: original NumPy beside jax.numpy"),
    "jnp": Convention("import jax.numpy as jnp", "JAX's documentation, throughout"),
    "jax": Convention("import jax", "the package's own name"),
    "random": Convention("from jax import random", "JAX's documentation, on a page that otherwise uses JAX "
                         "(elsewhere `random` is the standard library's module, which a page would import)",
                         _uses_jax),
    "torch": Convention("import torch", "the package's own name"),
    "nn": Convention("import torch.nn as nn", "PyTorch's documentation and tutorials"),
    "F": Convention("import torch.nn.functional as F", "PyTorch's documentation and tutorials"),
    "mx": Convention("import mlx.core as mx", "MLX's documentation, throughout"),
    "plt": Convention("import matplotlib.pyplot as plt", "matplotlib's documentation and every tutorial"),
}
"""Alias -> the import a page using it unbound means, and why that reading is the conventional one."""

_CURRENT = re.compile(r"^\s*(?:\.\.\s+|[`:]{3,}\s*\{)(?:py:)?(?:current)?module(?:::|\})\s*([A-Za-z_][\w.]*)\s*$",
                      re.MULTILINE)
_BUILTINS = set(dir(builtins)) | {"display", "get_ipython", "In", "Out", "exit", "quit"}


def current_modules(text: str) -> list[str]:
    """The modules a page declares current (reST or MyST directive), in order, each once."""
    found: list[str] = []
    for match in _CURRENT.finditer(text):
        if match.group(1) not in found:
            found.append(match.group(1))
    return found


def current_module_lines(text: str) -> list[tuple[int, str]]:
    """(line, module) of every current-module directive of a page, in order: Sphinx's current module changes at
    each, so a name is read in the one declared last above it."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _CURRENT.finditer(text)]


def _bound_and_loaded(tree: ast.AST) -> tuple[set[str], set[str]]:
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
    return bound, loaded


def unbound_names(sources: list[str]) -> tuple[set[str], set[str]]:
    """(names some cell loads and no cell binds, the top-level packages the cells import).  Cells that do not
    parse are left out: what they bind cannot be told, and they fail as written anyway."""
    bound: set[str] = set()
    loaded: set[str] = set()
    imported: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        b, l_ = _bound_and_loaded(tree)
        bound |= b
        loaded |= l_
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    return {n for n in loaded - bound - _BUILTINS if not n.startswith("_")}, imported


def assumed_imports(sources: list[str], modules: list[str]) -> tuple[list[str], str]:
    """(the assumed imports as a reader would write them, the code that makes them)."""
    missing, imported = unbound_names(sources)
    aliases = [n for n in CONVENTIONS if n in missing]
    plain = [n for n in aliases if CONVENTIONS[n].when is None]
    packages = imported | {CONVENTIONS[n].statement.split()[1].split(".")[0] for n in plain} | \
        {m.split(".")[0] for m in modules}
    aliases = [n for n in aliases if n in plain or CONVENTIONS[n].when(packages)]  # type: ignore[misc]
    assumed = [CONVENTIONS[n].statement for n in aliases]
    code = [f"{CONVENTIONS[n].statement}  # {CONVENTIONS[n].reason}" for n in aliases]
    rest = sorted(missing - set(aliases))
    for module in modules if rest else []:
        # Only the names the module has: a page's own undefined name stays a NameError of the page.
        code.append(f"import {module} as _current  # the page's current module")
        code.append(f"globals().update({{_n: getattr(_current, _n) for _n in {rest!r} if hasattr(_current, _n)}})")
        code.append("del _current")
        assumed.append(f"from {module} import {', '.join(rest)}  (the page's current module; the names it has)")
    return assumed, "".join(line + "\n" for line in code)


def add(doc: Document, modules: list[str]) -> Document:
    """``doc`` with the prelude cell first when its cells assume imports they never write; unchanged otherwise."""
    cells = [c for c in doc.cells if not c.assumed]
    assumed, code = assumed_imports([c.code for c in cells if not c.skipped], modules)
    if not assumed:
        return doc
    line = cells[0].line if cells else 1
    doc.cells = [Cell(source=code, line=line, label="assumed imports", assumed=assumed), *cells]
    return doc


def is_prelude(cell: Cell) -> bool:
    return bool(cell.assumed)
