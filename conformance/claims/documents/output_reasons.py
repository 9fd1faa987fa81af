"""Why a stated output and the output of now differ: the reason vocabulary of :mod:`compare`, with its helpers.

Outcomes, most serious first (``Comparison.outcome`` is one of them, ``Comparison.reasons`` all that apply):

- ``structure``: the skeletons differ (other words, other nesting, another dtype, more or fewer numbers), beyond
  the representation differences below;
- ``text``: the text differs outside a statement's ``...`` wildcards;
- ``exception``: another exception class was raised than the one stated;
- ``random-stream``: numbers differ beyond the tolerance, most of them, while the structure agrees, and the code
  draws random numbers (``random_streams``): a *hint* at the likely cause (a changed random stream, unseeded
  draws), not a certainty;
- ``value``: numbers differ beyond the tolerance (the largest difference, and where, is in the detail);
- ``last-digits``: numbers differ by more than their printed rounding but within the tolerance: in their last
  digits, counted in ulps of the dtype (a match);
- ``representation``: the numbers agree but the repr differs in a known way (:data:`REWRITES`, printed precision,
  whitespace/line wrapping) (a match);
- ``match``: the same output (up to object addresses).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

import numpy as np

OUTCOMES = ("structure", "text", "exception", "random-stream", "value", "last-digits", "representation", "match")
"""Most serious first."""

MATCHING = frozenset({"match", "representation", "last-digits"})
"""Outcomes under which the output shows what the document states (``Comparison.match`` is true)."""

WHOLESALE_SHARE = 0.5
"""A random-stream hint needs more than this share of the non-integer numbers to differ beyond the tolerance: a
changed stream changes every number drawn and everything computed from them, and the few that still agree are
constants (a mask, a ReLU's zeros); a value bug downstream of a seed typically changes a few.  It is a threshold
for a hint, not a tolerance: whether numbers agree is decided by ``conformance.battery.tolerances`` alone."""

PRECISION = "printed precision"
WHITESPACE = "whitespace/line wrapping"


# ---------------------------------------------------------------------------------------------------------------
# Representation differences: rewrites that take a repr to what the other side prints, each with its name.


@dataclasses.dataclass(frozen=True)
class Rewrite:
    """A repr difference that leaves the numbers alone: ``find`` finds it, ``apply`` removes it from a text."""

    find: re.Pattern[str]
    apply: Callable[[str], str]
    rename_to: str = ""
    """For a renamed wrapper (``DeviceArray(`` -> ``Array(``): what it is called now."""


def _drop(pattern: str) -> Rewrite:
    rx = re.compile(pattern)
    return Rewrite(rx, lambda text: rx.sub("", text))


def _unwrap(name: str) -> Rewrite:
    """``name(...)`` with its balanced parentheses -> what is inside (keyword suffixes are removed before)."""
    rx = re.compile(rf"(?<![\w.]){re.escape(name)}\(")

    def apply(text: str) -> str:
        opens = {m.start(): m.end() for m in rx.finditer(text)}
        out: list[str] = []
        stack: list[bool] = []  # per open parenthesis: is it a wrapper's?
        pos = 0
        while pos < len(text):
            if pos in opens:
                stack.append(True)
                pos = opens[pos]
                continue
            ch = text[pos]
            if ch == "(":
                stack.append(False)
            elif ch == ")" and stack and stack.pop():
                pos += 1
                continue
            out.append(ch)
            pos += 1
        return "".join(out)

    return Rewrite(rx, apply)


_SUFFIXES: dict[str, Rewrite] = {
    "weak_type=True": _drop(r",\s*weak_type=True"),
    "requires_grad=True": _drop(r",\s*requires_grad=True"),
    "grad_fn=<...>": _drop(r",\s*grad_fn=<[\w.]*>"),
    "device=...": _drop(r",\s*device='[^'\n]*'"),
}
_RENAMES: dict[str, Rewrite] = {
    "DeviceArray(": Rewrite(re.compile(r"(?<![\w.])DeviceArray\("),
                            lambda text: re.sub(r"(?<![\w.])DeviceArray\(", "Array(", text), rename_to="Array("),
}
_DTYPE_ARG = re.compile(r",\s*dtype=([\w.]+)")
_WRAPPER_NAME = re.compile(r"(?<![\w.])(tensor|Array|np\.[a-z]+\d*_?|numpy\.[a-z]+\d*_?)\(")

REWRITES = (*_SUFFIXES, "dtype=... (stated on one side only)", *_RENAMES,
            "tensor(...)", "Array(...)", "np.float64(...) and other NumPy scalar reprs")
"""The representation differences recognised, for documentation and the report's legend."""


def _counted(label: str, stated: int, now: int, rename_to: str = "") -> str:
    if rename_to and stated > now:
        return f"`{label}` stated, `{rename_to}` printed now"
    if rename_to:
        return f"`{rename_to}` stated, `{label}` printed now"
    if now == 0:
        return f"`{label}` stated, not printed now"
    if stated == 0:
        return f"`{label}` printed now, not stated"
    return f"`{label}` stated {stated} times, printed {now} times"


def normalize(expected: str, actual: str) -> tuple[str, str, list[str]]:
    """Both texts with the representation differences between them removed, and those differences in words.

    A rewrite is applied only where the two sides differ in it (one side says ``weak_type=True`` and the other
    does not), so ``dtype=float32`` against ``dtype=float64`` stays a difference: dtype arguments are dropped only
    when one side prints none at all.
    """
    found: list[str] = []
    for label, rw in (*_SUFFIXES.items(), *_RENAMES.items()):
        ce, ca = len(rw.find.findall(expected)), len(rw.find.findall(actual))
        if ce != ca:
            found.append(_counted(label, ce, ca, rw.rename_to))
            expected, actual = rw.apply(expected), rw.apply(actual)
    de, da = _DTYPE_ARG.findall(expected), _DTYPE_ARG.findall(actual)
    if bool(de) != bool(da):
        found.append(_counted(f"dtype={(de or da)[0]}", len(de), len(da)))
        expected, actual = _DTYPE_ARG.sub("", expected), _DTYPE_ARG.sub("", actual)
    names = sorted(set(_WRAPPER_NAME.findall(expected)) | set(_WRAPPER_NAME.findall(actual)))
    for name in names:
        rw = _unwrap(name)
        ce, ca = len(rw.find.findall(expected)), len(rw.find.findall(actual))
        if ce != ca:
            found.append(_counted(f"{name}(...)", ce, ca))
            expected, actual = rw.apply(expected), rw.apply(actual)
    return expected, actual, found


def whitespace_differs(expected: str, actual: str) -> bool:
    """The texts are laid out differently: they differ only in whitespace, or they wrap onto other lines."""
    e, a = expected.strip(), actual.strip()
    if e == a:
        return False
    no_ws = re.sub(r"\s+", "", e) == re.sub(r"\s+", "", a)
    return no_ws or e.count("\n") != a.count("\n")


# ---------------------------------------------------------------------------------------------------------------
# Last digits: differences counted in units in the last place of the dtype.


def ulps(diff: float, at: float, dtype: str) -> float:
    """``diff`` in units in the last place of ``dtype`` at magnitude ``at`` (inf where that has no meaning)."""
    at = abs(at)
    if not (math.isfinite(diff) and math.isfinite(at)):
        return math.inf
    if dtype == "float32":
        with np.errstate(over="ignore"):
            spacing = float(np.spacing(np.float32(at)))
    else:
        spacing = math.ulp(at)
    return diff / spacing if spacing and math.isfinite(spacing) else math.inf
