"""The reference's complex derivatives, by definition: the real engine on the real and imaginary parts.

A function of complex ``z = x + i y`` is seen as the real map ``g(x, y) = (Re f, Im f)`` (a real-valued f gives
itself), and the NumPy reference (:class:`backends.numpy_reference.NumpyReference`, Richardson differences: g is
never holomorphic) differentiates g.  Nothing else is differentiated here; the Wirtinger calculus is the
combination of g's real derivatives:

* ``jvp`` along ``t = t_x + i t_y``: ``dg (t_x, t_y)``, its two parts joined as ``u + i v``;
* ``vjp`` ``adjoint`` (:data:`backends.conventions.COMPLEX_VJPS`): the real transpose ``dg^T (Re c, Im c)`` joined
  as ``g_x + i g_y``, which is ``J^H c`` because ``Re(conj(a) b)`` is the real inner product of the parts;
  ``transpose``: ``conj(adjoint(conj(c)))``, ``J^T c`` under ``Re(a b) = <conj(a), b>``;
* ``grad`` of a real-valued L: ``conjugate`` is the adjoint pullback of 1, ``dL/dx + i dL/dy``;
  ``wirtinger`` its conjugate, ``dL/dx - i dL/dy``;
* the derivative of a holomorphic f, ``f'(z) = df/dx``, the derivative along the real direction; as a check on
  the reference itself it must equal ``-i df/dy`` (Cauchy-Riemann), or :func:`holomorphic_jacobian` raises;
* its second derivative ``f''(z) = d2f/dx dx`` (the real engine's Hessian of g, every pair of arguments), checked
  against ``-i d2f/dx dy`` and ``-d2f/dy dy``, or :func:`holomorphic_hessian` raises.

Results are complex128 or float64 (the battery checks the library's dtypes apart); inputs are arrays, outputs one
array, as the complex rows (``conformance.battery.complex_rows``) are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Fn = Callable[..., Any]

CAUCHY_RIEMANN_RTOL = 1e-8
"""How far ``df/dx`` and ``-i df/dy`` may differ, relative to ``max(1, |f'|)``: ten times the Richardson bound
(``ERROR_BOUNDS["richardson"]``); a larger gap means f is not holomorphic where it is claimed to be."""

CAUCHY_RIEMANN_SECOND_RTOL = 1e-5
"""The same for second derivatives (``d2f/dx dx``, ``-i d2f/dx dy``, ``-d2f/dy dy``), relative to
``max(1, |f''|)``: ten times the bound of second differences (``ERROR_BOUNDS["hessian_richardson"]``)."""


class _Realified:
    """``f`` of complex (or real) array arguments as a function of the real parts ``x_1, y_1, x_2, ...``."""

    def __init__(self, f: Fn, args: Sequence[Any]) -> None:
        self.f = f
        self.complex_in = [np.iscomplexobj(a) for a in args]
        self.complex_out = bool(np.iscomplexobj(f(*[np.asarray(a, np.complex128 if c else np.float64)
                                                     for a, c in zip(args, self.complex_in, strict=True)])))

    def parts(self, args: Sequence[Any]) -> tuple[np.ndarray, ...]:
        out: list[np.ndarray] = []
        for a, c in zip(args, self.complex_in, strict=True):
            a = np.asarray(a)
            out += [np.real(a).astype(np.float64), np.imag(a).astype(np.float64)] if c else [np.real(a).astype(np.float64)]
        return tuple(out)

    def join(self, parts: Sequence[Any]) -> list[np.ndarray]:
        """One value per argument from their parts (a complex argument's two parts become ``x + i y``)."""
        it, out = iter(parts), []
        for c in self.complex_in:
            out.append(np.asarray(next(it)) + 1j * np.asarray(next(it)) if c else np.asarray(next(it)))
        return out

    def out_parts(self, value: Any) -> Any:
        value = np.asarray(value)
        return (np.real(value).astype(np.float64), np.imag(value).astype(np.float64)) if self.complex_out else value

    def join_out(self, parts: Any) -> np.ndarray:
        return np.asarray(parts[0]) + 1j * np.asarray(parts[1]) if self.complex_out else np.asarray(parts)

    def __call__(self, *parts: Any) -> Any:
        return self.out_parts(self.f(*self.join(parts)))


def jvp(ref: Any, f: Fn, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(f(z), df(z)[t])``: the real jvp of the parts, joined."""
    g = _Realified(f, primals)
    out, tangent_out = ref.jvp(g, g.parts(primals), g.parts(tangents))
    return g.join_out(out), g.join_out(tangent_out)


def vjp(ref: Any, f: Fn, primals: Sequence[Any], convention: str) -> tuple[np.ndarray, Fn]:
    """``(f(z), pullback)`` under ``convention`` (``adjoint`` or ``transpose``); one cotangent in, a tuple out."""
    if convention not in ("adjoint", "transpose"):
        raise ValueError(f"no complex vjp convention {convention!r}")
    g = _Realified(f, primals)
    out, real_pullback = ref.vjp(g, *g.parts(primals))

    def adjoint(c: Any) -> tuple[np.ndarray, ...]:
        return tuple(g.join(real_pullback(g.out_parts(c))))

    def pullback(c: Any) -> tuple[np.ndarray, ...]:
        if convention == "adjoint":
            return adjoint(c)
        return tuple(np.conj(v) for v in adjoint(np.conj(c)))

    return g.join_out(out), pullback


def grad(ref: Any, f: Fn, args: Sequence[Any], convention: str, argnum: int = 0) -> np.ndarray:
    """The gradient of a real-valued scalar ``f`` in argument ``argnum`` under ``convention``
    (``conjugate``: ``dL/dx + i dL/dy``; ``wirtinger``: ``dL/dx - i dL/dy``)."""
    if convention not in ("conjugate", "wirtinger"):
        raise ValueError(f"no complex grad convention {convention!r}")
    out, pullback = vjp(ref, f, args, "adjoint")
    if np.iscomplexobj(out) or np.shape(out) != ():
        raise TypeError(f"grad needs a real scalar output; got {out.dtype} of shape {np.shape(out)}")
    g = pullback(np.float64(1.0))[argnum]
    return g if convention == "conjugate" else np.conj(g)


def jacobian_by_vjp(ref: Any, f: Fn, args: Sequence[Any], convention: str, argnum: int = 0) -> np.ndarray:
    """The Jacobian a reverse-mode ``jacrev`` builds: the pullback of each basis cotangent (output axes first)."""
    out, pullback = vjp(ref, f, args, convention)
    basis = np.eye(max(out.size, 1), dtype=out.dtype)[: out.size]
    rows = [pullback(e.reshape(out.shape))[argnum] for e in basis]
    return np.stack(rows).reshape(out.shape + np.shape(args[argnum]))


def holomorphic_jacobian(ref: Any, f: Fn, args: Sequence[Any], argnum: int = 0) -> np.ndarray:
    """``f'(z)`` in argument ``argnum`` (output axes first): the derivative along the real direction, checked
    against ``-i`` times the one along the imaginary direction."""
    g = _Realified(f, args)
    if not g.complex_out or not g.complex_in[argnum]:
        raise TypeError("a holomorphic derivative needs a complex output and a complex argument")
    x_index = sum(2 if c else 1 for c in g.complex_in[:argnum])
    (re_x, re_y), (im_x, im_y) = ref.jacfwd(g, argnums=(x_index, x_index + 1))(*g.parts(args))
    along_x = np.asarray(re_x) + 1j * np.asarray(im_x)
    along_y = -1j * (np.asarray(re_y) + 1j * np.asarray(im_y))
    gap = float(np.max(np.abs(along_x - along_y), initial=0.0))
    scale = max(1.0, float(np.max(np.abs(along_x), initial=0.0)))
    if gap > CAUCHY_RIEMANN_RTOL * scale:
        raise ValueError(f"{getattr(f, '__name__', 'f')} is not holomorphic at the point: df/dx and -i df/dy differ "
                         f"by {gap:.2e} (Cauchy-Riemann)")
    return along_x


def _cauchy_riemann(f: Fn, pairs: Sequence[tuple[np.ndarray, np.ndarray]], rtol: float, what: str) -> None:
    """Raise unless each pair agrees to ``rtol`` relative to ``max(1, |first|)``: f is not holomorphic there."""
    for a, b in pairs:
        gap = float(np.max(np.abs(a - b), initial=0.0))
        if gap > rtol * max(1.0, float(np.max(np.abs(a), initial=0.0))):
            raise ValueError(f"{getattr(f, '__name__', 'f')} is not holomorphic at the point: {what} differ by "
                             f"{gap:.2e} (Cauchy-Riemann)")


def holomorphic_hessian(ref: Any, f: Fn, args: Sequence[Any], argnums: int | tuple[int, ...] = 0) -> Any:
    """``f''(z)``: ``d2f / dz_a dz_b`` for the arguments in ``argnums`` (output axes first, then a's, then b's),
    one array for an int, blocks ``[a][b]`` for a tuple (JAX's nesting).  The real engine's Hessian of g along the
    real directions, checked against ``-i`` times the mixed one and minus the one along the imaginary directions."""
    g = _Realified(f, args)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not g.complex_out or not all(g.complex_in[k] for k in nums):
        raise TypeError("a holomorphic Hessian needs a complex output and complex arguments")
    starts = [sum(2 if c else 1 for c in g.complex_in[:k]) for k in nums]
    parts = tuple(i for s in starts for i in (s, s + 1))
    re, im = ref.hessian(g, argnums=parts)(*g.parts(args))

    def block(p: int, q: int) -> np.ndarray:
        return np.asarray(re[p][q]) + 1j * np.asarray(im[p][q])

    blocks = []
    for i in range(len(nums)):
        row = []
        for j in range(len(nums)):
            xx = block(2 * i, 2 * j)
            _cauchy_riemann(f, [(xx, -1j * block(2 * i, 2 * j + 1)), (xx, -block(2 * i + 1, 2 * j + 1))],
                            CAUCHY_RIEMANN_SECOND_RTOL, "d2f/dx dx, -i d2f/dx dy and -d2f/dy dy")
            row.append(xx)
        blocks.append(tuple(row))
    return blocks[0][0] if isinstance(argnums, int) else tuple(blocks)
