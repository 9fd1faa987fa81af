"""Faults planted in complex differentiation, each as a maintainer could ship it (the real rows all pass).

* a grad that lost its conjugate: torch's grad conjugated, so it returns dL/dx - i dL/dy while declaring 'conjugate'
  (the convention flipped: right on every real input, where the imaginary part is 0);
* a vjp that conjugates where it should not: JAX's pullback conjugated (torch's adjoint under JAX's 'transpose');
* a holomorphic Jacobian returning the conjugate: torch.autograd's forward-mode Jacobian conjugated;
* abs's derivative by the real formula, g * sign(x) with x the real part, where the complex one is g * z / |z|
  (right on real inputs);
* a complex64 pullback silently computed in complex128, and a complex grad cast to its real part (dtype).
"""

from __future__ import annotations

from typing import Any

import torch

from backends.jax_api import JaxApi
from backends.torch_autograd import TorchAutograd
from backends.torch_func import TorchFunc
from tests.library_faults import _Namespace


class GradMissingConjugate(TorchFunc):
    name = "cx-grad-missing-conjugate"

    def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().grad(f, argnums, has_aux)
        return lambda *args: torch.utils._pytree.tree_map(torch.conj_physical, inner(*args))


class VjpConjugates(JaxApi):
    name = "cx-vjp-conjugates"

    def vjp(self, f: Any, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
        out, pullback = self._jax.vjp(f, *primals)
        return out, lambda c: tuple(self._jax.numpy.conj(g) for g in pullback(c))


class HolomorphicJacobianConjugate(TorchAutograd):
    name = "cx-holomorphic-jacobian-conjugate"

    def jacfwd(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().jacfwd(f, argnums, has_aux)
        return lambda *args: torch.conj_physical(inner(*args))


class _AbsRealFormula(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(z: torch.Tensor) -> torch.Tensor:
        return torch.abs(z)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0], output)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return (g * torch.sign(z.real)).to(z.dtype)  # the fault: d|x|/dx of a real x, not z / |z|

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        z, r = ctx.saved_tensors
        return torch.real(torch.conj(z) * t) / r


def _abs(z: Any) -> Any:
    return _AbsRealFormula.apply(z) if z.is_complex() else torch.abs(z)


class AbsRealFormula(TorchFunc):
    name = "cx-abs-real-formula"

    @property
    def xp(self) -> Any:
        return _Namespace(super().xp, {"abs": _abs})


class VjpInComplex128(TorchFunc):
    name = "cx-vjp-in-complex128"

    def vjp(self, f: Any, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
        out, pullback = super().vjp(f, *primals)
        return out, lambda c: tuple(g.to(torch.complex128) if g.is_complex() else g for g in pullback(c))


class GradDowncastToReal(TorchFunc):
    name = "cx-grad-downcast-to-real"

    def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().grad(f, argnums, has_aux)
        return lambda *args: torch.utils._pytree.tree_map(torch.real, inner(*args))


COMPLEX_FAULTS: dict[type, tuple[type, str]] = {
    GradMissingConjugate: (TorchFunc, "cx_grad"),
    VjpConjugates: (JaxApi, "cx_vjp"),
    HolomorphicJacobianConjugate: (TorchAutograd, "cx_holomorphic_jacfwd"),
    AbsRealFormula: (TorchFunc, "cx_*"),
    VjpInComplex128: (TorchFunc, "cx_vjp"),
    GradDowncastToReal: (TorchFunc, "cx_grad"),
}
"""Planted fault -> (the unbroken library, the specs whose gate checks must catch it)."""
