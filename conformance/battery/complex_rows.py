"""The complex rows: holomorphic functions and real-valued functions of complex inputs, with their domains.

Each row is a function ``fn(xp, *args)`` of complex arrays on the array API (``real``, ``imag``, ``conj``, ``abs``,
``angle`` besides arithmetic), its shapes, whether it is holomorphic, and a ``valid`` predicate that keeps draws away
from where it is not differentiable (``abs`` at 0, ``angle``'s branch cut on the negative real axis, a quotient's
pole) by more than the reference's largest difference step (2**-6).  Rows are catalog entries (``Entry``, marked
non-analytic: the reference differences their real and imaginary parts, ``backends.reference_complex``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.battery.entry import Arg, Entry
from conformance.battery.strategies import array_for

COMPONENT = {"complex64": "float32", "complex128": "float64"}
"""A complex dtype's real component dtype: the dtype of ``real(z)``, ``abs(z)`` and a real-valued f."""

MARGIN = 0.1
"""Distance kept from a kink, a branch cut or a pole: past the 2**-6 stencil, even in float32."""

LOW, HIGH = -1.5, 1.5


@dataclasses.dataclass(frozen=True)
class ComplexRow:
    name: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    holomorphic: bool
    names: tuple[str, ...] = ()
    """Namespace names it calls besides arithmetic (a library lacking one skips, as elsewhere)."""
    valid: Callable[..., bool] | None = None
    scalar: bool = False
    """Returns a 0-d array (grad applies)."""
    note: str = ""

    @property
    def entry(self) -> Entry:
        return Entry(f"cx_{self.name}", self.fn, tuple(Arg(s, LOW, HIGH) for s in self.shapes), analytic=False,
                     scalar_output=self.scalar, tags=frozenset({"complex"}))


def _poly(xp: Any, z: Any) -> Any:
    return z**3 + (0.5 - 1.0j) * z**2 - 2.0 * z + 1.0


def _off_origin(*args: np.ndarray) -> bool:
    return bool(all(np.min(np.abs(a), initial=np.inf) > MARGIN for a in args))


def _off_cut(z: np.ndarray) -> bool:
    """Away from the origin and from the negative real axis, where angle jumps by 2 pi."""
    return _off_origin(z) and not bool(np.any((np.real(z) < MARGIN) & (np.abs(np.imag(z)) < MARGIN)))


V3, M22 = (3,), (2, 2)

ROWS: tuple[ComplexRow, ...] = (
    ComplexRow("square", lambda xp, z: z * z, (V3,), True),
    ComplexRow("exp", lambda xp, z: xp.exp(z), (V3,), True, ("exp",)),
    ComplexRow("sin", lambda xp, z: xp.sin(z), (V3,), True, ("sin",)),
    ComplexRow("product", lambda xp, z, w: z * w, (V3, V3), True),
    ComplexRow("poly", _poly, (V3,), True, note="z^3 + (0.5 - i) z^2 - 2 z + 1: a complex coefficient"),
    ComplexRow("matmul", lambda xp, a, b: xp.matmul(a, b), (M22, M22), True, ("matmul",)),
    ComplexRow("divide", lambda xp, z, w: z / w, (V3, V3), True, valid=lambda z, w: _off_origin(w)),
    ComplexRow("zw_sin", lambda xp, z, w: z * w + xp.sin(w), (V3, V3), True, ("sin",),
               note="z w + sin(w): its derivatives in z and in w differ (w, z + cos w), and it is not linear in w"),
    ComplexRow("abs2_sum", lambda xp, z: xp.sum(xp.abs(z) ** 2), (V3,), False, ("sum", "abs"), _off_origin, True,
               "|z|^2 through abs (its derivative at complex inputs, not the real sign(x))"),
    ComplexRow("real_zconjw", lambda xp, z, w: xp.sum(xp.real(z * xp.conj(w))), (V3, V3), False,
               ("sum", "real", "conj"), scalar=True),
    ComplexRow("abs_sum", lambda xp, z: xp.sum(xp.abs(z)), (V3,), False, ("sum", "abs"), _off_origin, True),
    ComplexRow("angle_sum", lambda xp, z: xp.sum(xp.angle(z)), (V3,), False, ("sum", "angle"), _off_cut, True,
               "draws off the negative real axis (the branch cut) and the origin"),
    ComplexRow("real_exp_sum", lambda xp, z: xp.sum(xp.real(xp.exp(z))), (V3,), False, ("sum", "real", "exp"),
               scalar=True),
    ComplexRow("real_exp_zww", lambda xp, z, w: xp.sum(xp.real(xp.exp(z) * w * w)), (V3, V3), False,
               ("sum", "real", "exp"), scalar=True,
               note="Re(exp(z) w w): its grads in z and in w differ; w * w, not w ** 2 (MLX's vjp of ** is a finding)"),
    ComplexRow("abs", lambda xp, z: xp.abs(z), (V3,), False, ("abs",), _off_origin,
               note="a real vector output of a complex input: jacrev and vjp with a real cotangent"),
)
BY_NAME: dict[str, ComplexRow] = {r.entry.name: r for r in ROWS}
ENTRIES: tuple[Entry, ...] = tuple(r.entry for r in ROWS)


def row(entry: Entry) -> ComplexRow:
    return BY_NAME[entry.name]


def parts(shape: tuple[int, ...], dtype: str, low: float = LOW, high: float = HIGH) -> st.SearchStrategy[Any]:
    """A complex array as its ``(real, imaginary)`` parts, each on ``[low, high]`` exactly in the component dtype:
    drawn and recorded as real arrays (a check's record is JSON), joined by :func:`join`."""
    part = array_for(Arg(shape, low, high), COMPONENT[dtype])
    return st.tuples(part, part)


def join(tree: Any) -> Any:
    """Drawn ``(real, imaginary)`` pairs (a tuple of them, for several arguments) as complex128 arrays."""
    if isinstance(tree, tuple) and len(tree) == 2 and all(isinstance(p, np.ndarray) for p in tree):
        return (tree[0] + 1j * tree[1]).astype(np.complex128)
    return tuple(join(t) for t in tree)


def inputs(r: ComplexRow, dtype: str) -> st.SearchStrategy[tuple[Any, ...]]:
    strat = st.tuples(*(parts(s, dtype) for s in r.shapes))
    return strat.filter(lambda args: r.valid(*join(args))) if r.valid is not None else strat
