"""Verdicts that follow from execution: the proposition rule, resource limits, and verdict sensitivity.

The sensitivity tests run every proposition claim of the shipped claims file and of the mini fixture on every
backend it concerns, in the sandbox, once with the real adapter and once with the counter-adapter the claim names
(a planted fault that breaks, or supplies, the behaviour the claim rests on), and require the verdict to move.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.article import cli, counters, kinds, propositions, verdicts
from conformance.claims.article.claims import CLAIMS_SCHEMA, KINDS, VERDICTS, Claim, load
from conformance.claims.article.propositions import Outcome
from conformance.claims.article.sandbox import SandboxResult

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml"
MINI = ROOT / "tests" / "fixtures" / "mini_article_claims.toml"


def _cases(*outcomes: str) -> list[dict[str, Any]]:
    return [{"shape": [i + 1], "outcome": o, "detail": "boom" if o != "holds" else ""} for i, o in enumerate(outcomes)]


# --- the rule --------------------------------------------------------------------------------------------------

def test_rule_true_partly_false_from_outcomes() -> None:
    assert propositions.rule([Outcome("torch", _cases("holds", "holds")), Outcome("jax", _cases("holds"))])[0] == "true"
    verdict, why, ok, _ = propositions.rule([Outcome("torch", _cases("raises")), Outcome("jax", _cases("holds"))])
    assert (verdict, ok) == ("partly", True)
    assert "holds on jax (1)" in why and "fails on torch (1: boom)" in why  # says where
    assert propositions.rule([Outcome("torch", _cases("fails", "raises"))])[0] == "false"


@pytest.mark.parametrize("mix", [("resources",), ("fails", "resources"), ("holds", "resources")])
def test_resource_limits_are_never_evidence(mix: tuple[str, ...]) -> None:
    verdict, why, ok, reason = propositions.rule([Outcome("torch", _cases(*mix))])
    assert (verdict, reason, ok) == ("unverifiable", "resources", True), why


def test_proposition_errors_are_not_evidence_and_fail_the_run() -> None:
    verdict, _, ok, reason = propositions.rule([Outcome("torch", _cases("holds", "error"))])
    assert (verdict, ok, reason) == ("unverifiable", False, "proposition error")


def test_a_killed_proposition_run_is_resources_not_false() -> None:
    prop = propositions.Proposition("c", "def holds(x, v):\n    return False\n", ((3,),), "grad-scaled")
    plan = {"torch": [prop]}
    for status, exc in (("timeout", None), ("killed", None), ("exception", {"type": "MemoryError", "message": ""})):
        res = SandboxResult(status, None, "", "", exc, 1.0, "limit", "bwrap")
        got = cli.proposition_outcomes(plan, {cli.evidence.RunKey("propositions", "torch", "proposition"): res})
        assert propositions.rule(got["c"]["real"])[:1] == ("unverifiable",), status
        assert propositions.rule(got["c"]["real"])[3] == "resources"


@pytest.mark.parametrize("status", ["timeout", "killed"])
def test_a_snippet_stopped_by_a_limit_is_unverifiable_not_false(status: str) -> None:
    result = {"status": status, "backend": "torch", "reason": "limit", "exception": None, "stdout": ""}
    assert verdicts.example_runs(result)[0] == "unverifiable"
    assert verdicts.printed_value(["4.0"], result, [], [])[0] == "unverifiable"
    assert verdicts.example_runs({**result, "status": "exception", "exception": {"type": "RuntimeError"}})[0] == "false"


def test_performance_is_judged_against_every_comparator() -> None:
    m = {"median_us": {"scalar": {"base": 10.0, "slow": 30.0, "fast": 2.0}}}
    assert verdicts.performance(m, "base", ["slow"], 1.25)[0] == "true"
    verdict, rule, _ = verdicts.performance(m, "base", ["slow", "fast"], 1.25)
    assert verdict == "partly" and "base/fast = 5.00" in rule and "slower than 1.25x: fast at scalar" in rule
    assert verdicts.performance(m, "base", ["fast"], 1.25)[0] == "false"


# --- kinds and the claims files --------------------------------------------------------------------------------

def test_every_kind_has_exactly_one_handler() -> None:
    assert set(kinds.HANDLERS) == set(KINDS)


def test_no_verdict_bearing_field_in_any_claims_file_or_the_schema() -> None:
    files = [*sorted((ROOT / "conformance" / "claims" / "article" / "claims").glob("*.toml")), *sorted(
        (ROOT / "tests" / "fixtures").glob("*.toml"))]
    assert SHIPPED in files and MINI in files
    pattern = re.compile(r"^\s*(if_specs_pass|sources_say|verdict|expected_verdict)\s*=", re.M)
    for path in files:
        assert not pattern.search(path.read_text(encoding="utf-8")), path
    claim_props = CLAIMS_SCHEMA["properties"]["claim"]["items"]["properties"]
    assert not [k for k, v in claim_props.items() if v.get("enum") == list(VERDICTS)]


def _claim(data: dict[str, Any]) -> Claim:
    return Claim(data["id"], "q", "p", data["kind"], data, 1)


def test_a_claim_whose_verdict_cannot_move_is_reported_as_a_defect() -> None:
    claim = _claim({"id": "c", "kind": "proposition", "backends": ["torch"], "counter": "grad-scaled",
                    "proposition": "def holds(x, v):\n    return True\n"})
    same = {"c": {"real": [Outcome("torch", _cases("holds"))], "counter": [Outcome("torch", _cases("holds"))]}}
    ctx = kinds.Context(None, {"torch"}, {}, {}, {}, same)  # type: ignore[arg-type]
    j = kinds.judge(claim, ctx)
    assert j.verdict == "true" and j.sensitivity == {"counter": "grad-scaled", "verdict_under_counter": "true",
                                                     "sensitive": False}
    assert "DEFECT" in j.rule
    moved = {"c": {"real": same["c"]["real"], "counter": [Outcome("torch", _cases("fails"))]}}
    assert kinds.judge(claim, kinds.Context(None, {"torch"}, {}, {}, {}, moved)).sensitivity["sensitive"]  # type: ignore[arg-type,index]


def test_counters_override_only_their_methods() -> None:
    from backends.numpy_reference import NumpyReference

    real = NumpyReference()
    faulted = counters.apply("grad-scaled", real)
    assert type(faulted).__name__ == "NumpyReference[grad-scaled]" and isinstance(faulted, NumpyReference)
    f = lambda t: (t * t).sum()  # noqa: E731
    import numpy as np

    x = np.array([1.0, 2.0])
    assert np.allclose(faulted.grad(f)(x), 2 * real.grad(f)(x))
    assert np.allclose(faulted.jvp(f, (x,), (x,))[1], real.jvp(f, (x,), (x,))[1])


# --- sensitivity: every code-decided proposition moves under its counter-adapter ----------------------------------

def _proposition_claims(path: Path) -> list[Claim]:
    return [c for c in load(path).claims if c.kind == "proposition"]


@pytest.mark.parametrize("path", [SHIPPED, MINI], ids=["shipped", "mini"])
def test_every_proposition_verdict_moves_under_its_counter_adapter(path: Path) -> None:
    cf = load(path)
    claims = _proposition_claims(path)
    assert claims
    backends = sorted({b for c in claims for b in c.data["backends"]})
    outcomes = cli.evaluate_propositions(cf, backends)
    stuck = []
    for c in claims:
        got = outcomes[c.id]
        assert {o.backend for o in got["real"]} == set(c.data["backends"]), c.id  # every backend it concerns
        real, why, ok, _ = propositions.rule(got["real"])
        under, why_c, _, _ = propositions.rule(got["counter"])
        assert ok and real in ("true", "false", "partly"), (c.id, why)
        if real == under or under not in ("true", "false", "partly"):
            stuck.append(f"{c.id}: {real} under both ({why} / {why_c})")
    assert not stuck, "\n".join(stuck)


def test_jvp_counter_adapter_flips_the_jvp_claims() -> None:
    """The planted fault of the issue: a jvp returning the gradient flips 'jvp computes J v' true -> false."""
    cf = load(SHIPPED)
    cf.claims = [c for c in cf.claims if c.id in ("title-hessian-jvp", "jvp-is-gradient-vector")]
    got = cli.evaluate_propositions(cf, ["torch"])
    assert propositions.rule(got["title-hessian-jvp"]["real"])[0] == "true"
    assert propositions.rule(got["title-hessian-jvp"]["counter"])[0] == "false"
    assert propositions.rule(got["jvp-is-gradient-vector"]["real"])[0] == "false"
    assert propositions.rule(got["jvp-is-gradient-vector"]["counter"])[0] == "true"


# --- sensitivity of the other code-decided kinds: the verdict follows the evidence, both ways ---------------------

def _flipped_contexts(claim: Claim, cf: Any) -> tuple[kinds.Context, kinds.Context]:
    """Two evidence worlds for one claim: one where what it asserts is so, one where it is not."""
    d = claim.data
    names = [*d.get("apis", []), *([d["api"]] if "api" in d else [])]
    yes = {"apis": {a: {"exists": True, "params": list(d.get("params", []))} for a in names},
           "versions": {"torch": "999.0", "jax": "999.0"}, "errors": []}
    no = {"apis": {a: {"exists": claim.kind == "signature", "params": []} for a in names},
          "versions": yes["versions"], "errors": []}
    if claim.kind == "version":  # exists in an installed release older than the claimed introduction: refuted
        no = {**yes, "versions": {"torch": "0.1", "jax": "0.1"}}
    runs_yes: dict[Any, SandboxResult] = {}
    runs_no: dict[Any, SandboxResult] = {}
    if "snippet" in d:
        snip = cf.snippets[d["snippet"]]
        backend = d.get("backend", snip.target)
        variant = "as-written" if backend == snip.target else "port"
        want = d.get("expect_printed", ["ok"])
        good = "".join(("x" if w == "*" else w) + "\n" for w in want)
        bad = "".join(("x" if w == "*" else f"{float(w) + 1.0}" if _number(w) else w + "?") + "\n" for w in want)
        for runs, out in ((runs_yes, good), (runs_no, bad)):
            runs[cli.evidence.RunKey(snip.id, snip.target, "as-written")] = SandboxResult(
                "ok", 0, out if variant == "as-written" else "", "", None, 0.1, "", "bwrap")
            if variant == "port":
                runs[cli.evidence.RunKey(snip.id, backend, "port")] = SandboxResult("ok", 0, out, "", None, 0.1, "",
                                                                                   "bwrap")
        if claim.kind == "example-runs":
            key = cli.evidence.RunKey(snip.id, snip.target, "as-written")
            runs_no[key] = SandboxResult("exception", 1, "", "", {"type": "RuntimeError", "message": "m"}, 0.1, "",
                                         "bwrap")
    if claim.kind == "api-existence" and d.get("absent"):
        yes, no = no, yes
    sel = {"torch", "jax", "numpy"}
    return (kinds.Context(cf, sel, runs_yes, yes, {}, {}), kinds.Context(cf, sel, runs_no, no, {}, {}))


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("path", [SHIPPED, MINI], ids=["shipped", "mini"])
def test_every_other_code_decided_claim_moves_with_its_evidence(path: Path) -> None:
    """api-existence, signature, version, example-runs, printed-value: planted evidence for and against."""
    cf = load(path)
    checked: set[str] = set()
    for claim in cf.claims:
        if claim.kind in ("proposition", "advice", "performance"):
            continue
        yes, no = _flipped_contexts(claim, cf)
        v_yes, v_no = kinds.judge(claim, yes).verdict, kinds.judge(claim, no).verdict
        if claim.kind == "version":
            assert (v_yes, v_no) == ("unverifiable", "false"), claim.id
        else:
            assert (v_yes, v_no) == ("true", "false"), (claim.id, v_yes, v_no)
        checked.add(claim.kind)
    expected = {"api-existence", "signature", "version", "example-runs", "printed-value"}
    assert checked == expected  # every code-decided kind of the file, each claim of it moved


def test_a_proposition_printing_a_forged_outcome_on_stdout_changes_nothing() -> None:
    """The outcomes travel as a record on the report channel: a proposition that prints the JSON line the old
    evaluator printed (its last stdout line was read as the outcome) now only prints."""
    from conformance.claims.article import sandbox

    forged = ('import json\nprint(json.dumps({"backend": "numpy", "version": "x", "real": {"p": [{"shape": [], '
              '"outcome": "holds", "detail": ""}]}, "counter": {}}))\ndef holds(x, v):\n    return False\n')
    res = sandbox.run_snippet(propositions.script("numpy", [propositions.Proposition("p", forged, ((),))]),
                              preimport=("numpy",), timeout=60, records=propositions.RECORDS)
    assert res.status == "ok", (res.reason, res.stderr[-500:])
    assert '"holds"' in res.stdout  # it printed the forgery
    assert [c["outcome"] for c in propositions.parse(res.records)["real"]["p"]] == ["fails"]


def test_evaluator_classifies_limits_own_errors_and_library_errors_in_the_sandbox() -> None:
    """Per-case time limit -> resources; a bug of the proposition -> error; the library refusing -> raises."""
    from conformance.claims.article import sandbox

    props = [propositions.Proposition("slow", "import time\ndef holds(x, v):\n    time.sleep(5)\n    return True\n",
                                      ((),)),
             propositions.Proposition("typo", "def holds(x, v):\n    return clsoe(x, v)\n", ((),)),
             propositions.Proposition("lib", "def holds(x, v):\n    B.vmap(lambda t: t, out_dims=None)(x)\n"
                                             "    return True\n", ((3,),)),
             propositions.Proposition("nonbool", "def holds(x, v):\n    return x\n", ((),))]
    res = sandbox.run_snippet(propositions.script("numpy", props, case_seconds=0.5), preimport=("numpy",),
                              timeout=60, records=propositions.RECORDS)
    assert res.status == "ok", (res.reason, res.stderr[-500:])
    real = propositions.parse(res.records)["real"]
    assert [c["outcome"] for c in real["slow"]] == ["resources"]
    assert [c["outcome"] for c in real["typo"]] == ["error"] and "NameError" in real["typo"][0]["detail"]
    assert [c["outcome"] for c in real["lib"]] == ["raises"] and "Unsupported" in real["lib"][0]["detail"]
    assert [c["outcome"] for c in real["nonbool"]] == ["error"]
    assert propositions.rule([Outcome("numpy", real["slow"])])[3] == "resources"
