"""check-doc end to end, in the sandbox: the four fixture formats, the false-alarm guards, hostile documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.documents import cli, registry

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"
NAMES = ("tutorial.md", "stale_outputs.ipynb", "jax_derivatives.rst", "gallery_per_sample.py",
         "transforms_torch.md", "transforms_jax.md")


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    docs = [d for name in NAMES for d in registry.read(str(FIX / name))]
    return {Path(r["source"]).name: r for r in cli.check(docs, timeout=120, jobs=2, run_skipped=False)}


def _false(rec: dict[str, Any]) -> set[tuple[str, int]]:
    return {(c["kind"], c["line"]) for c in rec["claims"] if c["verdict"] == "false"}


def test_a_straight_through_rule_the_page_explains_is_not_a_finding(records: dict[str, dict[str, Any]]) -> None:
    """The gallery fixture's StraightThroughReLU passes the gradient unchanged, and its prose says so ("a
    'straight-through' backward rule ... not the derivative"): finite differences disagree, by the page's design."""
    (claim,) = [c for c in records["gallery_per_sample.py"]["claims"]
                if c["kind"] == "derivative-correct" and c["line"] == 55]
    assert claim["verdict"] == "unverifiable" and "straight" in claim["reason"] and "disagrees" in claim["reason"]


@pytest.mark.parametrize(("name", "expected"), [
    # each fixture: one stale output and one wrong derivative that prints nothing (the gallery's is a
    # straight-through rule its prose explains: not false, see above); nothing else is false
    ("tutorial.md", {("shows", 33), ("derivative-correct", 57)}),
    ("stale_outputs.ipynb", {("shows", 75), ("derivative-correct", 115)}),
    ("jax_derivatives.rst", {("shows", 15), ("derivative-correct", 39)}),
    ("gallery_per_sample.py", {("shows", 27)}),
])
def test_fixtures_find_exactly_the_planted_faults(records: dict[str, dict[str, Any]], name: str,
                                                  expected: set[tuple[str, int]]) -> None:
    rec = records[name]
    assert rec["status"] == "ok", rec["reason"]
    assert _false(rec) == expected
    kinds = {c["kind"] for c in rec["claims"] if c["verdict"] == "true"}
    assert {"runs", "shows", "derivative-correct"} <= kinds  # true outputs and derivatives are confirmed too


def test_wrong_derivative_evidence_has_got_expected_and_error(records: dict[str, dict[str, Any]]) -> None:
    (claim,) = [c for c in records["tutorial.md"]["claims"] if c["kind"] == "derivative-correct" and c["verdict"] == "false"]
    ev = claim["evidence"]
    # d/dv sqrt(|v|^2) = v/|v| = [0.6, 0.8]; the planted rule forgets the 1/2 and gives [1.2, 1.6]
    assert ev["got"] == pytest.approx([1.2, 1.6], abs=1e-6)
    assert ev["expected"] == pytest.approx([0.6, 0.8], abs=1e-9)
    assert ev["max_abs_err"] > ev["bound"] and ev["transform"] == "torch.func.grad"


def test_notebook_stale_output_error_and_magic(records: dict[str, dict[str, Any]]) -> None:
    rec = records["stale_outputs.ipynb"]
    by_cell = {c["index"]: c for c in rec["cells"]}
    assert by_cell[5]["status"] == "raised" and by_cell[6]["status"] == "ok"  # %timeit ran its statement once
    runs = {c["cell"]: c["verdict"] for c in rec["claims"] if c["kind"] == "runs"}
    assert runs[5] == "true"  # it raised the ValueError the notebook stored
    assert runs[6] == "true" and by_cell[6]["notes"] == ["%timeit runs its statement once: f(1.0)"]
    assert rec["libraries"]["jax"]


@pytest.mark.parametrize(("name", "count"), [("transforms_torch.md", 16), ("transforms_jax.md", 13)])
def test_correct_transform_calls_are_all_confirmed(records: dict[str, dict[str, Any]], name: str,
                                                   count: int) -> None:
    rec = records[name]
    checked = [c for c in rec["claims"] if c["kind"] == "derivative-correct" and c["verdict"] != "unverifiable"]
    assert [c for c in checked if c["verdict"] != "true"] == []
    assert len(checked) == count
    assert all(c["verdict"] == "true" for c in rec["claims"] if c["kind"] in ("runs", "shows"))


def test_a_compiled_transform_is_checked_at_the_compiled_calls_inputs(records: dict[str, dict[str, Any]]) -> None:
    """``jax.jit(jax.grad(f))(x)``: inside jit the grad sees tracers, but the compiled call's inputs are concrete,
    so the compiled result is checked there (it used to be unverifiable)."""
    claims = records["transforms_jax.md"]["claims"]
    assert not [c for c in claims if c["verdict"] == "unverifiable"]
    (claim,) = [c for c in claims if c["kind"] == "derivative-correct" and c["line"] == 30]
    assert claim["verdict"] == "true" and "under jax.jit" in claim["reason"]


WRONG_VMAP_RULE = """import torch
from torch.func import vmap

class Double(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return 2 * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, g):
        return 2 * g

    @staticmethod
    def vmap(info, in_dims, x):
        return 3 * x, in_dims[0]  # should be 2 * x

ys = vmap(Double.apply)(torch.ones(3, 2))"""


def test_a_wrong_batching_rule_fails_the_loop_identity(tmp_path: Path) -> None:
    (rec,) = cli.check(registry.read(_doc(tmp_path, "vmap.md", WRONG_VMAP_RULE)), timeout=60, jobs=1,
                       run_skipped=False)
    (claim,) = [c for c in rec["claims"] if c["kind"] == "derivative-correct"]
    assert claim["verdict"] == "false" and claim["line"] == 22  # the fence is line 1
    assert claim["evidence"]["got"][:2] == [3.0, 3.0] and claim["evidence"]["expected"][:2] == [2.0, 2.0]


LARGE_AND_FLOAT32_ONLY = """import torch
from torch.func import grad
torch.manual_seed(0)
W = torch.randn(300, 3)

def closure(x):  # W stays float32: float64 inputs are refused, so differences are taken in float32
    return torch.tanh(x @ W).sum()

class Cube(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x ** 3

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2 * (1 + 1e-3 * (x > 0))  # wrong by 0.1 % for positive entries

x = torch.randn(300)
ok = grad(closure)(x)
bad = grad(lambda v: Cube.apply(v).sum())(x)"""


def test_large_inputs_and_float32_only_functions(tmp_path: Path) -> None:
    (rec,) = cli.check(registry.read(_doc(tmp_path, "large.md", LARGE_AND_FLOAT32_ONLY)), timeout=60, jobs=1,
                       run_skipped=False)
    ok, bad = [c for c in rec["claims"] if c["kind"] == "derivative-correct"]
    assert ok["verdict"] == "true" and "rejects float64" in ok["evidence"]["note"]
    assert "random unit directions" in ok["evidence"]["directions"]
    assert bad["verdict"] == "false"  # a 0.1 % error in 300 inputs is found through 4 random directions


def _doc(tmp_path: Path, name: str, *cells: str) -> str:
    path = tmp_path / name
    path.write_text("\n".join(f"```python\n{c}\n```\n" for c in cells), encoding="utf-8")
    return str(path)


def test_a_hanging_document_costs_only_itself(tmp_path: Path) -> None:
    hang = _doc(tmp_path, "hang.md", "x = 1\nprint(x)  # 1", "while True:\n    pass", "print(x)  # 1")
    fine = _doc(tmp_path, "fine.md", "print(2 + 2)  # 4")
    docs = [d for p in (hang, fine) for d in registry.read(p)]
    hung, ok = cli.check(docs, timeout=8, jobs=2, run_skipped=False)
    assert hung["status"] == "timeout"
    assert [c["status"] for c in hung["cells"]] == ["ok", "timeout", "not run"]
    verdicts = [(c["kind"], c["verdict"]) for c in hung["claims"]]
    assert verdicts == [("runs", "true"), ("shows", "true"), ("runs", "unverifiable"), ("runs", "unverifiable"),
                        ("shows", "unverifiable")]
    assert ok["status"] == "ok" and all(c["verdict"] == "true" for c in ok["claims"])


def test_a_flood_of_output_is_capped_and_crashes_are_contained(tmp_path: Path) -> None:
    flood = _doc(tmp_path, "flood.md", "for i in range(200000):\n    print('spam' * 10)", "print('after')  # after")
    crash = _doc(tmp_path, "crash.md", "import os\nos.abort()", "print(1)  # 1")
    docs = [d for p in (flood, crash) for d in registry.read(p)]
    flooded, crashed = cli.check(docs, timeout=60, jobs=2, run_skipped=False)
    assert flooded["status"] == "ok"
    assert len(flooded["cells"][0]["stdout"]) <= 20000 and flooded["cells"][0]["dropped_chars"] > 1_000_000
    assert flooded["claims"][-1]["verdict"] == "true"
    assert crashed["status"] == "killed"
    assert [c["status"] for c in crashed["cells"]] == ["killed", "not run"]
    assert "SIGABRT" in crashed["cells"][0]["reason"]


def test_check_doc_command_writes_documents_and_fails_on_false(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    path = _doc(tmp_path, "small.md", "print(1 + 1)  # 3")
    from conformance.__main__ import main

    assert main(["check-doc", path, "--out", str(out)]) == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    (rec,) = doc["documents"]
    assert rec["reproducer"] == f"python -m conformance check-doc {path}"
    assert rec["summary"]["shows"] == {"true": 0, "false": 1, "environment": 0, "unverifiable": 0}
    assert doc["run"]["documents"]["cells_run"] == 1
    assert main(["check-doc", str(tmp_path / "missing.md"), "--out", str(out)]) == 2


def test_a_function_that_stops_gradients_is_unverifiable_with_the_reason_said(tmp_path: Path) -> None:
    """torch.func.grad's own docstring shows no_grad being respected: that is documented behaviour, not a wrong
    derivative, so the disagreement with finite differences is reported but not judged false."""
    code = ("import torch\nfrom torch.func import grad\n\ndef f(x):\n    return x * x.detach()\n\n"
            "g = grad(f)(torch.tensor(3.0))")
    (rec,) = cli.check(registry.read(_doc(tmp_path, "stop.md", code)), timeout=60, jobs=1, run_skipped=False)
    (claim,) = [c for c in rec["claims"] if c["kind"] == "derivative-correct"]
    assert claim["verdict"] == "unverifiable" and claim["evidence"]["stops_gradient"] == ["detach"]
    assert claim["evidence"]["got"] == [3.0] and claim["evidence"]["expected"] == pytest.approx([6.0])
    assert "follows that by design" in claim["reason"]


def test_notebook_display_follows_ipython(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook()
    nb.cells = [new_code_cell("x = 2\nx * 3"), new_code_cell("x * 4;"), new_code_cell("print(x)\nx + 1")]
    path = tmp_path / "display.ipynb"
    nbformat.write(nb, str(path))
    (rec,) = cli.check(registry.read(str(path)), timeout=60, jobs=1, run_skipped=False)
    assert [c["display"] for c in rec["cells"]] == ["6", None, "3"]
    assert rec["cells"][2]["stdout"] == "2\n"


def test_a_claims_file_adds_prose_claims_on_top(tmp_path: Path) -> None:
    from conformance.__main__ import main

    fixtures = FIX.parent
    out = tmp_path / "r.json"
    code = main(["check-doc", str(fixtures / "mini_article.md"), "--claims", str(fixtures / "mini_article_claims.toml"),
                 "--out", str(out)])
    doc = json.loads(out.read_text(encoding="utf-8"))
    (rec,) = doc["documents"]
    assert {c["kind"] for c in rec["claims"]} >= {"runs", "derivative-correct"}
    assert doc["articles"][0]["id"] == "mini" and len(doc["claims"]) >= 3
    assert {c["verdict"] for c in doc["claims"]} >= {"true", "false"}  # the mini article holds a wrong claim
    assert code == 1
    assert main(["check-doc", str(FIX), "--claims", str(fixtures / "mini_article_claims.toml")]) == 2


def test_a_memory_hog_raises_in_its_cell_and_the_next_cell_runs(tmp_path: Path) -> None:
    hog = _doc(tmp_path, "hog.md", "big = bytearray(64 * 1024 ** 3)", "print(42)  # 42")
    (rec,) = cli.check(registry.read(hog), timeout=60, jobs=1, run_skipped=False)
    assert rec["cells"][0]["status"] == "raised" and "MemoryError" in rec["cells"][0]["reason"]
    assert [c["verdict"] for c in rec["claims"]] == ["false", "true", "true"]
