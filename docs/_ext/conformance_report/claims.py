"""The checked article, claim by claim, in the article's own order.

A reader of the article wants to know, for one sentence, whether it holds and
what to write instead: so each claim shows the Japanese quote next to its
English paraphrase, the verdict, what each library actually printed or raised
(one tab per backend), and the fix as code with its diff and verified output.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .blocks import Doc
from .inline import Inline, badge, em, esc, join, link, lit, ref, strong
from .model import ClaimGroup, Report, Run, fmt, fmt_seconds, num, project_path
from .text import pretty, slug
from .vocab import verdict_badge


def _article_intro(w: Doc, report: Report, article: str) -> None:
    records = report.article_records(article)
    if not records:
        w.para(em("No article record (coverage unknown) for these claims."))
        return
    run, first = records[0]
    sha = str(first.get("sha256", ""))
    w.para(
        "Article file ", lit(project_path(run, first.get("path", "")) or "—"),
        *([", SHA-256 ", lit(sha)] if sha else []),
        *([" · ", badge("claims file error", "danger"), " ", esc(first["error"])] if first.get("error") else []),
    )
    rows = []
    for run, rec in records:
        coverage = num(rec.get("coverage"))
        share = f"{100 * coverage:.0f} %" if coverage is not None else "—"
        rows.append(
            [
                esc(run.name),
                strong(share),
                f"{rec.get('covered_sentences', '?')} of {rec.get('checkable_sentences', '?')}",
                str(rec.get("claims", "?")),
            ]
        )
    w.table(["Run", "Coverage", "Checkable sentences covered", "Claims"], rows, css_class="conformance-coverage")
    uncovered: dict[str, None] = {}
    for _, rec in records:
        uncovered.update(dict.fromkeys(str(s) for s in rec.get("uncovered") or []))
    w.rubric("Sentences not covered by any claim")
    if uncovered:
        w.bullets(esc(s) for s in uncovered)
    else:
        w.para("Every checkable sentence is covered.")
    with_assertions = [(run, rec) for run, rec in records if "checkable_assertions" in rec]
    if with_assertions:
        w.rubric("Assertions not covered by any claim")
        w.para("A sentence joining assertions (…し、…; …ますが、…) counts each one: a quote trimmed to one half "
               "leaves the other listed here. ",
               join("; ", (esc(run.name) + f": {rec.get('covered_assertions', '?')} of "
                           f"{rec.get('checkable_assertions', '?')} assertions covered"
                           for run, rec in with_assertions)))
        missing: dict[str, None] = {}
        for _, rec in with_assertions:
            missing.update(dict.fromkeys(str(s) for s in rec.get("uncovered_assertions") or []))
        if missing:
            w.bullets(esc(s) for s in missing)
        else:
            w.para("Every assertion is covered.")


def _claim_title(group: ClaimGroup, position: int) -> str:
    paraphrase = str(group.first.get("paraphrase") or group.id)
    return f"{position}. {paraphrase}"


REASON_COLOUR = {"opinion": "secondary", "history": "warning", "resources": "danger", "not selected": "light"}
"""Why code could not decide an unverifiable claim: each reason has its own badge colour."""


def reason_badge(rec: dict[str, Any]) -> Inline:
    """A second badge beside ``unverifiable`` naming why (opinion, release history, resource limit, ...)."""
    reason = str(rec.get("unverifiable_reason") or "")
    if rec.get("verdict") != "unverifiable" or not reason:
        return Inline()
    return " " + badge(esc(reason), REASON_COLOUR.get(reason, "dark"), outline=True)


def sensitivity_badge(rec: dict[str, Any]) -> Inline:
    """Whether the proposition's verdict moved under its counter-adapter (a verdict that cannot move is a defect)."""
    sens = rec.get("sensitivity")
    if not isinstance(sens, dict):
        return Inline()
    counter = esc(sens.get("counter", ""))
    if sens.get("sensitive"):
        return " " + badge("moves under " + counter + ": " + esc(sens.get("verdict_under_counter", "")), "success",
                           outline=True)
    return " " + badge("defect: does not move under " + counter, "danger")


def _verdicts(w: Doc, group: ClaimGroup, multi_run: bool) -> None:
    first = group.first
    kind = badge(esc(first.get("kind", "claim")), "info", outline=True)
    line = f"article line {first.get('line', '?')}"
    if not multi_run:
        w.para(verdict_badge(str(first.get("verdict", ""))), reason_badge(first), sensitivity_badge(first), " ",
               kind, f" · {line} · claim ", lit(group.id))
        w.para(strong("Rule:"), " ", esc(first.get("rule", "")))
        return
    w.para(kind, f" · {line} · claim ", lit(group.id))
    rows = [
        [esc(run.name), verdict_badge(str(rec.get("verdict", ""))) + reason_badge(rec) + sensitivity_badge(rec),
         esc(rec.get("rule", ""))]
        for run, rec in group.records
    ]
    w.table(["Run", "Verdict", "Rule"], rows, css_class="conformance-verdicts")


def _proposition(w: Doc, group: ClaimGroup) -> None:
    """The property the claim asserts, as the code that was run (the same text in every run)."""
    code = str(group.first.get("proposition") or "")
    if code.strip():
        w.code(code.strip("\n"), language="python", caption="proposition: the claimed property, run on each backend")


def verdict_changes(groups: list[ClaimGroup]) -> list[list[Inline]]:
    """Rows (claim, run, verdict, rule) for every claim whose verdict differs between the merged runs."""
    rows = []
    for group in groups:
        seen = {str(rec.get("verdict", "")) for _, rec in group.records}
        if len(group.records) > 1 and len(seen) > 1:
            for run, rec in group.records:
                rows.append([ref(esc(group.id), group.label), esc(run.name),
                             verdict_badge(str(rec.get("verdict", ""))) + reason_badge(rec), esc(rec.get("rule", ""))])
    return rows


def _verdict_changes(w: Doc, groups: list[ClaimGroup]) -> None:
    w.rubric("Verdict changes between runs")
    rows = verdict_changes(groups)
    if rows:
        w.table(["Claim", "Run", "Verdict", "Evidence (rule)"], rows, css_class="conformance-verdict-changes")
    else:
        w.para("Every claim has the same verdict in every run.")


def _probe(w: Doc, item: dict[str, Any]) -> None:
    """An API probe: whether the name exists in the installed library, and its parameters."""
    if "apis" in item or "installed" in item:
        installed = item.get("installed") or {}
        if installed:
            w.para(strong("installed:"), " ", join(", ", (esc(k) + " " + lit(v) for k, v in installed.items())))
        apis = item.get("apis") or {}
        for api, found in apis.items():
            _probe(w, {"api": api, **(found if isinstance(found, dict) else {"exists": found})})
        return
    exists = item.get("exists")
    mark = badge("✓ exists", "success") if exists else badge("✗ missing", "danger") if exists is False else None
    text = strong("probe") + " " + lit(item.get("api", "")) + (" " + mark if mark else "")
    if item.get("params"):
        text += " · parameters " + join(", ", (lit(p) for p in item["params"]))
    if item.get("module"):
        text += " · module " + lit(item["module"])
    w.para(text)
    if item.get("error"):
        w.code(str(item["error"]), caption="probe error")


def _proposition_cases(w: Doc, item: dict[str, Any]) -> None:
    """The drawn cases of a proposition on one backend: inputs, tangent, and what happened."""
    rows = []
    for case in item.get("value") or []:
        if not isinstance(case, dict):
            continue
        shape = case.get("shape")
        rows.append([esc("—" if shape is None else "scalar" if shape == [] else "×".join(map(str, shape))),
                     lit(json.dumps(case.get("x"))) if case.get("x") is not None else "—",
                     lit(json.dumps(case.get("v"))) if case.get("v") is not None else "—",
                     strong(esc(case.get("outcome", ""))), esc(str(case.get("detail") or "")[:300])])
    w.para(strong("proposition"), " cases")
    w.table(["Shape", "x", "v (tangent)", "Outcome", "Detail"], rows, css_class="conformance-proposition")


def _evidence_item(w: Doc, item: dict[str, Any]) -> None:
    if item.get("variant") == "probe":
        _probe(w, item)
        return
    if item.get("variant") == "proposition":
        _proposition_cases(w, item)
        return
    status = str(item.get("status", ""))
    head: list[Inline | str] = [strong(esc(item.get("variant", "")))]
    if item.get("snippet"):
        head.append("snippet " + lit(item["snippet"]))
    head += [esc(status or "—"), fmt_seconds(item.get("duration_s"))]
    if item.get("isolation") == "weak":  # ran without the OS sandbox (--allow-weak-sandbox): say so beside it
        head.append(strong("weak sandbox: no OS isolation"))
    w.para(join(" · ", head))
    if str(item.get("reason", "")).strip():
        w.para(em(esc(item["reason"])))
    exception = item.get("exception")
    if exception:
        w.code(f"{exception.get('type', 'Exception')}: {exception.get('message', '')}", caption="exception")
    if str(item.get("stdout", "")).strip():
        w.code(str(item["stdout"]), caption="output")
    if item.get("value") is not None:
        w.code(
            pretty(item["value"]), language="json" if not isinstance(item["value"], str) else "text", caption="value"
        )
    if not exception and not str(item.get("stdout", "")).strip() and item.get("value") is None:
        w.para(em("(no output)"))


def _evidence(w: Doc, group: ClaimGroup, multi_run: bool) -> None:
    w.rubric("Evidence")
    backends: dict[str, None] = {}
    for _, rec in group.records:
        backends.update(dict.fromkeys(str(e.get("backend") or "versions") for e in rec.get("evidence") or []))
    if not backends:
        judged_by = [
            what for what, key in (("the battery checks listed below", "spec_checks"), ("measurements", "measurements"))
            if any(rec.get(key) for _, rec in group.records)
        ]
        w.para(em(f"No snippet was run for this claim: it is judged from {' and '.join(judged_by) or 'its sources'}."))
        return
    with w.tabs("conformance-evidence"):
        for backend in backends:
            with w.tab(esc(backend)):
                # Runs that recorded the same evidence share one listing.
                listings: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
                for run, rec in group.records:
                    items = [e for e in rec.get("evidence") or [] if str(e.get("backend") or "versions") == backend]
                    key = json.dumps(items, sort_keys=True, default=str)
                    listings.setdefault(key, ([], items))[0].append(run.name)
                for names, items in listings.values():
                    if multi_run:
                        w.para(em("Run ", join(", ", (esc(n) for n in names))))
                    if not items:
                        w.para(em("(no evidence in this run)"))
                    for item in items:
                        _evidence_item(w, item)


def _diff(fix: dict[str, Any]) -> str:
    """The fix's diff as recorded, or computed against the as-written code when not recorded."""
    if str(fix.get("diff", "")).strip():
        return str(fix["diff"])
    before = str(fix.get("as_written", "")).splitlines(keepends=True)
    after = str(fix.get("code", "")).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, "as-written", "fixed"))


def _fixes(w: Doc, group: ClaimGroup) -> None:
    fixes: dict[tuple[str, str, str], list[tuple[Run, dict[str, Any]]]] = {}
    for run, rec in group.records:
        for fix in rec.get("fixes") or []:
            key = (str(fix.get("backend", "")), str(fix.get("idiom", "")), str(fix.get("code", "")))
            fixes.setdefault(key, []).append((run, fix))
    if not fixes:
        return
    for (backend, idiom, code), seen in fixes.items():
        fix = seen[0][1]
        verified = join(" ", (
            (badge("✓ verified", "success") if f.get("verified") else badge("✗ not verified", "danger"))
            + (" in " + esc(run.name) if len(group.records) > 1 else "")
            for run, f in seen
        ))
        w.rubric("Fix for ", esc(backend), ": ", esc(idiom))
        w.para(verified)
        if str(fix.get("intent", "")).strip():
            w.para(strong("Intent:"), " ", esc(fix["intent"]))
        oracle = [c for c in fix.get("oracle") or [] if isinstance(c, dict)]
        if oracle:
            w.para(strong("Against the NumPy oracle:"), " ", join("; ", (
                f"line {int(c.get('index', 0)) + 1} printed " + esc(fmt(c.get("printed")))
                + ", oracle " + esc(fmt(c.get("oracle"))) + (" ✓" if c.get("agrees") else " ✗") for c in oracle)))
        w.code(code, language="python", caption="fixed code")
        diff = _diff(fix)
        if diff.strip():
            w.code(diff, language="diff", caption="diff against the code as written")
        w.code(str(fix.get("output", "")), caption="verified output")


def median_sets(measurements: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Medians in seconds by scenario: ``medians_s`` (one set) or ``median_us`` (scenario -> alternative -> µs)."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(measurements.get("medians_s"), dict):
        found[""] = measurements["medians_s"]
    for scenario, medians in (measurements.get("median_us") or {}).items():
        if isinstance(medians, dict):
            found[str(scenario)] = {k: (num(v) * 1e-6 if num(v) is not None else None) for k, v in medians.items()}
    return found


def _measurements(w: Doc, group: ClaimGroup) -> None:
    rows = []
    scenarios = any(s for _, rec in group.records for s in median_sets(rec.get("measurements") or {}))
    for run, rec in group.records:
        for scenario, medians in median_sets(rec.get("measurements") or {}).items():
            fastest = min((v for v in map(num, medians.values()) if v), default=None)
            subject = (rec.get("measurements") or {}).get("subject")
            for name, value in medians.items():
                ratio = num(value) / fastest if fastest and num(value) is not None else None
                rows.append(
                    [
                        esc(run.name),
                        *([esc(scenario) if scenario else "—"] if scenarios else []),
                        lit(name) + (" " + strong("(the claim's subject)") if name == subject else ""),
                        fmt_seconds(value),
                        f"{fmt(ratio)}×" if ratio else "—",
                    ]
                )
    if not rows:
        return
    w.rubric("Measurements")
    w.table(["Run", *(["Scenario"] if scenarios else []), "Alternative", "Median", "Relative to fastest"], rows)
    for run, rec in group.records:
        measurements = rec.get("measurements") or {}
        ratios = measurements.get("ratios") or {}
        if ratios:
            w.para("Ratios (", esc(run.name), "): ", join("; ", (lit(k) + f" = {fmt(v)}" for k, v in ratios.items())))
        if measurements.get("method"):
            w.para("Method (", esc(run.name), "): ", esc(measurements["method"]))
    w.para(ref("Timing plot", "plots-timings"))


def _links(w: Doc, report: Report, group: ClaimGroup) -> None:
    checks: dict[str, Inline] = {}
    for run, rec in group.records:
        for test_id in rec.get("spec_checks") or []:
            found = report.find_check(run, str(test_id))
            if found and str(test_id) not in checks:
                record = found[1]
                label = report.cell_label(record.backend, record.transform, record.dtype)
                checks[str(test_id)] = ref(esc(test_id), label) + " (" + esc(record.status) + ")"
            checks.setdefault(str(test_id), lit(test_id))
    if checks:
        w.rubric("Battery checks used as evidence")
        w.bullets(checks.values())
    sources: dict[str, None] = {}
    for _, rec in group.records:
        sources.update(dict.fromkeys(str(s) for s in rec.get("sources") or []))
    if sources:
        w.rubric("Sources")
        w.bullets(link(s, s) for s in sources)


def render(report: Report) -> Doc:
    """Every article's claims, each a section with verdict, evidence tabs, fixes and sources."""
    w = Doc()
    multi_run = len(report.runs) > 1
    groups_by_article = report.claim_groups()
    if not any(groups for _, groups in groups_by_article):
        w.para(em("No claims in these results: the article checker did not run."))
        return w
    for article, groups in groups_by_article:
        records = report.article_records(article)
        title = str(records[0][1].get("title") or article) if records else article
        w.heading(title, 0, label=f"article-{slug(article)}")
        _article_intro(w, report, article)
        if multi_run:
            _verdict_changes(w, groups)
        for position, group in enumerate(groups, start=1):
            w.heading(_claim_title(group, position), 1, label=group.label)
            _verdicts(w, group, multi_run)
            with w.admonition(f"Quote (line {group.first.get('line', '?')})", "claim-quote"):
                w.para(esc(group.first.get("quote", "")))
            w.para(strong("Paraphrase:"), " ", esc(group.first.get("paraphrase", "")))
            _proposition(w, group)
            _evidence(w, group, multi_run)
            _fixes(w, group)
            _measurements(w, group)
            _links(w, report, group)
    return w
