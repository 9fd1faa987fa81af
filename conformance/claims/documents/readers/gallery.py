"""sphinx-gallery scripts: a ``.py`` file split into cells on the gallery's markers.

A marker is a line of 20 or more ``#`` or a line starting ``# %%`` (both conventions sphinx-gallery reads).
The text blocks that follow a marker are comments, which Python ignores, so each chunk runs as it is; the
module docstring at the top is a string statement and is harmless.  A script without markers is one cell.
Each cell shows the value of its last expression, as sphinx-gallery's default ``capture_repr`` does.
"""

from __future__ import annotations

import re

from conformance.claims.documents import prelude
from conformance.claims.documents.cells import python_cell
from conformance.claims.documents.model import Cell, Document
from conformance.claims.documents.readers.common import read_text, reproducer
from conformance.claims.documents.registry import reader

MARKER = re.compile(r"^(#{20,}\s*$|# %%)")


def has_markers(text: str) -> bool:
    """Whether ``text`` is a sphinx-gallery script (a directory walk takes only those ``.py`` files)."""
    return any(MARKER.match(line) for line in text.splitlines())


def split_cells(text: str) -> list[tuple[int, str]]:
    """(first line, source) of each chunk between markers; chunks with no code are dropped."""
    chunks: list[tuple[int, list[str]]] = [(1, [])]
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        if MARKER.match(line):
            chunks.append((n, []))
        chunks[-1][1].append(line)
    found = []
    for first, lines in chunks:
        code = "".join(lines)
        has_code = any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines)
        if has_code:
            found.append((first, code))
    return found


@reader(suffixes=(".py",), collect=has_markers)
def read_gallery(path: str) -> list[Document]:
    text, sha = read_text(path)
    cells: list[Cell] = [python_cell(code, first, display="last", label=f"cell at line {first}") for first, code in split_cells(text)]
    title = ""
    for line in text.splitlines()[:10]:
        if line.strip() and not line.strip().startswith(('"""', "'''", "#", "=", "-")):
            title = line.strip()
            break
    doc = Document(source=path, kind="gallery", cells=cells, title=title or path, file=path, sha256=sha,
                   reproducer=reproducer(path))
    return [prelude.add(doc, [])]
