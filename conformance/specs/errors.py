"""Documented error behaviour: misuse must raise, with the exception the library documents.

Each situation is looked up in the backend's declared ``Conventions.errors``.
Declared: the call must raise that exception (matched against the raised
exception's class hierarchy, by bare or qualified name) with a message matching
the declared pattern; returning a value instead is a swallowed error.
Undeclared: the check is skipped with what was observed, never counted as a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from backends.base import Backend
from conformance.catalog import get
from conformance.specs.core import CheckFailed, Ctx, Skip, spec

SITUATIONS: dict[str, tuple[str, str, Callable[[Backend], Any]]] = {}
"""situation -> (catalog entry, transform, the misuse as a call on a backend)."""


def _situation(name: str, entry: str, transform: str) -> Callable[[Callable[[Backend], Any]], Callable[[Backend], Any]]:
    def register(call: Callable[[Backend], Any]) -> Callable[[Backend], Any]:
        SITUATIONS[name] = (entry, transform, call)
        return call

    return register


@_situation("grad_int_input", "square", "grad")
def _grad_int(b: Backend) -> Any:
    return b.grad(get("square").bind(b.xp))(b.asarray(np.int64(3), "int64"))


@_situation("aux_not_tuple", "sin_sum", "grad")
def _aux_not_tuple(b: Backend) -> Any:
    return b.grad(get("sin_sum").bind(b.xp), has_aux=True)(b.asarray(np.ones(4), "float64"))


@_situation("vmap_data_dependent_if", "square_if_even", "vmap")
def _vmap_if(b: Backend) -> Any:
    return b.vmap(get("square_if_even").bind(b.xp))(b.asarray(np.array([1.0, 2.0, 3.0, 4.0]), "float64"))


@_situation("jvp_primals_not_tuple", "square", "jvp")
def _jvp_bare(b: Backend) -> Any:
    x = b.asarray(np.float64(2.0), "float64")
    return b.jvp(get("square").bind(b.xp), x, x)


@_situation("jvp_tangent_dict_order", "dict_input", "jvp")
def _jvp_dict_order(b: Backend) -> Any:
    """Tangents as a dict with the same keys as the primal but listed in the other order."""
    primal = {"b": b.asarray(np.zeros(3), "float64"), "w": b.asarray(np.ones(3), "float64")}
    tangent = {"w": b.asarray(np.ones(3), "float64"), "b": b.asarray(np.ones(3), "float64")}
    return b.jvp(get("dict_input").bind(b.xp), (primal,), (tangent,))


def _qualnames(exc: BaseException) -> set[str]:
    names = set()
    for cls in type(exc).__mro__:
        names.add(cls.__name__)
        names.add(f"{cls.__module__}.{cls.__qualname__}")
    return names


def _make(situation: str) -> None:
    entry, transform, call = SITUATIONS[situation]

    def check(ctx: Ctx) -> None:
        declared = ctx.backend.conventions.errors.get(situation)
        try:
            result = call(ctx.backend)
        except Exception as exc:  # the library's own exception is the evidence
            observed = f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ctx.figures.details["observed"] = observed
            if declared is None:
                raise Skip(f"{ctx.backend.name} declares no error for {situation}; observed {observed}") from None
            if declared.exception not in _qualnames(exc):
                raise CheckFailed(f"{situation} [{ctx.backend.name}]: raised {observed}, declared {declared.exception}") from None
            if declared.message and not re.search(declared.message, str(exc)):
                raise CheckFailed(
                    f"{situation} [{ctx.backend.name}]: {declared.exception} message does not match "
                    f"{declared.message!r}: {str(exc)[:300]!r}"
                ) from None
            ctx.figures.details["declared"] = declared.exception
            return
        ctx.figures.details["observed"] = f"returned {type(result).__name__}"
        if declared is not None:
            raise CheckFailed(
                f"{situation} [{ctx.backend.name}]: expected {declared.exception} (documented at {declared.doc or 'n/a'}), "
                f"but the call returned a {type(result).__name__}: the error was swallowed"
            )
        raise Skip(f"{ctx.backend.name} declares no error for {situation} and raised none (observed a result)")

    check.__doc__ = f"Misuse '{situation}' raises the exception the library documents for {transform}."
    spec(f"error_{situation}", transform, applies=lambda e: e.name == entry, dtypes=("float64",),
         uses_reference=False, random_inputs=False)(check)


for _name in list(SITUATIONS):
    _make(_name)
