"""scan: equals a Python loop, and differentiates through the loop like the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.battery import strategies
from conformance.battery.catalog import SCAN_BODIES, SCAN_LENGTH
from conformance.battery.specs.core import Ctx, leaves, spec, stack


def _draw(ctx: Ctx) -> tuple[Any, Any]:
    carry_arg, x_arg = ctx.entry.args
    init = ctx.draw(strategies.arg_value(carry_arg, ctx.dtype), label="init")
    xs = ctx.draw(strategies.arg_value(x_arg, ctx.dtype, batch=(SCAN_LENGTH,)), label="xs")
    return init, xs


def _loop(ctx: Ctx, init: Any, xs: np.ndarray) -> tuple[Any, Any]:
    """The definition, on the backend itself: thread the carry, stack the per-step outputs."""
    carry, ys = ctx.native(init), []
    for t in range(SCAN_LENGTH):
        carry, y = ctx.f(carry, ctx.native(xs[t]))
        ys.append(ctx.numpy(y))
    return ctx.numpy(carry), stack(ys)


@spec("scan_loop", "scan", entries=SCAN_BODIES)
def scan_loop(ctx: Ctx) -> None:
    """scan(f, init, xs) == the Python loop carry, y = f(carry, x_t), with ys stacked on axis 0."""
    init, xs = _draw(ctx)
    carry, ys = ctx.unsupported(lambda: ctx.backend.scan(ctx.f, ctx.native(init), ctx.native(xs)))
    loop_carry, loop_ys = _loop(ctx, init, xs)
    ctx.expect_close((carry, ys), (loop_carry, loop_ys), "identity", "scan(f, init, xs) vs Python loop")
    ref = ctx.reference.scan(ctx.f_ref, ctx.ref(init), ctx.ref(xs))
    ctx.expect_close((carry, ys), ref, "value", "scan(f, init, xs) vs reference", order=0)


def _scan_loss(ctx: Ctx, backend: Any, f: Any) -> Any:
    xp = backend.xp

    def loss(init: Any, xs: Any) -> Any:
        carry, ys = backend.scan(f, init, xs)
        return sum(xp.sum(leaf) for _, leaf in leaves((carry, ys)))

    loss.analytic = ctx.entry.analytic  # type: ignore[attr-defined]
    return loss


@spec("scan_grad", "scan", entries=SCAN_BODIES)
def scan_grad(ctx: Ctx) -> None:
    """grad through scan w.r.t. init and xs equals the reference's derivative of its loop."""
    init, xs = _draw(ctx)
    loss = _scan_loss(ctx, ctx.backend, ctx.f)
    got = ctx.unsupported(lambda: ctx.backend.grad(loss, argnums=(0, 1))(ctx.native(init), ctx.native(xs)))
    want = ctx.reference.grad(_scan_loss(ctx, ctx.reference, ctx.f_ref), argnums=(0, 1))(ctx.ref(init), ctx.ref(xs))
    ctx.expect_close(got, want, "first", "grad(sum of scan outputs, argnums=(0, 1))", order=1)
