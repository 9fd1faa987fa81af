"""The battery's options, shared by ``run`` and ``all``: declared, checked, and turned into the run's settings.

Every option is checked before any process starts (:class:`conformance.store.outputs.UsageError`, exit 2, one line
naming the fix), so a typo never costs a finished run.  A fresh run records its settings in
``.partial/<id>/run.json`` (:data:`conformance.contract.RUN_FILE`); ``--resume`` reads them back from there.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path
from typing import Any

from conformance.arguments import count_type
from conformance.contract import DEFAULT_BACKENDS, PARTIAL_DIR, RESULTS_DIR, RUN_FILE
from conformance.run import runner
from conformance.store import outputs, results
from conformance.store.outputs import UsageError

RANDOM_PROFILES = ("thorough",)
"""Profiles that draw at random, so the run picks a seed, passes it to every shard and records it."""


parse_jobs = count_type("--jobs", auto=True)
"""The battery's ``--jobs``: processes at once, or ``auto`` (one per core)."""


MIN_SECONDS, MAX_SECONDS = 0.1, 1e6
"""Time limits outside these are mistakes: below, every check times out (the alarm fires at once); above
(``1e12``, ``inf``), the in-process alarm cannot be set (a time_t overflow in every shard)."""


def parse_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of seconds (e.g. 120)")
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of seconds between {MIN_SECONDS:g} and "
                                         f"{MAX_SECONDS:g} (e.g. 120)")
    return seconds


def add_battery_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", action="append", dest="backends", metavar="NAME",
                   help="numpy, torch, jax, an entry point name or module:attr (repeatable; default: every shipped backend)")
    p.add_argument("--profile", choices=("ci", "thorough"), help="hypothesis profile (default: ci)")
    p.add_argument("--seed", type=int, help="hypothesis seed for a random profile (default: a fresh one, recorded)")
    p.add_argument("-k", dest="keyword", help="pytest -k expression selecting checks (every match runs)")
    p.add_argument("--checks", choices=("cover", "all"), default=None,
                   help="cover: every function x transform, spec x dtype and variant at least once (default for "
                        "the ci profile without -k); all: the whole cross product (default otherwise)")
    p.add_argument("--jobs", type=parse_jobs, default=2, help="processes run at once, or auto: one per core; past two per backend (one per dtype), "
                   "each backend's checks are split across more processes (default: 2)")
    p.add_argument("--check-timeout", type=parse_seconds, help="seconds one check may take (default: 120)")
    p.add_argument("--backend-timeout", type=parse_seconds, default=None,
                   help="seconds one backend x dtype process may take (default: 1800 for ci, 14400 for thorough)")
    p.add_argument("--manifest", action="append", default=[], help="extra known-deviations TOML for third-party backends")
    p.add_argument("--device", metavar="NAME",
                   help="compute on this device: cpu, cuda, cuda:1 (torch, jax), gpu (jax, mlx)... Checked before "
                        "anything runs; recorded per check (default: each library's default device)")
    p.add_argument("--label", help="a name for this run's column in the report")
    p.add_argument("--out", type=Path, help="results file (default: reports/results/run-<id>.json)")
    p.add_argument("--shard", metavar="K/N", help="run part K of N of every backend's battery, split by expected time "
                   "(one per machine; join the files with: python -m conformance merge)")
    p.add_argument("--shard-costs", type=Path, metavar="FILE",
                   help="expected check times for --shard: a results file (default: conformance/run/shard_costs.json)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help=f"finish an interrupted run from its logs ({PARTIAL_DIR}/<id>), rerunning only what did not "
                        "finish; takes the run's own options")


def resolve_jobs(jobs: int | str, backends: list[str]) -> int:
    """``auto``: one process per core."""
    if jobs == "auto":
        return max(1, os.cpu_count() or 1)
    return int(jobs)


def split_jobs(jobs: int, backends: list[str]) -> int:
    """Processes per backend x dtype: more than one where the jobs outnumber those (a many-core machine)."""
    return max(1, -(-jobs // (len(backends) * len(runner.SHARDS))))


def check_out(out: Path | None) -> None:
    """The results file can be written (``--out``, or the default place), asked before any work."""
    if out is None:
        try:
            outputs.check_output_dir(RESULTS_DIR, option="")
        except UsageError as exc:
            raise UsageError(f"{exc}; or pass --out FILE") from None
        return
    outputs.check_output_file(out)


def battery_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The battery's options, checked before any process starts (a bad one exits 2 naming the fix)."""
    from backends.base import resolve_backend_target

    check_out(args.out)
    try:
        runner.check_keyword(args.keyword)
    except runner.BadKeyword as exc:
        raise UsageError(str(exc)) from None
    backends = list(args.backends or DEFAULT_BACKENDS)
    for name in backends:
        try:
            resolve_backend_target(name)
        except LookupError as exc:
            raise UsageError(str(exc)) from None
    for m in args.manifest:
        if not Path(m).is_file():
            raise UsageError(f"manifest {m!r} does not exist (check the path)")
    profile = args.profile or "ci"
    seed = args.seed
    if seed is None and profile in RANDOM_PROFILES:
        seed = random.SystemRandom().randrange(2**32)
    jobs = resolve_jobs(args.jobs, backends)
    shard = None
    if args.shard:
        from conformance.run import sharding

        try:
            shard = str(sharding.ShardSpec.parse(args.shard))
            sharding.load_costs(args.shard_costs)
        except (ValueError, FileNotFoundError) as exc:
            raise UsageError(str(exc)) from None
    elif args.shard_costs:
        raise UsageError("--shard-costs without --shard does nothing (add --shard K/N)")
    return {
        "backends": backends,
        "profile": profile,
        "seed": seed,
        "keyword": args.keyword,
        "manifests": [str(Path(m).resolve()) for m in args.manifest],
        "check_timeout": args.check_timeout or 120.0,
        "backend_timeout": args.backend_timeout or (14400.0 if profile == "thorough" else 1800.0),
        "jobs": jobs,
        "split": split_jobs(jobs, backends),
        "per_dtype": runner.backends_per_dtype(jobs),  # which shards exist: fixed here, --resume keeps it
        "shard": shard,
        "shard_costs": str(args.shard_costs.resolve()) if args.shard_costs else None,
        "device": args.device,
        "checks": args.checks,
    }


def resume_settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], Path | None]:
    """The settings, header and results path of the interrupted run in ``args.resume``."""
    given = [flag for flag, value in (("--backend", args.backends), ("--profile", args.profile), ("--seed", args.seed),
                                      ("-k", args.keyword), ("--manifest", args.manifest),
                                      ("--check-timeout", args.check_timeout), ("--label", args.label),
                                      ("--shard", args.shard), ("--shard-costs", args.shard_costs),
                                      ("--device", args.device), ("--checks", args.checks)) if value]
    if given:
        raise UsageError(f"--resume reruns the interrupted run with its own options: drop {', '.join(given)}")
    saved_path = args.resume / RUN_FILE
    if not saved_path.is_file():
        raise UsageError(f"--resume {args.resume}: no {RUN_FILE} there (give a {PARTIAL_DIR}/<id> directory "
                         "left by an interrupted run)")
    try:
        saved = results.read_json(saved_path)
        settings, header = saved["settings"], saved["header"]
    except (results.SchemaError, OSError, KeyError, TypeError) as exc:
        raise UsageError(f"{saved_path}: not a run file of this tool ({exc})") from None
    for m in settings["manifests"]:
        if not Path(m).is_file():
            raise UsageError(f"{saved_path}: the run's manifest {m} no longer exists (restore it to resume)")
    settings["per_dtype"] = runner.saved_per_dtype(settings)
    settings["jobs"] = resolve_jobs(args.jobs, settings["backends"])  # free to differ: it changes no result
    out = args.out if args.out is not None else (Path(saved["out"]) if saved.get("out") else None)
    check_out(out)
    header.setdefault("resumed", []).append(results.now())
    return settings, header, out


def function_table() -> list[dict[str, Any]]:
    """The battery's function table as the run header carries it (``run.function_table``): the report lists every
    standard function from it, checked or not, without importing the catalog (see
    :class:`conformance.store.results.FunctionRow`)."""
    from conformance.battery.functions import FUNCTIONS_TABLE

    return [results.FunctionRow(entry=fn.entry.name, name=fn.name, category=fn.category, hessian=fn.second,
                                hessian_joint=fn.joint).to_json() for fn in FUNCTIONS_TABLE.values()]


def prepare(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], Path, Path | None]:
    """Settings, header, work directory and results path; a fresh run records them for --resume."""
    if args.resume is not None:
        settings, header, out = resume_settings(args)
        return settings, header, args.resume, out
    settings = battery_settings(args)
    header = results.run_header(profile=settings["profile"], label=args.label, hypothesis_seed=settings["seed"],
                                options={k: v for k, v in settings.items() if k not in ("profile", "seed")})
    if settings["shard"]:
        header["shard"] = settings["shard"]
    header[results.FUNCTION_TABLE_KEY] = function_table()
    work_dir = PARTIAL_DIR / header["id"]
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{work_dir}: cannot create the run's log directory: {outputs.describe(exc)} (run from a "
                         "writable directory)") from None
    results.write_atomic(work_dir / RUN_FILE, {"header": header, "settings": settings,
                                                "out": str(args.out.absolute()) if args.out else None})
    return settings, header, work_dir, args.out

