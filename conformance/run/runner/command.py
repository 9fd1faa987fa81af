"""What a shard runs: its pytest command line, its log's name, and the command that reruns one check.

Everything a shard's command line carries is in :class:`ShardOptions`, so a restart after a crash and a
reproducer printed with a failure repeat it exactly.  A ``-k`` expression is checked here, once, before any
shard starts (:func:`check_keyword`).
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.contract import PACKAGE_DIR

BATTERY = PACKAGE_DIR / "run" / "battery_tests.py"
BATTERY_NODE = "conformance/run/battery_tests.py"
BATTERY_MODULE = "conformance.run.battery_tests"
"""The battery as ``--pyargs`` names it: what a reproducer runs from any folder."""
"""How a reproducer names the battery: a path relative to the project root, where it is run from."""

SHARDS = ("float64", "float32")
"""The slowest backends run as one process per dtype, so two cores stay busy while the slowest backend runs."""
BOTH_DTYPES = "float64+float32"
"""The shard of a backend that runs both dtypes in one process (:func:`layout`)."""
SHARD_KEYWORDS = {"float64": "(float64 or complex128)", "float32": "(float32 or complex64)",
                  BOTH_DTYPES: "(float64 or complex128 or float32 or complex64)"}
"""What each shard selects: its float dtype and the complex dtype of the same precision (``specs/complex.py``)."""


def backends_per_dtype(jobs: int) -> int:
    """How many backends (the slowest first) a run started on ``jobs`` runs as one process per dtype: ``jobs // 2``.

    Fixed when the run starts and kept in its ``run.json`` (``settings.per_dtype``): ``--resume`` may take another
    ``--jobs``, which changes how many processes run at once but must not change which shards exist."""
    return jobs // len(SHARDS)


def saved_per_dtype(settings: Mapping[str, Any]) -> int:
    """The ``per_dtype`` of a run file's settings; a file written before it was recorded has the ``jobs`` the run
    started on (``--resume`` replaces those only in memory)."""
    return int(settings.get("per_dtype", backends_per_dtype(int(settings.get("jobs") or 1))))


def layout(backends: Sequence[str], per_dtype: int, split: int = 1) -> dict[str, tuple[str, ...]]:
    """The shards of each backend: one process per dtype for the first ``per_dtype`` backends, both dtypes in one
    process for the rest (every backend by dtype, in ``split`` parts each, where the jobs outnumber the processes).

    Backends are given slowest first (:data:`conformance.contract.DEFAULT_BACKENDS`), so the slowest one's two
    halves start at once, one per core, and the others, which finish in seconds, pay their import, collection and
    first transform call once instead of twice: that start-up was about a tenth of the gate's CPU time, six
    backends times two processes.  A pure function of options the run file keeps, so ``--resume`` finds the same
    shards.
    """
    if split > 1:
        return {b: SHARDS for b in backends}
    return {b: SHARDS if i < per_dtype else (BOTH_DTYPES,) for i, b in enumerate(backends)}


@dataclasses.dataclass(frozen=True)
class ShardOptions:
    """Everything a shard's command line carries, so a restart and a reproducer repeat it exactly."""

    profile: str = "ci"
    seed: int | None = None
    keyword: str | None = None
    manifests: tuple[str, ...] = ()
    check_timeout: float = 120.0
    extra: tuple[str, ...] = ()
    shard: str | None = None
    """``K/N``: this machine's part of every backend's battery (see :mod:`conformance.run.sharding`)."""
    shard_costs: str | None = None
    """Expected check times for the partition: a results file or a costs table (default: the committed one)."""
    device: str | None = None
    """``--device``: where the backends compute (None: each library's default)."""


def _options_args(backend: str, opts: ShardOptions) -> list[str]:
    args = ["--backend", backend]
    for m in opts.manifests:
        args += ["--manifest", m]
    args += [f"--check-timeout={opts.check_timeout:g}", f"--hypothesis-profile={opts.profile}"]
    if opts.seed is not None:
        args.append(f"--hypothesis-seed={opts.seed}")
    if opts.device:
        args.append(f"--device={opts.device}")
    return args


def _partition_args(opts: ShardOptions, part: tuple[int, int]) -> list[str]:
    """The sharding plugin's options: the machine's shard, then this process's part of it (cores)."""
    chain = [s for s in (opts.shard, f"{part[0]}/{part[1]}" if part[1] > 1 else None) if s]
    if not chain:
        return []
    args = ["-p", "conformance.run.sharding", f"--shard={','.join(chain)}"]
    if opts.shard_costs:
        args.append(f"--shard-costs={opts.shard_costs}")
    return args


class BadKeyword(ValueError):
    """A ``-k`` expression pytest would refuse: said once, before any shard starts, in pytest's own words."""


def check_keyword(keyword: str | None) -> None:
    """Refuse a ``-k`` expression pytest cannot parse, alone or as the runner composes it with a dtype.

    Without this every shard's pytest refuses it on its own, and each of its checks is recorded as
    "not run": hundreds of errors instead of one line.
    """
    if keyword is None:
        return
    from _pytest.mark import expression

    errors: tuple[type[BaseException], ...] = (SyntaxError,)
    if hasattr(expression, "ParseError"):  # pytest < 9
        errors = (*errors, expression.ParseError)
    for text in (keyword, f"({keyword}) and {SHARDS[0]}"):
        try:
            expression.Expression.compile(text)
        except errors as exc:
            column = getattr(exc, "offset", None) or getattr(exc, "column", None)
            what = getattr(exc, "msg", None) or getattr(exc, "message", None) or str(exc)
            raise BadKeyword(f"-k {keyword!r}: pytest cannot parse it" + (f": at column {column}" if column else "")
                             + f": {what} (write names joined by and, or, not and balanced parentheses, e.g. "
                               "-k \"jvp_value and not float32\")") from None


def shard_log_name(spec: str, dtype: str, part: int = 1, split: int = 1) -> str:
    """The file name (without suffix) of one shard's log and output, in the run's ``.partial/<id>/``."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in spec) + f"-{dtype}"
    return safe + (f"-{part}of{split}" if split > 1 else "")


def log_names(backends: Sequence[str], per_dtype: int, split: int = 1) -> set[str]:
    """Every shard log name a run of ``backends`` writes (:func:`layout`; ``split`` processes per backend x dtype)."""
    shards = layout(backends, per_dtype, split)
    return {shard_log_name(b, d, part, split) for part in range(1, split + 1) for b in backends for d in shards[b]}


def pytest_command(backend: str, shard: str, log: Path, opts: ShardOptions, *, skip_recorded: bool = True,
                   part: tuple[int, int] = (1, 1)) -> list[str]:
    """The shard's command: the battery with the plugin, one dtype (one part of it), logging to ``log``."""
    cmd = [
        sys.executable, "-m", "pytest", str(BATTERY), "-p", "conformance.run.plugin",
        *_options_args(backend, opts), "--results-log", str(log),
        "-q", "--no-header", "-p", "no:cacheprovider", "-o", "addopts=",
        # Native tracebacks: pytest's default style re-parses the source of every frame, which costs
        # seconds on the deep dynamo tracebacks of an xfail, and the results carry their own messages.
        "--tb=native",
        *_partition_args(opts, part),
    ]
    if skip_recorded:
        cmd.append("--skip-recorded")
    dtypes = SHARD_KEYWORDS.get(shard, shard)
    cmd += ["-k", f"({opts.keyword}) and {dtypes}" if opts.keyword else dtypes]
    return cmd + list(opts.extra)


def reproducer_command(backend: str, test_name: str, *, profile: str, seed: int | None,
                       manifests: Sequence[str], check_timeout: float, device: str | None = None) -> str:
    """A shell command, run from the folder the run was started in, that reruns one check as the run did.

    ``test_name`` is pytest's name of the check (``test_jvp_value[torch-float32-sin_sum]``).  The battery is named
    as a module (``--pyargs conformance.run.battery_tests::...``), not a path, so the command needs no checkout of this
    project under the working folder, only the installed package and the adapter's module on the path.
    """
    opts = ShardOptions(profile=profile, seed=seed, manifests=tuple(manifests), check_timeout=check_timeout,
                        device=device)
    args = ["python", "-m", "pytest", "-p", "conformance.run.plugin", "-p", "no:cacheprovider",
            *_options_args(backend, opts), "--pyargs", f"{BATTERY_MODULE}::{test_name}"]
    return shlex.join(args)

