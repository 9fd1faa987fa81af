"""Static arguments carried through vmap: an ``axis`` (or ``kth``) that names the unbatched axes.

A batching rule receives its operand with the batch dimension somewhere and must shift ``axis`` past it: a rule
that forgets sorts, sums, flips or concatenates along the wrong axis, or along the batch itself, and is right
whenever the batch dimension happens to lie after the axis (a negative axis with the batch in front, a positive
one with the batch at the end).  So each operation is batched with in_dims and out_dims other than 0 and with
positive and negative axes, on a 3 x 4 sample (the two axes differ in length, so a wrong axis may change the
shape too), and compared with the reference's vmap (a loop).  ``partition`` is the library's own where it offers
one (jnp, mlx.core, autograd.numpy); its entries beside ``kth`` are in no specified order, so the check reads
the ``kth`` slice, the one the call fixes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.battery.catalog import Arg, Entry
from conformance.battery.specs.core import Ctx, Skip, Variant, spec, stack
from conformance.battery.specs.vmap import BATCH_SIZES

SHAPE = (3, 4)


NO_PARTITION = ("the namespace has no partition (torch offers topk and kthvalue, no partition; the array API "
                "standard has none)")


def _partition(xp: Any, x: Any, kth: int, axis: int) -> Any:
    # No raise in here: it runs inside vmap, and MindSpore's parser refuses any exception type not builtin.
    # The check skips first where the namespace has no partition.
    return xp.moveaxis(xp.partition(x, kth, axis=axis), axis, 0)[kth]


def _sort(xp: Any, x: Any, a: int) -> Any:
    return xp.sort(x, axis=a)


def _argsort(xp: Any, x: Any, a: int) -> Any:
    return xp.argsort(x, axis=a)


def _cumulative_sum(xp: Any, x: Any, a: int) -> Any:
    return xp.cumulative_sum(x, axis=a)


def _flip(xp: Any, x: Any, a: int) -> Any:
    return xp.flip(x, axis=a)


def _roll(xp: Any, x: Any, a: int) -> Any:
    return xp.roll(x, 1, axis=a)


def _concat(xp: Any, x: Any, a: int) -> Any:
    return xp.concat([x, -2.0 * x], axis=a)


def _partition_kth1(xp: Any, x: Any, a: int) -> Any:
    return _partition(xp, x, 1, a)


# Functions, not lambdas: a library that parses the Python it traces (MindSpore's vmap) reads a lambda's source
# line, and refuses one that is not a line of its own.
OPERATIONS: dict[str, Any] = {
    "static_sort": _sort, "static_argsort": _argsort, "static_cumulative_sum": _cumulative_sum, "static_flip": _flip,
    "static_roll": _roll, "static_concat": _concat, "static_partition": _partition_kth1,
}
"""Each operation of one 3 x 4 sample with its static axis ``a`` (``kth=1`` for partition)."""

ENTRIES: tuple[Entry, ...] = tuple(Entry(name, lambda xp, x, op=op: op(xp, x, -1), (Arg(SHAPE),), analytic=False)
                                   for name, op in OPERATIONS.items())

_CHOICES = ((0, 1, 1), (-1, -1, -1), (-2, 2, 0), (1, 0, 2))
"""(axis, in_dims, out_dims): batch after a positive axis, at the end with a negative one, behind a negative one,
and in front of a positive one with the output's batch at the end.  The first of each is what the gate runs."""


def _variants(e: Entry) -> list[Variant]:
    """partition's output (the kth slice) has one axis fewer: its last out_dims is 1, the largest it has."""
    rank = len(SHAPE) - (e.name == "static_partition")
    chosen = [(a, i, min(o, rank)) for a, i, o in _CHOICES]
    return [Variant(f"axis={a},in_dims={i},out_dims={o}", (a, i, o)) for a, i, o in chosen]


def _distinct(ctx: Ctx, label: str) -> np.ndarray:
    """A sample with 12 distinct entries a drawn permutation apart (sort, argsort and partition have no ties)."""
    perm = np.asarray(ctx.draw(st.permutations(range(12)), label=label), dtype=np.float64)
    return ((perm - 5.5) * 0.3).reshape(SHAPE)


@spec("vmap_static_axis", "vmap", entries=ENTRIES, dtypes=("float64",), uses_reference=False, variants=_variants,
      aspect="static axis")
def vmap_static_axis(ctx: Ctx) -> None:
    """vmap(op(., axis), in_dims, out_dims)(X) for sort, argsort, cumulative_sum, flip, roll, concat and partition
    (kth=1), the axis positive or negative and the batch on an axis other than 0 in and out, equals the
    reference's vmap (a loop): a batching rule must shift the static axis past the batch dimension."""
    axis, in_dims, out_dims = ctx.variant
    op = OPERATIONS[ctx.entry.name]
    if op is _partition_kth1 and getattr(ctx.backend.xp, "partition", None) is None:
        raise Skip(NO_PARTITION)
    size = ctx.draw(BATCH_SIZES, label="batch size")
    batched = stack([_distinct(ctx, f"sample {s}") for s in range(size)], in_dims)
    xp, xp_ref = ctx.backend.xp, ctx.reference.xp

    def on_backend(x: Any) -> Any:
        return op(xp, x, axis)

    def on_reference(x: Any) -> Any:
        return op(xp_ref, x, axis)

    got = ctx.backend.vmap(on_backend, in_dims=in_dims, out_dims=out_dims)(ctx.native(batched))
    want = ctx.reference.vmap(on_reference, in_dims=in_dims, out_dims=out_dims)(ctx.ref(batched))
    ctx.expect_close(got, want, "value", f"vmap({ctx.entry.name[7:]}(x, axis={axis}), in_dims={in_dims}, "
                     f"out_dims={out_dims})(X) vs the reference's loop", order=0)
