"""The OS boundary for untrusted snippets: a bubblewrap (``bwrap``) command line, and whether it works here.

Why bubblewrap rather than Landlock + seccomp: namespaces hide what Landlock cannot.  A new PID namespace makes the
checker and every other process invisible and unsignalable (``kill``/``pidfd_send_signal`` find nothing), and its
fresh ``/proc`` shows no other environment; a new network namespace has its own loopback, so nothing on the host's
127.0.0.1 is reachable; a new mount namespace shows only what is bound into it, read-only.  Landlock restricts file
access (and, from ABI 4, TCP only), but leaves processes, signals (until ABI 6), abstract Unix sockets and /proc in
view, and seccomp filters written by hand are easy to get wrong.  ``bwrap`` is one small, audited setuid-free binary
that Debian ships; it costs a few milliseconds per snippet (see the README for figures).

What the sandbox sees (everything else does not exist inside it):

- read-only: ``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links or directories), the loader's files in ``/etc``,
  the Python installation and the virtual environment running the checker, the project's own packages
  (``conformance``, ``backends``: not results, reports or ``.git``), and the CPU topology in ``/sys``;
- a fresh, read-only ``/proc`` of its own PID namespace, a minimal read-only ``/dev``;
- writable: only a size-capped tmpfs at ``/tmp`` (working directory, HOME, caches) and a small one at ``/dev/shm``.

The snippet runs as uid 65534 in a new user namespace with no capabilities and ``no_new_privs``, cannot create
further user namespaces, is in a new session (no terminal to inject into), and dies with the ``bwrap`` process.

Known limits.  bwrap maps the sandbox user to the user that started it; when the checker runs as root, that is
uid 0 outside, so what holds is the read-only mounts (``/proc`` included) and the dropped capabilities, and
RLIMIT_NPROC is not enforced (the kernel exempts root): there a pids cgroup caps processes and threads instead
(``conformance.claims.article.cgroup``), where the machine lets root create one.  A Unix socket placed inside a directory bound read-only (the
venv, ``/usr``) could be connected to; host sockets live in ``/run``, ``/tmp`` and ``/var``, none of which is bound.
Running the checker as an ordinary user removes the first two.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from conformance.contract import PROJECT_ROOT

PROJECT_PACKAGES = ("conformance", "backends")
"""What the snippets may import from the project (pyproject.toml's packages); nothing else of the checkout."""
INSIDE_DIR = "/sandbox"
"""Where the host's per-snippet directory (bootstrap, snippet, passwd) appears, read-only."""
INSIDE_TMP = "/tmp"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "alternatives")
SYS_DIRS = ("/sys/devices/system/cpu",)
UID = 65534
MiB = 1024**2


@dataclasses.dataclass(frozen=True)
class Availability:
    """Whether bwrap can start a sandbox on this machine, and if not, why (shown to the user)."""

    ok: bool
    path: str | None
    why: str


def _executable() -> str | None:
    from shutil import which

    return which("bwrap")


@functools.cache
def available() -> Availability:
    """Start one empty sandbox (cached for the process): a missing binary and refused user namespaces both show here."""
    path = _executable()
    if path is None:
        return Availability(False, None, "bubblewrap (bwrap) is not installed (fix: sudo apt-get install bubblewrap)")
    cmd = [path, *_namespace_args(), *_system_mounts(), "--", "/bin/true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=30, env=_bwrap_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Availability(False, path, f"bwrap failed to start: {exc}")
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode("utf-8", "replace").split())[-300:]
        return Availability(False, path, f"bwrap is installed but cannot create its namespaces here "
                                         f"({err or f'exit {proc.returncode}'}); fix: {namespace_fix()}")
    return Availability(True, path, "")


SYSCTLS = "/proc/sys"


def _sysctl(name: str, root: str = SYSCTLS) -> str | None:
    try:
        return Path(root, *name.split(".")).read_text().strip()
    except OSError:
        return None


def namespace_fix(root: str = SYSCTLS, euid: int | None = None, container: bool | None = None) -> str:
    """The precise fix for a ``bwrap`` that cannot create user namespaces, read from the kernel's settings.

    In the order the kernel applies them: a zero namespace quota, Debian's old switch, Ubuntu 23.10+'s AppArmor
    restriction (GitHub's ubuntu-24.04 runners have it), then a container runtime whose seccomp or AppArmor
    profile refuses ``unshare`` and ``clone(CLONE_NEWUSER)``.
    """
    euid = os.geteuid() if euid is None else euid
    if _sysctl("user.max_user_namespaces", root) == "0":
        return "sudo sysctl -w user.max_user_namespaces=15000 (this kernel allows no user namespaces at all)"
    if _sysctl("kernel.unprivileged_userns_clone", root) == "0" and euid != 0:
        return ("sudo sysctl -w kernel.unprivileged_userns_clone=1 (Debian's switch for unprivileged user "
                "namespaces is off), or run as root")
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns", root) == "1" and euid != 0:
        return ("AppArmor restricts unprivileged user namespaces (Ubuntu 23.10 and later): give bwrap a profile, "
                "printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile bwrap /usr/bin/bwrap flags=(unconfined) "
                "{\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/bwrap && sudo systemctl reload apparmor, or "
                "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or run as root")
    if container if container is not None else _in_container():
        return ("this looks like a container whose seccomp/AppArmor profile refuses new namespaces: start it with "
                "--security-opt seccomp=unconfined --security-opt apparmor=unconfined (or --privileged), or check "
                "in a VM")
    return "allow user namespaces for this user (see bwrap's message above), or run as root, or check in a VM"


def _in_container() -> bool:
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    try:
        cgroups = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(word in cgroups for word in ("docker", "kubepods", "containerd", "lxc", "podman"))


def _bwrap_env() -> dict[str, str]:
    """bwrap's own environment: the PID namespace's init is a copy of bwrap, and its /proc/1/environ is readable."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _namespace_args() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--uid", str(UID), "--gid", str(UID), "--disable-userns",
            "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "sandbox"]


def _system_mounts() -> list[str]:
    """``/usr`` and the top-level links into it, as this machine has them (merged /usr or not)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / top
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    for name in ETC_FILES:
        p = Path("/etc") / name
        if p.exists():
            args += ["--ro-bind", str(p), str(p)]
    return args


def _covered(path: str, by: Iterable[str]) -> bool:
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in by)


def python_roots(python: str = sys.executable) -> list[str]:
    """The directories the interpreter needs: its installation and the virtual environment, deduplicated.

    Only these are bound, never their parents: a Python installed under a home directory (pyenv) does not
    bring the home directory with it.
    """
    roots: list[str] = []
    exe = os.path.realpath(python)
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(Path(exe).parents[1])]
    if python != sys.executable:  # another interpreter: bind what its path says, its venv included
        candidates = [str(Path(python).parents[1]), str(Path(exe).parents[1])]
    for c in candidates:
        real = os.path.realpath(c)
        for p in (c, real):
            if p and p not in roots and not _covered(p, ["/usr", *roots]) and os.path.isdir(p):
                roots.append(p)
    return roots


def command(
    python: str,
    argv: Sequence[str],
    *,
    host_dir: Path,
    env: Mapping[str, str],
    tmp_bytes: int,
    shm_bytes: int,
    project_root: Path = PROJECT_ROOT,
    bwrap: str = "bwrap",
) -> list[str]:
    """The full ``bwrap ... -- python argv`` command; ``host_dir`` appears read-only at :data:`INSIDE_DIR`.

    The order matters: ``/dev`` is remounted read-only before the sized tmpfs goes on ``/dev/shm`` (bwrap's own
    ``/dev`` is an unsized, writable tmpfs otherwise).  ``/proc`` is read-only because, when the checker runs as
    root, bwrap maps the sandbox user to uid 0 outside, which owns ``/proc/sys``: ``kernel/core_pattern`` (a
    program the host runs as root) would otherwise be writable despite the dropped capabilities.
    """
    # The private /tmp goes first: the interpreter, the virtualenv or the project may themselves live under /tmp
    # (a CI clone, pytest's tmp_path), and a tmpfs mounted after their binds would hide them.
    args = [bwrap, *_namespace_args(), *_system_mounts(), "--size", str(int(tmp_bytes)), "--tmpfs", INSIDE_TMP]
    for root in python_roots(python):
        args += ["--ro-bind", root, root]
    for pkg in PROJECT_PACKAGES:
        p = project_root / pkg
        if p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    for d in SYS_DIRS:
        if os.path.isdir(d):
            args += ["--ro-bind", d, d]
    args += ["--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
             "--size", str(int(shm_bytes)), "--tmpfs", "/dev/shm",
             "--ro-bind", str(host_dir), INSIDE_DIR]
    for name in ("passwd", "group"):
        if (host_dir / name).exists():
            args += ["--ro-bind", str(host_dir / name), f"/etc/{name}"]
    args += ["--chdir", INSIDE_TMP, "--clearenv"]
    for k, v in env.items():
        args += ["--setenv", k, v]
    return [*args, "--", python, *argv]


def identity_files(host_dir: Path) -> None:
    """A passwd/group naming only the sandbox user, so ``getpass.getuser()`` (torch's cache dirs) works."""
    (host_dir / "passwd").write_text(f"sandbox:x:{UID}:{UID}:sandbox:{INSIDE_TMP}:/usr/sbin/nologin\n")
    (host_dir / "group").write_text(f"sandbox:x:{UID}:\n")


def bwrap_env() -> dict[str, str]:
    """Public alias: the environment to start bwrap itself with."""
    return _bwrap_env()
