"""``python -m conformance all``, the CI gate: the battery, the shipped article's claims, the libraries' docstrings,
one results file, the HTML report, and an exit status that is non-zero on any unexpected result (fail, error,
xpass, manifest drift, a claim whose evidence could not be produced)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from conformance import outputs, results, runner
from conformance.commands import options, outcome
from conformance.commands.registry import command
from conformance.outputs import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_battery_options(parser)
    parser.add_argument("--no-report", action="store_true", help="skip building the HTML report")
    parser.add_argument("--no-docstrings", action="store_true",
                        help="skip checking the libraries' own transform docstrings (check-doc module:torch.func ...)")
    parser.add_argument("--site", default="reports/site", help="where to build the report (default: reports/site)")
    parser.add_argument("--allow-weak-sandbox", action="store_true",
                        help="where bubblewrap cannot run, check the article with only rlimits and an audit hook")


def sandbox_before_battery(backends: list[str], *, docstrings: bool, allow_weak: bool) -> str | None:
    """Probe the sandbox before the battery's minutes when the article or the docstrings will need it.

    Returns the isolation they will run under (``bwrap`` or ``weak``), None when no untrusted code will run.
    """
    from conformance.article import cli as article_cli
    from conformance.documents.cli import DOCSTRING_TARGETS

    if article_cli.shipped_article_applies(backends) or (docstrings and set(DOCSTRING_TARGETS) & set(backends)):
        try:
            return article_cli.isolation_or_stop(allow_weak)
        except article_cli.SandboxMissing as exc:
            raise UsageError(str(exc)) from None
    return None


@command("all", help="battery + article + report (the CI gate)", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
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
    settings, header, work_dir, out = options.prepare(args)
    isolation = sandbox_before_battery(settings["backends"], docstrings=not args.no_docstrings,
                                       allow_weak=args.allow_weak_sandbox)
    if isolation:  # as check-article and check-doc record it: how the untrusted code of this run was isolated
        header["isolation"] = isolation
    try:
        partials = outcome.battery(settings, work_dir, args.resume is not None, args.command)
    except runner.Interrupted as exc:
        return outcome.write_interrupted(exc, args.command, header, work_dir, out, started)
    battery_doc = results.merge(partials, header)
    # Written now, so that a failure in the article check or the report loses none of the battery's results.
    path = outcome.finish(battery_doc, out, started, **outcome.kept_hint(args.command, work_dir))
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
    path = outcome.finish(doc, path, started, **later)
    if not args.no_docstrings:
        from conformance.documents import cli as documents_cli

        # Findings about the libraries' own documentation: shown in the report, not gating our battery.
        try:
            doc["documents"] = documents_cli.check_docstrings(list(settings["backends"]))
        except KeyboardInterrupt:
            doc["interrupted"], doc["interrupted_reason"] = True, "interrupted while checking the libraries' docstrings"
            print("\ninterrupted: the docstring check was stopped; the battery and article results are kept")
        print("\n".join(documents_cli.summary_lines(doc["documents"])))
        path = outcome.finish(doc, path, started, **later)
    print(f"\nresults: {path}")
    code = 1 if runner.unexpected(doc["checks"]) or article_failed else 0
    if not args.no_report:
        from conformance import report

        site = report.build([path], Path(args.site))
        print(f"report: {site}")
    return code
