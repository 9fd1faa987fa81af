"""No page of the report may insert raw HTML or the contents of a file, whatever configures docutils.

The report's pages only hold text from results files as nodes, so no data can reach a ``raw`` or ``include``
directive; this module closes the same doors for the page sources themselves, so that a mistake anywhere (a
skeleton, a future directive that parses text) cannot publish a script or a file of the build machine.

Sphinx passes its ``env.settings`` to docutils as *defaults*, which a ``docutils.conf`` next to ``conf.py``,
``/etc/docutils.conf``, ``~/.docutils`` or ``$DOCUTILSCONFIG`` override (docutils reads them after).  So the
settings are set there and also forced on every document by the reST parser itself, after all configuration
is read; and a raw node that still reaches a doctree (from another extension) is removed with a warning.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.parsers import RSTParser
from sphinx.util import logging

LOCKED = {"raw_enabled": False, "file_insertion_enabled": False}
"""The docutils settings of every page: no ``raw`` directive, no ``include``, ``raw :file:``, ``csv-table :file:``
or ``literalinclude``."""

logger = logging.getLogger(__name__)


class LockedRSTParser(RSTParser):
    """Sphinx's reST parser with :data:`LOCKED` forced on the document, over any configuration file."""

    def parse(self, inputstring: Any, document: nodes.document) -> None:
        for name, value in LOCKED.items():
            setattr(document.settings, name, value)
        super().parse(inputstring, document)


def _lock_settings(app: Sphinx) -> None:
    app.env.settings.update(LOCKED)


def _drop_raw(app: Sphinx, doctree: nodes.document) -> None:
    """Remove any raw node (HTML passed through unescaped) that reached a page, and say where."""
    for node in list(doctree.findall(nodes.raw)):
        logger.warning("conformance report: raw %s content removed from the page", node.get("format", "?"),
                       location=node, type="conformance", subtype="raw")
        node.parent.remove(node)


def setup(app: Sphinx) -> None:
    app.add_source_parser(LockedRSTParser, override=True)
    app.connect("builder-inited", _lock_settings)
    app.connect("doctree-read", _drop_raw)
