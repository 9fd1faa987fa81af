"""Sphinx extension: the conformance report's directives.

The pages under ``docs/`` are short skeletons; each directive here reads the
results files given to the build (config value ``conformance_results``, or the
environment variable ``CONFORMANCE_RESULTS``, paths separated by
``os.pathsep``) and builds its part of the report as docutils nodes
(:mod:`.blocks`, :mod:`.inline`): no string from a results file is ever parsed
as reST, and no page may insert raw HTML or a file (:mod:`.lockdown`).  The
report never runs a library: it only reads results.

Directives: ``conformance-headline``, ``conformance-legend``, ``conformance-verdict-legend``,
``conformance-overview``, ``conformance-matrix``, ``conformance-checks``, ``conformance-deviations``,
``conformance-skips``, ``conformance-claims``,
``conformance-divergences``, ``conformance-mismatches``,
``conformance-environment``, ``conformance-plots``, ``conformance-functions``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from conformance.contract import RESULTS_ENV_VAR as ENV_VAR

from . import (
    claims,
    deviations,
    divergences,
    documents,
    environment,
    false_alarms,
    functions,
    lockdown,
    matrix,
    mismatches,
    plots,
    versions,
)
from .blocks import Doc, register_targets
from .inline import em, lit
from .model import Report, load_report

logger = logging.getLogger(__name__)


def _configured_paths(app_config: Any, srcdir: Path) -> tuple[str, ...]:
    """The results files of this build: config, else environment, else the newest run next to the docs."""
    value = app_config.conformance_results or os.environ.get(ENV_VAR, "")
    if isinstance(value, str):
        value = [p for p in value.split(os.pathsep) if p]
    paths = [str(Path(p).resolve()) for p in value]
    if not paths:
        found = sorted(
            (srcdir.parent / "reports" / "results").glob("run-*.json"), key=lambda p: (p.stat().st_mtime, p.name)
        )
        paths = [str(found[-1])] if found else []
    return tuple(paths)


def get_report(app_config: Any, srcdir: Path) -> Report | None:
    """The loaded results of this build, or None when no results file was given or found."""
    paths = _configured_paths(app_config, srcdir)
    if not paths:
        return None
    try:
        return load_report(paths)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise ExtensionError(f"conformance report: cannot read results: {exc}") from exc


class ReportDirective(SphinxDirective):
    """Base: build this directive's part of the page from the report with ``render``, as nodes (never reST)."""

    has_content = False
    render: ClassVar[Callable[[Report], Doc]]

    def run(self) -> list[nodes.Node]:
        report = get_report(self.config, Path(self.env.srcdir))
        if report is None:
            return self.finish(no_results())
        for run in report.runs:
            self.env.note_dependency(str(run.path))
        return self.finish(type(self).render(report))

    def finish(self, doc: Doc) -> list[nodes.Node]:
        """The nodes of ``doc``, placed in this page: source positions, references from here, registered ids."""
        found = doc.nodes()
        source, line = self.get_source_info()
        for tree in found:
            for node in tree.findall(nodes.Element):
                if node.source is None:
                    node.source, node.line = source, line
                if isinstance(node, addnodes.pending_xref):
                    node.setdefault("refdoc", self.env.docname)
        register_targets(self.state.document, found)
        return found


def no_results() -> Doc:
    doc = Doc()
    doc.para(em("No results file was given to this build"), " (", lit("python -m conformance report RESULTS..."),
             ").")
    return doc


def _directive(render: Callable[[Report], Doc]) -> type[ReportDirective]:
    return type(
        f"Directive_{render.__module__}_{render.__name__}", (ReportDirective,), {"render": staticmethod(render)}
    )


class PlotsDirective(ReportDirective):
    """Plots are drawn at build time into the doctree folder; Sphinx copies them into ``_images``."""

    def run(self) -> list[nodes.Node]:
        report = get_report(self.config, Path(self.env.srcdir))
        if report is None:
            return super().run()
        plot_dir = Path(self.env.doctreedir) / "conformance-plots"
        doc_dir = (Path(self.env.srcdir) / self.env.docname).parent
        found = self.finish(plots.render(report, plot_dir))
        for tree in found:
            for image in tree.findall(nodes.image):
                image["uri"] = Path(os.path.relpath(image["uri"], doc_dir)).as_posix()
        return found


class FalseAlarmsDirective(ReportDirective):
    """The false-alarm summary (not a results file: the benchmark's own summary, see false_alarms.py)."""

    def run(self) -> list[nodes.Node]:
        path = false_alarms.summary_path(self.config.conformance_false_alarms, Path(self.env.srcdir))
        if path.is_file():
            self.env.note_dependency(str(path))
        report = get_report(self.config, Path(self.env.srcdir))
        return self.finish(false_alarms.render(false_alarms.load(path), report))


def _warn_about_data(app: Sphinx) -> None:
    """Fail early with a clear message on unreadable files; warn about values outside the vocabulary."""
    report = get_report(app.config, Path(app.srcdir))
    if report is None:
        logger.info("conformance report: no results file given or found; the pages will say so")
        return
    for problem in report.problems:
        logger.warning("conformance report: %s", problem, type="conformance", subtype="data")


def setup(app: Sphinx) -> dict[str, Any]:
    lockdown.setup(app)
    app.add_config_value("conformance_results", [], "env", types=frozenset({list, tuple, str}))
    app.add_config_value("conformance_false_alarms", "", "env", types=frozenset({str}))
    app.add_directive("conformance-false-alarms", FalseAlarmsDirective)
    app.add_directive("conformance-headline", _directive(matrix.render_headline))
    app.add_directive("conformance-backends", _directive(matrix.render_backends))
    app.add_directive("conformance-legend", _directive(matrix.render_legend))
    app.add_directive("conformance-verdict-legend", _directive(matrix.render_verdict_legend))
    app.add_directive("conformance-matrix", _directive(matrix.render_matrix))
    app.add_directive("conformance-overview", _directive(matrix.render_overview))
    app.add_directive("conformance-checks", _directive(matrix.render_checks))
    app.add_directive("conformance-deviations", _directive(deviations.render_deviations))
    app.add_directive("conformance-skips", _directive(deviations.render_skips))
    app.add_directive("conformance-claims", _directive(claims.render))
    app.add_directive("conformance-divergences", _directive(divergences.render))
    app.add_directive("conformance-mismatches", _directive(mismatches.render))
    app.add_directive("conformance-environment", _directive(environment.render))
    app.add_directive("conformance-plots", PlotsDirective)
    app.add_directive("conformance-documents", _directive(documents.render))
    app.add_directive("conformance-versions", _directive(versions.render))
    app.add_directive("conformance-functions", _directive(functions.render))
    app.connect("builder-inited", _warn_about_data)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
