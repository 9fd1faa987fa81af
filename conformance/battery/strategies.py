"""Hypothesis strategies drawn from catalog domains, and the project's profiles.

Inputs are drawn as float64 arrays whose values are exactly representable in
the dtype under test, so the backend (in float32 or float64) and the reference
(always float64) see the same numbers and differences are the backends' own.

Profiles (select with ``--hypothesis-profile``; the runner passes ``ci`` by default):

- ``ci``: derandomized, few examples, so the gate is reproducible and fast;
- ``thorough``: many random examples, for nightly runs and investigations.

Neither has a deadline: the first call of a torch.func transform takes about a
second, and JAX traces on first use.

What a check draws depends only on the run's seed and the check's id without its backend (:func:`check_seed`):
never on the order checks run in, on earlier runs (no example database: a shared
database once replayed one check's failure into another, whose draws it did not
fit, and hypothesis called the strategy flaky), or on a library's output.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from backends import pytree
from conformance.battery import draws
from conformance.battery.catalog import Arg, Entry

_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.differing_executors]

settings.register_profile(
    "ci",
    max_examples=3,
    derandomize=True,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,
    database=None,
    # No shrinking in the gate: derandomized draws already reproduce exactly, and shrinking a
    # known deviation (xfail) would spend minutes recompiling torch.cond for nothing.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.register_profile(
    "thorough", max_examples=60, deadline=None, suppress_health_check=_QUIET, print_blob=True, database=None,
)


def _draw_no_source_constants() -> None:
    """Keep hypothesis from mixing numeric literals of our own source files into the draws.

    Hypothesis (6.1xx) collects the constants of every "local" module imported so far and draws them now and
    then.  The pool then depends on which of our modules happened to be imported before a check ran, and on
    any edit to them: the same seed and check drew different inputs in a full run and alone (seen with MLX's
    Taylor checks).  Draws must depend on the seed and the check id only.  This uses a private hook of the
    pinned hypothesis; if it moves, the determinism test (tests/test_determinism.py) says so.
    """
    from hypothesis.internal.conjecture import providers

    empty = providers.Constants()
    if hasattr(providers, "_get_local_constants"):
        providers._get_local_constants = lambda: empty


_draw_no_source_constants()


def check_seed(run_seed: int | str, draw_id: str) -> int:
    """The seed of one check's random stream: the run's seed mixed with the check's id without its backend
    (:attr:`conformance.battery.specs.core.Case.draw_id`).

    Every check gets its own stream (hypothesis would otherwise give all checks of one test function,
    which share their source, the same one), and rerunning one check alone with the run's seed draws
    exactly what it drew inside the full run.  The backend's name is left out so that every library is
    judged on the same inputs: a strategy's rare bad draw then shows on every backend at once rather than on
    whichever backend's name happened to seed it (fn_copysign's once did), libraries can be compared input for
    input, and the reference's answers are computed once per run (:mod:`conformance.run.reference_cache`).
    """
    return int.from_bytes(hashlib.sha256(f"{run_seed}\0{draw_id}".encode()).digest()[:8], "little")


UNDERFLOW_BAND = 2.0**-60
"""Input entries smaller in magnitude than this are drawn as exactly zero.

Below it the arithmetic, not the transform, decides results: the square of such an input leaves float32's
normal range, and a few products of them times the reference's complex step (1e-30) leave float64's.  The
thorough profile once drew x = 4.6e-153 for ``quadratic_form``: x A x is then ~1e-305, the reference's
complex-step gradient underflowed to 0, and the Taylor check rightly called that gradient wrong.  Zero
stays in the domain, and so does every magnitude a function is used at.
"""


def _flush_below(threshold: float, a: np.ndarray) -> np.ndarray:
    """``a`` with every entry smaller in magnitude than ``threshold`` set to exactly zero (of its sign)."""
    return np.where(np.abs(a) < threshold, np.copysign(0.0, a), a)


# Strategies are built once per (domain, shape, dtype) and reused: hypothesis computes a new strategy
# object's properties on first use, which doubled the cost of every draw (1.3 ms against 2.5 ms per
# example, measured on sin_sum).  Reusing one changes no draw: what is drawn depends on the choices only.
@functools.cache
def _float_array(shape: tuple[int, ...], low: float, high: float, dtype: str) -> st.SearchStrategy[np.ndarray]:
    """Arrays on ``[low, high]`` exactly representable in ``dtype``, decoded from bytes (:mod:`conformance.battery.draws`).

    Two byte strings per array (eight value bytes and one class byte per element) instead of one hypothesis
    float per element: hypothesis still owns the choices, so draws stay deterministic per seed and check id
    and shrink (toward zero bytes, which decode to all zeros), and decoding costs about 15 us an array.
    """
    n = int(np.prod(shape, dtype=np.int64))
    decode = functools.partial(draws.decode, shape=shape, low=low, high=high, dtype=dtype, flush=UNDERFLOW_BAND)
    return st.tuples(st.binary(min_size=8 * n, max_size=8 * n), st.binary(min_size=n, max_size=n)).map(
        lambda pair: decode(*pair))


def _round(x: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(x, dtype=dtype).astype(np.float64)


@functools.cache
def array_for(arg: Arg, dtype: str, shape: tuple[int, ...] | None = None) -> st.SearchStrategy[np.ndarray]:
    """One array leaf of ``arg``'s domain (``shape`` overrides, e.g. to add a batch axis)."""
    shape = arg.shape if shape is None else shape
    strat = _float_array(shape, arg.low, arg.high, dtype)
    if arg.diag_boost:
        n = arg.shape[-1]
        strat = strat.map(lambda a: _round(a + arg.diag_boost * np.eye(n), dtype))
    return strat


@functools.cache
def arg_value(arg: Arg, dtype: str, batch: tuple[int, ...] = ()) -> st.SearchStrategy[Any]:
    """A value for one positional argument: an array, a pair of arrays, or a dict of two."""
    leaf = array_for(arg, dtype, batch + arg.shape)
    if arg.kind == "pair":
        return st.tuples(leaf, leaf)
    if arg.kind == "dict":
        # The entry fixes the insertion order (arg.keys): torch pytrees pair dicts by it (the vmap key-order
        # check), so one entry's order differs from the sorted one.
        first, second = arg.keys
        return st.tuples(leaf, leaf).map(lambda pair: {first: pair[0], second: pair[1]})
    return leaf


_INPUTS: dict[tuple[int, str], tuple[Entry, st.SearchStrategy[tuple[Any, ...]]]] = {}


def inputs(entry: Entry, dtype: str) -> st.SearchStrategy[tuple[Any, ...]]:
    """All positional arguments of ``entry``: drawn on its domains, moved by its ``construct`` (if any), filtered by
    its ``valid`` predicate."""
    # Keyed by identity (an entry's kinks hold lists, so it is not hashable); the entry is kept alive with it.
    key = (id(entry), dtype)
    if key not in _INPUTS or _INPUTS[key][0] is not entry:
        _INPUTS[key] = (entry, _inputs(entry, dtype))
    return _INPUTS[key][1]


POINT_ODDS = 8
"""After the first example, one input draw in this many is one of the entry's declared points (:attr:`Entry.points`)."""


def _inputs(entry: Entry, dtype: str) -> st.SearchStrategy[tuple[Any, ...]]:
    strat = st.tuples(*(arg_value(a, dtype) for a in entry.args))
    if entry.construct is not None:
        # Constructive, then filtered: the map moves what the filter would reject (copysign's draws near 0), so
        # the filter is a safety net that rejects almost nothing (tests/test_draw_health.py measures it).
        construct = entry.construct
        strat = strat.map(lambda args: tuple(_round(np.asarray(a), dtype) for a in construct(*args)))
    if entry.valid is not None:
        strat = strat.filter(lambda args: entry.valid(*args))
    if entry.points:
        strat = _with_points(entry, dtype, strat)
    return strat


def _with_points(entry: Entry, dtype: str, drawn: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[tuple[Any, ...]]:
    """``drawn``, or one of ``entry.points``: the point when the leading choice is 0, which is hypothesis's
    simplest choice, so the first example of every check (derandomized or not) is ``entry.points[0]``.

    A choice, not a filter or an ``@example``: the point is then an ordinary draw, replayed and reported as
    one, and the draws of entries without points are unchanged.
    """
    points = st.sampled_from([tuple(_round(np.asarray(a, dtype=np.float64), dtype) for a in p) for p in entry.points])
    return st.integers(0, POINT_ODDS - 1).flatmap(lambda i: points if i == 0 else drawn)


TINY = 2.0**-10
"""Tangent and cotangent entries below this are drawn as exactly zero.

A direction of 1e-38 is not a bug-finding input but an underflow test: in float32
J v underflows to 0 while <v, J^T u> does not, and the reference's complex step
(step 1e-30 |x|) times such a direction underflows in float64.  Zero stays in
the domain; what goes is only the band of magnitudes where the arithmetic, not
the transform, decides the answer.
"""


def like(tree: Any, dtype: str, low: float = -1.0, high: float = 1.0) -> st.SearchStrategy[Any]:
    """Random directions with the structure and shapes of ``tree`` (tangents, cotangents).

    Dicts keep the primal's insertion order, as a careful user would build them.
    """
    return _like(pytree.skeleton(tree), dtype, low, high)


@functools.cache
def _like(skeleton: Any, dtype: str, low: float, high: float) -> st.SearchStrategy[Any]:
    treedef, shapes = skeleton
    return _nested(treedef, iter(shapes), dtype, low, high)


def _nested(d: pytree.TreeDef, shapes: Any, dtype: str, low: float, high: float) -> st.SearchStrategy[Any]:
    """One strategy per node, nested as the tree is: hypothesis mutates draws along this nesting, so a
    flat tuple of leaves would draw other values from the same seed."""
    if d.kind == "leaf":
        return _float_array(next(shapes), low, high, dtype).map(functools.partial(_flush_below, TINY))
    if d.kind == "none":
        return st.none()
    children = st.tuples(*(_nested(c, shapes, dtype, low, high) for c in d.children))
    if d.kind == "dict":
        return children.map(lambda values: dict(zip(d.keys, values)))
    return children
