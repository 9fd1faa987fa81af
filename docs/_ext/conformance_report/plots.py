"""Plots drawn at build time with matplotlib (Agg): error against tolerance, and timings.

A table of errors hides how close the passing checks came to their tolerance;
a log-scale plot of ``tolerance_used`` (the error over the bound it was judged by,
``atol + rtol max|expected|``) shows the margin at a glance; older records without
it fall back to ``max_rel_err / rtol``.  The
article's performance claims are easier to judge as bars than as medians.
When there is nothing to plot the page says so in words.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .blocks import Doc
from .claims import median_sets
from .inline import Inline, esc, ref
from .model import Report, Run, num
from .text import flat
from .vocab import TRANSFORMS

FLOOR, CEILING = 1e-8, 1e4
"""Ratios are clipped into this range so zeros and infinities still show (at the edges)."""
DTYPE_STYLE = {"float32": ("o", "#1f77b4"), "float64": ("s", "#ff7f0e")}
"""Marker and colour per dtype: the marker alone tells them apart without colour."""


def _shown(text: object, limit: int = 60) -> str:
    """A string from the results as matplotlib should draw it: one line of printable text (a lone surrogate or
    a control character would crash the font code), no mathtext (``$`` escaped), and short enough for a label."""
    value = flat(text).replace("$", r"\$")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _save(fig: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100, metadata={"Software": None})


def _error_points(run: Run) -> tuple[list[tuple[str, str, float]], int]:
    """(transform, dtype, ratio) per check with an error and a relative tolerance; and how many were NaN."""
    points, nans = [], 0
    for check in run.checks:
        ratio = num(check.get("tolerance_used"))
        if ratio is None:
            rel, rtol = num(check.get("max_rel_err")), num((check.get("tolerance") or {}).get("rtol"))
            if rel is None or not rtol:
                continue
            ratio = rel / rtol if not math.isnan(rel) else rel
        if math.isnan(ratio):
            nans += 1
            continue
        points.append((str(check.get("transform", "")), str(check.get("dtype", "")), min(max(ratio, FLOOR), CEILING)))
    return points, nans


def _error_plot(run: Run, path: Path) -> tuple[int, int]:
    """Draw one run's error/tolerance plot; returns (points drawn, points NaN)."""
    points, nans = _error_points(run)
    if not points:
        return 0, nans
    found = {t for t, _, _ in points}
    transforms = [t for t in TRANSFORMS if t in found] + sorted(found - set(TRANSFORMS))
    dtypes = sorted({d for _, d, _ in points})
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for k, dtype in enumerate(dtypes):
        marker, colour = DTYPE_STYLE.get(dtype, ("^", "#2ca02c"))
        offset = (k - (len(dtypes) - 1) / 2) * 0.25
        xs = [transforms.index(t) + offset for t, d, _ in points if d == dtype]
        ys = [r for _, d, r in points if d == dtype]
        ax.scatter(xs, ys, marker=marker, color=colour, label=_shown(dtype), alpha=0.8, edgecolors="black", linewidths=0.5)
    ax.axhline(1.0, color="#d62728", linestyle="--", linewidth=1, label="tolerance (ratio 1)")
    ax.set_yscale("log")
    ax.set_ylim(FLOOR / 2, CEILING * 2)
    ax.set_xticks(range(len(transforms)), [_shown(t) for t in transforms], rotation=30, ha="right")
    ax.set_ylabel("error / tolerance bound")
    ax.set_title(textwrap.fill(f"Error relative to tolerance, run {_shown(run.name, 160)}", 80), fontsize="medium")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    _save(fig, path)
    return len(points), nans


def _timing_plot(name: str, medians: dict[str, Any], path: Path, subject: str = "") -> bool:
    """Median time per call of each alternative; the claim's subject (what it says is fast) stands out."""
    values = [(k, num(v)) for k, v in medians.items()]
    values = [(k, v) for k, v in values if v is not None and v > 0 and math.isfinite(v)]
    if not values:
        return False
    fig = Figure(figsize=(8, 0.6 + 0.5 * len(values)), layout="constrained")
    ax = fig.add_subplot()
    labels = [k for k, _ in values]
    seconds = [v for _, v in values]
    colors = ["#dd8452" if k == subject else "#4c72b0" for k in labels]
    ax.barh(range(len(values)), seconds, color=colors, hatch="//", edgecolor="black")
    ax.set_yticks(range(len(values)), [_shown(k) + ("  (claim's subject)" if k == subject else "") for k in labels])
    ax.set_xscale("log")
    ax.set_xlabel("median time per call (s, log scale)")
    ax.set_title(textwrap.fill(_shown(name, 200), 70), fontsize="medium")
    for position, value in enumerate(seconds):
        ax.annotate(f"{value:.3g} s", (value, position), xytext=(4, 0), textcoords="offset points", va="center")
    ax.margins(x=0.3)
    _save(fig, path)
    return True


def render(report: Report, plot_dir: Path) -> Doc:
    """The plots page; each figure's image is the absolute path of a file drawn into ``plot_dir`` (the directive
    makes the URIs relative to the page, and Sphinx copies the files into ``_images``).  The files are named by
    position (``errors-<run>``, ``timings-<n>-<run>``), never from data: no string of the results reaches a URL."""
    w = Doc()

    def figure(stem: str, alt: str, caption: Inline) -> None:
        w.figure(str(plot_dir / f"{stem}.png"), alt, caption)

    w.heading("Error relative to tolerance", 0, label="plots-errors")
    w.para(
        "Each point is one check: its worst error divided by the bound it was judged by "
        "(atol + rtol times the largest expected magnitude), on a log scale. "
        "Points above the dashed line exceeded the tolerance. Zero errors sit at the bottom edge, "
        "infinite ones at the top edge."
    )
    for run in report.runs:
        stem = f"errors-{run.index}"
        drawn, nans = _error_plot(run, plot_dir / f"{stem}.png")
        if drawn:
            figure(
                stem,
                f"Scatter plot of error over tolerance per transform and dtype, run {run.name}",
                Inline("Run ", esc(run.name), f": {drawn} checks with a relative tolerance."),
            )
        else:
            w.para("Run ", esc(run.name), ": no check recorded an error with a relative tolerance, "
                   "so there is nothing to plot.")
        if nans:
            w.para("Run ", esc(run.name), f": {nans} checks with a NaN error are not plotted.")

    w.heading("Timings of the article's alternatives", 0, label="plots-timings")
    drawn_any = False
    timings = 0
    for _article, groups in report.claim_groups():
        for group in groups:
            for run, claim in group.records:
                for scenario, medians in median_sets(claim.get("measurements") or {}).items():
                    stem = f"timings-{timings}-{run.index}"
                    timings += 1
                    named = f"{group.id}, {scenario}" if scenario else group.id
                    title = f"{named} ({run.name})"
                    subject = str((claim.get("measurements") or {}).get("subject") or "")
                    if medians and _timing_plot(title, medians, plot_dir / f"{stem}.png", subject):
                        drawn_any = True
                        figure(
                            stem,
                            f"Bar chart of median call times for claim {named}, run {run.name}",
                            Inline("Claim ", ref(esc(group.id), group.label),
                                   *([", scenario ", esc(scenario)] if scenario else []),
                                   ", run ", esc(run.name), ": median time per call."),
                        )
    if not drawn_any:
        w.para("No claim in these results carries timing measurements, so there is nothing to plot.")
    return w
