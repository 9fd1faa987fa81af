"""``python -m conformance report``: registered here, run by :mod:`conformance.report`."""

from __future__ import annotations

import argparse

from conformance.commands.registry import command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from conformance import report

    report.add_arguments(parser)


@command("report", help="build the HTML report from results files", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    from conformance import report

    return report.main(args)
