"""``python -m conformance check-article ARTICLE CLAIMS`` and the hooks ``python -m conformance all`` calls.

Standalone, the battery checks the claims cite are run first (``runner.run_battery`` with a ``-k`` expression
selecting only the cited spec/function pairs); inside ``all`` the battery's results are reused.  Either way every
verdict comes from evidence produced in this run.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance import results, runner
from conformance.article import anchors, evidence, fixes, measure, sandbox, verdicts
from conformance.article.claims import ClaimsError, ClaimsFile, load, verify_anchors

HERE = Path(__file__).parent
PROJECT_ROOT = HERE.parents[1]
SHIPPED_ARTICLE = HERE / "data" / "000_e8cb2923d2e4bace.txt"
SHIPPED_CLAIMS = HERE / "claims" / "e8cb2923.toml"
RESULTS_DIR = Path("reports/results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("article", type=Path, help="the article text (scraped text or Markdown)")
    parser.add_argument("claims", type=Path, help="its claims file (TOML)")
    parser.add_argument("--backend", action="append", dest="backends", metavar="NAME",
                        help="numpy, torch, jax (repeatable; default: all three)")
    parser.add_argument("--out", type=Path, help="results file (default: reports/results/run-<id>.json)")
    parser.add_argument("--jobs", type=int, default=2, help="snippets run at once (default: 2)")
    parser.add_argument("--reps", type=int, default=measure.REPS,
                        help=f"timed calls per round per idiom for performance claims (default: {measure.REPS})")
    parser.add_argument("--rounds", type=int, default=measure.ROUNDS,
                        help=f"timed rounds per idiom; the median of the round medians counts (default: {measure.ROUNDS})")
    add_sandbox_arguments(parser)


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """``--allow-weak-sandbox`` for ``check-article`` (``all`` declares the same flag in ``conformance.__main__``)."""
    parser.add_argument("--allow-weak-sandbox", action="store_true",
                        help="where bubblewrap cannot run, run article code anyway with only rlimits and an "
                             "in-process audit hook (results are marked 'weak'); without it such a machine refuses")


def _isolation(allow_weak: bool) -> str:
    """The boundary snippets will run in; raises sandbox.IsolationUnavailable before any work starts."""
    sandbox.allow_weak_sandbox(allow_weak)  # measure.run and probes pick it up too
    return sandbox.choose_isolation(allow_weak)


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


def _spec_pairs(cf: ClaimsFile, backends: Sequence[str]) -> tuple[set[tuple[str, str]], set[str]]:
    pairs, needed = set(), set()
    for c in cf.claims:
        for s in c.data.get("specs", []):
            if s["backend"] in backends:
                pairs.add((s["spec"], s["function"]))
                needed.add(s["backend"])
    return pairs, needed


def main(args: argparse.Namespace) -> int:
    """Check one article; 0 when every claim got a verdict from evidence produced in this run."""
    started = time.monotonic()
    backends = list(args.backends or ("numpy", "torch", "jax"))
    try:
        cf = load(args.claims, check_anchors=False)
        cf.article_path = args.article.resolve()
        verify_anchors(cf)
    except (ClaimsError, OSError) as exc:
        print(f"error: {exc}")
        return 1
    try:
        isolation = _isolation(getattr(args, "allow_weak_sandbox", False))
    except sandbox.IsolationUnavailable as exc:
        print(f"error: {exc}")
        return 2
    header = results.run_header(label=getattr(args, "label", None), isolation=isolation)
    pairs, needed = _spec_pairs(cf, backends)
    partials: list[dict[str, Any]] = []
    with sigterm_as_interrupt():
        try:
            if pairs:
                partials = runner.run_battery([b for b in backends if b in needed],
                                              RESULTS_DIR / ".partial" / header["id"], keyword=evidence.keyword_for(pairs))
        except KeyboardInterrupt:
            print("\ninterrupted while the battery ran: no claim was checked, nothing written")
            return 130
        battery = results.merge(partials, header)
        claims_doc, failed = check(cf, battery, backends, jobs=args.jobs, reps=args.reps, rounds=args.rounds,
                                   isolation=isolation)
    doc = results.merge([*partials, claims_doc], header)
    doc["run"]["finished"] = results.now()
    doc["run"]["duration_s"] = round(time.monotonic() - started, 3)
    if claims_doc.get("interrupted"):
        doc["run"]["interrupted"] = True
    path = results.write_atomic(args.out or RESULTS_DIR / f"run-{header['id']}.json", doc)
    print("\n".join(summary_lines(doc)))
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
        targets = ({s.target for s in cf.snippets.values()} | {b for s in cf.snippets.values() for b in s.ports}) - {"python"}
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


def display_path(path: Path) -> str:
    """``path`` relative to the project root when it lies inside it (the report is published), else as given."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def check(cf: ClaimsFile, battery_doc: dict[str, Any], backends: Sequence[str], *, jobs: int = 2,
          reps: int = measure.REPS, rounds: int = measure.ROUNDS,
          isolation: str | None = None) -> tuple[dict[str, Any], bool]:
    """Produce the evidence, apply the rules; return a partial document with claims and articles, and failed.

    Only battery checks of the selected ``backends`` are read.  The API probes run in the same pool as the
    snippets; the timing for performance claims runs alone afterwards, so that other work does not disturb it.
    A Ctrl-C while snippets run is not lost work: the claims are judged on what finished (the rest become
    unverifiable) and the document says ``"interrupted": true``.
    """
    text = cf.article_path.read_text(encoding="utf-8")
    locations = verify_anchors(cf)
    selected = set(backends)
    checks = [c for c in battery_doc.get("checks", []) if c.get("backend") in selected]
    conventions = {name: env.get("conventions") for name, env in battery_doc.get("backends", {}).items()
                   if name in selected}

    jobs_planned = evidence.plan(cf, backends)
    apis = {a for c in cf.claims for a in [*c.data.get("apis", []), *c.data.get("requires_apis", [])]}
    apis |= {c.data["api"] for c in cf.claims if "api" in c.data}
    interrupted = False
    try:
        runs, probe = evidence.run_all(jobs_planned, apis, parallel=jobs, isolation=isolation)
    except evidence.Interrupted as exc:
        print(f"\n[article] {exc}")
        runs, probe = evidence.split_probe(exc.runs)
        interrupted = True
    perf_claims = [c for c in cf.claims if c.kind == "performance"]
    measurement: dict[str, Any] = {}
    if perf_claims and interrupted:
        measurement = {"error": "interrupted before the timing ran"}
    elif perf_claims:
        try:
            measurement = measure.run(reps=reps, rounds=rounds)
        except KeyboardInterrupt:
            measurement, interrupted = {"error": "interrupted during the timing"}, True

    records, failed = [], False
    for order, claim in enumerate(sorted(cf.claims, key=lambda c: locations[c.id].offset)):
        d = claim.data
        ev: list[dict[str, Any]] = []
        fix_recs: list[dict[str, Any]] = []
        spec_ids: list[str] = []
        as_written = None
        if "snippet" in d:
            snip = cf.snippets[d["snippet"]]
            for key, res in sorted(runs.items(), key=lambda kv: (kv[0].variant != "as-written", kv[0].backend)):
                if key.snippet == snip.id and key.variant != "fixed":
                    ev.append(evidence.evidence_record(key, res))
                    if key.variant == "as-written":
                        as_written = ev[-1]
            for i, fx in enumerate(snip.fixes):
                res = runs.get(evidence.RunKey(snip.id, fx.backend, "fixed", i))
                if res is None:
                    continue
                ev.append(evidence.evidence_record(evidence.RunKey(snip.id, fx.backend, "fixed", i), res))
                base = snip.code if fx.backend == snip.target else snip.ports.get(fx.backend, snip.code)
                fix_recs.append(fixes.fix_record(fx, base, res, snip.id))
        cited: list[dict[str, Any]] = []
        for s in d.get("specs", []):
            cited += evidence.spec_checks(checks, s["spec"], s["function"], s["backend"])
        spec_ids = [c["test_id"] for c in cited]
        unselected = sorted({s["backend"] for s in d.get("specs", [])} - selected)
        kind = claim.kind
        measurements: dict[str, Any] = {}
        if kind == "api-existence":
            verdict = verdicts.api_existence(d["apis"], probe, absent=d.get("absent", False))
            ev += [{"backend": a.split(".")[0], "variant": "probe", "api": a, **probe["apis"].get(a, {})} for a in d["apis"]]
        elif kind == "version":
            verdict = verdicts.version(d["apis"], probe, d.get("sources_say"), d.get("sources", []))
            ev.append({"variant": "probe", "installed": probe["versions"],
                       "apis": {a: probe["apis"].get(a) for a in d["apis"]}})
        elif kind == "signature":
            backend = d.get("backend", d["api"].split(".")[0])
            verdict = verdicts.signature(d["api"], d["params"], probe, d.get("layouts"), conventions.get(backend), cited)
            ev.append({"backend": backend, "variant": "probe", "api": d["api"], **probe["apis"].get(d["api"], {}),
                       "conventions": {k: (conventions.get(backend) or {}).get(k) for k in d.get("layouts", {})}})
        elif kind == "example-runs":
            verdict = verdicts.example_runs(as_written)
        elif kind == "printed-value":
            refs = [{**r, "value": evidence.reference_value(r["op"], r["function"], r["x"])}
                    for r in d.get("reference", [])]
            if refs:
                ev.append({"backend": "numpy", "variant": "reference", "status": "ok", "value": refs})
            what, checked = "the as-written snippet", as_written
            if "backend" in d and as_written is not None and d["backend"] != as_written["backend"]:
                what = f"the snippet's {d['backend']} port"
                checked = next((e for e in ev if e["variant"] == "port" and e["backend"] == d["backend"]), None)
            target_fixes = [f for f in fix_recs if checked and f["backend"] == checked["backend"]]
            verdict = verdicts.printed_value(d["expect_printed"], checked, target_fixes, refs, what)
        elif kind == "semantics":
            missing = [a for a in d.get("requires_apis", []) if not probe["apis"].get(a, {}).get("exists")]
            verdict = verdicts.semantics(cited, d["if_specs_pass"], missing)
            if not verdict[2] and unselected and not [c for c in cited if c["status"] != "skip"]:
                verdict = ("unverifiable", f"semantics: the cited battery checks are on {', '.join(unselected)}, "
                           "which this run did not select", True)
        elif kind == "performance":
            m = d["measure"]
            verdict = verdicts.performance(measurement, m["baseline"], m["alternatives"], m.get("within", 1.25))
            measurements = measurement
        else:
            verdict = verdicts.advice()
        value, rule, ok = verdict
        if d.get("note"):
            rule += f" [note: {d['note']}]"
        failed |= not ok
        records.append({
            "article": cf.article_id, "id": claim.id, "order": order, "quote": claim.quote,
            "line": locations[claim.id].line, "occurrence": claim.occurrence, "paraphrase": claim.paraphrase,
            "kind": kind, "verdict": value,
            "rule": rule, "evidence": ev, "fixes": fix_recs if value in ("false", "partly") else [],
            "spec_checks": spec_ids, "sources": d.get("sources", []), "measurements": measurements,
            "evidence_ok": ok,
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


def article_record(cf: ClaimsFile, text: str, locations: dict[str, anchors.Location]) -> dict[str, Any]:
    """Coverage: checkable prose sentences (anchors.is_checkable) overlapped by at least one claim's quote.

    A claim covers the sentence its own occurrence of the quote lies in (``occurrence``), not every sentence
    that repeats the same words.
    """
    blocks = anchors.code_blocks(text)
    sents = [(ln, s) for ln, s in anchors.sentences(text, [(b.start_line, b.end_line) for b in blocks])
             if anchors.is_checkable(s)]
    norm, _ = anchors.normalize(text)
    spans = [locations[claim.id].span for claim in cf.claims]
    covered, uncovered, cursor = 0, [], 0
    for line, s in sents:
        ns = anchors.normalize(s)[0]
        pos = norm.find(ns, cursor)
        if pos < 0:
            pos = norm.find(ns)
        cursor = max(cursor, pos + 1)
        end = pos + len(ns)
        if any(a < end and pos < b for a, b in spans):
            covered += 1
        else:
            uncovered.append(f"{line}: {s}")
    return {
        "id": cf.article_id, "title": cf.title, "path": display_path(cf.article_path),
        "sha256": hashlib.sha256(cf.article_path.read_bytes()).hexdigest(), "claims": len(cf.claims),
        "checkable_sentences": len(sents), "covered_sentences": covered,
        "coverage": round(covered / len(sents), 3) if sents else 1.0, "uncovered": uncovered,
    }


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
                     + ", ".join(f"{v} {counts.get(v, 0)}" for v in ("true", "false", "partly", "unverifiable")))
        lines.append(f"  coverage {art['covered_sentences']}/{art['checkable_sentences']} checkable sentences "
                     f"({art['coverage']:.0%})")
        if art.get("error"):
            lines.append(f"  ERROR {art['error']}")
        for c in claims:
            if not c.get("evidence_ok", True):
                lines.append(f"  NO EVIDENCE {c['id']}: {c['rule'][:200]}")
    return lines
