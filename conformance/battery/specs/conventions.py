"""The declared public API names are real: they resolve, are public, and take the declared keywords.

The layouts and error declarations are verified by running the transforms
(``grad.py``, ``has_aux.py``, ``errors.py``); this spec verifies the names the
report prints beside them, so a declaration cannot drift from the library.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np

from backends.base import Unsupported
from conformance.battery.functions import FUNCTIONS_TABLE
from conformance.battery.namespace_contract import rejected_keyword
from conformance.battery.specs.core import CheckFailed, Ctx, spec
from conformance.dotted import resolve

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def _missing_keywords(fn: Any, keywords: tuple[str, ...]) -> tuple[list[str], str]:
    """The declared keywords ``fn`` lacks, and how that was found out.

    C-extension callables (nanobind's ``mlx.core.vmap``) have no introspectable signature:
    ``inspect.signature`` raises ValueError.  Then each keyword is passed, alone, in a call on a
    trivial function; only a TypeError naming that keyword counts as "missing" (the library may
    reject the trivial function for other reasons, which says nothing about the keyword).
    """
    try:
        params = inspect.signature(fn).parameters
    except (ValueError, TypeError):
        missing = []
        for kw in keywords:
            try:
                fn(lambda x: x, **{kw: 0})
            except TypeError as exc:
                if kw in str(exc) or "keyword" in str(exc):
                    missing.append(kw)
            except Exception:  # any other complaint is about the trivial call, not the keyword
                pass
        return missing, "calling it with each keyword (no introspectable signature)"
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return [], "signature (takes **kwargs)"
    return [k for k in keywords if k not in params], "signature"


@spec("conventions_api", "conventions", applies=lambda e: e.name == "square", dtypes=("float64",),
      uses_reference=False, random_inputs=False)
def conventions_api(ctx: Ctx) -> None:
    """Every declared API name resolves to a public callable; vmap takes the declared axis keywords;
    a backend that declares no scan raises Unsupported, one that declares a scan runs it; every declared
    unsupported transform refuses and every keyword declared lacking is rejected."""
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
    if "vmap_api" in resolved and any(conv.batch_keyword):
        # A vmap without axis keywords (tf.vectorized_map maps axis 0 of everything) declares ("", "").
        missing = _missing_keywords(resolved["vmap_api"], tuple(k for k in conv.batch_keyword if k))
        ctx.figures.details["vmap_keywords_checked_by"] = missing[1]
        if missing[0]:
            raise CheckFailed(
                f"{conv.vmap_api} [{ctx.backend.name}] has no keyword(s) {missing[0]}; declared {conv.batch_keyword}"
            )
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
    _declared_unsupported_refuse(ctx)


def _probes(b: Any) -> dict[str, Any]:
    """A minimal call of each transform, for checking that a declared-unsupported one refuses."""
    x = b.asarray(np.ones(2), "float64")

    def f(v: Any) -> Any:
        return b.xp.sum(v * v)

    return {
        "grad": lambda: b.grad(f)(x),
        "grad_and_value": lambda: b.grad_and_value(f)(x),
        "vjp": lambda: b.vjp(f, x),
        "jvp": lambda: b.jvp(f, (x,), (x,)),
        "jacrev": lambda: b.jacrev(f)(x),
        "jacfwd": lambda: b.jacfwd(f)(x),
        "hessian": lambda: b.hessian(f)(x),
        "vmap": lambda: b.vmap(f)(b.asarray(np.ones((3, 2)), "float64")),
        "cond": lambda: b.cond(b.xp.asarray(True), f, f, (x,)),
        "jit": lambda: b.jit(lambda: f(x)),
    }


def _declared_unsupported_refuse(ctx: Ctx) -> None:
    """Every transform in ``conventions.unsupported`` raises Unsupported: a declaration cannot hide a working one."""
    b = ctx.backend
    probes = _probes(b)
    refused = {}
    for transform in b.conventions.unsupported:
        if transform not in probes:
            continue  # scan is checked above; feature keys such as "jacrev.argnums_tuple" are checked where used
        try:
            probes[transform]()
        except Unsupported as exc:
            refused[transform] = str(exc)
            continue
        raise CheckFailed(f"[{b.name}] declares {transform} unsupported, but {transform} ran")
    ctx.figures.details["declared_unsupported"] = refused
    _declared_lacking_keywords_rejected(ctx)


def _declared_lacking_keywords_rejected(ctx: Ctx) -> None:
    """Every keyword in ``conventions.lacks_keywords`` is one a row of the function table passes, and each such row
    raises TypeError (Python's answer to a keyword a function does not take) on this backend: the declaration, which
    turns the row's checks into skips, cannot hide a keyword the library takes, nor another error."""
    b = ctx.backend
    rejected = {}
    for key in b.conventions.lacks_keywords:
        rows = [fn for fn in FUNCTIONS_TABLE.values() if key in fn.keywords]
        if not rows:
            raise CheckFailed(f"[{b.name}] declares lacks_keywords {key!r}, which no row of the function table passes")
        for fn in rows:
            message = rejected_keyword(b, fn, ctx.dtype)
            if message is None:
                raise CheckFailed(f"[{b.name}] declares that its namespace takes no {key}, but {fn.name} ran")
            rejected[fn.entry.name] = message
    ctx.figures.details["declared_lacking_keywords"] = rejected
