"""jit(T(f)) == T(f) for every transform T, where the library has a jit.

One check per transform (a variant each): a library whose compiler cannot take one transform, or
that lacks the transform, skips that check alone.  Each check records what compiled it
(``Backend.jit_description``: torch.compile's backend, mx.compile, jax.jit).

The inputs are fixed, not drawn: what is under test is the compiler, which sees shapes and dtypes,
not values, and a compile costs 0.2 to 1.6 s under torch.compile (each draw would compile afresh,
since the battery's closures change with every example).  One spread of values across each
argument's domain, one compile per check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.battery.catalog import Arg, Entry
from conformance.battery.specs.core import Ctx, Variant, spec, stack, tree_map

ENTRIES = frozenset({"sin_sum", "logsumexp", "quadratic_form", "tanh_vec", "dict_input"})
TRANSFORMS = ("jvp", "jacrev", "vmap", "grad", "hessian")
SCALAR_ONLY = frozenset({"grad", "hessian"})


def _variants(e: Entry) -> list[Variant]:
    return [Variant(t, t) for t in TRANSFORMS if e.scalar_output or t not in SCALAR_ONLY]


def _spread(shape: tuple[int, ...], low: float, high: float, dtype: str, phase: float) -> np.ndarray:
    """Values spread over [low, high] without repeats (golden-ratio steps), exactly representable in ``dtype``."""
    n = int(np.prod(shape)) if shape else 1
    frac = (phase + 0.6180339887 * np.arange(1, n + 1)) % 1.0
    return np.asarray(low + (high - low) * frac, dtype=dtype).astype(np.float64).reshape(shape)


def _fixed_arg(arg: Arg, dtype: str, phase: float) -> Any:
    def leaf(p: float) -> np.ndarray:
        x = _spread(arg.shape, arg.low, arg.high, dtype, p)
        return x + arg.diag_boost * np.eye(arg.shape[-1]) if arg.diag_boost else x

    if arg.kind == "pair":
        return (leaf(phase), leaf(phase + 0.3))
    if arg.kind == "dict":
        return {"b": leaf(phase), "w": leaf(phase + 0.3)}
    return leaf(phase)


def fixed_inputs(entry: Entry, dtype: str) -> tuple[Any, ...]:
    """Deterministic arguments inside each argument's declared domain."""
    return tuple(_fixed_arg(a, dtype, 0.1 * i) for i, a in enumerate(entry.args))


def _direction(tree: Any, dtype: str) -> Any:
    return tree_map(lambda leaf: _spread(np.shape(leaf), -1.0, 1.0, dtype, 0.45), tree)


def _call(ctx: Ctx, transform: str, args: tuple[Any, ...]) -> Any:
    b, f = ctx.backend, ctx.f
    x = ctx.native(args)
    if transform == "jvp":
        v = ctx.native(_direction(args, ctx.dtype))
        return lambda: b.jvp(f, x, v)
    if transform == "vmap":
        batched = ctx.native(tuple(stack([a, a]) for a in args))
        return lambda: b.vmap(f)(*batched)
    return lambda: getattr(b, transform)(f)(*x)


@spec("jit_agrees", "jit", applies=lambda e: e.name in ENTRIES, uses_reference=False, variants=_variants,
      random_inputs=False)
def jit_agrees(ctx: Ctx) -> None:
    """Compiling a transformed function changes nothing but speed: jit(T(f)) equals the eager T(f)."""
    b = ctx.backend
    b.jit(lambda: None)  # Unsupported (a skip) where the library has no jit
    ctx.figures.details["compiled_with"] = b.jit_description()
    args = fixed_inputs(ctx.entry, ctx.dtype)
    ctx.record_input("args", args)
    call = _call(ctx, ctx.variant, args)
    eager = ctx.numpy(call())
    compiled = b.jit(call)()
    ctx.expect_close(compiled, eager, "identity", f"jit({ctx.variant}) vs eager {ctx.variant}")
