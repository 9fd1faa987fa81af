"""Documented error behaviour: misuse must raise, with the exception the library documents.

Each situation is looked up in the backend's declared ``Conventions.errors``.
Declared: the call must raise that exception (matched against the raised
exception's class hierarchy, by bare or qualified name) with a message matching
the declared pattern; returning a value instead is a swallowed error.
Declared valid usage (``Conventions.accepts``, e.g. jax matching dict tangents
by key): the call must return a result.
Undeclared: an exception is recorded and the check skipped (the library did
refuse, just undocumented); a returned result is a failure, since the library
silently accepted a misuse (MLX returns an integer "gradient" for an integer
input).  ``Unsupported`` from the adapter (the situation cannot arise: no vmap,
no tuple form of jvp) is a skip like everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from backends.base import Backend, Unsupported
from conformance.battery.catalog import get
from conformance.battery.specs.core import CheckFailed, Ctx, Skip, spec

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
        accepted = ctx.backend.conventions.accepts.get(situation)
        try:
            result = call(ctx.backend)
        except Unsupported:
            raise
        except Exception as exc:  # the library's own exception is the evidence
            observed = f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ctx.figures.details["observed"] = observed
            if ctx.backend.conventions.missing_feature(exc, ctx.case.test_id) is not None:
                raise  # a feature the library lacks on this path, declared: run_check makes it the declared skip
            if accepted is not None:
                raise CheckFailed(
                    f"{situation} [{ctx.backend.name}] is declared valid usage ({accepted}) but raised {observed}"
                ) from None
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
        if accepted is not None:
            ctx.figures.details["declared"] = f"valid usage: {accepted}"
            return
        raise CheckFailed(
            f"{situation} [{ctx.backend.name}]: the misuse was silently accepted (the call returned a "
            f"{type(result).__name__}); declare the library's documented behaviour in conventions.errors or "
            f"conventions.accepts, or record the deviation in the backend's manifest"
        )

    check.__doc__ = f"Misuse '{situation}' raises the exception the library documents for {transform}."
    spec(f"error_{situation}", transform, applies=lambda e: e.name == entry, dtypes=("float64",),
         uses_reference=False, random_inputs=False)(check)


for _name in list(SITUATIONS):
    _make(_name)
