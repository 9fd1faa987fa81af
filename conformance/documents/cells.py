"""Helpers every reader shares: doctest text to cells, and ``# 4.0``-style trailing comments to expectations."""

from __future__ import annotations

import ast
import doctest
import io
import re
import tokenize

from conformance.documents import magics
from conformance.documents.model import Cell, Expected

_PREFIX = re.compile(r"^(?:->|=>|==|=|prints?:?|outputs?:?|out:|gives:?|returns:?|result:?)\s*", re.IGNORECASE)
_VALUE_START = re.compile(r"^(?:[-+]?\d|[-+]?\.\d|\[|\(|tensor\(|Array\(|array\(|DeviceArray\(|torch\.Size|"
                          r"True\b|False\b|None\b|nan\b|inf\b|-inf\b|\{)")


def stated_value(comment: str) -> str | None:
    """The value a trailing comment states, or None when the comment is prose (``# compute the loss``)."""
    text = _PREFIX.sub("", comment.lstrip("#").strip())
    return text if text and _VALUE_START.match(text) else None


def _comments(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def comment_expectations(source: str, first_line: int) -> list[Expected]:
    """Trailing comments stating a value on a top-level ``print(...)`` or expression statement.

    Only those two kinds: a comment after an assignment (``y = f(x)  # 4.0``) describes a value nothing prints,
    so there is nothing to compare it with (the derivative check still covers a transform call on that line).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    comments = _comments(source)
    found = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.Expr):
            continue
        end = stmt.end_lineno or stmt.lineno
        value = stated_value(comments[end]) if end in comments else None
        if value is None:
            continue
        found.append(Expected(text=value, origin="comment", line=first_line + end - 1, scope="line",
                              statement_line=stmt.lineno))
    return found


def python_cell(source: str, line: int, *, display: str = "none", label: str = "") -> Cell:
    """A plain code cell with its trailing-comment expectations; IPython syntax in it (a MyST code cell, an
    ``ipython`` fence) translated by ``magics.prepare``."""
    prepared = magics.prepare(source)
    return Cell(source=source, line=line, display=display, label=label, skipped=prepared.skipped,
                notes=prepared.notes, installs=prepared.installs,
                python=prepared.python if prepared.python != source else "",
                expected=comment_expectations(prepared.python, line))


_SKIP = doctest.OPTIONFLAGS_BY_NAME["SKIP"]
_XDOCTEST_SKIP = re.compile(r"#\s*xdoctest\s*:\s*\+SKIP", re.IGNORECASE)
_XDOCTEST_LINE = re.compile(r"^\s*>>>\s*#\s*xdoctest\s*:\s*\+SKIP", re.IGNORECASE)


def doctest_cells(text: str, first_line: int, label_prefix: str = "example") -> list[Cell]:
    """``>>>`` examples of ``text`` (whose first line is ``first_line`` of the file) as cells.

    Consecutive examples with no output between them form one cell, ended by the example whose output is
    stated: that covers plain doctest and the xdoctest style of torch's docstrings, which writes every line of a
    ``def`` with ``>>>`` (each line alone would not compile).  A cell shows every expression's value, as the
    interactive prompt does; the stated output is the cell's expected output.  ``+SKIP`` (doctest's option or
    an ``# xdoctest: +SKIP`` line) marks the cell skipped, and a directive on a line of its own skips the rest
    of its group of prompt lines too.
    """
    cells: list[Cell] = []
    group: list[doctest.Example] = []
    # doctest drops comment-only prompt lines, so xdoctest's directive lines are found in the raw text.
    directives = {n for n, ln in enumerate(text.splitlines()) if _XDOCTEST_LINE.match(ln)}
    # Prompt lines doctest drops (``>>>`` alone, ``>>> # comment``) still join the examples around them.
    prompts = {n for n, ln in enumerate(text.splitlines()) if ln.lstrip().startswith((">>>", "..."))}

    def close() -> None:
        nonlocal group
        if not group:
            return
        line = first_line + group[0].lineno
        source = "".join(ex.source for ex in group)
        cell = Cell(source=source, line=line, display="all", label=f"{label_prefix} {len(cells) + 1}")
        end = group[-1].lineno + group[-1].source.count("\n")
        directive = any(group[0].lineno - 1 <= d < end for d in directives)
        if directive or any(ex.options.get(_SKIP) or _XDOCTEST_SKIP.search(ex.source) for ex in group):
            cell.skipped = "marked +SKIP in the document"
        last = group[-1]
        if last.want:
            want_line = first_line + last.lineno + last.source.count("\n")
            cell.expected.append(Expected(text=last.want.rstrip("\n"), origin="doctest", line=want_line))
        cells.append(cell)
        group = []

    previous_end = None
    for ex in doctest.DocTestParser().get_examples(text):
        joined = previous_end is not None and all(n in prompts for n in range(previous_end, ex.lineno))
        if group and not joined:
            close()
        group.append(ex)
        previous_end = ex.lineno + ex.source.count("\n")
        if ex.want:
            close()
            previous_end = None
    close()
    return cells


def looks_like_doctest(text: str) -> bool:
    return any(line.lstrip().startswith(">>>") for line in text.splitlines())
