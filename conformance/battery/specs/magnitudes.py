"""Float32 at large magnitudes: the functions libraries promise to keep finite and accurate where the naive
formula overflows or loses its digits.

Every other check draws inputs of order 1 (the catalog's domains, mostly ``[-2, 2]``), where a logsumexp without
its max shift, a sigmoid whose derivative is ``exp(-x) / (1 + exp(-x))**2``, or a sine whose argument reduction
is a float32 ``x - 2 pi k`` are all right.  The bugs live at the magnitudes float32 cannot hold the intermediate
of: ``exp`` overflows past 88.7, and a reduction of ``x`` modulo ``2 pi`` in float32 keeps no correct digit past
about 1e4.  Each row of :data:`LARGE` is a function-table row redrawn on such a domain, with the promise that
makes it checkable (the library's documentation of a numerically stable function, or the accuracy of an
elementary function over its whole domain) and the naive formula it catches.

Why the tolerance table still holds: the inputs are exact float32 numbers on both sides (the reference evaluates
at the same float32 values, in float64), and the results of these rows are of order 1 (gradients, softmax weights,
sines) or carry their magnitude in ``max|expected|`` (a logsumexp of order 100), so the norm-wise bound of
``conformance/battery/tolerances.py`` applies as written; only the conditioning of ``sin`` at ``x`` (``|x cot x|``, up to
1e4) is large, and it does not enter, since no input is rounded.  The reference differentiates every row here by
complex step (analytic rows, exact at any magnitude) or, for ``logaddexp`` (no complex form in NumPy), by central
differences of steps 2**-6..2**-10, which at magnitudes of 100 keep 12 digits in float64.

float32 only: float64's exp overflows past 709, and its digits are what the float64 rows of every other spec
check.  grad and jvp: the reverse and the forward rule each have a naive form.
"""

from __future__ import annotations

import dataclasses

from conformance.battery.catalog import Entry
from conformance.battery.functions import FUNCTIONS_TABLE, row
from conformance.battery.specs.core import Ctx, spec
from conformance.battery.specs.functions import grad_in_every_argument, require_names


@dataclasses.dataclass(frozen=True)
class Large:
    """A row redrawn far from 1: its domain, and what a naive implementation gets wrong there."""

    low: float
    high: float
    naive: str


_EXP = "exp overflows float32 past 88.7"
LARGE: dict[str, Large] = {
    "fn_lib_logsumexp": Large(60.0, 120.0, f"{_EXP}: without the max shift the value is inf and the gradient NaN"),
    "fn_lib_softmax": Large(60.0, 120.0, f"{_EXP}: exp(x) / sum(exp(x)) unshifted is inf / inf, NaN"),
    "fn_lib_log_softmax": Large(60.0, 120.0, f"{_EXP}: x - log(sum(exp(x))) unshifted is -inf, its gradient NaN"),
    "fn_lib_sigmoid": Large(-100.0, 100.0, f"{_EXP}: the derivative exp(-x) / (1 + exp(-x))**2 is inf / inf "
                            "below -88.7"),
    "fn_logaddexp": Large(60.0, 120.0, f"{_EXP}: log(exp(x) + exp(y)) is inf, and its derivative exp(x) / "
                          "(exp(x) + exp(y)) NaN"),
    "fn_sin": Large(-1e4, 1e4, "a float32 argument reduction x - 2 pi k keeps no correct digit near 1e4 "
                    "(2 pi k carries an absolute error of k ulp(2 pi)); the derivative cos(x) alike"),
    "fn_cos": Large(-1e4, 1e4, "the argument reduction of sin: cos(x) and its derivative -sin(x) near 1e4"),
}
"""Function-table row -> its large domain (float32), each promised accurate there by its library."""


def redrawn(name: str, large: Large) -> Entry:
    """The row's entry on the large domain: the same name (so manifests and ``row`` find it), no declared points
    (they are points of the order-1 domain)."""
    entry = FUNCTIONS_TABLE[name].entry
    args = tuple(dataclasses.replace(a, low=large.low, high=large.high) for a in entry.args)
    return dataclasses.replace(entry, args=args, points=())


LARGE_ENTRIES: tuple[Entry, ...] = tuple(redrawn(name, large) for name, large in LARGE.items())


def _what(ctx: Ctx, transform: str) -> str:
    large = LARGE[ctx.entry.name]
    return f"{transform}({row(ctx.entry).name}) on [{large.low:g}, {large.high:g}] (naive formula: {large.naive})"


@spec("large_grad", "grad", entries=LARGE_ENTRIES, dtypes=("float32",), aspect="large magnitudes")
def large_grad(ctx: Ctx) -> None:
    """grad of sum(w * f(*x)) in every argument, float32 inputs of large magnitude (:data:`LARGE`): finite and
    equal to the reference's, where the naive formula overflows."""
    grad_in_every_argument(ctx, _what(ctx, "grad"))


@spec("large_jvp", "jvp", entries=LARGE_ENTRIES, dtypes=("float32",), aspect="large magnitudes")
def large_jvp(ctx: Ctx) -> None:
    """jvp(f, x, v) at float32 inputs of large magnitude (:data:`LARGE`): the value and J(x) v, finite and equal
    to the reference's."""
    require_names(ctx)
    args = ctx.draw_inputs()
    ctx.expect_jvp(ctx.f, ctx.f_ref, args, ctx.draw_like(args, "tangent"), _what(ctx, "jvp"))
