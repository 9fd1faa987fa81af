"""Block content of the report's pages, as docutils nodes: paragraphs, sections, tables, code, tabs, figures.

A :class:`Doc` collects what one directive shows, in reading order, as the nodes Sphinx would have made from the
equivalent reST (a list-table, a code-block with a caption, a sphinx-design tab set...), so the pages look as
they did when the report wrote reST, but no string is ever parsed.  Section titles and labels are registered with
the document by the directive (:func:`register_targets`), exactly as the reST parser registers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Union

from docutils import nodes
from sphinx_design.shared import create_component

from .inline import Inline, Part, em, esc
from .text import flat, lines

Cell = Union[Part, "Doc", Sequence[Part]]
"""A table cell: inline content (one paragraph), a sequence of it (one paragraph each), or a whole ``Doc``."""


class Doc:
    """Accumulates block nodes; a heading opens a section that takes what follows, until a heading as deep."""

    def __init__(self) -> None:
        self._root: list[nodes.Node] = []
        self._sections: list[tuple[int, nodes.section]] = []
        self._open: list[nodes.Element] = []
        """Containers being filled (a tab, an admonition), innermost last."""

    def nodes(self) -> list[nodes.Node]:
        return self._root

    def add(self, node: nodes.Node) -> None:
        if self._open:
            self._open[-1].append(node)
        elif self._sections:
            self._sections[-1][1].append(node)
        else:
            self._root.append(node)

    @contextmanager
    def _into(self, container: nodes.Element) -> Iterator[None]:
        self.add(container)
        self._open.append(container)
        try:
            yield
        finally:
            self._open.pop()

    def para(self, *parts: Part) -> None:
        content = Inline(*parts)
        if content:
            self.add(nodes.paragraph("", "", *content.nodes()))

    def heading(self, title: Part, depth: int, label: str | None = None) -> None:
        """A section titled ``title`` at ``depth`` within this output (0 outermost), with an optional label."""
        if self._open:
            raise ValueError("a heading cannot open inside a tab or an admonition")
        while self._sections and self._sections[-1][0] >= depth:
            self._sections.pop()
        text = title if isinstance(title, Inline) else esc(title)
        if label:
            self.add(nodes.target("", "", names=[label]))
        section = nodes.section("", nodes.title("", "", *text.nodes()), names=[nodes.fully_normalize_name(
            text.astext())])
        self.add(section)
        self._sections.append((depth, section))

    def rubric(self, *parts: Part) -> None:
        self.add(nodes.rubric("", "", *Inline(*parts).nodes()))

    def bullets(self, items: Iterable[Part]) -> None:
        listing = nodes.bullet_list(bullet="-")
        for item in items:
            listing += nodes.list_item("", nodes.paragraph("", "", *Inline(item).nodes()))
        if len(listing):
            self.add(listing)

    def code(self, text: object, language: str = "text", caption: str | None = None) -> None:
        """A highlighted code block holding ``text`` as it was recorded (``force``: data need not lex cleanly)."""
        body = lines(str(text).rstrip())
        if not body.strip():
            self.para(em("(empty)"))
            return
        block = nodes.literal_block(body, body, language=language, force=True, highlight_args={})
        if not caption:
            self.add(block)
            return
        wrapper = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
        wrapper += nodes.caption(caption, caption)
        wrapper += block
        self.add(wrapper)

    def table(self, header: Sequence[Cell], rows: Sequence[Sequence[Cell]], *, title: Part = "",
              stub_columns: int = 0, css_class: str = "") -> None:
        """What a ``list-table`` with one header row makes; an empty cell shows ``—``."""
        table = nodes.table(classes=[css_class] if css_class else [])
        if title:
            table += nodes.title("", "", *Inline(title).nodes())
        group = nodes.tgroup(cols=len(header))
        table += group
        for column in range(len(header)):
            spec = nodes.colspec(colwidth=100 // max(1, len(header)))
            if column < stub_columns:
                spec["stub"] = True
            group += spec
        head, body = nodes.thead(), nodes.tbody()
        head += _row(header)
        for row in rows:
            body += _row(row)
        group += head
        group += body
        self.add(table)

    @contextmanager
    def admonition(self, title: Part, css_class: str) -> Iterator[None]:
        node = nodes.admonition("", nodes.title("", "", *Inline(title).nodes()), classes=[css_class])
        with self._into(node):
            yield

    @contextmanager
    def warning(self) -> Iterator[None]:
        with self._into(nodes.warning()):
            yield

    @contextmanager
    def tabs(self, css_class: str) -> Iterator[None]:
        """A sphinx-design tab set; fill it with :meth:`tab`."""
        with self._into(create_component("tab-set", classes=["sd-tab-set", css_class])):
            yield

    @contextmanager
    def tab(self, label: Part) -> Iterator[None]:
        item = create_component("tab-item", classes=["sd-tab-item"], selected=False)
        item += nodes.rubric("", "", *Inline(label).nodes(), classes=["sd-tab-label"])
        content = create_component("tab-content", classes=["sd-tab-content"])
        item += content
        self.add(item)
        self._open.append(content)
        try:
            yield
        finally:
            self._open.pop()

    def figure(self, uri: str, alt: str, caption: Part) -> None:
        figure = nodes.figure("", nodes.image("", uri=uri, alt=flat(alt), width="100%"))
        figure += nodes.caption("", "", *Inline(caption).nodes())
        self.add(figure)


def _cell(value: Cell) -> list[nodes.Node]:
    if isinstance(value, Doc):
        return value.nodes() or [nodes.paragraph("", "—")]
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    found = [Inline(p) for p in parts if Inline(p)]
    return [nodes.paragraph("", "", *p.nodes()) for p in found] or [nodes.paragraph("", "—")]


def _row(cells: Sequence[Cell]) -> nodes.row:
    row = nodes.row()
    for value in cells:
        row += nodes.entry("", *_cell(value))
    return row


def register_targets(document: nodes.document, found: Iterable[nodes.Node]) -> None:
    """Give the sections and labels of ``found`` their ids, as the reST parser does while it reads a page.

    A section's title is its implicit target (its anchor); a label before a section is an explicit target that
    Sphinx's ``:ref:`` resolves, and a duplicate one is a warning (so a strict build fails) as in reST.
    """
    for tree in found:
        for node in tree.findall(lambda n: isinstance(n, (nodes.section, nodes.target))):
            if node["ids"]:
                continue
            if isinstance(node, nodes.section):
                document.note_implicit_target(node, node)
            elif node["names"]:
                document.note_explicit_target(node, node.parent)
