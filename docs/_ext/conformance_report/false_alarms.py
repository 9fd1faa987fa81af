"""The measured false-alarm rate (``benchmarks/false_alarms.py``'s summary), on the environment page.

A gate is only as useful as it is quiet on correct libraries, so the report says how often the
battery was wrong about the unbroken shipped backends: over how many seeds, checks and examples, at
which code revision, and each unexpected result with its reproducer.  The summary is a file the
benchmark writes (``reports/false-alarms/summary.json``); its strings are untrusted like any
results file's and are shown as text (nodes, never parsed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from conformance.contract import BATTERY_HISTORY
from conformance.contract import FALSE_ALARMS_ENV_VAR as ENV_VAR

from .blocks import Doc
from .inline import Inline, em, esc, join, lit

"""Overrides where the summary is read from (the build's ``conformance_false_alarms`` config value wins)."""


def summary_path(configured: str, srcdir: Path) -> Path:
    """The summary file: config, else environment, else ``reports/false-alarms/summary.json`` by the docs."""
    value = configured or os.environ.get(ENV_VAR, "")
    return Path(value) if value else srcdir.parent / "reports" / "false-alarms" / "summary.json"


def load(path: Path) -> dict[str, Any] | None:
    """The summary, or None when it is missing or not a summary (the page then says it was not measured)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("checks"), int) else None


def _alarm(alarm: dict[str, Any]) -> Inline:
    """One unexpected result: seed, status, test id, message and its reproducer."""
    found = alarm.get("message") or []
    message = found if isinstance(found, str) else " ".join(str(m) for m in found)
    return Inline(
        "seed ", esc(alarm.get("seed")), " ", esc(str(alarm.get("status", "")).upper()), " ",
        lit(alarm.get("test_id", "")), ": ", esc(message), " — reproduce with ", lit(alarm.get("reproducer", "")),
        *([" — ", em("fixed at its cause: the check reruns green")] if alarm.get("fixed") else []),
    )


def stale_by(summary_revisions: list[str], runs: list[Any]) -> Inline | None:
    """How many commits touched the battery after the measured revision, from the newest run's recorded history."""
    history = next((r for run in reversed(runs) if isinstance(r := ((run.header.get("revision") or {})
                                                                  .get("battery_commits")), list)), None)
    if history is None or not summary_revisions:
        return None
    measured = max(summary_revisions, key=len)
    for n, commit in enumerate(history):
        if isinstance(commit, str) and (commit.startswith(measured) or measured.startswith(commit)):
            return Inline(esc(n), " commits touched the battery's specs, catalog, functions or draws after the measured "
                          "revision, up to this report's newest run" + (": the figure may be stale" if n else ""))
    return Inline(esc(f"more than {len(history)}" if len(history) >= BATTERY_HISTORY else "unknown: the measured "
                      "revision is not in this run's history"),
                  " (commits that touched the battery after the measured revision)")


def render(summary: dict[str, Any] | None, report: Any = None) -> Doc:
    w = Doc()
    w.heading("False alarms on correct libraries", 0, label="environment-false-alarms")
    if summary is None:
        w.para(em("Not measured for this build"), " (", lit("python benchmarks/false_alarms.py --seeds 10"),
               " writes ", lit("reports/false-alarms/summary.json"), ").")
        return w
    seeds = summary.get("seeds") or []
    per_million = summary.get("per_million_examples")
    revisions = sorted({str(r) for r in summary.get("revisions") or [] if r})
    rows: list[list[Any]] = [
        ["Profile", esc(summary.get("profile", "—"))],
        ["Seeds", esc(", ".join(str(s) for s in seeds) or "—")],
        ["Backends", esc(", ".join(str(b) for b in summary.get("backends") or []) or "—")],
        ["Code revision", join(", ", (lit(r[:12]) for r in revisions)) or "—"],
        ["Battery changes since", stale_by(revisions, report.runs if report is not None else []) or "—"],
        ["Checks", esc(summary.get("checks"))],
        ["Examples", esc(summary.get("examples"))],
        ["Unexpected results", esc(summary.get("unexpected"))],
        ["Per million examples", esc(f"{per_million:.2f}" if isinstance(per_million, (int, float)) else "—")],
    ]
    rechecks = summary.get("rechecks")
    if not isinstance(rechecks, list):  # summaries written before rechecks accumulated hold one "recheck"
        rechecks = [summary["recheck"]] if isinstance(summary.get("recheck"), dict) else []
    rechecks = [r for r in rechecks if isinstance(r, dict)]
    for recheck in rechecks:
        rows.append(
            ["Rechecked after a fix",
             Inline(lit("-k " + str(recheck.get("keyword", ""))), " on every seed at ",
                    lit(str(recheck.get("revision", ""))[:12]), ": ", esc(recheck.get("checks")), " checks, ",
                    esc(recheck.get("examples")), " examples, ", esc(recheck.get("unexpected")), " unexpected")])
    if rechecks:
        rows.append(["Unexpected after the rechecks", esc(summary.get("unexpected_after_recheck"))])
    w.table(["Measure", "Value"], rows, stub_columns=1)
    alarms = [*(summary.get("alarms") or []), *(a for r in rechecks for a in (r.get("alarms") or []))]
    alarms = [a for a in alarms if isinstance(a, dict)]
    if alarms:
        w.rubric("Each unexpected result, with its reproducer")
        w.bullets(_alarm(a) for a in alarms)
    return w
