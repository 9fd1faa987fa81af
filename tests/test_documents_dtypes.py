"""The ``dtypes`` claim kind: a dtype the page states (prose or a comment), held against the value's dtype."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.claims.documents import cli, registry
from conformance.claims.documents.kinds import dtypes

PAGE = """# dtypes

```python
import torch
t = torch.ones(2).double()  # dtype: float64
h = torch.ones(2).half()  # float32
```

Here ``t`` has dtype float64, and ``h`` is a float64 tensor. Inside ``f``, ``t`` is a float16 value.
"""


@pytest.mark.parametrize(("text", "name"), [("torch.float64", "float64"), ("dtype('float32')", "float32"),
                                            ("mlx.core.bfloat16", "bfloat16"), ("", ""), ("object", "")])
def test_a_dtype_is_compared_by_its_base_name(text: str, name: str) -> None:
    assert dtypes.base_name(text) == name


def test_stated_dtypes_are_measured_after_their_cell(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(PAGE, encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    found = {(c["line"], c["evidence"]["expression"], c["evidence"]["stated"]): c["verdict"]
             for c in rec["claims"] if c["kind"] == "dtypes"}
    assert found == {(5, "t", "float64"): "true", (6, "h", "float32"): "false",
                     (9, "t", "float64"): "true", (9, "h", "float64"): "false"}  # "Inside f" is not the page's t
