"""Faults of the large-magnitude class (``conformance/battery/specs/magnitudes.py``), planted in torch as shipped code.

Each is the naive formula a library's first version had, right on every order-1 input the rest of the battery
draws: a logsumexp without its max shift (inf past 88.7 in float32), a sigmoid registered with the derivative
``exp(-x) / (1 + exp(-x))**2`` (inf / inf, NaN, below -88.7), and a sine whose argument reduction is a float32
``x - 2 pi round(x / 2 pi)`` (no correct digit left near 1e4).  Only the large-magnitude specs can see them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from backends.torch_func import TorchFunc
from tests.library_faults import OpRuleFault, Rule, unary_op


def _naive_logsumexp(x: torch.Tensor, axis: int) -> torch.Tensor:
    return torch.log(torch.exp(x).sum(dim=axis))


def _sigmoid_vjp(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    e = torch.exp(-x)
    return g * e / (1 + e) ** 2


def _sigmoid_jvp(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    e = torch.exp(-x)
    return t * e / (1 + e) ** 2


_naive_sigmoid = unary_op(torch.sigmoid, _sigmoid_vjp, _sigmoid_jvp)


class LogsumexpWithoutShift(TorchFunc):
    """logsumexp as log(sum(exp(x))): exact on order-1 inputs, inf once exp overflows."""

    name = "lib-logsumexp-unshifted"
    everyday: ClassVar[dict[str, Any]] = {**TorchFunc.everyday, "logsumexp": _naive_logsumexp}


class SigmoidNaiveDerivative(TorchFunc):
    """torch.sigmoid's value, with a derivative rule written as exp(-x) / (1 + exp(-x))**2 in both modes."""

    name = "lib-sigmoid-naive-derivative"
    everyday: ClassVar[dict[str, Any]] = {**TorchFunc.everyday, "sigmoid": _naive_sigmoid}


def _reduced(x: torch.Tensor) -> torch.Tensor:
    """x - 2 pi round(x / 2 pi), in x's dtype: the float32 argument reduction a fast sine ships."""
    two_pi = torch.tensor(2 * math.pi, dtype=x.dtype)
    return x - two_pi * torch.round(x / two_pi)


class SinFloat32ArgumentReduction(OpRuleFault):
    """sin (and its derivative cos) evaluated after a float32 argument reduction: right to ~1 ulp near 1,
    about 1e-4 off near 1e4."""

    name = "lib-sin-float32-reduction"
    op = "sin"

    def rule(self) -> Rule:
        return unary_op(lambda x: torch.sin(_reduced(x)), lambda x, g: g * torch.cos(_reduced(x)),
                        lambda x, t: t * torch.cos(_reduced(x)))


MAGNITUDE_FAULTS: dict[type, str] = {
    LogsumexpWithoutShift: "fn_lib_logsumexp",
    SigmoidNaiveDerivative: "fn_lib_sigmoid",
    SinFloat32ArgumentReduction: "fn_sin",
}
"""Planted fault -> the row whose large-magnitude checks in the gate must catch it."""
