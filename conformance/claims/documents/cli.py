"""``python -m conformance check-doc TARGET...``: check documents with no claims file.

TARGET is a file (``.ipynb``, ``.md``, ``.rst``, ``.py`` gallery script, ...) or ``module:NAME[:api,...]``
(the docstrings of an installed module).  Every document runs in its own sandboxed session; the results file
gets a top-level ``documents`` list (see ``document_record``).  Exit status:

- 0: every document finished and no claim is false;
- 1: every document finished and a claim is false;
- 2: unusable targets or options (found before any document runs), no sandbox, or results that could not be
  written (one line says so, and what was kept);
- 3: a document did not finish: it timed out, crashed or exited (``killed``/``error``), its harness failed
  (``exception``), it broke the report protocol (``protocol-violation``), it was over the size limit
  (``refused``), or the checker failed on it (``checker-error``).  This wins over 1: its claims are not all judged;
- 130: interrupted (Ctrl-C or SIGTERM): the documents that finished are written, the run is marked
  ``interrupted``, and the command that checks the others is printed.

Directories are walked without following symbolic links out of them (those are listed as ``skipped``), and
every name or text from the input is printed through ``console.printable``.

A claims file stays optional: ``--claims FILE`` (one document target) adds the prose claims of the article
checker's format on top of the automatic ones; they are judged by ``conformance.claims.article`` exactly as
``check-article`` judges them (battery checks they cite are not run here: those claims say so), and land in
the results file's ``claims`` and ``articles`` lists, which the report's article page already shows.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conformance.claims.article.sandbox import IsolationUnavailable
from conformance.claims.documents import kinds, options, registry, session, summary, verdicts
from conformance.claims.documents.console import printable
from conformance.claims.documents.limits import clip_all, utf8_all
from conformance.claims.documents.model import Document
from conformance.contract import RESULTS_DIR
from conformance.store import results
from conformance.store.outputs import OutputError as _WriteFailed

EXIT_FALSE, EXIT_USAGE, EXIT_UNFINISHED, EXIT_INTERRUPTED = 1, 2, 3, 130
FINISHED = ("ok", "skipped")
"""Document statuses that are not a failure to finish (``skipped``: a symlink the walk does not follow)."""


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
    p.add_argument("--timeout", type=options.seconds, default=session.DEFAULT_TIMEOUT,
                   help=f"seconds one document may run, all its cells together (default: {session.DEFAULT_TIMEOUT:g})")
    p.add_argument("--jobs", type=options.jobs, default=2, help="documents checked at once (default: 2)")
    p.add_argument("--run-skipped", action="store_true",
                   help="also run examples the document marks +SKIP (torch marks most of its docstring examples)")
    p.add_argument("--out", type=Path, help="results file (default: reports/results/run-<id>.json)")
    p.add_argument("--claims", type=Path, metavar="FILE",
                   help="a claims file (check-article's TOML format) adding prose claims to one document target")
    p.add_argument("--draft-claims", type=Path, metavar="FILE",
                   help="write a claims file drafted from one document's prose (fill its TODOs, then --claims FILE)")
    p.add_argument("--device-map", type=options.device_map_entry, action="append", metavar="FROM=TO",
                   dest="device_map", help="run a document written for one device on another: the devices its "
                                           "cells name FROM become TO (e.g. cuda=cpu; repeatable)")
    from conformance.claims.article.cli import add_sandbox_arguments

    add_sandbox_arguments(p)


def _unique_ids(claims: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for c in claims:
        seen[c["id"]] += 1
        if seen[c["id"]] > 1:
            c["id"] = f"{c['id']}~{seen[c['id']]}"


def device_flags(device_map: dict[str, str] | None) -> list[str]:
    """The ``--device-map`` arguments that give ``device_map`` again (for reproducers and rerun commands)."""
    return [arg for source, target in (device_map or {}).items() for arg in ("--device-map", f"{source}={target}")]


def document_record(doc: Document, result: session.SessionResult, run_skipped: bool,
                    device_map: dict[str, str] | None = None) -> dict[str, Any]:
    """One entry of the results file's ``documents`` list; every text in it capped (``limits.clip_all``).

    ``cells_run`` counts the cells that ran to the end and ``cells_raised`` those that raised (``summary``);
    ``cells_per_s`` is the throughput of both; ``transform_calls`` the account of the document's transform calls.
    """
    cells, claims = verdicts.judge(doc, result)
    for cell, targets in zip(cells, session.cell_targets(doc)):
        cell["targets"] = targets
    _unique_ids(claims)
    flags = (["--run-skipped"] if run_skipped else []) + device_flags(device_map)
    reproducer = " ".join([doc.reproducer, *(shlex.quote(f) for f in flags)])
    counts = summary.cell_counts(cells)
    executed = counts["cells_run"] + counts["cells_raised"]
    return clip_all({
        "source": doc.source, "kind": doc.kind, "title": doc.title, "file": doc.file, "sha256": doc.sha256,
        "libraries": {**doc.libraries, **result.versions}, "status": result.status, "reason": result.reason,
        "setup_errors": result.setup_errors, "duration_s": result.duration_s, **counts,
        "cells_per_s": round(executed / result.duration_s, 3) if result.duration_s else None,
        "transform_calls": summary.transform_calls(cells),
        "cells": cells, "claims": claims, "summary": summary.claims_by_kind(claims), "reproducer": reproducer,
    })


def unrun_record(doc: Document, status: str, reason: str) -> dict[str, Any]:
    """The entry of a document that did not run: refused, skipped, or one the checker itself failed on."""
    return clip_all({
        "source": doc.source, "kind": doc.kind, "title": doc.title, "file": doc.file, "sha256": doc.sha256,
        "libraries": dict(doc.libraries), "status": status, "reason": reason, "setup_errors": [], "duration_s": 0.0,
        "cells_run": 0, "cells_raised": 0, "cell_counts": {}, "environment": [], "cells_per_s": None,
        "transform_calls": summary.transform_calls([]), "cells": [], "claims": [], "summary": {},
        "reproducer": doc.reproducer,
    })


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped :func:`check`: ``records`` of the documents that finished (and of those that were
    running when some of their cells had finished: status ``cancelled``), and ``pending``, every document to check
    again.  A KeyboardInterrupt, so a caller that does not handle it stops as on Ctrl-C."""

    def __init__(self, records: list[dict[str, Any]], pending: list[Document]) -> None:
        super().__init__(f"interrupted: {len(pending)} of {len(records) + len(pending)} documents not finished")
        self.records = records
        self.pending = pending


def _wait_for(pool: ThreadPoolExecutor) -> None:
    """Shut the pool down, waiting for its threads even through another Ctrl-C: the sessions are already being
    killed (at most a second each), and what they finished is about to be written."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue


def check(docs: list[Document], *, timeout: float, jobs: int, run_skipped: bool,
          cancel: threading.Event | None = None, device_map: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run every document (``jobs`` sessions at a time) and judge it; raise :class:`Interrupted` on Ctrl-C.
    ``device_map`` (``{"cuda": "cpu"}``) maps the devices the cells name (``--device-map``).

    One document costs only itself: what the checker cannot do with one (a bug of its own included) becomes
    that document's outcome, and the others go on.
    """
    if run_skipped:
        docs = [dataclasses.replace(d, cells=[dataclasses.replace(c, skipped="" if "+SKIP" in c.skipped
                                                                  else c.skipped) for c in d.cells]) for d in docs]
    cancel = cancel if cancel is not None else threading.Event()
    kinds.DEFAULT_CONTEXT.cancel = cancel  # Ctrl-C also stops a names probe in flight

    def one(doc: Document) -> dict[str, Any]:
        if doc.not_run is not None:
            return unrun_record(doc, doc.not_run.status, doc.not_run.reason)
        try:
            result = session.run_document(doc, timeout=timeout, cancel=cancel, device_map=device_map,
                                          probes=kinds.probes_for(doc))
            return document_record(doc, result, run_skipped, device_map)
        except IsolationUnavailable:  # the machine's problem, not the document's: it stops the run
            raise
        except Exception as exc:  # a checker bug on one document must not lose the others
            return unrun_record(doc, "checker-error", f"the checker failed on this document: "
                                                      f"{type(exc).__name__}: {exc}")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures: list[Future[dict[str, Any]]] = [pool.submit(one, doc) for doc in docs]
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        cancel.set()  # kill running sessions now rather than wait for each document's time limit
        _wait_for(pool)
        kept: list[dict[str, Any]] = []
        pending: list[Document] = []
        for doc, f in zip(docs, futures):
            rec = f.result() if f.done() and not f.cancelled() else None
            if rec is not None and rec["status"] != "cancelled":
                kept.append(rec)
                continue
            pending.append(doc)
            if rec is not None and (rec["cells_run"] or rec["cells_raised"]):  # it was running: keep what finished
                kept.append(rec)
        raise Interrupted(kept, pending) from None
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
            print(printable(f"check-doc: {target} skipped: {exc}"))
    return check(docs, timeout=timeout, jobs=jobs, run_skipped=True) if docs else []


summary_lines = summary.summary_lines


def rerun_command(pending: list[Document], args: argparse.Namespace) -> str:
    """The command that checks ``pending`` again with this run's options, quoted for a POSIX shell."""
    argv = ["python", "-m", "conformance", "check-doc", *(d.source for d in pending)]
    if args.timeout != session.DEFAULT_TIMEOUT:
        argv += ["--timeout", f"{args.timeout:g}"]
    if args.jobs != 2:
        argv += ["--jobs", str(args.jobs)]
    if args.run_skipped:
        argv.append("--run-skipped")
    argv += device_flags(dict(getattr(args, "device_map", None) or []))
    if getattr(args, "allow_weak_sandbox", False):
        argv.append("--allow-weak-sandbox")
    return shlex.join(argv)


def _say(message: str) -> None:
    print(printable(f"check-doc: {message}"))


def main(args: argparse.Namespace) -> int:
    from conformance.claims.article.cli import SandboxMissing, isolation_or_stop, sigterm_as_interrupt

    started = time.monotonic()
    device_map, problem = options.device_map(getattr(args, "device_map", None))
    if problem:
        _say(problem)
        return EXIT_USAGE
    problem = options.output_problem(args.out) if args.out else options.output_problem(RESULTS_DIR / "run.json",
                                                                                         flag="results directory")
    if problem:  # before any document is read: a typo in --out never costs a finished run
        _say(problem)
        return EXIT_USAGE
    try:  # before any document is read: a machine without a sandbox is told so at once
        isolation = isolation_or_stop(args.allow_weak_sandbox)
    except SandboxMissing as exc:
        _say(str(exc))
        return EXIT_USAGE
    docs: list[Document] = []
    try:
        for target in args.targets:
            docs.extend(registry.read(target))
    except (registry.DocumentError, OSError) as exc:
        _say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("interrupted while reading the targets: nothing ran, nothing was written")
        return EXIT_INTERRUPTED
    if args.claims and (len(docs) != 1 or not Path(docs[0].source).is_file()):
        _say("--claims needs exactly one document file as target")
        return EXIT_USAGE
    if args.draft_claims and (len(docs) != 1 or not Path(docs[0].source).is_file()):
        _say("--draft-claims needs exactly one document file as target")
        return EXIT_USAGE
    interrupted: Interrupted | None = None
    with sigterm_as_interrupt():
        try:
            records = check(docs, timeout=args.timeout, jobs=args.jobs, run_skipped=args.run_skipped,
                            device_map=device_map)
        except Interrupted as exc:
            records, interrupted = exc.records, exc
    header = results.run_header(label="documents: " + " ".join(args.targets), isolation=isolation,
                                device_map=device_map)
    doc = results.new_document(header)
    doc["documents"] = records
    prose_failed = False
    if args.claims and interrupted is None:
        try:
            prose, prose_failed = prose_claims(docs[0], args.claims, jobs=args.jobs)
        except ValueError as exc:
            _say(str(exc))
            return EXIT_USAGE
        doc["claims"].extend(prose.get("claims", []))
        doc["articles"].extend(prose.get("articles", []))
    wall = time.monotonic() - started
    ran = sum(r["cells_run"] for r in records)
    raised = sum(r["cells_raised"] for r in records)
    doc["run"].update(finished=results.now(), duration_s=round(wall, 3),
                      documents={"count": len(records), "cells_run": ran, "cells_raised": raised,
                                 "cells_per_s": round((ran + raised) / wall, 3) if wall else None,
                                 "transform_calls": summary.transform_calls(
                                     [{"transform_calls": r.get("transform_calls")} for r in records])})
    rerun = ""
    if interrupted is not None:
        rerun = rerun_command(interrupted.pending, args)
        doc["interrupted"] = doc["run"]["interrupted"] = True
        doc["interrupted_reason"] = (f"check-doc was interrupted (Ctrl-C or SIGTERM): {len(interrupted.pending)} "
                                     "documents did not finish")
        doc["run"]["rerun"] = rerun
    print("\n".join(summary_lines(records)))
    print("\n" + summary.totals_line(records, wall))
    out = args.out or RESULTS_DIR / f"run-{header['id']}.json"
    try:
        path = results.write_atomic(out, utf8_all(doc))  # a file name need not be UTF-8; the results are
    except (OSError, _WriteFailed) as exc:  # a full disk, a vanished directory: one line, and what was kept
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _say(f"results not written to {out}: {why}; kept: only the summary above (a file already there is "
             "unchanged); free space or choose another --out, then run again")
        return EXIT_USAGE
    print(printable(f"results: {path}"))
    if args.draft_claims and interrupted is None:
        from conformance.claims.documents import draft

        try:
            n = draft.write_claims(docs[0], doc, args.draft_claims)
        except (OSError, _WriteFailed) as exc:
            _say(str(exc))
            return EXIT_USAGE
        print(printable(f"draft claims: {args.draft_claims} ({n} claims; fill every TODO, then --claims "
                        f"{args.draft_claims})"))
    if interrupted is not None:
        print(printable(f"interrupted: {len(records)} documents written, {len(interrupted.pending)} did not finish; "
                        f"to check those: {rerun}"))
        return EXIT_INTERRUPTED
    unfinished = [r for r in records if r["status"] not in FINISHED]
    if unfinished:
        print(printable(f"{len(unfinished)} documents did not finish: "
                        + ", ".join(f"{r['source']} ({r['status']})" for r in unfinished[:10])
                        + (" ..." if len(unfinished) > 10 else "")))
        return EXIT_UNFINISHED
    false = any(c["verdict"] == "false" for r in records for c in r["claims"])
    return EXIT_FALSE if false or prose_failed else 0


def prose_claims(doc: Document, claims: Path, *, jobs: int) -> tuple[dict[str, Any], bool]:
    """The claims file's verdicts for ``doc``, by the article checker (its snippets run in its own sandbox)."""
    from conformance.claims.article import cli as article_cli
    from conformance.claims.article.claims import ClaimsError, load, verify_anchors

    try:
        cf = load(claims, check_anchors=False)
        cf.article_path = Path(doc.source).resolve()
        verify_anchors(cf)
    except (ClaimsError, OSError) as exc:
        raise ValueError(str(exc)) from None
    backends = ["numpy", *session.libraries_of(doc)]
    return article_cli.check(cf, {}, backends, jobs=jobs)
