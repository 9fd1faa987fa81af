"""vmap's loop identity, the sandbox's half: the document's function applied to each slice of the batch.

Why here: the slices and the per-example calls are the document's function run on its own values, so they run
in its process; the host compares vmap's result with the stacked loop under its tolerance table
(``conformance.claims.documents.oracle``).  ``in_dims``/``out_dims`` (``in_axes``/``out_axes``) are prefix trees of
ints and None, as both libraries define them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.claims.documents.inside import probe, trees
from conformance.claims.documents.inside.probe import Unverifiable


def _take(x, b, axis, lib):
    if lib == "torch":
        return x.select(axis, b)
    if lib == "mlx":
        import mlx.core as mx

        return mx.take(x, b, axis)
    if lib == "jax":
        import jax.numpy as jnp

        return jnp.take(x, b, axis=axis)
    return np.take(x, b, axis=axis)


def _slice(axes, tree, b, lib):
    """Slice ``b`` of ``tree`` along ``axes``, a prefix tree of ints and None (vmap's in_dims/in_axes)."""
    if axes is None:
        return tree
    if isinstance(axes, int):
        return trees.map_leaves(tree, lambda x: _take(x, b, axes, lib))
    if isinstance(axes, (tuple, list)):
        if len(axes) != len(tree):
            raise Unverifiable("in_dims/in_axes do not match the arguments' structure")
        out = [_slice(a, t, b, lib) for a, t in zip(axes, tree)]
        return type(tree)(*out) if hasattr(type(tree), "_fields") else type(tree)(out)
    if isinstance(axes, dict):
        return {k: _slice(axes.get(k, None), v, b, lib) for k, v in tree.items()}
    raise Unverifiable(f"in_dims/in_axes of type {type(axes).__name__} are not checked")


def _stack(axes, outs):
    """Combine per-slice outputs as vmap would: stacked along ``axes`` (a prefix tree), or unmapped for None."""
    first = outs[0]
    if axes is None:
        return first
    if isinstance(first, (tuple, list)) and not hasattr(first, "shape"):
        parts = axes if isinstance(axes, (tuple, list)) else [axes] * len(first)
        return [_stack(a, [o[i] for o in outs]) for i, a in enumerate(parts)]
    if isinstance(first, dict):
        return {k: _stack(axes.get(k) if isinstance(axes, dict) else axes, [o[k] for o in outs]) for k in first}
    if isinstance(axes, int) and (hasattr(first, "shape") or isinstance(first, (int, float))):
        return np.stack([trees.to_numpy(o) for o in outs], axis=axes)
    raise Unverifiable("out_dims/out_axes do not match the output's structure")


def first_example(in_dims: Any, args: Any, lib: str) -> tuple[Any, ...]:
    """The arguments of the batch's first example, as the loop passes them to the function."""
    dims = tuple(in_dims) if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
    return tuple(_slice(dims, tuple(args), 0, lib))


def check_vmap(f: Any, in_dims: Any, out_dims: Any, args: Any, kwargs: dict[str, Any], result: Any, lib: str,
               axis_name: Any = None) -> probe.Question:
    """The loop identity: vmap(f)(xs) equals f applied to each slice, combined as vmap combines them."""
    if axis_name is not None:
        raise Unverifiable("uses a named axis (collectives): there is no per-example loop to compare with")
    dims = tuple(in_dims) if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
    sizes = []

    def collect(axes, tree):
        if axes is None:
            return
        if isinstance(axes, int):
            trees.map_leaves(tree, lambda x: sizes.append(x.shape[axes]))
        elif isinstance(axes, (tuple, list)):
            for a, t in zip(axes, tree):
                collect(a, t)
        elif isinstance(axes, dict):
            for k, v in tree.items():
                collect(axes.get(k), v)

    collect(dims, tuple(args))
    if not sizes:
        raise Unverifiable("no mapped array argument")
    outs = [f(*_slice(dims, tuple(args), b, lib), **kwargs) for b in range(sizes[0])]
    expected = _stack(out_dims, outs)
    got_leaves = [trees.to_numpy(r) for r in trees.flatten(result)[0]]
    exp_leaves = [np.asarray(e, dtype=np.float64) for e in trees.flatten_numpy(expected)]
    if [g.shape for g in got_leaves] != [e.shape for e in exp_leaves]:
        raise Unverifiable(f"the loop's outputs have shapes {[e.shape for e in exp_leaves]}, vmap's "
                            f"{[g.shape for g in got_leaves]}: not comparable leaf by leaf")
    got = np.concatenate([g.ravel() for g in got_leaves]) if got_leaves else np.zeros(0)
    exp = np.concatenate([e.ravel() for e in exp_leaves]) if exp_leaves else np.zeros(0)
    dtype = trees.dtype_name(trees.flatten(result)[0][0]) if trees.flatten(result)[0] else "float32"
    return probe.loop(got, exp, dtype)
