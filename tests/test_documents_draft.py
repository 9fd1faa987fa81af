"""``check-doc --draft-claims``: a claims file drafted from a document's checkable prose, which does not validate
until its TODOs are filled (each problem names a TODO line) and validates and anchors once they are."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.article import claims as article_claims
from conformance.claims.article.counters import COUNTERS
from conformance.claims.documents import draft, registry
from conformance.claims.documents.kinds import prose

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"
DOC = FIX / "names_draft.md"


def _draft(tmp_path: Path, source: Path = DOC, results: dict[str, Any] | None = None) -> tuple[Path, int]:
    (doc,) = registry.read(str(source))
    path = tmp_path / "drafts" / "claims.toml"
    return path, draft.write_claims(doc, results or {}, path)


def _fill(text: str) -> str:
    """What a maintainer writes in place of the TODOs."""
    text = re.sub(r'counter = "TODO".*', 'counter = "grad-scaled"', text)
    text = re.sub(r"proposition = '''# TODO.*?'''", "proposition = '''\ndef holds(x, v):\n    return True\n'''",
                  text, flags=re.DOTALL)
    text = re.sub(r"measure = \{.*", 'measure = { baseline = "torch.func.grad", alternatives = ["manual"] }', text)
    return re.sub(r"backends = \[\"TODO\"\].*", 'backends = ["numpy"]', text)


def test_each_checkable_sentence_becomes_one_claim_of_its_kind(tmp_path: Path) -> None:
    path, n = _draft(tmp_path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    got = [(c["id"], c["kind"]) for c in data["claim"]]
    assert n == len(got) == 6
    assert got == [("derivative-line-3", "proposition"), ("shape-line-4", "proposition"),
                   ("equality-line-19", "proposition"), ("speed-line-20", "performance"),
                   ("shape-line-24", "proposition"), ("derivative-line-25", "proposition")]
    quotes = [c["quote"] for c in data["claim"]]
    assert not any("It prints" in q for q in quotes)  # the shows rule decides that sentence
    assert not any("narrative" in q or q.startswith("Derivatives with") for q in quotes)  # no claim; a heading
    assert data["claim"][1].get("occurrence") == 1 and data["claim"][4].get("occurrence") == 2  # said twice
    assert data["claim"][2]["quote"].endswith("e.g. over the rows of a matrix.")  # e.g. ends no sentence
    assert data["claim"][0]["backends"] == ["torch"]  # the libraries the document imports
    assert (path.parent / data["article"]["path"]).resolve() == DOC.resolve()  # relative to the claims file


def test_the_unfilled_draft_does_not_validate_and_every_problem_names_a_todo_line(tmp_path: Path) -> None:
    path, _ = _draft(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    with pytest.raises(article_claims.ClaimsError) as info:
        article_claims.validate(path)
    problems = info.value.messages
    assert problems
    claimed = set()
    for problem in problems:
        file, line, _ = problem.split(":", 2)
        assert file == str(path) and "TODO" in lines[int(line) - 1], problem
        claimed.add(re.search(r"claim '([^']+)'", problem).group(1))
    assert claimed == {c["id"] for c in tomllib.loads("\n".join(lines))["claim"]}  # no claim passes unfilled


def test_the_filled_draft_validates_and_its_quotes_anchor_at_their_lines(tmp_path: Path) -> None:
    path, _ = _draft(tmp_path)
    path.write_text(_fill(path.read_text(encoding="utf-8")), encoding="utf-8")
    article_claims.validate(path)
    cf = article_claims.load(path, check_anchors=True)
    found = article_claims.verify_anchors(cf)
    assert {cid: loc.line for cid, loc in found.items()} == {
        c.id: int(c.id.rsplit("-", 1)[1]) for c in cf.claims}


def test_a_rest_page_drafts_too(tmp_path: Path) -> None:
    path, n = _draft(tmp_path, FIX / "jax_derivatives.rst")
    assert n >= 2
    path.write_text(_fill(path.read_text(encoding="utf-8")), encoding="utf-8")
    article_claims.load(path, check_anchors=True)


def test_the_results_give_each_claim_its_context_and_decide_prose_outputs(tmp_path: Path) -> None:
    record = {"source": str(DOC), "libraries": {"torch": "2.13.0"},
              "cells": [{"index": 0, "line": 7}],
              "claims": [{"kind": "runs", "cell": 0, "line": 7, "verdict": "true"},
                         {"kind": "derivative-correct", "cell": 0, "line": 14, "verdict": "false"},
                         {"kind": "shows", "cell": 0, "line": 19, "verdict": "true",
                          "evidence": {"origin": "prose", "stated": "vmap(grad(f))"}}]}
    path, n = _draft(tmp_path, results={"documents": [record]})
    text = path.read_text(encoding="utf-8")
    assert "# next example (line 7): runs 1 true; derivative-correct 1 false" in text
    assert n == 5 and "equality-line-19" not in text


def test_sentences_split_at_sentence_ends_only() -> None:
    block = prose.Block("One uses e.g. `jax.grad` here. Then torch.func.grad\ncomputes it! Fine.", (3, 4))
    assert draft.sentences(block) == [("One uses e.g. `jax.grad` here.", 3), ("Then torch.func.grad\ncomputes it!", 3),
                                      ("Fine.", 4)]


def test_patterns_are_registered_once_and_suggest_only_registered_counters() -> None:
    assert list(draft.PATTERNS) == ["speed", "equality", "shape", "derivative", "transform"]
    assert all(name in COUNTERS for p in draft.PATTERNS.values() for _, name in p.counters)
    with pytest.raises(ValueError, match="twice"):
        draft.sentence_pattern("speed", kind="performance", words="x", hint="")
    with pytest.raises(ValueError, match="no template"):
        draft.sentence_pattern("new", kind="version", words="x", hint="")


def test_an_existing_claims_file_is_never_replaced(tmp_path: Path) -> None:
    path, _ = _draft(tmp_path)
    path.write_text("# filled by hand\n", encoding="utf-8")
    (doc,) = registry.read(str(DOC))
    with pytest.raises(FileExistsError, match="choose another file"):
        draft.write_claims(doc, {}, path)
    assert path.read_text(encoding="utf-8") == "# filled by hand\n"
    assert draft.write_claims(doc, {}, path, overwrite=True) == 6
