"""How far ``check-doc`` agrees with hand-made ground truth: a measurement that prints figures (not a test).

    python benchmarks/doc_agreement.py                        # run check-doc on every dev-set document, then score
    python benchmarks/doc_agreement.py --doc mlx_function_transforms --doc autograd_tutorial
    python benchmarks/doc_agreement.py --results run.json     # score results files written before, run nothing
    python benchmarks/doc_agreement.py --out-dir DIR --details  # keep the results files; list every disagreement

The dev set (``benchmarks/devset/``) holds real documents about function transforms copied verbatim from their
projects' repositories (``docs/``, provenance in ``SOURCES.md``) and, for each, a ground-truth file written by hand
(``truth/<name>.toml``): one ``[[statement]]`` per checkable statement, anchored by its line and a verbatim quote,
with the truth (``true``, ``false``, ``environment``, ``unknown``), the evidence for it, and whether a rule could
decide it from the code and its outputs without reading intent (``rule_addressable``).

Scoring.  A checker claim *covers* a statement when its kind can decide the statement's kind (``CHECKER_KINDS``, or
the statement's own ``checker_kinds``) and it is anchored at the statement's line (or lists it among the lines it is
about: ``LISTED_LINES``), or, for a ``runs`` claim (about a whole cell), in the cell whose source lines contain that
line (claims at the exact line win over the cell's).  The checker's verdict on a statement is false
when any covering claim is false, true when any is true, else unverifiable (or uncovered: none).  Per document:

- statements: all statements; rule-addressable: those with ``rule_addressable = true`` and a truth of true/false;
- covered: statements that some claim covers;
- agree: truth true and checker true, or truth false and checker false;
- false alarms: truth true, checker false;  misses: truth false, checker not false (uncovered included);
- environment: the statement holds or fails only by what is installed (excluded from agreement); in brackets, how
  many of them the checker also blames on the environment (verdict ``environment``);
- unknown: truth not established (excluded from every figure but the count);
- agreement %: agreeing rule-addressable statements over rule-addressable statements.

Claims that cover no statement are counted apart (``unmatched``, and how many of them are false).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "benchmarks" / "devset"
DOCS, TRUTH = DEVSET / "docs", DEVSET / "truth"

KINDS = ("runs", "shows", "derivative-correct", "names", "shapes", "speed", "prose")
TRUTHS = ("true", "false", "environment", "unknown")
CHECKER_KINDS: dict[str, tuple[str, ...]] = {
    "runs": ("runs", "reachable"),  # the cell raises, or a statement of it can never run (after a return)
    "shows": ("shows", "asserts"),  # a stated output, or an assert/allclose the document makes
    "derivative-correct": ("derivative-correct", "asserts"),
    "names": ("runs", "names", "not-deprecated"),  # the name resolves; a misspelled or removed one makes its cell
    # raise; the library warns, when the cell runs, that it is deprecated
    "shapes": ("shows", "asserts", "runs", "shapes", "dtypes"),  # a stated shape/dtype printed, asserted, measured
    "speed": ("speed",),  # a printed "N percent improvement with X", against the run's own timings
    "prose": (),
}
"""Which of the checker's claim kinds can decide a statement of each ground-truth kind."""
CLAIM_KINDS = ("runs", "shows", "derivative-correct", "asserts", "names", "not-deprecated", "reachable", "shapes", "dtypes", "speed")
CELL_WIDE = ("runs",)
"""Claim kinds about a whole cell: they cover a statement anywhere in the cell.  The others are about one line (a
stated output, one transform call) and cover only a statement at that line."""
LISTED_LINES = ("names", "reachable")
"""Claim kinds whose ``evidence["lines"]`` lists every line the claim is about (``names``: each line the name is
written, the claim anchored at the first; ``reachable``: the dead statement's lines): they cover a statement at
any of them as at their own line."""
REQUIRED = ("id", "line", "quote", "kind", "truth", "evidence", "rule_addressable")


class TruthError(ValueError):
    """A ground-truth file that does not parse or whose anchors do not hold."""


@dataclasses.dataclass
class Statement:
    id: str
    line: int
    quote: str
    kind: str
    truth: str
    evidence: str
    rule_addressable: bool
    checker_kinds: tuple[str, ...]


@dataclasses.dataclass
class Truth:
    name: str
    file: str
    path: Path
    statements: list[Statement]
    source: dict[str, Any]


def load_truth(path: Path, docs_dir: Path = DOCS) -> Truth:
    """Parse and validate one truth file: fields, kinds, unique ids, every quote found verbatim at its line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TruthError(f"{path}: {exc}") from None
    doc = data.get("document") or {}
    file = doc.get("file")
    if not isinstance(file, str) or not file:
        raise TruthError(f"{path}: [document] needs file = \"<name in {docs_dir.name}/>\"")
    doc_path = docs_dir / file
    if not doc_path.is_file():
        raise TruthError(f"{path}: document {doc_path} not found")
    lines = doc_path.read_text(encoding="utf-8").split("\n")
    problems: list[str] = []
    statements: list[Statement] = []
    seen: set[str] = set()
    for n, raw in enumerate(data.get("statement") or [], 1):
        where = f"{path}: statement {n} ({raw.get('id', '?')})"
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        line, quote, kind, truth = raw["line"], raw["quote"], raw["kind"], raw["truth"]
        if raw["id"] in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(raw["id"])
        if kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if truth not in TRUTHS:
            problems.append(f"{where}: truth {truth!r} is not one of {', '.join(TRUTHS)}")
        if not isinstance(raw["rule_addressable"], bool):
            problems.append(f"{where}: rule_addressable must be true or false")
        if not isinstance(raw["evidence"], str) or not raw["evidence"].strip():
            problems.append(f"{where}: evidence must say how the truth was established")
        if not isinstance(line, int) or not 1 <= line <= len(lines):
            problems.append(f"{where}: line {line!r} is not a line of {file} (1..{len(lines)})")
        elif not isinstance(quote, str) or not quote or quote not in lines[line - 1]:
            problems.append(f"{where}: quote {quote!r} not found at {file}:{line} ({lines[line - 1]!r})")
        override = raw.get("checker_kinds")
        if override is not None and (not isinstance(override, list) or any(k not in CLAIM_KINDS for k in override)):
            problems.append(f"{where}: checker_kinds must list some of {', '.join(CLAIM_KINDS)}")
        checker_kinds = tuple(override) if isinstance(override, list) else CHECKER_KINDS.get(kind, ())
        statements.append(Statement(str(raw["id"]), line, quote, kind, truth, raw["evidence"],
                                    bool(raw["rule_addressable"]), checker_kinds))
    if problems:
        raise TruthError("\n".join(problems))
    return Truth(name=path.stem, file=file, path=path, statements=statements, source=doc)


def truth_files(truth_dir: Path = TRUTH) -> list[Path]:
    return sorted(truth_dir.glob("*.toml"))


def cell_span(cell: dict[str, Any]) -> tuple[int, int]:
    """The document lines a results file's cell occupies: its first line through its last source line."""
    start = int(cell.get("line") or 0)
    n = len(str(cell.get("source") or "").rstrip("\n").split("\n"))
    return start, start + max(n, 1) - 1


def covering_claims(st: Statement, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims that decide a statement: of its kinds, at its line, else (``runs`` claims) in the cell containing it."""
    claims = [c for c in doc.get("claims", []) if c.get("kind") in st.checker_kinds]
    exact = [c for c in claims if c.get("line") == st.line or (c.get("kind") in LISTED_LINES and st.line in
                                                                 ((c.get("evidence") or {}).get("lines") or []))]
    if exact:
        return exact
    cells = doc.get("cells", [])
    inside = []
    for c in claims:
        if c.get("kind") not in CELL_WIDE:
            continue
        index = c.get("cell")
        if isinstance(index, int) and 0 <= index < len(cells):
            lo, hi = cell_span(cells[index])
            if lo <= st.line <= hi:
                inside.append(c)
    return inside


def checker_verdict(claims: list[dict[str, Any]]) -> str:
    """``false`` if any claim is false, else ``true`` if any is true, else ``environment`` if any blames the
    environment, else ``unverifiable``; ``uncovered`` if no claim covers the statement."""
    if not claims:
        return "uncovered"
    verdicts = [c.get("verdict") for c in claims]
    if any(v == "false" for v in verdicts):
        return "false"
    if any(v == "true" for v in verdicts):
        return "true"
    if any(v == "environment" for v in verdicts):
        return "environment"
    return "unverifiable"


@dataclasses.dataclass
class Score:
    name: str
    statements: int = 0
    rule_addressable: int = 0
    covered: int = 0
    agree: int = 0
    agree_rule: int = 0
    false_alarms: int = 0
    misses: int = 0
    environment: int = 0
    environment_agree: int = 0
    unknown: int = 0
    unmatched: int = 0
    unmatched_false: int = 0
    status: str = "ok"
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def add(self, other: Score) -> None:
        for f in ("statements", "rule_addressable", "covered", "agree", "agree_rule", "false_alarms", "misses",
                  "environment", "environment_agree", "unknown", "unmatched", "unmatched_false"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.rows.extend(other.rows)

    @property
    def agreement(self) -> float | None:
        return 100.0 * self.agree_rule / self.rule_addressable if self.rule_addressable else None


def score_document(truth: Truth, doc: dict[str, Any] | None) -> Score:
    """Score one document's results record (``None``: the document was not checked) against its ground truth."""
    score = Score(truth.name, status="ok" if doc is not None else "no results")
    doc = doc or {"claims": [], "cells": []}
    if doc.get("status") not in (None, "ok"):
        score.status = str(doc.get("status"))
    used: set[int] = set()
    for st in truth.statements:
        claims = covering_claims(st, doc)
        used.update(id(c) for c in claims)
        verdict = checker_verdict(claims)
        score.statements += 1
        if claims:
            score.covered += 1
        outcome = ""
        if st.truth == "unknown":
            score.unknown += 1
            outcome = "unknown"
        elif st.truth == "environment":
            score.environment += 1
            score.environment_agree += verdict == "environment"
            outcome = "environment"
        else:
            agrees = verdict == st.truth
            score.agree += agrees
            if st.rule_addressable:
                score.rule_addressable += 1
                score.agree_rule += agrees
            if st.truth == "true" and verdict == "false":
                score.false_alarms += 1
                outcome = "false alarm"
            elif st.truth == "false" and verdict != "false":
                score.misses += 1
                outcome = "miss"
            else:
                outcome = "agree" if agrees else "not decided"
        score.rows.append({"document": truth.name, "id": st.id, "line": st.line, "kind": st.kind, "truth": st.truth,
                           "rule_addressable": st.rule_addressable, "checker": verdict, "outcome": outcome,
                           "reasons": [str(c.get("reason", ""))[:160] for c in claims]})
    for c in doc.get("claims", []):
        if id(c) not in used:
            score.unmatched += 1
            score.unmatched_false += c.get("verdict") == "false"
    return score


def documents_in(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A results file's document records by file name (``foo.rst``)."""
    out: dict[str, dict[str, Any]] = {}
    for doc in results.get("documents", []):
        for key in (doc.get("file"), doc.get("source")):
            if key:
                out[Path(str(key)).name] = doc
    return out


def run_check_doc(truth: Truth, out: Path, timeout: float, extra: list[str]) -> tuple[dict[str, Any] | None, str]:
    """Run ``python -m conformance check-doc`` on one dev-set document; (its record or None, a one-line outcome)."""
    target = (DOCS / truth.file).relative_to(ROOT)
    cmd = [sys.executable, "-m", "conformance", "check-doc", str(target), "--out", str(out), "--jobs", "1",
           "--timeout", f"{timeout:g}", *extra]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout + 120)
    except subprocess.TimeoutExpired:
        return None, f"check-doc did not finish within {timeout + 120:g} s"
    took = time.monotonic() - started
    if proc.returncode not in (0, 1, 3) or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return None, f"check-doc exited {proc.returncode}: {tail[0]}"
    doc = documents_in(json.loads(out.read_text(encoding="utf-8"))).get(truth.file)
    return doc, f"exit {proc.returncode} in {took:.1f} s"


HEADER = ("document", "statements", "rule-addr.", "covered", "agree", "false alarms", "misses",
          "environment (checker says so)", "unknown", "agreement % (rule-addr.)", "unmatched claims (false)")


def table_row(s: Score) -> tuple[str, ...]:
    pct = f"{s.agree_rule}/{s.rule_addressable} = {s.agreement:.1f} %" if s.agreement is not None else "-"
    name = s.name if s.status == "ok" else f"{s.name} ({s.status})"
    return (name, str(s.statements), str(s.rule_addressable), str(s.covered), str(s.agree), str(s.false_alarms),
            str(s.misses), f"{s.environment} ({s.environment_agree})", str(s.unknown), pct,
            f"{s.unmatched} ({s.unmatched_false})")


def format_table(scores: list[Score], total: Score) -> str:
    rows = [HEADER, *(table_row(s) for s in scores), table_row(total)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]

    def line(r: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), sep, *(line(r) for r in rows[1:-1]), line(rows[-1])])


def format_details(total: Score) -> str:
    out = []
    for r in total.rows:
        if r["outcome"] in ("false alarm", "miss", "environment"):
            ra = "rule-addressable" if r["rule_addressable"] else "not rule-addressable"
            why = "; ".join(x for x in r["reasons"] if x) or "no claim covers it"
            out.append(f"{r['outcome']:>11}: {r['document']}:{r['line']} {r['id']} [{r['kind']}, {ra}] "
                       f"truth {r['truth']}, checker {r['checker']} ({why})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--doc", action="append", default=[], metavar="NAME",
                   help="a dev-set document (its truth file's name, e.g. mlx_function_transforms); repeatable")
    p.add_argument("--results", action="append", type=Path, default=[], metavar="FILE",
                   help="score this check-doc results file instead of running check-doc; repeatable")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds check-doc gives one document (default 300)")
    p.add_argument("--out-dir", type=Path, help="keep each document's results file here (default: a temporary dir)")
    p.add_argument("--allow-weak-sandbox", action="store_true", help="passed on to check-doc")
    p.add_argument("--details", action="store_true", help="also list every false alarm, miss and environment row")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the scores and every statement's row as JSON")
    args = p.parse_args(argv)
    if args.timeout <= 0:
        p.error("--timeout must be positive")

    try:
        truths = [load_truth(path) for path in truth_files()]
    except TruthError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.doc:
        by_name = {t.name: t for t in truths} | {t.file: t for t in truths}
        unknown = [d for d in args.doc if d not in by_name]
        if unknown:
            print(f"not in the dev set: {', '.join(unknown)} (have: {', '.join(t.name for t in truths)})",
                  file=sys.stderr)
            return 2
        truths = [by_name[d] for d in dict.fromkeys(args.doc)]

    records: dict[str, dict[str, Any]] = {}
    for f in args.results:
        try:
            records.update(documents_in(json.loads(f.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"{f}: cannot read results ({exc})", file=sys.stderr)
            return 2

    scores: list[Score] = []
    with tempfile.TemporaryDirectory(prefix="doc-agreement-") as tmp:
        out_dir = args.out_dir or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        extra = ["--allow-weak-sandbox"] if args.allow_weak_sandbox else []
        for i, truth in enumerate(truths, 1):
            if args.results:
                doc = records.get(truth.file)
                print(f"[{i}/{len(truths)}] {truth.name}: " + ("scored from results" if doc else "not in the results"),
                      file=sys.stderr, flush=True)
            else:
                print(f"[{i}/{len(truths)}] {truth.name}: check-doc {truth.file} ...", file=sys.stderr, flush=True)
                doc, outcome = run_check_doc(truth, out_dir / f"{truth.name}.json", args.timeout, extra)
                print(f"[{i}/{len(truths)}] {truth.name}: {outcome}", file=sys.stderr, flush=True)
            scores.append(score_document(truth, doc))

    total = Score("total")
    for s in scores:
        total.add(s)
    print(format_table(scores, total))
    if args.details:
        print()
        print(format_details(total))
    if args.json:
        payload = {"scores": [{k: v for k, v in dataclasses.asdict(s).items() if k != "rows"} for s in scores],
                   "total": {k: v for k, v in dataclasses.asdict(total).items() if k != "rows"},
                   "rows": total.rows}
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
