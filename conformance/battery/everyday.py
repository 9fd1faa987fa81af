"""Everyday functions outside the array API standard, which every library offers under its own name.

``logsumexp``, ``softmax``, ``log_softmax``, ``sigmoid``, ``frexp``, ``ldexp`` and ``top_k`` are what autodiff
users call every day, and no standard namespace has them: JAX has ``jax.nn.softmax``, torch ``torch.softmax``
(with ``dim=``), MLX ``mlx.core.softmax``, autograd nothing.  Each is one row of the function table, written
once against the call signature :data:`SIGNATURES` fixes, and each adapter maps the name onto its library in
:attr:`backends.base.Backend.everyday` (a public dotted path, or a small callable adapting the call: torch's
``dim`` for our ``axis``, torch.topk's ``(values, indices)`` for our values).  An adapter maps calls; it never
builds a missing function out of other operations, so a library without one skips its row.

* **One accessor.**  Rows reach the library through :func:`library_function` (never through the namespace's
  getattr, which is the standard's and the alias table's): ``library_function(xp, "softmax")(x, axis=-1)``.
  The family binds an everyday row to a :class:`Bound` namespace, the backend's own namespace carrying the
  backend's declaration (``conformance/battery/specs/functions.py``, ``require_names``), and the reference's row to the
  reference's (NumPy definitions, ``backends/numpy_reference.py``).  On any other namespace (a test running a
  row on ``array_api_compat.numpy``) the accessor gives the reference's definitions, which take NumPy arrays
  only: a check that reached a library's row without the family's binding raises, it never compares the
  reference with itself.
* **A missing mapping is a skip that says what was looked for** (:func:`find`): the adapter declares nothing
  for the name, or the path it declares does not resolve in the installed library.  ``tests/test_everyday.py``
  fails where a library exports one of the name's candidates but its adapter declares no mapping, so a
  forgotten mapping never reads as a missing feature.
* **Opt-in accuracy modes** a library documents are everyday names of their own, mapped like the others (a
  callable passing the mode's keyword): ``softmax_precise`` (MLX's ``mx.softmax(x, axis, precise=True)``) and
  ``matmul_highest`` (JAX's ``jnp.matmul(a, b, precision=HIGHEST)``).  A mode computes the same function, so the
  reference defines it as the plain one, and its row runs through every transform as the others do (softmax's
  also at large magnitudes, ``conformance/battery/specs/accuracy_modes.py``).  Both modes change results only where the
  battery does not reach by default: MLX's precise accumulates in float32 for float16/bfloat16 inputs only (the
  battery draws float32 and float64), JAX's precision only on accelerators (float32 dot products in TF32 on
  recent NVIDIA GPUs, bfloat16 passes on TPU; on CPU the same computation).  So what is checked is that the mode
  keeps float32/float64 accuracy under every transform, and, run on a GPU, the mode itself.  A library without
  the mode skips, naming it: torch has neither (``torch.softmax``'s ``dtype=`` casts the input and the output,
  and ``torch.set_float32_matmul_precision`` is a process-wide setting whose default, ``"highest"``, is already
  full float32), autograd (NumPy) neither, MLX no matmul precision and JAX no precise softmax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from backends.numpy_reference import NumpyReference
from conformance.battery.draw_margins import KINK_MARGIN, PUSH
from conformance.battery.entry import Arg
from conformance.dotted import resolve

SIGNATURES: dict[str, str] = {
    "logsumexp": "logsumexp(x, axis) -> log(sum(exp(x), axis))",
    "softmax": "softmax(x, axis) -> exp(x) / sum(exp(x), axis, keepdims=True)",
    "log_softmax": "log_softmax(x, axis) -> x - logsumexp(x, axis, keepdims=True)",
    "sigmoid": "sigmoid(x) -> 1 / (1 + exp(-x)) (the logistic function, scipy's expit)",
    "frexp": "frexp(x) -> (mantissa, exponent), x == mantissa * 2**exponent, 0.5 <= |mantissa| < 1",
    "ldexp": "ldexp(x, e) -> x * 2**e, e an integer array",
    "top_k": "top_k(x, k) -> the k largest values along the last axis, in descending order",
    "softmax_precise": "softmax(x, axis) in the library's documented precise mode (MLX's precise=True: float32 "
    "accumulation for half-precision inputs), the same function",
    "matmul_highest": "matmul(a, b) at the library's highest documented matmul precision (JAX's "
    "precision=jax.lax.Precision.HIGHEST: true float32 products where TF32 or bfloat16 may be the default), the "
    "same function",
}
"""Our name of each everyday function -> the call the rows make (positional x, the rest by keyword)."""


def find(backend: Any, name: str) -> tuple[Callable[..., Any] | None, str]:
    """The callable ``backend`` declares for ``name`` and "", or None and what was looked for (the skip's words)."""
    declared = getattr(backend, "everyday", {}).get(name)
    if declared is None:
        return None, f"{type(backend).__name__}.everyday maps no library function to {name} ({SIGNATURES[name]})"
    if callable(declared):
        return declared, ""
    try:
        found = resolve(declared)
    except (ImportError, AttributeError) as exc:
        return None, f"{declared}, the declared name of {name}, does not resolve here ({type(exc).__name__}: {exc})"
    if not callable(found):
        return None, f"{declared}, the declared name of {name}, is not callable"
    return found, ""


class Bound:
    """A backend's array namespace (every attribute falls through to it) carrying the backend's everyday mapping."""

    def __init__(self, backend: Any) -> None:
        # Resolved here, once, outside any transform: a library that parses the Python it traces (MindSpore)
        # refuses the import a dotted path's resolution runs.
        self._found = {name: find(backend, name) for name in SIGNATURES}
        self._xp = backend.xp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xp, name)

    def everyday(self, name: str) -> Callable[..., Any]:
        fn, why = self._found[name]
        if fn is None:
            raise KeyError(why)  # not LookupError: MindSpore's traces raise only the common builtin types
        return fn


def library_function(xp: Any, name: str) -> Callable[..., Any]:
    """The library's function ``name`` (one of :data:`SIGNATURES`) for the namespace a row runs on: the one accessor.

    One expression on purpose: it runs inside the transforms, and a library that parses the Python it traces
    (MindSpore's jvp, jacrev and vmap) parses every function it reaches, and refuses imports and multi-line
    f-strings in them (so the helpers below have neither)."""
    return xp.everyday(name) if isinstance(xp, Bound) else _reference_only(name)


_UNBOUND = ("everyday row {name!r} ran on an unbound namespace with {kind} arrays: the family binds it to the "
            "backend's mapping (conformance.battery.everyday.Bound)")


def _reference_only(name: str) -> Callable[..., Any]:
    """On a namespace no family bound (a test running a row on ``array_api_compat.numpy``): the reference's
    definition, for NumPy arrays only, so a library's row reached without the binding raises instead of comparing
    the reference with itself."""
    if name not in SIGNATURES:
        raise KeyError(f"{name!r} is not an everyday function ({', '.join(SIGNATURES)})")
    definition = NumpyReference.everyday[name]

    def numpy_only(*args: Any, **kwargs: Any) -> Any:
        if not all(isinstance(a, (np.ndarray, np.generic)) for a in args):
            raise TypeError(_UNBOUND.format(name=name, kind=type(args[0]).__name__))
        return definition(*args, **kwargs)

    return numpy_only


# --- the rows' domains ------------------------------------------------------------------------

FREXP_LOW, FREXP_HIGH = -3.5, 3.5
_FLOOR = 0.5 + KINK_MARGIN
"""frexp's mantissa jumps at every power of two, and they crowd towards 0: draws keep |x| above 0.5 + margin."""
_POWERS = (-2.0, -1.0, 1.0, 2.0)


def frexp_valid(x: Any) -> bool:
    """Every entry at least KINK_MARGIN from 0.5, 1 and 2 in magnitude (and so from every power of two)."""
    a = np.abs(np.asarray(x))
    return bool((a > _FLOOR).all() and all((np.abs(a - abs(p)) > KINK_MARGIN).all() for p in _POWERS[2:]))


def frexp_construct(x: Any) -> tuple[Any]:
    """Entries with |x| <= 0.5 + margin moved (keeping their sign) into [0.6, 0.9] by their magnitude; entries
    within the margin of +-1 or +-2 moved PUSH off on their own side.  Every other entry is left as drawn."""
    x = np.asarray(x, dtype=np.float64)
    sign = np.copysign(1.0, x)
    a = np.abs(x)
    a = np.where(a <= _FLOOR, 0.5 + 2 * KINK_MARGIN + 0.3 * a / _FLOOR, a)
    for p in (1.0, 2.0):
        near = np.abs(a - p) <= KINK_MARGIN
        a = np.where(near, p + np.where(a >= p, PUSH, -PUSH), a)
    return (sign * a,)


def _involution(perm: np.ndarray) -> bool:
    return bool((perm[perm] == np.arange(perm.size)).all())


def selectable(x: Any) -> bool:
    """top_k's kinks are ties: entries apart by more than KINK_MARGIN, and the descending order no involution
    (then the k largest do not sit at the first k places in order, where a rule ignoring the indices is right)."""
    x = np.asarray(x)
    order = np.argsort(-x, kind="stable")
    return bool((-np.diff(x[order]) > KINK_MARGIN).all()) and not _involution(order)


def selectable_construct(x: Any, low: float = -2.0, high: float = 2.0) -> tuple[Any]:
    """The drawn values spread 2 margins apart (squeezed back into the domain), placed in their drawn descending
    order or, where that order is an involution, in its first rotation that is not (a constructive draw, as the
    sort rows' ``_sortable_construct``: no filter that can reject every draw of a seed)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(-x, kind="stable")
    values = x[order]
    for i in range(1, values.size):
        values[i] = min(values[i], values[i - 1] - PUSH)
    values += max(low - values[-1], 0.0)
    if values[0] > high:
        values = high - (values[0] - values) * (high - low) / (values[0] - values[-1])
    candidates = [np.roll(order, k) for k in range(order.size)] + [np.roll(np.arange(order.size), 1)]
    perm = next(p for p in candidates if not _involution(p))
    out = np.empty_like(values)
    out[perm] = values
    return (out,)


# --- the rows (registered by conformance/battery/functions.py, entries fn_lib_<name>; mixed as the standard rows) --------


@dataclasses.dataclass(frozen=True)
class Row:
    """One everyday function's row: its domain, its call, and the flags of ``conformance.battery.functions.function``."""

    name: str
    category: str
    args: tuple[Arg, ...]
    op: Callable[..., Any]
    analytic: bool = True
    second: bool = True
    valid: Callable[..., bool] | None = None
    construct: Callable[..., tuple[Any, ...]] | None = None
    note: str = ""


LDEXP_EXPONENTS = (1, -1, 2)
"""ldexp's fixed integer exponent array: not differentiated, not drawn."""
TOP_K = 3


def _logsumexp(xp: Any, x: Any) -> Any:
    return library_function(xp, "logsumexp")(x, axis=1)


def _softmax(xp: Any, x: Any) -> Any:
    return library_function(xp, "softmax")(x, axis=-1)


def _log_softmax(xp: Any, x: Any) -> Any:
    return library_function(xp, "log_softmax")(x, axis=-1)


def _sigmoid(xp: Any, x: Any) -> Any:
    return library_function(xp, "sigmoid")(x)


def _frexp(xp: Any, x: Any) -> Any:
    return library_function(xp, "frexp")(x)[0]


def _ldexp(xp: Any, x: Any) -> Any:
    return library_function(xp, "ldexp")(x, xp.asarray(np.array(LDEXP_EXPONENTS)))


def _top_k(xp: Any, x: Any) -> Any:
    return library_function(xp, "top_k")(x, k=TOP_K)


def _softmax_precise(xp: Any, x: Any) -> Any:
    return library_function(xp, "softmax_precise")(x, axis=-1)


def _matmul_highest(xp: Any, a: Any, b: Any) -> Any:
    return library_function(xp, "matmul_highest")(a, b)


_SQUARE = Arg((3, 3))
"""Square on purpose, as the standard's axis variants: normalising along the wrong axis keeps the shape."""

ROWS: tuple[Row, ...] = (
    Row("logsumexp", "reduction", (_SQUARE,), _logsumexp, note="logsumexp(x, axis=1) of a 3 x 3 matrix"),
    Row("softmax", "reduction", (_SQUARE,), _softmax, note="softmax(x, axis=-1) of a 3 x 3 matrix"),
    Row("log_softmax", "reduction", (_SQUARE,), _log_softmax, note="log_softmax(x, axis=-1) of a 3 x 3 matrix"),
    Row("sigmoid", "elementwise", (Arg((3,)),), _sigmoid, note="the logistic function (scipy's expit)"),
    Row("frexp", "elementwise", (Arg((3,), low=FREXP_LOW, high=FREXP_HIGH),), _frexp, analytic=False, second=False,
        valid=frexp_valid, construct=frexp_construct,
        note="the mantissa (the integer exponent has no derivative): x * 2**-e, piecewise linear with jumps at the "
             "powers of two, which crowd towards 0: draws keep |x| above 0.55 and off 1 and 2 by the margin"),
    Row("ldexp", "elementwise", (Arg((3,)),), _ldexp, analytic=False, second=False,
        note=f"ldexp(x, e) with the fixed integer exponents {list(LDEXP_EXPONENTS)}: linear in x (no hessian)"),
    Row("top_k", "manipulation", (Arg((5,)),), _top_k, analytic=False, second=False, valid=selectable,
        construct=selectable_construct,
        note=f"the {TOP_K} largest of 5 values, descending: kinks at ties, so entries are drawn apart, in an order "
             "that is no involution (the k largest never in their own first places in order)"),
    Row("softmax_precise", "reduction", (_SQUARE,), _softmax_precise,
        note="softmax(x, axis=-1) of a 3 x 3 matrix in the precise mode (a float32 accumulation for half-precision "
             "inputs only): float32 and float64 must keep the plain row's accuracy, large magnitudes too"),
    Row("matmul_highest", "linalg", (Arg((3, 3), low=-1.0, high=1.0),) * 2, _matmul_highest, second=False,
        note="a 3 x 3 matmul at the highest matmul precision (different from the default on accelerators only): "
             "float32 and float64 must keep the accuracy of true float32/float64 products"),
)
"""The everyday rows, one shape each (the gate's cover keeps each once per spec aspect)."""
