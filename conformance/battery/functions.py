"""The function table: the differentiable functions of the array API standard (2024.12, with linalg).

One row per standard function.  Each row says which namespace names it calls (``uses``: getattr paths such
as ``"atan2"`` or ``"linalg.solve"``), its argument domains, whether it is analytic (the reference then
differentiates it by complex step; otherwise by Richardson finite differences, with draws kept away from
kinks by ``valid``), whether its second derivative is worth checking, and its category for the report.

Design choices, and why:

* **Square, non-symmetric Jacobians.**  An elementwise function alone has a diagonal Jacobian, which equals
  its own transpose: a library returning J^T for J, or mixing up rows and columns, would pass.  So the
  output of every elementwise, manipulation and axis-reduction row is multiplied on the right by a fixed
  non-symmetric mixing matrix (:func:`mix`), making the Jacobian ``M^T``-mixed: dense, square where the
  function keeps the shape, and not symmetric.  The mixing is a plain ``@`` with a constant, which no
  library gets wrong; the function under test stays alone in its own row, and its domain is the domain of
  its own inputs (mixing before the function would move the domain).
* **Scalar outputs** for grad and hessian are a weighted sum with fixed non-uniform weights
  (:func:`weighted_sum`, used by the spec family), so a permuted or transposed gradient shows.
* **Fixed integer parameters**: roll shifts, take indices, repeat counts, tensordot axes and reduction axes
  are constants inside the row's function: they are not differentiated and not drawn.
* **Spectral functions** (eigh, svd, qr) have derivatives only where eigen/singular values are distinct, and
  their outputs are defined only up to signs (or phases) of vectors.  Each row therefore checks an
  invariant composition: ``V diag(w^2) V^T`` for eigh, ``U diag(s^2) V^T`` for svd (a sign flip of a
  singular pair cancels), ``Q diag(r_ii)`` for qr (a sign flip of column j of Q comes with one of row j of R),
  with ``valid`` keeping eigen/singular values apart.  cholesky gets ``X X^T + 3 I`` so that every draw is
  positive definite; eigh gets ``(X + X^T) / 2`` so that no library's choice of triangle matters.
* **Calling forms are rows.**  Each reduction also has a row per argument variant (``keepdims=True``, a negative
  axis, a tuple of axes, ``axis=None``, a ``where=`` mask, the cumulative ones' ``axis=-1`` and ``include_initial``):
  libraries reach each form through its own code, and a bug in one shows under the form's own name.  A keyword some
  namespace rejects (``where=`` is NumPy's and JAX's, not the standard's) is listed in the row's ``keywords``, and a
  backend declaring it (``Conventions.lacks_keywords``) skips the row with its reason.
* **Only standard names** are called through ``xp``; ``uses`` lists them, and a test runs every row on a
  recording namespace to prove the list complete.  Besides ``uses``, rows rely on ``asarray`` and ``sum``
  (for constants and the weighted sum), the ``@`` operator and ``.T``, which every namespace has.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from backends.aliases import ALIASES, resolve
from conformance.battery import everyday, fft_rows
from conformance.battery.catalog import KINK_MARGIN, Arg, Entry, pull_apart, push_away, widen_top_gap
from conformance.battery.constants import const
from conformance.battery.reduction_kinks import spread_over, top_gap_over

Category = Literal["elementwise", "reduction", "linalg", "manipulation"]
CATEGORIES: tuple[Category, ...] = ("elementwise", "reduction", "linalg", "manipulation")
INFRASTRUCTURE = ("asarray", "sum")
"""Namespace names every row may use besides its own ``uses`` (constants, the weighted sum)."""


@dataclasses.dataclass(frozen=True)
class Function:
    """One standard function: its entry for the battery, the names it needs, and what applies to it."""

    name: str
    """The standard's name, e.g. ``atan2`` or ``linalg.solve`` (compositions are named ``logsumexp (composition)``)."""
    category: Category
    uses: tuple[str, ...]
    entry: Entry
    second: bool
    """hessian applies: twice differentiable and not linear in the first argument, the one fn_hessian
    differentiates (a linear map's Hessian is zero whatever the library; bilinear rows such as multiply,
    matmul or cross are linear in it)."""
    note: str = ""
    alias_of: str = ""
    """For a row that checks a function under another of its public names (``power`` for ``pow``, the table in
    ``backends/aliases.py``): the standard name.  Empty for the standard's own rows."""
    keywords: tuple[str, ...] = ()
    """Keyword arguments the row passes that a library's namespace may not take, as ``function(keyword=)``
    (``sum(where=)``: masks are NumPy's and JAX's, not the standard's; ``cumulative_sum(include_initial=)``: the
    standard's, which some shims lack).  A backend declares the ones its namespace rejects
    (``Conventions.lacks_keywords``); the row then skips there with the declared reason, and ``conventions_api``
    proves each declaration by calling the row (it must raise TypeError)."""
    library: str = ""
    """For a row of an everyday function outside the standard (``conformance/battery/everyday.py``): its name there, which
    the row reaches through ``library_function`` and each backend maps onto its library (``Backend.everyday``)."""

    @property
    def standard(self) -> str:
        """The standard's name of the function this row checks (the row's own name, less any parenthesis)."""
        return self.alias_of or self.name.split(" (", 1)[0]

    @property
    def joint(self) -> bool:
        """fn_hessian_joint applies: two or more arguments, and a Hessian in all of them together that is not
        zero (bilinear rows have only mixed partials, which is what that check is for)."""
        return self.entry.arity >= 2 and self.standard not in JOINTLY_LINEAR


FUNCTIONS_TABLE: dict[str, Function] = {}
"""Entry name -> row, in registration order."""


@functools.cache
def mixing_matrix(k: int) -> np.ndarray:
    """A fixed, well-conditioned, non-symmetric k x k matrix (identity plus a strictly asymmetric ramp).

    Built once per size and read-only: every evaluation of a row calls it, and the reference's finite
    differences evaluate rows thousands of times per check."""
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    return _frozen(np.eye(k) + 0.25 * (i + 2 * j) / max(k, 1) - 0.1 * (i > j))


@functools.cache
def weights(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed non-uniform weights (1, -0.5, 1.5, -1, 2, ...) shaped like an output (built once per shape, read-only)."""
    n = int(np.prod(shape, dtype=int))
    w = np.array([(1.0 + 0.5 * k) * (-1.0) ** k for k in range(n)]) / max(n, 1)
    return _frozen(w.reshape(shape))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def mix(xp: Any, y: Any) -> Any:
    """``y @ M`` with the fixed non-symmetric M along the last axis; scalars pass through."""
    if len(y.shape) == 0:
        return y
    return y @ const(xp, mixing_matrix(y.shape[-1]), y)


def weighted_sum(xp: Any, y: Any) -> Any:
    """The scalar that grad and hessian differentiate: sum(w * y) with fixed non-uniform weights."""
    if len(y.shape) == 0:
        return y
    return xp.sum(y * const(xp, weights(tuple(y.shape)), y))


def function(
    name: str,
    category: Category,
    args: tuple[Arg, ...],
    uses: tuple[str, ...] | None = None,
    *,
    analytic: bool = True,
    mixed: bool | None = None,
    second: bool = True,
    valid: Callable[..., bool] | None = None,
    construct: Callable[..., tuple[Any, ...]] | None = None,
    points: tuple[tuple[Any, ...], ...] = (),
    note: str = "",
    entry_name: str = "",
    keywords: tuple[str, ...] = (),
    library: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``op(xp, *args)`` as the row for standard function ``name``.

    ``uses`` defaults to ``(name,)``.  ``mixed`` (default: on for elementwise, manipulation and reduction rows)
    wraps the output in :func:`mix`.  ``entry_name`` defaults to ``fn_`` and the name up to any parenthesis
    (``logsumexp (composition)`` is ``fn_logsumexp``).  ``construct`` draws valid inputs constructively
    (:attr:`conformance.battery.catalog.Entry.construct`).  ``keywords``: :attr:`Function.keywords`; ``library``:
    :attr:`Function.library`.
    """

    def register(op: Callable[..., Any]) -> Callable[..., Any]:
        key = entry_name or "fn_" + re.sub(r" \(.*\)$", "", name).replace("linalg.", "linalg_").replace(" ", "_")
        if key in FUNCTIONS_TABLE:
            raise ValueError(f"function {name!r} registered twice")
        do_mix = category != "linalg" if mixed is None else mixed

        def fn(xp: Any, *a: Any) -> Any:
            out = op(xp, *a)
            return mix(xp, out) if do_mix else out

        fn.__name__ = fn.__qualname__ = key
        tags = frozenset({"array_api", category, f"std:{name}", *(["multi_arg"] if len(args) > 1 else []),
                          *(["library"] if library else [])})
        entry = Entry(key, fn, args, analytic=analytic, tags=tags, valid=valid, construct=construct, points=points)
        FUNCTIONS_TABLE[key] = Function(name, category, uses if uses is not None else (name,), entry, second, note,
                                        keywords=keywords, library=library)
        return op

    return register


# --- domains ------------------------------------------------------------------------

V3 = Arg((3,))
POS3 = Arg((3,), low=0.25, high=3.0)
UNIT3 = Arg((3,), low=-0.75, high=0.75)
M34 = Arg((3, 4))
M23 = Arg((2, 3))
M33 = Arg((3, 3), low=-1.0, high=1.0)
BOOSTED = Arg((3, 3), low=-1.0, high=1.0, diag_boost=4.0)
"""Strictly diagonally dominant by at least 1 (diagonal >= 3, the other two entries of a row sum to <= 2),
so ||A^-1||_inf <= 1 and the condition number is at most 7.  A boost of 3 allowed the corner
[[2, -1, -1], [-1, 2, -1], [-1, -1, 2]], which is singular: the thorough profile (seed 1) drew it for
fn_grad[torch_autograd-float64-fn_linalg_solve], a false alarm of ours."""


def _away(*points: float) -> Callable[..., bool]:
    """Every entry of every argument at least KINK_MARGIN from each of ``points``."""

    def valid(*args: Any) -> bool:
        return all(bool((np.abs(np.asarray(a) - p) > KINK_MARGIN).all()) for a in args for p in points)

    return valid


def _apart(a: Any, b: Any) -> bool:
    return bool((np.abs(np.asarray(a) - np.asarray(b)) > KINK_MARGIN).all())


def _off_origin(a: Any, b: Any) -> bool:
    """Every pair (a_i, b_i) away from the origin, the one point where hypot is not smooth: by twice the
    kink margin, since a step along a dense direction moves the pair by up to sqrt(2) steps."""
    return bool((np.hypot(np.asarray(a), np.asarray(b)) > 2 * KINK_MARGIN).all())


def _gaps(values: np.ndarray) -> bool:
    s = np.sort(values)
    return bool((np.diff(s) > 4 * KINK_MARGIN).all())


# --- elementwise, one argument ---------------------------------------------------------

_UNARY: tuple[tuple[str, Arg, bool, Callable[..., bool] | None], ...] = (
    # name, domain, analytic, valid
    ("abs", V3, False, _away(0.0)),
    ("acos", UNIT3, True, None),
    ("acosh", Arg((3,), low=1.25, high=3.0), True, None),
    ("asin", UNIT3, True, None),
    ("asinh", V3, True, None),
    ("atan", V3, True, None),
    ("atanh", UNIT3, True, None),
    ("cos", V3, True, None),
    ("cosh", V3, True, None),
    ("exp", V3, True, None),
    ("expm1", V3, True, None),
    ("log", POS3, True, None),
    ("log1p", Arg((3,), low=-0.5, high=2.0), True, None),
    ("log2", POS3, True, None),
    ("log10", POS3, True, None),
    ("sin", V3, True, None),
    ("sinh", V3, True, None),
    ("sqrt", POS3, True, None),
    ("square", V3, True, None),
    ("tan", Arg((3,), low=-1.25, high=1.25), True, None),
    ("tanh", V3, True, None),
    ("negative", V3, True, None),
    ("positive", V3, True, None),
    ("reciprocal", Arg((3,), low=0.5, high=2.0), True, None),
)
_LINEAR = {"negative", "positive", "add", "subtract", "multiply", "divide"}
"""Linear in the first argument, the one fn_hessian differentiates: its Hessian is zero whatever the library."""
JOINTLY_LINEAR = {"add", "subtract", "copysign", "maximum", "minimum", "concat", "stack", "where", "clip"}
"""Linear (or piecewise linear away from kinks) in all their arguments together: zero Hessian, no joint check."""
_PIECEWISE_LINEAR = {"abs", "copysign", "maximum", "minimum"}
"""Piecewise linear: zero Hessian wherever the draws are (away from the kinks), so no hessian check either."""


def _unary(name: str) -> Callable[..., Any]:
    def op(xp: Any, x: Any) -> Any:
        return getattr(xp, name)(x)

    return op


_CONSTRUCT: dict[str, Callable[..., tuple[Any, ...]]] = {
    "abs": push_away(0.0), "atan2": push_away(0.0), "copysign": push_away(0.0),
    "maximum": pull_apart, "minimum": pull_apart,
}
"""Rows whose ``valid`` filter rejected about half the draws or more (measured: copysign kept 47 %, atan2 45 %,
maximum 43 %): they draw constructively (:attr:`conformance.battery.catalog.Entry.construct`)."""

for _name, _arg, _analytic, _valid in _UNARY:
    function(_name, "elementwise", (_arg,), analytic=_analytic, valid=_valid, construct=_CONSTRUCT.get(_name),
             second=_name not in _LINEAR | _PIECEWISE_LINEAR)(_unary(_name))


# --- elementwise, two arguments -------------------------------------------------------

_BINARY: tuple[tuple[str, Arg, Arg, bool, Callable[..., bool] | None, str], ...] = (
    ("add", V3, V3, True, None, ""),
    ("subtract", V3, V3, True, None, ""),
    ("multiply", V3, V3, True, None, ""),
    ("divide", V3, Arg((3,), low=0.5, high=2.0), True, None, ""),
    ("pow", POS3, V3, True, None, "base kept positive: x**y is real-analytic there"),
    ("atan2", V3, V3, False, _away(0.0), "NumPy has no complex atan2; draws avoid the axes (branch cut, origin); "
     "ties |y| = |x| drawn on purpose (implementations reduce by comparing them)"),
    ("hypot", V3, V3, False, _off_origin, "NumPy has no complex hypot; draws avoid the origin; ties |x| = |y| "
     "and zero components drawn on purpose (overflow-safe implementations branch on max/min there)"),
    ("logaddexp", V3, V3, False, None, "NumPy has no complex logaddexp; ties x = y drawn on purpose "
     "(implementations shift by max(x, y))"),
    ("copysign", V3, V3, False, _away(0.0), "kink at x = 0 and a jump at y = 0: draws avoid both"),
    ("maximum", V3, V3, False, _apart, "kink where x = y: draws keep them apart"),
    ("minimum", V3, V3, False, _apart, "kink where x = y: draws keep them apart"),
)


def _binary(name: str) -> Callable[..., Any]:
    def op(xp: Any, x: Any, y: Any) -> Any:
        return getattr(xp, name)(x, y)

    return op


_POINTS: dict[str, tuple[tuple[Any, ...], ...]] = {
    # (x, y) pairs, each entry of the three a tie or a zero component: where the formula branches, not the math.
    "hypot": (((1.0, -0.5, 0.75), (1.0, 0.5, 0.0)), ((0.0, 1.5, -1.25), (-1.0, -1.5, 1.25))),
    "atan2": (((1.0, -0.5, 0.75), (1.0, 0.5, -0.75)),),
    "logaddexp": (((0.5, -1.0, 1.5), (0.5, -1.0, 1.5)),),
    # integer exponents, 0 above all: implementations special-case them (where(y == 0, 0, y * x**(y - 1))),
    # which is right for d/dx and wrong for its derivative in y.
    "pow": (((1.5, 0.5, 2.0), (0.0, 1.0, 2.0)), ((0.75, 2.5, 1.25), (-1.0, 0.0, 0.0))),
}
"""Declared points (:attr:`conformance.battery.catalog.Entry.points`) of the binary rows."""

for _name, _a, _b, _analytic, _valid, _note in _BINARY:
    function(_name, "elementwise", (_a, _b), analytic=_analytic, valid=_valid, construct=_CONSTRUCT.get(_name),
             second=_name not in _LINEAR | _PIECEWISE_LINEAR, points=_POINTS.get(_name, ()), note=_note)(_binary(_name))


@function("clip", "elementwise", (V3,), analytic=False, valid=_away(-0.5, 0.5), second=False,
          note="fixed bounds -0.5 and 0.5; kinks at both: draws avoid them; piecewise linear, so no hessian")
def _clip(xp: Any, x: Any) -> Any:
    return xp.clip(x, -0.5, 0.5)


LOWER = Arg((3,), low=-1.5, high=-0.25)
UPPER = Arg((3,), low=0.25, high=1.5)


def _off_bounds(x: Any, lo: Any, hi: Any) -> bool:
    return _apart(x, lo) and _apart(x, hi)


def _off_bounds_construct(x: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any]:
    """x pushed off each bound it is too close to (the bounds are at least 0.5 apart, so off both)."""
    for bound in (lo, hi):
        _, x = pull_apart(bound, x)
    return x, lo, hi


@function("clip (array bounds)", "elementwise", (V3, LOWER, UPPER), analytic=False, valid=_off_bounds,
          construct=_off_bounds_construct, second=False, entry_name="fn_clip_bounds", uses=("clip",),
          note="the standard's ternary form (min and max arrays, 2023.12): differentiable in all three, kinks where "
               "x meets a bound, which draws avoid; piecewise linear, so no hessian")
def _clip_bounds(xp: Any, x: Any, lo: Any, hi: Any) -> Any:
    return xp.clip(x, lo, hi)


# --- reductions (over the last axis of a 3 x 4 matrix, 2 x 3 for std and var, then mixed) ---


@function("sum", "reduction", (M34,), second=False)
def _sum(xp: Any, x: Any) -> Any:
    return xp.sum(x, axis=1)


@function("prod", "reduction", (Arg((3, 4), low=0.5, high=1.5),))
def _prod(xp: Any, x: Any) -> Any:
    return xp.prod(x, axis=1)


@function("mean", "reduction", (M34,), second=False)
def _mean(xp: Any, x: Any) -> Any:
    return xp.mean(x, axis=1)


def _spread(x: Any) -> bool:
    return bool((np.var(np.asarray(x), axis=1) > 0.1).all())


@function("std", "reduction", (M23,), analytic=False, valid=_spread,
          note="NumPy's complex std takes |.|; draws keep each row's variance above 0.1 (sqrt's kink); "
               "2 x 3, not 3 x 4: the reference's nested differences for its hessian cost (inputs)^2")
def _std(xp: Any, x: Any) -> Any:
    return xp.std(x, axis=1)


@function("var", "reduction", (M23,), analytic=False, note="NumPy's complex var takes |.|; 2 x 3 as std")
def _var(xp: Any, x: Any) -> Any:
    return xp.var(x, axis=1)


def _top_gap(sign: float) -> Callable[[Any], bool]:
    def valid(x: Any) -> bool:
        s = np.sort(sign * np.asarray(x), axis=1)
        return bool((s[:, -1] - s[:, -2] > KINK_MARGIN).all())

    return valid


@function("max", "reduction", (M34,), analytic=False, valid=_top_gap(1.0), construct=widen_top_gap(1.0), second=False,
          note="kink at ties: draws keep the two largest of each row apart")
def _max(xp: Any, x: Any) -> Any:
    return xp.max(x, axis=1)


@function("min", "reduction", (M34,), analytic=False, valid=_top_gap(-1.0), construct=widen_top_gap(-1.0), second=False,
          note="kink at ties: draws keep the two smallest of each row apart")
def _min(xp: Any, x: Any) -> Any:
    return xp.min(x, axis=1)


@function("cumulative_sum", "reduction", (V3,), mixed=False, second=False,
          note="a lower-triangular Jacobian: square and non-symmetric without mixing")
def _cumulative_sum(xp: Any, x: Any) -> Any:
    return xp.cumulative_sum(x)


_CUMPROD_ZEROS = (((0.0, 1.5, -0.75),), ((1.25, 0.0, -0.5),))
"""Declared points of the cumulative products: a zero under nonzero entries.  There the product's derivative in the
zero entry is the product of the others, which a rule dividing by x (ans / x) gets as nan and one transposed from
reverse mode as 0 (tensorflow#119430); random draws almost never hold an exact zero."""
_CUMPROD_ZEROS_MATRIX = ((((0.0, 1.5, -0.75), (1.25, 0.0, -0.5), (0.5, -1.0, 0.0)),),)


@function("cumulative_prod", "reduction", (V3,), mixed=False, points=_CUMPROD_ZEROS)
def _cumulative_prod(xp: Any, x: Any) -> Any:
    return xp.cumulative_prod(x)


@function("logsumexp (composition)", "reduction", (M34,), uses=("log", "exp"),
          note="log(sum(exp(x))) without the max shift, which would break complex step; the domain keeps exp finite")
def _logsumexp(xp: Any, x: Any) -> Any:
    return xp.log(xp.sum(xp.exp(x), axis=1))


# --- the reductions' argument variants: keepdims, a negative, a tuple and no axis, masks, the cumulative forms -------
#
# Each variant is a row of its own (``sum (axis=(0, 2))``, entry ``fn_sum_axis_0_2``), so a library's bug in one
# calling form shows by name: libraries reach each form through its own code (a reverse rule that re-inserts the
# reduced axes, normalises a negative axis, loops over a tuple of them, or reads a mask), and the standard rows
# above call only ``axis=1`` of a matrix.

CUBE = Arg((2, 2, 2))
"""The axis variants' input.  A cube on purpose, as a square matrix is what shows a transposed Jacobian: a rule
that reduces or broadcasts along the wrong axis returns an array of the right shape and the wrong values there
(on distinct sizes it raises a shape error, which nobody ships long)."""
POS_CUBE = Arg((2, 2, 2), low=0.5, high=1.5)
MASK = ((True, False, True, True), (False, True, True, False), (True, True, False, True))
"""The masked rows' fixed ``where=`` on a 3 x 4 matrix, reduced over axis 1: 3, 2 and 3 entries kept."""
MASKED = Arg((3, 4))
POS_MASKED = Arg((3, 4), low=0.5, high=1.5)

_AXIS_VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    # the row's parenthesis, the entry name's suffix, the reduction's keywords
    ("axis=1, keepdims=True", "keepdims", {"axis": 1, "keepdims": True}),
    ("axis=-1", "axis_last", {"axis": -1}),
    ("axis=(0, 2)", "axis_0_2", {"axis": (0, 2)}),
    ("axis=None", "axis_none", {"axis": None}),
)
"""The calling forms every reduction gets a row for, on :data:`CUBE`: the kept axis in the middle (where dropping it
misaligns the broadcast back), a negative axis, two axes at once that are not adjacent, and every axis."""

_KINK_NOTE = {"max": "; draws keep the two largest of each reduced slice apart (its kink at ties)",
              "min": "; draws keep the two smallest of each reduced slice apart (its kink at ties)",
              "std": "; draws keep each reduced slice's variance above 0.1 (sqrt's kink), constructively"}

_VARIANT_OF: dict[str, tuple[Arg, bool, bool]] = {
    # reduction -> its domain, analytic, second (as its standard row above)
    "sum": (CUBE, True, False), "prod": (POS_CUBE, True, True), "mean": (CUBE, True, False),
    "std": (CUBE, False, True), "var": (CUBE, False, True), "max": (CUBE, False, False), "min": (CUBE, False, False),
}


def _reduce(name: str, **keywords: Any) -> Callable[..., Any]:
    def op(xp: Any, x: Any) -> Any:
        return getattr(xp, name)(x, **keywords)

    return op


def _masked(name: str, **keywords: Any) -> Callable[..., Any]:
    def op(xp: Any, x: Any) -> Any:
        return getattr(xp, name)(x, axis=1, where=xp.asarray(np.array(MASK)), **keywords)

    return op


def _kinks(name: str, axis: Any, mask: Any = None) -> dict[str, Any]:
    """The ``valid``/``construct`` keywords of ``function`` for a variant of reduction ``name``."""
    if name in ("max", "min"):
        valid, construct = top_gap_over(1.0 if name == "max" else -1.0, axis, mask)
    elif name == "std":
        valid, construct = spread_over(axis, mask)
    else:
        return {}
    return {"valid": valid, "construct": construct}


for _name, (_arg, _analytic, _second) in _VARIANT_OF.items():
    for _label, _suffix, _keywords in _AXIS_VARIANTS:
        function(f"{_name} ({_label})", "reduction", (_arg,), (_name,), analytic=_analytic, second=_second,
                 entry_name=f"fn_{_name}_{_suffix}",
                 note=f"on a 2 x 2 x 2 cube: {_name}(x, {_label})" + _KINK_NOTE.get(_name, ""),
                 **_kinks(_name, _keywords["axis"]))(_reduce(_name, **_keywords))


@function("logsumexp (composition, axis=1, keepdims=True)", "reduction", (CUBE,), uses=("log", "exp"),
          entry_name="fn_logsumexp_keepdims", note="log(sum(exp(x), axis=1, keepdims=True)), the form a softmax's "
          "normaliser takes; its axis variants are sum's, which have their rows")
def _logsumexp_keepdims(xp: Any, x: Any) -> Any:
    return xp.log(xp.sum(xp.exp(x), axis=1, keepdims=True))


_IDENTITY = {"max": -np.inf, "min": np.inf}
"""max and min have no identity, so a mask needs an ``initial`` (NumPy and JAX raise without one)."""

for _name, (_, _analytic, _second) in _VARIANT_OF.items():
    _extra = {"initial": _IDENTITY[_name]} if _name in _IDENTITY else {}
    _shown = ", initial=" + ("-inf" if _name == "max" else "inf") if _extra else ""
    function(f"{_name} (where=mask{_shown})", "reduction", (POS_MASKED if _name == "prod" else MASKED,),
             (_name,), analytic=_analytic, second=_second, entry_name=f"fn_{_name}_where",
             keywords=(f"{_name}(where=)", *([f"{_name}(initial=)"] if _extra else [])),
             note="over axis 1 of a 3 x 4 matrix with a fixed mask keeping 3, 2 and 3 entries: masked entries get a zero "
                  "derivative; not the standard's keyword but NumPy's and JAX's" + _KINK_NOTE.get(_name, ""),
             **_kinks(_name, 1, MASK))(_masked(_name, **_extra))

_CUMULATIVE: tuple[tuple[str, bool, tuple[Any, ...], tuple[Any, ...]], ...] = (
    # name, second order, declared points of the vector and of the matrix rows
    ("cumulative_sum", False, (), ()), ("cumulative_prod", True, _CUMPROD_ZEROS, _CUMPROD_ZEROS_MATRIX))

for _name, _second, _vector_points, _matrix_points in _CUMULATIVE:
    function(f"{_name} (axis=-1)", "reduction", (Arg((3, 3)),), (_name,), mixed=False, second=_second,
             points=_matrix_points, entry_name=f"fn_{_name}_axis_last",
             note="along the last axis of a 3 x 3 matrix: square, so scanning the wrong axis gives the right shape")(_reduce(_name, axis=-1))
    function(f"{_name} (include_initial=True)", "reduction", (V3,), (_name,), mixed=False, second=_second,
             points=_vector_points, entry_name=f"fn_{_name}_include_initial", keywords=(f"{_name}(include_initial=)",),
             note="the standard's include_initial (2024.12): the identity first, then n partial results; the first "
                  "output's derivative is zero")(_reduce(_name, include_initial=True))


# --- linear algebra -------------------------------------------------------------------------


@function("matmul", "linalg", (M33, M33), second=False)
def _matmul(xp: Any, a: Any, b: Any) -> Any:
    return xp.matmul(a, b)


@function("tensordot", "linalg", (Arg((3, 2, 2), low=-1.0, high=1.0), Arg((2, 2, 3), low=-1.0, high=1.0)),
          second=False,          note="axes=2: contracts two axes at once")
def _tensordot(xp: Any, a: Any, b: Any) -> Any:
    return xp.tensordot(a, b, axes=2)


@function("vecdot", "linalg", (M34, M34), analytic=False, mixed=True, second=False,
          note="the standard conjugates x1, so it is not holomorphic: finite differences")
def _vecdot(xp: Any, a: Any, b: Any) -> Any:
    return xp.vecdot(a, b, axis=-1)


@function("linalg.solve", "linalg", (BOOSTED, M33), note="diagonally dominant matrices (condition below ~10)")
def _solve(xp: Any, a: Any, b: Any) -> Any:
    return xp.linalg.solve(a, b)


@function("linalg.inv", "linalg", (BOOSTED,))
def _inv(xp: Any, a: Any) -> Any:
    return xp.linalg.inv(a)


@function("linalg.det", "linalg", (BOOSTED,))
def _det(xp: Any, a: Any) -> Any:
    return xp.linalg.det(a)


@function("linalg.slogdet", "linalg", (BOOSTED,), analytic=False,
          note="logabsdet takes |det|: not holomorphic; diagonally dominant draws keep det away from 0")
def _slogdet(xp: Any, a: Any) -> Any:
    return xp.linalg.slogdet(a)[1]


@function("linalg.cholesky", "linalg", (M33,), analytic=False,
          note="of X X^T + 3 I (positive definite for every draw); complex Cholesky is Hermitian: not holomorphic")
def _cholesky(xp: Any, x: Any) -> Any:
    return xp.linalg.cholesky(x @ x.T + const(xp, 3.0 * np.eye(3), x))


def _sym_gaps(x: Any) -> bool:
    x = np.asarray(x)
    return _gaps(np.linalg.eigvalsh((x + x.T) / 2))


@function("linalg.eigh", "linalg", (M33,), analytic=False, valid=_sym_gaps,
          note="V diag(w^2) V^T of (X + X^T)/2: invariant to eigenvector signs; eigenvalues kept apart")
def _eigh(xp: Any, x: Any) -> Any:
    w, v = xp.linalg.eigh((x + x.T) / 2.0)
    return (v * (w * w)) @ v.T


def _in(arg: Arg, x: Any) -> bool:
    return bool(((np.asarray(x) >= arg.low) & (np.asarray(x) <= arg.high)).all())


SPECTRAL_STEP = 5 * KINK_MARGIN
"""What the spectral constructs space values to: past the 4-margin gaps their rows' ``valid`` asks for."""


def _qr_ok(x: Any) -> bool:
    return _in(M33, x) and bool(np.abs(np.diag(np.linalg.qr(np.asarray(x))[1])).min() > 4 * KINK_MARGIN)


def _qr_construct(x: Any) -> tuple[Any]:
    """|r_jj| raised to SPECTRAL_STEP where it is smaller: column j of X plus (r_jj' - r_jj) q_j, which leaves Q and
    every other entry of R as they are.  Draws that then leave the domain are the filter's to reject."""
    x = np.asarray(x, dtype=np.float64)
    q, r = np.linalg.qr(x)
    d = np.diag(r)
    target = np.where(np.abs(d) < SPECTRAL_STEP, np.where(d < 0, -SPECTRAL_STEP, SPECTRAL_STEP), d)
    return (x + q * (target - d),)


@function("linalg.qr", "linalg", (M33,), analytic=False, valid=_qr_ok, construct=_qr_construct,
          note="Q diag(r_ii): a sign flip of a column of Q comes with the same row of R and cancels")
def _qr(xp: Any, x: Any) -> Any:
    q, r = xp.linalg.qr(x)
    return q * xp.sum(r * const(xp, np.eye(3), r), axis=0)


def _svd_ok(x: Any) -> bool:
    s = np.linalg.svd(np.asarray(x), compute_uv=False)
    return _in(M33, x) and _gaps(s) and bool(s.min() > 4 * KINK_MARGIN)


def _svd_construct(x: Any) -> tuple[Any]:
    """U diag(s') V^T with the singular values spread from the smallest up: each at least SPECTRAL_STEP, and
    SPECTRAL_STEP above the next smaller (the filter kept 31 % of raw draws).  Draws that then leave the domain
    are the filter's to reject."""
    u, s, vh = np.linalg.svd(np.asarray(x, dtype=np.float64))
    spread = s.copy()
    spread[-1] = max(spread[-1], SPECTRAL_STEP)
    for i in range(len(spread) - 2, -1, -1):
        spread[i] = max(spread[i], spread[i + 1] + SPECTRAL_STEP)
    return ((u * spread) @ vh,)


@function("linalg.svd", "linalg", (M33,), analytic=False, valid=_svd_ok, construct=_svd_construct,
          note="U diag(s^2) V^T: invariant to singular-pair signs; singular values kept apart and from 0")
def _svd(xp: Any, x: Any) -> Any:
    u, s, vh = xp.linalg.svd(x, full_matrices=False)
    return (u * (s * s)) @ vh


@function("linalg.matrix_norm", "linalg", (M33,), analytic=False, valid=lambda x: _not_small(x),
          note="Frobenius norm, kink at 0: draws keep the norm above 0.2; |.| is not holomorphic")
def _matrix_norm(xp: Any, x: Any) -> Any:
    return xp.linalg.matrix_norm(x, ord="fro")


def _not_small(x: Any) -> bool:
    return bool(np.linalg.norm(np.asarray(x)) > 4 * KINK_MARGIN)


@function("linalg.vector_norm", "linalg", (V3,), analytic=False, valid=_not_small,
          note="2-norm, kink at 0: draws keep the norm above 0.2")
def _vector_norm(xp: Any, x: Any) -> Any:
    return xp.linalg.vector_norm(x)


@function("linalg.trace", "linalg", (M33,), second=False)
def _trace(xp: Any, x: Any) -> Any:
    return xp.linalg.trace(x)


@function("linalg.outer", "linalg", (V3, V3), second=False)
def _outer(xp: Any, x: Any, y: Any) -> Any:
    return xp.linalg.outer(x, y)


@function("linalg.cross", "linalg", (V3, V3), second=False, note="d(x cross y)/dx is the skew matrix of y: square, non-symmetric")
def _cross(xp: Any, x: Any, y: Any) -> Any:
    return xp.linalg.cross(x, y)


# --- manipulation (linear: no hessian) -------------------------------------------------------

_T3 = Arg((2, 3, 2))


def _manip(name: str, args: tuple[Arg, ...], note: str = "", uses: tuple[str, ...] | None = None
           ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    sorting = name.split(" ", 1)[0] in ("sort", "argsort")
    return function(name, "manipulation", args, uses, second=False, note=note, analytic=not sorting,
                    valid=_sortable if sorting else None, construct=_sortable_construct if sorting else None)


@_manip("reshape", (Arg((2, 3)),))
def _reshape(xp: Any, x: Any) -> Any:
    return xp.reshape(x, (3, 2))


@_manip("permute_dims", (_T3,))
def _permute_dims(xp: Any, x: Any) -> Any:
    return xp.permute_dims(x, (2, 0, 1))


@_manip("flip", (Arg((2, 3)),))
def _flip(xp: Any, x: Any) -> Any:
    return xp.flip(x, axis=1)


@_manip("roll", (Arg((4,)),), note="shift=1: a cyclic permutation")
def _roll(xp: Any, x: Any) -> Any:
    return xp.roll(x, 1)


@_manip("concat", (Arg((2,)), V3))
def _concat(xp: Any, x: Any, y: Any) -> Any:
    return xp.concat([x, y], axis=0)


@_manip("stack", (V3, V3))
def _stack(xp: Any, x: Any, y: Any) -> Any:
    return xp.stack([x, y], axis=1)


@_manip("take", (Arg((4,)),), note="indices [2, 0, 3, 3]: one dropped, one repeated (the pullback must add)")
def _take(xp: Any, x: Any) -> Any:
    return xp.take(x, xp.asarray(np.array([2, 0, 3, 3])), axis=0)


@_manip("where", (V3, V3), note="a fixed condition [True, False, True]")
def _where(xp: Any, x: Any, y: Any) -> Any:
    return xp.where(xp.asarray(np.array([True, False, True])), x, y)


@_manip("broadcast_to", (V3,))
def _broadcast_to(xp: Any, x: Any) -> Any:
    return xp.broadcast_to(x, (2, 3))


@_manip("expand_dims", (V3,))
def _expand_dims(xp: Any, x: Any) -> Any:
    return xp.expand_dims(x, axis=0)


@_manip("squeeze", (Arg((1, 3)),))
def _squeeze(xp: Any, x: Any) -> Any:
    return xp.squeeze(x, axis=0)


@_manip("moveaxis", (_T3,))
def _moveaxis(xp: Any, x: Any) -> Any:
    return xp.moveaxis(x, 0, -1)


@_manip("tile", (V3,))
def _tile(xp: Any, x: Any) -> Any:
    return xp.tile(x, (2,))


@_manip("repeat", (V3,), note="repeats=2, axis=0")
def _repeat(xp: Any, x: Any) -> Any:
    return xp.repeat(x, 2, axis=0)


# --- sorting: a permutation drawn with the input ------------------------------------------------


def involution(perm: np.ndarray) -> bool:
    """Whether the index permutation is its own inverse (the identity, a swap, two swaps ...).

    On an involution a reverse rule that gathers the cotangent by the permutation, instead of scattering it
    by the permutation (gathering by its inverse), gives the right answer: the permutation rows must draw
    permutations that are not."""
    perm = np.asarray(perm)
    return bool((perm[perm] == np.arange(perm.size)).all())


def _sortable(x: Any) -> bool:
    """Entries apart by more than KINK_MARGIN (sort's kinks are ties), and the sorting permutation no involution."""
    x = np.asarray(x)
    order = np.argsort(x, kind="stable")
    return bool((np.diff(x[order]) > KINK_MARGIN).all()) and not involution(order)


def _sortable_construct(x: Any, low: float = -2.0, high: float = 2.0) -> tuple[Any]:
    """The drawn values, spread PUSH apart (squeezed back into the domain if spreading left it), placed in the
    drawn order, or, where that order sorts by an involution, in the first non-involution among its rotations
    (the last, a rotation of the identity, is a cycle)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    values = x[order]
    for i in range(1, values.size):
        values[i] = max(values[i], values[i - 1] + 2 * KINK_MARGIN)
    values -= max(values[-1] - high, 0.0)
    if values[0] < low:
        values = low + (values - values[0]) * (high - low) / (values[-1] - values[0])
    candidates = [np.roll(order, k) for k in range(order.size)] + [np.roll(np.arange(order.size), 1)]
    perm = next(p for p in candidates if not involution(p))
    out = np.empty_like(values)
    out[perm] = values  # the i-th smallest at perm[i]: argsort(out) is perm
    return (out,)


_SORT_NOTE = ("4 entries kept apart (ties are sort's kinks) and drawn so that the sorting permutation is not its own "
              "inverse: a reverse rule gathering by the permutation instead of scattering by it passes on involutions")


@_manip("sort", (Arg((4,)),), note=_SORT_NOTE)
def _sort(xp: Any, x: Any) -> Any:
    return xp.sort(x)


@_manip("argsort (composition)", (Arg((4,)),), uses=("take_along_axis", "argsort"),
        note="take_along_axis(x, argsort(x)): the gather by a drawn permutation user code writes; " + _SORT_NOTE)
def _argsort(xp: Any, x: Any) -> Any:
    return xp.take_along_axis(x, xp.argsort(x), axis=-1)


# --- everyday functions outside the standard, under each library's own name (conformance/battery/everyday.py) -----------

for _row in everyday.ROWS:
    function(f"{_row.name} (library)", _row.category, _row.args, (), analytic=_row.analytic, second=_row.second,
             valid=_row.valid, construct=_row.construct, entry_name=f"fn_lib_{_row.name}", library=_row.name,
             note=_row.note)(_row.op)

# --- the fft extension: transforms over subsets of axes, each norm (conformance/battery/fft_rows.py) ----------------

for _fft in fft_rows.ROWS:
    function(_fft.name, _fft.category, _fft.args, _fft.uses, analytic=False, mixed=False, second=_fft.second,
             entry_name=_fft.entry, keywords=_fft.keywords, note=_fft.note)(_fft.op)


# --- aliases: the same functions under the other names libraries export (backends/aliases.py) ----------------


class _Renamed:
    """A namespace in which the standard name ``std`` (a getattr path) reads as ``alias``: a standard row's own code,
    run on it, calls the alias and nothing else changes (the arguments, the mixing, the domain)."""

    def __init__(self, xp: Any, std: str, alias: str, prefix: str = "") -> None:
        self._xp, self._std, self._alias, self._prefix = xp, std, alias, prefix

    def __getattr__(self, name: str) -> Any:
        path = self._prefix + name
        if path == self._std:
            found = resolve(self._xp, self._alias)
            if found is None:
                raise AttributeError(f"the namespace has no {self._alias} (the alias this row checks)")
            return _ALIAS_CALL.get(self._alias, _as_is)(found)
        if self._std.startswith(path + "."):
            return _Renamed(self._xp, self._std, self._alias, path + ".")
        found = resolve(self._xp, path)
        if found is None:
            raise AttributeError(path)
        return found


def _as_is(fn: Callable[..., Any]) -> Callable[..., Any]:
    return fn


def _along_axis_0(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(x: Any) -> Any:
        return fn(x, axis=0)

    return call


_ALIAS_CALL: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {"cumsum": _along_axis_0, "cumprod": _along_axis_0}
"""Aliases whose standard call differs: the older cumulative names flatten without an axis, and torch's take
``dim`` as required (``axis`` is its keyword alias), so the rows pass the 1-d axis explicitly."""


def _alias_row(std: Function, alias: str) -> Function:
    """The row that checks ``std``'s function under ``alias``: its domain, points and flags, its code on a renamed
    namespace.  A library without the alias skips it (saying so, not that it lacks the function)."""
    key = "fn_" + alias.replace("linalg.", "linalg_")
    std_fn = std.entry.fn

    def fn(xp: Any, *a: Any) -> Any:
        return std_fn(_Renamed(xp, std.name, alias), *a)

    fn.__name__ = fn.__qualname__ = key
    name = f"{alias} (alias of {std.name})"
    e = std.entry
    tags = frozenset({*e.tags - {f"std:{std.name}"}, f"std:{name}", "alias"})
    entry = dataclasses.replace(e, name=key, fn=fn, tags=tags)
    uses = tuple(alias if u == std.name else u for u in std.uses)
    return Function(name, std.category, uses, entry, std.second, f"the same function as {std.name}", alias_of=std.name)


for _std, _aliases in ALIASES.items():
    for _alias in _aliases:
        _row = _alias_row(FUNCTIONS_TABLE["fn_" + _std.replace("linalg.", "linalg_")], _alias)
        FUNCTIONS_TABLE[_row.entry.name] = _row

FUNCTIONS: tuple[Entry, ...] = tuple(f.entry for f in FUNCTIONS_TABLE.values())
"""The spec family's entries, one per standard function."""


def row(entry: Entry) -> Function:
    """The table row of one of :data:`FUNCTIONS`' entries."""
    try:
        return FUNCTIONS_TABLE[entry.name]
    except KeyError:
        raise KeyError(f"{entry.name!r} is not a row of the function table (conformance/battery/functions.py)") from None


def missing_names(xp: Any, uses: tuple[str, ...]) -> list[str]:
    """The names of ``uses`` (getattr paths, e.g. ``linalg.solve``) that namespace ``xp`` lacks."""
    missing = []
    for path in (*uses, *INFRASTRUCTURE):
        obj = xp
        for part in path.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                missing.append(path)
                break
    return missing
