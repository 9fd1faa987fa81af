"""Float arrays decoded from hypothesis's bytes: the battery's draw distribution, written down.

Hypothesis draws two byte strings per array (two choices, however many elements); :func:`decode` turns them
into values.
Per element, one *class byte* ``c`` (uniform on 0..255) picks the element's class and eight *value bytes*
(a uniform 64-bit integer ``v``) pick its value within the class:

=================  =========  ==========================================================================
class              share      value
=================  =========  ==========================================================================
uniform            208/256    uniform on the domain, around the anchor (0 where the domain holds it,
                              else the nearer endpoint): one side by ``v``'s lowest bit (the anchor's
                              side only, if it is an endpoint), then uniform on that side
log magnitude      16/256     the anchor plus or minus ``span * 2**-e``, ``e`` uniform on [0, 24): small
                              and medium magnitudes that a uniform draw almost never reaches
+0, -0             4/256 each signed zeros
low, high          4/256 each the domain's endpoints
tiny               4/256      ``+-2**-e``, ``e`` uniform on [12, 40): far below 1, above the underflow band
huge               4/256      the domain's largest magnitude on one side, times ``1 - 2**-e``, ``e`` in [1, 24)
tie                4/256      equal to the element before it (the first element: uniform)
integer            4/256      the uniform value rounded to an integer
=================  =========  ==========================================================================

A class whose value falls outside the domain (``-0`` on ``[0.5, 2]``, an integer on ``[0.1, 0.9]``) gives the
uniform value instead.  Values are then rounded to the dtype under test, kept inside ``[low, high]`` by
stepping an endpoint inward where rounding pushed it out, and magnitudes below ``flush`` become a zero of the same sign (see
:data:`conformance.battery.strategies.UNDERFLOW_BAND`).  ``tests/test_draws.py`` measures the shares.

Why bytes: drawing one hypothesis float per element cost about two thirds of the reference's harness time.
Why zero bytes decode to zeros: hypothesis shrinks choices toward zero bytes, so a failing example shrinks
toward an array of zeros with as few non-zero elements as still fail.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable

import numpy as np

UNIFORM_END = 208
LOG_END = 224
CORNERS = ("+0", "-0", "low", "high", "tiny", "huge", "tie", "integer")
"""The corner classes, in the order of the class byte's residue ``(c - LOG_END) // 4``."""
CORNER_WIDTH = (256 - LOG_END) // len(CORNERS)


def classes(class_bytes: bytes) -> list[str]:
    """Each element's class name (for tests and for describing a draw)."""
    return [_class(c) for c in class_bytes]


def _class(c: int) -> str:
    if c < UNIFORM_END:
        return "uniform"
    if c < LOG_END:
        return "log"
    return CORNERS[(c - LOG_END) // CORNER_WIDTH]


_CLASS = tuple(_class(c) for c in range(256))


@functools.cache
def _rounder(low: float, high: float, dtype: str) -> Callable[[float], float]:
    """Rounds to ``dtype`` (as a Python float) and keeps the result inside ``[low, high]``."""
    if dtype != "float32":
        return lambda x: min(max(x, low), high)
    lo, hi = _f32(low), _f32(high)
    lo = lo if lo >= low else float(np.nextafter(np.float32(lo), np.float32(np.inf)))
    hi = hi if hi <= high else float(np.nextafter(np.float32(hi), np.float32(-np.inf)))
    return lambda x: min(max(_f32(x), lo), hi)


def _f32(x: float) -> float:
    """``x`` rounded to the nearest float32."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:  # beyond float32's range: the rounder's clamp brings it back
        return math.copysign(math.inf, x)


def decode(value_bytes: bytes, class_bytes: bytes, *, shape: tuple[int, ...], low: float, high: float,
           dtype: str, flush: float) -> np.ndarray:
    """The array of ``shape`` that these bytes stand for (see the module's table).

    Plain Python per element: the battery's arrays hold 1 to 64 elements, where one NumPy call costs more than
    a whole element here.
    """
    anchor = min(max(0.0, low), high)
    rnd = _rounder(low, high, dtype)
    values = struct.unpack(f"<{len(class_bytes)}Q", value_bytes)
    out: list[float] = []
    for v, c in zip(values, class_bytes):
        kind = _CLASS[c]
        up = not v & 1
        uniform = _toward(anchor, low, high, up, (v >> 11) * _2_53)
        x = uniform
        if kind == "log":
            x = _toward(anchor, low, high, up, math.ldexp(1.0, -((v >> 1) % 24)))
        elif kind != "uniform":
            x = _corner(kind, v, up, uniform, low, high, out)
            if not (low <= x <= high):
                x = uniform
        x = rnd(x)
        out.append(math.copysign(0.0, x) if abs(x) < flush else x)
    return np.array(out, dtype=np.float64).reshape(shape)


_2_53 = 2.0**-53


def _toward(anchor: float, low: float, high: float, up: bool, fraction: float) -> float:
    """``anchor`` moved by ``fraction`` (in [0, 1]) of the way to ``high`` (``up``) or to ``low``.

    An anchor at an endpoint has one side only: both halves of the draw go that way.
    """
    if anchor == low or (up and anchor != high):
        return anchor + fraction * (high - anchor)
    return anchor - fraction * (anchor - low)


def _corner(kind: str, v: int, up: bool, uniform: float, low: float, high: float, before: list[float]) -> float:
    sign = 1.0 if up else -1.0
    if kind == "+0":
        return 0.0
    if kind == "-0":
        return -0.0
    if kind == "low":
        return low
    if kind == "high":
        return high
    if kind == "tiny":
        return sign * math.ldexp(1.0, -(12 + (v >> 1) % 28))
    if kind == "huge":
        return (high if up else low) * (1.0 - math.ldexp(1.0, -(1 + (v >> 1) % 23)))
    if kind == "tie":
        return before[-1] if before else uniform
    return float(round(uniform))  # integer
