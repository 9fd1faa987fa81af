"""Sphinx configuration of the compatibility report.

The pages are skeletons; the ``conformance_report`` extension (``_ext/``) fills
them from results files.  Build with ``python -m conformance report`` (which
passes the results files in the ``CONFORMANCE_RESULTS`` environment variable),
or directly with ``sphinx-build -b html docs out -D conformance_results=run.json``.
The build imports neither torch nor jax.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "transform-conformance"
author = "transform-conformance contributors"
copyright = "transform-conformance contributors"
html_title = "Transform conformance report"

extensions = ["sphinx_design", "conformance_report"]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "_ext", "results-schema.md", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

language = "en"
pygments_style = "sphinx"
highlight_language = "text"

html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["conformance.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": True,
    "top_of_page_buttons": [],
}

# The results files; set by ``python -m conformance report`` through CONFORMANCE_RESULTS.
conformance_results: list[str] = []
