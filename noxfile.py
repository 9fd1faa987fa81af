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
from pathlib import Path

import nox

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


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Run the battery on every backend, check the article, build the report; fail on surprises.

    Extra arguments go to ``python -m conformance all``, e.g.
    ``nox -s conformance -- --backend mylib.adapter:MyBackend --profile thorough``.
    """
    _install(session, "torch,jax,mlx,autograd,docs,documents")
    session.run("python", "-m", "conformance", "all", *session.posargs)


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
