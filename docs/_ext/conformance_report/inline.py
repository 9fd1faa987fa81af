"""Inline content of the report's pages, as docutils nodes: text, literals, emphasis, links, badges.

The report used to write reST and let Sphinx parse it; escaping every string from the results was then the only
thing between the data and the parser, and a line separator docutils knows but the escaper did not (U+2028, \\r)
turned a printed string into a live ``.. raw:: html`` directive.  Here nothing is parsed: an :class:`Inline` is a
sequence of nodes, and a ``str`` added to one becomes a :class:`docutils.nodes.Text`, whatever it holds.  Markup
exists only where a constructor below (``strong``, ``ref``, ``badge``...) is called by the report's own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Union

from docutils import nodes
from sphinx import addnodes

from conformance.links import is_web_url

from .text import clean, flat, verbatim

Part = Union[str, "Inline", nodes.Node, int, float, None]
"""What an :class:`Inline` is made of: text (never markup), other inline content, a node, a number."""


class Inline:
    """A run of inline nodes; ``+`` with a ``str`` or another ``Inline`` concatenates (a ``str`` is text)."""

    __slots__ = ("_parts",)

    def __init__(self, *parts: Part) -> None:
        found: list[nodes.Node] = []
        for part in parts:
            if isinstance(part, Inline):
                found.extend(part._parts)
            elif isinstance(part, nodes.Node):
                found.append(part)
            elif part is not None and str(part) != "":
                found.append(nodes.Text(clean(part)))
        self._parts = tuple(found)

    def __add__(self, other: Part) -> Inline:
        return Inline(self, other)

    def __radd__(self, other: Part) -> Inline:
        return Inline(other, self)

    def __bool__(self) -> bool:
        return bool(self._parts)

    def nodes(self) -> list[nodes.Node]:
        """Fresh copies of the nodes (a node has one parent; the same content may appear twice)."""
        return [part.deepcopy() for part in self._parts]

    def astext(self) -> str:
        return "".join(part.astext() for part in self._parts)


def join(separator: str, items: Iterable[Part]) -> Inline:
    """``separator.join(items)`` for inline content."""
    out: list[Part] = []
    for position, item in enumerate(items):
        if position:
            out.append(separator)
        out.append(item)
    return Inline(*out)


def esc(text: Any) -> Inline:
    """Data shown as it was recorded: one line, whitespace collapsed, never rewritten (``—`` when empty)."""
    value = flat(text)
    return Inline(nodes.Text(verbatim(value))) if value else Inline("—")


def lit(text: Any) -> Inline:
    """Data in monospace (an inline literal), on one line; ``—`` when empty."""
    value = flat(text)
    return Inline(nodes.literal(value, value)) if value else Inline("—")


def strong(*parts: Part) -> Inline:
    return Inline(nodes.strong("", "", *Inline(*parts).nodes()))


def em(*parts: Part) -> Inline:
    return Inline(nodes.emphasis("", "", *Inline(*parts).nodes()))


def link(text: Any, url: Any) -> Inline:
    """An external link for http(s) URLs only; anything else is shown as text beside the link text.

    Every link the report makes from data (manifest ``link``, claims ``sources``, documentation links of declared
    errors) goes through here.  Any other scheme (``javascript:``, ``data:``, ``file:``) or a URL with characters
    a browser would read otherwise is shown as text, so a results file cannot plant a live script link.
    """
    address = str(url).strip()
    if not is_web_url(address):
        return esc(f"{text} ({address})" if address and address != text else text)
    label = flat(text) or address
    return Inline(nodes.reference(label, verbatim(label), refuri=address))


def ref(text: Part, label: str) -> Inline:
    """A cross-reference to a label of the report (a ``:ref:`` with an explicit title)."""
    node = addnodes.pending_xref("", refdomain="std", reftype="ref", reftarget=label.lower(), refexplicit=True,
                                 refwarn=True)
    node += nodes.inline("", "", *Inline(text).nodes(), classes=["xref", "std", "std-ref"])
    return Inline(node)


def doc(text: Part, docname: str) -> Inline:
    """A cross-reference to a page of the report (a ``:doc:`` with an explicit title)."""
    node = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=docname, refexplicit=True,
                                 refwarn=True)
    node += nodes.inline("", "", *Inline(text).nodes(), classes=["xref", "std", "std-doc"])
    return Inline(node)


def _badge_classes(colour: str, outline: bool) -> list[str]:
    """sphinx-design's badge classes (``bdg-<colour>`` and ``bdg-<colour>-line``), so its CSS styles them."""
    tone = [f"sd-outline-{colour}", f"sd-text-{colour}"] if outline else [f"sd-bg-{colour}", f"sd-bg-text-{colour}"]
    return ["sd-sphinx-override", "sd-badge", *tone]


def badge(text: Part, colour: str, *, outline: bool = False, target: str | None = None) -> Inline:
    """A sphinx-design badge, linked to a label when ``target`` is given (what ``:bdg-ref-<colour>:`` makes)."""
    content = Inline(text).nodes()
    if target is None:
        return Inline(nodes.inline("", "", *content, classes=_badge_classes(colour, outline)))
    node = addnodes.pending_xref("", classes=_badge_classes(colour, outline), reftarget=target, refdomain="",
                                 reftype="any", refexplicit=True, refwarn=True)
    node += nodes.inline("", "", *content, classes=["xref", "any"])
    return Inline(node)


def abbr(symbol: str, title: Any) -> Inline:
    """A symbol with hover text (``<abbr title=...>``); the text is an attribute, escaped by the HTML writer."""
    return Inline(nodes.abbreviation(symbol, symbol, explanation=flat(title)))
