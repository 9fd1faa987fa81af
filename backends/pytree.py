"""Minimal pytrees: nested tuples, lists, dicts (keys in sorted order) and ``None``.

Everything else is a leaf, whatever the library: a NumPy array, a torch tensor
and a jax array are all leaves, so the battery can compare structures across
backends with the same code.  Dict children are ordered by sorted key, as jax
and torch.func order them, so flattening two equal dicts built in different
insertion orders gives the same leaf order.

Tuple subclasses (named tuples) flatten like tuples and unflatten as plain
tuples; the battery's functions do not use them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Leaf = Any
Tree = Any


@dataclasses.dataclass(frozen=True)
class TreeDef:
    """The structure of a pytree with the leaves taken out.

    ``kind`` is ``"leaf"``, ``"none"``, ``"tuple"``, ``"list"`` or ``"dict"``;
    ``keys`` holds the sorted keys of a dict node.  Equal structures compare equal.
    """

    kind: str
    children: tuple[TreeDef, ...] = ()
    keys: tuple[Any, ...] = ()

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __repr__(self) -> str:
        return f"TreeDef({_repr_def(self)})"


LEAF = TreeDef("leaf")
NONE = TreeDef("none")


def is_leaf(tree: Tree) -> bool:
    return tree is not None and not isinstance(tree, (tuple, list, dict))


def _sorted_keys(d: dict[Any, Any]) -> list[Any]:
    try:
        return sorted(d)
    except TypeError:  # mixed key types: still deterministic
        return sorted(d, key=repr)


def flatten(tree: Tree) -> tuple[list[Leaf], TreeDef]:
    """Leaves in depth-first order (dicts by sorted key) and the structure."""
    leaves: list[Leaf] = []

    def walk(node: Tree) -> TreeDef:
        if node is None:
            return NONE
        if isinstance(node, (tuple, list)):
            return TreeDef("tuple" if isinstance(node, tuple) else "list", tuple(walk(c) for c in node))
        if isinstance(node, dict):
            keys = _sorted_keys(node)
            return TreeDef("dict", tuple(walk(node[k]) for k in keys), tuple(keys))
        leaves.append(node)
        return LEAF

    treedef = walk(tree)
    return leaves, treedef


def unflatten(treedef: TreeDef, leaves: list[Leaf] | tuple[Leaf, ...]) -> Tree:
    """Inverse of :func:`flatten`; raises ``ValueError`` on a wrong leaf count."""
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"{treedef!r} takes {treedef.num_leaves} leaves, got {len(leaves)}")
    it = iter(leaves)

    def build(d: TreeDef) -> Tree:
        if d.kind == "leaf":
            return next(it)
        if d.kind == "none":
            return None
        children = [build(c) for c in d.children]
        if d.kind == "tuple":
            return tuple(children)
        if d.kind == "list":
            return children
        return dict(zip(d.keys, children, strict=True))

    return build(treedef)


def tree_map(fn: Callable[..., Any], tree: Tree, *rest: Tree) -> Tree:
    """``fn`` applied leafwise; every tree in ``rest`` must have ``tree``'s structure."""
    leaves, treedef = flatten(tree)
    others = []
    for other in rest:
        other_leaves, other_def = flatten(other)
        if other_def != treedef:
            raise ValueError(f"tree_map: structure {structure_repr(other)} does not match {structure_repr(tree)}")
        others.append(other_leaves)
    return unflatten(treedef, [fn(*args) for args in zip(leaves, *others, strict=True)])


def _leaf_repr(leaf: Leaf) -> str:
    shape = getattr(leaf, "shape", None)
    if shape is None:
        return type(leaf).__name__
    dims = tuple(int(n) for n in shape)
    inner = ", ".join(str(n) for n in dims) + ("," if len(dims) == 1 else "")
    return f"array({inner})"


def _repr_def(d: TreeDef, leaves: Any = None) -> str:
    if d.kind == "leaf":
        return _leaf_repr(next(leaves)) if leaves is not None else "*"
    if d.kind == "none":
        return "None"
    parts = [_repr_def(c, leaves) for c in d.children]
    if d.kind == "dict":
        return "{" + ", ".join(f"{k}: {p}" for k, p in zip(d.keys, parts, strict=True)) + "}"
    if d.kind == "list":
        return "[" + ", ".join(parts) + "]"
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def structure_repr(tree: Tree) -> str:
    """A short description for messages, e.g. ``(array(3,), {b: array(3,), w: array(3,)})``."""
    leaves, treedef = flatten(tree)
    return _repr_def(treedef, iter(leaves))
