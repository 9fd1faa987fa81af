"""Faults planted in torch's everyday functions, reached through the adapter's mapping (``Backend.everyday``).

Each is written as a maintainer would ship it, right on the cases its author tried: a softmax whose reverse rule
sums the cotangent along axis 0 instead of the softmax's axis (right on a single row, where the two coincide), and
a top_k whose reverse rule scatters the cotangent by the indices in ascending order instead of in the order of the
values (right where the k largest already stand in descending order).  The forward values and the forward-mode
rules are torch's own, so only the reverse-mode transforms (grad, jacrev) can catch them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from backends.torch_func import TorchFunc


class _SoftmaxWrongAxis(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.softmax(x, dim=axis)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.axis = inputs[1]
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None]:
        (s,) = ctx.saved_tensors
        return s * (g - (g * s).sum(dim=0, keepdim=True)), None  # the fault: dim=0, not ctx.axis

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, _: Any) -> torch.Tensor:
        (s,) = ctx.saved_tensors
        return s * (t - (t * s).sum(dim=ctx.axis, keepdim=True))


class _TopKSortedIndices(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = torch.topk(x, k)
        return values, indices

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(inputs[0], output[1])
        ctx.save_for_forward(output[1])

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor, _: Any) -> tuple[Any, None]:
        x, indices = ctx.saved_tensors
        wrong = torch.sort(indices, dim=-1).values  # the fault: the set of indices, not the values' order
        return torch.zeros_like(x).scatter(-1, wrong, g), None

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, _: Any) -> tuple[torch.Tensor, None]:
        (indices,) = ctx.saved_tensors
        return t.gather(-1, indices), None


class SoftmaxReverseRuleWrongAxis(TorchFunc):
    name = "lib-softmax-reverse-axis0"
    everyday: ClassVar[dict[str, Any]] = {**TorchFunc.everyday, "softmax": lambda x, axis: _SoftmaxWrongAxis.apply(x, axis)}


class TopKReverseRuleSortedIndices(TorchFunc):
    name = "lib-top_k-reverse-sorted-indices"
    everyday: ClassVar[dict[str, Any]] = {**TorchFunc.everyday, "top_k": lambda x, k: _TopKSortedIndices.apply(x, k)[0]}


EVERYDAY_FAULTS: dict[type, str] = {
    SoftmaxReverseRuleWrongAxis: "fn_lib_softmax",
    TopKReverseRuleSortedIndices: "fn_lib_top_k",
}
"""Planted fault -> the row whose reverse-mode checks in the gate must catch it."""
