"""The sandbox contains misbehaving snippets and records what happened; the caller goes on."""

from __future__ import annotations

from pathlib import Path

from conformance.article.sandbox import GiB, run_snippet


def test_infinite_loop_times_out() -> None:
    r = run_snippet("while True:\n    pass\n", timeout=2)
    assert r.status == "timeout" and "wall-clock" in r.reason


def test_unbounded_allocation_is_stopped() -> None:
    r = run_snippet("x = []\nwhile True:\n    x.append(bytearray(10**8))\n", memory=GiB, timeout=30)
    assert r.status in ("exception", "killed")
    assert (r.exception and r.exception["type"] == "MemoryError") or "memory" in r.reason


def test_fork_is_blocked() -> None:
    r = run_snippet("import os\nfor _ in range(1000):\n    os.fork()\n", timeout=20)
    assert r.status == "exception" and r.exception["type"] == "PermissionError" and "os.fork" in r.exception["message"]


def test_subprocess_is_blocked() -> None:
    r = run_snippet("import subprocess\nsubprocess.run(['true'])\n", timeout=20)
    assert r.status == "exception" and "subprocess.Popen" in r.exception["message"]


def test_write_outside_is_blocked_and_run_goes_on(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    r = run_snippet(f"open({str(target)!r}, 'w').write('x')\n", timeout=20)
    # The audit hook refuses it (weak mode), or the path does not exist in the sandbox's own /tmp (bwrap).
    assert r.status == "exception" and r.exception["type"] in ("PermissionError", "FileNotFoundError")
    assert not target.exists()
    ok = run_snippet("open('inside.txt', 'w').write('y')\nprint(open('inside.txt').read())\n", timeout=20)
    assert ok.status == "ok" and ok.stdout == "y\n"


def test_remove_outside_is_blocked(tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("keep")
    r = run_snippet(f"import os\nos.remove({str(victim)!r})\n", timeout=20)
    assert r.status == "exception" and victim.exists()


def test_environment_is_scrubbed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SECRET_TOKEN", "x")
    monkeypatch.setenv("JAX_ENABLE_X64", "1")
    r = run_snippet("import os\nprint(sorted(k for k in os.environ if k in ('SECRET_TOKEN', 'JAX_ENABLE_X64')))\n")
    assert r.stdout.strip() == "[]"
