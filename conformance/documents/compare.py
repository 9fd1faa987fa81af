"""Compare a stated output with the output of now: numbers numerically, everything else structurally.

A printed tensor, array or float is parsed into its numbers and its *skeleton* (the text with each number
replaced by ``#`` and whitespace removed), so ``tensor([1.0000, 2.0000])`` and ``tensor([1., 2.])`` differ only
in precision, and line wrapping never matters.  Skeletons must be equal (same shape of nesting, same dtype
names, same words); integers must be equal; other numbers must agree within

    atol + rtol * max|expected|  (the project's ``tolerance(dtype, "value")``, norm-wise as everywhere else)
    + half a unit in the last printed digit of each side

because a printed number is itself rounded: ``0.3333`` stands for anything in [0.33325, 0.33335].  A number
written with a point and no fraction digits (``6.``, as torch and numpy print integral values) is exact.
The dtype is read from the printed text: float64 when it says ``float64``/``double``, else float32.
"""

from __future__ import annotations

import dataclasses
import doctest
import math
import re

from conformance.tolerances import tolerance

_DTYPE_WORD = re.compile(r"\b(?:b?float|u?int|complex)\d+\b|\bbfloat16\b")
_DIGITS_AS_LETTERS = str.maketrans("0123456789", "ABCDEFGHIJ")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])|(?<![\w.])[-+]?(?:nan|inf)\b")


@dataclasses.dataclass
class Number:
    value: float
    integer: bool
    resolution: float


@dataclasses.dataclass
class Parsed:
    skeleton: str
    numbers: list[Number]
    dtype: str


def _number(text: str) -> Number:
    value = float(text)
    mantissa, _, exp = text.lower().partition("e")
    if "." not in mantissa and not exp and text.lower().lstrip("+-") not in ("nan", "inf"):
        return Number(value, True, 0.0)
    digits = len(mantissa.partition(".")[2]) if "." in mantissa else 0
    if digits == 0:
        return Number(value, False, 0.0)  # "6." : printed because it is integral
    resolution = 0.5 * 10.0 ** (-digits) * (10.0 ** int(exp) if exp else 1.0)
    return Number(value, False, resolution)


def parse(text: str) -> Parsed:
    """The numbers and the skeleton of a printed value."""
    # Digits of dtype words (float32) and addresses are not numbers: spell them with letters in the skeleton.
    protected = _DTYPE_WORD.sub(lambda m: m.group(0).translate(_DIGITS_AS_LETTERS), text)
    protected = _ADDRESS.sub("0xADDR", protected)
    numbers = [_number(m.group(0)) for m in _NUMBER.finditer(protected)]
    skeleton = re.sub(r"\s+", "", _NUMBER.sub("#", protected))
    dtype = "float64" if re.search(r"float64|double", text) else "float32"
    return Parsed(skeleton, numbers, dtype)


@dataclasses.dataclass
class Comparison:
    """The evidence of one comparison; ``match`` is what the verdict rule reads."""

    match: bool
    how: str
    detail: str = ""
    max_abs_err: float | None = None
    bound: float | None = None
    dtype: str = ""


def _exception_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def is_exception(expected: str) -> bool:
    return expected.lstrip().startswith("Traceback (most recent call last)")


def compare_exception(expected: str, exc_type: str, message: str) -> Comparison:
    """A stated traceback against a raised exception: same exception class, same message (numbers compared)."""
    want = _exception_line(expected)
    want_type, _, want_msg = want.partition(":")
    short = exc_type.rsplit(".", 1)[-1]
    if want_type.strip().rsplit(".", 1)[-1] != short:
        return Comparison(False, "exception", f"stated {want_type.strip()}, raised {exc_type}")
    inner = compare(want_msg.strip(), message.strip())
    return Comparison(inner.match, "exception", inner.detail, inner.max_abs_err, inner.bound, inner.dtype)


def compare(expected: str, actual: str) -> Comparison:
    """Whether ``actual`` shows what ``expected`` states (see the module docstring for the rule)."""
    if "..." in expected and "..." not in actual:
        checker = doctest.OutputChecker()
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        ok = checker.check_output(expected.strip() + "\n", actual.strip() + "\n", flags)
        return Comparison(ok, "text with '...' wildcards", "" if ok else "the text differs outside the wildcards")
    e, a = parse(expected), parse(actual)
    if e.skeleton != a.skeleton:
        return Comparison(False, "structure", f"structure differs: stated {e.skeleton[:120]!r}, got "
                                              f"{a.skeleton[:120]!r}")
    if len(e.numbers) != len(a.numbers):
        return Comparison(False, "structure", f"{len(e.numbers)} numbers stated, {len(a.numbers)} printed")
    if not e.numbers:
        return Comparison(True, "structure")
    dtype = "float64" if "float64" in (e.dtype, a.dtype) else "float32"
    tol = tolerance(dtype, "value")
    finite = [abs(n.value) for n in e.numbers if math.isfinite(n.value)]
    scale = max(finite, default=0.0)
    worst, worst_bound, worst_at = 0.0, 0.0, -1
    for i, (x, y) in enumerate(zip(e.numbers, a.numbers)):
        if x.integer and y.integer:
            if x.value != y.value:
                return Comparison(False, "numbers", f"integer {i + 1}: stated {x.value:g}, got {y.value:g}", dtype=dtype)
            continue
        if math.isnan(x.value) or math.isnan(y.value) or math.isinf(x.value) or math.isinf(y.value):
            same = (math.isnan(x.value) and math.isnan(y.value)) or x.value == y.value
            if not same:
                return Comparison(False, "numbers", f"number {i + 1}: stated {x.value}, got {y.value}", dtype=dtype)
            continue
        bound = tol.atol + tol.rtol * scale + x.resolution + y.resolution
        err = abs(x.value - y.value)
        if err - bound > worst - worst_bound or worst_at < 0:
            worst, worst_bound, worst_at = err, bound, i
    ok = worst <= worst_bound
    detail = "" if ok else (f"number {worst_at + 1}: stated {e.numbers[worst_at].value:g}, "
                            f"got {a.numbers[worst_at].value:g} (|diff| {worst:.3g} > {worst_bound:.3g})")
    return Comparison(ok, "numbers", detail, worst, worst_bound, dtype)
