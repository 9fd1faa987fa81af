"""Output paths are checked before any work, and a write that fails at the end loses nothing.

Every command that writes a results file (run, all, merge, check-article) asks the place itself before it
starts: a directory, a kernel filesystem (also behind a symlink), a parent that does not exist or is a file are
refused with one line, exit 2, in about a second.  A write that fails anyway (a full disk) says what was kept
and how to finish, and ``--resume`` then finishes the run from the logs it left.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"


def _cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def _bad_outs(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (the --out given, words the one-line refusal must contain)."""
    (tmp / "adir").mkdir(exist_ok=True)
    (tmp / "afile").write_text("x")
    link = tmp / "kernel"
    if not link.exists():
        link.symlink_to("/proc")
    return {
        "directory": (str(tmp / "adir"), "is a directory"),
        "proc": ("/proc/x.json", "kernel filesystem"),
        "sys": ("/sys/kernel/x.json", "kernel filesystem"),
        "dev-null": ("/dev/null", "kernel filesystem"),
        "symlink-to-proc": (str(link / "x.json"), "kernel filesystem"),
        "missing-parent": (str(tmp / "no" / "such" / "x.json"), "no such directory"),
        "parent-is-a-file": (str(tmp / "afile" / "x.json"), "not a directory"),
    }


BAD = ["directory", "proc", "sys", "dev-null", "symlink-to-proc", "missing-parent", "parent-is-a-file"]


@pytest.mark.parametrize("case", BAD)
def test_check_output_file_refuses_with_one_line(tmp_path: Path, case: str) -> None:
    from conformance.store import outputs  # here, so each test fails on its own where the module is missing

    out, words = _bad_outs(tmp_path)[case]
    with pytest.raises(outputs.UsageError) as info:
        outputs.check_output_file(Path(out))
    message = str(info.value)
    assert message.startswith(f"--out {out}: ") and words in message and "\n" not in message, message
    assert "(" in message and message.endswith(")"), "the line names the fix"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "kernel"], "the probe left a file"


def test_a_writable_place_is_accepted_and_left_clean(tmp_path: Path) -> None:
    from conformance.store import outputs  # here, so each test fails on its own where the module is missing

    outputs.check_output_file(tmp_path / "new.json")
    (tmp_path / "old.json").write_text("{}")
    outputs.check_output_file(tmp_path / "old.json")  # replaced at the end, by a rename
    outputs.check_output_dir(tmp_path / "site" / "deeper")  # made later, under a writable ancestor
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]


def test_a_pseudo_filesystem_is_found_by_its_mount_type_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.store import outputs  # here, so each test fails on its own where the module is missing

    """A kernel filesystem mounted elsewhere than /proc, /sys or /dev is found in the mount table."""
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nproc {tmp_path / 'mnt'} proc rw 0 0\n")
    (tmp_path / "mnt").mkdir()
    monkeypatch.setattr(outputs, "MOUNTS", mounts)
    with pytest.raises(outputs.UsageError, match="on a proc filesystem"):
        outputs.check_output_file(tmp_path / "mnt" / "x.json")
    outputs.check_output_file(tmp_path / "x.json")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only-mode directory")
def test_an_unwritable_directory_is_refused(tmp_path: Path) -> None:
    from conformance.store import outputs  # here, so each test fails on its own where the module is missing

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(outputs.UsageError, match="cannot create files in"):
            outputs.check_output_file(locked / "x.json")
    finally:
        locked.chmod(0o700)


def _command(name: str, out: str, tmp: Path) -> list[str]:
    if name in ("run", "all"):
        return [name, "--backend", "numpy", "-k", "conventions_api", "--out", out]
    if name == "merge":  # the output is checked before any input is read
        return ["merge", str(tmp / "a.json"), str(tmp / "b.json"), "--out", out]
    return ["check-article", str(FIX / "mini_article.md"), str(FIX / "mini_article_claims.toml"),
            "--backend", "numpy", "--allow-weak-sandbox", "--out", out]


@pytest.mark.parametrize("case", ["directory", "proc", "symlink-to-proc", "missing-parent"])
@pytest.mark.parametrize("command", ["run", "all", "merge", "check-article"])
def test_every_command_refuses_a_bad_out_before_any_work(tmp_path: Path, command: str, case: str) -> None:
    out, words = _bad_outs(tmp_path)[case]
    started = time.monotonic()
    proc = _cli(tmp_path, *_command(command, out, tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--out {out}: " in lines[0] and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists(), "work started before the output was checked"
    assert time.monotonic() - started < 60


def test_all_refuses_a_site_on_a_kernel_filesystem(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "all", "--backend", "numpy", "--site", "/proc/site")
    assert proc.returncode == 2 and "--site /proc/site: /proc is a kernel filesystem" in proc.stderr, proc.stderr
    assert not (tmp_path / "reports").exists()


# -- a write that fails at the end ----------------------------------------------------------------------

def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_write_atomic_on_a_full_disk_says_what_was_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.store import outputs  # here, so each test fails on its own where the module is missing

    path = tmp_path / "run.json"
    path.write_text("the previous results\n")
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(outputs.OutputError) as info:
        outputs.write_atomic(path, "new", kept="the logs are in X", resume="then: python -m conformance run --resume X")
    message = str(info.value)
    assert "ENOSPC" in message and "the logs are in X" in message and "--resume X" in message, message
    assert "\n" not in message
    assert path.read_text() == "the previous results\n", "the old file survives"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"], "no temporary file is left behind"


def test_a_full_disk_at_the_end_of_a_run_keeps_the_logs_and_resume_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The results file cannot be written: exit 2, one line naming --resume; the logs stay; resume writes it."""
    from conformance.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    out = tmp_path / "run.json"
    real_replace = os.replace

    def full_disk_for_results(src: str, dst: str) -> None:
        if Path(dst) == out:
            _enospc()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk_for_results)
    try:
        code = main(["run", "--backend", "numpy", "-k", "conventions_api", "--out", str(out)])
    except OSError as exc:  # the old behaviour: a traceback, and the logs already deleted
        pytest.fail(f"the failed write escaped as {exc!r}")
    err = capsys.readouterr().err
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert "No space left on device" in line and "--resume" in line, line
    partial = sorted((tmp_path / results.PARTIAL_DIR).iterdir())
    assert len(partial) == 1 and str(partial[0].relative_to(tmp_path)) in line
    assert list(partial[0].glob("*.jsonl")), "the finished checks' logs are kept"
    assert not out.exists()
    monkeypatch.setattr(os, "replace", real_replace)
    assert main(["run", "--resume", str(partial[0].relative_to(tmp_path))]) == 0
    doc = results.load(out)
    assert len(doc["checks"]) == 1 and doc["run"]["resumed"]
    assert not partial[0].exists(), "once written, the logs of a clean run are removed"


def test_all_writes_its_results_file_once_and_a_failed_step_keeps_the_logs_for_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``all`` writes the battery, the article and the docstrings in one write at the end; a step that fails before
    it leaves the shards' logs and names the --resume command, which finishes the run without the battery."""
    from conformance.__main__ import main
    from conformance.claims.article import cli as article_cli
    from conformance.commands import outcome

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    out = tmp_path / "all.json"
    argv = ["--no-report", "--no-docstrings"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the article check broke")

    with monkeypatch.context() as patch:
        patch.setattr(article_cli, "check_shipped", broken)
        with pytest.raises(RuntimeError, match="the article check broke"):
            main(["all", "--backend", "numpy", "-k", "conventions_api", "--out", str(out), *argv])
    err = capsys.readouterr().err
    (work,) = sorted((tmp_path / results.PARTIAL_DIR).iterdir())
    assert f"all --resume {work.relative_to(tmp_path)}" in err, err
    assert list(work.glob("*.jsonl")) and not out.exists(), "no results file yet: the logs hold the checks"
    writes: list[Path] = []
    real_write = results.write_atomic

    def counted(path: object, document: dict, **kwargs: object) -> Path:
        writes.append(Path(str(path)))
        return real_write(path, document, **kwargs)

    monkeypatch.setattr(outcome.results, "write_atomic", counted)
    assert main(["all", "--resume", str(work.relative_to(tmp_path)), *argv]) == 0
    assert writes.count(out) == 1, writes
    doc = results.load(out)
    assert len(doc["checks"]) == 1 and doc["articles"] and doc["run"]["resumed"] and doc["run"]["function_table"]
    assert not work.exists(), "once written, the logs are removed"


def test_merge_on_a_full_disk_says_the_inputs_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.__main__ import main

    doc = results.new_document(results.run_header(profile="ci", hypothesis_seed=None))
    one = results.write_atomic(tmp_path / "one.json", doc)
    monkeypatch.setattr(os, "fsync", _enospc)
    assert main(["merge", str(one), "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "shard files are unchanged" in err and len(err.splitlines()) == 1
