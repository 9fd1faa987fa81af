"""``python -m conformance check-article ARTICLE CLAIMS`` and the hooks ``python -m conformance all`` calls.

Every verdict comes from evidence produced in this run: snippet runs, API probes, the claims' propositions (run in
the sandbox on every backend they concern, and on their counter-adapters), timings.  Claims cite no battery check:
a check that passes whenever the library is correct cannot tell a true claim from a false one, so each claim states
its own property instead (:mod:`conformance.claims.article.propositions`); kinds are dispatched by
:mod:`conformance.claims.article.kinds`.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.arguments import count_type
from conformance.claims.article import evidence, kinds, measure, sandbox
from conformance.claims.article.claims import ClaimsError, ClaimsFile, load, verify_anchors
from conformance.claims.article.coverage import PROJECT_ROOT, article_record, display_path
from conformance.claims.article.proposition_runs import (
    PROPOSITION_TIMEOUT,
    evaluate_propositions,
    proposition_jobs,
    proposition_outcomes,
    proposition_plan,
)
from conformance.contract import RESULTS_DIR, VERDICTS
from conformance.store import outputs, results

__all__ = [
    "MAX_COUNT", "PROJECT_ROOT", "PROPOSITION_TIMEOUT", "SHIPPED_ARTICLE", "SHIPPED_CLAIMS", "SandboxMissing",
    "add_arguments", "add_sandbox_arguments", "article_record", "article_targets", "check", "check_shipped",
    "display_path", "evaluate_propositions", "isolation_or_stop", "main", "proposition_jobs", "proposition_outcomes",
    "proposition_plan", "shipped_article_applies", "sigterm_as_interrupt", "summary_lines",
]

HERE = Path(__file__).parent
SHIPPED_ARTICLE = HERE / "data" / "000_e8cb2923d2e4bace.txt"
SHIPPED_CLAIMS = HERE / "claims" / "e8cb2923.toml"


MAX_COUNT = 10_000
"""The largest --jobs, --reps or --rounds taken: beyond, a typo (an extra zero or three) would run for days."""


_count = count_type("--jobs", maximum=MAX_COUNT)
_reps = count_type("--reps", maximum=MAX_COUNT)
_rounds = count_type("--rounds", maximum=MAX_COUNT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("article", type=Path, help="the article text (scraped text or Markdown)")
    parser.add_argument("claims", type=Path, help="its claims file (TOML)")
    parser.add_argument("--backend", action="append", dest="backends", metavar="NAME",
                        help="numpy, torch, jax (repeatable; default: all three)")
    parser.add_argument("--out", type=Path, help="results file (default: reports/results/run-<id>.json)")
    parser.add_argument("--jobs", type=_count, default=2, help="snippets run at once (default: 2)")
    parser.add_argument("--reps", type=_reps, default=measure.REPS,
                        help=f"timed calls per round per idiom for performance claims (default: {measure.REPS})")
    parser.add_argument("--rounds", type=_rounds, default=measure.ROUNDS,
                        help=f"timed rounds per idiom; the median of the round medians counts (default: {measure.ROUNDS})")
    add_sandbox_arguments(parser)


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """``--allow-weak-sandbox`` for ``check-article`` (``all`` declares the same flag in ``conformance.commands.gate``)."""
    parser.add_argument("--allow-weak-sandbox", action="store_true",
                        help="where bubblewrap cannot run, run article code anyway with only rlimits and an "
                             "in-process audit hook (results are marked 'weak'); without it such a machine refuses")


def _isolation(allow_weak: bool) -> str:
    """The boundary snippets will run in; raises sandbox.IsolationUnavailable before any work starts."""
    sandbox.allow_weak_sandbox(allow_weak)  # measure.run and probes pick it up too
    return sandbox.choose_isolation(allow_weak)


class SandboxMissing(RuntimeError):
    """No working sandbox and no ``--allow-weak-sandbox``: one line with the fix, exit 2 (a machine problem)."""


def isolation_or_stop(allow_weak: bool) -> str:
    """:func:`_isolation` for the commands that run untrusted code, probed before their long work starts.

    The message is one line: what is missing, the precise fix (:func:`conformance.claims.article.bwrap.namespace_fix`
    for a ``bwrap`` that cannot create namespaces), and the flag that runs without OS isolation.
    """
    try:
        return _isolation(allow_weak)
    except sandbox.IsolationUnavailable as exc:
        raise SandboxMissing(" ".join(str(exc).split())) from None


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while checking: running snippets are killed, finished results written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(args: argparse.Namespace) -> int:
    """Check one article; 0 when every claim got a verdict from evidence produced in this run."""
    started = time.monotonic()
    backends = list(args.backends or ("numpy", "torch", "jax"))
    if args.out is not None:  # before any snippet runs: a directory or /proc there used to lose every verdict
        outputs.check_output_file(args.out)
    else:
        outputs.check_output_dir(RESULTS_DIR, option="")
    try:
        cf = load(args.claims, check_anchors=False)
        cf.article_path = args.article.resolve()
        verify_anchors(cf)
    except (ClaimsError, OSError) as exc:
        print(f"error: {exc}")
        return 1
    try:
        isolation = isolation_or_stop(getattr(args, "allow_weak_sandbox", False))
    except SandboxMissing as exc:
        print(f"error: {exc}")
        return 2
    header = results.run_header(label=getattr(args, "label", None), isolation=isolation)
    with sigterm_as_interrupt():
        claims_doc, failed = check(cf, {}, backends, jobs=args.jobs, reps=args.reps, rounds=args.rounds,
                                   isolation=isolation)
    doc = results.merge([claims_doc], header)
    doc["run"]["finished"] = results.now()
    doc["run"]["duration_s"] = round(time.monotonic() - started, 3)
    if claims_doc.get("interrupted"):
        doc["run"]["interrupted"] = True
    print("\n".join(summary_lines(doc)))  # first: a write that fails (a full disk) still shows the verdicts
    path = results.write_atomic(args.out or RESULTS_DIR / f"run-{header['id']}.json", doc,
                                kept="the verdicts are printed above",
                                resume="free space, then run the same check-article again")
    print(f"\nresults: {path}")
    if claims_doc.get("interrupted"):
        print("interrupted: the results hold what finished; the other claims are unverifiable")
        return 130
    return 1 if failed else 0


def check_shipped(battery_doc: dict[str, Any], backends: Sequence[str],
                  allow_weak: bool = False) -> tuple[dict[str, Any], bool]:
    """The shipped article with its shipped claims, reusing the battery's checks (no rerun).

    Not applicable (recorded, not failed) when the run checked none of the libraries the article's code targets:
    a third-party library gated alone is not judged by an article about torch.
    """
    try:
        cf = load(SHIPPED_CLAIMS)
        targets = article_targets(cf)
        if not targets & set(backends):
            doc = results.new_document({})
            doc["articles"].append({"id": cf.article_id, "title": cf.title, "path": display_path(cf.article_path),
                                    "not_applicable": f"the article is about {', '.join(sorted(targets))}; "
                                                      f"this run checked {', '.join(backends)}"})
            return doc, False
        isolation = _isolation(allow_weak)
    except (ClaimsError, sandbox.IsolationUnavailable) as exc:
        doc = results.new_document({})
        doc["articles"].append({"id": "e8cb2923", "title": "", "path": display_path(SHIPPED_ARTICLE), "error": str(exc),
                                "claims": 0, "checkable_sentences": 0, "covered_sentences": 0, "coverage": 0.0,
                                "uncovered": []})
        print(f"article check failed: {exc}")
        return doc, True
    with sigterm_as_interrupt():
        return check(cf, battery_doc, backends, isolation=isolation)


def article_targets(cf: ClaimsFile) -> set[str]:
    """The libraries an article's code, ports and claims concern ("python" snippets need none)."""
    targets = ({s.target for s in cf.snippets.values()} | {b for s in cf.snippets.values() for b in s.ports}
               | {b for c in cf.claims for b in [*c.data.get("backends", []), c.data.get("backend", "")] if b})
    return targets - {"python"}


def shipped_article_applies(backends: Sequence[str]) -> bool:
    """Whether ``all`` will run the shipped article's code for these backends (so it needs the sandbox)."""
    try:
        return bool(article_targets(load(SHIPPED_CLAIMS)) & set(backends))
    except ClaimsError:
        return True  # check_shipped records the error; the sandbox question stays open


def check(cf: ClaimsFile, battery_doc: dict[str, Any], backends: Sequence[str], *, jobs: int = 2,
          reps: int = measure.REPS, rounds: int = measure.ROUNDS,
          isolation: str | None = None) -> tuple[dict[str, Any], bool]:
    """Produce the evidence, apply the rules; return a partial document with claims and articles, and failed.

    ``battery_doc`` is accepted for the ``all`` hook's signature and not read: claims cite no battery check.
    Propositions run on the selected ``backends`` they concern.  The API probes and propositions run in the same
    pool as the snippets; the timing for performance claims runs alone afterwards, so that other work does not disturb it.
    A Ctrl-C while snippets run is not lost work: the claims are judged on what finished (the rest become
    unverifiable) and the document says ``"interrupted": true``.
    """
    text = cf.article_path.read_text(encoding="utf-8")
    locations = verify_anchors(cf)
    selected = set(backends)
    jobs_planned = evidence.plan(cf, backends)
    props = proposition_plan(cf, backends)
    jobs_planned += proposition_jobs(props)
    apis = {a for c in cf.claims for a in c.data.get("apis", [])}
    apis |= {c.data["api"] for c in cf.claims if "api" in c.data}
    interrupted = False
    try:
        runs, probe = evidence.run_all(jobs_planned, apis, parallel=jobs, isolation=isolation)
    except evidence.Interrupted as exc:
        print(f"\n[article] {exc}")
        runs, probe = evidence.split_probe(exc.runs)
        interrupted = True
    outcomes = proposition_outcomes(props, runs)
    perf_claims = [c for c in cf.claims if c.kind == "performance"]
    measurement: dict[str, Any] = {}
    if perf_claims and interrupted:
        measurement = {"error": "interrupted before the timing ran"}
    elif perf_claims:
        try:
            measurement = measure.run(reps=reps, rounds=rounds)
        except KeyboardInterrupt:
            measurement, interrupted = {"error": "interrupted during the timing"}, True

    ctx = kinds.Context(cf, selected, runs, probe, measurement, outcomes)
    records, failed = [], False
    for order, claim in enumerate(sorted(cf.claims, key=lambda c: locations[c.id].offset)):
        j = kinds.judge(claim, ctx)
        rule = j.rule + (f" [note: {claim.data['note']}]" if claim.data.get("note") else "")
        failed |= not j.evidence_ok or (j.sensitivity is not None and not j.sensitivity["sensitive"])
        records.append({
            "article": cf.article_id, "id": claim.id, "order": order, "quote": claim.quote,
            "line": locations[claim.id].line, "occurrence": claim.occurrence, "paraphrase": claim.paraphrase,
            "kind": claim.kind, "verdict": j.verdict, "unverifiable_reason": j.reason,
            "rule": rule, "evidence": j.evidence, "fixes": j.fixes,
            "spec_checks": [], "sources": claim.data.get("sources", []), "measurements": j.measurements,
            "evidence_ok": j.evidence_ok,
            **({"proposition": claim.data["proposition"], "sensitivity": j.sensitivity}
               if claim.kind == "proposition" else {}),
        })
    doc = results.new_document({})
    doc["claims"] = records
    doc["articles"] = [article_record(cf, text, locations)]
    if probe.get("errors"):
        failed = True
    if interrupted:
        doc["interrupted"] = True
        doc["interrupted_reason"] = "the article check was interrupted (Ctrl-C or SIGTERM): claims not run are unverifiable"
        failed = True
    return doc, failed


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """Verdict counts, coverage, and every claim whose evidence could not be produced."""
    lines = []
    for art in doc.get("articles", []):
        if art.get("not_applicable"):
            lines.append(f"article {art['id']}: not applicable ({art['not_applicable']})")
            continue
        claims = [c for c in doc.get("claims", []) if c["article"] == art["id"]]
        counts = Counter(c["verdict"] for c in claims)
        lines.append(f"article {art['id']}: {len(claims)} claims: "
                     + ", ".join(f"{v} {counts.get(v, 0)}" for v in VERDICTS))
        lines.append(f"  coverage {art['covered_sentences']}/{art['checkable_sentences']} checkable sentences "
                     f"({art['coverage']:.0%})")
        if "checkable_assertions" in art:
            lines.append(f"  coverage {art['covered_assertions']}/{art['checkable_assertions']} assertions "
                         f"({art['assertion_coverage']:.0%})")
            lines += [f"  UNCOVERED ASSERTION {a}" for a in art.get("uncovered_assertions", [])]
        if art.get("error"):
            lines.append(f"  ERROR {art['error']}")
        for c in claims:
            if not c.get("evidence_ok", True):
                lines.append(f"  NO EVIDENCE {c['id']}: {c['rule'][:200]}")
            sens = c.get("sensitivity")
            if sens and not sens.get("sensitive"):
                lines.append(f"  DEFECT {c['id']}: the verdict ({c['verdict']}) does not move under the "
                             f"counter-adapter {sens.get('counter')!r} ({sens.get('verdict_under_counter')})")
        sens_all = [c["sensitivity"] for c in claims if c.get("sensitivity")]
        if sens_all:
            moved = sum(1 for s in sens_all if s.get("sensitive"))
            lines.append(f"  sensitivity: {moved}/{len(sens_all)} proposition verdicts move under their "
                         f"counter-adapter")
    return lines
