"""vmap: every in_dims/out_dims choice equals a Python loop; nesting; vmap of grad."""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance import strategies
from conformance.catalog import Entry
from conformance.specs.core import Ctx, Variant, spec, stack
from conformance.specs.predicates import plain, scalar, single_array

BATCH = 3


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
        return out
    return [
        Variant("in_dims=(0,None)", ((0, None), 0)),
        Variant("in_dims=(None,0)", ((None, 0), 0)),
        Variant("in_dims=(1,0)", ((1, 0), 0)),
    ]


def _per_arg(in_dims: Any, n: int) -> tuple[Any, ...]:
    return tuple(in_dims) if isinstance(in_dims, tuple) else (in_dims,) * n


def _leaf_dims(prefix: Any, value: Any) -> Any:
    """Broadcast an in_dims prefix over an argument's pytree."""
    if isinstance(value, dict):
        return {k: _leaf_dims(prefix[k] if isinstance(prefix, dict) else prefix, v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_leaf_dims(prefix[i] if isinstance(prefix, tuple) else prefix, v) for i, v in enumerate(value))
    return prefix


def _draw_batch(ctx: Ctx, in_dims: Any) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """BATCH per-sample argument tuples (unbatched arguments shared) and the batched arguments."""
    strat = strategies.inputs(ctx.entry, ctx.dtype)
    samples = [ctx.draw(strat, label=f"sample {i}") for i in range(BATCH)]
    dims = tuple(_leaf_dims(d, a) for d, a in zip(_per_arg(in_dims, ctx.entry.arity), samples[0]))
    samples = [tuple(_share(s_arg, s0_arg, d) for s_arg, s0_arg, d in zip(s, samples[0], dims)) for s in samples]
    batched = tuple(stack([s[j] for s in samples], dims[j]) for j in range(ctx.entry.arity))
    return samples, batched


def _share(value: Any, first: Any, dims: Any) -> Any:
    if isinstance(value, dict):
        return {k: _share(value[k], first[k], dims[k]) for k in value}
    if isinstance(value, tuple):
        return tuple(_share(v, f, d) for v, f, d in zip(value, first, dims))
    return first if dims is None else value


@spec("vmap_in_dims", "vmap", applies=lambda e: plain(e) and not e.control_flow, uses_reference=False, variants=_variants)
def vmap_in_dims(ctx: Ctx) -> None:
    """vmap(f, in_dims, out_dims)(X) equals stacking f over the batch with a Python loop."""
    in_dims, out_dims = ctx.variant
    samples, batched = _draw_batch(ctx, in_dims)
    got = ctx.backend.vmap(ctx.f, in_dims=in_dims, out_dims=out_dims)(*ctx.native(batched))
    looped = stack([ctx.numpy(ctx.f(*ctx.native(s))) for s in samples], out_dims)
    ctx.expect_close(got, looped, "identity", f"vmap(f, in_dims={in_dims}, out_dims={out_dims})(X) vs loop")


@spec("vmap_nested", "vmap", applies=lambda e: plain(e) and single_array(e) and not e.control_flow, uses_reference=False)
def vmap_nested(ctx: Ctx) -> None:
    """vmap(vmap(f))(X) over two batch axes equals a double loop."""
    strat = strategies.inputs(ctx.entry, ctx.dtype)
    grid = [[ctx.draw(strat, label=f"sample {i},{j}")[0] for j in range(2)] for i in range(BATCH)]
    batched = np.stack([np.stack(row) for row in grid])
    got = ctx.backend.vmap(ctx.backend.vmap(ctx.f))(ctx.native(batched))
    rows = [stack([ctx.numpy(ctx.f(ctx.native(x))) for x in row], 0) for row in grid]
    ctx.expect_close(got, stack(rows, 0), "identity", "vmap(vmap(f))(X) vs double loop")


@spec("vmap_grad", "vmap", applies=lambda e: scalar(e) and single_array(e) and not e.control_flow, uses_reference=False)
def vmap_grad(ctx: Ctx) -> None:
    """vmap(grad(f))(X) equals per-sample gradients computed in a loop."""
    samples, batched = _draw_batch(ctx, 0)
    got = ctx.backend.vmap(ctx.backend.grad(ctx.f))(*ctx.native(batched))
    looped = stack([ctx.numpy(ctx.backend.grad(ctx.f)(*ctx.native(s))) for s in samples], 0)
    ctx.expect_close(got, looped, "identity", "vmap(grad(f))(X) vs per-sample grad loop")
