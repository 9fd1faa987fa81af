"""Every entry's inputs strategy draws under every seed: no check can lose all its examples to a filter.

A check's draws depend on its id (``conformance.battery.strategies.check_seed``), so a strategy that filters most of
its draws away can be Unsatisfiable for one backend's name and fine for another's (the false alarm
``fn_vmap[<backend>-float64-fn_copysign]``).  Entries whose ``valid`` rejected about half the draws or more now
draw constructively (``Entry.construct``); these tests hold every entry to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.battery import strategies
from conformance.battery.catalog import CATALOG, SCAN_BODIES, Entry
from conformance.battery.functions import FUNCTIONS
from conformance.battery.specs.functions import VMAP_BATCH

ENTRIES = CATALOG + SCAN_BODIES + FUNCTIONS
FILTERED = [e for e in ENTRIES if e.valid is not None]
SEEDS = range(50)
KEEP_AT_LEAST = 0.5
"""The share of draws an entry's filter must keep.  Hypothesis tries a filtered draw three times before it
gives the example up, so at one half an example is lost one time in eight; copysign's filter kept 0.47."""

# The gate's settings, with the health check that watches filters switched back on (the profiles suppress it).
STRICT = settings(settings.get_profile("ci"), derandomize=False, phases=[Phase.generate],
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])


def _raw(entry: Entry, dtype: str) -> st.SearchStrategy[tuple[Any, ...]]:
    """What the entry's filter sees: the domains' draws, moved by its construct (strategies._inputs, unfiltered)."""
    raw = st.tuples(*(strategies.arg_value(a, dtype) for a in entry.args))
    if entry.construct is None:
        return raw
    construct = entry.construct
    return raw.map(lambda args: tuple(strategies._round(np.asarray(a), dtype) for a in construct(*args)))


@pytest.mark.parametrize("entry", FILTERED, ids=lambda e: e.name)
def test_the_filter_keeps_most_draws(entry: Entry) -> None:
    kept: list[bool] = []

    @settings(max_examples=200, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_raw(entry, "float32"))
    def draw(args: tuple[Any, ...]) -> None:
        kept.append(bool(entry.valid(*args)))  # type: ignore[misc]

    seed(0)(draw)()
    share = sum(kept) / len(kept)
    assert share >= KEEP_AT_LEAST, (
        f"{entry.name}'s valid filter keeps {share:.0%} of its draws: draw it constructively (Entry.construct)")


@pytest.mark.parametrize("entry", FILTERED, ids=lambda e: e.name)
def test_fifty_seeds_draw_without_unsatisfiable_or_filter_too_much(entry: Entry) -> None:
    """As fn_vmap draws: VMAP_BATCH samples in one example, three examples, one seed per would-be check id."""
    strat = strategies.inputs(entry, "float64")

    @STRICT
    @given(data=st.data())
    def draw(data: Any) -> None:
        for i in range(VMAP_BATCH):
            data.draw(strat, label=f"sample {i}")

    for s in SEEDS:
        seed(s)(draw)()  # Unsatisfiable or FailedHealthCheck(filter_too_much) would raise here


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.construct is not None], ids=lambda e: e.name)
def test_constructed_draws_stay_in_the_domain_and_the_dtype(entry: Entry) -> None:
    @settings(max_examples=100, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategies.inputs(entry, "float32"))
    def draw(args: tuple[Any, ...]) -> None:
        for a, arg in zip(args, entry.args, strict=True):
            assert ((a >= arg.low) & (a <= arg.high)).all(), (entry.name, a)
            assert (np.asarray(a, dtype=np.float32).astype(np.float64) == a).all(), (entry.name, a)
        assert entry.valid is None or entry.valid(*args)

    seed(0)(draw)()
