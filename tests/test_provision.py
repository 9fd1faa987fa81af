"""A fresh machine, on purpose: the sessions' provisioning with ``bwrap`` and ``chromium`` hidden from PATH.

Every test builds a PATH of its own (``/usr/bin`` minus the sandbox, the browser, apt-get and sudo) and puts a fake
``apt-get`` on it that logs its arguments and "installs" executables into a directory of the test's, so what the
provisioning does is observed, not assumed: it installs and says so in one line, or stops at once naming the
command.  The real ``bwrap``'s namespaces are probed elsewhere (tests/test_sandbox.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import provision
from conformance.claims.article import bwrap

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = {"bwrap", "chromium", "chromium-browser", "apt-get", "sudo"}

FAKE_APT = """#!/bin/sh
echo "$@" >> "{log}"
if [ "$1" = install ]; then
  for pkg in "$@"; do
    case "$pkg" in
      bubblewrap) cp "{template}" "{bin}/bwrap"; chmod +x "{bin}/bwrap" ;;
      chromium) printf '#!/bin/sh\\nexit 0\\n' > "{bin}/chromium"; chmod +x "{bin}/chromium" ;;
      fonts-ipafont-gothic) mkdir -p "$HOME/.local/share/fonts" && : > "$HOME/.local/share/fonts/ipag.ttf" ;;
    esac
  done
fi
exit {code}
"""


def _fresh_machine(tmp: Path, *, apt: bool = True, apt_code: int = 0, bwrap_body: str = "exit 0") -> dict[str, str]:
    """An environment whose PATH lacks the sandbox and the browser; with ``apt``, a fake apt-get on it."""
    shadow, fake = tmp / "usr-bin", tmp / "fake-bin"
    shadow.mkdir()
    fake.mkdir()
    for entry in Path("/usr/bin").iterdir():
        if entry.name not in HIDDEN:
            (shadow / entry.name).symlink_to(entry)
    if apt:
        (tmp / "bwrap.template").write_text(f"#!/bin/sh\n{bwrap_body}\n")
        (fake / "apt-get").write_text(FAKE_APT.format(log=tmp / "apt.log", bin=fake, code=apt_code,
                                                      template=tmp / "bwrap.template"))
        (fake / "apt-get").chmod(0o755)
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != provision.NO_APT_ENV}
    return {**env, "PATH": f"{fake}:{shadow}", "HOME": str(home)}


def _provision(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.provision", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the install path needs root (or passwordless sudo): this user is neither")


def test_missing_packages_are_installed_with_one_line(tmp_path: Path) -> None:
    _as_root()
    proc = _provision(_fresh_machine(tmp_path), "tests")
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stdout.splitlines() if "installing" in line]
    assert len(said) == 1 and "bubblewrap" in said[0] and "chromium" in said[0], proc.stdout
    log = (tmp_path / "apt.log").read_text().splitlines()
    assert log[0].startswith("update") and log[1].startswith("install")
    assert {"bubblewrap", "chromium"} <= set(log[1].split())
    assert (tmp_path / "fake-bin" / "bwrap").exists() and (tmp_path / "fake-bin" / "chromium").exists()


def test_nothing_is_installed_when_everything_is_there(tmp_path: Path) -> None:
    _as_root()
    env = _fresh_machine(tmp_path)
    assert _provision(env, "tests").returncode == 0
    (tmp_path / "apt.log").unlink()
    again = _provision(env, "tests")
    assert again.returncode == 0 and not (tmp_path / "apt.log").exists(), again.stdout
    assert "installing" not in again.stdout


@pytest.mark.parametrize("forbid", ["no-apt-env", "no-apt-get"])
def test_a_machine_that_cannot_install_stops_at_once_naming_the_command(tmp_path: Path, forbid: str) -> None:
    env = _fresh_machine(tmp_path, apt=forbid != "no-apt-get")
    if forbid == "no-apt-env":
        env[provision.NO_APT_ENV] = "1"
    started = time.monotonic()
    proc = _provision(env, "tests")
    assert proc.returncode == 2
    assert time.monotonic() - started < 30
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "sudo apt-get install -y bubblewrap chromium" in lines[0]
    assert "sandbox" in lines[0] and "browser" in lines[0]  # why each is needed
    assert not (tmp_path / "apt.log").exists()


def test_a_failing_apt_get_is_one_line_with_the_command(tmp_path: Path) -> None:
    _as_root()
    proc = _provision(_fresh_machine(tmp_path, apt_code=100), "sandbox")
    assert proc.returncode == 2
    assert "failed (exit 100" in proc.stderr and "sudo apt-get install -y bubblewrap" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_allow_weak_sandbox_turns_a_missing_sandbox_into_a_warning(tmp_path: Path) -> None:
    env = _fresh_machine(tmp_path, apt=False)
    proc = _provision(env, "sandbox", "--allow-weak-sandbox")
    assert proc.returncode == 0, proc.stderr
    assert "--allow-weak-sandbox" in proc.stdout and "no OS isolation" in proc.stdout


def test_a_bwrap_that_cannot_create_namespaces_is_caught_by_the_probe(tmp_path: Path) -> None:
    _as_root()
    body = "echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1"
    proc = _provision(_fresh_machine(tmp_path, bwrap_body=body), "sandbox")
    assert proc.returncode == 2
    assert "cannot create its namespaces" in proc.stderr and "uid map: Permission denied" in proc.stderr
    assert "fix:" in proc.stderr and "--allow-weak-sandbox" in proc.stderr


def _sysctls(tmp: Path, **values: str) -> str:
    for name, value in values.items():
        path = tmp.joinpath(*name.split("__"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    return str(tmp)


@pytest.mark.parametrize(("sysctls", "euid", "container", "fix"), [
    ({"user__max_user_namespaces": "0"}, 0, False, "user.max_user_namespaces=15000"),
    ({"kernel__unprivileged_userns_clone": "0"}, 1000, False, "kernel.unprivileged_userns_clone=1"),
    ({"kernel__apparmor_restrict_unprivileged_userns": "1"}, 1000, False, "/etc/apparmor.d/bwrap"),
    ({"kernel__apparmor_restrict_unprivileged_userns": "1"}, 0, True, "seccomp=unconfined"),
    ({}, 0, True, "seccomp=unconfined"),
    ({}, 1000, False, "run as root"),
])
def test_namespace_fix_names_the_setting_that_refuses(tmp_path: Path, sysctls: dict[str, str], euid: int,
                                                     container: bool, fix: str) -> None:
    assert fix in bwrap.namespace_fix(_sysctls(tmp_path, **sysctls), euid=euid, container=container)


def test_nox_conformance_stops_before_any_install(tmp_path: Path) -> None:
    """The README's first command on a machine without the sandbox: one line, exit 2, before a virtualenv fills."""
    python3 = sys.executable  # the tests session installs nox (the "dev" extra)
    if subprocess.run([python3, "-c", "import nox"], capture_output=True).returncode:
        pytest.skip("nox is not installed here (the README's first command installs it; so does the dev extra)")
    env = _fresh_machine(tmp_path, apt=False)
    env["PATH"] += f":{Path(python3).parent}"
    started = time.monotonic()
    proc = subprocess.run([python3, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir", str(tmp_path / "envs"),
                           "-s", "conformance"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "sudo apt-get install -y bubblewrap" in proc.stderr
    assert "pip install" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - started < 120


def _cli(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("command", [["check-doc", "{doc}"], ["check-article",
                                     str(ROOT / "tests/fixtures/mini_article.md"),
                                     str(ROOT / "tests/fixtures/mini_article_claims.toml")],
                                     ["all", "--backend", "torch", "--no-report"]])
def test_every_command_running_untrusted_code_stops_with_one_line(tmp_path: Path, command: list[str]) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```python\nprint(1 + 1)\n```\n")
    started = time.monotonic()
    proc = _cli(_fresh_machine(tmp_path, apt=False), *(a.format(doc=doc) for a in command),
                "--out", str(tmp_path / "out.json"))
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 2, out
    assert "Traceback" not in out and "bwrap" in out and "--allow-weak-sandbox" in out
    assert len(out.splitlines()) == 1, out
    assert time.monotonic() - started < 60  # before the battery, before any document runs
    assert not (tmp_path / "out.json").exists()


def test_check_doc_with_a_weak_sandbox_records_the_isolation(tmp_path: Path) -> None:
    import json

    doc = tmp_path / "doc.md"
    doc.write_text("```python\nprint(1 + 1)\n```\n")
    proc = _cli(_fresh_machine(tmp_path, apt=False), "check-doc", str(doc), "--allow-weak-sandbox",
                "--out", str(tmp_path / "out.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "out.json").read_text())["run"]["isolation"] == "weak"


def test_the_gate_records_the_isolation_its_untrusted_code_will_run_under(tmp_path: Path) -> None:
    """``all`` probes before the battery and writes the answer into the run header, as check-doc does."""
    code = ("from conformance.commands.gate import sandbox_before_battery as s; "
            "print(s(['torch'], docstrings=True, allow_weak=True), s(['numpy'], docstrings=False, allow_weak=True))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_fresh_machine(tmp_path, apt=False),
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["weak", "None"], proc.stdout + proc.stderr
