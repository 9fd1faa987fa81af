"""Command line: ``python -m conformance {run,check-article,report,all}``.

``all`` is what ``nox -s conformance`` runs: the battery on every backend, the
shipped article's claims, one results file, the HTML report, and an exit
status that is non-zero on any unexpected result (fail, error, xpass,
manifest drift, a claim whose evidence could not be produced).

Every option is checked before any process starts (exit 2, one line naming
the fix), so a typo never costs a finished run: output paths are probed by
creating a file next to them (:mod:`conformance.outputs`), ``-k`` is parsed
as pytest will, an interrupted run's files are checked line by line before
``--resume`` trusts them.  Ctrl-C, SIGTERM or SIGHUP write the checks that
finished to the results file, marked interrupted (exit 128 + the signal), and
``--resume reports/results/.partial/<id>`` finishes that run later without
rerunning them; a results file that cannot be written at the end (a full
disk) leaves those logs in place and says the same command (exit 2).
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from conformance import coverage, outputs, results, runner
from conformance.outputs import UsageError
from conformance.results import PARTIAL_DIR, RESULTS_DIR

DEFAULT_BACKENDS = ("jax", "torch", "torch_autograd", "mlx", "autograd", "numpy")
"""Slowest first, so the longest shards start at once on a 2-core machine."""
RUN_FILE = "run.json"
"""In ``.partial/<id>/``: the header and options of the run, all that ``--resume`` needs besides the logs."""
RANDOM_PROFILES = ("thorough",)
"""Profiles that draw at random, so the run picks a seed, passes it to every shard and records it."""


class _Parser(argparse.ArgumentParser):
    """Errors on one line (what is wrong and the fix), without the usage block above them."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _jobs(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number (use --jobs 2, or --jobs auto)") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{jobs} runs nothing (use --jobs 1 or more, or --jobs auto)")
    return jobs


MIN_SECONDS, MAX_SECONDS = 0.1, 1e6
"""Time limits outside these are mistakes: below, every check times out (the alarm fires at once); above
(``1e12``, ``inf``), the in-process alarm cannot be set (a time_t overflow in every shard)."""


def _seconds(value: str) -> float:
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


def _add_battery_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", action="append", dest="backends", metavar="NAME",
                   help="numpy, torch, jax, an entry point name or module:attr (repeatable; default: every shipped backend)")
    p.add_argument("--profile", choices=("ci", "thorough"), help="hypothesis profile (default: ci)")
    p.add_argument("--seed", type=int, help="hypothesis seed for a random profile (default: a fresh one, recorded)")
    p.add_argument("-k", dest="keyword", help="pytest -k expression selecting checks (every match runs)")
    p.add_argument("--checks", choices=("cover", "all"), default=None,
                   help="cover: every function x transform, spec x dtype and variant at least once (default for "
                        "the ci profile without -k); all: the whole cross product (default otherwise)")
    p.add_argument("--jobs", type=_jobs, default=2, help="processes run at once, or auto: one per core; past two per backend (one per dtype), "
                   "each backend's checks are split across more processes (default: 2)")
    p.add_argument("--check-timeout", type=_seconds, help="seconds one check may take (default: 120)")
    p.add_argument("--backend-timeout", type=_seconds, default=None,
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
                   help="expected check times for --shard: a results file (default: conformance/shard_costs.json)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help=f"finish an interrupted run from its logs ({PARTIAL_DIR}/<id>), rerunning only what did not "
                        "finish; takes the run's own options")


def _resolve_jobs(jobs: int | str, backends: list[str]) -> int:
    """``auto``: one process per core."""
    if jobs == "auto":
        return max(1, os.cpu_count() or 1)
    return int(jobs)


def _split(jobs: int, backends: list[str]) -> int:
    """Processes per backend x dtype: more than one where the jobs outnumber those (a many-core machine)."""
    return max(1, -(-jobs // (len(backends) * len(runner.SHARDS))))


def _check_out(out: Path | None) -> None:
    """The results file can be written (``--out``, or the default place), asked before any work."""
    if out is None:
        try:
            outputs.check_output_dir(RESULTS_DIR, option="")
        except UsageError as exc:
            raise UsageError(f"{exc}; or pass --out FILE") from None
        return
    outputs.check_output_file(out)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The battery's options, checked before any process starts (a bad one exits 2 naming the fix)."""
    from backends.base import resolve_backend_target

    _check_out(args.out)
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
    jobs = _resolve_jobs(args.jobs, backends)
    shard = None
    if args.shard:
        from conformance import sharding

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
        "split": _split(jobs, backends),
        "shard": shard,
        "shard_costs": str(args.shard_costs.resolve()) if args.shard_costs else None,
        "device": args.device,
        "checks": args.checks,
    }


def _resume_settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], Path | None]:
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
    settings["jobs"] = _resolve_jobs(args.jobs, settings["backends"])  # free to differ: it changes no result
    out = args.out if args.out is not None else (Path(saved["out"]) if saved.get("out") else None)
    _check_out(out)
    header.setdefault("resumed", []).append(results.now())
    return settings, header, out


def _prepare(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], Path, Path | None]:
    """Settings, header, work directory and results path; a fresh run records them for --resume."""
    if args.resume is not None:
        settings, header, out = _resume_settings(args)
        return settings, header, args.resume, out
    settings = _settings(args)
    header = results.run_header(profile=settings["profile"], label=args.label, hypothesis_seed=settings["seed"],
                                options={k: v for k, v in settings.items() if k not in ("profile", "seed")})
    if settings["shard"]:
        header["shard"] = settings["shard"]
    work_dir = PARTIAL_DIR / header["id"]
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{work_dir}: cannot create the run's log directory: {outputs.describe(exc)} (run from a "
                         "writable directory)") from None
    results.write_atomic(work_dir / RUN_FILE, {"header": header, "settings": settings,
                                                "out": str(args.out.absolute()) if args.out else None})
    return settings, header, work_dir, args.out


def _resume_command(command: str, work_dir: Path) -> str:
    return shlex.join(["python", "-m", "conformance", command, "--resume", str(work_dir)])


def _kept(command: str, work_dir: Path) -> dict[str, str]:
    """What a failed write of the results says: the logs survive, and the command that finishes the run."""
    return {"kept": f"the finished checks are kept in {work_dir}",
            "resume": f"free space (or fix the cause), then: {_resume_command(command, work_dir)}"}


def _battery(settings: dict[str, Any], work_dir: Path, resume: bool, command: str = "run") -> list[dict[str, Any]]:
    print(f"[battery] logs: {work_dir}", flush=True)
    try:
        return _run_battery(settings, work_dir, resume)
    except OSError as exc:  # the disk filled up under a log, the work directory went away...
        hint = _kept(command, work_dir)
        raise outputs.OutputError(f"{work_dir}: the battery stopped: {outputs.describe(exc)}; {hint['kept']}; "
                                  f"{hint['resume']}") from None


def _run_battery(settings: dict[str, Any], work_dir: Path, resume: bool) -> list[dict[str, Any]]:
    return runner.run_battery(
        settings["backends"], work_dir, profile=settings["profile"], keyword=settings["keyword"],
        jobs=settings["jobs"], backend_timeout=settings["backend_timeout"], check_timeout=settings["check_timeout"],
        manifests=settings["manifests"], seed=settings["seed"], resume=resume,
        shard=settings.get("shard"), shard_costs=settings.get("shard_costs"), split=settings.get("split", 1),
        device=settings.get("device"), keep_logs=True,
        # The runner selects a dtype with -k in every shard; whether the user's selection turns the cover
        # off is decided here, on the user's own -k.
        extra_pytest_args=[f"--checks={coverage.mode_for(settings['profile'], settings.get('checks'), settings['keyword'] or '')}"],
    )


def _interrupted(exc: runner.Interrupted, command: str, header: dict[str, Any], work_dir: Path, out: Path | None,
                 started: float) -> int:
    """Write what finished, marked interrupted, and say how to finish the run."""
    doc = results.merge(exc.documents, header)
    doc["interrupted"], doc["interrupted_reason"] = True, exc.reason
    doc["run"]["resume"] = _resume_command(command, work_dir)
    path = _finish(doc, out, started, **_kept(command, work_dir))
    print("\n".join(runner.summary_lines(doc)))
    print(f"\npartial results: {path}\nto finish the run: {doc['run']['resume']}", flush=True)
    return 128 + exc.signum


def _default_label(doc: dict[str, Any]) -> str:
    """The report column's name when none is given: devices, machine and each library's version."""
    libs = ", ".join(f"{name} {env.get('version', '?')}" for name, env in sorted(doc["backends"].items()))
    devices = sorted({str(env.get("device", "?")) for env in doc["backends"].values()})
    return f"{'/'.join(devices)} {doc['run'].get('machine')}: {libs}"


def _finish(doc: dict[str, Any], out: Path | None, started: float, *, kept: str = "", resume: str = "") -> Path:
    doc["run"]["finished"] = results.now()
    if not doc["run"].get("label"):
        doc["run"]["label"] = _default_label(doc)
    doc["run"]["duration_s"] = round(time.monotonic() - started, 3)
    path = out or RESULTS_DIR / f"run-{doc['run']['id']}.json"
    return results.write_atomic(path, doc, kept=kept, resume=resume)


def cmd_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    settings, header, work_dir, out = _prepare(args)
    try:
        partials = _battery(settings, work_dir, args.resume is not None, args.command)
    except runner.Interrupted as exc:
        return _interrupted(exc, args.command, header, work_dir, out, started)
    doc = results.merge(partials, header)
    path = _finish(doc, out, started, **_kept(args.command, work_dir))
    runner.discard_logs(work_dir, partials)  # only now: a failed write above leaves them for --resume
    print("\n".join(runner.summary_lines(doc)))
    print(f"\nresults: {path}")
    return 1 if runner.unexpected(doc["checks"]) else 0


def _sandbox_before_battery(backends: list[str], *, docstrings: bool, allow_weak: bool) -> None:
    """Probe the sandbox before the battery's minutes when the article or the docstrings will need it."""
    from conformance.article import cli as article_cli
    from conformance.documents.cli import DOCSTRING_TARGETS

    if article_cli.shipped_article_applies(backends) or (docstrings and set(DOCSTRING_TARGETS) & set(backends)):
        try:
            article_cli.isolation_or_stop(allow_weak)
        except article_cli.SandboxMissing as exc:
            raise UsageError(str(exc)) from None


def cmd_all(args: argparse.Namespace) -> int:
    from conformance.article import cli as article_cli

    started = time.monotonic()
    if args.shard:  # the article and docstring checks are not split: every shard would repeat them
        raise UsageError("--shard splits the battery only: use `python -m conformance run --shard K/N` on each "
                         "machine, then `merge` and `report`")
    site = Path(args.site)
    if not args.no_report:  # a file there, no right to write, a kernel filesystem
        try:
            outputs.check_output_dir(site, option="--site")
        except UsageError as exc:
            raise UsageError(f"{exc}; or --no-report") from None
    settings, header, work_dir, out = _prepare(args)
    _sandbox_before_battery(settings["backends"], docstrings=not args.no_docstrings,
                            allow_weak=args.allow_weak_sandbox)
    try:
        partials = _battery(settings, work_dir, args.resume is not None, args.command)
    except runner.Interrupted as exc:
        return _interrupted(exc, args.command, header, work_dir, out, started)
    battery_doc = results.merge(partials, header)
    # Written now, so that a failure in the article check or the report loses none of the battery's results.
    path = _finish(battery_doc, out, started, **_kept(args.command, work_dir))
    runner.discard_logs(work_dir, partials)
    later = {"kept": f"the battery's results are in {path}",
             "resume": "free space, then rerun the article check alone: python -m conformance check-article ..."}
    print("\n".join(runner.summary_lines(battery_doc)))
    article_doc, article_failed = article_cli.check_shipped(battery_doc, backends=settings["backends"],
                                                            allow_weak=args.allow_weak_sandbox)
    doc = results.merge([*partials, article_doc], header)
    if article_doc.get("interrupted"):
        doc["run"]["interrupted"] = True
    print("\n".join(article_cli.summary_lines(article_doc)))
    path = _finish(doc, path, started, **later)
    if not args.no_docstrings:
        from conformance.documents import cli as documents_cli

        # Findings about the libraries' own documentation: shown in the report, not gating our battery.
        try:
            doc["documents"] = documents_cli.check_docstrings(list(settings["backends"]))
        except KeyboardInterrupt:
            doc["interrupted"], doc["interrupted_reason"] = True, "interrupted while checking the libraries' docstrings"
            print("\ninterrupted: the docstring check was stopped; the battery and article results are kept")
        print("\n".join(documents_cli.summary_lines(doc["documents"])))
        path = _finish(doc, path, started, **later)
    print(f"\nresults: {path}")
    code = 1 if runner.unexpected(doc["checks"]) or article_failed else 0
    if not args.no_report:
        from conformance import report

        site = report.build([path], Path(args.site))
        print(f"report: {site}")
    return code


def cmd_merge(args: argparse.Namespace) -> int:
    """Join the results files of many machines (``--shard K/N`` runs) into one document for the report.

    Each file is checked whole (its shape, :func:`conformance.results.load`; its checks against the digest
    written with them, :func:`conformance.results.verify_digest`) before anything is merged.
    """
    outputs.check_output_file(args.out)
    docs, names = [], []
    for path in args.files:
        try:
            doc = results.load(path, check_shape=True)
            results.verify_digest(doc, str(path))
        except OSError as exc:
            raise UsageError(f"{path}: cannot read it: {outputs.describe(exc)} (check the path)") from None
        except (results.SchemaError, results.MergeError) as exc:
            raise UsageError(str(exc)) from None
        docs.append(doc)
        names.append(str(path))
    try:
        doc = results.merge_runs(docs, names, allow_partial=args.allow_partial)
    except results.MergeError as exc:
        raise UsageError(str(exc)) from None
    # Each shard's own label names only its backends: the merged column names them all, with their versions.
    doc["run"]["label"] = args.label or _default_label(doc)
    path = results.write_atomic(args.out, doc, kept="the shard files are unchanged",
                                resume="free space, then run the same merge again")
    print("\n".join(runner.summary_lines(doc)))
    print(f"\nmerged {len(docs)} file(s): {path}")
    return 1 if runner.unexpected(doc["checks"]) else 0


def cmd_specs(args: argparse.Namespace) -> int:
    """List the battery's specs, or the tolerance policy: the README points here instead of copying them."""
    if args.tolerances:
        from conformance.tolerances import policy_table

        for row in policy_table():
            print(f"{row['dtype']:<8} {row['kind']:<9} rtol=atol={row['rtol']:.1e}  {row['reason']}")
        from backends.numpy_reference import ERROR_BOUNDS

        print("\nplus, where the expected side is the NumPy reference, its method's bound:")
        for method, bound in ERROR_BOUNDS.items():
            print(f"  {method:<22} {bound:.0e}")
        return 0
    import conformance.specs as specs

    for spec in specs.REGISTRY.values():
        first = spec.doc.splitlines()[0] if spec.doc else ""
        print(f"{spec.id:<30} {spec.transform:<15} {first}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m conformance", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="run the battery only")
    _add_battery_options(p_run)
    p_run.set_defaults(func=cmd_run)

    p_all = sub.add_parser("all", help="battery + article + report (the CI gate)")
    _add_battery_options(p_all)
    p_all.add_argument("--no-report", action="store_true", help="skip building the HTML report")
    p_all.add_argument("--no-docstrings", action="store_true",
                       help="skip checking the libraries' own transform docstrings (check-doc module:torch.func ...)")
    p_all.add_argument("--site", default="reports/site", help="where to build the report (default: reports/site)")
    p_all.add_argument("--allow-weak-sandbox", action="store_true",
                       help="where bubblewrap cannot run, check the article with only rlimits and an audit hook")
    p_all.set_defaults(func=cmd_all)

    p_merge = sub.add_parser("merge", help="join the results of many machines (--shard runs) into one file")
    p_merge.add_argument("files", nargs="+", type=Path, help="results files, one per shard")
    p_merge.add_argument("--out", type=Path, required=True, help="the merged results file")
    p_merge.add_argument("--label", help="a name for the merged run's column in the report")
    p_merge.add_argument("--allow-partial", action="store_true", help="merge even when some shards are missing")
    p_merge.set_defaults(func=cmd_merge)

    p_specs = sub.add_parser("specs", help="list the battery's specs (or --tolerances: the tolerance policy)")
    p_specs.add_argument("--tolerances", action="store_true")
    p_specs.set_defaults(func=cmd_specs)

    p_article = sub.add_parser("check-article", help="check an article's claims file on every backend")
    p_report = sub.add_parser("report", help="build the HTML report from results files")
    __import__("conformance.documents.cli", fromlist=["add_parser"]).add_parser(sub)  # check-doc
    try:
        from conformance.article import cli as article_cli

        article_cli.add_arguments(p_article)
        p_article.set_defaults(func=article_cli.main)
    except ImportError:
        p_article.set_defaults(func=lambda a: print("the article checker is not installed") or 2)
    from conformance import report

    report.add_arguments(p_report)
    p_report.set_defaults(func=report.main)

    args = parser.parse_args(argv)
    from conformance import preflight

    if (code := preflight.check(args, DEFAULT_BACKENDS)) is not None:  # every input file, before any work
        return code
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Ctrl-C (SIGINT) must interrupt every command as documented: stop the work, write what finished.  A parent
    # that ignores SIGINT (a non-interactive shell's background job, a CI harness) passes "ignore" on, and Python
    # then installs no KeyboardInterrupt at all, so a `kill -INT` would silently do nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
