"""The article checker: anchors, claims-file validation (file:line: problem), and check-article end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.claims.article import anchors
from conformance.claims.article.claims import ClaimsError, load

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SHIPPED = ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml"


def test_shipped_claims_anchor_and_count() -> None:
    cf = load(SHIPPED)
    assert len(cf.claims) >= 55
    assert {c.kind for c in cf.claims} >= {"api-existence", "version", "signature", "example-runs", "printed-value",
                                          "proposition", "performance", "advice"}


def test_reindented_code_is_token_equal_but_edits_are_not() -> None:
    flat = "def square(x):\nreturn x * x\nprint(square(2)) # 4.0\n"
    assert anchors.same_tokens(flat, "def square(x):\n    return x * x\nprint(square(2))  # 4.0\n")
    assert not anchors.same_tokens(flat, "def square(x):\n    return x * x * 1\nprint(square(2)) # 4.0\n")


def test_quote_whitespace_normalized() -> None:
    loc = anchors.find_quote("line one\ntorch.func.grad_and_value()\n関数も", "grad_and_value() 関数も")
    assert loc is not None and loc.line == 2


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "a.md").write_text("Hello world. torch.func has grad.\n", encoding="utf-8")
    p = tmp_path / "c.toml"
    p.write_text('[article]\nid = "a"\ntitle = "t"\npath = "a.md"\n\n' + body, encoding="utf-8")
    return p


GOOD = '[[claim]]\nid = "x"\nquote = "torch.func has grad"\nparaphrase = "p"\nkind = "advice"\n'


@pytest.mark.parametrize(("body", "line", "problem"), [
    (GOOD + "kind = 3\n", 11, "not valid TOML"),
    (GOOD.replace('paraphrase = "p"\n', ""), 6, "missing required keys ['paraphrase']"),
    (GOOD.replace('"advice"', '"rumour"'), 10, "unknown kind 'rumour'"),
    (GOOD.replace("torch.func has grad", "torch.func has scan"), 6, "quote not found"),
    (GOOD + "\n" + GOOD, 13, "duplicate claim id"),
    (GOOD.replace('"advice"', '"api-existence"'), 6, "needs field 'apis'"),
])
def test_malformed_claims_name_file_line_problem(tmp_path: Path, body: str, line: int, problem: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ClaimsError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:{line}:"), str(info.value)
    assert problem in str(info.value)


def test_good_minimal_claims_file_loads(tmp_path: Path) -> None:
    assert load(_write(tmp_path, GOOD)).claims[0].id == "x"


@pytest.mark.slow
def test_mini_article_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "check-article", str(FIX / "mini_article.md"),
         str(FIX / "mini_article_claims.toml"), "--backend", "numpy", "--backend", "torch", "--out", str(out),
         "--reps", "20", "--rounds", "3"],  # the performance claims differ by 10x and by hundreds of times
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=None,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    verdicts = {c["id"]: c["verdict"] for c in doc["claims"]}
    assert verdicts == {
        "grad-vmap-exist": "true", "scan-exists": "false",            # api-existence
        "grad-has-aux": "true", "hessian-has-aux": "false",           # signature
        "func-in-2-0": "unverifiable", "grad-in-99": "false",         # version: history / refuted by the package
        "grad-runs": "true", "jvp-bare-tensors": "false",             # example-runs
        "grad-prints-6": "true", "python-doubles": "true", "python-squares-to-6": "false",  # printed-value
        "hessian-is-2": "true", "jvp-is-grad": "false",               # proposition
        "func-grad-quick": "true", "jax-grad-quick": "false",         # performance
        "pleasant": "unverifiable",                                   # advice
    }
    reasons = {c["id"]: c["unverifiable_reason"] for c in doc["claims"] if c["verdict"] == "unverifiable"}
    assert reasons == {"func-in-2-0": "history", "pleasant": "opinion"}
    jvp = next(c for c in doc["claims"] if c["id"] == "jvp-bare-tensors")
    assert jvp["evidence"][0]["exception"]["type"] == "RuntimeError"
    assert jvp["fixes"] and jvp["fixes"][0]["verified"] and jvp["fixes"][0]["diff"].startswith("---")
    props = {c["id"]: c for c in doc["claims"] if c["kind"] == "proposition"}
    assert all(c["sensitivity"]["sensitive"] for c in props.values())
    assert props["hessian-is-2"]["sensitivity"]["verdict_under_counter"] == "false"
    assert doc["articles"][0]["claims"] == 16
    assert doc["articles"][0]["uncovered_assertions"] == []
    from conformance.store import schema

    assert schema.problems(doc) == []  # the report accepts what the checker writes


REPEATED = "Intro. Then grad computes dx. Middle. Then grad computes dx. End. Then grad computes dx.\n"


def _claims(tmp_path: Path, body: str, article: str = REPEATED) -> Path:
    (tmp_path / "a.md").write_text(article, encoding="utf-8")
    p = tmp_path / "c.toml"
    p.write_text('[article]\nid = "a"\ntitle = "t"\npath = "a.md"\n\n' + body, encoding="utf-8")
    return p


def _claim(occurrence: str = "", cid: str = "x") -> str:
    return (f'[[claim]]\nid = "{cid}"\nquote = "Then grad computes dx"\nparaphrase = "p"\nkind = "advice"\n'
            + (f"occurrence = {occurrence}\n" if occurrence else ""))


@pytest.mark.parametrize(("occurrence", "problem"), [
    ("", "occurs 3 times"),
    ("4", "occurrence = 4, but the quote occurs only 3 time(s)"),
    ("0", "occurrence must be a positive integer"),
    ('"2"', "occurrence must be a positive integer"),
])
def test_occurrence_errors_name_file_line(tmp_path: Path, occurrence: str, problem: str) -> None:
    path = _claims(tmp_path, _claim(occurrence))
    with pytest.raises(ClaimsError) as info:
        load(path)
    line = 11 if problem.startswith("occurrence must") else 6  # the occurrence key, or the claim's header
    assert str(info.value).startswith(f"{path}:{line}:"), str(info.value)
    assert problem in str(info.value)


def test_occurrence_anchors_and_covers_its_own_sentence(tmp_path: Path) -> None:
    from conformance.claims.article import cli
    from conformance.claims.article.claims import verify_anchors

    text = "Intro.\n\nThen grad computes dx.\n\nMiddle.\n\nThen grad computes dx.\n\nThen grad computes dx.\n"
    cf = load(_claims(tmp_path, _claim("1", "a") + "\n" + _claim("3", "c"), text))
    locs = verify_anchors(cf)
    assert (locs["a"].line, locs["c"].line) == (3, 9)
    record = cli.article_record(cf, text, locs)
    assert record["covered_sentences"] == 2
    assert record["uncovered"] == ["1: Intro.", "5: Middle.", "7: Then grad computes dx."]


@pytest.mark.parametrize(("sentence", "checkable"), [
    ("square_if_even関数は、xが偶数の場合のみ平方を計算します。", True),
    ("この例では、square関数の微分を dy_dx変数に格納しています。", True),
    ("これは、特に教育目的の場合に役立ちます。", True),  # advice still needs a claim (unverifiable)
    ("以下の例は、JAX を使用して関数の勾配を計算する方法を示しています。", True),  # says what the example computes
    ("従来の PyTorch の AD とは異なり、以下の点が特徴です。", True),  # asserts a difference
    ("この関数は、以下の機能を提供します。", False),  # pure forward reference
    ("以下に、torch.func.grad_and_value()の代替方法の例をいくつか示します。", False),
    ("torch.func.grad_and_value()の代替方法を検討する際には、以下の点を考慮する必要があります。", False),
    ("本記事では、torch.func.grad_and_value()関数について、分かりやすく解説します。", False),  # about the article
    ("In this article we explain torch.func.", False),
    ("This article shows that jvp returns the gradient.", True),  # about the article, but asserts a result
    ("なぜ jvp は勾配を返すのか?", True),  # presupposes that jvp returns the gradient
    ("Why does jvp return the gradient?", True),
    ("Isn't torch.func.grad faster than torch.autograd?", True),  # a rhetorical question states it
    ("関数の複雑性: 関数は単純なのか、複雑な制御フローを含むのか?", False),  # asks, asserts nothing
    ("The following shows two examples.", False),
    ("The following example computes the gradient.", True),
    ("例 3: Hessian 行列の計算", False),  # heading
    ("パフォーマンス: 計算速度はどの程度重要なのか?", False),  # question
    ("You can pass bare tensors to jvp:", False),  # lead-in to code
])
def test_checkable_sentence_rule(sentence: str, checkable: bool) -> None:
    assert anchors.is_checkable(sentence) is checkable


def test_headings_are_not_joined_to_the_next_sentence() -> None:
    text = "例 3: Hessian 行列の計算\nこの例では、hessian\n関数を使用して、Hessian 行列を計算します。\n"
    assert [s for _, s in anchors.sentences(text)] == [
        "例 3: Hessian 行列の計算", "この例では、hessian関数を使用して、Hessian 行列を計算します。"]


def test_check_reads_only_selected_backends_and_relative_path(tmp_path: Path) -> None:
    from conformance.claims.article import cli

    body = ('[[claim]]\nid = "x"\nquote = "Intro"\nparaphrase = "p"\nkind = "proposition"\nbackends = ["jax"]\n'
            'counter = "grad-scaled"\nproposition = "def holds(x, v):\\n    return True\\n"\n')
    cf = load(_claims(tmp_path, body))
    assert cli.proposition_plan(cf, ["torch"]) == {}
    doc, failed = cli.check(cf, {}, ["torch"])
    claim = doc["claims"][0]
    assert not failed and claim["verdict"] == "unverifiable" and claim["unverifiable_reason"] == "not selected"
    assert "did not select" in claim["rule"]
    assert [p.claim for p in cli.proposition_plan(cf, ["jax"])["jax"]] == ["x"]
    assert cli.display_path(cli.SHIPPED_ARTICLE) == "conformance/claims/article/data/000_e8cb2923d2e4bace.txt"


@pytest.mark.parametrize(("sentence", "parts"), [
    ("この例では、square関数の勾配を計算し、grad変数に格納しています。", 2),
    ("aux変数には補助オブジェクトが格納されますが、この例では Noneになっています。", 2),
    ("has_aux オプションを True に設定すると、関数の補助オブジェクトも返します。", 1),  # a condition, one assertion
    ("この例では、hessian関数を使用して、関数の Hessian 行列を計算します。", 1),  # a means, one assertion
    ("grad computes the gradient, and vmap maps it.", 2),
])
def test_assertions_split_at_conjunctions_only(sentence: str, parts: int) -> None:
    assert len(anchors.assertions(sentence)) == parts, anchors.assertions(sentence)


def test_a_quote_trimmed_to_half_a_sentence_leaves_the_other_assertion_uncovered(tmp_path: Path) -> None:
    from conformance.claims.article import cli
    from conformance.claims.article.claims import verify_anchors

    text = "この例では、勾配を計算し、grad変数に格納しています。\n"
    body = ('[[claim]]\nid = "x"\nquote = "この例では、勾配を計算し"\nparaphrase = "p"\nkind = "advice"\n')
    cf = load(_claims(tmp_path, body, text))
    record = cli.article_record(cf, text, verify_anchors(cf))
    assert record["covered_sentences"] == 1  # sentence coverage alone would call this covered
    assert (record["covered_assertions"], record["checkable_assertions"]) == (1, 2)
    assert record["uncovered_assertions"] == ["1: grad変数に格納しています。"]
    whole = body.replace("勾配を計算し", "勾配を計算し、grad変数に格納しています")
    cf = load(_claims(tmp_path, whole, text))
    assert cli.article_record(cf, text, verify_anchors(cf))["uncovered_assertions"] == []
