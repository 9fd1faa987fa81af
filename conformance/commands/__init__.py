"""The subcommands of ``python -m conformance``, one module each, and the parser built from them.

Each module registers its command (:func:`conformance.commands.registry.command`): its options
(``add_arguments(parser)``) and what runs it (``main(args) -> int``).  :data:`MODULES` is the order ``--help``
lists them in.  The battery's options, shared by ``run`` and ``all``, are :mod:`conformance.commands.options`;
running the battery for a command and writing its results file, :mod:`conformance.commands.outcome`.

Every command checks its options before any process starts and raises
:class:`conformance.store.outputs.UsageError` for a bad one, which ``conformance.__main__`` prints as one line
(exit 2).
"""

from __future__ import annotations

import argparse
from typing import Any

from conformance.commands import check_article, check_doc, gate, merge, namespace, report, run, specs
from conformance.commands.registry import REGISTRY, Command, command

__all__ = ["MODULES", "REGISTRY", "Command", "add_subcommands", "command", "commands"]

MODULES = (run, gate, merge, specs, namespace, check_article, report, check_doc)
"""The command modules, in the order ``python -m conformance --help`` lists their commands."""


def commands() -> list[Command]:
    """Every registered command, in :data:`MODULES` order."""
    order = [m.__name__ for m in MODULES]
    unlisted = sorted(c.module for c in REGISTRY.values() if c.module not in order)
    if unlisted:
        raise RuntimeError(f"command modules missing from conformance.commands.MODULES: {', '.join(unlisted)}")
    return sorted(REGISTRY.values(), key=lambda c: order.index(c.module))


def add_subcommands(parser: argparse.ArgumentParser) -> Any:
    """One subparser per registered command, its options declared, its ``main`` as ``args.func``."""
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in commands():
        p = sub.add_parser(cmd.name, help=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(func=cmd.main)
    return sub
