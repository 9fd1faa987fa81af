"""Sessions: conformance (the CI gate), tests (our own tests), docs, lint, benchmark.

Every session installs with ``constraints.txt`` (exact pins: ``torch==2.13.0``
takes the CPU wheel from the local disk; a looser spec would pull a CUDA build)
through nox's default virtualenv+pip backend.  uv is deliberately not used: it
ignores the machine's pip configuration.  Virtualenvs are reused, and the
install step is skipped while ``pyproject.toml`` and ``constraints.txt`` are
unchanged, so a second run starts in seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import nox
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["conformance"]

ROOT = Path(__file__).parent
PYTHON = "3.11"


def _install(session: nox.Session, extras: str) -> None:
    """pip-install the project with ``extras`` unless this venv already has exactly this."""
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    digest.update(extras.encode())
    stamp = Path(session.virtualenv.location) / ".installed-stamp"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        session.log("dependencies unchanged since the last install; skipping pip")
        return
    session.install("-c", "constraints.txt", "-e", f".[{extras}]")
    stamp.write_text(digest.hexdigest())


def split_install(posargs: Sequence[str]) -> tuple[list[str], list[str]]:
    """Take ``--install SPEC`` / ``--install=SPEC`` (repeatable) out of the arguments meant for ``conformance all``."""
    specs: list[str] = []
    rest: list[str] = []
    args = iter(posargs)
    for arg in args:
        if arg == "--install" or arg.startswith("--install="):
            spec = arg.partition("=")[2] if "=" in arg else next(args, "")
            if not spec.strip() or spec.startswith("-"):
                raise ValueError("--install needs a requirement after it (e.g. --install 'mylib==1.2' or --install ./mylib)")
            specs.append(spec)
        else:
            rest.append(arg)
    return specs, rest


def pin_conflicts(specs: Sequence[str], constraints: str) -> list[str]:
    """Specs that name a package ``constraints`` pins, at a version the pin excludes (one message each).

    pip with ``-c constraints.txt`` would refuse them too, but only after resolving; this says why in one line,
    before anything is downloaded.  A different torch would be a multi-GB CUDA download and break the other gates.
    """
    pins = {}
    for line in constraints.splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[canonicalize_name(name)] = version.strip()
    problems = []
    for spec in specs:
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue  # a path or URL of the library itself: pip installs it under the constraints
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is not None and (req.url or not req.specifier.contains(pinned, prereleases=True)):
            problems.append(f"--install {spec!r}: constraints.txt pins {canonicalize_name(req.name)}=={pinned}, which this excludes "
                            f"(drop it: the gate installs {req.name} {pinned} itself)")
    return problems


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Run the battery on every backend, check the article, build the report; fail on surprises.

    Extra arguments go to ``python -m conformance all``, e.g.
    ``nox -s conformance -- --backend mylib.adapter:MyBackend --profile thorough``, except
    ``--install SPEC`` (repeatable): the library under test, pip-installed under ``constraints.txt``
    so that it cannot change the pinned torch, jax or numpy, e.g.
    ``nox -s conformance -- --install "mylib==1.2" --backend mylib_adapter:MyLib --manifest mylib.toml``.
    """
    try:
        specs, args = split_install(session.posargs)
    except ValueError as exc:
        session.error(str(exc))
    if problems := pin_conflicts(specs, (ROOT / "constraints.txt").read_text()):
        session.error("\n".join(problems))
    _install(session, "torch,jax,mlx,autograd,docs,documents")
    if specs:
        try:
            session.install("-c", "constraints.txt", *specs)
        except nox.command.CommandFailed:
            session.error(f"--install {' '.join(specs)}: pip could not install it next to the pinned versions in "
                          "constraints.txt (see pip's message above: a dependency may need another torch or numpy)")
    session.run("python", "-m", "conformance", "all", *args)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The project's own tests: planted faults, the reference's accuracy, the checker, the report."""
    _install(session, "torch,jax,mlx,autograd,docs,documents,dev")
    session.run("python", "-m", "pytest", "tests", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Rebuild the HTML report from existing results files; imports neither torch nor jax."""
    _install(session, "docs")
    session.run("python", "-m", "conformance", "report", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("-c", "constraints.txt", "ruff")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def benchmark(session: nox.Session) -> None:
    """Print where the battery's time goes (not a test: figures, not assertions)."""
    _install(session, "torch,jax,mlx,autograd,docs,documents")
    session.run("python", "benchmarks/battery.py", *session.posargs)
