"""check-doc without a sandbox: readers (file and line of every region), stated values, the output comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.claims.documents import compare, registry
from conformance.claims.documents.cells import doctest_cells, stated_value
from conformance.claims.documents.readers.docstrings import example_blocks
from conformance.claims.documents.readers.gallery import split_cells

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _starts_at_its_line(path: Path) -> None:
    """Every cell's recorded line holds the cell's first source line: findings point at the right place."""
    (doc,) = registry.read(str(path))
    lines = _lines(path)
    for cell in doc.cells:
        first = next(ln for ln in cell.source.splitlines() if ln.strip())
        assert first.strip() in lines[cell.line - 1], (cell.line, first, lines[cell.line - 1])


@pytest.mark.parametrize("name", ["tutorial.md", "jax_derivatives.rst", "gallery_per_sample.py"])
def test_text_readers_keep_each_cells_line(name: str) -> None:
    _starts_at_its_line(FIX / name)


def test_markdown_reads_fences_trailing_comments_and_output_blocks() -> None:
    (doc,) = registry.read(str(FIX / "tutorial.md"))
    assert doc.kind == "markdown" and doc.title == "Gradients with torch.func"
    assert [c.line for c in doc.cells] == [6, 19, 33, 40, 63]
    stated = [(e.origin, e.line, e.text) for c in doc.cells for e in c.expected]
    assert stated == [("comment", 13, "tensor(12.)"), ("output block", 27, "tensor([1.0000, 0.5403])"),
                      ("comment", 33, "tensor(5.)"), ("comment", 66, "torch.Size([2])")]
    lines = _lines(FIX / "tutorial.md")
    for _, line, text in stated:
        assert text in lines[line - 1]


def test_notebook_reads_stored_outputs_errors_and_translates_magics() -> None:
    (doc,) = registry.read(str(FIX / "stale_outputs.ipynb"))
    assert doc.kind == "notebook" and len(doc.cells) == 7
    assert all(c.display == "last" for c in doc.cells)
    assert doc.cells[1].expected[0].text == "Array(1.3817732, dtype=float32, weak_type=True)"
    assert doc.cells[2].expected[0].origin == "stored output"
    assert doc.cells[5].expected[0].text.endswith("ValueError: invalid literal for int() with base 10: 'x'")
    assert not any(c.skipped for c in doc.cells)
    assert doc.cells[6].source == "%timeit f(1.0)" and doc.cells[6].code == "for __timeit_once__ in (0,): f(1.0)"
    text = _lines(FIX / "stale_outputs.ipynb")
    assert all('"cell_type": "code"' in text[c.line - 1] for c in doc.cells)


def test_rest_reads_doctest_blocks_code_blocks_with_options_and_output_blocks() -> None:
    (doc,) = registry.read(str(FIX / "jax_derivatives.rst"))
    assert [c.display for c in doc.cells] == ["all", "all", "all", "none", "none", "none"]
    assert doc.cells[1].expected[0].text == "9.0 5.0"
    assert compare.is_exception(doc.cells[2].expected[0].text)
    assert "cube_jvp" in doc.cells[3].source and not doc.cells[3].expected  # :caption: accepted
    assert doc.cells[4].expected[0].origin == "output block"
    assert doc.cells[5].expected[0].text == "[1. 5. 9.]"


def test_gallery_splits_on_both_marker_styles() -> None:
    text = (FIX / "gallery_per_sample.py").read_text(encoding="utf-8")
    starts = [first for first, _ in split_cells(text)]
    assert starts == [1, 11, 24, 29, 36]
    (doc,) = registry.read(str(FIX / "gallery_per_sample.py"))
    assert [e.text for c in doc.cells for e in c.expected] == ["tensor([6., 2.])", "tensor(2.)", "torch.Size([2, 2])"]


def test_doctest_groups_xdoctest_continuations_and_skips() -> None:
    text = """Example::

    >>> # xdoctest: +SKIP
    >>> def f(y):
    >>>    return y * 2
    >>>
    >>> f(2)
    4

Then::

    >>> x = 1
    >>> x + 1
    2
    >>> print(x)  # doctest: +SKIP
    1
"""
    cells = doctest_cells(text, 100)
    assert [c.line for c in cells] == [103, 111, 114]
    assert [bool(c.skipped) for c in cells] == [True, False, True]
    assert cells[0].source.splitlines()[:2] == ["def f(y):", "   return y * 2"]
    assert [(e.text, e.line) for c in cells for e in c.expected] == [("4", 107), ("2", 113), ("1", 115)]


def test_docstring_example_blocks_without_prompts_run_as_code() -> None:
    raw = "Summary.\n\nExample::\n\n    import torch\n    y = torch.ones(2)\n\nNot code::\n\n    some words here\n"
    cells = example_blocks(raw, 10)
    assert len(cells) == 1 and cells[0].line == 14 and cells[0].source.startswith("import torch")


@pytest.mark.parametrize(("comment", "value"), [
    ("# 4.0", "4.0"), ("# -> tensor([1., 2.])", "tensor([1., 2.])"), ("# prints: True", "True"),
    ("# torch.Size([2])", "torch.Size([2])"), ("# compute the loss", None), ("# [D], [D] -> []", "[D], [D] -> []"),
    ("# TODO 2 things", None),
])
def test_trailing_comment_values_and_prose(comment: str, value: str | None) -> None:
    assert stated_value(comment) == value


def test_unknown_suffix_and_missing_file_name_the_target(tmp_path: Path) -> None:
    odd = tmp_path / "notes.xyz"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(registry.DocumentError, match=r"notes\.xyz: no reader for '\.xyz' \(known: .*\.ipynb"):
        registry.read(str(odd))
    with pytest.raises(registry.DocumentError, match=r"nowhere\.md: no such file"):
        registry.read(str(tmp_path / "nowhere.md"))
    with pytest.raises(registry.DocumentError, match="not a module name"):
        registry.read("module:1bad")


def test_registering_a_suffix_twice_is_refused() -> None:
    registry.known()
    with pytest.raises(ValueError, match=r"two readers for '\.md'"):
        registry.reader(suffixes=(".md",))(lambda target: [])


def test_broken_notebook_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(registry.DocumentError, match=r"bad\.ipynb:1: not a readable notebook"):
        registry.read(str(bad))


@pytest.mark.parametrize(("stated", "printed", "match"), [
    ("tensor([1.0000, 0.5403])", "tensor([1.0000, 0.5403])", True),
    ("tensor([1., 2.])", "tensor([1.0000, 2.0000])", True),  # precision differs, values do not
    ("tensor(6.)", "tensor(6.4000)", False),  # '6.' is printed only for an integral value
    ("tensor([0.3333])", "tensor([0.3336])", False),  # off by more than the printed digits allow
    ("tensor([0.3333])", "tensor([0.3334])", True),  # both rounded: 0.33335 prints either way
    ("0.333", "0.3333333432674408", True),  # a rounded statement covers the value it rounds
    ("Array([1., 2.], dtype=float32)", "Array([1., 2.], dtype=float64)", False),  # dtype words are structure
    ("torch.Size([2, 3])", "torch.Size([3, 2])", False),  # integers are exact
    ("[[1.        0.       ]\n [0.        2.7182817]]", "[[1. 0.]\n [0. 2.7182817]]", True),  # wrapping
    ("(Array([4., 5.], dtype=float32), 8.0)", "(Array([4., 5.], dtype=float32), 8.0, 1)", False),
    ("<function f at 0x7f00aa>", "<function f at 0x55bb01>", True),  # addresses are not content
    ("tensor([1., ...])", "tensor([1., 2., 3.])", True),  # doctest's ellipsis
    ("nan", "nan", True),
    ("inf", "-inf", False),
])
def test_compare_numbers_and_structure(stated: str, printed: str, match: bool) -> None:
    assert compare.compare(stated, printed).match is match


def test_compare_uses_float64_tolerance_when_the_repr_says_so() -> None:
    loose = compare.compare("Array(1.000001, dtype=float32)", "Array(1.0000011, dtype=float32)")
    tight = compare.compare("Array(1.0000010000001, dtype=float64)", "Array(1.0000010000002, dtype=float64)")
    assert loose.dtype == "float32" and tight.dtype == "float64" and tight.bound is not None
    assert loose.bound is not None and tight.bound < loose.bound


def test_compare_exceptions_by_class_and_message() -> None:
    tb = "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero"
    assert compare.compare_exception(tb, "ZeroDivisionError", "division by zero").match
    assert not compare.compare_exception(tb, "ValueError", "division by zero").match
    assert not compare.compare_exception(tb, "ZeroDivisionError", "float division by zero").match


def test_a_directory_collects_documents_and_only_gallery_scripts(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("```python\nx = 1\n```\n", encoding="utf-8")
    (tmp_path / "conf.py").write_text("project = 'x'\n", encoding="utf-8")
    (tmp_path / "plot_demo.py").write_text("x = 1\n# %%\ny = 2\n", encoding="utf-8")
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / "copy.md").write_text("```python\nx = 1\n```\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.rst").write_text("T\n=\n\n>>> 1 + 1\n2\n", encoding="utf-8")
    names = [Path(d.source).name for d in registry.read(str(tmp_path))]
    assert names == ["guide.md", "plot_demo.py", "page.rst"]


def test_myst_code_cells_show_their_last_value_and_skip_options(tmp_path: Path) -> None:
    page = tmp_path / "myst.md"
    page.write_text("# T\n\n```{code-cell} ipython3\n:tags: [hide-input]\nx = 2\nx * 3\n```\n\n```text\n6\n```\n",
                    encoding="utf-8")
    (doc,) = registry.read(str(page))
    (cell,) = doc.cells
    assert cell.display == "last" and cell.line == 5 and cell.source.startswith("x = 2")
    assert [e.text for e in cell.expected] == ["6"]


def test_each_cell_targets_the_library_it_imports_or_uses() -> None:
    from conformance.claims.documents.session import cell_targets

    (doc,) = registry.read(str(FIX / "tutorial.md"))
    assert cell_targets(doc) == [["torch"]] * 5
    (doc,) = registry.read(str(FIX / "stale_outputs.ipynb"))
    assert cell_targets(doc)[0] == ["jax"] and cell_targets(doc)[5] == ["jax"]  # int('x') inherits


def test_markdown_reads_a_value_quoted_in_the_sentence_after_a_block(tmp_path: Path) -> None:
    page = tmp_path / "prose.md"
    page.write_text("```python\nprint(2 * 3)\n```\n\nThis prints `6`.\n\n```python\nx = 1\n```\n\n"
                    "The function `f` returns `None` here.\n", encoding="utf-8")
    (doc,) = registry.read(str(page))
    assert [(e.origin, e.text, e.line) for e in doc.cells[0].expected] == [("prose", "6", 5)]
    assert doc.cells[1].expected == []  # two spans, and no verb saying it prints
