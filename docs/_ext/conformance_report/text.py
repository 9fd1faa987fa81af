"""Strings from results files made fit to sit in a docutils node: the report's only text transformations.

No function here produces markup: the report never writes reST source from data (see :mod:`.inline` and
:mod:`.blocks`, which turn data into docutils nodes).  What remains is what a node's text itself cannot hold:
control characters that would corrupt the page or the terminal of whoever copies from it, lone surrogates that
cannot be encoded as UTF-8 at all (Sphinx would crash writing the page), and labels, which must be ASCII.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNENCODABLE = re.compile(r"[\x80-\x84\x86-\x9f\ud800-\udfff]")
_SMART = re.compile(r"([-\\'\".`])")
"""The characters docutils' smart-quotes transform would rewrite ("--" to a dash, quotes to curly ones)."""


def clean(text: Any) -> str:
    """``text`` as a string a page can show: C0 controls as their visible symbols (ESC as ␛, NUL as ␀), C1
    controls and lone surrogates as U+FFFD.  Newlines and tabs are kept; callers decide what they mean."""
    value = str(text)
    value = _CONTROL.sub(lambda m: "␡" if m.group() == "\x7f" else chr(0x2400 + ord(m.group())), value)
    return _UNENCODABLE.sub("\ufffd", value)


def flat(text: Any) -> str:
    """``text`` on one line: every run of whitespace (any line separator included) becomes one space."""
    return " ".join(clean(text).split())


def verbatim(text: str) -> str:
    """Text docutils' smart-quotes transform leaves as it is (a data string must read as recorded).

    This is the form the reST parser itself gives a backslash-escaped character (a NUL before it), which the
    transform skips and every writer drops (``Text.astext``).  Call it on :func:`clean` text only: ``clean``
    turns a NUL from the data into ␀, so data can never spell this marker itself.
    """
    return _SMART.sub("\x00\\1", text)


def lines(text: Any) -> str:
    """Multi-line text for a code block: split where docutils splits source lines, tabs expanded, each line
    right-stripped, joined with newlines (what a ``code-block`` directive made of the same text showed)."""
    return "\n".join(row.expandtabs(8).rstrip() for row in clean(text).replace("\r\n", "\n").splitlines())


def compact(value: Any) -> str:
    """A JSON value on one line, non-ASCII kept, for table cells."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def pretty(value: Any) -> str:
    """A JSON value indented over several lines, for code blocks."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


def slug(*parts: Any) -> str:
    """A label fragment from data: lowercase letters, digits and hyphens only."""
    text = "-".join(str(p) for p in parts).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "x"
