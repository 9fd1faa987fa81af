"""A small reStructuredText writer for the report's directives.

The directives turn results data into reST and let Sphinx parse it
(``nested_parse``), so that sphinx-design badges, tabs and cards, code blocks
and cross-references behave exactly as if a person had written the page.  The
data comes from results files and can contain anything (Japanese quotes,
backticks, asterisks, exception text); :func:`esc` and :func:`code` keep it
from being read as markup, which would otherwise produce warnings or mangled
text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from conformance.links import is_web_url

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
"""Every ASCII punctuation character: a backslash before any of them makes it literal."""

HEADING_CHARS = '=-~^"'
"""Underline characters by depth inside one directive's output."""


def esc(text: Any) -> str:
    """Inline text that is shown literally: whitespace collapsed, markup characters escaped."""
    flat = " ".join(str(text).split())
    return _PUNCT.sub(r"\\\1", flat) if flat else "—"


def lit(text: Any) -> str:
    """Inline literal (monospace) where the text allows it, escaped plain text otherwise."""
    flat = " ".join(str(text).split())
    if flat and "`" not in flat and "\\" not in flat:
        return f"``{flat}``"
    return esc(flat)


def link(text: str, url: str) -> str:
    """An external link (anonymous, so repeated texts do not clash) for http(s) URLs only.

    Every link the report makes from data (manifest ``link``, claims ``sources``, documentation links of declared
    errors) goes through here.  Any other scheme (``javascript:``, ``data:``, ``file:``) or a URL with characters
    that could escape the markup is shown as escaped plain text, so a results file cannot plant a live script link.
    """
    url = str(url).strip()
    if not is_web_url(url):
        return esc(f"{text} ({url})" if url and url != text else text)
    return f"`{esc(text)} <{url}>`__"


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


class Rst:
    """Accumulates reST lines; blocks are separated by blank lines as reST requires."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._indent = ""

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"

    def line(self, text: str = "") -> None:
        for part in text.split("\n"):
            self._lines.append(self._indent + part if part else "")

    def blank(self) -> None:
        if self._lines and self._lines[-1] != "":
            self._lines.append("")

    def para(self, text: str) -> None:
        """A paragraph of already-safe reST inline text."""
        self.blank()
        self.line(text)
        self.blank()

    @contextmanager
    def indented(self, by: str = "   ") -> Iterator[None]:
        saved = self._indent
        self._indent += by
        try:
            yield
        finally:
            self._indent = saved

    def label(self, name: str) -> None:
        self.blank()
        self.line(f".. _{name}:")
        self.blank()

    def heading(self, title: str, depth: int, label: str | None = None) -> None:
        """A section title (``title`` is raw text, escaped here) at ``depth`` within this output."""
        if label:
            self.label(label)
        self.blank()
        safe = esc(title)
        self.line(safe)
        self.line(HEADING_CHARS[depth] * max(4, 2 * len(safe)))
        self.blank()

    def rubric(self, text: str) -> None:
        self.blank()
        self.line(f".. rubric:: {text}")
        self.blank()

    @contextmanager
    def directive(self, name: str, argument: str = "", **options: str | None) -> Iterator[None]:
        """A directive whose content is written inside the ``with`` block."""
        self.blank()
        self.line(f".. {name}::" + (f" {argument}" if argument else ""))
        with self.indented():
            for key, value in options.items():
                self.line(f":{key.rstrip('_').replace('_', '-')}:" + (f" {value}" if value else ""))
            self.blank()
            yield
        self.blank()

    def code(self, text: str, language: str = "text", caption: str | None = None) -> None:
        """A highlighted code block holding ``text`` verbatim (``:force:``: data need not lex cleanly)."""
        body = str(text).rstrip()
        if not body.strip():
            self.para("*(empty)*")
            return
        opts: dict[str, str | None] = {"force": None}
        if caption:
            opts["caption"] = caption
        with self.directive("code-block", language, **opts):
            for row in body.split("\n"):
                self.line(row.rstrip())

    def bullets(self, items: Iterable[str]) -> None:
        """A bullet list of already-safe reST inline text."""
        self.blank()
        for item in items:
            self.line(f"- {item}")
        self.blank()

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        title: str = "",
        stub_columns: int = 0,
        css_class: str = "",
    ) -> None:
        """A list-table; each cell is reST block text (several lines allowed)."""
        options: dict[str, str | None] = {"header-rows": "1"}
        if stub_columns:
            options["stub-columns"] = str(stub_columns)
        if css_class:
            options["class"] = css_class
        with self.directive("list-table", esc(title) if title else "", **options):
            for row in [header, *rows]:
                for col, cell in enumerate(row):
                    lead = "* - " if col == 0 else "  - "
                    cell_lines = str(cell).split("\n") if str(cell).strip() else ["—"]
                    self.line(lead + cell_lines[0])
                    with self.indented("    "):
                        for extra in cell_lines[1:]:
                            self.line(extra)


def block(build: Any) -> str:
    """Render a cell's reST by calling ``build(rst)`` on a fresh writer (for multi-block cells)."""
    writer = Rst()
    build(writer)
    return writer.text().strip("\n")
