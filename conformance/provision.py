"""What the machine must have beyond Python, and getting it: Debian packages installed before any long work.

The nox sessions call :func:`ensure` first, before a virtualenv is filled (minutes) or a battery runs, because a
missing sandbox discovered after 200 seconds of work is the worst way to learn it.  Where a need is missing:

- and this process may install system packages (it is root, or ``sudo -n`` works, and ``apt-get`` exists), it
  installs them with ``apt-get``, saying so in one line first;
- otherwise, or when ``TRANSFORM_CONFORMANCE_NO_APT=1`` forbids installing, it stops with :class:`Missing`: one
  line naming the exact command to run and why the package is needed.

Once ``bwrap`` is there, :func:`conformance.claims.article.bwrap.available` probes that it can really create its
namespaces (a container without user namespaces, Ubuntu 24.04's AppArmor restriction), and the same stop names the
precise fix for that case.

Standard library only: the noxfile imports this module with the interpreter nox runs under, before the project's
dependencies exist.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

NO_APT_ENV = "TRANSFORM_CONFORMANCE_NO_APT"
"""Set to 1 to forbid installing system packages: the sessions then stop with the command instead."""


class Missing(RuntimeError):
    """A system package is missing and cannot be installed from here; the message is one line with the fix."""


@dataclasses.dataclass(frozen=True)
class Need:
    """One thing the machine needs: how to tell it is there, the Debian packages that bring it, and why."""

    name: str
    packages: tuple[str, ...]
    why: str
    present: Callable[[], bool]


def _on_path(*names: str) -> Callable[[], bool]:
    return lambda: any(shutil.which(n) for n in names)


FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
"""Where fontconfig (and so Chromium) finds fonts: the system's, the local admin's and the user's own."""


def _font_installed() -> bool:
    return any(glob.glob(os.path.join(os.path.expanduser(d), "**", "ipag*.tt[fc]"), recursive=True)
               for d in FONT_DIRS)


SANDBOX = Need("bubblewrap", ("bubblewrap",), "the OS sandbox that untrusted article and document code runs in",
               _on_path("bwrap"))
BROWSER = Need("chromium", ("chromium",), "headless Chromium, for the report's browser tests",
               _on_path("chromium", "chromium-browser"))
FONTS = Need("a Japanese font", ("fonts-ipafont-gothic",),
             "so screenshots of the article pages show the article's Japanese text, not boxes", _font_installed)
NEEDS = {"sandbox": (SANDBOX,), "tests": (SANDBOX, BROWSER, FONTS)}
"""What each nox session needs: the gate runs untrusted code; the tests also drive a browser."""


def _installer() -> list[str] | None:
    """The command prefix that can install system packages here, or None (no apt-get, or no root and no sudo)."""
    if os.environ.get(NO_APT_ENV, "") not in ("", "0") or not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, timeout=30).returncode == 0:
        return [sudo, "-n"]
    return None


def _apt(prefix: Sequence[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run([*prefix, "apt-get", *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=1800)


def _command(packages: Sequence[str]) -> str:
    return f"sudo apt-get install -y {' '.join(packages)}"


def ensure(needs: Sequence[Need], *, log: Callable[[str], None] = print) -> list[str]:
    """Install what of ``needs`` is missing, or raise :class:`Missing` with the command; returns what it installed."""
    missing = [n for n in needs if not n.present()]
    if not missing:
        return []
    packages = [p for n in missing for p in n.packages]
    why = "; ".join(f"{n.name}: {n.why}" for n in missing)
    prefix = _installer()
    if prefix is None:
        reason = (f"{NO_APT_ENV} is set" if os.environ.get(NO_APT_ENV, "") not in ("", "0")
                  else "no apt-get here" if not shutil.which("apt-get")
                  else "this user is not root and has no passwordless sudo")
        raise Missing(f"missing {', '.join(n.name for n in missing)} ({why}); {reason}, so run: "
                      f"{_command(packages)}  (or your system's package of the same name), then rerun")
    log(f"installing Debian package{'s' if len(packages) > 1 else ''} {' '.join(packages)} ({why})")
    for args in (("update", "-qq"), ("install", "-y", "-qq", "--no-install-recommends", *packages)):
        proc = _apt(prefix, *args)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise Missing(f"`apt-get {' '.join(args)}` failed (exit {proc.returncode}: {tail}); run "
                          f"{_command(packages)} by hand, then rerun")
    still = [n.name for n in missing if not n.present()]
    if still:
        raise Missing(f"apt-get installed {' '.join(packages)}, but {', '.join(still)} is still not on PATH "
                      f"({os.environ.get('PATH', '')})")
    return packages


def ensure_sandbox_works(*, allow_weak: bool = False) -> None:
    """Probe that ``bwrap`` can create namespaces here; raise :class:`Missing` with the precise fix if not.

    ``allow_weak`` (``--allow-weak-sandbox``) turns the stop into nothing: the checkers then run untrusted code
    with rlimits and an audit hook only, and record ``isolation: weak`` in every result.
    """
    from conformance.claims.article import bwrap

    avail = bwrap.available()
    if not avail.ok and not allow_weak:
        raise Missing(f"{avail.why}; or pass --allow-weak-sandbox to run untrusted code without OS isolation")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conformance.provision [sandbox|tests] [--allow-weak-sandbox]``: what the nox sessions run first."""
    args = list(sys.argv[1:] if argv is None else argv)
    allow_weak = "--allow-weak-sandbox" in args
    names = [a for a in args if not a.startswith("-")] or ["sandbox"]
    unknown = [n for n in names if n not in NEEDS]
    if unknown:
        print(f"provision: unknown need {unknown[0]!r} (known: {', '.join(NEEDS)})", file=sys.stderr)
        return 2
    needs = list(dict.fromkeys(n for name in names for n in NEEDS[name]))
    weak_ok = allow_weak and SANDBOX in needs  # with the flag, a missing sandbox is a warning, not a stop
    log = lambda line: print(f"provision: {line}", flush=True)  # noqa: E731
    try:
        ensure([n for n in needs if not (weak_ok and n is SANDBOX)], log=log)
        if weak_ok:
            try:
                ensure([SANDBOX], log=log)
            except Missing as exc:
                log(f"{exc}; going on with --allow-weak-sandbox (no OS isolation)")
        if SANDBOX in needs:
            ensure_sandbox_works(allow_weak=allow_weak)
    except Missing as exc:
        print(f"provision: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
