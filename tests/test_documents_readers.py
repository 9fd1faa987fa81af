"""What the readers take from a page: MyST code cells and their tags, reST block lines, the imports a page assumes,
statements that a block raises, and outputs stated in a comment above or below a print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.claims.documents import cells, cli, prelude, registry
from conformance.claims.documents.model import Cell, Document

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"


def _doc(name: str) -> Document:
    return registry.read(str(FIX / name))[0]


def _by_line(doc: Document) -> dict[int, Cell]:
    return {c.line: c for c in doc.cells if not c.assumed}


def test_myst_code_cells_without_language_are_code() -> None:
    doc = _doc("reader_myst.md")
    assert sorted(_by_line(doc)) == [4, 10, 16, 24, 33]
    assert _by_line(doc)[4].display == "last"


def test_myst_tags_raise_and_skip() -> None:
    found = _by_line(_doc("reader_myst.md"))
    assert "raises-exception" in found[10].raises
    assert found[16].skipped and not found[16].raises
    assert not found[4].raises and not found[4].skipped


def test_rest_literal_block_line_is_its_own() -> None:
    lines = sorted(_by_line(_doc("reader_rest.rst")))
    assert lines[:2] == [8, 15]


def test_prelude_assumes_only_unbound_conventional_names() -> None:
    doc = _doc("reader_rest.rst")
    first = doc.cells[0]
    assert first.assumed[0] == "import numpy as np"
    assert any(a.startswith("from os.path import ") and "join" in a for a in first.assumed)
    assert "math" not in first.code  # imported by the page itself
    bound = Document(source="x", kind="markdown", cells=[Cell("import numpy as np\n", 1), Cell("np.ones(1)\n", 3)])
    assert prelude.add(bound, []).cells[0].assumed == []
    jaxless = Document(source="x", kind="markdown", cells=[Cell("random.seed(0)\n", 1)])
    assert not prelude.add(jaxless, []).cells[0].assumed  # `random` is jax.random only on a JAX page


def test_raise_statements_from_comments_and_prose() -> None:
    found = _by_line(_doc("reader_rest.rst"))
    assert "Raises an error" in found[29].raises
    assert not found[34].raises  # "Does not raise an error" says the opposite
    assert "will raise" in _by_line(_doc("reader_myst.md"))[33].raises
    assert cells.raises_comment("x = f()  # RuntimeError: vmap: no\n", 1)
    assert cells.raises_comment("x.item()  # this will error\n", 1)
    assert not cells.raises_comment("# compute the error\n", 1)


def test_prints_comment_above_or_below_print() -> None:
    cell = _by_line(_doc("reader_myst.md"))[24]
    assert [(e.text, e.line, e.statement_line, e.scope) for e in cell.expected] == \
        [("3.0", 24, 2, "line"), ("2.0", 27, 3, "line")]
    above_next = cells.comment_expectations("print(1)\n# Prints: 2\nprint(2)\n", 1)
    assert [(e.text, e.statement_line) for e in above_next] == [("2", 3)]


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    docs = [_doc("reader_myst.md"), _doc("reader_rest.rst")]
    return {Path(r["source"]).name: r for r in cli.check(docs, timeout=120, jobs=2, run_skipped=False)}


def _runs(rec: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {c["line"]: c for c in rec["claims"] if c["kind"] == "runs"}


def test_checked_page_runs_with_assumed_imports_and_stated_raises(records: dict[str, dict[str, Any]]) -> None:
    rest = records["reader_rest.rst"]
    assert rest["cells"][0]["prelude"] and rest["cells"][0]["assumed"][0] == "import numpy as np"
    assert rest["cells"][0]["status"] == "prelude"
    runs = _runs(rest)
    assert runs[22]["verdict"] == "true"  # join and np supplied
    assert runs[30]["verdict"] == "true" and "as the document states" in runs[30]["reason"]
    assert runs[41]["verdict"] == "unverifiable" and "fragment" in runs[41]["reason"]
    myst = records["reader_myst.md"]
    runs = _runs(myst)
    assert runs[11]["verdict"] == "true" and runs[33]["verdict"] == "true"
    shows = {c["line"]: c["verdict"] for c in myst["claims"] if c["kind"] == "shows"}
    assert shows == {24: "true", 27: "true"}


@pytest.mark.parametrize(("suffix", "text"), [
    (".rst", "Example:\n\n.. code-block:: shell\n\n   >>> x = 2 + 2\n   >>> x\n   4\n\nA shell one:\n\n"
             ".. code-block:: shell\n\n   $ pip install mlx\n   >>> not a prompt at the start\n"),
    (".md", "Example:\n\n```shell\n>>> x = 2 + 2\n>>> x\n4\n```\n\nA shell one:\n\n```console\n$ pip install mlx\n"
            ">>> not a prompt at the start\n```\n"),
])
def test_a_python_session_labelled_shell_is_read_as_a_doctest(tmp_path: Path, suffix: str, text: str) -> None:
    """MLX's page shows its first examples in ``code-block:: shell`` with ``>>>`` prompts: those are Python.  A
    block that opens with ``$`` is a shell session and stays unread."""
    path = tmp_path / f"page{suffix}"
    path.write_text(text, encoding="utf-8")
    doc = registry.read(str(path))[0]
    run = [c for c in doc.cells if not c.assumed]
    assert "\n".join(c.source for c in run).split() == ["x", "=", "2", "+", "2", "x"]
    assert [e.text.strip() for c in run for e in c.expected] == ["4"]


@pytest.mark.parametrize(("paragraphs", "raises"), [
    (("Operations such as nonzero are not supported and will error as a result.",
      "To see why, consider the following example:"), True),
    (("This one will error.", "Nothing to see here."), False),  # the sentence before the block does not introduce it
    (("",  "The following will raise an error:"), True),
    (("", "This does not raise an error:"), False),
    (("It is not slow, and it will raise a RuntimeError.", "For example:"), True),  # the negation is another clause's
    (("This will not raise.", "For example:"), False),
])
def test_a_raise_stated_one_sentence_before_the_introducing_one_counts(paragraphs: tuple[str, str],
                                                                      raises: bool) -> None:
    earlier, last = paragraphs
    assert bool(cells.raises_prose(last, 10, earlier)) is raises


def test_a_block_introduced_as_an_equivalence_is_an_illustration(tmp_path: Path) -> None:
    """torch.func's UX page: "``vmap(f)(x)`` is equivalent to::" then ``torch.stack([f(x_i) for x_i in
    x.unbind(0)])``, which raises when run in the page's state (``x`` is a 0-d tensor there).  Not a finding."""
    path = tmp_path / "page.rst"
    path.write_text("Setup::\n\n  x = 1.5\n  f = abs\n\n``vmap(f)(x)`` is equivalent to:\n\n::\n\n"
                    "  sum([f(x_i) for x_i in x])\n\nAnd a real example::\n\n  sum([f(x_i) for x_i in x])\n", encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=60, jobs=1, run_skipped=False)
    runs = {c["line"]: c for c in rec["claims"] if c["kind"] == "runs"}
    assert runs[10]["verdict"] == "unverifiable" and "illustration" in runs[10]["reason"]
    assert runs[14]["verdict"] == "false"  # the same code, introduced as an example, is a finding
