"""The everyday functions outside the standard (conformance/battery/everyday.py): no forgotten mapping, no unbound row.

A row of an everyday function skips where its backend maps nothing to the name ("<library> lacks softmax
(library): ..."); that skip is false when the library exports one of the name's public candidates below, since
then the adapter forgot a mapping and the function's checks were skipped for nothing (the everyday functions'
half of ``tests/test_aliases.py``).  The other tests hold the mechanism to its word: every declared path
resolves, the reference defines every name, a forgotten mapping is found, and a row reached without the family's
binding raises instead of comparing the reference with itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from backends.base import BUILTIN, Backend, load_backend
from backends.numpy_reference import NumpyReference
from conformance.battery import everyday
from conformance.battery.functions import FUNCTIONS_TABLE, Function
from conformance.battery.specs.functions import unavailable
from conformance.dotted import resolve

CANDIDATES: dict[str, dict[str, tuple[str, ...]]] = {
    "jax": {
        "logsumexp": ("jax.nn.logsumexp", "jax.scipy.special.logsumexp"),
        "softmax": ("jax.nn.softmax", "jax.scipy.special.softmax"),
        "log_softmax": ("jax.nn.log_softmax", "jax.scipy.special.log_softmax"),
        "sigmoid": ("jax.nn.sigmoid", "jax.scipy.special.expit"),
        "frexp": ("jax.numpy.frexp",),
        "ldexp": ("jax.numpy.ldexp",),
        "top_k": ("jax.lax.top_k",),
        "softmax_precise": (),
        "matmul_highest": ("jax.numpy.matmul",),
    },
    "torch": {
        "logsumexp": ("torch.logsumexp", "torch.special.logsumexp"),
        "softmax": ("torch.softmax", "torch.special.softmax", "torch.nn.functional.softmax"),
        "log_softmax": ("torch.log_softmax", "torch.special.log_softmax", "torch.nn.functional.log_softmax"),
        "sigmoid": ("torch.sigmoid", "torch.special.expit", "torch.nn.functional.sigmoid"),
        "frexp": ("torch.frexp",),
        "ldexp": ("torch.ldexp",),
        "top_k": ("torch.topk",),
        "softmax_precise": (),
        "matmul_highest": (),
    },
    "mlx": {
        "logsumexp": ("mlx.core.logsumexp",),
        "softmax": ("mlx.core.softmax", "mlx.nn.softmax"),
        "log_softmax": ("mlx.core.log_softmax", "mlx.nn.log_softmax"),
        "sigmoid": ("mlx.core.sigmoid", "mlx.nn.sigmoid"),
        "frexp": ("mlx.core.frexp",),
        "ldexp": ("mlx.core.ldexp",),
        "top_k": ("mlx.core.topk", "mlx.core.partition"),
        "softmax_precise": ("mlx.core.softmax",),
        "matmul_highest": (),
    },
    "autograd": {
        "logsumexp": ("autograd.scipy.special.logsumexp",),
        "softmax": ("autograd.scipy.special.softmax",),
        "log_softmax": ("autograd.scipy.special.log_softmax",),
        "sigmoid": ("autograd.scipy.special.expit",),
        "frexp": ("autograd.numpy.frexp",),
        "ldexp": ("autograd.numpy.ldexp",),
        "top_k": ("autograd.numpy.partition",),
        "softmax_precise": (),
        "matmul_highest": (),
    },
}
"""Per library (distribution name, ``Backend.library``): the public names each everyday function goes by there.
An accuracy mode's are the functions that take its keyword (``mlx.core.softmax(precise=)``, ``jax.numpy.matmul
(precision=)``): exported, they make a missing mapping of the mode a forgotten one."""

ROWS = [fn for fn in FUNCTIONS_TABLE.values() if fn.library]
_IMPORTS = {"torch_autograd": "torch", "torch": "torch", "mlx": "mlx.core", "jax": "jax", "autograd": "autograd",
            "numpy": "numpy"}


def _installed(name: str) -> Backend:
    pytest.importorskip(_IMPORTS[name])
    return load_backend(name)


def exported(dotted: str) -> bool:
    try:
        return callable(resolve(dotted))
    except (ImportError, AttributeError):
        return False


def forgotten(backend: Backend, rows: list[Function]) -> list[str]:
    """Skip reasons of everyday ``rows`` on ``backend`` where the library exports a candidate of the name."""
    problems = []
    for fn in rows:
        reason = unavailable(backend, fn) or ""
        hits = [c for c in CANDIDATES.get(backend.library, {}).get(fn.library, ()) if exported(c)]
        if reason and hits:
            problems.append(f"{fn.entry.name}: '{reason}', but {backend.library} exports {', '.join(hits)}")
    return problems


def test_the_rows_are_the_everyday_functions() -> None:
    assert [fn.library for fn in ROWS] == list(everyday.SIGNATURES)
    assert all(fn.entry.name == f"fn_lib_{fn.library}" and fn.uses == () for fn in ROWS)
    assert set(CANDIDATES) | {"numpy"} == {load_backend(n).library for n in BUILTIN if n in _IMPORTS} | {"numpy"}
    assert all(set(names) == set(everyday.SIGNATURES) for names in CANDIDATES.values())


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_no_everyday_skip_blames_the_library_for_a_name_it_exports(name: str) -> None:
    backend = _installed(name)
    problems = forgotten(backend, ROWS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_declared_name_resolves_and_is_a_candidate(name: str) -> None:
    """A declared dotted path must resolve (else its row would skip as missing), and be one of the names listed
    here for that function (a path to another function would be a mapping error no skip shows)."""
    backend = _installed(name)
    for key, declared in backend.everyday.items():
        assert key in everyday.SIGNATURES, f"{type(backend).__name__}.everyday maps unknown name {key!r}"
        fn, why = everyday.find(backend, key)
        assert fn is not None, why
        if isinstance(declared, str):
            assert declared in CANDIDATES[backend.library][key], f"{declared} is not a candidate name of {key}"


def test_the_reference_defines_every_everyday_function() -> None:
    assert set(NumpyReference.everyday) == set(everyday.SIGNATURES)
    assert all(callable(f) for f in NumpyReference.everyday.values())
    assert not [m for m in ("jax", "torch", "mlx", "autograd") if m in NumpyReference.everyday["logsumexp"].__module__]


class _ForgotSigmoid(NumpyReference):
    name = "forgot-sigmoid"
    is_reference = False
    everyday: ClassVar[dict[str, Any]] = {k: v for k, v in NumpyReference.everyday.items() if k != "sigmoid"}


def test_a_forgotten_mapping_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NumPy-based backend without a sigmoid mapping skips, saying what it looked for; where the library's
    candidates name a public function the skip is a forgotten mapping, and the test finds it."""
    backend = _ForgotSigmoid()
    sigmoid = FUNCTIONS_TABLE["fn_lib_sigmoid"]
    reason = unavailable(backend, sigmoid)
    assert reason == ("numpy lacks sigmoid (library): _ForgotSigmoid.everyday maps no library function to sigmoid "
                      f"({everyday.SIGNATURES['sigmoid']})"), reason
    assert not forgotten(backend, [sigmoid])
    monkeypatch.setitem(CANDIDATES, "numpy", {"sigmoid": ("numpy.exp",)})  # a stand-in for a public sigmoid
    problems = forgotten(backend, [sigmoid])
    assert len(problems) == 1 and "numpy exports numpy.exp" in problems[0], problems


def test_a_declared_path_that_does_not_resolve_skips_saying_so() -> None:
    class Misspelt(NumpyReference):
        everyday: ClassVar[dict[str, Any]] = {**NumpyReference.everyday, "softmax": "numpy.softmaxx"}

    reason = unavailable(Misspelt(), FUNCTIONS_TABLE["fn_lib_softmax"]) or ""
    assert reason.startswith("numpy lacks softmax (library): numpy.softmaxx, the declared name of softmax, does not "
                             "resolve here (AttributeError"), reason


def test_an_unbound_row_takes_numpy_arrays_only() -> None:
    """On a namespace the family did not bind, a row runs the reference's definitions, and refuses another
    library's arrays: a check that forgot the binding errors, it never compares the reference with itself."""
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as tx

    entry = FUNCTIONS_TABLE["fn_lib_softmax"].entry
    np.testing.assert_allclose(entry.fn(np, np.zeros((3, 3))) @ np.linalg.inv(_mixing(3)), np.full((3, 3), 1 / 3))
    with pytest.raises(TypeError, match="unbound namespace"):
        entry.fn(tx, torch.zeros((3, 3), dtype=torch.float64))


def _mixing(k: int) -> Any:
    from conformance.battery.functions import mixing_matrix

    return mixing_matrix(k)


@pytest.mark.parametrize("entry", [fn.entry for fn in ROWS if fn.entry.construct], ids=lambda e: e.name)
def test_the_constructs_land_in_the_filter(entry: Any) -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        args = [rng.uniform(a.low, a.high, a.shape) for a in entry.args]
        moved = entry.construct(*args)
        assert entry.valid(*moved), (args, moved)
        assert all(((m >= a.low) & (m <= a.high)).all() for m, a in zip(moved, entry.args))
