"""Claim kind ``names`` and the claim-kind registry: names found in code and prose, aliases resolved, each judged
against the installed libraries in the sandbox (never imported by the checker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.documents import execute, kinds, registry
from conformance.claims.documents.kinds import names, prose
from conformance.claims.documents.model import Cell, Document, Expected
from conformance.claims.documents.session import SessionResult

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"
DOC = FIX / "names_aliases.md"
KEYS = {"id", "kind", "cell", "line", "verdict", "reason", "rule", "evidence"}


def _result(doc: Document, status: str = "ok") -> SessionResult:
    return SessionResult(status, "", 0.0, [None] * len(doc.cells), [], {}, [], None)


def _first_lines(doc: Document) -> dict[str, int]:
    found: dict[str, int] = {}
    for m in names.mentions(doc):
        found.setdefault(m.name, m.line)
    return found


def test_names_come_from_imports_aliases_roles_inline_code_and_plain_prose() -> None:
    (doc,) = registry.read(str(DOC))
    first = _first_lines(doc)
    assert first["torch.func.vmap"] == 3  # :func:`torch.func.vmap`
    assert first["torch.func.grad"] == 3  # `torch.func.grad`
    assert first["torch.func.hessiani"] == 4  # inline code, then `from torch.func import hessiani` at 10
    assert first["jax.numpy.sum"] == 5  # {py:func}`jnp.sum <jax.numpy.sum>`: the role's target
    assert first["jax.numpy.foo_bar"] == 23  # jnp.foo_bar through `import jax.numpy as jnp`
    assert first["jax.numpy.linalg.norm"] == 24
    assert first["functorch"] == 17 and first["functorch.vmap"] == 17
    found = names.mentions(doc)
    assert {m.line for m in found if m.name == "torch.func.hessiani"} == {4, 10}
    assert {m.line for m in found if m.name == "jax.numpy.foo_bar"} == {23, 27}  # code, and `jnp.foo_bar` in prose
    assert {m.line for m in found if m.name == "torch.func.vmap"} == {3, 27}  # role, and written plainly
    everything = set(first)
    assert not any("forward" in n or "Linear.forward" in n for n in everything)  # model.forward is the document's
    assert not any(n.endswith(("html", "org", "io")) or "readthedocs" in n for n in everything)  # URLs, host names
    assert all(n.split(".")[0] in names.ROOTS for n in everything)


def test_code_aliases_carry_across_cells_and_prose_reads_conventional_ones() -> None:
    doc = Document(source="x.md", kind="markdown", cells=[
        Cell("import jax.numpy as np\nfrom torch import func as F\n", 1),
        Cell("np.sum(x)\nF.vmap(g)\nvmap(g)\nos.path.join('a')\n", 5),
    ])
    found = {(m.name, m.line) for m in names.mentions(doc)}
    assert ("jax.numpy.sum", 5) in found and ("torch.func.vmap", 6) in found
    assert not any(n.startswith(("os", "vmap")) for n, _ in found)
    block = prose.Block("Use `jnp.mean` or np.mean; `autograd.grad` too.", (9,))
    got = {m.name for m in names.prose_mentions(block, {**names.PROSE_ALIASES})}
    assert got == {"jax.numpy.mean", "numpy.mean", "autograd.grad"}


def test_autograd_in_a_torch_document_is_torch_autograd(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Call `autograd.grad` here.\n\n```python\nimport torch\n```\n", encoding="utf-8")
    (doc,) = registry.read(str(page))
    assert {m.name for m in names.mentions(doc)} == {"torch", "torch.autograd.grad"}
    page.write_text("Call `autograd.grad` here.\n\n```python\nimport torch\nimport autograd\n```\n",
                    encoding="utf-8")
    (doc,) = registry.read(str(page))
    assert {m.name for m in names.mentions(doc)} == {"torch", "autograd", "autograd.grad"}


@pytest.mark.parametrize("name", ["tutorial.md", "jax_derivatives.rst", "stale_outputs.ipynb",
                                  "gallery_per_sample.py"])
def test_prose_blocks_point_at_their_lines(name: str) -> None:
    (doc,) = registry.read(str(FIX / name))
    lines = (FIX / name).read_text(encoding="utf-8").splitlines()
    found = prose.blocks(doc)
    assert found
    for block in found:
        for text, line in zip(block.text.split("\n"), block.lines):
            words = text.split()[:3]
            assert all(w.strip("`*") in lines[line - 1] for w in words), (block, line, lines[line - 1])
    code_lines = {c.line + k for c in doc.cells for k in range(c.source.count("\n") + 1)}
    if doc.kind in ("markdown", "rest"):  # a notebook's lines are JSON; a gallery cell holds its text comments
        assert not code_lines & {n for b in found for n in b.lines}  # no code read as prose


HOST_SCRIPT = r"""
import json, sys
from conformance.claims.documents import kinds, registry
from conformance.claims.documents.session import SessionResult
(doc,) = registry.read(sys.argv[1])
result = SessionResult("ok", "", 0.0, [None] * len(doc.cells), [], {}, [], None)
claims = kinds.judge_registered(doc, result, kinds.Context(), kinds=["names"])
print(json.dumps({"claims": claims, "host": sorted(m for m in ("torch", "jax", "functorch")
                                                         if m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def judged() -> dict[str, Any]:
    """The fixture's names claims, judged in a fresh checker process (so what it imported can be seen)."""
    out = subprocess.run([sys.executable, "-c", HOST_SCRIPT, str(DOC)], capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).resolve().parents[1], check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _by_name(judged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["evidence"]["name"]: c for c in judged["claims"]}


def test_names_claims_have_the_shape_of_every_claim(judged: dict[str, Any]) -> None:
    claims = judged["claims"]
    assert claims and all(set(c) == KEYS and c["kind"] == "names" and c["rule"] == names.RULE for c in claims)
    assert len({c["id"] for c in claims}) == len(claims) == len(_by_name(judged))  # one claim per distinct name


def test_the_checker_itself_imports_no_library(judged: dict[str, Any]) -> None:
    assert judged["host"] == []


def test_a_missing_name_is_false_with_the_closest_name(judged: dict[str, Any]) -> None:
    c = _by_name(judged)["torch.func.hessiani"]
    assert c["verdict"] == "false"
    assert c["reason"].startswith("torch.func has no attribute hessiani; did you mean hessian?")
    assert c["line"] == 4 and c["cell"] == -1 and c["id"] == "names@4:torch.func.hessiani"
    assert c["evidence"]["lines"] == [4, 10] and c["evidence"]["where"] == ["import", "prose"]
    assert c["evidence"]["resolved"]["suggestions"][0] == "hessian"


def test_an_alias_resolves_to_its_module(judged: dict[str, Any]) -> None:
    c = _by_name(judged)["jax.numpy.foo_bar"]
    assert c["verdict"] == "false" and c["reason"].startswith("jax.numpy has no attribute foo_bar")
    assert c["line"] == 23 and c["cell"] == 1 and c["evidence"]["written"] == ["jnp.foo_bar"]
    assert c["evidence"]["lines"] == [23, 27]
    norm = _by_name(judged)["jax.numpy.linalg.norm"]
    assert norm["verdict"] == "true" and norm["evidence"]["written"] == ["jax.numpy.linalg.norm", "jnp.linalg.norm"]


def test_existing_names_are_true_and_deprecated_ones_say_so(judged: dict[str, Any]) -> None:
    by = _by_name(judged)
    vmap = by["torch.func.vmap"]
    assert vmap["verdict"] == "true" and "deprecated" not in vmap["reason"] and "deprecated" not in vmap["evidence"]
    assert vmap["reason"].startswith("torch.func.vmap exists in torch ")
    old = by["functorch"]
    assert old["verdict"] == "true" and old["reason"].endswith(
        "deprecated: use torch.func (functorch was merged into PyTorch 2.0 as torch.func)")
    old_vmap = by["functorch.vmap"]
    assert old_vmap["verdict"] == "true" and "deprecated" in old_vmap["evidence"]
    assert "use torch.func" in old_vmap["reason"]
    assert "`functorch.vmap` is deprecated" in old_vmap["evidence"]["deprecated"]  # the library's own words
    assert by["torch.nn.Linear"]["verdict"] == "true" and by["jax.numpy.sum"]["verdict"] == "true"


def _cached(doc: Document, entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    context = kinds.Context(cache={"names": entries, "names-versions": {"torch": "9.9"}})
    return {c["evidence"]["name"]: c for c in kinds.judge_registered(doc, _result(doc), context, kinds=["names"])}


MISSING = {"status": "missing", "parent": "torch.func", "attr": "hessiani", "message": "", "suggestions": []}


def test_a_cell_that_states_the_exception_of_a_missing_name_is_no_false_claim() -> None:
    raising = Cell("torch.func.hessiani\n", 3, expected=[Expected(
        "Traceback (most recent call last):\nAttributeError: module 'torch.func' has no attribute 'hessiani'",
        "doctest", 4)])
    doc = Document(source="x.md", kind="markdown", cells=[Cell("import torch\n", 1), raising])
    by = _cached(doc, {"torch": {"status": "found", "type": "module", "module": None, "deprecated": ""},
                       "torch.func.hessiani": MISSING})
    assert by["torch.func.hessiani"]["verdict"] == "true"
    assert "as the document states" in by["torch.func.hessiani"]["reason"]
    plain = Document(source="y.md", kind="markdown", cells=[Cell("import torch\ntorch.func.hessiani\n", 1)])
    assert _cached(plain, {"torch": by["torch"]["evidence"]["resolved"],
                           "torch.func.hessiani": MISSING})["torch.func.hessiani"]["verdict"] == "false"


def test_a_library_that_is_not_installed_is_unverifiable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "installed", lambda root: root != "flax")
    doc = Document(source="x.md", kind="markdown", cells=[Cell("import flax.linen as nn\nnn.Dense(3)\n", 1)])
    by = _cached(doc, {})
    assert set(by) == {"flax.linen", "flax.linen.Dense"}
    assert all(c["verdict"] == "unverifiable" and "flax (Flax) is not installed" in c["reason"] for c in by.values())


@pytest.mark.parametrize("record", [
    {"type": "names", "names": {"torch.func.vmap": {"status": "found"}}, "versions": {}},  # fields missing
    {"type": "names", "names": {"torch.func.vmap": {"status": "found", "type": "x", "module": None, "deprecated": "",
                                                    "extra": 1}}, "versions": {}},  # a field too many
    {"type": "names", "names": {}, "versions": {}},  # the name left out
    {"type": "names", "names": {"torch.func.vmap": MISSING, "os.system": MISSING}, "versions": {}},  # one added
    {"type": "names", "names": {"torch.func.vmap": {**MISSING, "suggestions": [1]}}, "versions": {}},
    {"type": "names", "names": [], "versions": {"torch": 2}},
])
def test_a_probe_record_the_host_cannot_accept_counts_for_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                  record: dict[str, Any]) -> None:
    sent: list[str] = []

    def fake(code: str, **kwargs: Any) -> execute.Outcome:
        sent.append(code)
        assert kwargs["preimport"] == ["torch"] and kwargs["records"] == ("names",)
        return execute.Outcome("ok", "", "", 0.1, records=[record])

    monkeypatch.setattr(execute, "run_program", fake)
    doc = Document(source="x.md", kind="markdown", cells=[Cell("torch.func.vmap(f)\n", 1)])
    (claim,) = kinds.judge_registered(doc, _result(doc), kinds.Context(), kinds=["names"])
    assert claim["verdict"] == "unverifiable" and "unreadable" in claim["reason"]
    assert len(sent) == 1 and '\\"torch.func.vmap\\"' in sent[0]


def test_a_probe_that_does_not_report_is_unverifiable_and_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake(code: str, **kwargs: Any) -> execute.Outcome:
        calls.append(1)
        return execute.Outcome("timeout", "", "", 60.0, reason="over 60 s")

    monkeypatch.setattr(execute, "run_program", fake)
    doc = Document(source="x.md", kind="markdown", cells=[Cell("torch.func.vmap(f)\n", 1)])
    context = kinds.Context()
    for _ in range(2):
        (claim,) = kinds.judge_registered(doc, _result(doc), context, kinds=["names"])
        assert claim["verdict"] == "unverifiable" and "did not report (timeout" in claim["reason"]
    assert len(calls) == 2  # a failure is not cached


def test_a_cancelled_session_asks_nothing_of_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute, "run_program", lambda *a, **k: pytest.fail("probed"))
    doc = Document(source="x.md", kind="markdown", cells=[Cell("torch.func.vmap(f)\n", 1)])
    assert kinds.judge_registered(doc, _result(doc, "cancelled"), kinds.Context(), kinds=["names"]) == []


# --- the registry --------------------------------------------------------------------------------------------------

def test_registry_refuses_built_in_and_duplicate_names() -> None:
    with pytest.raises(ValueError, match="built into"):
        kinds.claim_kind("runs", rule="x")
    with pytest.raises(ValueError, match="two claim kinds"):
        kinds.claim_kind("names", rule="x")(lambda doc, result, context: [])
    with pytest.raises(ValueError, match="unknown claim kind"):
        kinds.judge_registered(Document("x", "markdown", []), _result(Document("x", "markdown", [])), kinds=["nope"])
    assert "names" in kinds.load()


def test_a_kind_that_fails_costs_only_its_own_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(doc: Document, result: SessionResult, context: kinds.Context) -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    def fine(doc: Document, result: SessionResult, context: kinds.Context) -> list[dict[str, Any]]:
        return [kinds.claim("test-fine", cell=0, line=1, verdict="true", reason="ok", evidence={})]

    monkeypatch.setitem(kinds.KINDS, "test-broken", kinds.ClaimKind("test-broken", "a rule", broken))
    monkeypatch.setitem(kinds.KINDS, "test-fine", kinds.ClaimKind("test-fine", "another rule", fine))
    doc = Document("x.md", "markdown", [])
    got = kinds.judge_registered(doc, _result(doc), kinds=["test-broken", "test-fine"])
    assert [(c["id"], c["verdict"]) for c in got] == [("test-broken@0", "unverifiable"), ("test-fine@1#0", "true")]
    assert "RuntimeError: boom" in got[0]["reason"] and got[1]["rule"] == "another rule"
    assert all(set(c) == KEYS for c in got)


def test_a_verdict_is_a_word_of_the_one_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind that writes a Python bool (or a typo) as its verdict is our bug: the claim is refused where it is made,
    and the kind's claims become one unverifiable claim naming it, as for any failing kind."""
    def boolean(doc: Document, result: SessionResult, context: kinds.Context) -> list[dict[str, Any]]:
        return [kinds.claim("test-boolean", cell=0, line=1, verdict=True, reason="held", evidence={})]  # type: ignore[arg-type]

    monkeypatch.setitem(kinds.KINDS, "test-boolean", kinds.ClaimKind("test-boolean", "a rule", boolean))
    doc = Document("x.md", "markdown", [])
    [got] = kinds.judge_registered(doc, _result(doc), kinds=["test-boolean"])
    assert got["verdict"] == "unverifiable" and "verdict True is not one of true, false" in got["reason"]
    with pytest.raises(ValueError, match="'ture' is not one of"):
        kinds.claim("test-boolean", cell=0, line=1, verdict="ture", reason="", evidence={})
