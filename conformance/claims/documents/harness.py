"""The program that runs inside the sandbox: one document's cells in one namespace, transforms intercepted.

This file is not imported by the checker: ``session.program`` reads its source and appends the document's
payload, so it must stay self-contained (standard library, numpy, the libraries the document imports, and the
sandbox-side helpers of ``conformance.claims.documents.inside``, which the sandbox's path reaches and the session
preimports).  Its one job is running cells: executing each statement, capturing output and the last expression's
value (``inside.output``), and draining the checks the cell queued once it has finished.  Interception is
``inside.intercept`` with one installer per library (``inside.libraries``); the sandbox's half of a check is
``inside.probe``.

It sends one record per event on the sandbox's report channel (the writer the bootstrap hands over as
``__report__``, a pipe that is not stdout), each written whole at once: if the document hangs and is killed, every
cell that finished is still reported.  A derivative check is a conversation with the host over the same channel
and the answer channel (``__ask__``): the host plans the points, the function is evaluated here, and the host
alone computes the finite differences, applies the tolerance table and writes the derivative record
(``conformance.claims.documents.oracle``).  No threshold and no oracle is in this process.  Stdout is only the
document's own output.  The records' order and fields are the contract ``conformance.claims.documents.protocol`` checks
on the host.

The writer and the asker are taken out of the globals before any document code runs and bound where the harness
loads (keyword defaults, the interceptor's attributes), so rebinding a name in these globals (which the document
reaches through any wrapped transform's ``__globals__``) changes nothing the harness sends.  That raises the bar
and no more: code in this process can always reach the channel, so a hostile document can make its own records
say anything, and its own function's values too (``docs/trust-boundary.md``).
"""

import ast
import json  # noqa: F401 - the payload line that session.program appends reads it
import linecache
import sys
import time
import traceback
import warnings

from conformance.claims.documents.inside import devices as _devices
from conformance.claims.documents.inside import intercept as _intercept
from conformance.claims.documents.inside import libraries as _libraries
from conformance.claims.documents.inside import output as _output
from conformance.claims.documents.inside import peek as _peek
from conformance.claims.documents.inside import timing as _timing

_REAL_STDOUT = sys.stdout
_WARNINGS = 50
"""Warnings kept per cell, structured (the stderr text keeps only its tail)."""


def _take_channel():
    """The report channel's writer and the host's asker, removed from the globals they were handed in."""
    write, ask = globals().pop("__report__"), globals().pop("__ask__")

    def emit(record, _write=write):
        _write(record)

    def question(record, _ask=ask):
        return _ask(record)

    return emit, question


_emit, _ask = _take_channel()
_HOOK = _intercept.Interceptor(_emit, _ask)
_TIMINGS: list = []


def _run_cell(index, cell, namespace, *, _emit=_emit, _hook=_HOOK, _timings=_TIMINGS):
    """Run one cell statement by statement; each statement's output is kept for line-level expectations.  The
    transform checks the cell queued run after it, outside its time (``ledger``), their output discarded."""
    out, err = _output.Capture(), _output.Capture()
    record = {"type": "cell", "cell": index, "status": "ok", "exception": None, "display": None, "statements": {}}
    wanted = set(cell.get("statement_lines", []))
    sys.stdout = sys.__stdout__ = out
    sys.stderr = err
    namespace.pop("__warningregistry__", None)  # a warning at the same line number of an earlier cell shows again
    warned, show = [], warnings.showwarning

    def keep(message, category, filename, lineno, file=None, line=None, _warned=warned, _show=show):
        if len(_warned) < _WARNINGS:
            _warned.append({"category": category.__qualname__, "message": str(message)[:1000],
                           "filename": str(filename)[:300], "line": int(lineno or 0)})
        _show(message, category, filename, lineno, file, line)

    warnings.showwarning = keep
    _timings.clear()
    _hook.cell = index
    _hook.book.begin()
    started = time.perf_counter()
    # Registered so that tracebacks and inspect.getsource see the document's own lines.
    linecache.cache[f"<cell {index}>"] = (len(cell["source"]), None, cell["source"].splitlines(True), f"<cell {index}>")
    current = None
    try:
        tree = ast.parse(cell["source"], filename=f"<cell {index}>")
        body = tree.body
        for k, stmt in enumerate(body):
            before, current = out.size, stmt.lineno
            last = k == len(body) - 1
            if isinstance(stmt, ast.Expr):
                code = compile(ast.Expression(stmt.value), f"<cell {index}>", "eval")
                value = eval(code, namespace)
                shown = _output.display(value)
                if last and shown is not None:
                    record["value"] = shown  # what Jupyter and sphinx-gallery show, whatever this cell displays
                quiet = last and cell["display"] == "last" and _output.ends_with_semicolon(cell["source"])
                if shown is not None and not quiet and (cell["display"] == "all" or
                                                        (cell["display"] == "last" and last)):
                    if cell["display"] == "all":
                        out.write(shown + "\n")
                    else:
                        record["display"] = shown
                if stmt.lineno in wanted:
                    text = out.text()[before:] if out.size > before else ""
                    record["statements"][str(stmt.lineno)] = text if text else (shown or "")
            else:
                exec(compile(ast.Module([stmt], []), f"<cell {index}>", "exec"), namespace)
    except BaseException as exc:  # the document's own failure is the evidence
        record["status"] = "raised"
        tb = traceback.extract_tb(exc.__traceback__)
        line = next((fr.lineno for fr in reversed(tb) if fr.filename == f"<cell {index}>"), None)
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        record["exception"] = {"type": name, "message": str(exc)[:2000], "line": line}
        if current is not None:
            record["exception"]["statement_line"] = current
    finally:
        sys.stdout = sys.__stdout__ = _REAL_STDOUT
        sys.stderr = sys.__stderr__
        warnings.showwarning = show
    if warned:
        record["warnings"] = warned
    if _timings:
        record["timings"] = list(_timings)
    record["duration_s"] = round(time.perf_counter() - started, 4)
    if cell.get("probes"):
        record["probes"] = _peek.look(cell["probes"], namespace)
    sys.stdout = sys.__stdout__ = _output.Capture()  # what the checked functions print is not the cell's output
    try:
        _hook.book.drain()
    finally:
        sys.stdout = sys.__stdout__ = _REAL_STDOUT
    if _hook.book.counts["calls"]:
        record["transform_calls"] = dict(_hook.book.counts)
    record["stdout"] = out.text()
    record["stderr"] = err.text()[-2000:]
    record["dropped_chars"] = out.dropped + err.dropped
    _emit(record)


def main(payload, *, _emit=_emit, _run_cell=_run_cell, _hook=_HOOK):
    for lib in payload["libraries"]:
        try:
            _libraries.INSTALLERS[lib](_hook)
            _devices.install(lib, payload.get("device_map") or {})
            _emit({"type": "setup", "library": lib, "version": str(sys.modules[lib].__version__)})
        except Exception as exc:
            _emit({"type": "setup", "library": lib, "error": f"{type(exc).__name__}: {exc}"})
    _timing.install(_hook, _TIMINGS)
    namespace = {"__name__": "__main__"}
    if payload.get("namespace"):
        import importlib

        namespace.update(vars(importlib.import_module(payload["namespace"])))
        namespace["__name__"] = "__main__"
    for stmt in payload.get("prelude", []):
        exec(stmt, namespace)
    for index, cell in enumerate(payload["cells"]):
        if cell.get("skipped"):
            _emit({"type": "cell", "cell": index, "status": "skipped", "reason": cell["skipped"]})
            continue
        _emit({"type": "start", "cell": index})
        _run_cell(index, cell, namespace)
