"""The one pytree module, and its one setting that decides how dict leaves pair up."""

from __future__ import annotations

import numpy as np
import pytest

from backends import pytree
from conformance.battery.specs.vmap import _share


def test_the_battery_pairs_dict_leaves_by_key() -> None:
    assert pytree.PAIRING == "key"
    bw, wb = {"b": 1, "w": 2}, {"w": 2, "b": 1}
    assert pytree.flatten(bw) == pytree.flatten(wb)
    assert pytree.flatten(bw, "insertion")[0] == [1, 2]
    assert pytree.flatten(wb, "insertion")[0] == [2, 1]


def test_pairing_by_key_and_by_position_differ_exactly_when_insertion_orders_differ() -> None:
    primal = {"w": np.array(1.0), "b": np.array(10.0)}
    tangent = {"b": np.array(0.5), "w": np.array(2.0)}  # same keys, other insertion order
    by_key = pytree.tree_map(lambda p, t: float(p * t), primal, tangent)
    assert by_key == {"b": 5.0, "w": 2.0}
    # Position pairing needs the same structure in the same order; across orders it refuses, as torch's
    # pytrees do, rather than pairing w with b.
    with pytest.raises(ValueError, match="does not match"):
        pytree.tree_map(lambda p, t: p * t, primal, tangent, pairing="insertion")
    same_order = {"w": np.array(2.0), "b": np.array(0.5)}
    assert pytree.tree_map(lambda p, t: float(p * t), primal, same_order, pairing="insertion") == {"w": 2.0, "b": 5.0}


def test_insertion_order_round_trips_and_key_order_sorts() -> None:
    tree = ({"w": 1, "b": [2, None]}, 3)
    leaves, treedef = pytree.flatten(tree, "insertion")
    rebuilt = pytree.unflatten(treedef, leaves)
    assert rebuilt == tree and list(rebuilt[0]) == ["w", "b"]
    assert list(pytree.unflatten(*reversed(pytree.flatten(tree)))[0]) == ["b", "w"]


def test_a_dict_prefix_pairs_by_key_whatever_the_order() -> None:
    arg = {"w": np.zeros(3), "b": np.ones(3)}
    assert pytree.prefix_leaves({"b": None, "w": 0}, arg, pairing="insertion") == [0, None]
    assert pytree.prefix_leaves({"b": None, "w": 0}, arg) == [None, 0]
    with pytest.raises(ValueError, match="not a pytree prefix"):
        pytree.prefix_leaves({"b": None}, arg)


def test_the_vmap_loop_shares_unbatched_leaves_by_key() -> None:
    """The expected side of vmap_in_dims: in_dims {'b': None, 'w': 0} leaves 'b' unbatched in both orders."""
    first = {"w": np.array([1.0]), "b": np.array([2.0])}
    sample = {"w": np.array([3.0]), "b": np.array([4.0])}
    shared = _share(sample, first, {"b": None, "w": 0})
    assert shared["b"] is first["b"] and shared["w"] is sample["w"]
    assert list(shared) == ["w", "b"]  # the library receives the argument in the order it was built


def test_skeleton_is_hashable_and_keeps_shapes() -> None:
    a = pytree.skeleton((np.zeros((2, 3)), {"w": np.zeros(3), "b": np.zeros(())}))
    b = pytree.skeleton((np.ones((2, 3)), {"w": np.ones(3), "b": np.ones(())}))
    assert a == b and hash(a) == hash(b)
    assert a[1] == ((2, 3), (3,), ())
    assert a != pytree.skeleton((np.ones((2, 3)), {"b": np.ones(()), "w": np.ones(3)}))
