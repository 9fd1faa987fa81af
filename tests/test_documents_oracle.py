"""The host's oracle for a document's transform calls: plans, differences, tolerance and verdict on the host.

The sandbox's half (``inside.probe``) only evaluates; these tests drive the host's half with numbers computed here
(an exact function, a wrong claim, a float32-only function) and check the boundary: no threshold travels into the
sandbox, and nothing inside imports the host's oracle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from conformance.battery.tolerances import tolerance
from conformance.claims.article.conversation import AskError
from conformance.claims.documents import oracle, session
from conformance.claims.documents.model import Cell, Document

ROOT = Path(__file__).resolve().parents[1]
INSIDE = ROOT / "conformance" / "claims" / "documents" / "inside"


def _answer(plan: dict, f, x0: np.ndarray, claim) -> dict:
    """What an honest harness sends: ``f`` at the plan's points, ``claim(spec, rows)`` for each claim."""
    n = x0.size
    spec = plan["directions"]
    rows = list(np.eye(n)) if spec.get("basis") else []
    if spec.get("random"):
        r = np.random.default_rng(spec["seed"]).standard_normal((spec["random"], n))
        rows = list(r / np.linalg.norm(r, axis=1, keepdims=True))
    values = []
    for combo in plan["points"]:
        x = x0.copy()
        for k, c in combo:
            x = x + c * rows[k]
        values.append(np.atleast_1d(f(x)).tolist())
    return {"answer": {"values": values, "claims": [np.atleast_1d(claim(s, rows)).tolist() for s in plan["claims"]]},
            "duration_s": 0.01}


def _converse(begin: dict, f, x0, claim) -> dict:
    host = oracle.Oracle()
    reply, records = host.answer({"type": "ask", "begin": begin})
    assert records == [] and "plan" in reply
    plan = {**reply["plan"], **{k: v for k, v in oracle.plan_for(begin).items() if k in ("h", "how")}}
    reply, records = host.answer({"type": "ask", **_answer(plan, f, x0, claim)})
    assert reply == {"ok": True} and len(records) == 1
    return records[0]


BEGIN = {"cell": 0, "line": 3, "transform": "jax.grad", "check": "jacobian", "dtype": "float64", "m": 1, "n": 3,
         "scale": 3.0, "note": "", "wide": True, "calls": 1, "moved": ""}
X0 = np.array([1.0, 2.0, 3.0])


def f(x: np.ndarray) -> np.ndarray:
    return np.array([np.sum(np.sin(x) * x)])


def grad(x: np.ndarray) -> np.ndarray:
    return np.sin(x) + x * np.cos(x)


def test_a_right_gradient_is_checked_true_with_the_tolerance_tables_bound() -> None:
    rec = _converse(BEGIN, f, X0, lambda spec, rows: grad(X0) @ rows[spec[1]])
    tol = tolerance("float64", "first")
    assert rec["status"] == "checked" and rec["kind"] == "first" and rec["directions"] == "every input direction"
    assert rec["rtol"] == tol.rtol and rec["atol"] == tol.atol
    assert rec["max_abs_err"] <= rec["bound"] and rec["max_abs_err"] < 1e-8
    assert rec["expected"] == pytest.approx(grad(X0).tolist(), abs=1e-8)


def test_a_wrong_gradient_is_out_of_bounds() -> None:
    wrong = grad(X0) * np.array([1.0, 1.0, 1.001])  # one component off by 0.1 %
    rec = _converse(BEGIN, f, X0, lambda spec, rows: wrong @ rows[spec[1]])
    assert rec["status"] == "checked" and rec["max_abs_err"] > rec["bound"]


def test_a_large_input_is_checked_along_random_directions_and_a_hessian_by_pairs() -> None:
    x0 = np.linspace(0.1, 1.0, 100)
    begin = {**BEGIN, "n": 100, "scale": 1.0}
    rec = _converse(begin, f, x0, lambda spec, rows: grad(x0) @ rows[spec[1]])
    assert rec["directions"].startswith("4 random unit directions") and rec["max_abs_err"] <= rec["bound"]
    hess = np.diag(2 * np.cos(X0) - X0 * np.sin(X0))
    rec = _converse({**BEGIN, "check": "hessian", "transform": "jax.hessian"}, f, X0,
                    lambda spec, rows: np.atleast_1d(rows[spec[1]] @ hess @ rows[spec[2]]))
    assert rec["kind"] == "second" and rec["size"] == 9 and rec["max_abs_err"] <= rec["bound"]
    rec = _converse({**BEGIN, "check": "hessian", "transform": "jax.hessian"}, f, X0,
                    lambda spec, rows: np.atleast_1d(rows[spec[1]] @ (hess + 0.05) @ rows[spec[2]]))
    assert rec["max_abs_err"] > rec["bound"]


def test_a_function_that_rejects_float64_gets_the_wider_step_and_the_noise_allowance() -> None:
    def f32(x: np.ndarray) -> np.ndarray:
        return f(x.astype(np.float32)).astype(np.float32).astype(np.float64)

    begin = {**BEGIN, "dtype": "float32", "wide": False, "note": "the function rejects float64 inputs"}
    assert oracle.plan_for(begin)["h"] == pytest.approx(oracle.STEP[False] * 3.0)
    rec = _converse(begin, f32, X0, lambda spec, rows: grad(X0).astype(np.float32) @ rows[spec[1]])
    assert rec["fd_error_estimate"] > 0 and rec["max_abs_err"] <= rec["bound"]
    assert rec["note"].startswith("the function rejects float64")


def test_what_the_harness_cannot_make_the_host_do() -> None:
    host = oracle.Oracle()
    with pytest.raises(AskError):
        host.answer({"type": "ask", "answer": {"values": []}})  # no check began
    with pytest.raises(AskError):
        host.answer({"type": "ask", "begin": {**BEGIN, "check": "bogus"}})
    with pytest.raises(AskError):
        host.answer({"type": "ask", "begin": {**BEGIN, "scale": float("nan")}})
    host.answer({"type": "ask", "begin": BEGIN})
    with pytest.raises(AskError):
        host.answer({"type": "ask", "begin": BEGIN})  # a second check before the first ended
    _, [rec] = host.answer({"type": "ask", "answer": {"values": [[1.0]], "claims": [[1.0]]}})
    assert rec["status"] == "unverifiable" and "do not fit its plan" in rec["reason"]  # wrong count of numbers
    assert host.screen({"type": "derivative", "status": "checked"}) and not host.screen(
        {"type": "derivative", "status": "unverifiable"})


def test_a_huge_claimed_size_costs_the_host_nothing() -> None:
    plan = oracle.plan_for({**BEGIN, "n": 10**12, "m": 10**12})
    assert plan["directions"] == {"random": oracle.RANDOM, "seed": 0} and len(plan["points"]) == 4 * oracle.RANDOM
    assert plan["outputs"] == {"random": oracle.RANDOM, "seed": 1}
    plan = oracle.plan_for({**BEGIN, "check": "vmap", "size": 10**9})
    assert len(plan["indices"]) == oracle.MAX_SAMPLE


def test_no_threshold_travels_into_the_sandbox_and_nothing_inside_imports_the_host() -> None:
    doc = Document(source="t.md", kind="markdown", title="t", cells=[Cell(source="import jax\nx = 1", line=1)])
    program = session.program(doc, ["jax"])
    for word in ("tolerances", "rtol", "atol", "richardson"):
        assert word not in program.split("\nmain(")[-1], word
    for path in [*INSIDE.glob("*.py"), ROOT / "conformance" / "claims" / "documents" / "harness.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("conformance", "backends")) or name.startswith(
                    "conformance.claims.documents.inside"), f"{path.name} imports {name}"
        code = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
            n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        judging = sorted(name for name in code - {"tolist"} if any(w in name.lower() for w in ("tol", "richardson", "bound")))
        assert not judging, f"{path.name} judges: {judging}"
