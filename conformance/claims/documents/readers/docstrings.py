"""Docstrings of an installed module's APIs: ``module:torch.func``, ``module:jax:grad,vmap``, ``module:NAME:*``.

``module:NAME`` alone selects the transform APIs listed in ``TRANSFORM_APIS`` for the modules this project
checks, and every public callable for any other module; ``module:NAME:a,b`` selects those names (dotted names
such as ``lax.scan`` are looked up from ``NAME``); ``:*`` selects every public callable.  Each API is one
document: its ``>>>`` examples (doctest's parser) and its ``Example::`` literal blocks without prompts.

The docstrings are read by a trusted probe in a fresh interpreter (``execute.run_program``), so the checker
itself never imports torch or jax; line numbers point into the installed source file, and the library version
is recorded, since the docstrings change between releases.  The probe sends what it found as one record on the
sandbox's report channel (what the module prints on import is only data), and every field is checked here.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import textwrap
from typing import Any

from conformance.claims.documents import execute
from conformance.claims.documents.cells import doctest_cells, python_cell
from conformance.claims.documents.model import Cell, Document
from conformance.claims.documents.registry import DocumentError, reader

TRANSFORM_APIS = {
    "torch.func": ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "functional_call"),
    "jax": ("grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "hessian", "vmap", "lax.scan", "lax.cond"),
}

PROBE = r'''
import importlib, inspect, json, sys
mod_name, names = json.loads(_payload)
mod = importlib.import_module(mod_name)
if names == ["*"]:
    names = [n for n in getattr(mod, "__all__", dir(mod)) if not n.startswith("_") and callable(getattr(mod, n, None))]
root = mod_name.split(".")[0]
out = {"version": str(getattr(sys.modules[root], "__version__", "")), "apis": []}
for name in names:
    obj = mod
    try:
        for part in name.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        out["apis"].append({"name": name, "error": f"{mod_name} has no attribute {name!r}"})
        continue
    target = inspect.unwrap(obj)
    doc = inspect.getdoc(obj) or ""
    raw = obj.__doc__ or ""
    try:
        file = inspect.getsourcefile(target) or ""
        lines, start = inspect.getsourcelines(target)
    except (TypeError, OSError):
        file, lines, start = "", [], 0
    out["apis"].append({"name": name, "doc": raw, "file": file, "start": start, "source": "".join(lines)})
__report__({"type": "probe", **out})
'''


def _docstring_line(api: dict[str, object]) -> int:
    """The file line of the docstring's first line (the definition's line when the text is not found)."""
    raw, source, start = str(api.get("doc", "")), str(api.get("source", "")), int(api.get("start") or 0)
    raw_lines = raw.splitlines()
    k = next((i for i, ln in enumerate(raw_lines) if ln.strip()), None)
    if k is None:
        return start or 1
    first = raw_lines[k].strip()
    for n, line in enumerate(source.splitlines()):
        if first in line:
            return start + n - k
    return start or 1


_LITERAL_INTRO = re.compile(r"^\s*(?:Examples?|Usage)\s*::\s*$", re.IGNORECASE)


def example_blocks(raw: str, first_line: int) -> list[Cell]:
    """``Example::`` blocks whose indented code has no prompts and compiles: run as plain code cells."""
    lines = raw.splitlines()
    cells: list[Cell] = []
    i = 0
    while i < len(lines):
        if _LITERAL_INTRO.match(lines[i]):
            indent = len(lines[i]) - len(lines[i].lstrip())
            j = i + 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
                block.append(lines[j])
                j += 1
            text = "\n".join(block)
            if text.strip() and ">>>" not in text:
                code = textwrap.dedent(text).strip("\n") + "\n"
                try:
                    ast.parse(code)
                except SyntaxError:
                    code = ""
                if code:
                    offset = next(k for k, ln in enumerate(block) if ln.strip())
                    cells.append(python_cell(code, first_line + i + 1 + offset, label=f"Example:: at line "
                                             f"{first_line + i + 1 + offset}"))
            i = j
        else:
            i += 1
    return cells


@reader(scheme="module")
def read_module(spec: str) -> list[Document]:
    module, _, names_text = spec.partition(":")
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module or ""):
        raise DocumentError(f"module:{spec}: not a module name (write module:torch.func or module:jax:grad,vmap)")
    names = [n.strip() for n in names_text.split(",") if n.strip()] if names_text else \
        list(TRANSFORM_APIS.get(module, ("*",)))
    code = f"_payload = {json.dumps(json.dumps([module, names]))}\n" + PROBE
    outcome = execute.run_program(code, timeout=120.0, preimport=(module,), records=("probe",))
    if outcome.status == "protocol-violation":
        raise DocumentError(f"module:{spec}: the docstring probe's report is unreadable ({outcome.reason})")
    if not outcome.records:
        last = (outcome.stderr.strip().splitlines() or [outcome.reason])[-1]
        raise DocumentError(f"module:{spec}: cannot import {module!r}: {last} (is it installed in this environment?)")
    found = outcome.records[0]
    if not _probe_ok(found):
        raise DocumentError(f"module:{spec}: the docstring probe's report is unreadable (fields of the wrong type)")
    docs = []
    for api in found["apis"]:
        if "error" in api:
            raise DocumentError(f"module:{spec}: {api['error']} (check the name)")
        line = _docstring_line(api)
        raw = str(api["doc"])
        cells = doctest_cells(raw, line, label_prefix="example") + example_blocks(raw, line)
        cells.sort(key=lambda c: c.line)
        target = f"module:{module}:{api['name']}"
        docs.append(Document(source=target, kind="docstring", cells=cells, title=f"{module}.{api['name']}",
                             file=str(api["file"]), namespace=module,
                             libraries={module.split(".")[0]: found["version"]},
                             reproducer=shlex.join(["python", "-m", "conformance", "check-doc", target])))
    return docs


def _probe_ok(found: dict[str, Any]) -> bool:
    """The probe's record has the fields ``read_module`` reads, each of its type."""
    apis = found.get("apis")
    if not isinstance(found.get("version"), str) or not isinstance(apis, list):
        return False
    fields = {"name": str, "doc": str, "file": str, "start": int, "source": str}
    return all(isinstance(api, dict) and isinstance(api.get("name"), str) and (
        isinstance(api.get("error"), str) or all(isinstance(api.get(k), t) for k, t in fields.items()))
        for api in apis)
