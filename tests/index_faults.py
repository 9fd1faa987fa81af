"""Faults planted in torch's indexing and in a batching rule of a static axis, as a maintainer would ship them.

Each is right on the cases its author tried: a take whose reverse rule drops negative indices (right for
non-negative ones), a take that clamps beyond the bounds but whose reverse rule drops what it clamped (JAX's
``x[i]`` ships that), a take_along_axis whose batching rule reads the first sample's indices for every sample
(right when the indices are not batched), a cumulative_sum whose batching rule moves the batch to the front and
forgets to shift a non-negative axis (right for negative axes), and a declaration the library does not follow.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from backends.base import Conventions
from backends.torch_func import TorchFunc
from tests.library_faults import _Namespace


def _counted(x: torch.Tensor, i: torch.Tensor, axis: int) -> torch.Tensor:
    return torch.where(i < 0, i + x.shape[axis], i)


class _TakeDropsNegative(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return torch.index_select(x, 0, _counted(x, i, 0))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[1])
        ctx.shape = inputs[0].shape

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None]:
        (i,) = ctx.saved_tensors
        kept = i >= 0  # the fault: the raw indices, so the negative ones are dropped, not counted from the end
        return torch.zeros(ctx.shape, dtype=g.dtype).index_add(0, i[kept], g[kept]), None


class _ClampTakeDropsGradient(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return torch.index_select(x, 0, _counted(x, i, 0).clamp(0, x.shape[0] - 1))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(_counted(inputs[0], inputs[1], 0))
        ctx.shape = inputs[0].shape

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None]:
        (i,) = ctx.saved_tensors
        inside = (i >= 0) & (i < ctx.shape[0])  # the fault: the unclamped index, so what was clamped is dropped
        return torch.zeros(ctx.shape, dtype=g.dtype).index_add(0, i[inside], g[inside]), None


class _TakeAlongFirstIndices(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor, i: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.take_along_dim(x, i, dim=axis)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[1])
        ctx.shape, ctx.axis = inputs[0].shape, inputs[2]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
        (i,) = ctx.saved_tensors
        return torch.zeros(ctx.shape, dtype=g.dtype).scatter_add(ctx.axis, i, g), None, None

    @staticmethod
    def vmap(info: Any, in_dims: tuple[Any, ...], x: torch.Tensor, i: torch.Tensor, axis: int) -> tuple[Any, int]:
        x = x.movedim(in_dims[0], 0) if in_dims[0] is not None else x.expand(info.batch_size, *x.shape)
        if in_dims[1] is not None:
            i = i.select(in_dims[1], 0)  # the fault: the first sample's indices stand for every sample's
        i = i.expand(info.batch_size, *i.shape)
        return torch.take_along_dim(x, i, dim=axis + 1 if axis >= 0 else axis), 0


class _CumsumUnshiftedAxis(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.cumsum(x, dim=axis)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.axis = inputs[1]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None]:
        return g.flip(ctx.axis).cumsum(ctx.axis).flip(ctx.axis), None

    @staticmethod
    def vmap(info: Any, in_dims: tuple[Any, ...], x: torch.Tensor, axis: int) -> tuple[Any, int]:
        x = x.movedim(in_dims[0], 0)
        return torch.cumsum(x, dim=axis), 0  # the fault: axis not shifted past the batch now in front


class _Replaced(TorchFunc):
    replaced: ClassVar[dict[str, Any]] = {}

    @property
    def xp(self) -> Any:
        return _Namespace(super().xp, self.replaced)


class TakeVjpDropsNegative(_Replaced):
    name = "idx-take-vjp-drops-negative"
    replaced: ClassVar[dict[str, Any]] = {"take": lambda x, i, axis=0: _TakeDropsNegative.apply(x, i)}


class ClampTakeVjpUnclamped(_Replaced):
    name = "idx-clamp-take-vjp-unclamped"
    conventions: ClassVar[Conventions] = dataclasses.replace(TorchFunc.conventions, index_bounds={"take": "clamp"})
    replaced: ClassVar[dict[str, Any]] = {"take": lambda x, i, axis=0: _ClampTakeDropsGradient.apply(x, i)}


class TakeAlongVmapIgnoresIndexBatch(_Replaced):
    name = "idx-take_along_axis-vmap-first-indices"
    replaced: ClassVar[dict[str, Any]] = {
        "take_along_axis": lambda x, i, axis=-1: _TakeAlongFirstIndices.apply(x, _counted(x, i, axis), axis)}


class CumsumVmapUnshiftedAxis(_Replaced):
    name = "idx-cumulative_sum-vmap-unshifted-axis"
    replaced: ClassVar[dict[str, Any]] = {
        "cumulative_sum": lambda x, axis=None, **kw: _CumsumUnshiftedAxis.apply(x, 0 if axis is None else axis)}


class DeclaresClampButRaises(TorchFunc):
    name = "idx-declares-clamp-take"
    conventions: ClassVar[Conventions] = dataclasses.replace(TorchFunc.conventions, index_bounds={"take": "clamp"})


INDEX_FAULTS: dict[type, tuple[str, str]] = {
    TakeVjpDropsNegative: ("index_edges", "index_take"),
    ClampTakeVjpUnclamped: ("index_beyond", "index_take"),
    TakeAlongVmapIgnoresIndexBatch: ("index_vmap", "index_take_along_axis"),
    CumsumVmapUnshiftedAxis: ("vmap_static_axis", "static_cumulative_sum"),
    DeclaresClampButRaises: ("index_beyond", "index_take"),
}
"""Planted fault -> the spec and entry whose checks in the gate must catch it."""
