"""A fix counts only when its printed numbers agree with the NumPy oracle, not just with a regex written next to it."""

from __future__ import annotations

from pathlib import Path

from conformance.claims.article import fixes
from conformance.claims.article.claims import Fix, load
from conformance.claims.article.sandbox import SandboxResult

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml"


def _ok(stdout: str) -> SandboxResult:
    return SandboxResult("ok", 0, stdout, "", None, 0.1, "", "bwrap")


def test_a_fix_printing_a_number_the_oracle_disagrees_with_is_not_verified() -> None:
    ref = [{"index": 1, "op": "jvp", "function": "square", "x": 2.0, "tangent": 3.0}]
    fix = Fix("torch", "jvp", "code", r"^tensor\(4\.\)\ntensor\(\d+\.\)\n$", "J v", ref)
    assert fixes.verified(fix, _ok("tensor(4.)\ntensor(12.)\n"))
    assert not fixes.verified(fix, _ok("tensor(4.)\ntensor(4.)\n"))  # the gradient: matches the regex, not J v
    record = fixes.fix_record(fix, "old", _ok("tensor(4.)\ntensor(4.)\n"), "s")
    assert record["oracle"][0]["oracle"] == 12.0 and record["oracle"][0]["printed"] == 4.0
    assert not record["oracle"][0]["agrees"] and record["intent"] == "J v"


def test_shipped_jvp_fixes_use_a_tangent_other_than_one_and_keep_the_article_intent() -> None:
    cf = load(SHIPPED)
    for fx in cf.snippets["ex4_jvp"].fixes:
        jvp_refs = [r for r in fx.reference if r["op"] == "jvp"]
        assert jvp_refs and all(r.get("tangent", 1.0) != 1.0 for r in jvp_refs), fx.idiom
        assert "(v,)" in fx.code and fx.intent
    scan_fixes = cf.snippets["ex2_scan"].fixes
    assert all("has_aux=True" in fx.code for fx in scan_fixes)
    assert any("jax.lax.scan" in fx.code for fx in scan_fixes)  # scan kept where the library has one
    assert all(fx.reference for snip in cf.snippets.values() for fx in snip.fixes
               if snip.id != "ex_vmap_autograd"), "every fix printing a derivative is held to the oracle"
