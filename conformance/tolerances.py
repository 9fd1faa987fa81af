"""The tolerance policy: one table per dtype and kind of quantity, each row with its reason.

Comparisons are norm-wise per pytree leaf: a leaf passes when
``max|actual - expected| <= atol + rtol * max|expected|``.  Norm-wise rather
than element-wise because a gradient entry that cancels to nearly zero carries
the absolute rounding error of its larger neighbours; an element-wise relative
test would flag correct results there.

Every bound is a multiple of the dtype's machine epsilon, chosen from the
depth of the computation it covers (inputs are O(1) by the catalog's domains,
sizes are at most 4x4, the ``solve`` matrices are diagonally dominant, so the
condition numbers involved are below ~10).  When the expected side comes from
the NumPy reference, the reference's own documented error bound
(``backends.numpy_reference.ERROR_BOUNDS``, proven by
``tests/test_reference_accuracy.py``) is added: the reference is exact only to
its method.  Nothing here is tuned to make a failure go away; a real
disagreement is a finding for the report.
"""

from __future__ import annotations

import dataclasses

import numpy as np

EPS: dict[str, float] = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}

KINDS = ("value", "first", "second", "identity")


@dataclasses.dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"rtol": self.rtol, "atol": self.atol, "reason": self.reason}


# (kind) -> (multiple of eps, reason).  The same multiples serve both dtypes:
# rounding error grows with the number of operations, not with the precision.
_POLICY: dict[str, tuple[float, str]] = {
    "value": (
        32.0,
        "function values: a few dozen roundings of O(1) quantities through at most a 4-term reduction",
    ),
    "first": (
        128.0,
        "first derivatives: the forward pass plus one reverse/forward sweep roughly doubles the rounding "
        "depth of 'value', and the chain rule multiplies factors of size up to ~10 (solve, exp on [-2, 2])",
    ),
    "second": (
        512.0,
        "second derivatives: two differentiation sweeps over the same graph, with products of first "
        "derivatives; four times the first-derivative allowance",
    ),
    "identity": (
        128.0,
        "two routes to the same quantity inside one backend (jvp vs vjp, jacfwd vs jacrev, vmap vs loop): "
        "each route carries a first-derivative rounding error, in opposite directions at worst",
    ),
}

_REFERENCE_BOUND_FOR_KIND = {"value": "evaluation", "first": None, "second": None, "identity": None}


def reference_error(method: str | None) -> float:
    """The NumPy reference's documented error for ``method`` (0 where no reference is involved)."""
    if not method:
        return 0.0
    from backends.numpy_reference import ERROR_BOUNDS

    return float(ERROR_BOUNDS[method])


def tolerance(dtype: str, kind: str, reference_method: str | None = None) -> Tolerance:
    """The tolerance for comparing a ``dtype`` result of ``kind`` (see ``KINDS``).

    ``reference_method`` names the reference's method when the expected value
    comes from it; its error bound is added to both rtol and atol.
    """
    if dtype not in EPS:
        raise KeyError(f"no tolerance policy for dtype {dtype!r}; known: {sorted(EPS)}")
    if kind not in _POLICY:
        raise KeyError(f"no tolerance policy for kind {kind!r}; known: {sorted(_POLICY)}")
    factor, why = _POLICY[kind]
    base = factor * EPS[dtype]
    ref = reference_error(reference_method)
    reason = f"{dtype} {kind}: {factor:g} eps = {base:.2e}; {why}"
    if ref:
        reason += f"; + {ref:.1e} for the reference's {reference_method} method"
    # atol: inputs are O(1), so a leaf whose exact value is ~0 is judged at the scale of its inputs.
    return Tolerance(rtol=base + ref, atol=base + ref, reason=reason)


def policy_table() -> list[dict[str, object]]:
    """The whole policy as rows, for the README and the report."""
    rows = []
    for dtype in EPS:
        for kind in KINDS:
            tol = tolerance(dtype, kind)
            rows.append({"dtype": dtype, "kind": kind, "rtol": tol.rtol, "atol": tol.atol, "reason": tol.reason})
    return rows
