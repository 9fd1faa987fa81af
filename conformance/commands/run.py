"""``python -m conformance run``: the battery only, one results file, exit 1 on any unexpected result."""

from __future__ import annotations

import argparse
import time

from conformance import results, runner
from conformance.commands import options, outcome
from conformance.commands.registry import command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_battery_options(parser)


@command("run", help="run the battery only", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    settings, header, work_dir, out = options.prepare(args)
    try:
        partials = outcome.battery(settings, work_dir, args.resume is not None, args.command)
    except runner.Interrupted as exc:
        return outcome.write_interrupted(exc, args.command, header, work_dir, out, started)
    doc = results.merge(partials, header)
    path = outcome.finish(doc, out, started, **outcome.kept_hint(args.command, work_dir))
    runner.discard_logs(work_dir, partials)  # only now: a failed write above leaves them for --resume
    print("\n".join(runner.summary_lines(doc)))
    print(f"\nresults: {path}")
    return 1 if runner.unexpected(doc["checks"]) else 0
