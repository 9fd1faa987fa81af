"""Build the HTML compatibility report from results files (``python -m conformance report``).

The report is a static Sphinx site (``docs/``, theme furo) whose pages are
filled by the ``conformance_report`` extension from results files alone: it
never runs or imports a backend library, so it can be rebuilt, or built from
several runs on different machines (one column per run), anywhere Sphinx is
installed.  Sphinx runs in a subprocess so that a build cannot leak state into
the caller, and with ``-W`` so that a warning (a broken reference, a malformed
value) fails the build instead of publishing a quietly broken page.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from conformance.results import SchemaError, load

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs"
RESULTS_DIR = Path("reports") / "results"
"""Where runs write ``run-<id>.json`` (relative to the working directory, like the runner)."""
DEFAULT_OUT = Path("reports") / "site"
ENV_VAR = "CONFORMANCE_RESULTS"
"""How the results paths reach the Sphinx extension (``os.pathsep``-separated)."""


class ReportError(RuntimeError):
    """The report could not be built; the message says which file or which step."""


def check_results(results: Sequence[Path]) -> list[Path]:
    """Absolute paths of readable results files of the supported schema, or a clear error naming the file."""
    if not results:
        raise ReportError("no results files given")
    paths = []
    for result in results:
        path = Path(result).resolve()
        try:
            load(path)
        except UnicodeDecodeError:
            raise SchemaError(f"{result}: not a results document (not UTF-8 text)") from None
        except OSError as exc:
            raise ReportError(f"{result}: cannot read results file ({exc.strerror or exc})") from None
        except (AttributeError, TypeError):
            raise SchemaError(f"{result}: not a results document (the top level is not a JSON object)") from None
        paths.append(path)
    return paths


def build(results: list[Path], out_dir: Path = DEFAULT_OUT, *, strict: bool = True) -> Path:
    """Build the site from ``results`` into ``out_dir``; return the path of its ``index.html``.

    Raises :class:`~conformance.results.SchemaError` for a file of another schema or
    version, :class:`ReportError` for an unreadable file or a failed Sphinx build
    (with ``strict``, any Sphinx warning fails it).
    """
    paths = check_results(results)
    if not (DOCS_DIR / "conf.py").is_file():
        raise ReportError(f"{DOCS_DIR}: the report's Sphinx sources are missing (is the project installed editable?)")
    out = Path(out_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="conformance-doctrees-") as doctrees:
        command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-d", doctrees]
        if strict:
            command += ["-W", "--keep-going"]
        command += [str(DOCS_DIR), str(out)]
        env = {**os.environ, ENV_VAR: os.pathsep.join(str(p) for p in paths)}
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        output = (proc.stderr.strip() or proc.stdout.strip() or "(no output)")[-4000:]
        raise ReportError(f"sphinx-build failed (exit {proc.returncode}) building {out}:\n{output}")
    index = out / "index.html"
    if not index.is_file():
        raise ReportError(f"sphinx-build wrote no {index}")
    return index


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
    except (SchemaError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {index} ({len(results)} run{'s' if len(results) != 1 else ''}: {', '.join(map(str, results))})")
    return 0
