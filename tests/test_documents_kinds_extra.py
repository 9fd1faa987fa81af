"""Claim kinds ``reachable`` (dead code after return/raise/continue/break) and ``not-deprecated`` (the library
warns, when a cell runs, that what it uses is deprecated), and the ``names`` kind's reading of bare names in the
page's scope (``.. currentmodule::``, the libraries the code imports).

Fixture documents are written here, small, each planting what its kind must find next to what it must leave
alone; the session records are built by hand except in one end-to-end run (the sandbox's real stderr capture).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.claims.documents import cli, kinds, registry, session
from conformance.claims.documents.kinds import deprecated, names
from conformance.claims.documents.model import Cell, Document
from conformance.claims.documents.session import SessionResult

KEYS = {"id", "kind", "cell", "line", "verdict", "reason", "rule", "evidence"}


def _result(doc: Document, records: list[dict[str, Any] | None] | None = None, status: str = "ok") -> SessionResult:
    return SessionResult(status, "", 0.0, records or [None] * len(doc.cells), [], {}, [], None)


def _judge(doc: Document, kind: str, result: SessionResult | None = None,
           context: kinds.Context | None = None) -> list[dict[str, Any]]:
    claims = kinds.judge_registered(doc, result or _result(doc), context or kinds.Context(), kinds=[kind])
    assert all(set(c) == KEYS and c["kind"] == kind and c["rule"] == kinds.KINDS[kind].rule for c in claims)
    return claims


# --- reachable -----------------------------------------------------------------------------------------------------

DEAD_REST = """\
Hessians
========

Composing jacrev twice gives the Hessian:

.. code-block:: python

    def f(x):
      return x.sin().sum()

      x = torch.randn(5)
      hessian0 = jacrev(jacrev(f))(x)

A loop that stops early:

.. code-block:: python

    def g(xs):
        total = 0
        for x in xs:
            if x < 0:
                return total
            if x == 0:
                continue
                print("never")
            total += x
        else:
            pass
        try:
            raise ValueError(total)
            total = 0
        except ValueError:
            pass
        return total
        ...
"""


def test_statements_after_a_terminator_of_their_block_are_false_at_their_document_lines(tmp_path: Path) -> None:
    page = tmp_path / "tour.rst"
    page.write_text(DEAD_REST, encoding="utf-8")
    (doc,) = registry.read(str(page))
    lines = DEAD_REST.splitlines()
    claims = _judge(doc, "reachable")
    by_line = {c["line"]: c for c in claims}
    assert set(by_line) == {11, 12, 25, 31}  # not the statements after `return total` inside the if, not `...`
    assert lines[11 - 1].strip() == "x = torch.randn(5)" and lines[12 - 1].strip().startswith("hessian0 =")
    assert lines[25 - 1].strip() == 'print("never")' and lines[31 - 1].strip() == "total = 0"
    assert all(c["verdict"] == "false" for c in claims)
    hess = by_line[12]
    first = next(i for i, c in enumerate(doc.cells) if not c.assumed)  # after the prelude (`import torch`)
    assert hess["cell"] == first and hess["id"] == f"reachable@12#{first}"
    assert "`return x.sin().sum()` (line 9) in the body of def f" in hess["reason"]
    assert hess["evidence"]["after"] == "return" and hess["evidence"]["after_line"] == 9
    assert hess["evidence"]["lines"] == [12]
    assert "`continue` (line 24) in the if at line 23" in by_line[25]["reason"]
    assert "`raise ValueError(total)` (line 30) in the try at line 29" in by_line[31]["reason"]


def test_misplaced_terminators_unparsable_cells_and_the_prelude_make_no_claim() -> None:
    doc = Document(source="x.md", kind="markdown", cells=[
        Cell("import mlx.core as mx\nraise SystemExit\nmx.eval()\n", 1, assumed=["import mlx.core as mx"]),
        Cell("return 1\nprint('after a return outside a function')\n", 5),  # a SyntaxError: the runs claim's
        Cell("break\nprint('after a break outside a loop')\n", 9),
        Cell("def f(:\n    return\n    x = 1\n", 13),
        Cell("while True:\n    break\nprint('after the loop: runs')\n", 17),
        Cell("for i in range(3):\n    def h():\n        continue_ = 1\n        return continue_\n"
             "    break\n    print('dead')\n", 21),
    ])
    claims = _judge(doc, "reachable")
    assert [(c["cell"], c["line"]) for c in claims] == [(5, 26)]
    assert "`break` (line 25) in the for loop at line 21" in claims[0]["reason"]
    assert _judge(doc, "reachable", _result(doc, status="cancelled")) == []


# --- not-deprecated ------------------------------------------------------------------------------------------------

FUNCTORCH = ("We've integrated functorch into PyTorch. As the final step of the integration, `functorch.vmap` is "
             "deprecated as of PyTorch 2.0 and will be deleted in a future version of PyTorch >= 2.3. Please use "
             "`torch.vmap` instead; see the PyTorch 2.0 release notes https://pytorch.org/docs/main/func.html")


def _stderr(cell: int, line: int, message: str = FUNCTORCH, category: str = "FutureWarning") -> str:
    return f"<cell {cell}>:{line}: {category}: {message}\n  y = vmap(torch.sin)(x)\n"


def _record(index: int, stderr: str) -> dict[str, Any]:
    return {"type": "cell", "cell": index, "status": "ok", "exception": None, "stdout": "", "stderr": stderr}


def test_warnings_are_read_as_python_prints_them() -> None:
    text = ("ration, `functorch.grad` is deprecated as of PyTorch 2.0\n  g = grad(f)(x)\n"  # a header cut off
            + _stderr(2, 4)
            + "/site-packages/lib/io.py:12: FutureWarning: the default of `weights_only` will change to True\n"
            + "  torch.load(p)\n"
            + "/site-packages/lib/core.py:7: DeprecationWarning: lib.old_fn is deprecated, use lib.new_fn\n")
    got = deprecated.warnings_in(text)
    assert [(w.where, w.line, w.category, w.cell) for w in got] == [
        ("<cell 2>", 4, "FutureWarning", 2), ("/site-packages/lib/core.py", 7, "DeprecationWarning", None)]
    assert deprecated.warned_names(got[0].message) == ["functorch.vmap"]  # not the replacement, not the URL
    assert deprecated.warned_names(got[1].message) == ["lib.old_fn"]
    assert deprecated.warned_names("`np.bool8` is a deprecated alias for `np.bool_`.") == ["np.bool8", "np.bool_"]


def _functorch_doc(prose: str, tmp_path: Path) -> Document:
    page = tmp_path / "readme.md"
    page.write_text(f"# Quick check\n\n{prose}\n\n```py\nimport torch\nfrom functorch import vmap\nx = torch.randn(3)\n"
                    "y = vmap(torch.sin)(x)\n```\n\n```py\nz = torch.cos(x)\n```\n", encoding="utf-8")
    (doc,) = registry.read(str(page))
    return doc


def test_a_deprecation_the_run_shows_is_false_where_the_cell_brings_the_name_in(tmp_path: Path) -> None:
    doc = _functorch_doc("Run a quick sanity check:", tmp_path)
    assert [c.line for c in doc.cells] == [6, 13]
    records = [_record(0, _stderr(0, 4) + _stderr(0, 4)), _record(1, "")]
    (c,) = _judge(doc, "not-deprecated", _result(doc, records))
    assert c["verdict"] == "false" and c["cell"] == 0
    assert c["line"] == 7  # `from functorch import vmap`, not the call at line 9 the warning points at
    assert c["evidence"]["names"] == ["functorch.vmap"] and c["evidence"]["warning_lines"] == [9]
    assert c["reason"].startswith("functorch.vmap: the library warns when the cell runs (the warning points at "
                                  "line 9): FutureWarning: We've integrated functorch")
    assert c["id"] == "not-deprecated@7#0:functorch.vmap"


def test_no_claim_where_the_document_says_it_is_deprecated_or_the_warning_is_not_about_it(tmp_path: Path) -> None:
    said = _functorch_doc("As of PyTorch 2.0, we are deprecating\nfunctorch; the old code still runs:", tmp_path)
    assert _judge(said, "not-deprecated", _result(said, [_record(0, _stderr(0, 4)), None])) == []
    doc = _functorch_doc("Note that torch.func is the new home.", tmp_path)  # torch.func is no prefix of functorch
    assert len(_judge(doc, "not-deprecated", _result(doc, [_record(0, _stderr(0, 4)), None]))) == 1
    library = "/site-packages/torch/_tensor.py:9: DeprecationWarning: torch.Tensor.storage is deprecated\n"
    other = [_record(0, library), _record(1, _stderr(0, 3, category="FutureWarning",
                                                      message="the default of `x` will change in 3.0"))]
    assert _judge(doc, "not-deprecated", _result(doc, other)) == []  # a name the cell never writes; no deprecation


def test_a_warning_pointing_at_a_cell_of_a_name_it_does_not_know_is_claimed_at_that_line() -> None:
    doc = Document(source="x.md", kind="markdown", cells=[
        Cell("import mylib\n\ndef go():\n    return mylib.old()\n", 3), Cell("go()\n", 10)])
    stderr = "<cell 0>:4: DeprecationWarning: old() is deprecated; call new()\n    return mylib.old()\n"
    (c,) = _judge(doc, "not-deprecated", _result(doc, [_record(0, ""), _record(1, stderr)]))
    assert (c["cell"], c["line"], c["evidence"]["warning_lines"]) == (0, 6, [6])  # the line inside cell 0's def


def test_the_sessions_own_stderr_carries_the_warning(tmp_path: Path) -> None:
    """End to end, in the sandbox: what the harness keeps of a cell's stderr is what the kind reads."""
    page = tmp_path / "old.md"
    page.write_text("# Old API\n\n```python\nimport warnings\n\ndef old_api():\n    warnings.warn('`old_api` is "
                    "deprecated; use `new_api`', DeprecationWarning, stacklevel=2)\n    return 1\n```\n\n```python\n"
                    "y = old_api()\n```\n", encoding="utf-8")
    (doc,) = registry.read(str(page))
    result = session.run_document(doc, timeout=60)
    assert result.status == "ok", result.reason
    (c,) = _judge(doc, "not-deprecated", result)
    assert (c["cell"], c["line"], c["evidence"]["category"]) == (1, 12, "DeprecationWarning")


# --- names: bare names read in the page's scope ----------------------------------------------------------------------

SCOPED = """\
.. currentmodule:: torch.func

Use :func:`vmap` to batch and :func:`hessiani` nowhere; see :ref:`vmap <vmap>` and ``lst``.
The module :mod:`func` is not read twice, and ``Tensor.backward`` lives elsewhere.

.. code-block:: python

    import torch
"""

FOUND = {"status": "found", "type": "function", "module": "torch", "deprecated": ""}
MODULE = {**FOUND, "type": "module"}
MISSING = {"status": "missing", "parent": "torch", "attr": "x", "message": "", "suggestions": []}


def test_a_bare_role_is_read_in_the_current_module_and_claimed_only_where_it_resolves(tmp_path: Path) -> None:
    page = tmp_path / "limits.rst"
    page.write_text(SCOPED, encoding="utf-8")
    (doc,) = registry.read(str(page))
    readings = {g.candidates[0].written: [m.name for m in g.candidates] for g in names.scoped(doc)}
    assert readings == {"vmap": ["torch.func.vmap", "torch.vmap"], "hessiani": ["torch.func.hessiani", "torch.hessiani"],
                        "lst": ["torch.func.lst", "torch.lst"], "func": ["torch.func.func", "torch.func"],
                        "Tensor.backward": ["torch.func.Tensor.backward", "torch.Tensor.backward"]}
    entries = {"torch": MODULE, "torch.func.vmap": FOUND, "torch.vmap": FOUND, "torch.func.hessiani": MISSING,
               "torch.hessiani": MISSING, "torch.func.lst": MISSING, "torch.lst": MISSING, "torch.func.func": MISSING,
               "torch.func": MODULE, "torch.func.Tensor.backward": MISSING, "torch.Tensor.backward": FOUND}
    context = kinds.Context(cache={"names": entries, "names-versions": {"torch": "9.9"}})
    by = {c["evidence"]["name"]: c for c in _judge(doc, "names", context=context)}
    assert set(by) == {"torch", "torch.func.vmap", "torch.func", "torch.Tensor.backward"}  # nothing missing claimed
    vmap = by["torch.func.vmap"]
    assert vmap["verdict"] == "true" and vmap["line"] == 3 and vmap["cell"] == -1
    assert vmap["reason"] == "torch.func.vmap exists in torch 9.9 (`vmap` read in torch.func, the page's current module)"
    assert by["torch.func"]["line"] == 4  # a role may name a module
    assert "a library the document imports" in by["torch.Tensor.backward"]["reason"]


def test_inline_code_naming_a_module_and_the_prelude_make_no_claim() -> None:
    doc = Document(source="x.md", kind="markdown", cells=[
        Cell("import mlx.core as mx\n", 1, assumed=["import mlx.core as mx"]),
        Cell("import autograd\ng = mx.grad(f)\n", 1)])
    found = {(m.name, m.line) for m in names.mentions(doc)}
    assert found == {("autograd", 1), ("mlx.core.grad", 2)}  # not the prelude's `mlx.core`, though `mx` resolves
    assert names._found(MODULE, role=True) and not names._found(MODULE, role=False)
    assert names._found(FOUND, role=False) and not names._found(MISSING, role=True) and not names._found(None, True)


@pytest.mark.parametrize("kind", ["reachable", "not-deprecated"])
def test_the_new_kinds_are_registered(kind: str) -> None:
    assert kind in kinds.load() and kinds.KINDS[kind].rule.startswith("false ")


def test_every_warning_is_kept_even_past_the_stderr_tail_and_again_in_a_later_cell(tmp_path: Path) -> None:
    """The harness keeps each cell's warnings as records: a warning followed by 5,000 characters on stderr (past
    the 2,000 kept of its text) still counts, and one at the same line number of a later cell shows again (the
    registry of shown warnings is cleared per cell)."""
    first = ("import sys, warnings\ndef old():\n    warnings.warn('old() is deprecated, use new() instead', "
             "DeprecationWarning, stacklevel=2)\nx = 1\nold()\nprint('.' * 5000, file=sys.stderr)\n")
    second = "y = 2\nz = 3\nw = 4\nv = 5\nold()\n"
    path = tmp_path / "warns.md"
    path.write_text(f"# w\n\n```python\n{first}```\n\n```python\n{second}```\n", encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=60, jobs=1, run_skipped=False)
    found = sorted(c["cell"] for c in rec["claims"] if c["kind"] == "not-deprecated")
    assert found == [0, 1], [c for c in rec["claims"] if c["kind"] == "not-deprecated"]
