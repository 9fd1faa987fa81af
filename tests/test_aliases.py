"""A missing mapping in our adapter never reads as a function missing from the library; every alias is checked.

Skips of the standard-function family say "<library> lacks <function>: ... has no <names>"
(:func:`conformance.battery.specs.functions.unavailable`, the one place that writes it).  Each such reason is wrong
when the library exports the function under any name of the alias table (``backends/aliases.py``): that is
a mapping the adapter forgot, and the function's checks were skipped for nothing.  The other half: every
alias a library exports is a row of its own, so a fault planted in one name only is caught by the gate.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from backends.aliases import ALIASES, NOT_ALIASES, names_of, resolve, standard_fallback
from backends.base import BUILTIN, Backend, load_backend
from backends.numpy_reference import NumpyReference
from conformance.battery.functions import FUNCTIONS, FUNCTIONS_TABLE, Function
from conformance.battery.specs.functions import unavailable

ROOT = Path(__file__).resolve().parents[1]

PUBLIC: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy", "numpy.linalg"),
    "torch": ("torch", "torch.linalg", "torch.special"),
    "jax": ("jax.numpy", "jax.numpy.linalg", "jax.scipy.special"),
    "mlx": ("mlx.core", "mlx.core.linalg"),
    "autograd": ("autograd.numpy", "autograd.numpy.linalg", "autograd.scipy.special"),
}
"""Where each library exports its functions (by distribution name, Backend.library): searched for every name
the battery reports missing."""

LACKS = re.compile(r"^(?P<lib>\S+) lacks (?P<function>.+?): .* has no (?P<names>.+)$")
EXPORTS_NO = re.compile(r"^(?P<lib>\S+) exports no (?P<names>.+?) \(another name of ")


def exported(library: str, name: str, aliases: bool = True) -> list[str]:
    """The public callables of ``library`` that are the function ``name`` names, under any name of the table
    (``linalg.solve`` is also looked up as ``solve`` in each module: torch.linalg holds it as such); with
    ``aliases=False`` under exactly that path (an alias row asks for one name, not for the function)."""
    found = set()
    for module_name in PUBLIC[library]:
        module = importlib.import_module(module_name)
        for candidate in names_of(name) if aliases else (name,):
            if (library, candidate) in NOT_ALIASES:
                continue
            for path in {candidate, candidate.rsplit(".", 1)[-1]} if aliases else {candidate}:
                obj = resolve(module, path)
                if callable(obj):
                    found.add(f"{module_name}.{path}")
    return sorted(found)


def forgotten(backend: Backend, rows: list[Function]) -> list[str]:
    """Skip reasons of ``rows`` on ``backend`` that blame the library for a name it does export."""
    problems = []
    for fn in rows:
        reason = unavailable(backend, fn) or ""
        if (m := LACKS.match(reason)) or (m := EXPORTS_NO.match(reason)):
            for name in m["names"].split(", "):
                hits = exported(backend.library, name, aliases=not fn.alias_of)
                if hits:
                    problems.append(f"{fn.entry.name}: '{reason}', but {backend.library} exports {', '.join(hits)}")
    return problems


_IMPORTS = {"torch_autograd": "torch", "torch": "torch", "mlx": "mlx.core", "jax": "jax", "autograd": "autograd",
            "numpy": "numpy"}


def _installed(name: str) -> Backend:
    pytest.importorskip(_IMPORTS[name])
    return load_backend(name)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_no_skip_blames_the_library_for_a_name_it_exports(name: str) -> None:
    backend = _installed(name)
    assert backend.library in PUBLIC, f"add {backend.library}'s public modules to PUBLIC"
    problems = forgotten(backend, list(FUNCTIONS_TABLE.values()))
    assert not problems, "\n".join(problems)


class _HidesPow:
    """array_api_compat.numpy without ``pow``: the mapping an adapter might forget (NumPy exports ``power``)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name == "pow":
            raise AttributeError(name)
        return getattr(self._target, name)


class _ForgotPow(NumpyReference):
    name = "forgot-pow"
    is_reference = False

    @property
    def xp(self) -> Any:
        return _HidesPow(super().xp)


def test_a_forgotten_mapping_is_found() -> None:
    problems = forgotten(_ForgotPow(), [FUNCTIONS_TABLE["fn_pow"]])
    assert len(problems) == 1 and "numpy.power" in problems[0], problems


def test_shim_namespaces_resolve_a_standard_name_through_its_aliases() -> None:
    """An MLX (or autograd) without ``pow`` but with ``power`` runs the pow rows: the fallback the shims use."""

    class OldMlx:
        def power(self, a: Any, b: Any) -> Any:
            return a**b

    lib = OldMlx()
    assert standard_fallback(lib, "pow")(2.0, 3.0) == 8.0
    with pytest.raises(AttributeError):
        standard_fallback(lib, "hypot")
    assert standard_fallback(type("T", (), {"transpose": staticmethod(lambda x, p: "swap")})(), "permute_dims",
                             "numpy")(0, 0) == "swap"
    with pytest.raises(AttributeError):  # torch's transpose is another function: never a fallback
        standard_fallback(type("T", (), {"transpose": staticmethod(lambda x, a, b: x)})(), "permute_dims", "torch")


def test_the_lacks_reason_is_written_in_one_place() -> None:
    """This test reads reasons from :func:`unavailable` only: no other module may write one, but the check runner's
    skip for a name reached outside the rows, which ``lacked_name`` gives only where no other name of the function
    resolves (so a forgotten mapping stays an error there, and cannot hide as a skip)."""
    writers = [p.relative_to(ROOT).as_posix() for d in ("conformance", "backends") for p in (ROOT / d).rglob("*.py")
               if re.search(r"""f["'][^"'\n]*\} lacks \{""", p.read_text())]
    assert sorted(writers) == ["conformance/battery/specs/core.py", "conformance/battery/specs/functions.py"], writers


def test_every_alias_of_the_table_is_a_row() -> None:
    rows = {(fn.alias_of, fn.name.split(" (", 1)[0]) for fn in FUNCTIONS_TABLE.values() if fn.alias_of}
    assert rows == {(std, alias) for std, aliases in ALIASES.items() for alias in aliases}
    for fn in FUNCTIONS_TABLE.values():
        if fn.alias_of:
            std = FUNCTIONS_TABLE["fn_" + fn.alias_of.replace("linalg.", "linalg_")].entry
            assert (fn.entry.args, fn.entry.valid, fn.entry.points) == (std.args, std.valid, std.points), fn.name


# -- a fault planted in one name only ------------------------------------------------------------------------------


def _arccos_fault() -> type:
    """torch whose ``arccos`` (not ``acos``) registers the derivative of arcsin: +1/sqrt(1 - x^2)."""
    import torch

    from backends.torch_func import TorchFunc
    from tests.library_faults import _Namespace, unary_op

    class ArccosRuleSign(TorchFunc):
        name = "lib-arccos-alias-rule"

        @property
        def xp(self) -> Any:
            rule = unary_op(torch.arccos, lambda x, g: g / torch.sqrt(1 - x * x), lambda x, t: t / torch.sqrt(1 - x * x))
            return _Namespace(super().xp, {"arccos": rule})

    return ArccosRuleSign


def test_a_fault_in_an_alias_only_is_caught_by_the_gate() -> None:
    pytest.importorskip("torch")
    from backends.torch_func import TorchFunc
    from tests.test_planted_faults import gate_cases, run_case

    backend, unbroken, reference = _arccos_fault()(), TorchFunc(), NumpyReference()
    backend.setup()
    unbroken.setup()
    family = [c for c in gate_cases(backend) if c.spec.entries is FUNCTIONS and c.entry.name in ("fn_acos", "fn_arccos")]
    outcomes = {c.test_id: run_case(c, backend, reference)[0] for c in family}
    failing = {t for t, s in outcomes.items() if s == "fail"}
    assert failing and all("fn_arccos" in t for t in failing), outcomes
    assert all(s == "pass" for t, s in outcomes.items() if "fn_acos" in t), "the standard name is unaffected"
    assert {run_case(c, unbroken, reference)[0] for c in family if c.test_id in failing} == {"pass"}
