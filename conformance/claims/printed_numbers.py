"""Whether a printed number agrees with another: one rule for the article's claims, its fixes and the documents.

A printed number says only as much as its digits: ``0.5403`` stands for anything within half a unit of its last
digit.  So two numbers agree when they differ by at most the tolerance table's ``value`` bound for the dtype
(``conformance.battery.tolerances``: rounding inside the computation) plus the printed rounding of each side.  Integers
printed without a point are exact.  The documents' stored outputs (``documents.compare``) and the article's
printed-value claims and fixes (``article.verdicts``, ``article.fixes``) all judge with :func:`agree`.
"""

from __future__ import annotations

import math

from conformance.battery.tolerances import tolerance

DEFAULT_DTYPE = "float32"
"""The dtype a printed number is judged in when nothing says otherwise: torch and JAX compute in float32 by
default, and a float32 bound is never tighter than a float64 one."""


def resolution(token: str) -> float:
    """Half a unit in the last printed digit of ``token`` (``"0.5403"``: 5e-5, ``"1.5e-3"``: 5e-5); 0 for an
    integer, a number printed as ``"6."`` and for nan/inf."""
    text = token.strip()
    mantissa, _, exp = text.lower().partition("e")
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity") or "." not in mantissa:
        return 0.0
    digits = len(mantissa.partition(".")[2])
    if digits == 0:
        return 0.0
    return 0.5 * 10.0 ** (-digits) * (10.0 ** int(exp) if exp else 1.0)


def bound(dtype: str, scale: float, rounding: float = 0.0) -> float:
    """The largest difference two numbers may show at ``scale`` in ``dtype``, their printed ``rounding`` added."""
    tol = tolerance(dtype, "value")
    return tol.atol + tol.rtol * scale + rounding


def agree(got: str | float, want: str | float, dtype: str = DEFAULT_DTYPE) -> bool:
    """Whether ``got`` and ``want`` (printed tokens, or values computed exactly) are the same number as printed."""
    x, y = float(got), float(want)
    if not (math.isfinite(x) and math.isfinite(y)):
        return (math.isnan(x) and math.isnan(y)) or x == y
    rounding = sum(resolution(t) for t in (got, want) if isinstance(t, str))
    return abs(x - y) <= bound(dtype, max(abs(x), abs(y)), rounding)
