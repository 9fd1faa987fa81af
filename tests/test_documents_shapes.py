"""The ``shapes`` claim kind: a shape the page states, held against the value's shape measured in the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.claims.documents import cli, registry
from conformance.claims.documents.kinds import shapes


@pytest.mark.parametrize(("text", "shape"), [
    ("2", (2,)), ("(2, 3)", (2, 3)), ("[2, 3]", (2, 3)), ("``(1, 1)``", (1, 1)), ("torch.Size([4, 5])", (4, 5)),
    ("2 x 3", (2, 3)), ("(3,)", (3,)), ("()", ()), ("(B, 3)", None), ("[N]", None), ("two", None),
])
def test_stated_shapes_are_read_as_whole_numbers_or_not_at_all(text: str, shape: tuple[int, ...] | None) -> None:
    assert shapes.parse_shape(text) == shape


PAGE = """Shapes
======

::

  import torch
  torch.manual_seed(0)
  xs = torch.tensor([[0, 1, 2], [0, 0, 3]])
  J = torch.zeros(3, 4)  # shape (3, 4)
  K = torch.zeros(3, 4)  # shape: (4, 3)

  def f(v):
      result = v * 2
      return result

  result = torch.zeros(7)

``torch.nonzero(xs[0])`` returns a Tensor of shape 2, and ``torch.randn(5)`` has shape (5,).
Inside ``f``, ``result`` is a Tensor of shape [3, 3]. ``missing`` has shape (2,).

::

  print(torch.randn(2))
"""


def _check(tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / "page.rst"
    path.write_text(text, encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    return rec


def test_stated_shapes_are_measured_after_their_cell(tmp_path: Path) -> None:
    rec = _check(tmp_path, PAGE)
    found = {(c["line"], c["evidence"]["expression"]): c for c in rec["claims"] if c["kind"] == "shapes"}
    assert found[(9, "J")]["verdict"] == "true"
    assert found[(10, "K")]["verdict"] == "false" and "(3, 4)" in found[(10, "K")]["reason"]
    assert found[(18, "torch.nonzero(xs[0])")]["verdict"] == "false"  # it is (2, 1)
    assert found[(18, "torch.randn(5)")]["verdict"] == "true"
    # ``result`` in the sentence is f's local: the page's top-level ``result`` (shape (7,)) is not measured.
    assert (19, "result") not in found
    assert (19, "missing") not in found  # a name no cell binds is not the page's value


def test_measuring_does_not_move_the_documents_random_stream(tmp_path: Path) -> None:
    """The probe ``torch.randn(5)`` runs between the two cells; the second cell's draws must be the ones it
    would make with no probe at all."""
    with_probe = _check(tmp_path, PAGE)
    without = _check(tmp_path, PAGE.replace(", and ``torch.randn(5)`` has shape (5,)", ""))
    assert [c["stdout"] for c in with_probe["cells"]] == [c["stdout"] for c in without["cells"]]
    assert "tensor(" in with_probe["cells"][-1]["stdout"]
