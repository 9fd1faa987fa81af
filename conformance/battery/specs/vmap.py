"""vmap: every in_dims/out_dims choice equals a Python loop; nesting; vmap of grad."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from backends import pytree
from conformance.battery import strategies
from conformance.battery.catalog import Entry
from conformance.battery.specs.core import Ctx, Variant, spec, stack
from conformance.battery.specs.predicates import plain, probe, scalar, single_array

BATCH_SIZES = st.integers(1, 9)
"""Batch sizes drawn for every vmap check: a batching rule's bugs hide in sizes 1 (squeezed), >= 4
(vectorized tails) and primes (uneven chunks); a fixed size of 3 once let such faults through."""

EDGE_BATCHES = (0, 1, 4, 7, 9)
"""Sizes every probe function is batched at on purpose, in every profile: empty, one, and past the tails."""

NESTED_SIZES = st.integers(1, 5)


def _variants(e: Entry) -> list[Variant]:
    """in_dims/out_dims choices that make sense for the entry's arguments and output."""
    out: list[Variant] = []
    if e.arity == 1 and e.args[0].kind == "pair":
        return [Variant("in_dims=((0,None),)", (((0, None),), 0))]
    if e.arity == 1 and e.args[0].kind == "dict":
        # The argument is built as {b, w}; the second variant lists in_dims keys in the other order,
        # which must not matter: dict pytrees are matched by key.
        return [
            Variant("in_dims=({b:None,w:0},)", (({"b": None, "w": 0},), 0)),
            Variant("in_dims=({w:0,b:None},)-key_order", (({"w": 0, "b": None},), 0)),
        ]
    if e.arity == 1:
        out.append(Variant("in_dims=0", (0, 0)))
        if e.args[0].shape:
            out.append(Variant("in_dims=1", (1, 0)))
            out.append(Variant("in_dims=-1", (-1, 0)))
        if not e.scalar_output and "pytree" not in e.tags and e.args[0].shape:
            out.append(Variant("in_dims=0,out_dims=1", (0, 1)))
            out.append(Variant("in_dims=-1,out_dims=-1", (-1, -1)))
        return out
    return [
        Variant("in_dims=(0,None)", ((0, None), 0)),
        Variant("in_dims=(None,0)", ((None, 0), 0)),
        Variant("in_dims=(1,0)", ((1, 0), 0)),
        Variant("in_dims=(-1,None)", ((-1, None), 0)),
    ]


def _per_arg(in_dims: Any, n: int) -> tuple[Any, ...]:
    return tuple(in_dims) if isinstance(in_dims, tuple) else (in_dims,) * n


def draw_batch(ctx: Ctx, in_dims: Any, size: int | None = None) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """``size`` per-sample argument tuples (unbatched arguments shared) and the batched arguments.

    ``size`` is drawn from :data:`BATCH_SIZES` unless given; it is at least 1 (an empty batch has
    no sample to share unbatched arguments from: :func:`vmap_batch_size` builds that one).
    """
    if size is None:
        size = ctx.draw(BATCH_SIZES, label="batch size")
    strat = strategies.inputs(ctx.entry, ctx.dtype)
    samples = [ctx.draw(strat, label=f"sample {i}") for i in range(size)]
    dims = _per_arg(in_dims, ctx.entry.arity)
    samples = [tuple(_share(s_arg, s0_arg, d) for s_arg, s0_arg, d in zip(s, samples[0], dims)) for s in samples]
    batched = tuple(stack([s[j] for s in samples], dims[j]) for j in range(ctx.entry.arity))
    return samples, batched


def _share(value: Any, first: Any, prefix: Any) -> Any:
    """``value`` with every leaf that ``prefix`` leaves unbatched (None) taken from the first sample.

    The prefix pairs with dict arguments by key (:data:`backends.pytree.PAIRING`): the loop is what
    vmap means, whatever order the library pairs them in.
    """
    leaves, treedef = pytree.flatten(value, "insertion")
    shared = pytree.flatten(first, "insertion")[0]
    axes = pytree.prefix_leaves(prefix, value, "in_dims", "insertion")
    return pytree.unflatten(treedef, [s if axis is None else v for v, s, axis in zip(leaves, shared, axes)])


@spec("vmap_in_dims", "vmap", applies=lambda e: plain(e) and not e.control_flow, uses_reference=False, variants=_variants)
def vmap_in_dims(ctx: Ctx) -> None:
    """vmap(f, in_dims, out_dims)(X) equals stacking f over the batch with a Python loop."""
    in_dims, out_dims = ctx.variant
    samples, batched = draw_batch(ctx, in_dims)
    got = ctx.backend.vmap(ctx.f, in_dims=in_dims, out_dims=out_dims)(*ctx.native(batched))
    looped = stack([ctx.numpy(ctx.f(*ctx.native(s))) for s in samples], out_dims)
    ctx.expect_close(got, looped, "identity", f"vmap(f, in_dims={in_dims}, out_dims={out_dims})(X) vs loop")


def _edge_batches(e: Entry) -> list[Variant]:
    return [Variant(f"batch={n}", n) for n in EDGE_BATCHES]


@spec("vmap_batch_size", "vmap", applies=lambda e: probe(e) and plain(e) and not e.control_flow, uses_reference=False,
      variants=_edge_batches)
def vmap_batch_size(ctx: Ctx) -> None:
    """vmap(f)(X) equals the loop at batch sizes 0, 1, 4, 7 and 9: the empty batch has the loop's shape (0, ...)."""
    size = ctx.variant
    if size:
        samples, batched = draw_batch(ctx, 0, size)
        looped = stack([ctx.numpy(ctx.f(*ctx.native(s))) for s in samples], 0)
    else:
        # No sample to loop over: the expected result is the per-sample output's structure with a batch of 0.
        (one,) = [ctx.draw(strategies.inputs(ctx.entry, ctx.dtype), label="shape donor")]
        batched = tuple(_tree_empty(a) for a in one)
        looped = _tree_empty(ctx.numpy(ctx.f(*ctx.native(one))))
    got = ctx.backend.vmap(ctx.f)(*ctx.native(batched))
    ctx.expect_close(got, looped, "identity", f"vmap(f)(X) with a batch of {size} vs loop")


def _tree_empty(tree: Any) -> Any:
    """``tree`` with each leaf replaced by an empty stack of it: shape (0, *leaf.shape)."""
    return pytree.tree_map(lambda leaf: np.zeros((0, *np.shape(leaf)), np.asarray(leaf).dtype), tree, pairing="insertion")


@spec("vmap_nested", "vmap", applies=lambda e: plain(e) and single_array(e) and not e.control_flow, uses_reference=False)
def vmap_nested(ctx: Ctx) -> None:
    """vmap(vmap(f))(X) over two batch axes of different drawn sizes equals a double loop."""
    strat = strategies.inputs(ctx.entry, ctx.dtype)
    outer = ctx.draw(NESTED_SIZES, label="outer size")
    inner = ctx.draw(NESTED_SIZES.filter(lambda n: n != outer), label="inner size")
    grid = [[ctx.draw(strat, label=f"sample {i},{j}")[0] for j in range(inner)] for i in range(outer)]
    batched = np.stack([np.stack(row) for row in grid])
    got = ctx.backend.vmap(ctx.backend.vmap(ctx.f))(ctx.native(batched))
    rows = [stack([ctx.numpy(ctx.f(ctx.native(x))) for x in row], 0) for row in grid]
    ctx.expect_close(got, stack(rows, 0), "identity", "vmap(vmap(f))(X) vs double loop")


@spec("vmap_grad", "vmap", applies=lambda e: scalar(e) and single_array(e) and not e.control_flow, uses_reference=False)
def vmap_grad(ctx: Ctx) -> None:
    """vmap(grad(f))(X) equals per-sample gradients computed in a loop."""
    samples, batched = draw_batch(ctx, 0)
    got = ctx.backend.vmap(ctx.backend.grad(ctx.f))(*ctx.native(batched))
    looped = stack([ctx.numpy(ctx.backend.grad(ctx.f)(*ctx.native(s))) for s in samples], 0)
    ctx.expect_close(got, looped, "identity", "vmap(grad(f))(X) vs per-sample grad loop")
