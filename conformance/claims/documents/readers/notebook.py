"""Jupyter notebooks: code cells in order, with their stored outputs as the expected output.

Stored ``stream`` (stdout) text and the ``text/plain`` of an ``execute_result`` are what the cell printed and
displayed when the notebook was saved; an ``error`` output is the exception it raised.  Rich outputs (images,
HTML) have no text to compare and are left out.  IPython syntax (``%timeit``, ``%%time``, ``%matplotlib``,
``!pip``) is translated line for line by ``magics.prepare``; the timings a ``%time``/``%timeit`` cell stored are
another machine's, so those lines of its stored output are not compared.
"""

from __future__ import annotations

import re

import nbformat

from conformance.claims.documents import magics, prelude
from conformance.claims.documents.cells import comment_expectations, raises_comment
from conformance.claims.documents.model import Cell, Document, Expected
from conformance.claims.documents.readers.common import read_text, reproducer
from conformance.claims.documents.registry import DocumentError, reader

_CODE_CELL = re.compile(r'"cell_type"\s*:\s*"code"')
_TIMING = re.compile(r"^(?:CPU times:|Wall time:|.*\bper loop\b|.*\bloops? each\)|Compiler time:|"
                     r"The slowest run took).*(?:\n|$)", re.MULTILINE)


def _cell_lines(text: str) -> list[int]:
    """The JSON line of each code cell, so a finding points into the file (``cell N`` says the rest)."""
    return [text.count("\n", 0, m.start()) + 1 for m in _CODE_CELL.finditer(text)]


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


@reader(suffixes=(".ipynb",))
def read_notebook(path: str) -> list[Document]:
    text, sha = read_text(path)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for a malformed file
        raise DocumentError(f"{path}:1: not a readable notebook ({exc}) (open and re-save it in Jupyter)") from None
    lines = _cell_lines(text)
    cells: list[Cell] = []
    title = ""
    code_index = 0
    for nb_index, nb_cell in enumerate(nb.cells, start=1):
        if nb_cell.cell_type == "markdown" and not title:
            heading = next((ln for ln in nb_cell.source.splitlines() if ln.startswith("#")), "")
            title = heading.lstrip("# ").strip()
        if nb_cell.cell_type != "code":
            continue
        line = lines[code_index] if code_index < len(lines) else 1
        code_index += 1
        prepared = magics.prepare(nb_cell.source)
        cell = Cell(source=nb_cell.source, line=line, display="last", label=f"cell {nb_index}",
                    skipped=prepared.skipped, notes=prepared.notes, installs=prepared.installs,
                    python=prepared.python if prepared.python != nb_cell.source else "")
        stream, shown, error = [], [], None
        for out in nb_cell.get("outputs", []):
            if out.output_type == "stream" and out.get("name") == "stdout":
                stream.append(_text(out.text))
            elif out.output_type == "execute_result" and "text/plain" in out.get("data", {}):
                shown.append(_text(out.data["text/plain"]))
            elif out.output_type == "error":
                error = f"{out.ename}: {out.evalue}"
        stated = "".join(stream) + ("\n" if stream and shown and not stream[-1].endswith("\n") else "")
        stated += "\n".join(shown)
        if prepared.notes:  # %time / %timeit printed timings of the machine that saved the notebook
            stated = _TIMING.sub("", stated)
        if error is not None:
            cell.expected.append(Expected(text=f"Traceback (most recent call last):\n{error}", origin="stored error",
                                          line=line))
        elif stated.strip():
            cell.expected.append(Expected(text=stated.rstrip("\n"), origin="stored output", line=line))
        # Trailing comments are checked too; their lines are cell-relative, as the notebook shows them.
        cell.expected.extend(comment_expectations(cell.code, line))
        tags = set(nb_cell.get("metadata", {}).get("tags") or [])
        cell.raises = f"tagged raises-exception ({cell.label})" if "raises-exception" in tags else \
            raises_comment(cell.code, line)
        if "skip-execution" in tags and not cell.skipped:
            cell.skipped = "tagged skip-execution in the document"
        cells.append(cell)
    doc = Document(source=path, kind="notebook", cells=cells, title=title or path, file=path, sha256=sha,
                   reproducer=reproducer(path))
    return [prelude.add(doc, [])]
