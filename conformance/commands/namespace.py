"""``python -m conformance namespace [--backend NAME]``: the namespace contract, or what one backend's ``xp`` lacks.

For an adapter's author: which array-API names the battery calls (``conformance/battery/namespace_contract.py``), and,
with ``--backend``, which of them that backend's namespace lacks (those checks will skip, naming the function).
"""

from __future__ import annotations

import argparse

from conformance.commands.registry import command
from conformance.store.outputs import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", help="list what this backend's namespace lacks (a name or module:attr)")


@command("namespace", help="the array-API names the battery calls (or --backend: what its namespace lacks)",
         arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    from conformance.battery.namespace_contract import contract, lacking, undeclared_rejected_keywords

    names = contract()
    if not args.backend:
        for name, users in names.items():
            shown = ", ".join(users[:4]) + (f", ... ({len(users)} in all)" if len(users) > 4 else "")
            print(f"{name:<28} {shown}")
        print(f"\n{len(names)} names; a namespace lacking one skips the checks that use it, naming it")
        return 0
    from backends.base import load_backend

    try:
        backend = load_backend(args.backend)
    except (LookupError, ImportError, TypeError) as exc:
        raise UsageError(f"--backend {args.backend}: {exc}") from None
    backend.setup()
    missing = lacking(backend.xp)
    for name, users in missing.items():
        print(f"{name:<28} lacked: {len(users)} entr{'y' if len(users) == 1 else 'ies'} skip ({', '.join(users[:3])}...)")
    print(f"{backend.name}'s namespace offers {len(names) - len(missing)} of the contract's {len(names)} names")
    rejected = undeclared_rejected_keywords(backend)
    for key, message in rejected.items():
        print(f"{key:<28} rejected, not declared: {message}")
    if rejected:
        print(f"{len(rejected)} keyword(s) rejected: their rows error until each is declared in "
              "Conventions.lacks_keywords ({\"sum(where=)\": \"why\"})")
    return 0
