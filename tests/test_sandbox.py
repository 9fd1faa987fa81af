"""The sandbox contains misbehaving snippets and records what happened; the caller goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sandbox_helpers import alive, sandboxes_with

from conformance.claims.article import bwrap
from conformance.claims.article.sandbox import GiB, run_snippet

ROOT = Path(__file__).resolve().parents[1]


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


# --- check-article: refusal without an OS boundary, the isolation recorded, prompt interrupts -------------------

SLEEPERS = ("sleep-a", "sleep-b", "sleep-c")


def _article(tmp_path: Path, marker: str, sleep: int = 60) -> tuple[Path, Path]:
    """A small article: one quick snippet and three that sleep (a minute by default), each under its own claim."""
    quick = "# the quick one: the longest code, so it is scheduled first (the pool starts long code first)\n" * 3
    quick += "print(2 * 21)\n"
    sleepy = {sid: f"import time\ntime.sleep({sleep})  # {marker} {sid}\n" for sid in SLEEPERS}
    text = "# Note\n\n" + "".join(f"Claim {sid} runs.\n\n```python\n{code}```\n\n"
                                  for sid, code in {"quick": quick, **sleepy}.items())
    claims = '[article]\nid = "t"\ntitle = "t"\npath = "a.md"\n\n'
    for sid, code in {"quick": quick, **sleepy}.items():
        claims += f"[[snippet]]\nid = \"{sid}\"\ntarget = \"python\"\ncode = '''\n{code}'''\n\n"
        claims += (f'[[claim]]\nid = "{sid}"\nquote = "Claim {sid} runs."\nparaphrase = "it runs"\n'
                   f'kind = "example-runs"\nsnippet = "{sid}"\n\n')
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    (tmp_path / "c.toml").write_text(claims, encoding="utf-8")
    return tmp_path / "a.md", tmp_path / "c.toml"


_IGNORING_SIGINT = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
"""Starts a command the way a non-interactive shell starts a background job: with SIGINT ignored."""


def _check_article(tmp_path: Path, *extra: str, env: dict[str, str] | None = None,
                   sigint_ignored: bool = False) -> subprocess.Popen[str]:
    article, claims = _article(tmp_path, extra[-1] if extra and extra[-1].startswith("marker-") else "m")
    args = [a for a in extra if not a.startswith("marker-")]
    cmd = [sys.executable, "-m", "conformance", "check-article", str(article), str(claims),
           "--backend", "numpy", "--out", str(tmp_path / "run.json"), *args]
    if sigint_ignored:
        cmd = [sys.executable, "-c", _IGNORING_SIGINT, *cmd]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.skipif(not bwrap.available().ok, reason=f"needs bubblewrap: {bwrap.available().why}")
@pytest.mark.parametrize(("sig", "sigint_ignored"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                                     (signal.SIGINT, True)],
                         ids=["ctrl-c", "sigterm", "ctrl-c-from-a-parent-ignoring-it"])
def test_interrupt_kills_running_snippets_and_writes_what_finished(tmp_path: Path, sig: signal.Signals,
                                                                   sigint_ignored: bool) -> None:
    """Also when started by a parent that ignores SIGINT (a background job of a non-interactive shell, a CI
    harness): Python then installs no KeyboardInterrupt, and a `kill -INT` would do nothing unless we restore it."""
    marker = f"marker-{uuid.uuid4().hex}"
    proc = _check_article(tmp_path, "--jobs", "2", marker, sigint_ignored=sigint_ignored)
    deadline = time.monotonic() + 60
    running: dict[bytes, list[int]] = {}
    while len(running) < 2 and time.monotonic() < deadline:  # two sleepers running (the quick one is done)
        running = sandboxes_with(marker)
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[0]
    sent = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5, out
    assert proc.returncode == 130, out
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["run"]["interrupted"] is True and doc["run"]["isolation"] == "bwrap"
    verdicts = {c["id"]: c["verdict"] for c in doc["claims"]}
    assert verdicts == {"quick": "true", **dict.fromkeys(SLEEPERS, "unverifiable")}, out
    quick = next(c for c in doc["claims"] if c["id"] == "quick")
    assert quick["evidence"][0]["isolation"] == "bwrap"
    assert not [pid for pids in running.values() for pid in pids if alive(pid)]
    assert sandboxes_with(marker) == {}  # and the queued third sleeper never started


def test_without_bwrap_untrusted_code_does_not_run_unless_allowed(tmp_path: Path) -> None:
    article, claims = _article(tmp_path, "m", sleep=0)
    env = {**os.environ, "PATH": str(tmp_path / "no-bin")}  # no bwrap on PATH
    cmd = [sys.executable, "-m", "conformance", "check-article", str(article), str(claims), "--backend", "numpy",
           "--out", str(tmp_path / "run.json")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "bubblewrap (bwrap) is not installed" in proc.stdout, proc.stdout + proc.stderr
    assert "--allow-weak-sandbox" in proc.stdout and not (tmp_path / "run.json").exists()
    proc = subprocess.run([*cmd, "--allow-weak-sandbox"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["run"]["isolation"] == "weak"
    assert {e["isolation"] for c in doc["claims"] for e in c["evidence"]} == {"weak"}
    assert {c["verdict"] for c in doc["claims"]} == {"true"}


def test_weak_results_say_so() -> None:
    r = run_snippet("print('hi')\n", isolation="weak", timeout=20)
    assert r.status == "ok" and r.isolation == "weak" and r.stdout == "hi\n"


def test_output_is_capped_head_and_tail() -> None:
    r = run_snippet("import sys\nfor i in range(20000):\n    print(f'line {i}')\n", timeout=20, output_cap=4096)
    assert r.stdout.startswith("line 0\n") and r.stdout.endswith("line 19999\n")
    assert "bytes cut ...]" in r.stdout and len(r.stdout) < 4096 + 100


def test_an_interpreter_living_under_tmp_is_visible_inside(tmp_path: Path) -> None:
    """A CI clone or a virtualenv under /tmp must not be hidden by the sandbox's own private /tmp."""
    if not bwrap.available().ok and not os.environ.get("CI"):
        pytest.skip(bwrap.available().why)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    res = run_snippet("import sys; print(sys.prefix)", python=str(venv / "bin" / "python"), isolation="bwrap",
                      timeout=30)
    assert res.status == "ok", (res.status, res.reason, res.stderr[-1000:])
    assert res.stdout.strip() == str(venv)
