"""benchmarks/doc_agreement.py: the scoring of check-doc against hand-made ground truth, and the dev set's truth files.

No check-doc run here: the scoring is fed a synthetic results record; the dev set's files are only parsed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import doc_agreement as da  # noqa: E402

DOC = """\
intro prose: grad gives the derivative
```python
import lib
y = lib.grad(f)(x)
print(y)  # 4.0
```
the cell above prints 4.0
```python
lib.vmap(g)(xs)   # raises ValueError
```
it is 200 times faster
```python
import missing_pkg
```
"""

TRUTH = """\
[document]
file = "tiny.md"

[[statement]]  # covered by the cell's runs claim (cell-wide), agrees
id = "cell-runs"
line = 3
quote = "import lib"
kind = "runs"
truth = "true"
evidence = "ran it"
rule_addressable = true

[[statement]]  # exact-line derivative claim, false where truth is true: a false alarm
id = "grad-ok"
line = 4
quote = "y = lib.grad(f)(x)"
kind = "derivative-correct"
truth = "true"
evidence = "finite differences"
rule_addressable = true

[[statement]]  # truth false, the shows claim at its line is true: a miss (covered)
id = "stale-comment"
line = 5
quote = "# 4.0"
kind = "shows"
truth = "false"
evidence = "it prints 4.5"
rule_addressable = true

[[statement]]  # truth false, no claim of its kind: an uncovered miss, not rule-addressable
id = "prose-output"
line = 7
quote = "prints 4.0"
kind = "prose"
truth = "false"
evidence = "it prints 4.5"
rule_addressable = false

[[statement]]  # the derivative claim at line 4 covers only its own line; the asserts claim at line 5 decides it
id = "print-derivative"
line = 5
quote = "print(y)"
kind = "derivative-correct"
truth = "true"
evidence = "same call"
rule_addressable = true

[[statement]]  # truth false and the runs claim (at the raising line) is false: agrees
id = "raises"
line = 9
quote = "lib.vmap(g)(xs)"
kind = "runs"
truth = "false"
evidence = "ValueError"
rule_addressable = true

[[statement]]
id = "speed"
line = 11
quote = "200 times faster"
kind = "speed"
truth = "environment"
evidence = "hardware"
rule_addressable = false

[[statement]]  # a derivative claim elsewhere in the cell does not cover it: not decided
id = "no-call-here"
line = 3
quote = "import lib"
kind = "derivative-correct"
truth = "true"
evidence = "nothing to differentiate on this line"
rule_addressable = true

[[statement]]  # true, and no claim of a kind that could decide it: not decided, not a false alarm
id = "true-uncovered"
line = 7
quote = "the cell above"
kind = "prose"
truth = "true"
evidence = "read it"
rule_addressable = false

[[statement]]  # the checker blames the environment too
id = "env-cell"
line = 13
quote = "import missing_pkg"
kind = "runs"
truth = "environment"
evidence = "not installed here"
rule_addressable = true

[[statement]]
id = "unknown-one"
line = 1
quote = "intro prose"
kind = "prose"
truth = "unknown"
evidence = "not established"
rule_addressable = false
"""

RECORD = {
    "status": "ok",
    "cells": [
        {"index": 0, "line": 3, "source": "import lib\ny = lib.grad(f)(x)\nprint(y)  # 4.0\n"},
        {"index": 1, "line": 9, "source": "lib.vmap(g)(xs)   # raises ValueError\n"},
        {"index": 2, "line": 13, "source": "import missing_pkg\n"},
    ],
    "claims": [
        {"kind": "runs", "cell": 0, "line": 3, "verdict": "true", "reason": "the cell finished"},
        {"kind": "derivative-correct", "cell": 0, "line": 4, "verdict": "false", "reason": "disagrees"},
        {"kind": "shows", "cell": 0, "line": 5, "verdict": "true", "reason": "the output matches"},
        {"kind": "asserts", "cell": 0, "line": 5, "verdict": "true", "reason": "the assertion held"},
        {"kind": "runs", "cell": 1, "line": 9, "verdict": "false", "reason": "raised ValueError"},
        {"kind": "shows", "cell": 1, "line": 10, "verdict": "false", "reason": "matches no statement"},
        {"kind": "runs", "cell": 2, "line": 13, "verdict": "environment", "reason": "package not installed"},
    ],
}


@pytest.fixture
def tiny(tmp_path: Path) -> da.Truth:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tiny.md").write_text(DOC, encoding="utf-8")
    path = tmp_path / "tiny.toml"
    path.write_text(TRUTH, encoding="utf-8")
    return da.load_truth(path, docs_dir=docs)


def test_scoring_counts_every_outcome(tiny: da.Truth) -> None:
    s = da.score_document(tiny, RECORD)
    outcomes = {r["id"]: (r["checker"], r["outcome"]) for r in s.rows}
    assert outcomes == {
        "cell-runs": ("true", "agree"),
        "grad-ok": ("false", "false alarm"),
        "stale-comment": ("true", "miss"),
        "prose-output": ("uncovered", "miss"),
        "print-derivative": ("true", "agree"),
        "raises": ("false", "agree"),
        "speed": ("uncovered", "environment"),
        "env-cell": ("environment", "environment"),
        "no-call-here": ("uncovered", "not decided"),
        "true-uncovered": ("uncovered", "not decided"),
        "unknown-one": ("uncovered", "unknown"),
    }
    assert (s.statements, s.rule_addressable, s.covered, s.agree, s.agree_rule) == (11, 6, 6, 3, 3)
    assert (s.false_alarms, s.misses, s.environment, s.environment_agree, s.unknown) == (1, 2, 2, 1, 1)
    assert (s.unmatched, s.unmatched_false) == (1, 1)
    assert s.agreement == pytest.approx(50.0)
    total = da.Score("total")
    total.add(s)
    total.add(da.score_document(tiny, None))  # not checked: nothing covered, every false statement missed
    assert (total.statements, total.covered, total.misses, total.agree) == (22, 6, 5, 3)
    table = da.format_table([s], total)
    assert "3/6 = 50.0 %" in table and table.splitlines()[-1].startswith("| total")


def test_exact_line_claims_win_over_the_cells(tiny: da.Truth) -> None:
    st = next(x for x in tiny.statements if x.id == "cell-runs")
    record = {**RECORD, "claims": [*RECORD["claims"],
                                   {"kind": "runs", "cell": 0, "line": 4, "verdict": "false", "reason": "elsewhere"}]}
    assert da.checker_verdict(da.covering_claims(st, record)) == "true"  # line 3's claim, not line 4's
    moved = {**st.__dict__, "line": 5}
    assert da.checker_verdict(da.covering_claims(da.Statement(**moved), record)) == "false"  # both cell-wide


def test_a_claim_listing_its_lines_covers_each_and_a_dead_statement_decides_its_own_line(tiny: da.Truth) -> None:
    base = next(x for x in tiny.statements if x.id == "cell-runs").__dict__
    name_st = da.Statement(**{**base, "line": 5, "kind": "names", "checker_kinds": da.CHECKER_KINDS["names"]})
    named = {"kind": "names", "cell": 0, "line": 4, "verdict": "true", "reason": "lib.grad exists",
             "evidence": {"name": "lib.grad", "lines": [4, 5]}}
    old = {"kind": "not-deprecated", "cell": 0, "line": 5, "verdict": "false", "reason": "lib warns: deprecated"}
    record = {**RECORD, "claims": [named]}
    assert da.checker_verdict(da.covering_claims(name_st, record)) == "true"  # anchored at 4, about 5 as well
    assert da.checker_verdict(da.covering_claims(name_st, {**RECORD, "claims": [named, old]})) == "false"
    unlisted = {**named, "kind": "derivative-correct"}  # a kind whose evidence lines mean nothing of the sort
    assert not da.covering_claims(da.Statement(**{**base, "line": 5, "kind": "derivative-correct",
                                                 "checker_kinds": ("derivative-correct",)}),
                                  {**RECORD, "claims": [unlisted]})
    runs_st = da.Statement(**{**base, "line": 5})  # a runs statement inside cell 0, whose runs claim is true
    dead = {"kind": "reachable", "cell": 0, "line": 5, "verdict": "false", "reason": "after a return",
            "evidence": {"lines": [5]}}
    assert da.checker_verdict(da.covering_claims(runs_st, RECORD)) == "true"
    assert da.checker_verdict(da.covering_claims(runs_st, {**RECORD, "claims": [*RECORD["claims"], dead]})) == "false"


def test_bad_truth_files_are_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tiny.md").write_text(DOC, encoding="utf-8")
    bad = TRUTH.replace('quote = "import lib"', 'quote = "import numpy"').replace('kind = "speed"', 'kind = "fast"')
    path = tmp_path / "tiny.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(da.TruthError) as err:
        da.load_truth(path, docs_dir=docs)
    assert "'import numpy' not found at tiny.md:3" in str(err.value) and "kind 'fast'" in str(err.value)


def test_every_dev_set_truth_file_parses_and_is_anchored() -> None:
    files = da.truth_files()
    assert len(files) >= 6
    documents = {p.name for p in da.DOCS.iterdir()}
    sources = (da.DEVSET / "SOURCES.md").read_text(encoding="utf-8")
    seen = set()
    for path in files:
        truth = da.load_truth(path)  # raises on a quote not at its line, a bad kind or truth, a duplicate id
        assert truth.statements, path
        assert f"docs/{truth.file}" in sources, f"{truth.file} has no provenance row in SOURCES.md"
        for key in ("repo", "path", "commit", "license"):
            assert truth.source.get(key), f"{path}: [document] lacks {key}"
        seen.add(truth.file)
    assert seen == documents, "every copied document has exactly one truth file"
