"""``python -m conformance run``: the battery only, one results file, exit 1 on any unexpected result."""

from __future__ import annotations

import argparse
import time

from conformance.commands import options, outcome
from conformance.commands.registry import command
from conformance.run import runner


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_battery_options(parser)


@command("run", help="run the battery only", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    settings, header, work_dir, out = options.prepare(args)
    written = outcome.run_to_file(args, settings, header, work_dir, out, started)
    if written.interrupted is not None:
        return written.interrupted
    print(f"\nresults: {written.path}")
    return 1 if runner.unexpected(written.doc["checks"]) else 0
