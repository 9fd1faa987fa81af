"""The ``speed`` claim kind and the document's own timings: measured with interception off, judged on the host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.claims.documents import cli, registry

PAGE = '''# timing

```python
import torch
from torch.func import jacrev
from torch.utils.benchmark import Timer

def get_perf(first, first_descriptor, second, second_descriptor):
    """A helper as tutorials write it, with the bug of taking the absolute gain: the first is always credited."""
    gain = (first.times[0] - second.times[0]) / first.times[0]
    if gain < 0:
        gain *= -1
    print(f"Performance delta: {gain * 100:.4f} percent improvement with {first_descriptor} ")

x = torch.randn(4)
W = torch.randn(400, 4)
f = lambda v: torch.tanh(W @ v)
heavy = Timer(stmt="jacrev(f)(x)", globals=globals()).timeit(100)
light = Timer(stmt="sum([x, x])", globals=globals()).timeit(100)
get_perf(heavy, "jacrev", light, "sum")
get_perf(light, "sum", heavy, "jacrev")
```
'''


def _check(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "timing.md"
    path.write_text(PAGE, encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    return rec


def test_a_printed_speed_verdict_is_held_against_the_runs_own_timings(tmp_path: Path) -> None:
    rec = _check(tmp_path)
    lines = PAGE.splitlines()
    first = lines.index('get_perf(heavy, "jacrev", light, "sum")') + 1
    found = {c["line"]: c for c in rec["claims"] if c["kind"] == "speed"}
    assert found[first]["verdict"] == "false" and "slower" in found[first]["reason"], found  # credits jacrev
    assert found[first + 1]["verdict"] == "true", found


def test_the_documents_timers_run_with_interception_off(tmp_path: Path) -> None:
    """200 timed jacrev calls would be 200 intercepted calls; timed, they are the library's alone."""
    rec = _check(tmp_path)
    assert not [c for c in rec["claims"] if c["kind"] == "derivative-correct"], rec["claims"]
    assert not (rec.get("transform_calls") or {}).get("calls"), rec.get("transform_calls")
