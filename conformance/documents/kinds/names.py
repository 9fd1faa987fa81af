"""Claim kind ``names``: every dotted name of a known library a document mentions exists in the installed library.

Where names come from:

- code (each cell, parsed with ``ast``): ``import functorch``, ``import jax.numpy as jnp``, ``from torch.func import
  hessiani``, and every attribute chain whose first name is a known root or an alias the document's imports bind
  (``jnp.linalg.norm`` is ``jax.numpy.linalg.norm``; ``vmap`` after ``from torch.func import vmap`` adds a line to
  ``torch.func.vmap``).  Aliases carry from cell to cell, as state does in a notebook;
- prose (:mod:`.prose`): inline code (```` `torch.func.vmap` ````, ```` ``jnp.sum`` ````), Sphinx and MyST roles
  (``:func:`~torch.func.vmap```, ``{py:func}`jax.grad```, ``:func:`vmap <torch.func.vmap>```), and dotted names
  written plainly (``torch.func.grad``; not inside a URL, not a file or host name such as ``numpy.org``).  Prose
  also reads the conventional aliases (:data:`PROSE_ALIASES`) where the code binds none.

Only names whose first component is a known root (:data:`ROOTS`, after alias resolution) count: ``model.forward``
is the document's own.  One claim per distinct name per document, anchored at its first line; its evidence lists
every line and every spelling.

Why a sandbox, not the host: the names come from untrusted input, and resolving one imports modules (a submodule
the name reaches, ``torch.utils.tensorboard``) and runs library code (module ``__getattr__`` hooks, which is where
JAX and NumPy raise their deprecation warnings).  Restricting the host to ``importlib.import_module`` of known roots
would still import torch and jax into the checker (which never imports them: seconds of start-up and their global
state), and a library import is not side-effect free.  The project already runs API probes this way (the
docstring reader's probe, the article checker's ``evidence.PROBE``), so one probe per document runs in a fresh
sandboxed interpreter (:func:`conformance.documents.execute.run_program`), with the installed roots pre-imported as
trusted libraries, and reports one record on the sandbox's report channel; the host checks every field of it.  It
is a fresh interpreter, not the document's session, so what a document does to a library (``torch.func.hessiani =
...``) cannot make its own names true.  Results are cached per name for the run (:class:`~.Context` ``cache``), so
documents that share names share the probe.

The rule: true when the name resolves (deprecated or not: a deprecation is a note in the reason and
``evidence["deprecated"]``, from a DeprecationWarning/FutureWarning on access or import, a ``__deprecated__``
attribute, "deprecated" in the docstring's first line or the docstring saying the name is deprecated, a defining
module named ``deprecated``, or the roots table, e.g. ``functorch``); false when a component is missing (the reason
names the parent, the missing attribute and the closest names, by difflib), except where every occurrence is in
a cell that states the exception it raises; unverifiable when the root is not installed, a module exists but cannot
be imported here, or the probe did not finish.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import re
from typing import Any

from conformance.documents import compare, execute
from conformance.documents.kinds import Context, claim, claim_kind, prose
from conformance.documents.model import Document
from conformance.documents.session import SessionResult


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

RULE = ("true when the dotted name resolves in the installed library (a deprecation is noted, the verdict stays "
        "true); false when a component is missing (unless every use is in a cell stating the exception it "
        "raises); unverifiable when the library is not installed, a module cannot be imported, or the probe "
        "did not finish")
MAX_NAMES = 2000
"""Distinct names resolved per document; more are reported as one unverifiable claim (a generated page)."""
MAX_LINES = 50
"""Lines kept per name in the evidence (``lines_total`` says how many there were)."""
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


def mentions(doc: Document) -> list[Mention]:
    """Every mention of a known library's name in the document, code and prose, in line order."""
    aliases: dict[str, str] = {}
    found: list[Mention] = []
    for index, cell in enumerate(doc.cells):
        found.extend(code_mentions(getattr(cell, "python", "") or cell.source, cell.line, index, aliases))
    prose_aliases = {**PROSE_ALIASES, **aliases}
    used = {v.split(".")[0] for v in aliases.values()} | ({doc.namespace.split(".")[0]} if doc.namespace else set())
    for name, (library, target) in SHADOWED.items():
        if name not in aliases and library in used:
            prose_aliases[name] = target
    for block in prose.blocks(doc):
        found.extend(prose_mentions(block, prose_aliases))
    return sorted(found, key=lambda m: (m.line, m.cell < 0, m.name))


# --- resolving them, in the sandbox --------------------------------------------------------------------------------

PROBE = r'''
import difflib, importlib, importlib.util, inspect, json, pkgutil, re, sys, warnings
names = json.loads(_payload)
WARNS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
seen_warnings = {}  # module -> deprecation warning its import raised (a later name through it sees it too)
def first_line(text):
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")[:500]
def public(obj):
    found = set()
    try:
        found.update(n for n in dir(obj) if not n.startswith("_"))
    except Exception:
        pass
    path = getattr(obj, "__path__", None) if inspect.ismodule(obj) else None
    if path is not None:
        try:
            found.update(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))
        except Exception:
            pass
    return sorted(found)
def deprecation(obj, name, caught, through):
    for w in caught:
        if issubclass(w.category, WARNS):
            return f"{w.category.__name__}: {first_line(w.message)}"
    for mod in through:
        if mod in seen_warnings:
            return seen_warnings[mod]
    try:
        mark = getattr(obj, "__deprecated__", None)
    except Exception:
        mark = None
    if isinstance(mark, str) and mark.strip():
        return f"__deprecated__: {first_line(mark)}"
    doc = None
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj):
        try:
            doc = inspect.getdoc(obj)
        except Exception:
            doc = None
    if isinstance(doc, str) and doc.strip():
        if "deprecated" in first_line(doc).lower():
            return f"docstring: {first_line(doc)}"
        flat = " ".join(doc.split())
        m = re.search(r"\.\. deprecated::\s*((?:[^.]|\.(?=\S))*\.?)", doc)
        if m:
            return f"docstring: deprecated {' '.join(m.group(1).split())}"[:500]
        m = re.search(r"(?:`*" + re.escape(name) + r"`*|[Tt]his (?:function|class|module|method|API|alias))"
                      r" (?:is|has been) deprecated(?:[^.]|\.(?=\S))*\.?(?:\s(?:[^.]|\.(?=\S)){0,200}?\binstead\b)?", flat)
        if m:
            return f"docstring: {m.group(0)}"[:500]
    mod = getattr(obj, "__module__", None)
    if isinstance(mod, str) and "deprecated" in mod.split("."):
        return f"defined in {mod}"
    return ""
def resolve(name):
    parts = name.split(".")
    through = [parts[0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = importlib.import_module(parts[0])
        except Exception as exc:
            return {"status": "error", "error": f"cannot import {parts[0]}: {type(exc).__name__}: {first_line(exc)}"}
        for i, part in enumerate(parts[1:], start=1):
            parent = ".".join(parts[:i])
            try:
                obj = getattr(obj, part)
                continue
            except AttributeError as exc:
                message = first_line(exc)
            except Exception as exc:
                return {"status": "error", "error": f"{parent}.{part} raised {type(exc).__name__}: {first_line(exc)}"}
            if inspect.ismodule(obj) and isinstance(getattr(obj, "__name__", None), str):
                sub = f"{obj.__name__}.{part}"
                try:
                    spec = importlib.util.find_spec(sub)
                except Exception:
                    spec = None
                if spec is not None:
                    before = len(caught)
                    try:
                        obj = importlib.import_module(sub)
                    except Exception as exc:
                        return {"status": "error", "error": f"{sub} exists but cannot be imported here: "
                                                            f"{type(exc).__name__}: {first_line(exc)}"}
                    for w in caught[before:]:
                        if issubclass(w.category, WARNS):
                            seen_warnings.setdefault(sub, f"{w.category.__name__}: {first_line(w.message)}")
                    through.append(sub)
                    continue
            return {"status": "missing", "parent": parent, "attr": part, "message": message,
                    "suggestions": difflib.get_close_matches(part, public(obj), n=3, cutoff=0.75)}
        mod = getattr(obj, "__module__", None)
        return {"status": "found", "type": type(obj).__name__, "module": mod if isinstance(mod, str) else None,
                "deprecated": deprecation(obj, name, caught, through)}
out = {}
for name in names:
    try:
        out[name] = resolve(name)
    except Exception as exc:
        out[name] = {"status": "error", "error": f"{type(exc).__name__}: {first_line(exc)}"}
versions = {}
for root in sorted({n.split(".")[0] for n in names}):
    mod = sys.modules.get(root)
    version = getattr(mod, "__version__", None) if mod is not None else None
    if isinstance(version, str):
        versions[root] = version
__report__({"type": "names", "names": out, "versions": versions})
'''

_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "found": {"type": str, "module": (str, type(None)), "deprecated": str},
    "missing": {"parent": str, "attr": str, "message": str, "suggestions": list},
    "error": {"error": str},
}


def _entry_ok(entry: Any) -> bool:
    if not isinstance(entry, dict) or entry.get("status") not in _FIELDS:
        return False
    fields = _FIELDS[entry["status"]]
    if set(entry) != {"status", *fields}:
        return False
    if not all(isinstance(entry[k], t) for k, t in fields.items()):
        return False
    return all(isinstance(s, str) for s in entry.get("suggestions", []))


def installed(root: str) -> bool:
    """Whether a top-level package is installed (a path search: nothing is imported)."""
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


def probe(names: list[str], *, timeout: float, cancel: Any = None) -> tuple[dict[str, dict[str, Any]],
                                                                              dict[str, str], str]:
    """Resolve ``names`` (each of an installed known root) in one sandboxed interpreter.

    Returns ({name: entry}, {root: version}, problem); ``problem`` is "" when the probe reported, else why not,
    and then no entry is returned: a record the host cannot accept counts for nothing.
    """
    if not names:
        return {}, {}, ""
    roots = sorted({n.split(".")[0] for n in names})
    code = f"_payload = {json.dumps(json.dumps(names))}\n" + PROBE
    outcome = execute.run_program(code, timeout=timeout, preimport=roots, records=("names",), cancel=cancel)
    if outcome.status == "protocol-violation":
        return {}, {}, f"the name probe's report is unreadable ({outcome.reason})"
    if not outcome.records:
        last = (outcome.stderr.strip().splitlines() or [outcome.reason or outcome.status])[-1]
        return {}, {}, f"the name probe did not report ({outcome.status}: {last[:300]})"
    record = outcome.records[0]
    got, versions = record.get("names"), record.get("versions")
    if not isinstance(got, dict) or not isinstance(versions, dict) or set(got) != set(names) \
            or not all(_entry_ok(e) for e in got.values()) \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        return {}, {}, "the name probe's report is unreadable (names or fields of the wrong type)"
    return got, versions, ""


def resolve(names: list[str], context: Context) -> tuple[dict[str, dict[str, Any]], dict[str, str], str]:
    """Entries for ``names``, from the context's cache where an earlier document resolved them."""
    with context.lock:
        cache = context.cache.setdefault("names", {})
        versions = context.cache.setdefault("names-versions", {})
        todo = [n for n in names if n not in cache]
    problem = ""
    if todo:
        got, new_versions, problem = probe(todo, timeout=context.timeout, cancel=context.cancel)
        with context.lock:
            cache.update(got)
            versions.update(new_versions)
    with context.lock:
        return {n: cache[n] for n in names if n in cache}, dict(versions), problem


# --- the claims ----------------------------------------------------------------------------------------------------

def _states_exception(doc: Document, cells: set[int]) -> bool:
    """Every cell of ``cells`` states the exception it raises (a page showing that a name does not exist)."""
    return bool(cells) and all(
        0 <= i < len(doc.cells) and any(e.scope == "cell" and compare.is_exception(e.text) for e in doc.cells[i].expected)
        for i in cells)


def _verdict(name: str, entry: dict[str, Any] | None, problem: str, uses: list[Mention], doc: Document,
             versions: dict[str, str]) -> tuple[bool | str, str, dict[str, Any]]:
    root = ROOTS[name.split(".")[0]]
    version = versions.get(root.name)
    lib = f"{root.name} {version}" if version else root.name
    evidence: dict[str, Any] = {"name": name, "library": root.name}
    if version:
        evidence["version"] = version
    if not installed(root.name):
        return "unverifiable", f"{root.name} ({root.library}) is not installed here", evidence
    if entry is None:
        return "unverifiable", problem or "the name was not resolved", evidence
    evidence["resolved"] = entry
    if entry["status"] == "error":
        return "unverifiable", entry["error"], evidence
    if entry["status"] == "missing":
        reason = f"{entry['parent']} has no attribute {entry['attr']}"
        if entry["suggestions"]:
            reason += f"; did you mean {' or '.join(entry['suggestions'])}?"
        generic = re.fullmatch(r"(?:module|type object) '[\w.]+' has no attribute '\w+'", entry["message"])
        if entry["message"] and not generic:
            reason += f" ({root.name} says: {entry['message']})"
        reason += f" (in {lib})"
        cells = {m.cell for m in uses}
        if -1 not in cells and _states_exception(doc, cells):
            return True, reason + ": missing, as the document states (its cells show the exception)", evidence
        return False, reason, evidence
    notes = [n for n in (entry["deprecated"], root.deprecated) if n]
    if notes:
        evidence["deprecated"] = "; ".join(notes)
    reason = f"{name} exists in {lib}"
    if notes:
        reason += "; deprecated: " + "; ".join(n.removeprefix("deprecated: ") for n in notes)
    return True, reason, evidence


@claim_kind("names", rule=RULE)
def names(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    """One claim per distinct known-library name of the document, judged against the installed libraries."""
    if result.status == "cancelled":
        return []  # the document is checked again; nothing was asked of the sandbox
    by_name: dict[str, list[Mention]] = {}
    for m in mentions(doc):
        by_name.setdefault(m.name, []).append(m)
    ordered = sorted(by_name, key=lambda n: (by_name[n][0].line, n))
    claims: list[dict[str, Any]] = []
    if len(ordered) > MAX_NAMES:
        first = by_name[ordered[MAX_NAMES]][0]
        claims.append(claim("names", cell=first.cell, line=first.line, verdict="unverifiable",
                            reason=f"{len(ordered) - MAX_NAMES} more names than the {MAX_NAMES} resolved per document",
                            evidence={"names": ordered[MAX_NAMES:MAX_NAMES + 100]}, id=f"names@{first.line}:more"))
        ordered = ordered[:MAX_NAMES]
    wanted = [n for n in ordered if installed(n.split(".")[0])]
    entries, versions, problem = resolve(wanted, context)
    for name in ordered:
        uses = by_name[name]
        verdict, reason, evidence = _verdict(name, entries.get(name), problem, uses, doc, versions)
        lines = sorted({m.line for m in uses})
        evidence.update(written=sorted({m.written for m in uses}), lines=lines[:MAX_LINES], lines_total=len(lines),
                        where=sorted({m.where for m in uses}))
        first = uses[0]
        claims.append(claim("names", cell=first.cell, line=first.line, verdict=verdict, reason=reason,
                            evidence=evidence, id=f"names@{first.line}:{name}"))
    return claims
