"""The tolerance policy: one table per dtype and kind of quantity, each row with its reason.

Comparisons are norm-wise per pytree leaf: a leaf passes when
``max|actual - expected| <= atol + rtol * max|expected|``.  Norm-wise rather
than element-wise because a gradient entry that cancels to nearly zero carries
the absolute rounding error of its larger neighbours; an element-wise relative
test would flag correct results there.

Every bound is a multiple of the dtype's machine epsilon, chosen from the
depth of the computation it covers (inputs are O(1) by the catalog's domains,
sizes are at most 4x4, the ``solve`` matrices are diagonally dominant, so the
condition numbers involved are below ~10).

Problem size.  The multiples were calibrated on at most ``BASE_SIZE`` = 16
terms per reduction.  Past that they grow by ``sqrt(n / 16)``, n being the
number of terms a result reduces over (:func:`size_factor`, the one place
the law is written).  Why the square root: the rounding error of an n-term
sum is bounded by ``n u sum|x_i|`` in the worst case, but rounding errors are
independent enough in practice that ``lambda sqrt(n) u sum|x_i|`` holds with
high probability (Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019), and the
pairwise or blocked reductions of torch and XLA do better still (``sqrt(log n)``).
For n <= 16 nothing changes, so the battery's own checks keep their bounds.

Conditioning.  A leaf is judged against ``atol + rtol * max|expected|`` with
``atol = rtol``.  A sum of O(1) terms that cancels has a small value but not a
small error: its rounding error follows the size of its partial sums, which
for O(1) terms of mixed sign are O(sqrt(n)) whatever the final value.  The
relative term alone would call any rounding of a cancelled sum a failure; the
absolute term, scaled with the same ``sqrt(n / 16)``, is the allowance at the
scale of the terms.  Measured (``benchmarks/sum_rounding.py``, 20 draws, CPU):
float32 jvps of ``sum(sin(x))`` over 2048 random entries are 37 (torch) and 55
(JAX) eps off at most in absolute terms, about 1 eps relative to the result:
7 % of the unscaled bound at most.  Over 65536 entries whose terms cancel
exactly, they are up to 256 eps (torch, 5 of 20 draws past the unscaled 128 eps)
and 160 eps (JAX, 1 of 20) off; the scaled bound is used to 3 % at most.
Terms far from O(1) are outside this argument; the catalog's domains keep
them within ~10 (see ``first``).  When the expected side comes from
the NumPy reference, the reference's own documented error bound
(``backends.numpy_reference.ERROR_BOUNDS``, proven by
``tests/test_reference_accuracy.py``) is added: the reference is exact only to
its method.  Nothing here is tuned to make a failure go away; a real
disagreement is a finding for the report.
"""

from __future__ import annotations

import dataclasses

import numpy as np

EPS: dict[str, float] = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps),
                         "complex64": float(np.finfo(np.float32).eps), "complex128": float(np.finfo(np.float64).eps)}
"""A complex dtype's epsilon is its components' (complex64 holds two float32)."""

COMPLEX_FACTOR = 2.0
COMPLEX_REASON = (
    f"x {COMPLEX_FACTOR:g} for a complex dtype: a complex product or quotient is several real roundings (a product's "
    "error is at most sqrt(5) eps |z w|, Brent, Percival & Zimmermann, Math. Comp. 76, 2007), judged norm-wise over "
    "both components (conformance.battery.compare), so each complex operation carries about twice a real one's rounding"
)
"""Why the complex rows are the real rows times :data:`COMPLEX_FACTOR`; the size law is the same."""

KINDS = ("value", "first", "second", "identity")

BASE_SIZE = 16
"""Terms per reduction the multiples below were calibrated on (a 4x4 matrix); no scaling up to it."""

SCALING = (
    f"x sqrt(n/{BASE_SIZE}) past n = {BASE_SIZE} terms reduced over: the rounding error of an n-term sum grows "
    "like sqrt(n) eps in practice (Higham & Mary 2019), and atol, scaled alike, covers a sum that cancels"
)
"""The size law in words, for the policy table."""


def size_factor(size: int) -> float:
    """How much a bound grows for a computation reducing over ``size`` terms (1 up to :data:`BASE_SIZE`)."""
    if size < 1:
        raise ValueError(f"a reduction has at least one term, got size={size}")
    return 1.0 if size <= BASE_SIZE else float(np.sqrt(size / BASE_SIZE))


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


def tolerance(dtype: str, kind: str, reference_method: str | None = None, size: int = 1) -> Tolerance:
    """The tolerance for comparing a ``dtype`` result of ``kind`` (see ``KINDS``).

    ``reference_method`` names the reference's method when the expected value
    comes from it; its error bound is added to both rtol and atol.  ``size`` is
    the number of terms the computation reduces over: past :data:`BASE_SIZE`
    the eps multiple grows by :func:`size_factor` (the reference's bound does
    not: it is computed in float64 and documented per method).
    """
    if dtype not in EPS:
        raise KeyError(f"no tolerance policy for dtype {dtype!r}; known: {sorted(EPS)}")
    if kind not in _POLICY:
        raise KeyError(f"no tolerance policy for kind {kind!r}; known: {sorted(_POLICY)}")
    factor, why = _POLICY[kind]
    if dtype.startswith("complex"):
        factor, why = factor * COMPLEX_FACTOR, f"{why}; {COMPLEX_REASON}"
    grow = size_factor(size)
    base = factor * grow * EPS[dtype]
    ref = reference_error(reference_method)
    reason = f"{dtype} {kind}: {factor:g} eps = {factor * EPS[dtype]:.2e}; {why}"
    if grow != 1.0:
        reason = (f"{dtype} {kind}: {factor:g} eps x sqrt({size}/{BASE_SIZE}) = {factor * grow:.0f} eps = {base:.2e} "
                  f"for a reduction over {size} terms; {why}; {SCALING}")
    if ref:
        reason += f"; + {ref:.1e} for the reference's {reference_method} method"
    # atol: inputs are O(1), so a leaf whose exact value is ~0 is judged at the scale of its inputs.
    return Tolerance(rtol=base + ref, atol=base + ref, reason=reason)


def policy_table() -> list[dict[str, object]]:
    """The whole policy as rows, for the README and the report: the bounds up to 16 terms, and how they grow."""
    rows = []
    for dtype in EPS:
        for kind in KINDS:
            tol = tolerance(dtype, kind)
            rows.append({"dtype": dtype, "kind": kind, "rtol": tol.rtol, "atol": tol.atol,
                         "reason": f"{tol.reason}; {SCALING}", "scaling": SCALING})
    return rows
