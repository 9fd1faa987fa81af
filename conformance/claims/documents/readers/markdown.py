"""Markdown and MyST: fenced code blocks (```` ```python ````, MyST ```` ```{code-cell} python ````).

A fence with no language, or ``text``/``output``, right after a Python fence is read as that fence's printed
output: tutorials commonly quote the output that way.  ``>>>`` fences are doctest sessions.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from conformance.claims.documents import prelude
from conformance.claims.documents.cells import (
    doctest_cells,
    illustrates_prose,
    looks_like_doctest,
    opens_with_prompt,
    python_cell,
    raises_prose,
    stated_value,
)
from conformance.claims.documents.model import Cell, Document, Expected
from conformance.claims.documents.readers.common import OUTPUT_LANGS, PYTHON_LANGS, SESSION_LANGS, read_text, reproducer
from conformance.claims.documents.registry import reader


def _is_code_cell(info: str) -> bool:
    """MyST-NB's ``{code-cell}`` shows its last expression, as a notebook cell does."""
    return info.strip().startswith("{code-cell}")


def _language(info: str) -> str:
    info = info.strip()
    if info.startswith("{"):  # MyST directive fence: {code-cell} python3
        name, _, rest = info.partition("}")
        if name.strip("{ ") not in ("code-cell", "code-block", "code", "sourcecode", "ipython", "testcode"):
            return "?directive"
        info = rest.strip()
        if not info.split() and name.strip("{ ") in ("code-cell", "ipython", "testcode"):
            return "python"  # MyST-NB: no argument means the notebook's kernel, Python for the pages read here
    return info.split()[0].lower() if info.split() else ""


_TAGS = re.compile(r"^\s*:?tags:?\s*\[([^\]]*)\]", re.MULTILINE)


def _options(content: str) -> tuple[int, set[str]]:
    """How many leading lines of a ``{code-cell}`` are MyST options (``:tags: [...]`` lines, or a YAML block
    between ``---`` lines), and the tags they give."""
    lines = content.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), None)
        count = end + 1 if end is not None else 0
    else:
        count = next((k for k, ln in enumerate(lines) if not ln.lstrip().startswith(":")), len(lines))
    tags = {t.strip().strip("'\"") for m in _TAGS.finditer("".join(lines[:count])) for t in m.group(1).split(",")}
    return count, tags - {""}


def _paragraph_before(tokens: list[Token], i: int) -> Token | None:
    """The inline token of the paragraph right before token ``i``, if a paragraph is what comes before it."""
    if i >= 3 and tokens[i - 1].type == "paragraph_close" and tokens[i - 2].type == "inline":
        return tokens[i - 2]
    return None


@reader(suffixes=(".md", ".markdown", ".myst"))
def read_markdown(path: str) -> list[Document]:
    text, sha = read_text(path)
    tokens = MarkdownIt("commonmark").parse(text)
    cells: list[Cell] = []
    last_python: int | None = None  # token index of the last Python fence, while an output fence may follow
    title = ""
    for i, tok in enumerate(tokens):
        if tok.type == "inline" and not title and i > 0 and tokens[i - 1].type == "heading_open":
            title = tok.content
        if tok.type == "inline" and last_python is not None and tokens[i - 1].type == "paragraph_open":
            stated = prose_output(tok)
            if stated is not None and tok.map is not None:
                cells[-1].expected.append(Expected(text=stated, origin="prose", line=tok.map[0] + 1))
                last_python = None
            continue
        if tok.type != "fence" or tok.map is None:
            continue
        lang = _language(tok.info)
        first = tok.map[0] + 2  # map is 0-based and starts at the fence line; code starts one line below
        if lang in PYTHON_LANGS:
            content, tags = tok.content, set()
            if _is_code_cell(tok.info):  # MyST options (":tags: [...]") come first; they are not code
                options, tags = _options(content)
                content, first = "".join(content.splitlines(keepends=True)[options:]), first + options
            before = _paragraph_before(tokens, i)
            earlier = _paragraph_before(tokens, i - 3) if before is not None else None
            prose = raises_prose(before.content, before.map[0] + 1, earlier.content if earlier is not None else "") \
                if before is not None and before.map else ""
            shows = illustrates_prose(before.content, before.map[0] + 1) if before is not None and before.map else ""
            if lang == "pycon" or looks_like_doctest(content):
                new = doctest_cells(content, first, label_prefix=f"line {first}")
                last_python = None  # doctest sessions state their own output
            else:
                display = "last" if _is_code_cell(tok.info) else "none"
                new = [python_cell(content, first, display=display, label=f"line {first}")]
                last_python = i
            for cell in new:
                if "raises-exception" in tags:
                    cell.raises = f"tagged raises-exception at line {tok.map[0] + 1}"
                cell.raises = cell.raises or prose
                cell.illustrates = shows
                if "skip-execution" in tags and not cell.skipped:
                    cell.skipped = "tagged skip-execution in the document"
            cells.extend(new)
        elif lang in SESSION_LANGS and opens_with_prompt(tok.content):  # a Python session labelled shell/text
            cells.extend(doctest_cells(tok.content, first, label_prefix=f"line {first}"))
            last_python = None
        elif lang in OUTPUT_LANGS and last_python is not None and _adjacent(tokens[last_python + 1:i]):
            cells[-1].expected.append(Expected(text=tok.content.rstrip("\n"), origin="output block", line=first))
            last_python = None
        else:
            last_python = None
    doc = Document(source=path, kind="markdown", cells=cells, title=title or path, file=path, sha256=sha,
                   reproducer=reproducer(path))
    return [prelude.add(doc, prelude.current_modules(text))]


_PRINTS = re.compile(r"\b(?:prints?|printed|outputs?|displays?|shows?)\b", re.IGNORECASE)


def prose_output(inline: Token) -> str | None:
    """A value quoted in the sentence right after a code block ("This prints ``tensor(6.)``."): the sentence
    must say prints/outputs/displays/shows and quote exactly one value-looking code span."""
    spans = [child.content for child in inline.children or [] if child.type == "code_inline"]
    if not _PRINTS.search(inline.content) or len(spans) != 1:
        return None
    return spans[0] if stated_value(spans[0]) == spans[0] else None


def _adjacent(between: list) -> bool:
    """An output fence belongs to the code above it when at most one short paragraph ("Output:") separates them."""
    paragraphs = [t for t in between if t.type == "paragraph_open"]
    others = [t for t in between if t.type not in ("paragraph_open", "paragraph_close", "inline")]
    short = all(len(t.content) <= 80 for t in between if t.type == "inline")
    return not others and len(paragraphs) <= 1 and short
