"""Bad arguments are refused before any process starts: exit 2, one line that names the fix, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.run import runner
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


@pytest.mark.parametrize(("args", "words"), [
    (["--jobs", "0"], "use --jobs 1 or more"),
    (["--jobs", "-3"], "use --jobs 1 or more"),
    (["--jobs", "two"], "--jobs 2, or --jobs auto"),
    (["--check-timeout", "0"], "positive number of seconds"),
    (["--check-timeout", "-5"], "positive number of seconds"),
    (["--check-timeout", "nan"], "positive number of seconds"),
    (["--backend-timeout", "0"], "positive number of seconds"),
    (["--out", "."], "is a directory (give a file name"),
    (["--out", "/etc/hostname/run.json"], "cannot create files in /etc/hostname"),
    (["--manifest", "no/such.toml"], "does not exist (check the path)"),
    (["--backend", "nosuch"], "use one of"),
    (["--resume", "no/such/dir"], "no run.json there"),
])
@pytest.mark.parametrize("command", ["run", "all"])
def test_bad_arguments_exit_2_with_one_line_naming_the_fix(tmp_path: Path, command: str, args: list[str],
                                                          words: str) -> None:
    started = time.monotonic()
    base = [] if "--resume" in args else ["--backend", "numpy"]  # --resume takes the run's own backends
    proc = _cli(tmp_path, command, *base, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "reports").exists(), "something was started or written before the check"
    assert time.monotonic() - started < 60


def test_all_checks_the_report_directory_first(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("a file, not a directory")
    proc = _cli(tmp_path, "all", "--backend", "numpy", "--site", "site")
    assert proc.returncode == 2 and "--site site: exists and is not a directory" in proc.stderr, proc.stderr
    assert not (tmp_path / "reports").exists()


def test_jobs_auto_runs_and_is_recorded(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "run", "--backend", "numpy", "--jobs", "auto", "-k", "conventions_api", "--out", "r.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = results.load(tmp_path / "r.json")
    # auto: one process per core; past the backend's two dtype processes each is split in parts.
    options = doc["run"]["options"]
    assert options["jobs"] == (os.cpu_count() or 1) and options["split"] == -(-options["jobs"] // 2)
    assert len(doc["checks"]) == 1
    assert doc["interrupted"] is False and doc["run"]["hypothesis_seed"] is None  # ci is derandomized
    assert not list((tmp_path / results.PARTIAL_DIR).iterdir()), "the logs of a clean run are removed"


def test_run_battery_refuses_zero_jobs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        runner.run_battery(["numpy"], tmp_path / "w", jobs=0)


def test_shard_log_reads_only_complete_lines_as_they_come(tmp_path: Path) -> None:
    """The watchdog reads a log while it is written: a half-written line waits, a cut one is skipped."""
    path = tmp_path / "s.jsonl"
    log = runner.ShardLog(path)
    ident = {"test_id": "a[x-float64-f-g]", "name": "test_a[x-float64-f-g]", "spec": "a", "transform": "grad",
             "function": "f-g", "dtype": "float64", "variant": ""}
    with open(path, "w") as fh:
        fh.write(json.dumps({"kind": "collected", "checks": [ident]}) + "\n")
        fh.write(json.dumps({"kind": "start", "test_id": ident["test_id"], "time": 5.0}) + "\n")
        fh.write('{"kind": "check", "test_id": "a[x-flo')
    log.poll()
    assert log.in_flight == (ident["test_id"], 5.0) and log.remaining == [ident["test_id"]]
    assert log.collected[ident["test_id"]]["function"] == "f-g"
    with open(path, "a") as fh:
        fh.write('at64-f-g]", "status": "pass", "backend": "x", "spec": "a", "transform": "grad", '
                 '"function": "f-g"}\n{"kind": "check", "cut')
    log.poll()
    assert log.in_flight is None and log.remaining == [] and log.checks[ident["test_id"]]["status"] == "pass"
