"""The ``names`` kind's sandboxed probe: each dotted name resolved in a fresh interpreter, one record back.

Why a sandbox, not the host: the names come from untrusted input, and resolving one imports modules (a submodule
the name reaches, ``torch.utils.tensorboard``) and runs library code (module ``__getattr__`` hooks, which is where
JAX and NumPy raise their deprecation warnings).  Restricting the host to ``importlib.import_module`` of known roots
would still import torch and jax into the checker (which never imports them: seconds of start-up and their global
state), and a library import is not side-effect free.  The project already runs API probes this way (the
docstring reader's probe, the article checker's ``evidence.PROBE``), so one probe per document runs in a fresh
sandboxed interpreter (:func:`conformance.claims.documents.execute.run_program`), with the installed roots pre-imported as
trusted libraries, and reports one record on the sandbox's report channel; the host checks every field of it.  It
is a fresh interpreter, not the document's session, so what a document does to a library (``torch.func.hessiani =
...``) cannot make its own names true.  Results are cached per name for the run (:class:`~.Context` ``cache``), so
documents that share names share the probe.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from conformance.claims.documents import execute
from conformance.claims.documents.kinds import Context

PROBE = r'''
import difflib, importlib, importlib.util, inspect, json, pkgutil, re, sys, warnings
names = json.loads(_payload)
WARNS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
seen_warnings = {}  # module -> deprecation warning its import raised (a later name through it sees it too)
def first_line(text):
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")[:500]
def public(obj):
    found = set()
    try:
        found.update(n for n in dir(obj) if not n.startswith("_"))
    except Exception:
        pass
    path = getattr(obj, "__path__", None) if inspect.ismodule(obj) else None
    if path is not None:
        try:
            found.update(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))
        except Exception:
            pass
    return sorted(found)
def deprecation(obj, name, caught, through):
    for w in caught:
        if issubclass(w.category, WARNS):
            return f"{w.category.__name__}: {first_line(w.message)}"
    for mod in through:
        if mod in seen_warnings:
            return seen_warnings[mod]
    try:
        mark = getattr(obj, "__deprecated__", None)
    except Exception:
        mark = None
    if isinstance(mark, str) and mark.strip():
        return f"__deprecated__: {first_line(mark)}"
    doc = None
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj):
        try:
            doc = inspect.getdoc(obj)
        except Exception:
            doc = None
    if isinstance(doc, str) and doc.strip():
        if "deprecated" in first_line(doc).lower():
            return f"docstring: {first_line(doc)}"
        flat = " ".join(doc.split())
        m = re.search(r"\.\. deprecated::\s*((?:[^.]|\.(?=\S))*\.?)", doc)
        if m:
            return f"docstring: deprecated {' '.join(m.group(1).split())}"[:500]
        m = re.search(r"(?:`*" + re.escape(name) + r"`*|[Tt]his (?:function|class|module|method|API|alias))"
                      r" (?:is|has been) deprecated(?:[^.]|\.(?=\S))*\.?(?:\s(?:[^.]|\.(?=\S)){0,200}?\binstead\b)?", flat)
        if m:
            return f"docstring: {m.group(0)}"[:500]
    mod = getattr(obj, "__module__", None)
    if isinstance(mod, str) and "deprecated" in mod.split("."):
        return f"defined in {mod}"
    return ""
def resolve(name):
    parts = name.split(".")
    through = [parts[0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = importlib.import_module(parts[0])
        except Exception as exc:
            return {"status": "error", "error": f"cannot import {parts[0]}: {type(exc).__name__}: {first_line(exc)}"}
        for i, part in enumerate(parts[1:], start=1):
            parent = ".".join(parts[:i])
            try:
                obj = getattr(obj, part)
                continue
            except AttributeError as exc:
                message = first_line(exc)
            except Exception as exc:
                return {"status": "error", "error": f"{parent}.{part} raised {type(exc).__name__}: {first_line(exc)}"}
            if inspect.ismodule(obj) and isinstance(getattr(obj, "__name__", None), str):
                sub = f"{obj.__name__}.{part}"
                try:
                    spec = importlib.util.find_spec(sub)
                except Exception:
                    spec = None
                if spec is not None:
                    before = len(caught)
                    try:
                        obj = importlib.import_module(sub)
                    except Exception as exc:
                        return {"status": "error", "error": f"{sub} exists but cannot be imported here: "
                                                            f"{type(exc).__name__}: {first_line(exc)}"}
                    for w in caught[before:]:
                        if issubclass(w.category, WARNS):
                            seen_warnings.setdefault(sub, f"{w.category.__name__}: {first_line(w.message)}")
                    through.append(sub)
                    continue
            return {"status": "missing", "parent": parent, "attr": part, "message": message,
                    "suggestions": difflib.get_close_matches(part, public(obj), n=3, cutoff=0.75)}
        mod = getattr(obj, "__module__", None)
        return {"status": "found", "type": type(obj).__name__, "module": mod if isinstance(mod, str) else None,
                "deprecated": deprecation(obj, name, caught, through)}
out = {}
for name in names:
    try:
        out[name] = resolve(name)
    except Exception as exc:
        out[name] = {"status": "error", "error": f"{type(exc).__name__}: {first_line(exc)}"}
versions = {}
for root in sorted({n.split(".")[0] for n in names}):
    mod = sys.modules.get(root)
    version = getattr(mod, "__version__", None) if mod is not None else None
    if isinstance(version, str):
        versions[root] = version
__report__({"type": "names", "names": out, "versions": versions})
'''

_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "found": {"type": str, "module": (str, type(None)), "deprecated": str},
    "missing": {"parent": str, "attr": str, "message": str, "suggestions": list},
    "error": {"error": str},
}


def _entry_ok(entry: Any) -> bool:
    if not isinstance(entry, dict) or entry.get("status") not in _FIELDS:
        return False
    fields = _FIELDS[entry["status"]]
    if set(entry) != {"status", *fields}:
        return False
    if not all(isinstance(entry[k], t) for k, t in fields.items()):
        return False
    return all(isinstance(s, str) for s in entry.get("suggestions", []))


def installed(root: str) -> bool:
    """Whether a top-level package is installed (a path search: nothing is imported)."""
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


def probe(names: list[str], *, timeout: float, cancel: Any = None) -> tuple[dict[str, dict[str, Any]],
                                                                              dict[str, str], str]:
    """Resolve ``names`` (each of an installed known root) in one sandboxed interpreter.

    Returns ({name: entry}, {root: version}, problem); ``problem`` is "" when the probe reported, else why not,
    and then no entry is returned: a record the host cannot accept counts for nothing.
    """
    if not names:
        return {}, {}, ""
    roots = sorted({n.split(".")[0] for n in names})
    code = f"_payload = {json.dumps(json.dumps(names))}\n" + PROBE
    outcome = execute.run_program(code, timeout=timeout, preimport=roots, records=("names",), cancel=cancel)
    if outcome.status == "protocol-violation":
        return {}, {}, f"the name probe's report is unreadable ({outcome.reason})"
    if not outcome.records:
        last = (outcome.stderr.strip().splitlines() or [outcome.reason or outcome.status])[-1]
        return {}, {}, f"the name probe did not report ({outcome.status}: {last[:300]})"
    record = outcome.records[0]
    got, versions = record.get("names"), record.get("versions")
    if not isinstance(got, dict) or not isinstance(versions, dict) or set(got) != set(names) \
            or not all(_entry_ok(e) for e in got.values()) \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        return {}, {}, "the name probe's report is unreadable (names or fields of the wrong type)"
    return got, versions, ""


def resolve(names: list[str], context: Context) -> tuple[dict[str, dict[str, Any]], dict[str, str], str]:
    """Entries for ``names``, from the context's cache where an earlier document resolved them."""
    with context.lock:
        cache = context.cache.setdefault("names", {})
        versions = context.cache.setdefault("names-versions", {})
        todo = [n for n in names if n not in cache]
    problem = ""
    if todo:
        got, new_versions, problem = probe(todo, timeout=context.timeout, cancel=context.cancel)
        with context.lock:
            cache.update(got)
            versions.update(new_versions)
    with context.lock:
        return {n: cache[n] for n in names if n in cache}, dict(versions), problem
