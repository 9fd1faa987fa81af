"""Faults planted in holomorphic Hessians and in complex derivatives beyond the first argument (the real rows pass).

* a holomorphic Hessian with a stray conjugation: JAX's ``jax.hessian(f, holomorphic=True)`` conjugated, still
  declared ``derivative`` (right wherever f'' is real);
* a holomorphic Jacobian of the wrong argument: JAX's ``jacrev(f, argnums=1, holomorphic=True)`` differentiating
  the first argument (an argnums lost on the way down);
* a holomorphic Hessian of the wrong argument: the same for ``jax.hessian``;
* a holomorphic grad whose tuple of gradients comes back in the wrong order: MLX's ``grad(f, argnums=(0, 1))``;
* a forward-mode Jacobian conjugating the blocks of the arguments after the first (torch.autograd);
* a grad of a real-valued L of complex inputs in the first argument where the second was asked for (torch.func).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import torch

from backends.conventions import Holomorphic
from backends.jax_api import JaxApi
from backends.mlx_api import MlxApi
from backends.torch_autograd import TorchAutograd
from backends.torch_func import TorchFunc

Argnums = int | tuple[int, ...]


def _declaring(base: type, transform: str, api: str) -> Any:
    """``base``'s conventions with the holomorphic ``transform`` asked for through ``api`` (a name below)."""
    import dataclasses

    conv = base.conventions
    holomorphic = {**conv.complex.holomorphic, transform: Holomorphic("derivative", api, "holomorphic")}
    return dataclasses.replace(conv, complex=dataclasses.replace(conv.complex, holomorphic=holomorphic))


def _first_for_second(argnums: Argnums) -> Argnums:
    return 0 if argnums == 1 else argnums


def conjugated_hessian(f: Any, argnums: Argnums = 0, holomorphic: bool = False) -> Any:
    inner = jax.hessian(f, argnums, holomorphic=holomorphic)
    return lambda *args: jax.tree_util.tree_map(jnp.conj, inner(*args))


def jacrev_of_the_first(f: Any, argnums: Argnums = 0, holomorphic: bool = False) -> Any:
    return jax.jacrev(f, _first_for_second(argnums), holomorphic=holomorphic)


def hessian_of_the_first(f: Any, argnums: Argnums = 0, holomorphic: bool = False) -> Any:
    return jax.hessian(f, _first_for_second(argnums), holomorphic=holomorphic)


_HERE = __name__


class HolomorphicHessianConjugated(JaxApi):
    name = "cx-holomorphic-hessian-conjugated"
    conventions = _declaring(JaxApi, "hessian", f"{_HERE}.conjugated_hessian")


class HolomorphicJacrevWrongArgument(JaxApi):
    name = "cx-holomorphic-jacrev-wrong-argument"
    conventions = _declaring(JaxApi, "jacrev", f"{_HERE}.jacrev_of_the_first")


class HolomorphicHessianWrongArgument(JaxApi):
    name = "cx-holomorphic-hessian-wrong-argument"
    conventions = _declaring(JaxApi, "hessian", f"{_HERE}.hessian_of_the_first")


class GradTupleSwapped(MlxApi):
    name = "cx-grad-tuple-swapped"

    def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().grad(f, argnums, has_aux)
        if not isinstance(argnums, tuple):
            return inner
        return lambda *args: tuple(reversed(inner(*args)))


class JacfwdConjugatesLaterArguments(TorchAutograd):
    name = "cx-jacfwd-conjugates-later-arguments"

    def jacfwd(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().jacfwd(f, argnums, has_aux)
        if isinstance(argnums, int):
            return lambda *args: inner(*args) if argnums == 0 else torch.conj_physical(inner(*args))
        return lambda *args: tuple(j if k == 0 else torch.conj_physical(j) for k, j in enumerate(inner(*args)))


class GradWrongArgument(TorchFunc):
    name = "cx-grad-wrong-argument"

    def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        return super().grad(f, _first_for_second(argnums), has_aux)


ARGNUMS_FAULTS: dict[type, tuple[type, str]] = {
    HolomorphicHessianConjugated: (JaxApi, "cx_holomorphic_hessian*"),
    HolomorphicJacrevWrongArgument: (JaxApi, "cx_holomorphic_jacrev_argnums"),
    HolomorphicHessianWrongArgument: (JaxApi, "cx_holomorphic_hessian_argnums"),
    GradTupleSwapped: (MlxApi, "cx_holomorphic_grad_argnums"),
    JacfwdConjugatesLaterArguments: (TorchAutograd, "cx_holomorphic_jacfwd_argnums"),
    GradWrongArgument: (TorchFunc, "cx_grad_argnums"),
}
"""Planted fault -> (the unbroken library, the specs whose gate checks must catch it)."""
