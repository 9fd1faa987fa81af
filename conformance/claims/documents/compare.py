"""Compare a stated output with the output of now: numbers numerically, everything else structurally, with a reason.

A printed tensor, array, float or complex number is parsed into its numbers and its *skeleton* (the text with each
real number replaced by ``#``, each complex one by ``#j``, and whitespace removed), so ``tensor([1.0000, 2.0000])``
and ``tensor([1., 2.])`` differ only in precision, and line wrapping never matters.  A complex number
(``1.+2.j``, ``(1-2j)``, ``1.0000001-0.5j``, ``-2j``, ``nan+infj``, as Python, NumPy, torch and JAX print them) is two
numbers, its real and imaginary parts, compared like any other.  Skeletons must be equal (same shape of nesting,
same dtype names, same words) up to the representation differences that :mod:`output_reasons` names
(``weak_type=True``, a ``dtype=`` printed on one side only, ``DeviceArray(`` for ``Array(``, a ``tensor(...)`` or
``np.float64(...)`` wrapper, a ``requires_grad=True``/``grad_fn=<...>``/``device=`` suffix); integers must be
equal; other numbers must agree within

    atol + rtol * max|expected|  (the project's ``tolerance(dtype, "value")``, norm-wise as everywhere else)
    + half a unit in the last printed digit of each side

because a printed number is itself rounded: ``0.3333`` stands for anything in [0.33325, 0.33335].  A number
written with a point and no fraction digits (``6.``, as torch and numpy print integral values) is exact.
The dtype is read from the printed text: float64 when it says ``float64``/``double``/``complex128``, else float32.

Every comparison says what it found (``Comparison.outcome``, the vocabulary of :mod:`output_reasons`): a match, a
match up to representation, a match in all but the last digits (counted in ulps of the dtype), a value difference
(the largest one, and where), a value difference downstream of random draws (with a hint at the likely cause when
the code that produced the output is given), or a structure difference.
"""

from __future__ import annotations

import dataclasses
import doctest
import math
import re
from collections.abc import Sequence
from typing import Any

from conformance.claims import printed_numbers
from conformance.claims.documents import output_reasons, random_streams

_DTYPE_WORD = re.compile(r"\b(?:b?float|u?int|complex)\d+\b|\bbfloat16\b")
_DIGITS_HIDDEN = str.maketrans("0123456789", "".join(chr(0xE000 + d) for d in range(10)))
_DIGITS_SHOWN = {0xE000 + d: str(d) for d in range(10)}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_REAL = r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
_PART = rf"(?:{_REAL}|nan|inf)"
_NUMBER = re.compile(
    rf"(?<![\w.])(?P<re>[-+]?{_PART})(?P<im>[-+]{_PART})j(?!\w)"  # 1.+2.j, (1-2j), nan+infj
    rf"|(?<![\w.])(?P<pure>[-+]?{_PART})j(?!\w)"  # -2j
    rf"|(?<![\w.])[-+]?{_REAL}(?!\w)"
    r"|(?<![\w.])[-+]?(?:nan|inf)\b"
)


@dataclasses.dataclass
class Number:
    value: float
    integer: bool
    resolution: float
    part: str = ""
    """``real`` or ``imaginary`` for a part of a complex number, else empty."""
    element: int = 0
    """Which printed value (1-based; the two parts of a complex number share one)."""
    token: str = ""
    line: int = 1
    """Line of the printed text it is on (1-based)."""


@dataclasses.dataclass
class Parsed:
    skeleton: str
    numbers: list[Number]
    dtype: str


def _number(text: str, part: str = "", element: int = 0, line: int = 1) -> Number:
    value = float(text)
    mantissa, _, exp = text.lower().partition("e")
    special = text.lower().lstrip("+-") in ("nan", "inf")
    if "." not in mantissa and not exp and not special:
        # An integer, unless it is a part of a complex number (always floats): then exact.
        return Number(value, not part, 0.0, part, element, text, line)
    return Number(value, False, printed_numbers.resolution(text), part, element, text, line)  # "6.": 0


def parse(text: str) -> Parsed:
    """The numbers and the skeleton of a printed value."""
    # Digits of dtype words (float32) and addresses are not numbers: hide them from the number pattern.
    protected = _DTYPE_WORD.sub(lambda m: m.group(0).translate(_DIGITS_HIDDEN), text)
    protected = _ADDRESS.sub("0xADDR", protected)
    numbers: list[Number] = []
    for element, m in enumerate(_NUMBER.finditer(protected), start=1):
        line = protected.count("\n", 0, m.start()) + 1
        if m.group("re") is not None:
            numbers += [_number(m.group("re"), "real", element, line), _number(m.group("im"), "imaginary", element, line)]
        elif m.group("pure") is not None:
            numbers += [Number(0.0, False, 0.0, "real", element, "0", line),
                        _number(m.group("pure"), "imaginary", element, line)]
        else:
            numbers.append(_number(m.group(0), "", element, line))
    skeleton = _NUMBER.sub(lambda m: "#" if m.group("re") is None and m.group("pure") is None else "#j", protected)
    skeleton = re.sub(r"\s+", "", skeleton)
    dtype = "float64" if re.search(r"float64|double|complex128", text) else "float32"
    return Parsed(skeleton, numbers, dtype)


@dataclasses.dataclass
class Comparison:
    """The evidence of one comparison; ``match`` is what the verdict rule reads, ``outcome`` says why.

    ``match`` is true exactly when ``outcome`` is in ``output_reasons.MATCHING`` (``match``, ``representation``,
    ``last-digits``); ``detail`` then says what differs all the same (empty for a plain match).
    """

    match: bool
    how: str
    detail: str = ""
    max_abs_err: float | None = None
    bound: float | None = None
    dtype: str = ""
    outcome: str = ""
    """One of ``output_reasons.OUTCOMES``: the most serious finding."""
    reasons: tuple[str, ...] = ()
    """Every outcome that applies, most serious first (``("value", "representation")``)."""
    representation: tuple[str, ...] = ()
    """The representation differences, in words (``"`weak_type=True` stated, not printed now"``)."""
    hint: str = ""
    """A likely cause, not a certainty (the random stream); empty when there is none."""
    differing: int = 0
    """How many numbers differ beyond the tolerance."""
    numbers: int = 0
    """How many numbers were compared."""
    ulps: float | None = None
    """The largest difference within the tolerance in units in the last place of ``dtype`` (last digits)."""

    def evidence(self) -> dict[str, Any]:
        """The reason fields for a claim's evidence (JSON-safe)."""
        out: dict[str, Any] = {"outcome": self.outcome, "reasons": list(self.reasons)}
        if self.representation:
            out["representation"] = list(self.representation)
        if self.hint:
            out["hint"] = self.hint
        if self.numbers:
            out["differing"], out["numbers"] = self.differing, self.numbers
        if self.ulps is not None and math.isfinite(self.ulps):
            out["ulps"] = self.ulps
        return out


def _exception_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def is_exception(expected: str) -> bool:
    return expected.lstrip().startswith("Traceback (most recent call last)")


def compare_exception(expected: str, exc_type: str, message: str,
                      source: str | Sequence[str] | None = None) -> Comparison:
    """A stated traceback against a raised exception: same exception class, same message (numbers compared)."""
    want = _exception_line(expected)
    want_type, _, want_msg = want.partition(":")
    short = exc_type.rsplit(".", 1)[-1]
    if want_type.strip().rsplit(".", 1)[-1] != short:
        return Comparison(False, "exception", f"stated {want_type.strip()}, raised {exc_type}",
                          outcome="exception", reasons=("exception",))
    inner = compare(want_msg.strip(), message.strip(), source)
    return dataclasses.replace(inner, how="exception")


def _shown(skeleton: str) -> str:
    return skeleton.translate(_DIGITS_SHOWN)


def _structure(expected: str, actual: str, e: Parsed, a: Parsed, found: list[str]) -> Comparison:
    de, da = _DTYPE_WORD.findall(expected), _DTYPE_WORD.findall(actual)
    unify = re.compile("|".join(map(re.escape, sorted(set(de) | set(da), key=len, reverse=True))) or "(?!)")
    if de != da and unify.sub("D", _shown(e.skeleton)) == unify.sub("D", _shown(a.skeleton)):
        detail = f"dtype differs: stated {', '.join(dict.fromkeys(de)) or 'none'}, printed now {', '.join(dict.fromkeys(da)) or 'none'}"
    elif e.skeleton != a.skeleton:
        k = len(_common_prefix(e.skeleton, a.skeleton))
        lo = max(0, k - 40)
        cut = "…" if lo else ""
        detail = (f"structure differs: stated {cut + _shown(e.skeleton[lo:k + 60])!r}, "
                  f"got {cut + _shown(a.skeleton[lo:k + 60])!r}")
    else:
        detail = f"{len(e.numbers)} numbers stated, {len(a.numbers)} printed"
    if found:
        detail += f" (besides representation: {'; '.join(found)})"
    return Comparison(False, "structure", detail, outcome="structure", reasons=("structure",),
                      representation=tuple(found))


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]


@dataclasses.dataclass
class _Row:
    x: Number
    y: Number
    err: float
    bound: float
    kind: str
    """equal, precision (within the printed rounding), last-digits (within the tolerance), beyond."""


def _rows(e: Parsed, a: Parsed, dtype: str) -> list[_Row]:
    scale = max((abs(n.value) for n in e.numbers if math.isfinite(n.value)), default=0.0)
    rows = []
    for x, y in zip(e.numbers, a.numbers):
        if x.integer and y.integer:
            err = abs(x.value - y.value)
            rows.append(_Row(x, y, err, 0.0, "equal" if err == 0 else "beyond"))
        elif not (math.isfinite(x.value) and math.isfinite(y.value)):
            same = (math.isnan(x.value) and math.isnan(y.value)) or x.value == y.value
            rows.append(_Row(x, y, 0.0 if same else math.inf, 0.0, "equal" if same else "beyond"))
        else:
            err, rounding = abs(x.value - y.value), x.resolution + y.resolution
            bound = printed_numbers.bound(dtype, scale, rounding)
            kind = ("equal" if err == 0 and x.token == y.token else "precision" if err <= rounding
                    else "last-digits" if err <= bound else "beyond")
            rows.append(_Row(x, y, err, bound, kind))
    return rows


def _where(n: Number, multiline: bool) -> str:
    at = f"the {n.part} part of element {n.element}" if n.part else f"element {n.element}"
    return at + (f" (line {n.line})" if multiline else "")


def _difference(r: _Row, multiline: bool) -> str:
    where = _where(r.x, multiline)
    if r.x.integer and r.y.integer:
        return f"{where}, an integer: stated {r.x.token}, got {r.y.token}"
    if not math.isfinite(r.err):
        return f"{where}: stated {r.x.token}, got {r.y.token}"
    rel = f", relative {r.err / abs(r.x.value):.2g}" if r.x.value else ""
    return f"{where}: stated {r.x.token}, got {r.y.token} (|diff| {r.err:.3g} > {r.bound:.3g}{rel})"


def compare(expected: str, actual: str, source: str | Sequence[str] | None = None) -> Comparison:
    """Whether ``actual`` shows what ``expected`` states, and why not (see the module docstring for the rule).

    ``source`` is the code that produced ``actual`` (the cell and the cells before it, as one text or a list of
    cell sources); only the random-stream hint reads it.
    """
    if "..." in expected and "..." not in actual:
        checker = doctest.OutputChecker()
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        ok = checker.check_output(expected.strip() + "\n", actual.strip() + "\n", flags)
        outcome = "match" if ok else "text"
        return Comparison(ok, "text with '...' wildcards", "" if ok else "the text differs outside the wildcards",
                          outcome=outcome, reasons=(outcome,))
    e, a = parse(expected), parse(actual)
    dtype = "float64" if "float64" in (e.dtype, a.dtype) else "float32"
    e_text, a_text, found = expected, actual, []
    if e.skeleton != a.skeleton or len(e.numbers) != len(a.numbers):
        e_text, a_text, found = output_reasons.normalize(expected, actual)
        ne, na = parse(e_text), parse(a_text)
        if not found or ne.skeleton != na.skeleton or len(ne.numbers) != len(na.numbers):
            return _structure(expected, actual, e, a, found)
        e, a = ne, na
    if output_reasons.whitespace_differs(e_text, a_text):
        found.append(output_reasons.WHITESPACE)
    rows = _rows(e, a, dtype)
    if any(r.kind == "precision" for r in rows):
        found.append(output_reasons.PRECISION)
    if not rows:
        return _verdict("representation" if found else "match", "structure", "", found, dtype=dtype)
    multiline = "\n" in expected.strip()
    worst = max(rows, key=lambda r: (r.err - r.bound, r.err))
    err = worst.err if math.isfinite(worst.err) else None
    beyond = [r for r in rows if r.kind == "beyond"]
    common = {"max_abs_err": err, "bound": worst.bound, "dtype": dtype, "differing": len(beyond), "numbers": len(rows)}
    if beyond:
        floats = [r for r in rows if not r.x.integer]
        floats_beyond = [r for r in beyond if not r.x.integer]
        use = None
        if floats_beyond and len(floats_beyond) > output_reasons.WHOLESALE_SHARE * len(floats):
            use = random_streams.random_use(source) if source else None
        share = f"{len(beyond)} of {len(rows)} numbers differ beyond the tolerance"
        largest = f"the largest difference is at {_difference(worst, multiline)}"
        if use is not None:
            hint = random_streams.random_hint(use)
            detail = (f"random stream? {share} while the structure agrees; likely cause (a hint, not a certainty): "
                      f"{hint}; {largest}")
            return _verdict("random-stream", "numbers", detail, found, hint=hint, **common)
        return _verdict("value", "numbers", f"value: {share}; {largest}", found, **common)
    last = [r for r in rows if r.kind == "last-digits"]
    if last:
        top = max(last, key=lambda r: r.err)
        u = output_reasons.ulps(top.err, max(abs(top.x.value), abs(top.y.value)), dtype)
        count = f"{u:.1f}" if u < 10 else f"{u:.0f}"
        detail = (f"last digits: {len(last)} of {len(rows)} numbers differ within the tolerance; the largest "
                  f"difference, {count} ulp of {dtype}, is at {_where(top.x, multiline)}: stated {top.x.token}, got "
                  f"{top.y.token} (|diff| {top.err:.3g} <= {top.bound:.3g})")
        return _verdict("last-digits", "numbers", detail, found, ulps=u, **common)
    return _verdict("representation" if found else "match", "numbers", "", found, **common)


def _verdict(outcome: str, how: str, detail: str, found: list[str], **fields: Any) -> Comparison:
    reasons = [outcome] + (["value"] if outcome == "random-stream" else [])
    if found and outcome != "representation":
        reasons.append("representation")
    if found:
        note = f"representation only: {'; '.join(found)} (the numbers agree)" if outcome in ("representation",) \
            else f"representation: {'; '.join(found)}"
        detail = f"{detail}; {note}" if detail else note
    return Comparison(outcome in output_reasons.MATCHING, how, detail, outcome=outcome, reasons=tuple(reasons),
                      representation=tuple(found), **fields)
