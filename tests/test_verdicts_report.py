"""The article page shows why a claim is unverifiable, whether its verdict can move, and what changed between runs.

Renders the page's nodes straight from in-memory runs (no Sphinx build), so it is cheap to run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from conformance_report import claims as page  # noqa: E402
from conformance_report.model import Report, Run  # noqa: E402
from docutils import nodes  # noqa: E402
from report_helpers import badges, doc_nodes, doc_text  # noqa: E402


def _claim(cid: str, verdict: str, **extra: Any) -> dict[str, Any]:
    return {"article": "a", "id": cid, "order": 0, "quote": f"quote {cid}", "line": 1, "paraphrase": f"p {cid}",
            "kind": extra.pop("kind", "proposition"), "verdict": verdict, "rule": f"rule {cid} {verdict}",
            "evidence": [], "fixes": [], "spec_checks": [], "sources": [], "measurements": {}, **extra}


def _run(index: int, name: str, claims: list[dict[str, Any]]) -> Run:
    doc = {"run": {}, "backends": {}, "checks": [], "claims": claims,
           "articles": [{"id": "a", "title": "T", "path": "a.md", "claims": len(claims), "checkable_sentences": 1,
                         "covered_sentences": 1, "coverage": 1.0, "uncovered": []}]}
    return Run(index, name, Path(f"{name}.json"), doc)


def test_unverifiable_reason_and_sensitivity_badges() -> None:
    claims = [_claim("h", "unverifiable", kind="version", unverifiable_reason="history"),
              _claim("j", "false", proposition="def holds(x, v):\n    return False\n",
                     sensitivity={"counter": "jvp-returns-grad", "verdict_under_counter": "true", "sensitive": True},
                     evidence=[{"backend": "torch", "variant": "proposition", "status": "ok",
                                "value": [{"shape": [3], "x": [1, 2, 3], "v": [2, 2, 2], "outcome": "fails",
                                           "detail": ""}]}]),
              _claim("d", "true", sensitivity={"counter": "grad-scaled", "verdict_under_counter": "true",
                                               "sensitive": False})]
    doc = page.render(Report([_run(0, "cpu", claims)]))
    text, shown = doc_text(doc), badges(doc)
    assert ("sd-outline-warning", "history") in shown
    assert ("sd-outline-success", "moves under jvp-returns-grad: true") in shown
    assert ("sd-bg-danger", "defect: does not move under grad-scaled") in shown
    assert "def holds(x, v):" in text and "proposition: the claimed property" in text
    assert "fails" in [n.astext() for n in doc_nodes(doc, nodes.strong)]  # the drawn case and its outcome
    assert "Verdict changes between runs" not in text  # one run: nothing to compare


def test_verdict_changes_table_lists_only_claims_that_moved() -> None:
    a = [_claim("same", "true"), _claim("moved", "true")]
    b = [_claim("same", "true"), _claim("moved", "unverifiable", unverifiable_reason="resources")]
    report = Report([_run(0, "run-a", a), _run(1, "run-b", b)])
    rows = page.verdict_changes(report.claim_groups()[0][1])
    assert [r[1].astext() for r in rows] == ["run-a", "run-b"] and all("moved" in r[0].astext() for r in rows)
    assert "rule moved unverifiable" in rows[1][3].astext() and "resources" in rows[1][2].astext()
    assert "Verdict changes between runs" in doc_text(page.render(report))


def test_fix_shows_intent_and_oracle_comparison() -> None:
    fix = {"backend": "torch", "idiom": "jvp", "code": "print(1)\n", "as_written": "print(0)\n", "diff": "",
           "output": "4\n", "verified": False, "intent": "J v with tangent 3",
           "oracle": [{"index": 1, "printed": 4.0, "oracle": 12.0, "agrees": False}]}
    doc = page.render(Report([_run(0, "cpu", [_claim("f", "false", kind="example-runs", fixes=[fix])])]))
    intent = [p for p in doc_nodes(doc, nodes.paragraph) if p.astext() == "Intent: J v with tangent 3"]
    assert intent and intent[0].next_node(nodes.strong).astext() == "Intent:"
    assert "line 2 printed 4, oracle 12 ✗" in doc_text(doc)


def test_performance_table_marks_the_claims_subject() -> None:
    m = {"median_us": {"scalar": {"torch.autograd.grad": 30.0, "manual": 2.0}}, "subject": "torch.autograd.grad"}
    doc = page.render(Report([_run(0, "cpu", [_claim("perf", "partly", kind="performance", measurements=m)])]))
    cells = {p.astext(): p for p in doc_nodes(doc, nodes.paragraph)}
    subject = cells["torch.autograd.grad (the claim's subject)"]
    assert [type(n) for n in subject.children] == [nodes.literal, nodes.Text, nodes.strong]
    assert "manual" in cells and not any(t.startswith("manual (the claim") for t in cells)
