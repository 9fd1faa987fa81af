"""Helpers every reader shares: doctest text to cells, and ``# 4.0``-style trailing comments to expectations."""

from __future__ import annotations

import ast
import doctest
import io
import re
import tokenize

from conformance.claims.documents import magics
from conformance.claims.documents.model import Cell, Expected

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
    lines = source.splitlines()
    prints = {stmt.lineno for stmt in tree.body if _is_print(stmt)}
    found = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.Expr):
            continue
        end = stmt.end_lineno or stmt.lineno
        value, at = (stated_value(comments[end]) if end in comments else None), end
        for near in ((stmt.lineno - 1, end + 1) if value is None and _is_print(stmt) else ()):
            if near == end + 1 and end + 2 in prints:  # above the next print: that print's statement
                break
            value, at = _print_comment(comments, lines, near), near
            if value is not None:
                break
        if value is None:
            continue
        found.append(Expected(text=value, origin="comment", line=first_line + at - 1, scope="line",
                              statement_line=stmt.lineno))
    return found


_PRINTS_COMMENT = re.compile(r"^#\s*(?:this\s+|it\s+|will\s+)*(?:prints?|outputs?|output\s+is|displays?)\s*:?\s*(.*)$",
                             re.IGNORECASE)


def _is_print(stmt: ast.stmt) -> bool:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"


def _print_comment(comments: dict[int, str], lines: list[str], number: int) -> str | None:
    """The value a comment on a line of its own states, when it says so (``# Prints: 3.0``, ``# Output: ...``)
    and sits right above or below a ``print(...)``: tutorials write the output there as often as after it."""
    if number not in comments or not 0 < number <= len(lines) or not lines[number - 1].lstrip().startswith("#"):
        return None
    match = _PRINTS_COMMENT.match(comments[number].strip())
    return stated_value(match.group(1)) if match else None


_RAISES_COMMENT = re.compile(
    r"^(?:(?:this|it|that)\s+)?(?:(?:will|would|should)\s+)?(?:raises?|throws?)\b"  # "Raises an error because"
    r"|^(?:(?:this|it|that)\s+)?(?:(?:will|would|should)\s+)?(?:errors?|fails?)(?:\s*!|\s+(?:here|out|because)\b|\s*$)"
    r"|^[A-Z]\w*(?:Error|Exception):\s",  # "RuntimeError: vmap: inplace arithmetic ..."
    re.IGNORECASE)
_RAISES_PROSE = re.compile(
    r"\b(?:will|would|should)\s+(?:raise|throw|error|fail)\b|\bfails\s+with\b"
    r"|\b(?:raises|throws)\s+an?\s+(?:\w+\s+)?(?:error|exception)\b|\bresults?\s+in\s+an?\s+(?:\w+\s+)?error\b"
    r"|\b(?:this|it)\s+(?:fails|errors|raises)\b|\bproduces?\s+an?\s+(?:\w+\s+)?error\b",
    re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|never|no|without)\b|n't\b", re.IGNORECASE)


def raises_comment(source: str, first_line: int) -> str:
    """Where a comment of the cell states that it raises (``# Raises an error because ...``, ``# RuntimeError:
    ...``, ``# this will error``, ``# error!``), as ``comment at line N: ...``; empty when none does.  A negated
    comment (``# Does not raise an error``) states the opposite and does not count."""
    for number, text in sorted(_comments(source).items()):
        body = text.lstrip("#").strip()
        if _RAISES_COMMENT.match(body) and not _NEGATED.search(re.split(r":|\bbecause\b", body)[0]):
            return f"comment at line {first_line + number - 1}: {text.strip()}"
    return ""


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?:])\s+", " ".join(text.split())) if s.strip()]


def _states_raise(sentence: str) -> bool:
    """The sentence says something raises, in a clause that is not negated ("X is not supported and will error"
    says it errors; "this will not raise" matches nothing)."""
    for match in _RAISES_PROSE.finditer(sentence):
        start = max(sentence.rfind(sep, 0, match.start()) for sep in (",", ";", " and ", " but ", " so "))
        ends = [i for i in (sentence.find(sep, match.end()) for sep in (",", ";", " and ", " but ")) if i >= 0]
        if not _NEGATED.search(sentence[max(start, 0):min(ends, default=len(sentence))]):
            return True
    return False


def raises_prose(paragraph: str, line: int, before: str = "") -> str:
    """Where the sentence right before a block (the last of ``paragraph``) states that the block raises ("the
    following will raise an error", "this fails with", "results in an error"); empty when it does not.  When that
    sentence only introduces the block ("Consider the following example:"), the sentence before it counts
    instead, in the same paragraph or the end of ``before``, the paragraph before it ("Operations such as
    torch.nonzero are not supported and will error as a result.  To see why, consider the following example:")."""
    sentences = _sentences(paragraph)
    last = sentences[-1] if sentences else ""
    if _states_raise(last):
        return f"prose at line {line}: {last}"
    if last.endswith(":") and not _RAISES_PROSE.search(last):
        earlier = sentences[-2] if len(sentences) > 1 else (_sentences(before) or [""])[-1]
        if earlier and _states_raise(earlier):
            return f"prose at line {line}: {earlier} {last}"
    return ""


_ILLUSTRATES = re.compile(
    r"\b(?:is|are)\s+(?:\w+\s+)?(?:equivalent|identical|equal)\s+to\s*:$"
    r"|\b(?:is|are)\s+(?:\w+\s+)?the\s+same\s+as\s*:$|\bpseudo-?code\b.*:$|\bconceptually\b.*:$",
    re.IGNORECASE)


def illustrates_prose(paragraph: str, line: int) -> str:
    """Where the sentence right before a block introduces it as an equivalence or pseudo-code ("``vmap(f)(x)`` is
    equivalent to:"), not as an example to run in the page's state; empty when it does not."""
    sentences = _sentences(paragraph)
    last = sentences[-1] if sentences else ""
    return f"prose at line {line}: {last}" if _ILLUSTRATES.search(last) else ""


def python_cell(source: str, line: int, *, display: str = "none", label: str = "") -> Cell:
    """A plain code cell with its trailing-comment expectations; IPython syntax in it (a MyST code cell, an
    ``ipython`` fence) translated by ``magics.prepare``."""
    prepared = magics.prepare(source)
    return Cell(source=source, line=line, display=display, label=label, skipped=prepared.skipped,
                notes=prepared.notes, installs=prepared.installs,
                python=prepared.python if prepared.python != source else "",
                expected=comment_expectations(prepared.python, line),
                raises=raises_comment(prepared.python, line))


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


def opens_with_prompt(text: str) -> bool:
    """Whether the first non-blank line is a ``>>> `` prompt: a Python session, whatever language it is labelled."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first == ">>>" or first.startswith(">>> ")
