"""What a catalog entry is: a function written once against the array API, with its arguments' domains.

Split from the catalog (``conformance.battery.catalog``: the entries themselves) so that the table reads as a table; the
function table (``conformance.battery.functions``) builds its rows on the same :class:`Entry`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

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
    distribution (:mod:`conformance.battery.draws`) is kept; ``tests/test_draw_health.py`` measures what it leaves
    to the filter."""
    points: tuple[tuple[Any, ...], ...] = ()
    """Argument tuples (nested lists, one per argument) where the function is smooth but implementations
    commonly branch: ties of a max/min-based formula (``hypot`` computed as ``max * sqrt(1 + (min/max)^2)``
    for overflow safety), a zero component.  Random draws almost never land on such a set (it has measure
    zero), so the inputs strategy draws them on purpose: always first (hypothesis's simplest example, so the
    ci profile's three examples include one), and one draw in :data:`conformance.battery.strategies.POINT_ODDS`
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
