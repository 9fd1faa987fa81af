"""What a check draws depends only on the run's seed and the check's id.

Run once as part of a whole shard and once alone (by node id), a failing check must record the same
drawn inputs: neither the order of checks, nor the checks run before it, nor an earlier run feed its
strategy.  A broken backend (jvp 1 % off) makes the checks fail so that their inputs are kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROKEN = "tests.broken_backends:JvpScaled"


def _battery(tmp: Path, name: str, profile: str, seed: int | None, *select: str) -> dict[str, dict[str, Any]]:
    log = tmp / f"{name}.jsonl"
    cmd = [sys.executable, "-m", "pytest", "-p", "conformance.run.plugin", "--backend", BROKEN, "--results-log", str(log),
           f"--hypothesis-profile={profile}", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *select]
    if seed is not None:
        cmd.append(f"--hypothesis-seed={seed}")
    subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=600, check=False)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return {r["test_id"]: r for r in records if r.get("kind") == "check"}


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "seed"), [("ci", None), ("thorough", 7)])
def test_a_check_draws_the_same_inputs_alone_and_in_a_full_run(tmp_path: Path, profile: str, seed: int | None) -> None:
    full = _battery(tmp_path, "full", profile, seed, "conformance/run/battery_tests.py", "-k", "jvp_value and float64")
    failed = {t: r for t, r in full.items() if r["status"] == "fail"}
    assert len(failed) >= 3, {t: r["status"] for t, r in full.items()}
    last = sorted(failed)[-1]  # the one that ran after every other check of the shard
    alone = _battery(tmp_path, "alone", profile, seed, f"conformance/run/battery_tests.py::test_jvp_value[{last.split('[', 1)[1]}")
    assert alone[last]["status"] == "fail"
    assert alone[last]["details"]["inputs"] == failed[last]["details"]["inputs"]


@pytest.mark.slow
def test_another_seed_draws_other_inputs(tmp_path: Path) -> None:
    """The seed is what fixes the draws: a different one must change them (or the test above proves nothing).

    Under the ci profile, which does not shrink: a shrunk failure converges to the same minimal input
    whatever the seed.
    """
    one = _battery(tmp_path, "one", "ci", 7, "conformance/run/battery_tests.py", "-k", "jvp_value and float64 and sin_sum")
    two = _battery(tmp_path, "two", "ci", 8, "conformance/run/battery_tests.py", "-k", "jvp_value and float64 and sin_sum")
    (test_id,) = one
    assert one[test_id]["details"]["inputs"] != two[test_id]["details"]["inputs"]


_DRAW = r"""
import json, sys
from hypothesis.internal.conjecture import providers
original = providers._get_local_constants
from hypothesis import given, seed, settings, strategies as st
from conformance.battery import strategies
from conformance.battery.catalog import CATALOG
if sys.argv[1] == "unpatched":
    providers._get_local_constants = original
if sys.argv[2] == "import-local":
    sys.path.insert(0, sys.argv[3])
    import many_constants  # noqa: F401  (a local module full of numeric literals)
entry = next(e for e in CATALOG if e.name == "two_args")
drawn = []

@seed(1234)
@settings(max_examples=100, database=None, derandomize=False)
@given(st.data())
def draw(data):
    drawn.append([a.tolist() for a in data.draw(strategies.inputs(entry, "float64"))])
    # A scalar through hypothesis's own floats: the array draws decode bytes (conformance/battery/draws.py), which source
    # constants do not reach, but any spec drawing a float with st.floats would be.
    drawn.append(data.draw(st.floats(-2, 2)))

draw()
print(json.dumps(drawn))
"""


def _draws(tmp: Path, patched: bool, import_local: bool) -> str:
    module = tmp / "many_constants.py"
    module.write_text("C = [" + ", ".join(f"{0.001 * i - 1.7:.6f}" for i in range(400)) + "]\n")
    args = ["patched" if patched else "unpatched", "import-local" if import_local else "plain", str(tmp)]
    proc = subprocess.run([sys.executable, "-c", _DRAW, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_draws_do_not_depend_on_which_local_modules_are_imported(tmp_path: Path) -> None:
    """Hypothesis mixes numeric literals of imported local modules into its draws; ours switch that off."""
    assert _draws(tmp_path, True, False) == _draws(tmp_path, True, True)


def test_the_import_test_can_fail(tmp_path: Path) -> None:
    """Control: with hypothesis's source constants left on, the same seed draws differently after the import."""
    assert _draws(tmp_path, False, False) != _draws(tmp_path, False, True)
