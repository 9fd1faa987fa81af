"""``python -m conformance report --out DIR`` replaces DIR whole, so it only ever replaces a report site of its own.

A site holds the stamp file ``report.STAMP``; a folder that is not new, not empty and holds no stamp (a home
folder, a filesystem root, a project, a folder of someone's files) is refused before anything is written or
deleted, with exit status 2 and one line naming the folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from report_helpers import ROOT, RUN_A, RUN_B, Page

from conformance import report


def cli(*args: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "conformance", "report", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=300)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_site_carries_the_stamp_and_is_rebuilt_in_place(tmp_path: Path) -> None:
    out = tmp_path / "site"
    report.build([RUN_A], out)
    assert (out / report.STAMP).is_file()
    report.build([RUN_B], out)
    assert (out / report.STAMP).is_file() and "gpu-box" in Page(out / "index.html").text


def test_a_new_or_empty_folder_is_accepted(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report.build([RUN_A], empty)
    assert (empty / "index.html").is_file() and (empty / report.STAMP).is_file()


def test_a_folder_of_other_files_is_refused_and_left_untouched(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work\n", encoding="utf-8")
    (mine / "notes" / "index.html").write_text("<p>my page</p>\n", encoding="utf-8")
    before = snapshot(mine)
    proc = cli(str(RUN_A), "--out", str(mine), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--out {mine}: not empty and not a report site" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no lock, no staging folder beside it


def test_the_home_folder_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("export X=1\n", encoding="utf-8")
    before = snapshot(home)
    work = tmp_path / "work"
    work.mkdir()
    proc = cli(str(RUN_A), "--out", str(home), cwd=work, home=home)  # what the shell makes of ``--out ~``
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "home folder" in proc.stderr
    assert snapshot(home) == before and not list(tmp_path.glob(".home*"))
    with pytest.raises(report.OutRefused, match="home folder"):
        report.check_out(Path.home())


def test_a_filesystem_root_is_refused(tmp_path: Path) -> None:
    proc = cli(str(RUN_A), "--out", "/", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "filesystem root" in proc.stderr
    with pytest.raises(report.OutRefused, match="filesystem root"):
        report.build([RUN_A], Path("/"))


def test_the_working_directory_and_its_parents_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    monkeypatch.chdir(project / "src")
    for out in (project / "src", project, Path(".")):
        with pytest.raises(report.OutRefused, match="working directory"):
            report.check_out(out)
    assert sorted(p.name for p in project.iterdir()) == ["src"]


def test_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(report.OutRefused, match="not a folder"):
        report.build([RUN_A], target)
    assert target.read_text(encoding="utf-8") == "not a folder\n"


def test_a_stamp_that_is_a_link_does_not_count(tmp_path: Path) -> None:
    """The stamp must be a file of the folder itself, not a link someone planted to one elsewhere."""
    site = tmp_path / "site"
    report.build([RUN_A], site)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "data.csv").write_text("1,2\n", encoding="utf-8")
    (folder / report.STAMP).symlink_to(site / report.STAMP)
    with pytest.raises(report.OutRefused, match="not a report site"):
        report.check_out(folder)


def test_a_site_built_before_the_stamp_existed_is_still_replaced(tmp_path: Path) -> None:
    out = tmp_path / "site"
    report.build([RUN_A], out)
    (out / report.STAMP).unlink()  # what an older build left: Sphinx's build info and the report's style sheet
    report.check_out(out)
    report.build([RUN_B], out)
    assert (out / report.STAMP).is_file()
