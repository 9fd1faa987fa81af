"""The per-check limit enforced from outside the shard, and shards that go on after a crash.

Each test runs the real command line in a subprocess on a backend from
``tests/crashing_backends.py`` that escapes the in-process alarm or dies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.run.runner import watchdog_grace

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 2.0


def _run(tmp_path: Path, *args: str) -> tuple[int, dict, str, float]:
    out = tmp_path / "run.json"
    started = time.monotonic()
    # Run from tmp_path: a run with trouble keeps its logs under reports/results/.partial of its directory.
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--out", str(out), *args], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    return proc.returncode, json.loads(out.read_text()), proc.stdout + proc.stderr, elapsed


@pytest.mark.parametrize("target", ["BlocksAlarmInGrad", "SwallowsInterruptsInGrad"])
def test_a_check_that_escapes_the_alarm_is_killed_by_the_watchdog(tmp_path: Path, target: str) -> None:
    """The hanging check is an error within the limit plus the grace; the checks after it in its shard still pass."""
    code, doc, out, elapsed = _run(tmp_path, "--backend", f"tests.crashing_backends:{target}", "--jobs", "2",
                                   "--check-timeout", f"{LIMIT:g}", "-k", "grad_value and (sin_sum or exp_mean or log_sum)")
    checks = {(c["dtype"], c["function"]): c for c in doc["checks"]}
    assert code == 1, out
    assert set(checks) == {(d, f) for d in ("float32", "float64") for f in ("sin_sum", "exp_mean", "log_sum")}, out
    for dtype in ("float32", "float64"):
        hung = checks[dtype, "sin_sum"]
        assert hung["status"] == "error" and "killed by the watchdog" in hung["message"], hung
        assert LIMIT <= hung["duration_s"] <= LIMIT + watchdog_grace(LIMIT) + 3.0, hung
        assert "--check-timeout=2" in hung["reproducer"] and "test_grad_value[" in hung["reproducer"], hung
        # The shard restarted after the kill and ran the checks that came after the hung one.
        assert checks[dtype, "exp_mean"]["status"] == "pass" and checks[dtype, "log_sum"]["status"] == "pass"
    process = next(iter(doc["backends"].values()))["process"]
    assert process["restarts"] == 2 and "watchdog" in process["cause"], process
    assert elapsed < 120, f"the run took {elapsed:.0f} s: the backend limit, not the watchdog, ended it"


def test_a_crash_mid_shard_lands_in_the_right_cells_with_dashes_in_names(tmp_path: Path) -> None:
    """Backend 'crash-dash-backend', function 'exp-mean': the crashed check's fields come from the plugin, not the id."""
    code, doc, out, _ = _run(tmp_path, "--backend", "tests.crashing_backends:DashedCrash", "-k", "dashed_grad")
    cells = {(c["backend"], c["dtype"], c["spec"], c["function"], c["variant"]): c["status"] for c in doc["checks"]}
    expected = {}
    for dtype in ("float32", "float64"):
        for function, status in (("sin-sum", "pass"), ("exp-mean", "error"), ("log-sum", "pass")):
            expected["crash-dash-backend", dtype, "dashed_grad", function, ""] = status
    assert code == 1, out
    assert cells == expected, out
    crashed = [c for c in doc["checks"] if c["status"] == "error"]
    assert all("SIGSEGV" in c["message"] and c["transform"] == "grad" for c in crashed), crashed
    assert all(c["library_version"] != "?" for c in crashed), crashed  # taken from the shard's backend record
