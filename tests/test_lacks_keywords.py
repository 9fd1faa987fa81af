"""A keyword a library's namespace does not take is a declared skip naming it, and the declaration is held to the truth.

The reductions' masked rows pass NumPy's and JAX's ``where=`` (torch and MLX take none), the cumulative rows the
standard's ``include_initial=`` (MLX's and autograd's shims take none).  A backend declares what its namespace
rejects (``Conventions.lacks_keywords``); the row's checks then skip with that reason
(:func:`conformance.battery.specs.functions.unavailable`), ``conventions_api`` fails a declaration the library does not bear
out, and a rejection nobody declared stays an error, where it shows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import array_api_compat.numpy as npx
import pytest

from backends.base import BUILTIN, load_backend
from backends.numpy_reference import NumpyReference
from conformance.battery.functions import FUNCTIONS_TABLE
from conformance.battery.specs import REGISTRY, Case, Ctx, Figures, Skip, cases, run_check
from tests.test_planted_faults import run_case

REF = NumpyReference()
MASKED_SUM = FUNCTIONS_TABLE["fn_sum_where"]


class _NoMasks:
    """array_api_compat.numpy whose ``sum`` rejects ``where=`` as torch's does (TypeError)."""

    def __getattr__(self, name: str) -> Any:
        found = getattr(npx, name)
        if name != "sum":
            return found

        def sum_(x: Any, /, **kwargs: Any) -> Any:
            if "where" in kwargs:
                raise TypeError("sum() got an unexpected keyword argument 'where'")
            return found(x, **kwargs)

        return sum_


def _backend(lacks: dict[str, str], masks: bool = True) -> NumpyReference:
    class Lib(NumpyReference):
        name = "masklib"
        library = "masklib"
        is_reference = False
        conventions = dataclasses.replace(NumpyReference.conventions, lacks_keywords=lacks)

        @property
        def xp(self) -> Any:
            return super().xp if masks else _NoMasks()

    return Lib()


DECLARED = {"sum(where=)": "masklib's sum takes no mask"}


@pytest.mark.parametrize("spec_id", [s for s in REGISTRY if s.startswith("fn_") and REGISTRY[s].applies(MASKED_SUM.entry)])
def test_a_declared_keyword_is_a_skip_naming_the_row_and_the_reason(spec_id: str) -> None:
    backend = _backend(DECLARED, masks=False)
    case = Case(REGISTRY[spec_id], backend.name, "float64", MASKED_SUM.entry)
    with pytest.raises(Skip, match=r"^masklib lacks sum \(where=mask\): masklib's sum takes no mask$"):
        run_check(Ctx(backend, REF, case, None, Figures()))


def test_an_undeclared_rejection_is_an_error_not_a_skip() -> None:
    backend = _backend({}, masks=False)
    status, message = run_case(Case(REGISTRY["fn_grad"], backend.name, "float64", MASKED_SUM.entry), backend, REF)
    assert status == "error" and "where" in message, (status, message)


def _conventions_api(backend: NumpyReference) -> tuple[str, str]:
    (case,) = cases(backend, [REGISTRY["conventions_api"]])
    return run_case(case, backend, REF)


def test_conventions_api_holds_the_declaration_to_the_library() -> None:
    assert _conventions_api(_backend(DECLARED, masks=False)) == ("pass", "")
    status, message = _conventions_api(_backend(DECLARED, masks=True))
    assert status == "fail" and "takes no sum(where=), but sum (where=mask) ran" in message, message
    status, message = _conventions_api(_backend({"sum(out=)": "no out"}, masks=False))
    assert status == "fail" and "no row of the function table passes" in message, message


def test_rows_declare_the_keywords_they_pass_beyond_the_standard() -> None:
    """Every masked row declares its where= (and max/min their initial=); every include_initial row its keyword."""
    keyed = {fn.entry.name: fn.keywords for fn in FUNCTIONS_TABLE.values() if fn.keywords}
    for name in ("sum", "prod", "mean", "std", "var", "max", "min"):
        assert f"{name}(where=)" in keyed[f"fn_{name}_where"]
    assert keyed["fn_max_where"] == ("max(where=)", "max(initial=)")
    assert keyed["fn_cumulative_sum_include_initial"] == ("cumulative_sum(include_initial=)",)
    assert FUNCTIONS_TABLE["fn_sum_keepdims"].keywords == (), "keepdims and axis are the standard's"


_IMPORTS = {"torch_autograd": "torch", "torch": "torch", "mlx": "mlx.core", "jax": "jax", "autograd": "autograd",
            "numpy": "numpy"}


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_shipped_declaration_names_a_row_keyword(name: str) -> None:
    pytest.importorskip(_IMPORTS[name])
    backend = load_backend(name)
    passed = {k for fn in FUNCTIONS_TABLE.values() for k in fn.keywords}
    assert set(backend.conventions.lacks_keywords) <= passed, sorted(set(backend.conventions.lacks_keywords) - passed)
