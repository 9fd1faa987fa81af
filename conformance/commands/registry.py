"""The registry of ``python -m conformance`` subcommands: each command module registers itself with :func:`command`.

A command module declares ``add_arguments(parser)`` and decorates its ``main(args) -> int`` with
``@command("name", help=..., arguments=add_arguments)``; :func:`conformance.commands.add_subcommands` builds the
parser from what registered, and ``conformance.__main__`` dispatches to the chosen command's ``main``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

Main = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclasses.dataclass(frozen=True)
class Command:
    """One subcommand: its name and help line, how it declares its options, and what runs it."""

    name: str
    help: str
    add_arguments: Arguments
    main: Main
    module: str
    """The module that registered it (the parser lists commands in the order of their modules)."""


REGISTRY: dict[str, Command] = {}
"""Commands by name, in the order they registered."""


def command(name: str, *, help: str, arguments: Arguments) -> Callable[[Main], Main]:
    """Register the decorated ``main(args) -> int`` as the subcommand ``name``, its options declared by ``arguments``."""

    def register(main: Main) -> Main:
        if name in REGISTRY:
            raise ValueError(f"two commands named {name!r}: {REGISTRY[name].module} and {main.__module__}")
        REGISTRY[name] = Command(name, help, arguments, main, main.__module__)
        return main

    return register
