"""Faults planted in torch's reductions that only one calling form reaches: keepdims, a negative axis, a tuple of axes.

A reduction's reverse rule has to put the reduced axes back before it broadcasts the cotangent onto the input, and
libraries do that in separate code paths per calling form (the kept axis is already there; a negative axis must be
normalised against the *input's* rank; every axis of a tuple must be re-inserted).  A bug in one of those paths is
invisible to a battery that calls each reduction as ``axis=1`` of a matrix, as the function table's standard rows
do: each fault here passes those rows and must be caught by the gate at the variant's own row
(``tests/test_reduction_faults.py``).  They are written as a maintainer would ship them, each right on the shapes
its author tried (a leading axis, a non-negative axis, a single axis), on torch through the namespace the rows call
(``tests/library_faults.py``'s mechanism), with a correct forward-mode rule: the reverse rule is the fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from backends.torch_func import TorchFunc
from tests.library_faults import OpRuleFault, Planted, Rule

ReductionRule = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Any, bool], torch.Tensor]
"""``rule(x, out, incoming, axis, keepdims) -> outgoing``: a reduction's derivative rule, given its saved input and
output and its non-differentiable arguments."""


def reduction_op(forward: Callable[..., torch.Tensor], vjp_rule: ReductionRule, jvp_rule: ReductionRule) -> Rule:
    """A reduction as a library registers it: ``forward(x, axis, keepdims)`` with its own reverse and forward rules
    (batching generated from them, as ``library_faults.unary_op``); ``axis`` and ``keepdims`` are not differentiated."""

    class Op(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            return forward(x, axis, keepdims)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            ctx.axis, ctx.keepdims = inputs[1], inputs[2]
            ctx.save_for_backward(inputs[0], output)
            ctx.save_for_forward(inputs[0], output)

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
            x, out = ctx.saved_tensors
            return vjp_rule(x, out, g, ctx.axis, ctx.keepdims), None, None

        @staticmethod
        def jvp(ctx: Any, t: torch.Tensor, *_: Any) -> torch.Tensor:
            x, out = ctx.saved_tensors
            return jvp_rule(x, out, t, ctx.axis, ctx.keepdims)

    return Op.apply


class ReductionRuleFault(OpRuleFault):
    """torch with one reduction's derivative rule replaced where ``engaged(axis, keepdims)``; every other call is
    torch's own (the weighted sums every check takes, the standard rows' ``axis=1``)."""

    def engaged(self, axis: Any, keepdims: bool) -> bool:
        raise NotImplementedError

    def rules(self) -> tuple[ReductionRule, ReductionRule]:
        """(reverse rule, forward rule)."""
        raise NotImplementedError

    def rule(self) -> Rule:
        base = getattr(TorchFunc.xp.fget(self), self.op)  # type: ignore[attr-defined]  # torch's own, unbroken
        faulty = reduction_op(lambda x, axis, keepdims: base(x, axis=axis, keepdims=keepdims), *self.rules())

        def call(x: Any, /, *, axis: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
            if kwargs or not self.engaged(axis, keepdims):
                return base(x, axis=axis, keepdims=keepdims, **kwargs)
            return faulty(x, axis, keepdims)

        return call


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


class SumKeepdimsReverseTilesCotangent(ReductionRuleFault):
    """sum(x, axis, keepdims=True)'s reverse rule broadcasts the cotangent by tiling it flat (``g.reshape(-1).repeat``)
    instead of along the kept axis: right when the kept axis is the leading one, wrong for a kept axis inside."""

    name = "lib-sum-keepdims-vjp"
    op = "sum"

    def engaged(self, axis: Any, keepdims: bool) -> bool:
        return keepdims and axis is not None

    def rules(self) -> tuple[ReductionRule, ReductionRule]:
        def vjp(x: torch.Tensor, out: torch.Tensor, g: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            return g.reshape(-1).repeat(x.numel() // g.numel()).reshape(x.shape)

        def jvp(x: torch.Tensor, out: torch.Tensor, t: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            return torch.sum(t, dim=axis, keepdim=True)

        return vjp, jvp


class MeanReverseNegativeAxisByOutputRank(ReductionRuleFault):
    """mean(x, axis=-k)'s reverse rule normalises the negative axis against the output's rank, not the input's, so it
    re-inserts the reduced axis one place early and broadcasts the cotangent along the wrong axis."""

    name = "lib-mean-negative-axis-vjp"
    op = "mean"

    def engaged(self, axis: Any, keepdims: bool) -> bool:
        return isinstance(axis, int) and axis < 0 and not keepdims

    def rules(self) -> tuple[ReductionRule, ReductionRule]:
        def vjp(x: torch.Tensor, out: torch.Tensor, g: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            where = axis + g.ndim  # should be axis + x.ndim
            return g.unsqueeze(where).expand(x.shape) / x.shape[axis]

        def jvp(x: torch.Tensor, out: torch.Tensor, t: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            return torch.mean(t, dim=axis)

        return vjp, jvp


class ProdReverseTupleAxisFirstOnly(ReductionRuleFault):
    """prod(x, axis=(i, j))'s reverse rule re-inserts only the first axis of the tuple and lets broadcasting place the
    rest: right for one axis, and for a tuple of trailing axes; wrong for (0, 2), where the cotangent lands on axis 2."""

    name = "lib-prod-tuple-axis-vjp"
    op = "prod"

    def engaged(self, axis: Any, keepdims: bool) -> bool:
        return isinstance(axis, tuple) and len(axis) > 1 and not keepdims

    def rules(self) -> tuple[ReductionRule, ReductionRule]:
        def vjp(x: torch.Tensor, out: torch.Tensor, g: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            first = _axes(axis, x.ndim)[0]
            return (g * out).unsqueeze(first) / x  # the other axes are left to broadcasting

        def jvp(x: torch.Tensor, out: torch.Tensor, t: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
            return out * torch.sum(t / x, dim=_axes(axis, x.ndim))

        return vjp, jvp


REDUCTION_FAULTS: dict[type, tuple[Planted, str, str]] = {
    SumKeepdimsReverseTilesCotangent: (Planted("grad", "sum"), "fn_sum_keepdims", "fn_sum"),
    MeanReverseNegativeAxisByOutputRank: (Planted("jacrev", "mean"), "fn_mean_axis_last", "fn_mean"),
    ProdReverseTupleAxisFirstOnly: (Planted("grad", "prod"), "fn_prod_axis_0_2", "fn_prod"),
}
"""Fault -> where it must be caught (a failing gate check of the transform), the variant row that catches it, and
the standard row of the same reduction, which must pass under it (the variant rows are what see it)."""
