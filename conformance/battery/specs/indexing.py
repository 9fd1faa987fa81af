"""Indices at and beyond the bounds: take, take_along_axis and ``x[i]``, alone, under grad and under vmap.

Libraries differ beyond the bounds (JAX fills ``jnp.take`` with NaN and clamps ``x[i]``, NumPy and torch raise,
MLX checks nothing), so each declares what it does (``Conventions.index_bounds``) and these specs compare it with
the meaning of its own word (:mod:`conformance.battery.index_bounds`): a declaration is verified by running, never trusted.

* ``index_edges``: the in-bounds edges ``0, n-1, -1, -n`` (negative indices are the standard's), one repeated, for
  every library: the value, and the gradient of ``sum(w * gather(x))``, which must scatter ``w`` to every
  position read and add where two indices read one;
* ``index_beyond``: indices past either end under the declared word, outside any transform, under grad and under
  vmap with batched indices.  ``error``: every call raises (under vmap too, where the library has one); a word
  defining a value (``clamp``, ``fill``, ``wrap``): the value and the derivative it defines; ``unchecked``: a skip;
* ``index_vmap``: vmap of the gather and of its gradient, x and the indices batched on different axes (or one of
  them not at all), each sample with its own indices, against the definition applied sample by sample.

``x[i]`` comes twice: with an integer array, and with a 0-d integer array (a traced scalar index under vmap).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.battery import index_bounds
from conformance.battery.catalog import Arg, Entry
from conformance.battery.specs.core import CheckFailed, Ctx, Skip, Variant, spec, stack
from conformance.battery.specs.vmap import BATCH_SIZES

DTYPES = ("float32",)
"""A gather is exact in any dtype: one dtype keeps the gate fast, and float32 is where every device computes."""


@dataclasses.dataclass(frozen=True)
class Gather:
    """One indexing operation: how it is called, the declared word it answers to, and its indices."""

    call: Callable[[Any, Any, Any], Any]
    bounds: str
    """Its key in ``Conventions.index_bounds``."""
    shape: tuple[int, ...]
    op: str
    """``take`` or ``take_along_axis``: its definition in :func:`conformance.battery.index_bounds.gather`."""
    axis: int
    scalar: bool = False
    """Indexed by one 0-d index at a time (``x[i]`` with a traced scalar)."""

    def indices(self, along: list[int], shift: int = 0) -> list[np.ndarray]:
        """The index arrays one check passes: ``along`` itself (rotated by ``shift``), a row per leading row of x
        for take_along_axis (each rotated once more, so rows differ), or one 0-d index per value."""
        base = np.roll(np.asarray(along, dtype=np.int64), shift)
        if self.scalar:
            return [np.asarray(v) for v in base]
        if self.op == "take_along_axis":
            return [np.stack([np.roll(base, r) for r in range(self.shape[0])])]
        return [base]

    def define(self, x: np.ndarray, idx: np.ndarray, word: str, fill: float = np.nan) -> np.ndarray:
        return index_bounds.gather(x, idx, self.op, self.axis, word, fill)


def _take(xp: Any, x: Any, i: Any) -> Any:
    return xp.take(x, i, axis=0)


def _take_along_axis(xp: Any, x: Any, i: Any) -> Any:
    return xp.take_along_axis(x, i, axis=1)


def _getitem(xp: Any, x: Any, i: Any) -> Any:
    return x[i]


# Functions, not lambdas: MindSpore's vmap parses the Python it traces and refuses a lambda sharing its line.
GATHERS = {
    "index_take": Gather(_take, "take", (5,), "take", 0),
    "index_take_along_axis": Gather(_take_along_axis, "take_along_axis", (3, 5), "take_along_axis", 1),
    "index_getitem": Gather(_getitem, "getitem", (5,), "take", 0),
    "index_getitem_scalar": Gather(_getitem, "getitem", (5,), "take", 0, scalar=True),
}


def _entry(name: str, g: Gather) -> Entry:
    def fn(xp: Any, x: Any) -> Any:
        return g.call(xp, x, xp.asarray(g.indices(edges(g))[0]))

    return Entry(name, fn, (Arg(g.shape),))


ENTRIES: tuple[Entry, ...] = tuple(_entry(name, g) for name, g in GATHERS.items())


def edges(g: Gather) -> list[int]:
    n = g.shape[g.axis]
    return [0, n - 1, -1, -n, 0]


def beyond(g: Gather) -> list[int]:
    n = g.shape[g.axis]
    return [n, -n - 1, n + 3]


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed, non-uniform, none zero: a gradient scattered to the wrong position cannot pass."""
    return (1.0 + np.arange(int(np.prod(shape, dtype=int)), dtype=np.float64) * 0.5).reshape(shape)


class _Bound:
    """One check's gather on its backend: the call, its weighted sum, and the expected values by definition."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx, self.g = ctx, GATHERS[ctx.entry.name]
        self.xp = ctx.backend.xp

    def index(self, idx: np.ndarray) -> Any:
        return self.ctx.backend.asarray(idx, "int64")

    def out_shape(self, idx: np.ndarray) -> tuple[int, ...]:
        return self.g.define(np.zeros(self.g.shape), idx, "wrap").shape

    def weighted(self, idx: np.ndarray) -> Callable[[Any, Any], Any]:
        w, xp, call = self.ctx.native(_weights(self.out_shape(idx))), self.xp, self.g.call

        def g(x: Any, i: Any) -> Any:
            return xp.sum(w * call(xp, x, i))

        g.analytic = True  # type: ignore[attr-defined]  # read by the reference: a gather is linear
        return g

    def expected_grad(self, x: np.ndarray, idx: np.ndarray, word: str) -> np.ndarray:
        return index_bounds.gradient(x, _weights(self.out_shape(idx)), lambda u: self.g.define(u, idx, word, 0.0))

    def check_alone(self, x: np.ndarray, indices: list[np.ndarray], word: str, where: str) -> None:
        """The value and the gradient of each index array, outside vmap."""
        ctx, b = self.ctx, self.ctx.backend
        for idx in indices:
            what = f"{self.g.bounds}(x, {idx.tolist()}) [{where}, index_bounds {word!r}]"
            ctx.expect_close(self.g.call(self.xp, ctx.native(x), self.index(idx)), self.g.define(x, idx, word), "value",
                             what)
            got = b.grad(self.weighted(idx))(ctx.native(x), self.index(idx))
            ctx.expect_close(got, self.expected_grad(x, idx, word), "first", f"grad of sum(w * {what})")

    def check_vmapped(self, xs: list[np.ndarray], idxs: list[np.ndarray], dims: tuple[Any, Any], out: int,
                      word: str, where: str) -> None:
        """vmap of the gather and of its gradient at ``dims`` against the definition, sample by sample."""
        ctx, b = self.ctx, self.ctx.backend
        x_b = xs[0] if dims[0] is None else stack(xs, dims[0])
        i_b = idxs[0] if dims[1] is None else stack(idxs, dims[1])
        call = self.g.call
        what = f"vmap({self.g.bounds}, in_dims={dims}, out_dims={out}) [{where}, index_bounds {word!r}]"
        xp = self.xp

        def gathered(x: Any, i: Any) -> Any:
            return call(xp, x, i)

        got = b.vmap(gathered, in_dims=dims, out_dims=out)(ctx.native(x_b), self.index(i_b))
        ctx.expect_close(got, stack([self.g.define(x, i, word) for x, i in zip(xs, idxs)], out), "value", what)
        grads = b.vmap(b.grad(self.weighted(idxs[0])), in_dims=dims, out_dims=out)(ctx.native(x_b), self.index(i_b))
        want = stack([self.expected_grad(x, i, word) for x, i in zip(xs, idxs)], out)
        ctx.expect_close(grads, want, "first", f"{what} of grad(sum(w * gather))")


@spec("index_edges", "grad", entries=ENTRIES, dtypes=DTYPES, uses_reference=False, aspect="in-bounds edge indices")
def index_edges(ctx: Ctx) -> None:
    """take / take_along_axis / x[i] at indices 0, n-1, -1, -n (0 twice): the value, and the gradient of
    sum(w * gather(x)) scattering w to each position read (adding where two indices read one), in every library."""
    bound = _Bound(ctx)
    (x,) = ctx.draw_inputs()
    indices = bound.g.indices(edges(bound.g))
    ctx.record_input("indices", indices)
    bound.check_alone(x, indices, "error", "in bounds")


@spec("index_beyond", "grad", entries=ENTRIES, dtypes=DTYPES, uses_reference=False, aspect="beyond the bounds")
def index_beyond(ctx: Ctx) -> None:
    """Indices n, -n-1 and n+3 under the library's declared Conventions.index_bounds word: 'error' raises (alone
    and under vmap); 'clamp', 'fill' and 'wrap' give the value and the derivative the word defines, alone, under
    grad and under vmap with batched indices; 'unchecked' is a skip."""
    bound, conv = _Bound(ctx), ctx.backend.conventions
    g, word = bound.g, conv.index_bound(bound.g.bounds)
    if word == "unchecked":
        raise Skip(f"{ctx.backend.name} declares index_bounds[{g.bounds!r}] = 'unchecked' (no bounds checking: "
                   "values beyond the bounds are undefined); its in-bounds edges are checked by index_edges")
    (x,) = ctx.draw_inputs()
    indices = g.indices(beyond(g))
    ctx.record_input("indices", indices)
    vmapped = "vmap" not in conv.unsupported
    if word == "error":
        for idx in indices:
            _raises(ctx, lambda idx=idx: g.call(bound.xp, ctx.native(x), bound.index(idx)), f"{g.bounds}(x, {idx.tolist()})")
        if vmapped:
            batch = stack(indices if g.scalar else [g.indices(beyond(g), s)[0] for s in range(3)], 0)
            _raises(ctx, lambda: ctx.backend.vmap(lambda i: g.call(bound.xp, ctx.native(x), i))(bound.index(batch)),
                    f"vmap({g.bounds}(x, .), in_dims=0)(I) with I = {batch.tolist()}")
        return
    for idx in indices:
        try:
            g.call(bound.xp, ctx.native(x), bound.index(idx))
        except MemoryError:
            raise
        except Exception as exc:  # the declared word gives this index a value: raising is not following it
            raise CheckFailed(f"{g.bounds}(x, {idx.tolist()}) [{ctx.backend.name}] raised {type(exc).__name__}: {exc} "
                              f"although the adapter declares index_bounds[{g.bounds!r}] = {word!r}") from None
    bound.check_alone(x, indices, word, "beyond the bounds")
    if vmapped:
        idxs = indices if g.scalar else [g.indices(beyond(g), s)[0] for s in range(3)]
        bound.check_vmapped([x] * len(idxs), idxs, (None, 0), 0, word, "beyond the bounds")


def _raises(ctx: Ctx, call: Callable[[], Any], what: str) -> None:
    try:
        value = ctx.numpy(call())
    except MemoryError:
        raise
    except Exception as exc:  # the declaration says it raises; which error is the library's own
        ctx.figures.details.setdefault("raised", []).append(f"{what}: {type(exc).__name__}: {str(exc)[:120]}")
        return
    raise CheckFailed(f"{what} [{ctx.backend.name}] returned {np.asarray(value).tolist()} although the adapter declares "
                      f"index_bounds[{GATHERS[ctx.entry.name].bounds!r}] = 'error' (an index beyond the bounds raises)")


_IN_DIMS: tuple[tuple[tuple[Any, Any], int], ...] = (((None, 0), 0), ((1, 0), -1), ((0, None), 0), ((-1, -1), -1))
"""(in_dims of x and of the indices, out_dims): indices batched alone, both on other axes than 0, x batched alone."""


def _vmap_variants(e: Entry) -> list[Variant]:
    return [Variant(f"in_dims=({d[0]},{d[1]}),out_dims={o}", (d, o)) for d, o in _IN_DIMS]


@spec("index_vmap", "vmap", entries=ENTRIES, dtypes=DTYPES, uses_reference=False, variants=_vmap_variants,
      aspect="indices")
def index_vmap(ctx: Ctx) -> None:
    """vmap of take / take_along_axis / x[i] and of its gradient, x and the in-bounds edge indices each batched
    (or not) on the variant's axis, every sample reading its own indices, equals the definition sample by sample."""
    bound = _Bound(ctx)
    dims, out = ctx.variant
    g = bound.g
    size = ctx.draw(BATCH_SIZES, label="batch size")
    (first,) = ctx.draw_inputs()
    xs = [first] + [ctx.draw_like(first, f"x {s}") for s in range(1, size)] if dims[0] is not None else [first] * size
    along = edges(g)
    idxs = [np.asarray(along[s % len(along)]) if g.scalar else g.indices(along, s)[0] for s in range(size)]
    if dims[1] is None:
        idxs = [idxs[0]] * size
    ctx.record_input("indices", idxs)
    bound.check_vmapped(xs, idxs, dims, out, "error", "in bounds")
