"""The CI workflow's own commands, run here: its shard steps, then its merge-and-report step.

The workflow keeps every command in ``.github/scripts/*.sh``, called from one-line
``run:`` steps; this test reads those lines from the YAML (a few lines of parsing:
``run:`` values and the matrix's first values), substitutes the matrix, and runs
them in a scratch folder on the NumPy reference with a small ``-k``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"
EXAMPLE = ROOT / ".github" / "examples" / "third-party-conformance.yml"
KEYWORD = "grad_value or vmap_in_dims"
"""Specs that run on the reference backend itself (those comparing with the reference do not), in seconds."""


def run_lines(path: Path) -> dict[str, str]:
    """``name -> command`` of every one-line ``run:`` step (the step's ``name:`` just above it)."""
    steps: dict[str, str] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"\s+(?:- )?name: (.+)$", line):
            name = m.group(1).strip()
        elif m := re.match(r"\s+run: (\S.*)$", line):
            steps[name] = m.group(1).strip()
    return steps


def substitute(command: str, matrix: dict[str, str]) -> str:
    """``${{ matrix.x }}`` -> the value; any other expression is a test failure (the test could not run it)."""
    out = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: matrix[m.group(1)], command)
    assert "${{" not in out, f"unsupported expression in {command!r}"
    return out


def _env(tmp: Path) -> dict[str, str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    python = bin_dir / "python"
    # A wrapper, not a symlink: a venv's interpreter finds its packages from the path it was started by.
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
            "CONFORMANCE_K": KEYWORD}


def _bash(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_workflow_calls_only_scripts_that_exist_and_carries_the_caches_and_pages() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    steps = run_lines(WORKFLOW)
    assert {"install", "battery shard", "merge and report"} <= steps.keys()
    for name in ("install", "battery shard", "merge and report"):
        script = ROOT / steps[name].split()[0]
        assert script.is_file() and os.access(script, os.X_OK), script
    for needed in ("path: ~/.cache/pip", "path: ~/.cache/transform-conformance/jax", "actions/upload-pages-artifact",
                   "actions/deploy-pages", "actions/upload-artifact", "actions/download-artifact"):
        assert needed in text, needed
    assert "https://download.pytorch.org/whl/cpu" in (ROOT / ".github/scripts/install.sh").read_text()
    versions = re.findall(r'version: "([0-9.]+)"', text)
    assert "0.4.30" in versions and len(versions) >= 4
    assert "python -m conformance merge" in EXAMPLE.read_text() and "--shard" in EXAMPLE.read_text()


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The shard jobs of two columns, then the report job, as the workflow runs them."""
    tmp = tmp_path_factory.mktemp("ci")
    (tmp / ".github").symlink_to(ROOT / ".github")
    env = _env(tmp)
    steps = run_lines(WORKFLOW)
    jobs = [{"backend": "numpy", "shard": "1", "shards": "2", "column": "pinned"},
            {"backend": "numpy", "shard": "2", "shards": "2", "column": "pinned"},
            {"backend": "numpy", "shard": "1", "shards": "1", "column": "second"}]
    artifacts = tmp / "artifacts"
    for matrix in jobs:  # each job on its own "machine": a fresh folder, its results/ uploaded
        job = tmp / f"job-{matrix['column']}-{matrix['shard']}"
        job.mkdir()
        (job / ".github").symlink_to(ROOT / ".github")
        proc = _bash(substitute(steps["battery shard"], matrix), job, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        shutil.copytree(job / "results", artifacts, dirs_exist_ok=True)  # download-artifact, merge-multiple
    report = tmp / "report"
    report.mkdir()
    (report / ".github").symlink_to(ROOT / ".github")
    shutil.copytree(artifacts, report / "results")
    proc = _bash(steps["merge and report"], report, env)
    return {"dir": report, "proc": proc, "artifacts": artifacts, "env": env, "steps": steps}


def test_the_report_job_merges_each_column_and_builds_the_site(ci: dict[str, object]) -> None:
    proc = ci["proc"]
    assert isinstance(proc, subprocess.CompletedProcess)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = ci["dir"]
    assert isinstance(report, Path)
    pinned = results.load(report / "results/merged/pinned.json")
    second = results.load(report / "results/merged/second.json")
    assert [m["shard"] for m in pinned["run"]["merged_from"]] == ["1/2", "2/2"]
    ids = sorted(c["test_id"] for c in pinned["checks"])
    assert ids and ids == sorted(c["test_id"] for c in second["checks"])  # two shards = the whole slice
    version = pinned["backends"]["numpy"]["version"]
    assert f"numpy {version}" in pinned["run"]["label"]
    index = report / "reports/site/index.html"
    assert index.is_file()
    pages = " ".join(p.read_text(errors="replace") for p in (report / "reports/site").glob("*.html"))
    assert pinned["run"]["label"] in pages


def test_the_report_job_refuses_a_shard_given_twice(ci: dict[str, object], tmp_path: Path) -> None:
    artifacts = ci["artifacts"]
    assert isinstance(artifacts, Path)
    shutil.copytree(artifacts, tmp_path / "results")
    doc = json.loads((tmp_path / "results/pinned/numpy-1-of-2.json").read_text())
    results.write_atomic(tmp_path / "results/pinned/numpy-copy.json", doc)
    (tmp_path / ".github").symlink_to(ROOT / ".github")
    steps = ci["steps"]
    assert isinstance(steps, dict)
    env = ci["env"]
    assert isinstance(env, dict)
    proc = _bash(steps["merge and report"], tmp_path, env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "both shard 1/2 of numpy" in proc.stderr
    assert not (tmp_path / "reports/site").exists()
