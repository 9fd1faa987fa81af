"""Interrupts lose only what was in flight: no process outlives the run, what finished is written, resume completes it.

Each test starts ``python -m conformance run --backend numpy`` (the thorough
profile, so a shard runs long enough to be interrupted halfway), waits until
some checks are in the shards' logs, then signals the runner.  Every process
of the run carries a marker in its environment, so the test can find any that
was left behind by scanning /proc.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conformance import report
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]
SPECS = ("vmap_nested", "jacfwd_equals_jacrev")
MARKER = "CONFORMANCE_TEST_MARKER"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")]


def _expected_ids() -> set[str]:
    from backends.numpy_reference import NumpyReference
    from conformance.battery.specs import REGISTRY
    from conformance.battery.specs.core import cases

    return {c.test_id for c in cases(NumpyReference(), [REGISTRY[s] for s in SPECS])}


def _marked(marker: str) -> list[int]:
    """Live processes (zombies aside) whose environment carries ``marker``."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def _wait_gone(marker: str, seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _logged_checks(cwd: Path) -> tuple[Path | None, set[str]]:
    """The run's partial directory and the test ids its shards have logged as finished."""
    partial = cwd / results.PARTIAL_DIR
    dirs = sorted(partial.iterdir()) if partial.exists() else []
    if not dirs:
        return None, set()
    done = set()
    for log in dirs[-1].glob("*.jsonl"):
        done |= {r["test_id"] for r in results.read_jsonl(log) if r.get("kind") == "check"}
    return dirs[-1], done


def _start(cwd: Path, out: Path, marker: str) -> subprocess.Popen[str]:
    env = {**os.environ, MARKER: marker, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--backend", "numpy", "--profile", "thorough", "--seed", "7",
         "-k", " or ".join(SPECS), "--out", str(out)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _interrupt_midway(tmp_path: Path, sig: signal.Signals) -> tuple[subprocess.Popen[str], Path, set[str], str]:
    marker = uuid.uuid4().hex
    out = tmp_path / "run.json"
    proc = _start(tmp_path, out, marker)
    deadline = time.monotonic() + 300
    work_dir, done = None, set()
    while time.monotonic() < deadline and proc.poll() is None:
        work_dir, done = _logged_checks(tmp_path)
        if len(done) >= 6:
            break
        time.sleep(0.05)
    assert proc.poll() is None and work_dir is not None, "the run ended before it could be interrupted"
    assert len(done) < len(_expected_ids()), "everything finished already"
    proc.send_signal(sig)
    return proc, work_dir, done, marker


def _resume(tmp_path: Path, work_dir: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--resume", str(work_dir)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = results.load(out)
    ids = [c["test_id"] for c in doc["checks"]]
    assert len(ids) == len(set(ids)), "a check was recorded twice"
    assert set(ids) == _expected_ids()
    assert doc["interrupted"] is False and doc["run"]["resumed"], doc["run"]
    return doc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_every_child_and_writes_what_finished(tmp_path: Path, sig: signal.Signals) -> None:
    proc, work_dir, done_before, marker = _interrupt_midway(tmp_path, sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, output
    assert not _wait_gone(marker, 5.0), f"processes of the run left behind:\n{output}"
    out = tmp_path / "run.json"
    doc = results.load(out)
    assert doc["interrupted"] is True and sig.name in doc["interrupted_reason"], output
    resume_dir = shlex.split(doc["run"]["resume"])[-1]  # relative to where the run was started
    assert (tmp_path / resume_dir).resolve() == work_dir.resolve(), doc["run"]["resume"]
    recorded = {c["test_id"]: c for c in doc["checks"]}
    assert done_before <= set(recorded), "a check that had finished is missing from the partial file"
    assert set(recorded) < _expected_ids()
    assert all(c["status"] in ("pass", "skip") for c in recorded.values()), "the check in flight was recorded"
    assert report.check_results([out]) == [out.resolve()]  # the report reads an interrupted file

    final = _resume(tmp_path, work_dir, out)
    by_id = {c["test_id"]: c for c in final["checks"]}
    for test_id, before in recorded.items():  # finished checks were not rerun: the very same records
        assert by_id[test_id]["duration_s"] == before["duration_s"], test_id
    assert final["run"]["id"] == doc["run"]["id"] and final["run"]["hypothesis_seed"] == 7
    assert not work_dir.exists(), "the logs of a completed run are merged and removed"


def test_killing_the_runner_outright_leaves_no_child_and_the_run_resumes(tmp_path: Path) -> None:
    proc, work_dir, done_before, marker = _interrupt_midway(tmp_path, signal.SIGKILL)
    proc.communicate(timeout=60)
    left = _wait_gone(marker, 5.0)  # far less than the shards' remaining work
    assert not left, f"shards outlived their runner: {left}"
    _, done_after = _logged_checks(tmp_path)
    assert len(done_after) < len(_expected_ids()), "the shards ran on after their runner died"
    assert not (tmp_path / "run.json").exists()  # nothing could be written, but the logs are there
    final = _resume(tmp_path, work_dir, tmp_path / "run.json")
    assert done_before <= {c["test_id"] for c in final["checks"]}


def test_resume_rejects_options_that_would_change_the_run(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"header": {}, "settings": {}}))
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--resume", str(tmp_path), "--backend", "torch"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "drop --backend" in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--resume", str(tmp_path / "nope")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no run.json" in proc.stderr, proc.stderr
