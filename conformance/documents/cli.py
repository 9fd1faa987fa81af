"""``python -m conformance check-doc TARGET...``: check documents with no claims file.

TARGET is a file (``.ipynb``, ``.md``, ``.rst``, ``.py`` gallery script, ...) or ``module:NAME[:api,...]``
(the docstrings of an installed module).  Every document runs in its own sandboxed session; the results file
gets a top-level ``documents`` list (see ``document_record``).  Exit status: 0 when no claim is false, 1 when
one is, 2 for unusable targets.

A claims file stays optional: ``--claims FILE`` (one document target) adds the prose claims of the article
checker's format on top of the automatic ones; they are judged by ``conformance.article`` exactly as
``check-article`` judges them (battery checks they cite are not run here: those claims say so), and land in
the results file's ``claims`` and ``articles`` lists, which the report's article page already shows.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conformance import results
from conformance.documents import execute, registry, session, verdicts
from conformance.documents.model import Document

RESULTS_DIR = Path("reports/results")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``check-doc`` on ``python -m conformance``'s subcommands (the one line ``__main__`` needs)."""
    p = subparsers.add_parser("check-doc", help="check notebooks, Markdown, reST, gallery scripts or docstrings "
                                                "without a claims file")
    add_arguments(p)
    p.set_defaults(func=main)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="a document file, a directory of them, or module:NAME[:api,...] for an installed "
                        "module's docstrings")
    p.add_argument("--timeout", type=float, default=session.DEFAULT_TIMEOUT,
                   help=f"seconds one document may run, all its cells together (default: {session.DEFAULT_TIMEOUT:g})")
    p.add_argument("--jobs", type=int, default=2, help="documents checked at once (default: 2)")
    p.add_argument("--run-skipped", action="store_true",
                   help="also run examples the document marks +SKIP (torch marks most of its docstring examples)")
    p.add_argument("--out", type=Path, help="results file (default: reports/results/run-<id>.json)")
    p.add_argument("--claims", type=Path, metavar="FILE",
                   help="a claims file (check-article's TOML format) adding prose claims to one document target")
    from conformance.article.cli import add_sandbox_arguments

    add_sandbox_arguments(p)


def _summary(claims: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for c in claims:
        row = table.setdefault(c["kind"], {"true": 0, "false": 0, "unverifiable": 0})
        row[{True: "true", False: "false"}.get(c["verdict"], "unverifiable")] += 1
    return table


def _unique_ids(claims: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for c in claims:
        seen[c["id"]] += 1
        if seen[c["id"]] > 1:
            c["id"] = f"{c['id']}~{seen[c['id']]}"


def document_record(doc: Document, result: session.SessionResult, run_skipped: bool) -> dict[str, Any]:
    """One entry of the results file's ``documents`` list."""
    cells, claims = verdicts.judge(doc, result)
    for cell, targets in zip(cells, session.cell_targets(doc)):
        cell["targets"] = targets
    _unique_ids(claims)
    reproducer = doc.reproducer + (" --run-skipped" if run_skipped else "")
    ran = sum(1 for c in cells if c["status"] in ("ok", "raised"))
    return {
        "source": doc.source, "kind": doc.kind, "title": doc.title, "file": doc.file, "sha256": doc.sha256,
        "libraries": {**doc.libraries, **result.versions}, "status": result.status, "reason": result.reason,
        "setup_errors": result.setup_errors, "duration_s": result.duration_s, "cells_run": ran,
        "cells_per_s": round(ran / result.duration_s, 3) if result.duration_s else None,
        "cells": cells, "claims": claims, "summary": _summary(claims), "reproducer": reproducer,
    }


def check(docs: list[Document], *, timeout: float, jobs: int, run_skipped: bool) -> list[dict[str, Any]]:
    """Run every document (``jobs`` sessions at a time) and judge it."""
    if run_skipped:
        docs = [dataclasses.replace(d, cells=[dataclasses.replace(c, skipped="" if "+SKIP" in c.skipped
                                                                  else c.skipped) for c in d.cells]) for d in docs]

    def one(doc: Document) -> dict[str, Any]:
        return document_record(doc, session.run_document(doc, timeout=timeout), run_skipped)

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        return list(pool.map(one, docs))
    except KeyboardInterrupt:
        execute.CANCEL.set()  # kill running sessions now rather than wait for each document's time limit
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


DOCSTRING_TARGETS: dict[str, str] = {"torch": "module:torch.func", "jax": "module:jax"}
"""The transform docstrings the gate checks in place, by the backend whose library they document."""


def check_docstrings(backends: list[str], *, timeout: float = session.DEFAULT_TIMEOUT, jobs: int = 2) -> list[dict[str, Any]]:
    """The libraries' own transform docstrings, checked in the installed packages (``all`` runs this).

    Examples marked +SKIP run too: torch marks most of its examples so, and what they claim is still a claim.
    A library that is not installed is skipped with a note rather than failing the gate.
    """
    docs: list[Document] = []
    for backend in backends:
        target = DOCSTRING_TARGETS.get(backend)
        if target is None:
            continue
        try:
            docs.extend(registry.read(target))
        except (registry.DocumentError, OSError) as exc:
            print(f"check-doc: {target} skipped: {exc}")
    return check(docs, timeout=timeout, jobs=jobs, run_skipped=True) if docs else []


def summary_lines(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    for rec in records:
        parts = [f"{kind} {row['true']}/{sum(row.values())}" + (f" ({row['false']} false)" if row["false"] else "")
                 for kind, row in rec["summary"].items()]
        lines.append(f"{rec['source']}: {rec['status']}, {rec['cells_run']}/{len(rec['cells'])} cells run in "
                     f"{rec['duration_s']:.1f} s; " + ", ".join(parts))
        where = rec["file"] or rec["source"]
        for c in rec["claims"]:
            if c["verdict"] is False:
                lines.append(f"  {where}:{c['line']}: {c['kind']} false: {c['reason']}")
    return lines


def main(args: argparse.Namespace) -> int:
    from conformance.article.cli import SandboxMissing, isolation_or_stop

    started = time.monotonic()
    try:  # before any document is read: a machine without a sandbox is told so at once
        isolation = isolation_or_stop(args.allow_weak_sandbox)
    except SandboxMissing as exc:
        print(f"check-doc: {exc}")
        return 2
    docs: list[Document] = []
    try:
        for target in args.targets:
            docs.extend(registry.read(target))
    except (registry.DocumentError, OSError) as exc:
        print(f"check-doc: {exc}")
        return 2
    if args.claims and (len(docs) != 1 or not Path(docs[0].source).is_file()):
        print("check-doc: --claims needs exactly one document file as target")
        return 2
    records = check(docs, timeout=args.timeout, jobs=args.jobs, run_skipped=args.run_skipped)
    header = results.run_header(label="documents: " + " ".join(args.targets), isolation=isolation)
    doc = results.new_document(header)
    doc["documents"] = records
    prose_failed = False
    if args.claims:
        try:
            prose, prose_failed = prose_claims(docs[0], args.claims, jobs=args.jobs)
        except ValueError as exc:
            print(f"check-doc: {exc}")
            return 2
        doc["claims"].extend(prose.get("claims", []))
        doc["articles"].extend(prose.get("articles", []))
    wall = time.monotonic() - started
    ran = sum(r["cells_run"] for r in records)
    doc["run"].update(finished=results.now(), duration_s=round(wall, 3),
                      documents={"count": len(records), "cells_run": ran,
                                 "cells_per_s": round(ran / wall, 3) if wall else None})
    path = results.write_atomic(args.out or RESULTS_DIR / f"run-{header['id']}.json", doc)
    print("\n".join(summary_lines(records)))
    print(f"\n{len(records)} documents, {ran} cells run in {wall:.1f} s ({ran / wall:.2f} cells/s)")
    print(f"results: {path}")
    false = any(c["verdict"] is False for r in records for c in r["claims"])
    return 1 if false or prose_failed else 0


def prose_claims(doc: Document, claims: Path, *, jobs: int) -> tuple[dict[str, Any], bool]:
    """The claims file's verdicts for ``doc``, by the article checker (its snippets run in its own sandbox)."""
    from conformance.article import cli as article_cli
    from conformance.article.claims import ClaimsError, load, verify_anchors

    try:
        cf = load(claims, check_anchors=False)
        cf.article_path = Path(doc.source).resolve()
        verify_anchors(cf)
    except (ClaimsError, OSError) as exc:
        raise ValueError(str(exc)) from None
    backends = ["numpy", *session.libraries_of(doc)]
    return article_cli.check(cf, {}, backends, jobs=jobs)
