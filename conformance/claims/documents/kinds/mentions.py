"""Where the ``names`` kind finds a document's names of known libraries: code, prose, and the page's scope.

- code (each cell, parsed with ``ast``): ``import functorch``, ``import jax.numpy as jnp``, ``from torch.func import
  hessiani``, and every attribute chain whose first name is a known root or an alias the document's imports bind
  (``jnp.linalg.norm`` is ``jax.numpy.linalg.norm``; ``vmap`` after ``from torch.func import vmap`` adds a line to
  ``torch.func.vmap``).  Aliases carry from cell to cell, as state does in a notebook.  The checker's own prelude
  cell (the imports a page assumes, :mod:`conformance.claims.documents.prelude`) binds aliases but mentions nothing: the
  document never wrote it;
- prose (:mod:`.prose`): inline code (```` `torch.func.vmap` ````, ```` ``jnp.sum`` ````), Sphinx and MyST roles
  (``:func:`~torch.func.vmap```, ``{py:func}`jax.grad```, ``:func:`vmap <torch.func.vmap>```), and dotted names
  written plainly (``torch.func.grad``; not inside a URL, not a file or host name such as ``numpy.org``).  Prose
  also reads the conventional aliases (:data:`PROSE_ALIASES`) where the code binds none;
- the page's scope (:func:`scoped`): a role or inline code naming a bare ``stop_gradient`` that nothing binds is
  read as Sphinx reads it, in the page's current module (``.. currentmodule:: mlx.core``), then in the document's
  own module (a docstring's) and the libraries its code imports.  These are readings, not what the page wrote, so
  they are *candidates*: the ``names`` kind keeps the first that resolves and drops the rest, and a bare word
  that resolves nowhere makes no claim (``Box`` may be a class of a submodule, ``lst`` the page's own variable).

Only names whose first component is a known root (:data:`ROOTS`, after alias resolution) count: ``model.forward``
is the document's own.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import keyword
import re

from conformance.claims.documents import prelude
from conformance.claims.documents.kinds import prose
from conformance.claims.documents.model import Document


@dataclasses.dataclass(frozen=True)
class Root:
    """A library whose names are checked: its import name, what it is, and a note that applies to every name of it."""

    name: str
    library: str
    deprecated: str = ""


ROOTS: dict[str, Root] = {r.name: r for r in (
    Root("torch", "PyTorch"),
    Root("jax", "JAX"),
    Root("jaxlib", "JAX's compiled runtime"),
    Root("numpy", "NumPy"),
    Root("mlx", "MLX"),
    Root("autograd", "HIPS autograd"),
    Root("scipy", "SciPy"),
    Root("flax", "Flax"),
    Root("optax", "Optax"),
    Root("functorch", "functorch", deprecated="deprecated: use torch.func (functorch was merged into PyTorch 2.0 "
                                              "as torch.func)"),
)}
"""The known libraries: a dotted name counts when its first component (after alias resolution) is one of these."""

PROSE_ALIASES = {"np": "numpy", "jnp": "jax.numpy", "mx": "mlx.core", "onp": "numpy", "anp": "autograd.numpy"}
"""Aliases prose uses by convention; code names resolve only through the document's own imports."""
SHADOWED = {"autograd": ("torch", "torch.autograd")}
"""A root that is also a submodule of another library: in the prose of a document that uses that library (imports
it, or documents it) and does not import the root itself, ``autograd.grad`` is ``torch.autograd.grad``."""
_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){0,15}$")
_NOT_NAMES = frozenset({"py", "md", "rst", "txt", "ipynb", "html", "htm", "json", "toml", "yaml", "yml", "cfg",
                        "org", "com", "io", "net", "dev", "ai", "pdf", "png", "svg", "whl", "gz", "zip"})
"""Last components that make a plainly written dotted word a file or host name (``numpy.org``, ``torch.py``)."""


@dataclasses.dataclass(frozen=True)
class Mention:
    name: str
    """The full dotted name, aliases resolved."""
    written: str
    line: int
    cell: int
    """The cell's index, or -1 for prose."""
    where: str
    """``code``, ``import`` or ``prose``."""
    via: str = ""
    """Non-empty for a reading the page implies but does not write (:func:`scoped`): how it was read."""


# --- finding the names ---------------------------------------------------------------------------------------------

def _resolve(written: str, aliases: dict[str, str]) -> str | None:
    parts = written.split(".")
    head = aliases.get(parts[0]) or (parts[0] if parts[0] in ROOTS else None)
    if head is None:
        return None
    full = ".".join([head, *parts[1:]])
    if full.split(".")[0] not in ROOTS or not _NAME.match(full) or len(full) > 200:
        return None
    return full


def _chain(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain on a plain name, else None (a chain on a call's result is not a name)."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(attrs)])


def _imports(tree: ast.AST, aliases: dict[str, str]) -> list[tuple[str, str, int]]:
    """(full name, as written, line) of the known roots' names the imports of ``tree`` mention; binds their
    aliases in ``aliases``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                root = a.name.split(".")[0]
                if root not in ROOTS:
                    continue
                found.append((a.name, a.name, node.lineno))
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] not in ROOTS:
                continue
            found.append((node.module, node.module, node.lineno))
            for a in node.names:
                if a.name == "*":
                    continue
                full = f"{node.module}.{a.name}"
                found.append((full, a.name, node.lineno))
                aliases[a.asname or a.name] = full
    return found


def code_mentions(source: str, first_line: int, cell: int, aliases: dict[str, str], *,
                  where: str = "code") -> list[Mention]:
    """The known libraries' names in one piece of code (lines relative to ``first_line``); its imports bind
    aliases in ``aliases`` first.  Code that does not parse is read line by line."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return _line_by_line(source, first_line, cell, aliases, where)
    found = [Mention(full, written, first_line + line - 1, cell, "import" if where == "code" else where)
             for full, written, line in _imports(tree, aliases)]
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if id(node) in inner or not isinstance(node, (ast.Attribute, ast.Name)):
            continue
        if not isinstance(getattr(node, "ctx", None), ast.Load):
            continue  # an assignment to the attribute (a document's monkeypatch) is not a reference
        written = _chain(node)
        if written is None or (isinstance(node, ast.Name) and aliases.get(node.id) in (None, node.id)):
            continue  # a bare name counts only when an import made it a library name (``vmap``), not ``torch``
        full = _resolve(written, aliases)
        if full:
            found.append(Mention(full, written, first_line + node.lineno - 1, cell, where))
    return found


_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def _line_by_line(source: str, first_line: int, cell: int, aliases: dict[str, str], where: str) -> list[Mention]:
    found = []
    for k, line in enumerate(source.splitlines()):
        try:
            tree = ast.parse(line.strip())
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            found.extend(code_mentions(line.strip(), first_line + k, cell, aliases, where=where))
            continue
        for m in _DOTTED.finditer(line):
            full = _resolve(m.group(0), aliases)
            if full:
                found.append(Mention(full, m.group(0), first_line + k, cell, where))
    return found


_URL = re.compile(r"\b(?:[a-z][\w+.-]*://|www\.|mailto:)\S+|\]\([^)\s]*\)|<[a-z][\w+.-]*:[^>\s]*>", re.IGNORECASE)
_ROLE = re.compile(r"(?:\{[\w.:+-]+\}|(?<![\w`]):(?:[\w.+-]+:)+)(`+)(.+?)\1", re.DOTALL)
_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_BARE = re.compile(r"(?<![\w./@:\\~-])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?![\w/\\@-])")


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + "".join("\n" if c == "\n" else " " for c in text[start:end]) + text[end:]


def prose_mentions(block: prose.Block, aliases: dict[str, str]) -> list[Mention]:
    """Roles, inline code and plainly written dotted names of one prose block (its own spans bind no alias)."""
    text = block.text
    found: list[Mention] = []
    for m in _URL.finditer(text):
        text = _blank(text, m.start(), m.end())
    for m in _ROLE.finditer(text):
        target = m.group(2).strip()
        if "<" in target and target.endswith(">"):
            target = target[target.rindex("<") + 1:-1]
        target = target.lstrip("~!.").rstrip("()")
        full = _resolve(target, aliases) if _NAME.match(target) else None
        if full:
            found.append(Mention(full, target, block.line_at(m.start(2)), -1, "prose"))
        text = _blank(text, m.start(), m.end())
    for m in _SPAN.finditer(text):
        content = m.group(2).strip()
        line = block.line_at(m.start(2))
        found.extend(dataclasses.replace(x, line=line)
                     for x in code_mentions(content, line, -1, dict(aliases), where="prose"))
        if _NAME.match(content) and "." not in content and content in ROOTS and content not in aliases:
            found.append(Mention(content, content, line, -1, "prose"))  # `functorch` alone
        text = _blank(text, m.start(), m.end())
    for m in _BARE.finditer(text):
        written = m.group(0)
        if written.rsplit(".", 1)[-1].lower() in _NOT_NAMES:
            continue
        full = _resolve(written, aliases)
        if full:
            found.append(Mention(full, written, block.line_at(m.start()), -1, "prose"))
    return found


def _code_aliases(doc: Document) -> tuple[list[Mention], dict[str, str]]:
    """The code's mentions and the aliases its imports bind, cell after cell; the checker's prelude cell binds
    aliases (``mx`` for a page that assumes ``import mlx.core as mx``) but mentions nothing."""
    aliases: dict[str, str] = {}
    found: list[Mention] = []
    for index, cell in enumerate(doc.cells):
        got = code_mentions(getattr(cell, "python", "") or cell.source, cell.line, index, aliases)
        if not getattr(cell, "assumed", None):
            found.extend(got)
    return found, aliases


def _prose_aliases(doc: Document, aliases: dict[str, str]) -> dict[str, str]:
    prose_aliases = {**PROSE_ALIASES, **aliases}
    used = {v.split(".")[0] for v in aliases.values()} | ({doc.namespace.split(".")[0]} if doc.namespace else set())
    for name, (library, target) in SHADOWED.items():
        if name not in aliases and library in used:
            prose_aliases[name] = target
    return prose_aliases


def mentions(doc: Document) -> list[Mention]:
    """Every mention of a known library's name in the document, code and prose, in line order."""
    found, aliases = _code_aliases(doc)
    prose_aliases = _prose_aliases(doc, aliases)
    for block in prose.blocks(doc):
        found.extend(prose_mentions(block, prose_aliases))
    return sorted(found, key=lambda m: (m.line, m.cell < 0, m.name))


# --- the page's scope: bare names read where Sphinx (or a reader) would look them up ---------------------------------

MAX_SCOPED = 500
"""Candidate names :func:`scoped` proposes per document at most (each is resolved by the probe)."""
_SKIP = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


def _bare(target: str, aliases: dict[str, str]) -> bool:
    """A name the page writes without saying where it lives: no alias or root resolves it, it is not Python's
    own (``isinstance``, ``while``), not a dunder, and longer than a variable's letter or two."""
    head = target.split(".")[0]
    return bool(_NAME.match(target)) and _resolve(target, aliases) is None and head not in _SKIP \
        and not head.startswith("__") and len(head) >= 3


@dataclasses.dataclass(frozen=True)
class Implied:
    """The readings of one bare name the prose writes, in the order they are tried."""

    candidates: tuple[Mention, ...]
    role: bool
    """Written as a role (an explicit cross-reference to a Python object): a module may be what it names.  Inline
    code is literal text, so there only a function, class or other object counts (``func`` naming ``torch.func``
    is a parameter's name, not the module)."""


_PY_ROLES = frozenset({"func", "function", "meth", "method", "class", "attr", "attribute", "data", "obj", "mod",
                       "module", "exc", "exception", "const", "property", "type"})
"""Roles that name a Python object (Sphinx's py domain); ``:ref:``, ``:doc:``, ``:term:`` name labels and pages."""


def scoped(doc: Document) -> list[Implied]:
    """Each bare name of a Python role or inline code in the prose, with its readings in order: the page's current
    module there (Sphinx's own first lookup), the document's module (a docstring's), then each library the code
    imports (first imported first).  The caller keeps the first reading that resolves."""
    _, aliases = _code_aliases(doc)
    prose_aliases = _prose_aliases(doc, aliases)
    text = prose.file_text(doc) or ""
    current = prelude.current_module_lines(text) if doc.kind in ("rest", "markdown") else []
    libraries = [("the document's module", doc.namespace)] if doc.namespace else []
    for value in aliases.values():
        root = value.split(".")[0]
        if root in ROOTS and root not in {m for _, m in libraries}:
            libraries.append(("a library the document imports", root))
    found: list[Implied] = []
    total = 0
    for block in prose.blocks(doc):
        body = block.text
        for m in _URL.finditer(body):
            body = _blank(body, m.start(), m.end())
        written: list[tuple[str, int, bool]] = []
        for m in _ROLE.finditer(body):
            role = m.group(0)[:m.start(1) - m.start(0)].strip("{}:").split(":")[-1]
            target = m.group(2).strip()
            if "<" in target and target.endswith(">"):
                target = target[target.rindex("<") + 1:-1]
            if role in _PY_ROLES:
                written.append((target.lstrip("~!.").rstrip("()"), m.start(2), True))
            body = _blank(body, m.start(), m.end())
        written.extend((m.group(2).strip().removesuffix("()"), m.start(2), False) for m in _SPAN.finditer(body))
        for target, pos, role in written:
            if not _bare(target, prose_aliases):
                continue
            line = block.line_at(pos)
            here = [m for n, m in current if n <= line][-1:]
            candidates: list[Mention] = []
            for why, scope in [("the page's current module", m) for m in here] + libraries:
                full = f"{scope}.{target}"
                if full.split(".")[0] in ROOTS and _NAME.match(full) and full not in {c.name for c in candidates}:
                    candidates.append(Mention(full, target, line, -1, "prose", via=f"`{target}` read in {scope}, "
                                                                                  f"{why}"))
            if candidates and total + len(candidates) <= MAX_SCOPED:
                found.append(Implied(tuple(candidates), role))
                total += len(candidates)
    return found
