"""The array API standard's fft extension in the function table: transforms over subsets of axes, each ``norm``.

One row per calling form a library reaches through its own code: the 1-d transforms along a positive and a
negative axis, the real ones (``rfft`` of real data, ``irfft`` of a half spectrum with an explicit ``n``), the n-d
ones over a subset of the axes of a 3-d input (``(0,)``, ``(0, 1)``, ``(-1,)``, and ``(-1, 0)``, whose real axis is
the first array axis), ``fftshift``, and each ``norm`` ("backward" spelled out, "ortho", "forward": libraries
branch on the string, and a rule written for the default alone is right on every row that leaves it out).  Each
row calls ``xp.fft.<name>`` (``uses``: a namespace without it skips, naming it) and passes its keywords by name
(``keywords``: a backend declares the ones its namespace rejects, ``Conventions.lacks_keywords``).

* **Real outputs that see the imaginary part.**  The battery compares real arrays, so a complex transform ``F``
  is returned as ``stack([real(F), imag(F)])``: its Jacobian ``[Re dF; Im dF]`` is checked part by part.  The real
  part alone could not see a conjugation error (``Re(conj(F) x) = Re(F x)`` for real x: the classic fault of a
  reverse rule using the forward transform where the adjoint is the inverse scaled by n), and a weighted sum of
  the two parts checks one combination of them, which a fault scaling both can keep; the stack keeps both whole.
* **Square where an axis could be mistaken.**  The 1-d rows transform one axis of a 3 x 3 matrix and the n-d rows
  leave an axis of the same length as a transformed one, so a rule transforming the wrong axis (or all axes,
  ignoring ``axes``) keeps the shape and shows as wrong numbers, not as an error.  The DFT matrix is symmetric, so
  the row's Jacobian is not square (real and imaginary parts stacked) and a transposed Jacobian cannot pass.
* **Even real lengths.**  The real transforms run along axes of even length, where the Nyquist bin exists and
  the reverse rules special-case it (autograd refuses odd lengths outright: a missing feature, not what we test);
  ``irfft`` pads a 3-bin half spectrum to n = 6, so a rule ignoring ``n`` has the wrong shape.
* **Not analytic.**  ``real`` and ``imag`` are not holomorphic, so complex step would be wrong: the reference
  differences every row (Richardson central differences), which is exact to rounding on a linear map.  The rows
  are linear in their input (no hessian), except the power spectrum ``|fftn(x)|^2``, which is quadratic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from conformance.battery.entry import Arg

_PARTS = ("real", "imag", "stack")
"""What turns a complex transform into the row's real output (:func:`_parts`)."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One fft row: its name in the table, entry, domain, call, and the flags of ``conformance.battery.functions.function``."""

    name: str
    entry: str
    args: tuple[Arg, ...]
    op: Callable[..., Any]
    uses: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    second: bool = False
    note: str = ""
    category: str = "linalg"


def _parts(xp: Any, z: Any) -> Any:
    """``stack([real(z), imag(z)])``: both parts whole, so a wrong sign of the imaginary part shows."""
    return xp.stack([xp.real(z), xp.imag(z)], axis=0)


_I = 1j
"""The imaginary unit, bound here once, outside the rows: a library that parses the Python it traces (MindSpore's
jvp, jacrev and vmap) refuses a complex literal in it ("Unsupported Constant type"), and a name is no literal.  The
same Python complex the literal was, so every other library computes exactly what it did."""


def _joined(x: Any) -> Any:
    """The complex array ``x[0] + i x[1]`` of a real array of shape (2, ...): complex data built inside the row."""
    return x[0] + _I * x[1]


def _fft(xp: Any, x: Any) -> Any:
    return _parts(xp, xp.fft.fft(x, axis=0))


def _ifft(xp: Any, x: Any) -> Any:
    return _parts(xp, xp.fft.ifft(_joined(x), axis=-1, norm="ortho"))


def _rfft(xp: Any, x: Any) -> Any:
    return _parts(xp, xp.fft.rfft(x, axis=-1, norm="forward"))


IRFFT_N = 6


def _irfft(xp: Any, x: Any) -> Any:
    return xp.fft.irfft(_joined(x), n=IRFFT_N)


def _fftn(xp: Any, x: Any) -> Any:
    return _parts(xp, xp.fft.fftn(x, axes=(0, 1)))


def _power(xp: Any, x: Any) -> Any:
    f = xp.fft.fftn(x, axes=(-1,))
    return xp.real(f) ** 2 + xp.imag(f) ** 2


def _rfftn(xp: Any, x: Any) -> Any:
    return _parts(xp, xp.fft.rfftn(x, axes=(0,)))


def _rfftn_last_first(xp: Any, x: Any) -> Any:
    return _parts(xp, xp.fft.rfftn(x, axes=(-1, 0), norm="backward"))


def _fftshift(xp: Any, x: Any) -> Any:
    return xp.fft.fftshift(x, axes=0)


def _uses(name: str) -> tuple[str, ...]:
    return (f"fft.{name}", *_PARTS)


ROWS: tuple[Row, ...] = (
    Row("fft.fft (axis=0)", "fn_fft_fft", (Arg((3, 3)),), _fft, _uses("fft"),
        note="along the first axis of a 3 x 3 matrix (under vmap, the batch axis comes first); real input, "
             "the default norm; out: stack(real, imag)"),
    Row("fft.ifft (complex input, axis=-1, norm='ortho')", "fn_fft_ifft", (Arg((2, 2, 3)),), _ifft, _uses("ifft"),
        keywords=("fft.ifft(norm=)",),
        note="of x[0] + i x[1] (2 x 3, complex: the complex-to-complex path) along the last axis, orthonormal"),
    Row("fft.rfft (axis=-1, norm='forward')", "fn_fft_rfft", (Arg((3, 4)),), _rfft, _uses("rfft"),
        keywords=("fft.rfft(norm=)",),
        note="along the last axis of a 3 x 4 matrix (even: the Nyquist bin), scaled by 1/n forwards"),
    Row(f"fft.irfft (n={IRFFT_N})", "fn_fft_irfft", (Arg((2, 3)),), _irfft, ("fft.irfft",),
        keywords=("fft.irfft(n=)",),
        note=f"of the half spectrum x[0] + i x[1] (3 bins) to n = {IRFFT_N} real samples: the Nyquist bin is "
             "padded, the imaginary part of bin 0 has no effect (its derivative is zero)"),
    Row("fft.fftn (axes=(0, 1))", "fn_fft_fftn", (Arg((3, 2, 2)),), _fftn, _uses("fftn"),
        keywords=("fft.fftn(axes=)",),
        note="over the first two axes of a 3 x 2 x 2 array (a rule transforming every axis keeps the shape)"),
    Row("fft.fftn (axes=(-1,), power spectrum)", "fn_fft_fftn_power", (Arg((2, 2, 3)),), _power,
        ("fft.fftn", "real", "imag"), keywords=("fft.fftn(axes=)",), second=True,
        note="real(F)**2 + imag(F)**2 along the last axis of a 2 x 2 x 3 array: quadratic, so its hessian is checked"),
    Row("fft.rfftn (axes=(0,))", "fn_fft_rfftn", (Arg((4, 3)),), _rfftn, _uses("rfftn"),
        keywords=("fft.rfftn(axes=)",),
        note="along the first axis only (length 4) of a 4 x 3 matrix: the real axis is not the last one"),
    Row("fft.rfftn (axes=(-1, 0), norm='backward')", "fn_fft_rfftn_last_first", (Arg((4, 2, 2)),),
        _rfftn_last_first, _uses("rfftn"), keywords=("fft.rfftn(axes=)", "fft.rfftn(norm=)"),
        note="of a 4 x 2 x 2 array (16 entries, the most the tolerance table keeps unscaled): a full transform along the last axis, then the real one along axis 0 (the last "
             "of axes, not of the array); the default norm spelled out"),
    Row("fft.fftshift (axes=0)", "fn_fft_fftshift", (Arg((5, 2)),), _fftshift, ("fft.fftshift",),
        keywords=("fft.fftshift(axes=)",), category="manipulation",
        note="along the first axis of a 5 x 2 matrix: odd, so fftshift is not its own inverse (its adjoint is "
             "ifftshift)"),
)
"""The fft rows, one calling form each (the gate's cover keeps each once per spec aspect)."""
