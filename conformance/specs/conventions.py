"""The declared public API names are real: they resolve, are public, and take the declared keywords.

The layouts and error declarations are verified by running the transforms
(``grad.py``, ``has_aux.py``, ``errors.py``); this spec verifies the names the
report prints beside them, so a declaration cannot drift from the library.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import numpy as np

from backends.base import Unsupported
from conformance.specs.core import CheckFailed, Ctx, spec

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def resolve(dotted: str) -> Any:
    """Import the longest module prefix of ``dotted`` and walk the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@spec("conventions_api", "conventions", applies=lambda e: e.name == "square", dtypes=("float64",),
      uses_reference=False, random_inputs=False)
def conventions_api(ctx: Ctx) -> None:
    """Every declared API name resolves to a public callable; vmap takes the declared axis keywords;
    a backend that declares no scan raises Unsupported, one that declares a scan runs it."""
    conv = ctx.backend.conventions
    resolved = {}
    for field in ("grad_and_value_api", "vmap_api", "scan_api", "cond_api"):
        name = getattr(conv, field)
        if not _DOTTED.match(name):
            continue  # empty, or prose such as "python loop" for the reference
        if any(part.startswith("_") for part in name.split(".")):
            raise CheckFailed(f"{field} = {name!r} [{ctx.backend.name}] names a private API")
        try:
            obj = resolve(name)
        except (ImportError, AttributeError) as exc:
            raise CheckFailed(f"{field} = {name!r} [{ctx.backend.name}] does not exist in the installed library: {exc}") from None
        if not callable(obj):
            raise CheckFailed(f"{field} = {name!r} [{ctx.backend.name}] is not callable")
        resolved[field] = obj
    ctx.figures.details["resolved"] = sorted(resolved)
    if "vmap_api" in resolved:
        params = inspect.signature(resolved["vmap_api"]).parameters
        missing = [k for k in conv.batch_keyword if k not in params]
        if missing:
            raise CheckFailed(f"{conv.vmap_api} [{ctx.backend.name}] has no keyword(s) {missing}; declared {conv.batch_keyword}")
    b = ctx.backend
    init, xs = b.asarray(np.zeros(2), "float64"), b.asarray(np.ones((3, 2)), "float64")
    try:
        b.scan(lambda c, x: (c + x, c), init, xs)
        has_scan = True
    except Unsupported as exc:
        has_scan, ctx.figures.details["scan"] = False, str(exc)
    if has_scan != bool(conv.scan_api):
        raise CheckFailed(
            f"[{b.name}] declares scan_api={conv.scan_api!r} but its scan {'runs' if has_scan else 'is unsupported'}"
        )
