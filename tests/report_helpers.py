"""Shared helpers of the report tests: build the fixture sites once, read the produced HTML.

The sites are built once per test session (a build takes seconds) and cached
here at module level, so both test modules share them.  The HTML is read with
the standard library's parser: the tests assert on what a reader sees (cell
text, link targets, ids), not on Sphinx's markup details.
"""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conformance import report

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUN_A = FIXTURES / "results-run-a.json"
RUN_B = FIXTURES / "results-run-b.json"
SCREENSHOTS = ROOT / "reports" / "artifacts" / "screenshots"

_sites: dict[str, Path] = {}


def fixture_doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def two_run_site(factory: pytest.TempPathFactory) -> Path:
    """The site built from both fixture runs (one column per run)."""
    if "two" not in _sites:
        out = factory.mktemp("site-two-runs")
        report.build([RUN_A, RUN_B], out)
        _sites["two"] = out
    return _sites["two"]


def bare_run_site(factory: pytest.TempPathFactory) -> Path:
    """A one-run site whose results have no claims and no error figures: the empty states."""
    if "bare" not in _sites:
        base = factory.mktemp("bare-results")
        doc = copy.deepcopy(fixture_doc(RUN_A))
        doc["run"]["label"] = "bare-run"
        doc["claims"], doc["articles"] = [], []
        for check in doc["checks"]:
            check["max_rel_err"] = check["max_abs_err"] = None
        path = base / "run-bare.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        out = factory.mktemp("site-bare")
        report.build([path], out)
        _sites["bare"] = out
    return _sites["bare"]


class Page(HTMLParser):
    """What the tests look at in one HTML page: text, tables, ids, links, images."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.chunks: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self._stack: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._cell_links: list[str] = []
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if "id" in attr:
            self.ids.add(attr["id"])
        if tag == "a" and "name" in attr:
            self.ids.add(attr["name"])
        for key in ("href", "src"):
            if key in attr and tag in ("a", "link", "script", "img", "iframe", "source"):
                self.links.append(attr[key])
                if self._cell is not None and key == "href":
                    self._cell_links.append(attr[key])
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._stack.append({"classes": attr.get("class", "").split(), "rows": [], "caption": ""})
        elif tag == "tr" and self._stack:
            self._stack[-1]["rows"].append([])
        elif tag in ("td", "th") and self._stack:
            self._cell, self._cell_links = [], []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("td", "th") and self._stack and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            self._stack[-1]["rows"][-1].append({"text": text, "links": list(self._cell_links)})
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def tables_with_class(self, css_class: str) -> list[list[list[str]]]:
        """Tables carrying ``css_class``, as rows of cell texts."""
        return [[[c["text"] for c in row] for row in t["rows"]] for t in self.tables if css_class in t["classes"]]


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def doc_text(doc: Any) -> str:
    """What a reader of a directive's output (a ``conformance_report.blocks.Doc``) sees, as plain text."""
    return "\n".join(node.astext() for node in doc.nodes())


def doc_nodes(doc: Any, kind: type) -> list[Any]:
    """Every node of type ``kind`` in a directive's output."""
    return [found for tree in doc.nodes() for found in tree.findall(kind)]


def badges(doc: Any) -> list[tuple[str, str]]:
    """The sphinx-design badges of a directive's output, as (colour class, text): ``sd-outline-warning`` for an
    outlined warning badge (``:bdg-warning-line:``), ``sd-bg-danger`` for a filled danger one."""
    from docutils import nodes

    found = []
    for node in doc_nodes(doc, nodes.Element):
        classes = node.get("classes", [])
        if "sd-badge" in classes:
            tone = next(c for c in classes if c.startswith(("sd-outline-", "sd-bg-")) and "-text-" not in c)
            found.append((tone, node.astext()))
    return found
