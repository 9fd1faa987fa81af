"""Opt-in accuracy modes a library documents, at large magnitudes: the modes' rows (``conformance/battery/everyday.py``:
``fn_lib_softmax_precise``, ``fn_lib_matmul_highest``) run through every transform as function rows (``fn_*``);
here the ones that overflow naively are redrawn where ``specs/magnitudes.py`` redraws their plain rows.

A mode computes the same function as the plain call, so the reference and the tolerances are the plain row's.
MLX's ``softmax(precise=True)`` changes only half-precision inputs, which the battery does not draw: float32 at
[60, 120] must still be finite and as accurate as the plain softmax there (a mode taking another code path that
drops the max shift would overflow).  A library without the mode skips, naming what was looked for
(``<library> lacks softmax_precise (library): ...``).  matmul has no large-magnitude failure (a product does not
overflow at these sizes), so its mode has no row here.
"""

from __future__ import annotations

from conformance.battery.catalog import Entry
from conformance.battery.functions import row
from conformance.battery.specs.core import Ctx, spec
from conformance.battery.specs.functions import grad_in_every_argument, require_names
from conformance.battery.specs.magnitudes import LARGE, Large, redrawn

MODES: dict[str, str] = {"fn_lib_softmax_precise": "fn_lib_softmax"}
"""A mode's row -> the plain row whose large domain (``specs/magnitudes.LARGE``) it is redrawn on."""
LARGE_MODES: dict[str, Large] = {mode: LARGE[plain] for mode, plain in MODES.items()}


ENTRIES: tuple[Entry, ...] = tuple(redrawn(name, large) for name, large in LARGE_MODES.items())


def _what(ctx: Ctx, transform: str) -> str:
    large = LARGE_MODES[ctx.entry.name]
    return (f"{transform}({row(ctx.entry).name}) on [{large.low:g}, {large.high:g}], the mode of "
            f"{MODES[ctx.entry.name]} (naive formula: {large.naive})")


@spec("mode_large_grad", "grad", entries=ENTRIES, dtypes=("float32",), aspect="large magnitudes")
def mode_large_grad(ctx: Ctx) -> None:
    """grad of sum(w * f(x)) through an accuracy mode at float32 inputs of large magnitude: finite and equal to the
    reference's, as the plain row's ``large_grad``."""
    grad_in_every_argument(ctx, _what(ctx, "grad"))


@spec("mode_large_jvp", "jvp", entries=ENTRIES, dtypes=("float32",), aspect="large magnitudes")
def mode_large_jvp(ctx: Ctx) -> None:
    """jvp(f, x, v) through an accuracy mode at float32 inputs of large magnitude: the value and J(x) v, finite and
    equal to the reference's, as the plain row's ``large_jvp``."""
    require_names(ctx)
    args = ctx.draw_inputs()
    ctx.expect_jvp(ctx.f, ctx.f_ref, args, ctx.draw_like(args, "tangent"), _what(ctx, "jvp"))
