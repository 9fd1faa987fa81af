"""reStructuredText: ``code-block``/``code``/``sourcecode`` directives, doctest blocks, ``::`` literal blocks, and
sphinx.ext.doctest's ``testcode``/``testoutput``/``doctest``, parsed with docutils (Sphinx not needed).

Sphinx-only directives and roles are unknown to plain docutils; they are tolerated silently (report level 5),
since a page is checked for its code, not its markup.  An output block (``code-block:: text``, ``testoutput``, or
a ``::`` block that is not Python) right after a Python block is that block's expected output.
"""

from __future__ import annotations

import ast

import docutils.core
from docutils import nodes
from docutils.parsers.rst import Directive, directives

from conformance.claims.documents import prelude
from conformance.claims.documents.cells import (
    doctest_cells,
    illustrates_prose,
    looks_like_doctest,
    opens_with_prompt,
    python_cell,
    raises_prose,
)
from conformance.claims.documents.model import Cell, Document, Expected
from conformance.claims.documents.readers.common import OUTPUT_LANGS, PYTHON_LANGS, SESSION_LANGS, read_text, reproducer
from conformance.claims.documents.registry import reader


class _AnyOption(dict):
    """Accept every option (``:linenos:``, ``:caption:``, ``:hide:``...): they change rendering, not code."""

    def __getitem__(self, key: str) -> object:
        return directives.unchanged

    def __contains__(self, key: object) -> bool:
        return True


def _block_directive(role: str, default_lang: str) -> type[Directive]:
    class Block(Directive):
        optional_arguments = 1
        final_argument_whitespace = True
        has_content = True
        option_spec = _AnyOption()

        def run(self) -> list[nodes.Node]:
            text = "\n".join(self.content)
            lang = (self.arguments[0].split()[0].lower() if self.arguments else default_lang)
            node = nodes.literal_block(text, text, language=lang, role=role)
            node["first_line"] = self.content_offset + 1
            return [node]

    return Block


for _name, _role, _lang in (("code-block", "code", "python"), ("sourcecode", "code", "python"),
                            ("code", "code", ""), ("testcode", "code", "python"),
                            ("testoutput", "output", "text"), ("doctest", "code", "pycon"),
                            ("jupyter-execute", "code", "python"), ("ipython", "code", "pycon")):
    directives.register_directive(_name, _block_directive(_role, _lang))


def _is_python(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    return any(not isinstance(s, ast.Expr) or isinstance(s.value, ast.Call) for s in tree.body)


def _line_of(text: str, source: str, hint: int | None) -> int:
    """Where ``text`` starts in the file.  docutils gives a ``::`` block the line of its first content line, and
    some blocks the line after them, so the block's lines are matched against the file near ``hint``: of the
    places where every line of the block stands in order, the one nearest the hint (a block that repeats an
    earlier block's first line, ``import torch``, is still its own block)."""
    want = [ln.strip() for ln in text.splitlines()]
    lines = [ln.strip() for ln in source.splitlines()]
    if not any(want):
        return hint or 1
    first = next(k for k, ln in enumerate(want) if ln)
    body = [ln for ln in want if ln]
    found = []
    for n, ln in enumerate(lines):
        if ln != body[0]:
            continue
        rest = [x for x in lines[n:n + len(want) + 1] if x]
        if rest[:len(body)] == body:
            found.append(n + 1 - first)
    if not found:
        return hint or 1
    target = hint or 1
    return min(found, key=lambda n: (abs(n - target), n))


@reader(suffixes=(".rst", ".rest", ".txt"))
def read_rest(path: str) -> list[Document]:
    text, sha = read_text(path)
    tree = docutils.core.publish_doctree(
        text, source_path=path,
        settings_overrides={"report_level": 5, "halt_level": 5, "file_insertion_enabled": False,
                            "raw_enabled": False, "warning_stream": False})
    title = next((str(n.astext()) for n in tree.findall(nodes.title)), "")
    cells: list[Cell] = []
    last_python: nodes.Node | None = None
    for node in tree.findall(lambda n: isinstance(n, (nodes.literal_block, nodes.doctest_block))):
        body = node.astext()
        line = node.get("first_line") or _line_of(body, text, node.line)
        lang = str(node.get("language") or "")
        if (isinstance(node, nodes.doctest_block) or lang == "pycon" or (looks_like_doctest(body) and not lang)
                or (lang in SESSION_LANGS and opens_with_prompt(body))):
            cells.extend(doctest_cells(body, line, label_prefix=f"line {line}"))
            last_python = None
            continue
        follows = last_python is not None and _follows(last_python, node)
        if node.get("role") == "output" or (lang in OUTPUT_LANGS and follows and not _is_python(body)):
            if follows and cells:
                cells[-1].expected.append(Expected(text=body, origin="output block", line=line))
            last_python = None
        elif lang in PYTHON_LANGS or (not lang and _is_python(body)):
            cell = python_cell(body + "\n", line, label=f"line {line}")
            cell.raises = cell.raises or _prose_raises(node)
            cell.illustrates = _prose_illustrates(node)
            cells.append(cell)
            last_python = node
        else:
            last_python = None
    doc = Document(source=path, kind="rest", cells=cells, title=title or path, file=path, sha256=sha,
                   reproducer=reproducer(path))
    return [prelude.add(doc, prelude.current_modules(text))]


def _paragraphs_before(block: nodes.Node) -> tuple[nodes.paragraph | None, nodes.paragraph | None]:
    """The paragraph right before the block, and the one before that (each None when not a paragraph)."""
    parent = block.parent
    if parent is None:
        return None, None
    siblings = list(parent.children)
    at = siblings.index(block)
    found = [n if isinstance(n, nodes.paragraph) else None for n in (siblings[at - 1] if at > 0 else None,
                                                                   siblings[at - 2] if at > 1 else None)]
    return (found[0], found[1]) if found[0] is not None else (None, None)


def _prose_raises(block: nodes.Node) -> str:
    """What the paragraph right before the block says about it raising (``cells.raises_prose``)."""
    paragraph, before = _paragraphs_before(block)
    if paragraph is None:
        return ""
    return raises_prose(paragraph.astext(), paragraph.line or block.line or 1,
                        before.astext() if before is not None else "")


def _prose_illustrates(block: nodes.Node) -> str:
    paragraph, _ = _paragraphs_before(block)
    return illustrates_prose(paragraph.astext(), paragraph.line or block.line or 1) if paragraph is not None else ""


def _follows(code: nodes.Node, block: nodes.Node) -> bool:
    """The block comes right after the code (at most one paragraph, e.g. "Output::", between them)."""
    if code.parent is not block.parent:
        return False
    siblings = list(code.parent.children)
    between = siblings[siblings.index(code) + 1:siblings.index(block)]
    return len(between) <= 1 and all(isinstance(n, nodes.paragraph) for n in between)
