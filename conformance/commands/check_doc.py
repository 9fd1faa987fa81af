"""``python -m conformance check-doc TARGET...``: registered here, run by :mod:`conformance.claims.documents.cli`."""

from __future__ import annotations

import argparse

from conformance.commands.registry import command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from conformance.claims.documents import cli as documents_cli

    documents_cli.add_arguments(parser)


@command("check-doc", help="check notebooks, Markdown, reST, gallery scripts or docstrings without a claims file",
         arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    from conformance.claims.documents import cli as documents_cli

    return documents_cli.main(args)
