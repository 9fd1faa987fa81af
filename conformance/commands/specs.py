"""``python -m conformance specs``: list the battery's specs, or (``--tolerances``) the tolerance policy.

The README points here instead of copying them.
"""

from __future__ import annotations

import argparse

from conformance.commands.registry import command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tolerances", action="store_true")


@command("specs", help="list the battery's specs (or --tolerances: the tolerance policy)", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    """List the battery's specs, or the tolerance policy: the README points here instead of copying them."""
    if args.tolerances:
        from conformance.battery.tolerances import policy_table

        for row in policy_table():
            print(f"{row['dtype']:<8} {row['kind']:<9} rtol=atol={row['rtol']:.1e}  {row['reason']}")
        from backends.numpy_reference import ERROR_BOUNDS

        print("\nplus, where the expected side is the NumPy reference, its method's bound:")
        for method, bound in ERROR_BOUNDS.items():
            print(f"  {method:<22} {bound:.0e}")
        return 0
    import conformance.battery.specs as specs

    for spec in specs.REGISTRY.values():
        first = spec.doc.splitlines()[0] if spec.doc else ""
        print(f"{spec.id:<30} {spec.transform:<15} {first}")
    return 0
