"""Drawn inputs keep the reference's difference stencils on one smooth piece of a branching function.

The false-alarm measurement (benchmarks/false_alarms.py, thorough profile, seed 8, at b700aa8) failed
``jvp_value[autograd-float64-branch_on_sum]`` on a correct library: x = (0.0625, 0, 0, 0) passed the old
margin (|sum x| > 0.05), and the reference's largest step, 2**-6 along the tangent (1, 1, 1, 1), moved the
sum by 4 * 2**-6 = 0.0625, onto the branch: the oracle's difference straddled it (0.12500013 against the
exact 0.125).  The margin of a branch on a sum of n entries is now n times the per-entry margin.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings

from backends.numpy_reference import NumpyReference
from backends.reference_engine import FD_STEPS
from conformance.battery import strategies
from conformance.battery.catalog import CATALOG, KINK_MARGIN, Entry

SEED_8_X = np.array([0.0625, 0.0, 0.0, 0.0])
SEED_8_TANGENT = np.ones(4)
REACH = 2 * max(FD_STEPS)
"""How far the reference's stencils move an entry: one step, or two when derivatives nest (hessian)."""

BRANCHING = [e for e in CATALOG if e.predicate is not None]


def _jvp(x: np.ndarray, t: np.ndarray) -> float:
    ref = NumpyReference()
    entry = next(e for e in CATALOG if e.name == "branch_on_sum")
    return float(ref.jvp(entry.bind(ref.xp), (x,), (t,))[1])


def test_the_seed_8_input_is_no_longer_drawn_because_the_oracle_straddles_the_branch_there() -> None:
    entry = next(e for e in CATALOG if e.name == "branch_on_sum")
    exact = float(2 * SEED_8_X @ SEED_8_TANGENT)  # the sum(x**2) branch: 2 <x, t>
    assert abs(_jvp(SEED_8_X, SEED_8_TANGENT) - exact) > 1e-7  # the cause: the stencil crossed sum(x) = 0
    assert not entry.valid(SEED_8_X)
    nearest = SEED_8_X * (4 * KINK_MARGIN + 1e-9) / SEED_8_X.sum()  # the closest input the margin admits
    assert entry.valid(nearest)
    assert abs(_jvp(nearest, SEED_8_TANGENT) - float(2 * nearest @ SEED_8_TANGENT)) < 1e-10


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("entry", BRANCHING, ids=lambda e: e.name)
def test_every_branching_entry_keeps_its_branch_over_the_stencils_reach(entry: Entry, dtype: str) -> None:
    """Any valid draw, any direction the battery draws (entries in [-1, 1]; the corners are the worst)."""
    ref = NumpyReference()

    @settings(max_examples=200, database=None, deadline=None, derandomize=True)
    @given(strategies.inputs(entry, dtype))
    def keeps_branch(args: tuple) -> None:
        x = np.asarray(args[0])
        side = bool(entry.predicate(ref.xp, *args))
        for corner in itertools.product((-1.0, 1.0), repeat=x.size):
            step = REACH * np.reshape(corner, x.shape)
            for moved in (x + step, x - step):
                assert bool(entry.predicate(ref.xp, moved, *args[1:])) == side, (x, corner)

    keeps_branch()


def test_the_catalog_has_branching_entries() -> None:
    assert BRANCHING, "no catalog entry branches: the reach test above would prove nothing"
