"""check-doc's edges (issue 20, the document parts of classes 4-6): what it does when interrupted, when the disk is
full, with a bad ``--out`` or ``--timeout``, with huge documents, symlinks leaving the tree, documents that do not
finish, and file names that are shell code or terminal escapes.

Each test runs tiny documents that import neither torch nor jax (a sandbox starts in a fraction of a second).
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sandbox_helpers import sandboxes_with

from conformance.claims.article import bwrap
from conformance.claims.documents import session
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not bwrap.available().ok and not os.environ.get("CI"),
    reason=f"bubblewrap cannot run here: {bwrap.available().why}")


def _doc(directory: Path, name: str, *cells: str) -> str:
    path = directory / name
    path.write_text("\n".join(f"```python\n{c}\n```\n" for c in cells), encoding="utf-8")
    return str(path)


def _main(*argv: str) -> int:
    from conformance.__main__ import main

    return main(["check-doc", *argv])


def _records(out: Path) -> dict[str, dict[str, Any]]:
    return {Path(r["source"]).name: r for r in json.loads(out.read_text(encoding="utf-8"))["documents"]}


def _no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any document run from here on fails the test: the check under test must come before all work."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a document ran before the options were checked")

    monkeypatch.setattr(session, "run_document", refuse)


# --- Ctrl-C and SIGTERM ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_writes_the_finished_documents_and_says_how_to_rerun_the_rest(tmp_path: Path,
                                                                                 sig: signal.Signals) -> None:
    marker = f"hostile-{uuid.uuid4().hex}"
    quick = _doc(tmp_path, "a quick.md", "print(1)  # 1")
    slow = [_doc(tmp_path, f"b_slow{i}.md", f"import time\ntime.sleep(60)  # {marker}") for i in (1, 2)]
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "check-doc", quick, *slow, "--jobs", "2",
                             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while len(sandboxes_with(marker)) < 2 and time.monotonic() < deadline:  # the quick one is done by then
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(sig)
    text, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, text
    assert "Traceback" not in text, text
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["interrupted"] is True and doc["run"]["interrupted"] is True
    recs = {Path(r["source"]).name: r for r in doc["documents"]}
    assert recs["a quick.md"]["status"] == "ok" and [c["verdict"] for c in recs["a quick.md"]["claims"]] == ["true", "true"]
    rerun = next(line for line in text.splitlines() if "python -m conformance check-doc" in line)
    command = shlex.split(rerun[rerun.index("python -m conformance"):])
    assert command[:4] == ["python", "-m", "conformance", "check-doc"]
    assert set(slow) <= set(command) and quick not in command
    assert sandboxes_with(marker) == {}


# --- writing the results -----------------------------------------------------------------------------------------

def test_a_full_disk_when_writing_results_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def full(path: object, document: object) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(results, "write_atomic", full)
    out = tmp_path / "r.json"
    code = _main(_doc(tmp_path, "small.md", "print(1)  # 1"), "--out", str(out))
    text = capsys.readouterr()
    assert code == 2, text
    assert "Traceback" not in text.out + text.err
    (line,) = [ln for ln in (text.out + text.err).splitlines() if "No space left" in ln]
    assert str(out) in line and "not written" in line
    assert not out.exists()


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("where", ["directory", "proc", "fifo", "file-as-parent"])
def test_a_bad_out_is_refused_before_any_document_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], where: str) -> None:
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    out = {"directory": lambda: tmp_path, "proc": lambda: Path("/proc/x.json"), "fifo": lambda: _fifo(tmp_path),
           "file-as-parent": lambda: tmp_path / "plain" / "r.json"}[where]()
    doc = _doc(tmp_path, "small.md", "print(1)  # 1")
    _no_run(monkeypatch)
    assert _main(doc, "--out", str(out)) == 2
    text = capsys.readouterr()
    lines = [ln for ln in (text.out + text.err).splitlines() if ln.strip()]
    assert len(lines) == 1 and "--out" in lines[0], lines


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str], value: str) -> None:
    doc = _doc(tmp_path, "small.md", "print(1)  # 1")
    _no_run(monkeypatch)
    with pytest.raises(SystemExit) as exc:
        _main(doc, "--timeout", value, "--out", str(tmp_path / "r.json"))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--timeout" in err[0], err


# --- sizes -------------------------------------------------------------------------------------------------------

def _limit() -> int:
    try:
        from conformance.claims.documents import limits
    except ImportError:  # the code before the limits existed
        return 64 * 1024 * 1024
    return limits.MAX_DOCUMENT_BYTES


def test_a_document_over_the_size_limit_is_refused_with_its_own_outcome(tmp_path: Path) -> None:
    big = tmp_path / "huge.ipynb"
    with open(big, "wb") as fh:  # sparse: the limit is checked before anything is read
        fh.truncate(_limit() + 1)
    fine = _doc(tmp_path, "fine.md", "print(2 + 2)  # 4")
    out = tmp_path / "r.json"
    assert _main(str(big), fine, "--out", str(out)) == 3
    recs = _records(out)
    assert recs["huge.ipynb"]["status"] == "refused" and "MiB" in recs["huge.ipynb"]["reason"]
    assert recs["huge.ipynb"]["claims"] == [] and recs["fine.md"]["status"] == "ok"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_every_text_stored_in_the_results_is_capped_with_a_marker(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook()
    flood = new_code_cell("print('y' * 10)")
    flood.outputs = [new_output("stream", name="stdout", text="z" * 3_000_000)]  # a stored output of 3 MB
    nb.cells = [new_code_cell("'x' * 5_000_000"), flood, new_code_cell("s = '" + "w" * 1_000_000 + "'")]
    path = tmp_path / "big.ipynb"
    nbformat.write(nb, str(path))
    out = tmp_path / "r.json"
    _main(str(path), "--out", str(out))
    assert out.stat().st_size < 1_000_000, out.stat().st_size
    (rec,) = _records(out).values()
    longest = max(_strings(rec), key=len)
    assert len(longest) < 25_000 and "characters cut" in longest


# --- symlinks ----------------------------------------------------------------------------------------------------

def test_symlinks_leaving_the_tree_are_skipped_with_the_reason(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    secret = _doc(outside, "secret.md", "print('TOP-SECRET-OUTSIDE')")
    (outside / "more.md").write_text("```python\nprint('ALSO-OUTSIDE')\n```\n", encoding="utf-8")
    _doc(tree, "inside.md", "print(1)  # 1")
    (tree / "link.md").symlink_to(secret)
    (tree / "linked_dir").symlink_to(outside, target_is_directory=True)
    (tree / "same.md").symlink_to(tree / "inside.md")  # stays inside: a second name of a document in the tree
    out = tmp_path / "r.json"
    _main(str(tree), "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert "TOP-SECRET-OUTSIDE" not in text and "ALSO-OUTSIDE" not in text
    recs = _records(out)
    assert recs["inside.md"]["status"] == "ok"
    for name in ("link.md", "linked_dir"):
        assert recs[name]["status"] == "skipped" and "outside" in recs[name]["reason"], recs[name]
        assert recs[name]["cells"] == [] and recs[name]["claims"] == []


def test_hard_links_in_a_walked_tree_are_skipped_with_the_reason(tmp_path: Path) -> None:
    """A hard link is another name of the same file, possibly one outside the tree: no path says which."""
    import os

    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    secret = _doc(outside, "secret.md", "print('TOP-SECRET-HARDLINK')")
    _doc(tree, "inside.md", "print(1)  # 1")
    os.link(secret, tree / "alias.md")
    out = tmp_path / "r.json"
    _main(str(tree), "--out", str(out))
    assert "TOP-SECRET-HARDLINK" not in out.read_text(encoding="utf-8")
    recs = _records(out)
    assert recs["inside.md"]["status"] == "ok"
    assert recs["alias.md"]["status"] == "skipped" and "hard links" in recs["alias.md"]["reason"], recs["alias.md"]


# --- exit status ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "timeout"), [
    ("import os\nos._exit(0)", "30"),
    ("import os\nos.abort()", "30"),
    ("while True:\n    pass", "3"),
], ids=["exits", "segfaults", "times-out"])
def test_a_document_that_does_not_finish_fails_the_command(tmp_path: Path, code: str, timeout: str) -> None:
    out = tmp_path / "r.json"
    assert _main(_doc(tmp_path, "stops.md", "print(1)  # 1", code, "print(2)  # 2"), "--timeout", timeout,
                 "--out", str(out)) == 3
    (rec,) = _records(out).values()
    assert rec["status"] in ("error", "killed", "timeout")


def test_false_claims_alone_exit_1_and_a_clean_run_0(tmp_path: Path) -> None:
    out = str(tmp_path / "r.json")
    assert _main(_doc(tmp_path, "wrong.md", "print(1)  # 2"), "--out", out) == 1
    assert _main(_doc(tmp_path, "right.md", "print(1)  # 1"), "--out", out) == 0


# --- names from input: shell and terminal -----------------------------------------------------------------------

def test_reproducers_quote_file_names_for_the_shell(tmp_path: Path) -> None:
    name = "it's $(touch pwned) ; `id` & x.md"
    path = _doc(tmp_path, name, "print(1)  # 1")
    out = tmp_path / "r.json"
    _main(path, "--run-skipped", "--out", str(out))
    (rec,) = _records(out).values()
    assert shlex.split(rec["reproducer"]) == ["python", "-m", "conformance", "check-doc", path, "--run-skipped"]
    subprocess.run(["sh", "-c", f": {rec['reproducer']}"], cwd=tmp_path, check=True)  # the shell runs nothing of it
    assert not (tmp_path / "pwned").exists()


def test_control_characters_from_input_are_escaped_on_the_console(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    name = "fails\x1b[2K\r\x1b[32mok\x1b[0m\u202e.md"
    path = _doc(tmp_path, name, "raise ValueError('\\x1b[2J\\rall good')")
    _main(path, "--out", str(tmp_path / "r.json"))
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text, repr(text)
    assert "\\x1b[2K\\r" in text  # escaped, visible


def test_a_file_name_that_is_not_utf8_and_lone_surrogates_in_output_are_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = os.fsdecode(b"latin1-\xe9t\xe9.md")  # Python holds the undecodable bytes as lone surrogates
    path = _doc(tmp_path, name, "print('\\ud800 and \\udbff')")
    out = tmp_path / "r.json"
    assert _main(path, "--out", str(out)) == 0
    text = capsys.readouterr().out
    (rec,) = json.loads(out.read_text(encoding="utf-8"))["documents"]
    assert rec["source"].endswith("latin1-\\xe9t\\xe9.md") and "\ufffd and \ufffd" in rec["cells"][0]["stdout"]
    assert "latin1-\\xe9t\\xe9.md: ok" in text  # the same visible escape on the console
