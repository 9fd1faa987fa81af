"""Command line: ``python -m conformance {run,check-article,report,all}``.

``all`` is what ``nox -s conformance`` runs: the battery on every backend, the
shipped article's claims, one results file, the HTML report, and an exit
status that is non-zero on any unexpected result (fail, error, xpass,
manifest drift, a claim whose evidence could not be produced).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from conformance import results, runner

DEFAULT_BACKENDS = ("jax", "torch", "numpy")
"""Slowest first, so the longest shards start at once on a 2-core machine."""
RESULTS_DIR = Path("reports/results")


def _add_battery_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", action="append", dest="backends", metavar="NAME",
                   help="numpy, torch, jax, an entry point name or module:attr (repeatable; default: all three)")
    p.add_argument("--profile", default="ci", choices=("ci", "thorough"), help="hypothesis profile (default: ci)")
    p.add_argument("-k", dest="keyword", help="pytest -k expression selecting checks")
    p.add_argument("--jobs", type=int, default=2, help="backends run at once (default: 2)")
    p.add_argument("--check-timeout", type=float, default=120.0, help="seconds one check may take (default: 120)")
    p.add_argument("--backend-timeout", type=float, default=None,
                   help="seconds one backend x dtype process may take (default: 1800 for ci, 14400 for thorough)")
    p.add_argument("--manifest", action="append", default=[], help="extra known-deviations TOML for third-party backends")
    p.add_argument("--label", help="a name for this run's column in the report")
    p.add_argument("--out", type=Path, help="results file (default: reports/results/run-<id>.json)")


class UsageError(Exception):
    pass


def _battery(args: argparse.Namespace, header: dict[str, Any]) -> list[dict[str, Any]]:
    from backends.base import resolve_backend_target

    for name in args.backends or DEFAULT_BACKENDS:
        try:
            resolve_backend_target(name)
        except LookupError as exc:
            raise UsageError(str(exc)) from None
    for m in args.manifest:
        if not Path(m).is_file():
            raise UsageError(f"manifest {m!r} does not exist")
    extra: list[str] = []
    for m in args.manifest:
        extra += ["--manifest", str(Path(m).resolve())]
    return runner.run_battery(
        args.backends or DEFAULT_BACKENDS,
        RESULTS_DIR / ".partial" / header["id"],
        profile=args.profile,
        keyword=args.keyword,
        jobs=args.jobs,
        backend_timeout=args.backend_timeout or (14400.0 if args.profile == "thorough" else 1800.0),
        check_timeout=args.check_timeout,
        extra_pytest_args=extra,
    )


def _finish(doc: dict[str, Any], out: Path | None, started: float) -> Path:
    doc["run"]["finished"] = results.now()
    if not doc["run"].get("label"):
        libs = ", ".join(f"{name} {env.get('version', '?')}" for name, env in sorted(doc["backends"].items()))
        devices = sorted({str(env.get("device", "?")) for env in doc["backends"].values()})
        doc["run"]["label"] = f"{'/'.join(devices)} {doc['run']['machine']}: {libs}"
    doc["run"]["duration_s"] = round(time.monotonic() - started, 3)
    path = out or RESULTS_DIR / f"run-{doc['run']['id']}.json"
    return results.write_atomic(path, doc)


def _header(args: argparse.Namespace) -> dict[str, Any]:
    return results.run_header(profile=getattr(args, "profile", None), label=getattr(args, "label", None))


def cmd_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    header = _header(args)
    doc = results.merge(_battery(args, header), header)
    path = _finish(doc, args.out, started)
    print("\n".join(runner.summary_lines(doc)))
    print(f"\nresults: {path}")
    return 1 if runner.unexpected(doc["checks"]) else 0


def cmd_all(args: argparse.Namespace) -> int:
    from conformance.article import cli as article_cli

    started = time.monotonic()
    header = _header(args)
    partials = _battery(args, header)
    battery_doc = results.merge(partials, header)
    # Written now, so that a failure in the article check or the report loses none of the battery's results.
    path = _finish(battery_doc, args.out, started)
    print("\n".join(runner.summary_lines(battery_doc)))
    article_doc, article_failed = article_cli.check_shipped(battery_doc, backends=args.backends or DEFAULT_BACKENDS)
    doc = results.merge([*partials, article_doc], header)
    path = _finish(doc, path, started)
    print("\n".join(article_cli.summary_lines(article_doc)))
    print(f"\nresults: {path}")
    code = 1 if runner.unexpected(doc["checks"]) or article_failed else 0
    if not args.no_report:
        from conformance import report

        site = report.build([path], Path(args.site))
        print(f"report: {site}")
    return code


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
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="run the battery only")
    _add_battery_options(p_run)
    p_run.set_defaults(func=cmd_run)

    p_all = sub.add_parser("all", help="battery + article + report (the CI gate)")
    _add_battery_options(p_all)
    p_all.add_argument("--no-report", action="store_true", help="skip building the HTML report")
    p_all.add_argument("--site", default="reports/site", help="where to build the report (default: reports/site)")
    p_all.set_defaults(func=cmd_all)

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
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        parser.error(str(exc))  # exits 2 with the usage line
        return 2


if __name__ == "__main__":
    sys.exit(main())
