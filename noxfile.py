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
import sys
from collections.abc import Sequence
from pathlib import Path

import nox
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["conformance"]

ROOT = Path(__file__).resolve().parent
PYTHON = "3.11"
sys.path.insert(0, str(ROOT))
from conformance import contract, provision  # noqa: E402  (standard library only: importable before any install)


def _provision(need: str, args: Sequence[str] = ()) -> None:
    """Install the Debian packages ``need`` asks for, or stop with the command, before any long work.

    A stop is exit 2 with one line (nox's own error would be exit 1, the gate's "a check failed"): a missing
    sandbox is a problem of the machine, not a finding.
    """
    flags = [a for a in args if a == "--allow-weak-sandbox"]
    if code := provision.main([need, *flags]):
        sys.exit(code)


def _install(session: nox.Session, extras: str, constraints: Path = ROOT / "constraints.txt") -> None:
    """pip-install the project with ``extras`` under ``constraints`` unless this venv already has exactly this."""
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", constraints):
        digest.update(path.read_bytes())
    digest.update(extras.encode())
    stamp = Path(session.virtualenv.location) / ".installed-stamp"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        session.log("dependencies unchanged since the last install; skipping pip")
        return
    session.install("-c", str(constraints), "-e", f".[{extras}]")
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
    _provision("sandbox", args)
    _install(session, "torch,jax,mlx,autograd,docs,documents")
    # From here on, the folder nox was started from: relative paths (--manifest mylib.toml, --install ./mylib) and
    # the adapter's module resolve there, and the results and the report are written there, not into this project
    # (the same folder, when nox runs from the project root).
    session.chdir(session.invoked_from)
    if specs:
        try:
            session.install("-c", str(ROOT / "constraints.txt"), *specs)
        except nox.command.CommandFailed:
            session.error(f"--install {' '.join(specs)}: pip could not install it next to the pinned versions in "
                          "constraints.txt (see pip's message above: a dependency may need another torch or numpy)")
    session.run("python", "-m", "conformance", "all", *args)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The project's own tests: planted faults, the reference's accuracy, the checker, the report.

    They need the sandbox, headless Chromium and a Japanese font on the machine: installed here when missing.
    """
    _provision("tests")
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


EXTRA_LIBRARIES = tuple(contract.EXTRA_BACKENDS)
"""Libraries gated by a session of their own (``nox -s tensorflow``): the adapter is shipped
(``conformance.contract.EXTRA_BACKENDS``), the library is the pyproject extra of the same name, and the default
gate never installs it."""
EXTRA_RESULTS = ROOT / contract.RESULTS_DIR / "extra"


def _extra_library(session: nox.Session, name: str) -> None:
    """Gate one extra library: its battery (exit non-zero on any unexpected result), then the report beside the six.

    The virtualenv holds the project, the library and the report's tools, not torch or JAX.  Where the library
    cannot share ``constraints.txt``'s pins (a build against an older NumPy), ``constraints-<name>.txt`` replaces
    them for this session alone.  Extra arguments go to ``python -m conformance run`` (e.g. ``-k grad``).
    """
    own = ROOT / f"constraints-{name}.txt"
    _install(session, f"{name},docs", own if own.exists() else ROOT / "constraints.txt")
    out = EXTRA_RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    session.run("python", "-m", "conformance", "run", "--backend", name, "--out", str(out), *session.posargs)
    runs = sorted((ROOT / contract.RESULTS_DIR).glob("run-*.json"), key=lambda p: p.stat().st_mtime)
    session.run("python", "-m", "conformance", "report", *(str(r) for r in runs[-1:]),
                *sorted(str(p) for p in EXTRA_RESULTS.glob("*.json")))


for _name in EXTRA_LIBRARIES:
    def _session(session: nox.Session, _library: str = _name) -> None:
        _extra_library(session, _library)

    _session.__doc__ = f"Gate {_name} (not in the default gate): its battery and manifest, then the report beside the six."
    nox.session(python=PYTHON, name=_name)(_session)


VERSION_COLUMNS = {
    # library: (backend name, pip requirements of one release, releases to run)
    "jax": ("jax", ("jax=={v}", "jaxlib=={v}"), ("0.4.30", "0.5.3", "0.6.2", "0.7.2", "0.8.3", "0.9.2", "0.10.2")),
    # 1.7.0 is the first autograd that imports beside NumPy 2 (HIPS/autograd#618): 1.6.2 fails at import.
    "autograd": ("autograd", ("autograd=={v}",), ("1.7.0", "1.8.0", "1.9.1")),
    "mlx": ("mlx", ("mlx[cpu]=={v}",), ("0.30.0", "0.31.0", "0.32.4")),
}
"""The spread of releases ``nox -s versions`` runs: one virtualenv and one results file per release.

torch is not here: every torch release but the pinned CPU wheel pulls a multi-GB CUDA build.
"""


@nox.session(python=PYTHON)
@nox.parametrize("release", [nox.param(f"{lib}=={v}", id=f"{lib}-{v}")
                             for lib, (_, _, vs) in VERSION_COLUMNS.items() for v in vs])
def versions(session: nox.Session, release: str) -> None:
    """Run the battery against one release of one library, for the report's version columns.

    ``nox -s versions`` runs every release (``nox -s "versions(jax-0.4.30)"`` one); each writes
    ``reports/results/versions/<lib>-<version>.json``, and the report shows one column per file plus the
    "changed between versions" page.  Extra arguments go to ``python -m conformance run`` (e.g. ``-k grad``).
    """
    lib, version = release.split("==")
    backend, requirements, _ = VERSION_COLUMNS[lib]
    pinned = tuple(r.split("==")[0].split("[")[0].lower() for r in requirements)
    constraints = Path(session.create_tmp()) / "constraints-without-release.txt"
    constraints.write_text("".join(line + "\n" for line in (ROOT / "constraints.txt").read_text().splitlines()
                                   if line.split("==")[0].strip().lower() not in (*pinned, f"{lib}-cpu")))
    session.install("-c", str(constraints), "-e", ".")
    session.install(*(r.format(v=version) for r in requirements))
    out = ROOT / "reports" / "results" / "versions" / f"{lib}-{version}.json"
    # Exit 1 (unexpected results) is a finding of this column, not a failure of the session.
    session.run("python", "-m", "conformance", "run", "--backend", backend, "--out", str(out), *session.posargs,
                success_codes=[0, 1])
