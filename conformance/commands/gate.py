"""``python -m conformance all``, the CI gate: the battery, the shipped article's claims, the libraries' docstrings,
one results file, the HTML report, and an exit status that is non-zero on any unexpected result (fail, error,
xpass, manifest drift, a claim whose evidence could not be produced)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from conformance.commands import options, outcome
from conformance.commands.registry import command
from conformance.run import runner
from conformance.store import outputs, results
from conformance.store.outputs import UsageError


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
    from conformance.claims.article import cli as article_cli
    from conformance.claims.documents.cli import DOCSTRING_TARGETS

    if article_cli.shipped_article_applies(backends) or (docstrings and set(DOCSTRING_TARGETS) & set(backends)):
        try:
            return article_cli.isolation_or_stop(allow_weak)
        except article_cli.SandboxMissing as exc:
            raise UsageError(str(exc)) from None
    return None


class ArticleStep:
    """``all``'s article check, a step of :func:`conformance.commands.outcome.run_to_file`: the shipped article's
    claims, judged on the battery's document and merged into it; ``failed`` says whether the gate must fail (a
    claim whose evidence could not be produced)."""

    def __init__(self, backends: list[str], allow_weak: bool) -> None:
        self.backends, self.allow_weak, self.failed = backends, allow_weak, False

    def __call__(self, doc: dict[str, Any]) -> dict[str, Any]:
        from conformance.claims.article import cli as article_cli

        article_doc, self.failed = article_cli.check_shipped(doc, backends=self.backends, allow_weak=self.allow_weak)
        merged = results.merge([doc, article_doc], doc["run"])
        if article_doc.get("interrupted"):
            merged["run"]["interrupted"] = True
        print("\n".join(article_cli.summary_lines(article_doc)))
        return merged


def docstring_step(backends: list[str]) -> outcome.Step:
    """``all``'s check of the libraries' own transform docstrings: findings shown in the report, not gating."""

    def step(doc: dict[str, Any]) -> dict[str, Any]:
        from conformance.claims.documents import cli as documents_cli

        try:
            doc["documents"] = documents_cli.check_docstrings(list(backends))
        except KeyboardInterrupt:
            doc["interrupted"], doc["interrupted_reason"] = True, "interrupted while checking the libraries' docstrings"
            print("\ninterrupted: the docstring check was stopped; the battery and article results are kept")
        print("\n".join(documents_cli.summary_lines(doc["documents"])))
        return doc

    return step


@command("all", help="battery + article + report (the CI gate)", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
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
    article = ArticleStep(settings["backends"], args.allow_weak_sandbox)
    steps: list[outcome.Step] = [article] if args.no_docstrings else [article, docstring_step(settings["backends"])]
    written = outcome.run_to_file(args, settings, header, work_dir, out, started, steps)
    if written.interrupted is not None:
        return written.interrupted
    doc, path = written.doc, written.path
    print(f"\nresults: {path}")
    code = 1 if runner.unexpected(doc["checks"]) or article.failed else 0
    if not args.no_report:
        from conformance import report

        site = report.build([path], site)
        print(f"report: {site}")
    return code
