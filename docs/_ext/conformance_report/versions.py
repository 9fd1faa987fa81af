"""What changed between releases of one library: the report's "changed between versions" page.

A version series is every run that ran one backend, ordered by that library's
version (``nox -s versions`` writes one results file per release; the report
shows each as a column).  For a series of two or more versions this page lists

- checks whose status changed, with the first version where it changed and the
  status at every version;
- checks whose status held but whose exception type changed (an error that
  became another error is a moved convention, not a fixed bug);
- checks whose error figures moved by a material share of their tolerance;
- declared conventions (``Backend.environment()["conventions"]``) that moved;
- each known-deviation entry met in the series against its version bounds: an
  entry whose deviation shows outside its bounds has bounds too narrow, one
  whose deviation is absent inside them has bounds too wide.

Runs of the same version (two machines, two dates) keep the first one read.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .blocks import Doc
from .inline import em, esc, lit
from .model import Report, Run
from .text import slug

ABSENT = "—"
"""A check a version did not run (a spec its adapter declares unsupported there, or a -k that left it out)."""
FAILING = ("fail", "error", "xfail", "xpass")
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning))\b")


@dataclasses.dataclass
class Series:
    """One backend's runs, one per library version, oldest first."""

    backend: str
    versions: list[str]
    runs: list[Run]

    def checks(self) -> dict[str, list[dict[str, Any] | None]]:
        """test id -> that check's record at each version (None where the version did not run it)."""
        out: dict[str, list[dict[str, Any] | None]] = {}
        for i, run in enumerate(self.runs):
            for check in run.checks:
                if check.get("backend") == self.backend:
                    out.setdefault(str(check.get("test_id")), [None] * len(self.runs))[i] = check
        return out


def _version(text: str) -> Version | None:
    try:
        return Version(text.split("+")[0])
    except InvalidVersion:
        return None


def series(report: Report) -> list[Series]:
    """Every backend that ran at two or more parseable library versions, with its runs oldest first."""
    by_backend: dict[str, dict[str, Run]] = {}
    for run in report.runs:
        for backend, env in run.backends.items():
            version = str(env.get("version", ""))
            if _version(version) is not None:
                by_backend.setdefault(backend, {}).setdefault(version, run)
    out = []
    for backend, runs in sorted(by_backend.items()):
        if len(runs) < 2:
            continue
        ordered = sorted(runs, key=lambda v: _version(v) or Version("0"))
        out.append(Series(backend, ordered, [runs[v] for v in ordered]))
    return out


def _status(check: dict[str, Any] | None) -> str:
    return str(check.get("status")) if check else ABSENT


def _exception(check: dict[str, Any] | None) -> str:
    """The exception type a failing check's message starts with, or ""."""
    if not check or check.get("status") not in FAILING:
        return ""
    m = _EXCEPTION.match(str(check.get("message") or "").strip())
    return m.group(1) if m else ""


def first_change(values: list[str], versions: list[str]) -> str:
    """The first version whose value differs from the version before it."""
    for i in range(1, len(values)):
        if values[i] != values[i - 1]:
            return versions[i]
    return ""


def status_changes(s: Series) -> list[tuple[str, str, list[str]]]:
    """(test id, first version where it changed, status at each version) for checks whose status moved."""
    rows = []
    for test_id, records in sorted(s.checks().items()):
        statuses = [_status(r) for r in records]
        if len(set(statuses)) > 1:
            rows.append((test_id, first_change(statuses, s.versions), statuses))
    return rows


def exception_changes(s: Series) -> list[tuple[str, str, list[str]]]:
    """Checks failing the same way at every version they ran, but with another exception type."""
    rows = []
    for test_id, records in sorted(s.checks().items()):
        statuses = {_status(r) for r in records if r}
        types = [_exception(r) or ABSENT for r in records]
        if len(statuses) == 1 and len({t for t in types if t != ABSENT}) > 1:
            rows.append((test_id, first_change(types, s.versions), types))
    return rows


FIGURE_MOVE = 0.1
"""A change of a check's share of its tolerance (``tolerance_used``) that the page lists: a tenth of the bound."""


def _share(check: dict[str, Any] | None) -> float | None:
    value = check.get("tolerance_used") if check else None
    return float(value) if isinstance(value, (int, float)) else None


def figure_changes(s: Series) -> tuple[int, float, list[tuple[str, float, list[str]]]]:
    """(checks whose error figures differ at all, the largest share of tolerance any uses, the material moves).

    A new release that reorders a sum changes the last bits of many results; that is
    counted, not listed.  Listed are the checks whose share of their tolerance moved by
    :data:`FIGURE_MOVE` or more between two versions, largest move first.
    """
    differ, worst, rows = 0, 0.0, []
    for test_id, records in sorted(s.checks().items()):
        shares = [_share(r) for r in records]
        known = [x for x in shares if x is not None]
        if len(known) < 2 or len(set(known)) == 1:
            continue
        differ += 1
        worst = max(worst, *known)
        move = max(known) - min(known)
        if move >= FIGURE_MOVE:
            rows.append((test_id, move, [f"{x:.3g}" if x is not None else ABSENT for x in shares]))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return differ, worst, rows


def convention_changes(s: Series) -> list[tuple[str, str, list[str]]]:
    """(convention, first version where it moved, value at each version) for declared conventions that moved."""
    values: dict[str, list[str]] = {}
    for i, run in enumerate(s.runs):
        conventions = (run.backends.get(s.backend) or {}).get("conventions") or {}
        for key, value in conventions.items():
            values.setdefault(str(key), [ABSENT] * len(s.runs))[i] = repr(value)
    return [(k, first_change(v, s.versions), v) for k, v in sorted(values.items()) if len(set(v)) > 1]


def bounds_findings(s: Series) -> list[tuple[str, str, list[str]]]:
    """(entry, its bounds, verdict at each version) for every known-deviation entry the series met.

    At a version inside the bounds the entry's checks should fail as it says (xfail);
    outside, they should pass.  Verdicts: ``ok``, ``too narrow`` (fails outside),
    ``too wide`` (passes inside), ``—`` (none of its checks ran at that version).
    """
    entries: dict[str, dict[str, Any]] = {}
    covered: dict[str, set[str]] = {}
    for run in s.runs:
        for check in run.checks:
            dev = (check.get("details") or {}).get("deviation")
            if check.get("backend") == s.backend and isinstance(dev, dict) and dev.get("source"):
                entries.setdefault(str(dev["source"]), dev)
                covered.setdefault(str(dev["source"]), set()).add(str(check.get("test_id")))
    checks = s.checks()
    rows = []
    for source, dev in sorted(entries.items()):
        bounds = str(dev.get("versions") or "")
        try:
            spec = SpecifierSet(bounds)
        except InvalidSpecifier:
            rows.append((source, bounds, ["invalid bounds"] * len(s.versions)))
            continue
        verdicts = []
        for i, version in enumerate(s.versions):
            statuses = {_status(checks[t][i]) for t in covered[source] if t in checks} - {ABSENT, "skip"}
            parsed = _version(version)
            inside = parsed is not None and (not bounds or parsed in spec)
            if not statuses:
                verdicts.append(ABSENT)
            elif inside:
                verdicts.append("too wide (xpass)" if "xpass" in statuses else "ok")
            else:
                deviates = statuses & {"fail", "error"}
                verdicts.append(f"too narrow ({'/'.join(sorted(deviates))} here)" if deviates else "ok")
        rows.append((source, bounds or "all", verdicts))
    return rows


def render(report: Report) -> Doc:
    """One section per version series: status changes, exception types, conventions, manifest bounds."""
    w = Doc()
    found = series(report)
    if not found:
        w.para(em("No backend ran at two or more library versions in the results given to this build"), " (",
               lit("nox -s versions"), " writes one results file per release; build the report from several).")
        return w
    for s in found:
        w.heading(f"{s.backend}: {', '.join(s.versions)}", 0, label=f"versions-{slug(s.backend)}")
        header = ["Check", "First changed in", *[lit(v) for v in s.versions]]
        changes = status_changes(s)
        w.rubric(f"Checks whose status changed ({len(changes)})")
        if changes:
            w.table(header, [[lit(t), lit(first), *[esc(v) for v in values]] for t, first, values in changes],
                    stub_columns=1, css_class="conformance-versions")
        else:
            w.para(em("Every check that ran at two versions had the same status at each."))
        moved = exception_changes(s)
        if moved:
            w.rubric(f"Same status, another exception type ({len(moved)})")
            w.table(header, [[lit(t), lit(first), *[lit(v) for v in values]] for t, first, values in moved],
                    stub_columns=1)
        differ, worst, figures = figure_changes(s)
        w.rubric(f"Error figures that moved ({len(figures)})")
        w.para(f"{differ} check(s) report different error figures at two versions (rounding: the last bits of a "
               f"reordered computation); the largest share of its tolerance any of them uses at any version is "
               f"{worst:.2g} (a check fails above 1).  Listed: a move of {FIGURE_MOVE:g} of the tolerance or more.")
        if figures:
            w.table(["Check", "Move", *[lit(v) for v in s.versions]],
                    [[lit(t), f"{move:.3g}", *values] for t, move, values in figures[:30]], stub_columns=1)
        conventions = convention_changes(s)
        w.rubric(f"Declared conventions that moved ({len(conventions)})")
        if conventions:
            w.table(["Convention", "First changed in", *[lit(v) for v in s.versions]],
                    [[lit(k), lit(first), *[lit(v) for v in values]] for k, first, values in conventions],
                    stub_columns=1)
        else:
            w.para(em("The adapter declares the same conventions at every version."))
        bounds = bounds_findings(s)
        if bounds:
            w.rubric("Known-deviation entries against their version bounds")
            w.table(["Entry", "Bounds", *[lit(v) for v in s.versions]],
                    [[lit(src), lit(b), *[esc(v) for v in verdicts]] for src, b, verdicts in bounds], stub_columns=1)
    return w
