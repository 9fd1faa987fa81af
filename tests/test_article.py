"""The article checker: anchors, claims-file validation (file:line: problem), and check-article end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.article import anchors
from conformance.article.claims import ClaimsError, load

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SHIPPED = ROOT / "conformance" / "article" / "claims" / "e8cb2923.toml"


def test_shipped_claims_anchor_and_count() -> None:
    cf = load(SHIPPED)
    assert len(cf.claims) >= 35
    assert {c.kind for c in cf.claims} >= {"api-existence", "version", "signature", "example-runs", "printed-value",
                                          "semantics", "performance", "advice"}


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
    (GOOD.replace('paraphrase = "p"\n', ""), 6, "missing or empty field 'paraphrase'"),
    (GOOD.replace('"advice"', '"rumour"'), 6, "unknown kind 'rumour'"),
    (GOOD.replace("torch.func has grad", "torch.func has scan"), 6, "quote not found"),
    (GOOD + "\n" + GOOD, 12, "duplicate claim id"),
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
         str(FIX / "mini_article_claims.toml"), "--backend", "numpy", "--backend", "torch", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=None,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    verdicts = {c["id"]: c["verdict"] for c in doc["claims"]}
    assert verdicts == {"grad-vmap-exist": "true", "scan-exists": "false", "grad-prints-6": "true",
                        "jvp-bare-tensors": "false", "hessian-is-2": "true", "python-doubles": "true"}
    jvp = next(c for c in doc["claims"] if c["id"] == "jvp-bare-tensors")
    assert jvp["evidence"][0]["exception"]["type"] == "RuntimeError"
    assert jvp["fixes"] and jvp["fixes"][0]["verified"] and jvp["fixes"][0]["diff"].startswith("---")
    assert any(t.startswith("hessian_value[torch-") for t in
               next(c for c in doc["claims"] if c["id"] == "hessian-is-2")["spec_checks"])
    assert doc["articles"][0]["claims"] == 6 and doc["checks"]
