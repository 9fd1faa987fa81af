"""The namespace contract: every array-API name the battery calls on a backend's ``xp``, and who calls it.

An adapter for a library without array-api-compat builds its namespace (``backends/namespace.py``); this says
what that namespace must offer.  A name it lacks is not an error: the checks using it skip with
"<library> lacks <name>" (``python -m conformance namespace --backend NAME`` lists them before a run).

The list is measured, not written down: each catalog entry's function (and its branches and predicate) runs once on
a namespace that records every attribute path asked of it, the function table adds each row's declared names,
and the specs' own source adds the names they call on ``xp`` outside the entries (the weighted sum, stacking).
Only names are recorded; how a function is called (its keywords) is the function table's ``keywords``, which a
backend declares it lacks through ``Conventions.lacks_keywords``.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import array_api_compat.numpy as np_xp
import numpy as np

SPECS_DIR = Path(__file__).parent / "specs"
_EXTENSIONS = ("linalg", "fft")
"""The standard's extension namespaces: the names in them are recorded by path (``linalg.solve``, ``fft.fft``)."""
_XP_NAME = re.compile(r"\bxp\.([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)")


class _Recorder:
    """``array_api_compat.numpy`` that records each getattr path asked of it (``linalg.solve``)."""

    def __init__(self, target: Any, seen: set[str], prefix: str = "") -> None:
        self._target, self._seen, self._prefix = target, seen, prefix

    def __getattr__(self, name: str) -> Any:
        path = self._prefix + name
        value = getattr(self._target, name)
        if path != "__name__" and not name.startswith("__"):
            self._seen.add(path)
        return _Recorder(value, self._seen, path + ".") if path in _EXTENSIONS else value


def _sample(arg: Any) -> Any:
    """A value inside ``arg``'s domain of its shape and kind (the domain's midpoint, plus the diagonal boost)."""
    value = np.full(arg.shape, (arg.low + arg.high) / 2 + 0.1 * (arg.high - arg.low) / 2)
    if arg.diag_boost:
        value = value + arg.diag_boost * np.eye(arg.shape[-1])
    if arg.kind == "pair":
        return (value, value * 0.5)
    if arg.kind == "dict":
        first, second = arg.keys
        return {first: value, second: value * 0.5}
    return value


@functools.cache
def contract() -> dict[str, tuple[str, ...]]:
    """Each name the battery calls on ``xp`` -> the catalog entries (or ``spec:<file>``) that call it."""
    from conformance.battery.catalog import CATALOG
    from conformance.battery.functions import FUNCTIONS_TABLE, INFRASTRUCTURE

    users: dict[str, set[str]] = defaultdict(set)
    for entry in CATALOG:
        seen: set[str] = set()
        xp = _Recorder(np_xp, seen)
        args = [_sample(a) for a in entry.args]
        for fn in (entry.fn, *(entry.branches or ()), *((entry.predicate,) if entry.predicate else ())):
            try:
                fn(xp, *args)
            except Exception:  # an entry that needs other inputs still recorded the names it reached
                pass
        for name in seen:
            users[name].add(entry.name)
    for fn_row in FUNCTIONS_TABLE.values():
        for name in (*fn_row.uses, *INFRASTRUCTURE):
            users[name].add(fn_row.entry.name)
    for path in sorted(SPECS_DIR.glob("*.py")):
        for name in _XP_NAME.findall(path.read_text()):
            if not name.startswith("__"):
                users[name].add(f"spec:{path.stem}")
    return {name: tuple(sorted(who)) for name, who in sorted(users.items())}


def lacking(xp: Any) -> dict[str, tuple[str, ...]]:
    """The contract's names that namespace ``xp`` lacks -> who uses them (the checks that will skip)."""
    from conformance.battery.functions import missing_names

    names = contract()
    return {name: names[name] for name in missing_names(xp, tuple(names)) if name in names}


def _same(obj: Any, space: Any) -> bool:
    """``obj`` is namespace ``space``, or a namespace object made the same way (an adapter's ``xp`` property may
    build its namespace anew on each access)."""
    return obj is space or (type(obj) is type(space) and not isinstance(obj, ModuleType)
                            and getattr(obj, "__name__", None) == getattr(space, "__name__", None) is not None)


def lacked_name(xp: Any, exc: BaseException) -> str | None:
    """The contract's name (``take``, ``linalg.solve``) whose lookup on namespace ``xp`` raised ``exc``, where
    ``xp`` really lacks it; None for every other exception.

    What makes the checks using a name the namespace lacks skip (the module docstring's promise) wherever the
    name is reached, not only in the function table's rows, which look their names up before they run.
    Narrow on purpose: the AttributeError must name the attribute and the namespace (or its ``linalg`` /
    ``fft``) it was asked of (Python sets both for a module or an object; :class:`backends.namespace.
    MappedNamespace` sets them), the name must be one the battery calls, and the namespace must lack it when
    asked again, so a library's own AttributeError, raised inside one of its functions, stays an error.
    """
    from backends.aliases import names_of, resolve
    from conformance.battery.functions import missing_names

    name, obj = getattr(exc, "name", None), getattr(exc, "obj", None)
    if not isinstance(exc, AttributeError) or not name or obj is None:
        return None
    spaces = {"": xp, **{f"{e}.": getattr(xp, e, None) for e in _EXTENSIONS}}
    path = next((prefix + name for prefix, space in spaces.items() if space is not None and _same(obj, space)), None)
    if path is None or path not in contract() or path not in missing_names(xp, (path,)):
        return None
    head, _, last = path.rpartition(".")
    if any(resolve(xp, f"{head}.{alias}" if head else alias) is not None for alias in names_of(last)):
        return None  # exported under another name of the alias table: a mapping the adapter forgot, an error
    return path


def rejected_keyword(backend: Any, fn_row: Any, dtype: str = "float64") -> str | None:
    """The first line of the TypeError that function row ``fn_row`` raises on ``backend`` (Python's answer to a
    keyword its function does not take, ``sum(where=)``), or None where the row runs.

    Inputs spread over each argument's domain (``np.linspace``), native arrays of ``dtype``.  Shared by
    ``conventions_api`` (each declared ``lacks_keywords`` must be rejected) and ``namespace --backend`` (each
    undeclared keyword that is rejected is listed, to declare before a run)."""
    args = [backend.asarray(np.linspace(a.low, a.high, int(np.prod(a.shape, dtype=int))).reshape(a.shape), dtype)
            for a in fn_row.entry.args]
    try:
        fn_row.entry.fn(backend.xp, *args)
    except TypeError as exc:
        return (str(exc).strip().splitlines() or [""])[0][:120]
    return None


def undeclared_rejected_keywords(backend: Any) -> dict[str, str]:
    """The function table's keywords (``sum(where=)``) that ``backend``'s namespace rejects and its conventions do
    not declare (``Conventions.lacks_keywords``) -> the library's message: rows that will error until declared."""
    from conformance.battery.functions import FUNCTIONS_TABLE

    declared = backend.conventions.lacks_keywords
    found: dict[str, str] = {}
    for fn_row in FUNCTIONS_TABLE.values():
        for key in fn_row.keywords:
            if key in declared or key in found:
                continue
            try:
                message = rejected_keyword(backend, fn_row)
            except Exception:  # another failure of the row: not a keyword the namespace rejects
                continue
            keyword = key.partition("(")[2].rstrip("=)")
            if message is not None and (keyword in message or len(fn_row.keywords) == 1):
                found[key] = f"{fn_row.name}: {message}"  # a row of two keywords: the one its message names
    return found
