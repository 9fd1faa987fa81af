"""The report's Documents page: one row per document, each example's outcome, findings with reproducers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance import report
from conformance.store import results


def _claim(kind: str, cell: int, line: int, verdict: Any, **evidence: Any) -> dict[str, Any]:
    return {"id": f"{kind}@{line}", "kind": kind, "cell": cell, "line": line, "verdict": verdict,
            "reason": f"reason {kind} {line}", "rule": "r", "evidence": evidence}


def _document() -> dict[str, Any]:
    return {
        "source": "docs/tutorial.ipynb", "kind": "notebook", "title": "Tutorial notebook", "file": "docs/tutorial.ipynb",
        "sha256": "ab", "libraries": {"torch": "2.13.0"}, "status": "ok", "reason": "", "setup_errors": [],
        "duration_s": 3.5, "cells_run": 2, "cells_per_s": 0.57, "reproducer": "python -m conformance check-doc "
        "docs/tutorial.ipynb",
        "cells": [{"index": 0, "label": "cell 1", "line": 5, "status": "ok", "reason": "", "source": "x = 1",
                   "stdout": "", "display": None, "duration_s": 0.1, "dropped_chars": 0},
                  {"index": 1, "label": "cell 2", "line": 20, "status": "ok", "reason": "", "source": "g(x)",
                   "stdout": "", "display": "1.0", "duration_s": 0.1, "dropped_chars": 0}],
        "claims": [_claim("runs", 0, 5, "true"), _claim("runs", 1, 20, "true"),
                   _claim("shows", 1, 20, "false", stated="2.0", got="1.0"),
                   _claim("derivative-correct", 1, 21, "false", transform="torch.func.grad", got=[1.0],
                          expected=[0.5], max_abs_err=0.5, bound=1e-5),
                   _claim("reachable", 1, 22, "false", lines=[22])],
        "summary": {},
    }


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("docs-report")
    doc = results.new_document(results.run_header(label="documents"))
    doc["documents"] = [_document()]
    doc["run"]["documents"] = {"count": 1, "cells_run": 2, "cells_per_s": 0.57}
    doc["run"]["duration_s"] = 3.5
    path = results.write_atomic(root / "run.json", doc)
    site = report.build([path], root / "site")
    return (site.parent / "documents.html").read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_one_row_per_document_with_counts_per_claim_kind(page: str) -> None:
    text = _text(page)
    assert "Tutorial notebook" in text and "notebook" in text and "torch 2.13.0" in text
    assert "2 of 2" in text  # cells run
    assert "✓ 2 true" in text and "✗ 1 false" in text
    assert "0.57 cells per second" in text
    header = _text(page.split("conformance-documents", 1)[1].split("</thead>", 1)[0])
    assert "Names" in header and "Reachable" in header  # a kind registered later gets a column of its own


def test_each_example_and_the_findings_with_evidence_and_reproducer(page: str) -> None:
    text = _text(page)
    assert "cell 2 (line 20)" in text
    assert "docs/tutorial.ipynb:21" in text and "torch.func.grad" in text
    assert "expected: [0.5]" in text and "stated: 2.0" in text
    assert "python -m conformance check-doc docs/tutorial.ipynb" in text


def test_results_without_documents_say_so(tmp_path: Path) -> None:
    doc = results.new_document(results.run_header(label="empty"))
    path = results.write_atomic(tmp_path / "run.json", doc)
    html = (report.build([path], tmp_path / "site").parent / "documents.html").read_text(encoding="utf-8")
    assert "No documents in these results" in _text(html)
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == results.SCHEMA
