"""Build the HTML compatibility report from results files (``python -m conformance report``).

The report is a static Sphinx site (``docs/``, theme furo) whose pages are
filled by the ``conformance_report`` extension from results files alone: it
never runs or imports a backend library, so it can be rebuilt, or built from
several runs on different machines (one column per run), anywhere Sphinx is
installed.  Sphinx runs in a subprocess so that a build cannot leak state into
the caller, and with ``-W`` so that a warning (a broken reference, a malformed
value) fails the build instead of publishing a quietly broken page.

Results files are checked against ``docs/results-schema.json`` before Sphinx
starts; the site is built in a temporary folder next to the target and swapped
in only when the build succeeded, under a lock on a file next to the site.
Because the swap deletes what was there, the target must be missing, empty, or
a site this command built (it holds the stamp file :data:`STAMP`): ``--out /``,
``--out ~`` or a project folder are refused before anything is written.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from conformance.contract import PROJECT_ROOT, RESULTS_DIR, RESULTS_ENV_VAR
from conformance.store import schema
from conformance.store.results import SchemaError, load

DOCS_DIR = PROJECT_ROOT / "docs"
DEFAULT_OUT = Path("reports") / "site"


class ReportError(RuntimeError):
    """The report could not be built; the message says which file or which step."""


class ReportBusy(ReportError):
    """Another build of the same site holds its lock and did not finish in time."""


class OutRefused(ReportError):
    """The output folder is not ours to replace: it holds something other than a site this command built."""


STAMP = ".conformance-report-site"
"""The file every site this command builds holds at its top; only a folder holding it is ever replaced."""
STAMP_TEXT = "transform-conformance report site: `python -m conformance report` replaces this folder whole\n"
LEGACY_MARKERS = (".buildinfo", "index.html", "_static/conformance.css")
"""What a site built before the stamp existed holds (Sphinx's build info and this report's own style sheet)."""


def _is_our_site(folder: Path) -> bool:
    stamp = folder / STAMP
    if stamp.is_file() and not stamp.is_symlink():
        return True
    return all((folder / marker).is_file() and not (folder / marker).is_symlink() for marker in LEGACY_MARKERS)


def check_out(out: Path) -> None:
    """Refuse an output folder the build would destroy: a file, a filesystem root, the home folder, a folder
    holding the working directory, or any folder that is not empty and is not a report site (:data:`STAMP`)."""
    out = Path(out).resolve()
    if out == Path(out.anchor) or out.parent == out:
        raise OutRefused(f"--out {out}: a filesystem root cannot be a report site (name a folder of its own)")
    if out == Path.home().resolve():
        raise OutRefused(f"--out {out}: the home folder cannot be a report site (name a folder of its own)")
    if out == Path.cwd().resolve() or out in Path.cwd().resolve().parents:
        raise OutRefused(f"--out {out}: holds the working directory; the build would replace it "
                         "(name a folder of its own)")
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise OutRefused(f"--out {out}: exists and is not a folder; nothing was written")
    if any(out.iterdir()) and not _is_our_site(out):
        raise OutRefused(f"--out {out}: not empty and not a report site (no {STAMP}); the build replaces the "
                         "whole folder, so it refuses: name a new or empty folder, or a previous report site")


LOCK_TIMEOUT_S = 900.0
"""How long a build waits for another build of the same site before giving up (a build takes seconds to minutes)."""


def check_results(results: Sequence[Path]) -> list[Path]:
    """Absolute paths of readable results files that satisfy ``docs/results-schema.json``, or a clear error.

    Every problem of a file is listed as ``FILE: $.json.path: problem``; this runs before Sphinx starts, so a file
    with a wrong field type never reaches the extension (whose failure would read as a Sphinx crash).
    """
    if not results:
        raise ReportError("no results files given")
    paths = []
    for result in results:
        path = Path(result).resolve()
        try:
            doc = load(path)
        except UnicodeDecodeError:
            raise SchemaError(f"{result}: not a results document (not UTF-8 text)") from None
        except OSError as exc:
            raise ReportError(f"{result}: cannot read results file ({exc.strerror or exc})") from None
        except (AttributeError, TypeError):
            raise SchemaError(f"{result}: not a results document (the top level is not a JSON object)") from None
        found = schema.problems(doc)
        if found:
            raise SchemaError("\n".join(f"{result}: {problem}" for problem in found))
        paths.append(path)
    return paths


@contextlib.contextmanager
def site_lock(out: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``.<site>.lock`` next to ``out`` while the site is built and swapped in.

    Two builds into one folder used to interleave their pages.  Now the second waits for the first (saying so on
    stderr), then builds; after ``timeout`` seconds it gives up with :class:`ReportBusy`.  The lock is released by
    the kernel when the holder exits, so a killed build never leaves a stale lock behind.
    """
    lock_path = out.parent / f".{out.name}.lock"
    with open(lock_path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            print(f"report: waiting for the build of {out} held by {holder} ({lock_path})", file=sys.stderr)
            deadline = time.monotonic() + timeout
            while True:
                time.sleep(0.2)
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ReportBusy(f"{out}: another build ({holder}) still holds {lock_path} after "
                                         f"{timeout:.0f} s; wait for it or stop it") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _exchange(new: Path, out: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(out), rename_exchange) == 0


def swap_in(new: Path, out: Path) -> None:
    """Make the finished build ``new`` the site at ``out``; the previous site is removed only afterwards.

    Where the kernel can exchange two directories the swap is a single step, so a reader never finds ``out``
    missing; elsewhere the old site is renamed aside first and ``new`` renamed in right after.
    """
    if not out.exists():
        os.replace(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the previous site
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / "site")
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def build(results: list[Path], out_dir: Path = DEFAULT_OUT, *, strict: bool = True,
          lock_timeout: float = LOCK_TIMEOUT_S) -> Path:
    """Build the site from ``results`` into ``out_dir``; return the path of its ``index.html``.

    Sphinx writes into a temporary folder next to ``out_dir``, which replaces ``out_dir`` only when the build
    succeeded: a failed build leaves the published site as it was.  The build and the swap hold the site's lock
    (:func:`site_lock`), so two builds into one folder run one after the other and never mix their pages.

    Raises :class:`~conformance.store.results.SchemaError` for a file of another schema or version or one that breaks
    ``docs/results-schema.json``, :class:`OutRefused` for an ``out_dir`` that is not new, empty or a previous
    site (:func:`check_out`), :class:`ReportError` for an unreadable file or a failed Sphinx build (with
    ``strict``, any Sphinx warning fails it), :class:`ReportBusy` when the lock stays taken.
    """
    paths = check_results(results)
    if not (DOCS_DIR / "conf.py").is_file():
        raise ReportError(f"{DOCS_DIR}: the report's Sphinx sources are missing (is the project installed editable?)")
    out = Path(out_dir).resolve()
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with site_lock(out, lock_timeout):
        check_out(out)  # again, now that no other build can change it
        for kind in ("build", "old"):  # folders a killed build left behind; nobody else uses them while we hold the lock
            for stale in out.parent.glob(f".{out.name}.{kind}-*"):
                shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the published site must stay readable
        try:
            with tempfile.TemporaryDirectory(prefix="conformance-doctrees-") as doctrees:
                command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-d", doctrees]
                if strict:
                    command += ["-W", "--keep-going"]
                command += [str(DOCS_DIR), str(staging)]
                env = {**os.environ, RESULTS_ENV_VAR: os.pathsep.join(str(p) for p in paths)}
                proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                output = (proc.stderr.strip() or proc.stdout.strip() or "(no output)")[-4000:]
                raise ReportError(f"sphinx-build failed (exit {proc.returncode}) building {out} "
                                  f"(the previous site, if any, is unchanged):\n{output}")
            if not (staging / "index.html").is_file():
                raise ReportError(f"sphinx-build wrote no index.html for {out}")
            (staging / STAMP).write_text(STAMP_TEXT, encoding="utf-8")
            swap_in(staging, out)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def default_results(all_runs: bool = False, results_dir: Path = RESULTS_DIR) -> list[Path]:
    """The newest ``run-*.json`` (by modification time), or all of them oldest first."""
    found = sorted(Path(results_dir).glob("run-*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    if all_runs:
        return found
    return found[-1:]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m conformance report``."""
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        metavar="RESULTS",
        help=f"results files to report on, one column per run (default: the newest {RESULTS_DIR}/run-*.json)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--all-runs",
        action="store_true",
        help=f"with no RESULTS, report every {RESULTS_DIR}/run-*.json, one column per run",
    )


def main(args: argparse.Namespace) -> int:
    """Build the report; print where it is, or a one-line error naming the file. Returns the exit status."""
    results = list(args.results or [])
    if results and args.all_runs:
        print("error: give RESULTS files or --all-runs, not both", file=sys.stderr)
        return 2
    if not results:
        results = default_results(all_runs=args.all_runs)
        if not results:
            print(
                f"error: no results files in {RESULTS_DIR}/ (run `python -m conformance all` first, "
                "or name the files: python -m conformance report RESULTS...)",
                file=sys.stderr,
            )
            return 2
    try:
        index = build(results, args.out)
    except (SchemaError, OutRefused) as exc:  # bad input: nothing was built or touched, the message says why
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {index} ({len(results)} run{'s' if len(results) != 1 else ''}: {', '.join(map(str, results))})")
    return 0
