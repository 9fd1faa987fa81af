"""Where and how each run happened: versions, devices, platform, duration, command line.

Numbers from two machines are only comparable when one knows what differed,
so every run's header and every backend's environment are shown side by side.
"""

from __future__ import annotations

import shlex
from typing import Any

from .blocks import Doc
from .inline import Inline, em, esc, join, lit
from .model import Report, fmt_seconds, offered

HEADER_FIELDS = (
    ("id", "Run id"),
    ("label", "Label"),
    ("started", "Started"),
    ("finished", "Finished"),
    ("duration_s", "Duration"),
    ("platform", "Platform"),
    ("machine", "Machine"),
    ("python", "Python"),
    ("processor_count", "Processors"),
    ("profile", "Hypothesis profile"),
)


def _not_offered(env: dict[str, Any]) -> list[Inline]:
    """What the adapter declared its library lacks, with the reasons (the skips' source): a paragraph each."""
    found = offered(env)
    if found is None:
        return [em("conventions not recorded")]
    missing = found[1]
    dtypes = (env.get("conventions") or {}).get("dtypes")
    lines = [lit(t) + ": " + esc(reason) for t, reason in missing.items()]
    if isinstance(dtypes, list):
        lines.append("dtypes: " + join(", ", (lit(d) for d in dtypes)))
    return lines


def render(report: Report) -> Doc:
    """Run headers in one table (a column per run), then each run's backends and command line."""
    w = Doc()
    w.heading("Runs", 0)
    rows = []
    for key, title in HEADER_FIELDS:
        cells = []
        for run in report.runs:
            value = run.header.get(key)
            if key == "duration_s":
                cells.append(fmt_seconds(value))
            else:
                cells.append(esc(value) if value not in (None, "") else "—")
        rows.append([title, *cells])
    rows.append(["Results file", *[lit(run.path.name) for run in report.runs]])
    rows.append(["Checks", *[str(len(run.checks)) for run in report.runs]])
    w.table(["Field", *[esc(r.name) for r in report.runs]], rows, stub_columns=1, css_class="conformance-environment")
    for run in report.runs:
        w.heading(f"Run {run.name}", 0, label=f"environment-run-{run.index}")
        backend_rows = []
        for name, env in run.backends.items():
            process = env.get("process") or {}
            code = process.get("returncode")
            state = "exit " + str(code) if code is not None else "—"
            if process.get("cause"):
                state += f" — ⚠ {process['cause']}"
            backend_rows.append(
                [
                    lit(name),
                    esc(env.get("library", name)),
                    lit(env.get("version", "")),
                    lit(env.get("device", "")),
                    esc(state),
                    _not_offered(env),
                ]
            )
        if backend_rows:
            w.table(["Backend", "Library", "Version", "Device", "Process", "Not offered (declared)"], backend_rows,
                    stub_columns=1)
        else:
            w.para(em("No backend environment recorded."))
        command = run.header.get("command")
        w.rubric("Command line")
        if isinstance(command, list):
            w.code(shlex.join(str(part) for part in command), language="bash")
        elif command:
            w.code(str(command), language="bash")
        else:
            w.para(em("Not recorded."))
    return w
