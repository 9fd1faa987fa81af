"""Run one document in one sandboxed session and collect what each cell did.

The document's cells become one program (``harness.py`` plus the cells as data); the sandbox runs it with a
per-document timeout.  Cells that reported before a timeout or crash keep their records; the cell in flight is
``timeout`` (or ``killed``); the rest are ``not run``.  So one hostile document costs only itself.

The harness's records come back over the sandbox's report channel and are checked, all of them, by
``protocol.accept`` before anything is judged: a session whose records the host cannot accept has the outcome
``protocol-violation`` (the reason names the record), and none of its records count.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import threading
from pathlib import Path
from typing import Any

from conformance.claims.documents import execute, oracle, protocol
from conformance.claims.documents.model import Document

HARNESS = Path(__file__).with_name("harness.py")
LIBRARIES = ("torch", "jax", "mlx", "autograd")
"""The libraries whose transforms the harness intercepts (``inside.libraries`` has one installer each)."""
PREIMPORT = {"torch": ("torch", "torch.func", "torch.autograd.functional"), "jax": ("jax", "jax.numpy"),
             "mlx": ("mlx.core",), "autograd": ("autograd", "autograd.numpy")}
DEFAULT_TIMEOUT = 120.0
INSIDE = tuple(f"conformance.claims.documents.inside.{name}" for name in (
    "output", "ledger", "devices", "trees", "probe", "batching", "intercept", "libraries", "peek", "timing"))
"""The harness's sandbox-side helpers: imported before the audit hook, like the libraries."""
_IMPORT = re.compile(r"^\s*(?:import|from)\s+(torch|jax)\b", re.MULTILINE)


def imports_of(source: str) -> set[str]:
    """Top-level package names a piece of code imports (a regex fallback where it does not parse)."""
    found: set[str] = set()
    try:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
    except SyntaxError:
        found.update(_IMPORT.findall(source))
    return found


def libraries_of(doc: Document) -> list[str]:
    """The libraries the document's cells import, in a fixed order: these get preimported and intercepted."""
    found = {doc.namespace.split(".")[0]} if doc.namespace else set()
    for cell in doc.cells:
        found |= imports_of(cell.code)
    if "functorch" in found:  # torch's transforms under their pre-2.0 names
        found.add("torch")
    return [lib for lib in LIBRARIES if lib in found]


def cell_targets(doc: Document) -> list[list[str]]:
    """Which library each cell targets: the ones it imports, else those the cells before it imported."""
    seen: list[str] = [doc.namespace.split(".")[0]] if doc.namespace else []
    targets = []
    for cell in doc.cells:
        own = [lib for lib in LIBRARIES if lib in imports_of(cell.code)]
        seen = [*seen, *(lib for lib in own if lib not in seen)]
        used = [lib for lib in seen if re.search(rf"\b{lib}\b|\bjnp\b" if lib == "jax" else rf"\b{lib}\b",
                                                 cell.code)]
        targets.append(own or used or [lib for lib in seen if lib in LIBRARIES])
    return targets


def program(doc: Document, libraries: list[str], device_map: dict[str, str] | None = None,
            probes: dict[int, list[str]] | None = None) -> str:
    """The harness followed by this document's payload: the text the sandbox runs.  ``probes`` are expressions to
    evaluate after a cell (by its index; ``inside.peek``) for the claim kinds that asked for them."""
    payload = {
        "libraries": libraries,
        "device_map": dict(device_map or {}),
        "namespace": doc.namespace,
        "prelude": [f"import {lib}" for lib in libraries] + (["import jax.numpy as jnp"] if "jax" in libraries else []),
        "cells": [
            {"source": c.code, "display": c.display, "skipped": c.skipped,
             "statement_lines": [e.statement_line for e in c.expected if e.scope == "line"],
             "probes": list((probes or {}).get(i, []))}
            for i, c in enumerate(doc.cells)
        ],
    }
    return HARNESS.read_text(encoding="utf-8") + f"\nmain(json.loads({json.dumps(payload)!r}))\n"


@dataclasses.dataclass
class SessionResult:
    """Per-cell records (``None`` where a cell never reported), derivative records, and the session's fate."""

    status: str
    reason: str
    duration_s: float
    cells: list[dict[str, Any] | None]
    derivatives: list[dict[str, Any]]
    versions: dict[str, str]
    setup_errors: list[str]
    in_flight: int | None
    stderr_tail: str = ""


def run_document(doc: Document, *, timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None,
                 device_map: dict[str, str] | None = None, probes: dict[int, list[str]] | None = None) -> SessionResult:
    """Run every cell of ``doc`` in order in one sandboxed session (``cancel`` set: killed at once), the devices
    its cells name mapped by ``device_map`` (``{"cuda": "cpu"}``: ``inside.devices``)."""
    libraries = libraries_of(doc)
    preimport = ["numpy", *(m for lib in libraries for m in PREIMPORT[lib]), *INSIDE]
    if "torch" in libraries and any("functorch" in imports_of(c.code) for c in doc.cells):
        preimport.insert(-len(INSIDE), "functorch")  # before the harness, so its transforms are intercepted
    if doc.namespace:
        preimport.append(doc.namespace)
    outcome = execute.run_program(program(doc, libraries, device_map, probes), timeout=timeout, preimport=preimport,
                                  records=protocol.TYPES, cancel=cancel, host=oracle.Oracle())
    status, reason = outcome.status, outcome.reason
    skipped = [bool(c.skipped) for c in doc.cells]
    try:
        if status == "protocol-violation":
            raise protocol.Violation(reason)
        ev = protocol.accept(outcome.records, skipped=skipped, libraries=libraries,
                             finished=status == "ok")
    except protocol.Violation as exc:
        status, reason = "protocol-violation", f"the session sent a record the host cannot accept: {exc}"
        ev = protocol.Evidence.empty(len(doc.cells))
    return SessionResult(status, reason, outcome.duration_s, ev.cells, ev.derivatives, ev.versions, ev.setup_errors,
                         ev.in_flight, outcome.stderr[-2000:])
