"""A failing record's reproducer reruns the same check on the same inputs, with the same verdict.

The slow test plants a fault (a jvp 1 % too large, ``tests/broken_backends.py``),
runs the battery through the command line, pastes the recorded reproducer into
a subprocess exactly as a reader would (only ``python`` is replaced by this
interpreter and a results log is added to read the rerun's record), and
compares.  Under the random ``thorough`` profile each side gets its own
hypothesis database, so the rerun finds the failure from the recorded seed,
not from an example saved by the first run; and as shrinking leads any seed
to the same minimal example, the worst error over all examples drawn is
compared too.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.run.runner import reproducer_command
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]


def test_reproducer_command_carries_every_option_of_the_run(tmp_path: Path) -> None:
    manifest = tmp_path / "my manifest.toml"
    cmd = reproducer_command("pkg.mod:My-Backend", "test_jvp_value[my-backend-float32-sin-sum]", profile="thorough",
                             seed=1234, manifests=[str(manifest), "/b.toml"], check_timeout=7.5)
    args = shlex.split(cmd)
    assert args[:5] == ["python", "-m", "pytest", "-p", "conformance.run.plugin"]
    assert args[args.index("--backend") + 1] == "pkg.mod:My-Backend"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--manifest"] == [str(manifest), "/b.toml"]
    assert {"--hypothesis-profile=thorough", "--hypothesis-seed=1234", "--check-timeout=7.5"} <= set(args)
    assert args[-2:] == ["--pyargs", "conformance.run.battery_tests::test_jvp_value[my-backend-float32-sin-sum]"]
    derandomized = shlex.split(reproducer_command("numpy", "test_x[numpy-float64-f]", profile="ci", seed=None,
                                                  manifests=[], check_timeout=120))
    assert "--hypothesis-profile=ci" in derandomized and not any("seed" in a for a in derandomized)


def _battery(tmp_path: Path, storage: Path, *options: str) -> dict:
    out = tmp_path / "run.json"
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(storage)}
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--backend", "tests.broken_backends:JvpScaled",
                           "-k", "jvp_value and sin_sum and float64", "--out", str(out), *options],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def _rerun(reproducer: str, log: Path, storage: Path) -> dict:
    """Run the reproducer's command line as pasted into a shell in another folder than the project's, with the
    adapter's module (here ``tests.broken_backends``) on the path; return the rerun's record."""
    args = shlex.split(reproducer.splitlines()[0])
    assert args[0] == "python"
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(storage), "PYTHONPATH": str(ROOT)}
    elsewhere = log.parent / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, *args[1:], "--results-log", str(log)],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one failing test, nothing else collected
    checks = [r for r in results.read_jsonl(log) if r["kind"] == "check"]
    assert len(checks) == 1, checks
    return checks[0]


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["ci", "thorough"])
def test_a_failing_records_reproducer_reruns_the_same_check_on_the_same_inputs(tmp_path: Path, profile: str) -> None:
    extra = ["--profile", profile] + (["--seed", "20261130"] if profile == "thorough" else [])
    manifest = tmp_path / "none.toml"  # a manifest of the run must travel with the reproducer
    manifest.write_text("")
    doc = _battery(tmp_path, tmp_path / "db-run", *extra, "--manifest", str(manifest), "--check-timeout", "300")
    [failing] = [c for c in doc["checks"] if c["status"] == "fail"]
    reproducer = failing["reproducer"]
    assert f"--hypothesis-profile={profile}" in reproducer and "--check-timeout=300" in reproducer
    assert str(manifest) in reproducer
    if profile == "thorough":
        assert doc["run"]["hypothesis_seed"] == 20261130 and "--hypothesis-seed=20261130" in reproducer
    assert "@reproduce_failure(" in reproducer.splitlines()[-1]

    again = _rerun(reproducer, tmp_path / "rerun.jsonl", tmp_path / "db-rerun")
    assert again["test_id"] == failing["test_id"] and again["status"] == "fail"
    assert again["details"]["inputs"] == failing["details"]["inputs"]
    # Shrinking leads any seed to the same minimal failure; the worst error over *every* example drawn
    # does not, so it shows the rerun drew the very same sequence.
    assert (again["max_abs_err"], again["max_rel_err"]) == (failing["max_abs_err"], failing["max_rel_err"])
    assert again["message"] == failing["message"]
    assert again["reproducer"] == reproducer  # and it reproduces itself
