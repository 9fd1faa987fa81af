"""Minimal pytrees: nested tuples, lists, dicts and ``None``; the project's one pytree module.

Everything else is a leaf, whatever the library: a NumPy array, a torch tensor
and a jax array are all leaves, so the battery can compare structures across
backends with the same code.

How dict leaves pair up is one explicit setting, :data:`PAIRING`.  Libraries
disagree: jax sorts dict keys, so two dicts pair by key; torch's pytrees keep
insertion order, so ``torch.func.vmap`` pairs a dict ``in_dims`` with a dict
argument by position (a finding in the torch manifest).  The battery's
expectation is by key (``"key"``): the loops it compares vmap against, the
tangents it pairs with primals and the leaves it compares all match dict
entries by key.  ``"insertion"`` exists to build values in a given insertion
order (what a library receives) and to model position pairing in tests.

Tuple subclasses (named tuples) flatten like tuples and unflatten as plain
tuples; the battery's functions do not use them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

Leaf = Any
Tree = Any

Pairing = Literal["key", "insertion"]
PAIRING: Pairing = "key"
"""How the battery pairs dict leaves: by key.  ``flatten``'s default; see the module docstring."""


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


def _dict_keys(d: dict[Any, Any], pairing: Pairing) -> list[Any]:
    if pairing == "key":
        return _sorted_keys(d)
    if pairing == "insertion":
        return list(d)
    raise ValueError(f"pairing must be 'key' or 'insertion', not {pairing!r}")


def flatten(tree: Tree, pairing: Pairing = PAIRING) -> tuple[list[Leaf], TreeDef]:
    """Leaves in depth-first order and the structure; dict children in ``pairing`` order.

    With ``"key"``, two dicts with the same keys flatten alike whatever their insertion order; with
    ``"insertion"``, the treedef keeps each dict's insertion order and :func:`unflatten` rebuilds it.
    """
    leaves: list[Leaf] = []

    def walk(node: Tree) -> TreeDef:
        if node is None:
            return NONE
        if isinstance(node, (tuple, list)):
            return TreeDef("tuple" if isinstance(node, tuple) else "list", tuple(walk(c) for c in node))
        if isinstance(node, dict):
            keys = _dict_keys(node, pairing)
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


def tree_map(fn: Callable[..., Any], tree: Tree, *rest: Tree, pairing: Pairing = PAIRING) -> Tree:
    """``fn`` applied leafwise; every tree in ``rest`` must have ``tree``'s structure.

    Leaves of ``rest`` pair with ``tree``'s by ``pairing``; the result's dicts are built in that order
    (``"insertion"``: ``tree``'s own order, so a library receives the dicts it was given).
    """
    leaves, treedef = flatten(tree, pairing)
    others = []
    for other in rest:
        other_leaves, other_def = flatten(other, pairing)
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


def leaves_with_paths(tree: Tree, pairing: Pairing = PAIRING) -> list[tuple[str, Leaf]]:
    """``(path, leaf)`` pairs, the path as an indexing expression (``[0]['b']``) for messages."""
    out: list[tuple[str, Leaf]] = []

    def walk(node: Tree, path: str) -> None:
        if node is None:
            return
        if isinstance(node, (tuple, list)):
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")
        elif isinstance(node, dict):
            for k in _dict_keys(node, pairing):
                walk(node[k], f"{path}[{k!r}]")
        else:
            out.append((path, node))

    walk(tree, "")
    return out


def prefix_leaves(prefix: Any, tree: Tree, what: str = "prefix", pairing: Pairing = PAIRING) -> list[Any]:
    """One entry of ``prefix`` per leaf of ``tree`` (flattened with ``pairing``).

    ``prefix`` is a pytree prefix of ``tree`` whose own leaves are ints or ``None`` (vmap's in_dims and
    out_dims, scan's axes): an int or ``None`` covers a whole subtree.  Dict prefixes pair with dict
    nodes by key, whatever ``pairing`` orders the result by.
    """
    if prefix is None or isinstance(prefix, int):
        return [prefix] * len(flatten(tree, pairing)[0])
    if isinstance(prefix, (tuple, list)) and isinstance(tree, (tuple, list)) and len(prefix) == len(tree):
        return [d for p, t in zip(prefix, tree, strict=True) for d in prefix_leaves(p, t, what, pairing)]
    if isinstance(prefix, dict) and isinstance(tree, dict) and set(prefix) == set(tree):
        return [d for k in _dict_keys(tree, pairing) for d in prefix_leaves(prefix[k], tree[k], what, pairing)]
    raise ValueError(f"{what} {prefix!r} is not a pytree prefix of {structure_repr(tree)}")


def broadcast_prefix(prefix: Any, tree: Tree, what: str = "prefix") -> Tree:
    """``prefix`` expanded to ``tree``'s full structure (dicts in ``tree``'s insertion order)."""
    _, treedef = flatten(tree, "insertion")
    return unflatten(treedef, prefix_leaves(prefix, tree, what, "insertion"))


def skeleton(tree: Tree) -> tuple[TreeDef, tuple[tuple[int, ...], ...]]:
    """``tree``'s structure (insertion order) and each leaf's shape: hashable, e.g. to cache by."""
    leaves, treedef = flatten(tree, "insertion")
    return treedef, tuple(tuple(getattr(leaf, "shape", ())) for leaf in leaves)
