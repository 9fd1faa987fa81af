"""``python -m conformance merge``: join the results files of many machines (``--shard K/N`` runs) into one."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.commands import outcome
from conformance.commands.registry import command
from conformance.run import runner
from conformance.store import outputs, results
from conformance.store.outputs import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, help="results files, one per shard")
    parser.add_argument("--out", type=Path, required=True, help="the merged results file")
    parser.add_argument("--label", help="a name for the merged run's column in the report")
    parser.add_argument("--allow-partial", action="store_true", help="merge even when some shards are missing")


@command("merge", help="join the results of many machines (--shard runs) into one file", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    """Join the results files of many machines (``--shard K/N`` runs) into one document for the report.

    Each file is checked whole (its shape, :func:`conformance.store.results.load`; its checks against the digest
    written with them, :func:`conformance.store.results.verify_digest`) before anything is merged.
    """
    outputs.check_output_file(args.out)
    docs, names = [], []
    for path in args.files:
        try:
            doc = results.load(path, check_shape=True)
            results.verify_digest(doc, str(path))
        except OSError as exc:
            raise UsageError(f"{path}: cannot read it: {outputs.describe(exc)} (check the path)") from None
        except (results.SchemaError, results.MergeError) as exc:
            raise UsageError(str(exc)) from None
        docs.append(doc)
        names.append(str(path))
    try:
        doc = results.merge_runs(docs, names, allow_partial=args.allow_partial)
    except results.MergeError as exc:
        raise UsageError(str(exc)) from None
    # Each shard's own label names only its backends: the merged column names them all, with their versions.
    doc["run"]["label"] = args.label or outcome.default_label(doc)
    path = results.write_atomic(args.out, doc, kept="the shard files are unchanged",
                                resume="free space, then run the same merge again")
    print("\n".join(runner.summary_lines(doc)))
    print(f"\nmerged {len(docs)} file(s): {path}")
    return 1 if runner.unexpected(doc["checks"]) else 0
