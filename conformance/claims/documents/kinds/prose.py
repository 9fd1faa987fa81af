"""The prose of a document, block by block, each line with its line in the file: what claim kinds read besides
the cells.

``Document`` carries cells only (readers keep the code), so the prose is read again here from ``doc.file``, per
document kind, with the same parsers the readers use: Markdown and MyST through markdown-it (paragraphs and
headings, fences left out), notebooks' Markdown cells (mapped back to their lines in the ``.ipynb`` JSON), reST and
docstrings by a small line splitter (directives' code, literal blocks and ``>>>`` examples left out), and a
sphinx-gallery script's module docstring and comment blocks.  A docstring is found in its source file by parsing
it (``ast``; nothing is imported).  A file that cannot be read gives no prose rather than an error: its cells
are still checked.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Callable

from conformance.claims.documents.model import Document


@dataclasses.dataclass(frozen=True)
class Block:
    """A paragraph (or heading) of prose: its text, and the file line of each of its lines."""

    text: str
    lines: tuple[int, ...]
    heading: bool = False
    """A title (Markdown heading, reST section title): it names a topic rather than states a claim."""

    def line_at(self, pos: int) -> int:
        """The file line of the character at ``pos`` of :attr:`text`."""
        k = self.text.count("\n", 0, max(0, pos))
        return self.lines[min(k, len(self.lines) - 1)]


_BY_KIND: dict[str, Callable[[Document, str], list[Block]]] = {}


def _kind(*kinds: str) -> Callable[[Callable[[Document, str], list[Block]]], Callable[[Document, str], list[Block]]]:
    def register(fn: Callable[[Document, str], list[Block]]) -> Callable[[Document, str], list[Block]]:
        for kind in kinds:
            _BY_KIND[kind] = fn
        return fn

    return register


def file_text(doc: Document) -> str | None:
    """The text of the file the document's lines refer to, or None when there is none to read."""
    from conformance.claims.documents.readers.common import read_text
    from conformance.claims.documents.registry import DocumentError

    if not doc.file:
        return None
    try:
        return read_text(doc.file)[0]
    except (OSError, DocumentError):
        return None


def blocks(doc: Document) -> list[Block]:
    """The document's prose blocks in file order (none for a kind without a prose reader here)."""
    fn = _BY_KIND.get(doc.kind)
    text = file_text(doc) if fn else None
    if fn is None or text is None:
        return []
    return fn(doc, text)


# --- Markdown and notebooks ------------------------------------------------------------------------------------

def markdown_blocks(text: str, numbers: list[int] | None = None) -> list[Block]:
    """Paragraphs and headings of Markdown ``text``; ``numbers[k]`` is the file line of its line ``k`` (0-based),
    by default ``k + 1``."""
    from markdown_it import MarkdownIt

    count = text.count("\n") + 1
    numbers = numbers or list(range(1, count + 1))
    found = []
    tokens = MarkdownIt("commonmark").parse(text)
    for i, tok in enumerate(tokens):
        if tok.type != "inline" or tok.map is None or i == 0:
            continue
        if tokens[i - 1].type not in ("paragraph_open", "heading_open"):
            continue
        start = tok.map[0]
        content = tok.content
        lines = tuple(numbers[min(start + k, len(numbers) - 1)] for k in range(content.count("\n") + 1))
        found.append(Block(content, lines, heading=tokens[i - 1].type == "heading_open"))
    return found


@_kind("markdown")
def _markdown(doc: Document, text: str) -> list[Block]:
    return markdown_blocks(text)


_CELL_TYPE = re.compile(r'"cell_type"\s*:\s*"(\w+)"')


@_kind("notebook")
def _notebook(doc: Document, text: str) -> list[Block]:
    """Markdown cells, each source line mapped to the JSON line that holds it (nbformat writes one string per
    line); where a line is not found verbatim (escaped characters), the cell's own line stands in."""
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception:  # nbformat raises several unrelated types for a malformed file
        return []
    marks = list(_CELL_TYPE.finditer(text))
    if len(marks) != len(nb.cells):
        marks = []
    found: list[Block] = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        start = marks[k].start() if marks else 0
        end = marks[k + 1].start() if marks and k + 1 < len(marks) else len(text)
        here = text.count("\n", 0, start) + 1
        numbers, cursor = [], start
        for line in cell.source.split("\n"):
            encoded = json.dumps(line, ensure_ascii=False)[1:-1]
            at = text.find(encoded, cursor, end) if encoded else -1
            if at >= 0:
                cursor = at + len(encoded)
                numbers.append(text.count("\n", 0, at) + 1)
            else:
                numbers.append(numbers[-1] + 1 if numbers else here)
        found.extend(markdown_blocks(cell.source, numbers))
    return found


# --- reST, docstrings, gallery scripts ----------------------------------------------------------------------------

_DIRECTIVE = re.compile(r"^\s*\.\.\s+([\w:.-]+)::(.*)$")
_EXPLICIT = re.compile(r"^\s*\.\.(\s|$)")
_UNDERLINE = re.compile(r"^\s*([=\-~^\"'`#*+<>:.,_!])\1{2,}\s*$")
_OPTION = re.compile(r"^\s*:[\w -]+:(\s|$)")
PROSE_DIRECTIVES = frozenset({
    "note", "warning", "tip", "important", "hint", "caution", "attention", "danger", "error", "admonition",
    "seealso", "deprecated", "versionadded", "versionchanged", "versionremoved", "topic", "sidebar", "rubric",
    "container", "only", "glossary", "centered"})
"""Directives whose body is prose; any other directive's body (code, math, images, tables of options) is not."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rest_blocks(lines: list[str], numbers: list[int]) -> list[Block]:
    """Paragraphs of reST ``lines`` (``numbers``: their file lines): blank lines separate them; section
    underlines, explicit markup (comments, targets, non-prose directives with their bodies), literal blocks after
    ``::`` and doctest blocks are left out."""
    found: list[Block] = []
    para: list[tuple[str, int]] = []
    skip_deeper: int | None = None  # skip the lines indented more than this (a directive's or literal's body)
    in_doctest = False
    after_directive = False

    def flush(heading: bool = False) -> None:
        if para:
            found.append(Block("\n".join(t for t, _ in para), tuple(n for _, n in para), heading=heading))
            para.clear()

    for line, number in zip(lines, numbers):
        if skip_deeper is not None:
            if not line.strip() or _indent(line) > skip_deeper:
                continue
            skip_deeper = None
        if not line.strip():
            flush()
            in_doctest = after_directive = False
            continue
        if in_doctest or line.lstrip().startswith(">>>"):
            flush()
            in_doctest = True
            continue
        if after_directive and _OPTION.match(line):
            continue
        after_directive = False
        directive = _DIRECTIVE.match(line)
        if directive:
            flush()
            if directive.group(1).split(":")[-1] in PROSE_DIRECTIVES:
                if directive.group(2).strip():
                    found.append(Block(directive.group(2).strip(), (number,)))
                after_directive = True
            else:
                skip_deeper = _indent(line)
            continue
        if _EXPLICIT.match(line):
            flush()
            skip_deeper = _indent(line)
            continue
        if _UNDERLINE.match(line):
            flush(heading=len(para) == 1)
            continue
        stripped = line.strip()
        if stripped.endswith("::"):
            text = stripped[:-2].rstrip()
            if text:
                para.append((text, number))
            flush()
            skip_deeper = _indent(line)
            continue
        para.append((stripped, number))
    flush()
    return found


@_kind("rest")
def _rest(doc: Document, text: str) -> list[Block]:
    lines = text.splitlines()
    return rest_blocks(lines, list(range(1, len(lines) + 1)))


def _docstring_lines(lines: list[str], node: ast.Expr) -> tuple[list[str], list[int]]:
    """The file lines of a docstring expression, its quotes taken off."""
    first, last = node.lineno, node.end_lineno or node.lineno
    body = lines[first - 1:last]
    if not body:
        return [], []
    body = list(body)
    body[0] = re.sub(r'^\s*[rRuUbB]*("""|\'\'\'|"|\')', "", body[0])
    body[-1] = re.sub(r'("""|\'\'\'|"|\')\s*$', "", body[-1])
    return body, list(range(first, last + 1))


def _docstrings(tree: ast.AST) -> list[tuple[str, ast.Expr]]:
    """(name, docstring expression) of the module, every class and every function of a parsed file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                    isinstance(first.value.value, str):
                found.append((getattr(node, "name", ""), first))
    return found


@_kind("docstring")
def _docstring(doc: Document, text: str) -> list[Block]:
    """The docstring of the document's API in its source file: the one holding its first example, else the first
    definition named like the API."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    candidates = _docstrings(tree)
    chosen = None
    if doc.cells:
        line = doc.cells[0].line
        chosen = next((e for _, e in candidates if e.lineno <= line <= (e.end_lineno or e.lineno)), None)
    if chosen is None:
        short = doc.title.rsplit(".", 1)[-1]
        chosen = next((e for name, e in candidates if name and name == short), None)
    if chosen is None:
        return []
    body, numbers = _docstring_lines(text.splitlines(), chosen)
    return rest_blocks(body, numbers)


@_kind("gallery")
def _gallery(doc: Document, text: str) -> list[Block]:
    """The module docstring (reST) and the comment blocks after each marker line."""
    from conformance.claims.documents.readers.gallery import MARKER

    lines = text.splitlines()
    found: list[Block] = []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        top = [e for name, e in _docstrings(tree) if not name and e.lineno <= 5]
        if top:
            found.extend(rest_blocks(*_docstring_lines(lines, top[0])))
    k = 0
    while k < len(lines):
        if not MARKER.match(lines[k]):
            k += 1
            continue
        k += 1
        body: list[str] = []
        numbers: list[int] = []
        while k < len(lines) and lines[k].startswith("#") and not MARKER.match(lines[k]):
            body.append(re.sub(r"^# ?", "", lines[k]))
            numbers.append(k + 1)
            k += 1
        found.extend(rest_blocks(body, numbers))
    return found
