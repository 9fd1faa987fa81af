"""The function catalog: every test function written once against the array API.

Each entry is ``fn(xp, *args)`` where ``xp`` is an array namespace (the
backend's, through array-api-compat).  The NumPy reference evaluates the same
code on complex arrays for complex-step derivatives, so analytic entries must
stay holomorphic in their inputs: no ``abs``, ``max`` or comparisons unless the
entry is declared non-analytic.

Each argument declares its domain, so that hypothesis draws only inputs where
the function is defined and well conditioned (positive for ``log``/``sqrt``,
diagonally dominant matrices for ``solve``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

ArgKind = Literal["array", "pair", "dict"]


@dataclasses.dataclass(frozen=True)
class Arg:
    """One positional argument: a float array, or a pytree of two arrays."""

    shape: tuple[int, ...]
    low: float = -2.0
    high: float = 2.0
    kind: ArgKind = "array"
    diag_boost: float = 0.0
    """Added to the diagonal of a square matrix so that ``solve`` stays well conditioned."""
    keys: tuple[str, str] = ("b", "w")
    """A ``dict`` argument's keys in insertion order.  ``("w", "b")`` is not sorted: a library that pairs
    dict leaves by position instead of by key is right whenever the two orders agree, so one entry must
    make them differ."""


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    fn: Callable[..., Any]
    args: tuple[Arg, ...]
    analytic: bool = True
    """Holomorphic extension exists, so complex step is exact to rounding."""
    scalar_output: bool = False
    has_aux: bool = False
    """``fn`` returns ``(output, aux)``."""
    control_flow: bool = False
    """Python ``if`` on an array value: fine eagerly, an error under vmap."""
    tags: frozenset[str] = frozenset()
    kinks: tuple[tuple[Any, ...], ...] = ()
    """Non-smooth points (arguments as nested lists) where libraries may legitimately differ."""
    subgradient: Callable[..., Any] | None = None
    """``subgradient(*args)`` -> (low, high) bounds every valid gradient at a kink lies between."""
    branches: tuple[Callable[..., Any], Callable[..., Any]] | None = None
    """``(true_fn, false_fn)``, each ``fn(xp, *args)``, for the cond specs; ``predicate(xp, *args)`` picks one."""
    predicate: Callable[..., Any] | None = None
    valid: Callable[..., bool] | None = None
    """Rejects drawn inputs too close to a kink or a branch switch (finite differences straddle it)."""
    construct: Callable[..., tuple[Any, ...]] | None = None
    """Maps any draw of the argument domains onto a ``valid`` input (``construct(*args) -> args``), applied before
    ``valid`` filters: an entry whose filter would reject most draws draws constructively instead, so no seed
    can filter every example away (hypothesis's ``Unsatisfiable``, which then depends on the check's id and so
    on a backend's name).  It moves only the entries that ``valid`` would reject, so the rest of the draw
    distribution (:mod:`conformance.draws`) is kept; ``tests/test_draw_health.py`` measures what it leaves
    to the filter."""
    points: tuple[tuple[Any, ...], ...] = ()
    """Argument tuples (nested lists, one per argument) where the function is smooth but implementations
    commonly branch: ties of a max/min-based formula (``hypot`` computed as ``max * sqrt(1 + (min/max)^2)``
    for overflow safety), a zero component.  Random draws almost never land on such a set (it has measure
    zero), so the inputs strategy draws them on purpose: always first (hypothesis's simplest example, so the
    ci profile's three examples include one), and one draw in :data:`conformance.strategies.POINT_ODDS`
    after.  Each point must pass ``valid`` and be exact in float32 (a test checks both)."""

    def bind(self, xp: Any) -> Callable[..., Any]:
        """The entry as a plain function of arrays, for one namespace."""
        fn = self.fn

        def bound(*args: Any) -> Any:
            return fn(xp, *args)

        bound.__name__ = self.name
        bound.__qualname__ = self.name
        bound.analytic = self.analytic  # type: ignore[attr-defined]  # read by the NumPy reference
        return bound

    @property
    def arity(self) -> int:
        return len(self.args)


# --- the functions ----------------------------------------------------------------


def _sin_sum(xp: Any, x: Any) -> Any:
    return xp.sum(xp.sin(x))


def _exp_mean(xp: Any, x: Any) -> Any:
    return xp.mean(xp.exp(x))


def _log_sum(xp: Any, x: Any) -> Any:
    return xp.sum(xp.log(x))


def _tanh_vec(xp: Any, x: Any) -> Any:
    return xp.tanh(x)


def _power(xp: Any, x: Any) -> Any:
    return xp.sum(x**3 - 2.0 * x**2)


def _sqrt_vec(xp: Any, x: Any) -> Any:
    return xp.sqrt(x)


def _prod(xp: Any, x: Any) -> Any:
    return xp.prod(x)


def _logsumexp(xp: Any, x: Any) -> Any:
    # No max-shift: the domain keeps exp finite, and the shift would break complex step.
    return xp.log(xp.sum(xp.exp(x)))


def _sin_cos_vec(xp: Any, x: Any) -> Any:
    return xp.sin(x) * xp.cos(2.0 * x)


def _matvec(xp: Any, a: Any, x: Any) -> Any:
    return xp.tanh(xp.matmul(a, x))


def _quadratic(xp: Any, a: Any, x: Any) -> Any:
    return xp.sum(x * xp.matmul(a, x))


def _solve(xp: Any, a: Any, b: Any) -> Any:
    return xp.linalg.solve(a, b[..., None])[..., 0]


def _two_args(xp: Any, x: Any, y: Any) -> Any:
    return xp.sum(xp.sin(x) * y**2)


def _pair_input(xp: Any, p: Any) -> Any:
    a, b = p
    return xp.sum(a * xp.exp(b))


def _dict_input(xp: Any, d: Any) -> Any:
    return xp.sum(d["w"] * xp.cos(d["b"]))


def _tuple_output(xp: Any, x: Any) -> Any:
    return (xp.sin(x), xp.sum(x**2))


def _dict_output(xp: Any, x: Any) -> Any:
    return {"s": xp.sum(xp.exp(x)), "v": x * 3.0}


def _with_aux(xp: Any, x: Any) -> Any:
    y = xp.sum(xp.sin(x) ** 2)
    return y, xp.cos(x)


def _square(xp: Any, x: Any) -> Any:
    return x * x


def _square_if_even(xp: Any, x: Any) -> Any:
    if x % 2 == 0:
        return x * x
    return x


def _branch_on_sum(xp: Any, x: Any) -> Any:
    if xp.sum(x) > 0:
        return xp.sum(x**2)
    return xp.sum(xp.sin(x))


def _abs_sum(xp: Any, x: Any) -> Any:
    return xp.sum(xp.abs(x))


def _relu_sum(xp: Any, x: Any) -> Any:
    return xp.sum(xp.where(x > 0, x, xp.zeros_like(x)))


def _max(xp: Any, x: Any) -> Any:
    return xp.max(x)


# Fixed mixing matrices for the shape-class entries: non-symmetric, no zero pattern, entries small enough
# that tanh stays out of saturation over the drawn domain.  A Jacobian through them is dense and square
# non-symmetric (MIX), tall (LIFT, 4x2) or wide (SQUASH, 2x4), so a transposed or permuted Jacobian,
# gradient or cotangent cannot pass by symmetry or by a diagonal's invariance.
MIX = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.45], [-0.25, 0.15, 0.35]])
LIFT = np.array([[0.6, -0.2], [0.3, 0.5], [-0.4, 0.1], [0.2, -0.35]])
SQUASH = np.array([[0.3, -0.5, 0.1, 0.25], [-0.2, 0.15, 0.45, -0.1]])


def _const(xp: Any, m: np.ndarray, like: Any) -> Any:
    return xp.asarray(m, dtype=like.dtype)


def _mix_tanh(xp: Any, x: Any) -> Any:
    return xp.tanh(xp.matmul(_const(xp, MIX, x), x))


def _lift_tall(xp: Any, x: Any) -> Any:
    z = xp.matmul(_const(xp, LIFT, x), x)
    return xp.sin(z) + 0.5 * z * z


def _squash_wide(xp: Any, x: Any) -> Any:
    return xp.tanh(xp.matmul(_const(xp, SQUASH, x), x))


def _coupled_scalar(xp: Any, x: Any) -> Any:
    # softplus of a mixed vector, weighted: a dense, non-constant Hessian (M^T diag(s') M, s' varying).
    z = xp.matmul(_const(xp, MIX, x), x)
    return xp.sum(xp.log(1.0 + xp.exp(z)) * _const(xp, np.array([1.0, -0.5, 2.0]), x))


def _tensor3(xp: Any, x: Any) -> Any:
    # A 3-d input reduced over its middle axis: output (2, 2), Jacobian of rank 5.
    return xp.sum(xp.sin(x) * x, axis=1)


KINK_MARGIN = 0.05
"""Drawn entries stay this far from kinks, per entry: the reference's finite-difference steps (at most
2**-6, two of them when nested) move each entry by less.  A kink in a function of ``n`` entries together
(a branch on ``sum(x)``) needs ``n`` times the margin: a step along a dense direction moves each entry by
up to one step, so their sum by up to ``n`` (the false alarm of seed 8: ``sum(x) = 0.0625``, one step
of 2**-6 along ``(1, 1, 1, 1)`` reached the branch, and the reference differenced across it)."""

VEC = Arg((4,))


def _away_from_zero(x: Any) -> bool:
    return bool((abs(x) > KINK_MARGIN).all())


PUSH = 2 * KINK_MARGIN
"""How far :func:`push_away` and :func:`pull_apart` move an entry from the point it was too close to: twice the
margin, so rounding to float32 afterwards cannot bring it back inside."""


def push_away(*points: float, low: float = -2.0, high: float = 2.0) -> Callable[..., tuple[Any, ...]]:
    """A ``construct`` for "every entry at least KINK_MARGIN from each of ``points``": each entry within the
    margin of a point moves to ``point +- PUSH`` on its own side (a signed zero's side for the point 0), or on
    the other side where its own leaves ``[low, high]``.  Entries already far enough are not touched."""

    def construct(*args: Any) -> tuple[Any, ...]:
        return tuple(_pushed(np.asarray(a, dtype=np.float64), points, low, high) for a in args)

    return construct


def _pushed(a: np.ndarray, points: tuple[float, ...], low: float, high: float) -> np.ndarray:
    out = a.copy()
    for p in points:
        near = np.abs(out - p) <= KINK_MARGIN
        side = np.where(out - p != 0, np.sign(out - p), np.copysign(1.0, out) if p == 0 else 1.0)
        moved = p + side * PUSH
        moved = np.where((moved < low) | (moved > high), p - side * PUSH, moved)
        out = np.where(near, moved, out)
    return out


def pull_apart(a: Any, b: Any, low: float = -2.0, high: float = 2.0) -> tuple[Any, Any]:
    """A ``construct`` for "a and b apart by more than KINK_MARGIN, entry by entry" (the kink of max(a, b)):
    where they are too close, b moves to ``a +- PUSH`` on its own side of a (or the other, at the domain's edge)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    near = np.abs(a - b) <= KINK_MARGIN
    side = np.where(b - a != 0, np.sign(b - a), 1.0)
    moved = a + side * PUSH
    moved = np.where((moved < low) | (moved > high), a - side * PUSH, moved)
    return a, np.where(near, moved, b)


def widen_top_gap(sign: float, low: float = -2.0, high: float = 2.0) -> Callable[[Any], tuple[Any]]:
    """A ``construct`` for "the largest entry (``sign=-1``: the smallest) of each row ahead of the next by more
    than KINK_MARGIN" (the kink of max at ties): where the gap is too small, the leader moves PUSH past the
    runner-up, or, at the domain's edge, the runner-up moves PUSH behind the leader."""

    top = high if sign > 0 else -low  # the domain's edge on the leader's side, in the flipped coordinates

    def construct(x: Any) -> tuple[Any]:
        rows = np.array(sign * np.asarray(x, dtype=np.float64), ndmin=2)
        for r in rows:
            order = np.argsort(r, kind="stable")
            first, second = order[-1], order[-2]
            if r[first] - r[second] > KINK_MARGIN:
                continue
            if r[second] + PUSH <= top:
                r[first] = r[second] + PUSH
            else:
                r[second] = r[first] - PUSH
        return (sign * rows.reshape(np.shape(x)),)

    return construct


_OFF_ZERO = push_away(0.0)
"""The construct of the default ``valid`` of :func:`_nonsmooth` (every entry away from the kink at 0)."""


def _nonsmooth(
    name: str,
    fn: Callable[..., Any],
    kink: list[float],
    subgradient: Callable[..., Any],
    valid: Callable[..., bool] = _away_from_zero,
    construct: Callable[..., tuple[Any, ...]] | None = None,
) -> Entry:
    """A scalar function of one 4-vector with a kink: random draws stay clear of it, the kink spec visits it."""
    return Entry(
        name, fn, (VEC,), analytic=False, scalar_output=True, tags=frozenset({"nonsmooth"}),
        kinks=((kink,),), valid=valid, subgradient=subgradient, construct=construct or _OFF_ZERO,
    )
POS = Arg((4,), low=0.25, high=3.0)
MAT = Arg((3, 3), low=-1.0, high=1.0)
SOLVE_MAT = Arg((3, 3), low=-1.0, high=1.0, diag_boost=4.0)
VEC3 = Arg((3,))

CATALOG: tuple[Entry, ...] = (
    Entry("sin_sum", _sin_sum, (VEC,), scalar_output=True, tags=frozenset({"elementwise", "reduction"})),
    Entry("exp_mean", _exp_mean, (VEC,), scalar_output=True, tags=frozenset({"elementwise", "reduction"})),
    Entry("log_sum", _log_sum, (POS,), scalar_output=True, tags=frozenset({"elementwise", "reduction"})),
    Entry("tanh_vec", _tanh_vec, (VEC,), tags=frozenset({"elementwise", "probe"})),
    Entry("power_sum", _power, (VEC,), scalar_output=True, tags=frozenset({"elementwise", "reduction"})),
    Entry("sqrt_vec", _sqrt_vec, (POS,), tags=frozenset({"elementwise"})),
    Entry("prod", _prod, (Arg((4,), low=0.5, high=2.0),), scalar_output=True, tags=frozenset({"reduction"})),
    Entry("logsumexp", _logsumexp, (VEC,), scalar_output=True, tags=frozenset({"reduction", "probe"})),
    Entry("sin_cos_vec", _sin_cos_vec, (VEC,), tags=frozenset({"elementwise"})),
    Entry("matvec_tanh", _matvec, (MAT, VEC3), tags=frozenset({"linalg", "multi_arg", "probe"})),
    Entry("quadratic_form", _quadratic, (MAT, VEC3), scalar_output=True, tags=frozenset({"linalg", "multi_arg"})),
    Entry("solve", _solve, (SOLVE_MAT, VEC3), tags=frozenset({"linalg", "multi_arg"})),
    Entry("two_args", _two_args, (VEC, VEC), scalar_output=True, tags=frozenset({"multi_arg"})),
    Entry("pair_input", _pair_input, (Arg((3,), kind="pair"),), scalar_output=True, tags=frozenset({"pytree"})),
    Entry("dict_input", _dict_input, (Arg((3,), kind="dict"),), scalar_output=True, tags=frozenset({"pytree"})),
    Entry("dict_input_wb", _dict_input, (Arg((3,), kind="dict", keys=("w", "b")),), scalar_output=True,
          tags=frozenset({"pytree"})),
    Entry("tuple_output", _tuple_output, (VEC3,), tags=frozenset({"pytree"})),
    Entry("dict_output", _dict_output, (VEC3,), tags=frozenset({"pytree"})),
    # Shape classes: dense square non-symmetric, tall and wide Jacobians for a single int argnums, a dense
    # non-quadratic Hessian, and a 3-d input.
    Entry("mix_tanh", _mix_tanh, (VEC3,), tags=frozenset({"shape_class", "probe"})),
    Entry("lift_tall", _lift_tall, (Arg((2,)),), tags=frozenset({"shape_class"})),
    Entry("squash_wide", _squash_wide, (VEC,), tags=frozenset({"shape_class"})),
    Entry("coupled_scalar", _coupled_scalar, (VEC3,), scalar_output=True, tags=frozenset({"shape_class"})),
    Entry("tensor3", _tensor3, (Arg((2, 3, 2), low=-1.5, high=1.5),), tags=frozenset({"shape_class", "probe"})),
    Entry("with_aux", _with_aux, (VEC,), scalar_output=True, has_aux=True, tags=frozenset({"aux"})),
    Entry("square", _square, (Arg(()),), scalar_output=True, tags=frozenset({"article"})),
    Entry(
        "square_if_even",
        _square_if_even,
        (Arg((), low=-6.0, high=6.0),),
        analytic=False,
        scalar_output=True,
        control_flow=True,
        tags=frozenset({"article", "control_flow"}),
        valid=lambda x: abs(float(x) / 2.0 - round(float(x) / 2.0)) > KINK_MARGIN,
    ),
    Entry(
        "branch_on_sum",
        _branch_on_sum,
        (VEC,),
        analytic=False,
        scalar_output=True,
        control_flow=True,
        tags=frozenset({"control_flow"}),
        valid=lambda x: abs(float(x.sum())) > x.size * KINK_MARGIN,
        branches=(lambda xp, x: xp.sum(x**2), lambda xp, x: xp.sum(xp.sin(x))),
        predicate=lambda xp, x: xp.sum(x) > 0,
    ),
    _nonsmooth(
        "abs_sum",
        _abs_sum,
        kink=[0.0, 1.0, -1.0, 0.5],
        subgradient=lambda x: ([-1.0 if v == 0 else float(np.sign(v)) for v in x], [1.0 if v == 0 else float(np.sign(v)) for v in x]),
    ),
    _nonsmooth(
        "relu_sum",
        _relu_sum,
        kink=[0.0, 1.0, -1.0, 0.5],
        subgradient=lambda x: ([0.0 if v <= 0 else 1.0 for v in x], [1.0 if v >= 0 else 0.0 for v in x]),
    ),
    _nonsmooth(
        "max_ties",
        _max,
        kink=[1.0, 1.0, -1.0, 0.5],
        # Any convex combination over the tied maxima is a valid subgradient; bound it coordinatewise.
        subgradient=lambda x: ([0.0] * len(x), [1.0 if v == max(x) else 0.0 for v in x]),
        valid=lambda x: bool(sorted(x)[-1] - sorted(x)[-2] > KINK_MARGIN),
        construct=widen_top_gap(1.0),
    ),
)



def _tanh_rnn(xp: Any, carry: Any, x: Any) -> Any:
    new = xp.tanh(0.5 * carry + x)
    return new, xp.sum(new**2)


def _pair_carry(xp: Any, carry: Any, x: Any) -> Any:
    a, b = carry
    a2 = a * xp.cos(x) + b
    b2 = b * xp.exp(-(x**2))
    return (a2, b2), {"p": a2 * b2}


SCAN_BODIES: tuple[Entry, ...] = (
    # args: (carry, one step of xs); the scan specs stack SCAN_LENGTH steps.
    Entry("scan_tanh_rnn", _tanh_rnn, (Arg((3,)), Arg((3,))), tags=frozenset({"scan_body"})),
    Entry("scan_pair_carry", _pair_carry, (Arg((2,), kind="pair"), Arg((2,))), tags=frozenset({"scan_body", "pytree"})),
)
SCAN_LENGTH = 4

BY_NAME: dict[str, Entry] = {e.name: e for e in CATALOG + SCAN_BODIES}


def get(name: str) -> Entry:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no catalog entry {name!r}; known: {sorted(BY_NAME)}") from None
