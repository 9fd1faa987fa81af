"""The results contract: the names that writers and readers of results share, each defined here once.

The battery's shards write records (:mod:`conformance.run.plugin`), the runner reads them (:mod:`conformance.run.runner`),
the command line writes results files (:mod:`conformance.commands`), and the report (``docs/_ext``) and third-party
tools read those files (``docs/results-schema.json``).  Every vocabulary they have in common lives here: a check's
statuses, a claim's verdicts, the kinds of record in a shard's log, where results and logs are kept, the
environment variables that carry them between processes, the shipped backends and the order transforms are shown in.

Standard library only, and importing nothing of this project: the report's Sphinx extension imports it without
torch, jax, numpy, pytest or hypothesis, and so can any tool that reads results files.
``tests/test_architecture.py`` fails when one of these names is assigned anywhere else in ``conformance/``,
``backends/`` or ``docs/_ext/``, and when the JSON Schema's enumerations differ from these.
"""

from __future__ import annotations

from pathlib import Path

# -- a check's status, a claim's verdict ------------------------------------------------------------------

STATUSES = ("pass", "fail", "error", "skip", "xfail", "xpass")
"""A check's status, in display order (``$defs.check.properties.status`` of the JSON Schema)."""
UNEXPECTED = ("fail", "error", "xpass")
"""The statuses that fail the gate: a verdict of non-conformance, no verdict, or a deviation that went away."""
VERDICTS = ("true", "false", "partly", "environment", "unverifiable")
"""A claim's verdict, in display order: the one vocabulary of both claim checkers (``$defs.claim`` and a document's
claims in the JSON Schema).  ``partly``: an article's claim that holds on some libraries and not on others;
``environment``: a document's cell that raised because of the machine (no GPU, a package not installed), not
because of what the document says; ``unverifiable``: code could not decide, and the record says why."""


def verdict_of(held: bool) -> str:
    """``true`` or ``false``: the verdict of a claim its evidence decided (a Python bool never is a verdict)."""
    return "true" if held else "false"


def checked_verdict(verdict: str) -> str:
    """``verdict`` when it is a word of :data:`VERDICTS`; anything else (a bool, a typo) is our bug, raised at once
    where the claim is made rather than found later by the schema or the report."""
    if not isinstance(verdict, str) or verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    return verdict


# -- a shard's log ----------------------------------------------------------------------------------------

class LogKind:
    """The ``kind`` of each record in a shard's ``.jsonl`` log: the plugin writes them, the runner reads them.

    Plain strings (what the log holds), gathered in one namespace so that no writer or reader spells one out.
    """

    BACKEND = "backend"
    """The backend's environment (name, library version, device), first in every process's log."""
    COLLECTED = "collected"
    """The identity of every check the process selected, as fields (nothing is parsed out of a test id)."""
    START = "start"
    """A check began (its test id and wall time): what the runner's watchdog measures from."""
    CHECK = "check"
    """A finished check: one results record (``$defs.check`` of the JSON Schema)."""
    SHARD_END = "shard_end"
    """Written by the runner when a shard is finished for good (not restarted on ``--resume``)."""


LOG_KINDS = (LogKind.BACKEND, LogKind.COLLECTED, LogKind.START, LogKind.CHECK, LogKind.SHARD_END)
"""Every record kind a shard's log may hold; any other is a tampered log."""


# -- where results and logs are kept, and how their paths travel ------------------------------------------

PACKAGE_DIR = Path(__file__).resolve().parent
"""This package's folder (``conformance/``), wherever it is installed."""
PROJECT_ROOT = PACKAGE_DIR.parent
"""The folder holding ``conformance/``, ``backends/`` and ``docs/``: the checkout, or site-packages when installed.
Every module that needs a project path starts from here, so moving a module never moves what it finds."""

RESULTS_DIR = Path("reports") / "results"
"""Where runs write ``run-<id>.json``, relative to the working directory."""
PARTIAL_DIR = RESULTS_DIR / ".partial"
"""Where a run keeps its shards' logs (``.partial/<id>/``) until they are merged; ``--resume`` reads them."""
RUN_FILE = "run.json"
"""In ``.partial/<id>/``: the header and options of the run, all that ``--resume`` needs besides the logs."""

RESULTS_ENV_VAR = "CONFORMANCE_RESULTS"
"""How the results paths reach the report's Sphinx extension (``os.pathsep``-separated)."""
FALSE_ALARMS_ENV_VAR = "CONFORMANCE_FALSE_ALARMS"
"""How the false-alarm summary (``benchmarks/false_alarms.py``) reaches the report's Sphinx extension."""
PARENT_PID_ENV = "CONFORMANCE_PARENT_PID"
"""Set in each shard's environment: the plugin ends the shard when this process is no longer its parent."""
RUN_ID_ENV = "CONFORMANCE_RUN_ID"
"""Set in each shard's environment (inherited by anything it spawns), so a run's processes can be found."""
REFERENCE_CACHE_ENV = "CONFORMANCE_REFERENCE_CACHE"
"""Set in each shard's environment: the folder where the run's shards share the reference's results
(:mod:`conformance.run.reference_cache`)."""
REFERENCE_CACHE_DIR = "reference"
"""That folder's name inside the run's ``.partial/<id>/``; it goes with the logs."""


# -- the shipped backends, the transforms -----------------------------------------------------------------

BUILTIN_BACKENDS = {
    "jax": "backends.jax_api:JaxApi",
    "torch": "backends.torch_func:TorchFunc",
    "torch_autograd": "backends.torch_autograd:TorchAutograd",
    "mlx": "backends.mlx_api:MlxApi",
    "autograd": "backends.autograd_api:AutogradApi",
    "numpy": "backends.numpy_reference:NumpyReference",
}
"""Each shipped backend's name and its adapter (``module:attr``), slowest first."""
EXTRA_BACKENDS = {
    "tensorflow": "backends.tensorflow_api:TensorflowApi",
    "paddle": "backends.paddle_api:PaddleApi",
    "mindspore": "backends.mindspore_api:MindsporeApi",
}
"""Shipped adapters of libraries outside the default gate: each is gated by a nox session of its own
(``nox -s tensorflow``), in a virtualenv of its own, so the default gate stays small and fast and no dependency
of theirs meets the six's pins.  ``--backend tensorflow`` names one wherever its library is installed."""
KNOWN_BACKENDS = {**BUILTIN_BACKENDS, **EXTRA_BACKENDS}
"""Every backend name that resolves without ``module:attr`` or an entry point."""
DEFAULT_BACKENDS = tuple(BUILTIN_BACKENDS)
"""What a run checks without ``--backend``: every shipped backend, slowest first, so the longest shards start at
once on a 2-core machine."""

TRANSFORM_ORDER = ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond",
                   "jit", "errors")
"""The order transforms are listed in (the report's rows); a transform not named here comes after, by name."""


BATTERY_PATHS = ("conformance/battery/specs", "conformance/battery/catalog.py", "conformance/battery/functions.py",
                 "conformance/battery/strategies.py",
                 # where they were before the folders by stage, so commits from before the move still count
                 "conformance/specs", "conformance/catalog.py", "conformance/functions.py", "conformance/strategies.py")
"""The files whose changes change what the battery checks or draws: a false-alarm rate measured at one revision says
nothing about the commits after it that touched these (the report counts them, from ``run.revision``)."""
BATTERY_HISTORY = 1200
"""How many of those commits a run records (newest first); an older measurement reads as "more than" this."""
