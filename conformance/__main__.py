"""Command line: ``python -m conformance {run,check-article,report,all}``.

``all`` is what ``nox -s conformance`` runs: the battery on every backend, the
shipped article's claims, one results file, the HTML report, and an exit
status that is non-zero on any unexpected result (fail, error, xpass,
manifest drift, a claim whose evidence could not be produced).

Every option is checked before any process starts (exit 2, one line naming
the fix), so a typo never costs a finished run: output paths are probed by
creating a file next to them (:mod:`conformance.store.outputs`), ``-k`` is parsed
as pytest will, an interrupted run's files are checked line by line before
``--resume`` trusts them.  Ctrl-C, SIGTERM or SIGHUP write the checks that
finished to the results file, marked interrupted (exit 128 + the signal), and
``--resume reports/results/.partial/<id>`` finishes that run later without
rerunning them; a results file that cannot be written at the end (a full
disk) leaves those logs in place and says the same command (exit 2).

Each subcommand is a module of :mod:`conformance.commands` that registers itself (its options and its
``main``); this module builds the parser from that registry, checks every input file the command will read
(:mod:`conformance.run.preflight`), dispatches, and turns a :class:`~conformance.store.outputs.UsageError` into one
line and exit status 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import NoReturn

from conformance.contract import DEFAULT_BACKENDS
from conformance.store.outputs import UsageError

__all__ = ["DEFAULT_BACKENDS", "main"]


class _Parser(argparse.ArgumentParser):
    """Errors on one line (what is wrong and the fix), without the usage block above them."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    from conformance import commands
    from conformance.run import preflight

    parser = _Parser(prog="python -m conformance", description=__doc__.split("\n\n")[0])
    commands.add_subcommands(parser)
    args = parser.parse_args(argv)
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
