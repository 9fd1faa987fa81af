"""The sandbox's half of the article checker's API probe: which dotted names exist, with their parameters.

A real module run inside the sandbox (``evidence.probe_jobs`` writes the call): each name is imported as deep as a
module goes and walked by attribute; the outcome travels as one ``api-probe`` record on the report channel.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from conformance.dotted import resolve

RECORD = "api-probe"
"""The record type the outcome travels in."""


def look_up(name: str) -> dict[str, Any]:
    """``{"exists": True, "params": [...] | None, "module": ...}`` or ``{"exists": False, "error": ...}``."""
    try:
        obj = resolve(name)
    except ImportError:
        return {"exists": False, "error": "no importable module"}
    except AttributeError as exc:
        return {"exists": False, "error": f"AttributeError: {exc}"}
    try:
        params: list[str] | None = list(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        params = None
    return {"exists": True, "params": params, "module": getattr(obj, "__module__", None)}


def main(names: list[str], report: Callable[[dict[str, Any]], None]) -> None:
    versions = {lib: sys.modules[lib].__version__ for lib in ("torch", "jax", "numpy") if lib in sys.modules}
    report({"type": RECORD, "apis": {name: look_up(name) for name in names}, "versions": versions})
