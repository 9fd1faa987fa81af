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

from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.battery.constants import const
from conformance.battery.draw_margins import (
    KINK_MARGIN as KINK_MARGIN,  # re-exported: the battery imports them from here
)
from conformance.battery.draw_margins import PUSH as PUSH
from conformance.battery.draw_margins import pull_apart as pull_apart
from conformance.battery.draw_margins import push_away as push_away
from conformance.battery.draw_margins import widen_top_gap as widen_top_gap
from conformance.battery.entry import Arg as Arg
from conformance.battery.entry import ArgKind as ArgKind
from conformance.battery.entry import Entry as Entry

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


def _mix_tanh(xp: Any, x: Any) -> Any:
    return xp.tanh(xp.matmul(const(xp, MIX, x), x))


def _lift_tall(xp: Any, x: Any) -> Any:
    z = xp.matmul(const(xp, LIFT, x), x)
    return xp.sin(z) + 0.5 * z * z


def _squash_wide(xp: Any, x: Any) -> Any:
    return xp.tanh(xp.matmul(const(xp, SQUASH, x), x))


def _coupled_scalar(xp: Any, x: Any) -> Any:
    # softplus of a mixed vector, weighted: a dense, non-constant Hessian (M^T diag(s') M, s' varying).
    z = xp.matmul(const(xp, MIX, x), x)
    return xp.sum(xp.log(1.0 + xp.exp(z)) * const(xp, np.array([1.0, -0.5, 2.0]), x))


def _tensor3(xp: Any, x: Any) -> Any:
    # A 3-d input reduced over its middle axis: output (2, 2), Jacobian of rank 5.
    return xp.sum(xp.sin(x) * x, axis=1)


VEC = Arg((4,))


def _away_from_zero(x: Any) -> bool:
    return bool((abs(x) > KINK_MARGIN).all())


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
