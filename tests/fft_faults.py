"""Faults planted in torch's fft, reached through the namespace the fft rows call (``xp.fft.<name>``).

Each is a rule as a maintainer would ship it, right on the cases its author tried:

* fft's reverse rule applies the forward transform to the cotangent, where the adjoint is the inverse scaled by n
  (``conj(F)``, F being symmetric): right on the real part of a real input's transform, which is all a test of
  ``sum(real(fft(x)))`` sees;
* fftn's reverse rule ignores ``axes`` and transforms every axis back: right whenever axes covers the array;
* ifft's reverse rule was written for the default norm: it scales by 1/n where norm='ortho' needs 1/sqrt(n), right
  on the default;
* fft's batching rule moves the batch axis to the front but passes the transform's axis on unshifted, so a
  non-negative axis lands on the batch axis: right for every negative axis (the library's own tests' -1).

The forward values are torch's own, and so is every rule but the planted one; :data:`FFT_FAULTS` says which row's
checks in the gate must catch each, and with which transforms.
"""

from __future__ import annotations

from typing import Any

import torch

from backends.torch_func import TorchFunc


def _real_like(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The cotangent of a real input is the real part (what torch's own rules return for it)."""
    return g if x.is_complex() else torch.real(g)


class _FftReverseForward(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, axis: int, norm: str) -> torch.Tensor:
        return torch.fft.fft(x, dim=axis, norm=norm)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.x_complex, ctx.axis, ctx.norm = inputs[0].is_complex(), inputs[1], inputs[2]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
        out = torch.fft.fft(g, dim=ctx.axis, norm=ctx.norm)  # the fault: F g, where the adjoint is conj(F) g
        return (out if ctx.x_complex else torch.real(out)), None, None

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, *_: Any) -> torch.Tensor:
        return torch.fft.fft(t, dim=ctx.axis, norm=ctx.norm)


class _FftnReverseAllAxes(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, axes: tuple[int, ...], norm: str) -> torch.Tensor:
        return torch.fft.fftn(x, dim=axes, norm=norm)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.x_complex, ctx.axes, ctx.norm = inputs[0].is_complex(), inputs[1], inputs[2]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
        adjoint = {"backward": "forward", "forward": "backward", "ortho": "ortho"}[ctx.norm]
        out = torch.fft.ifftn(g, norm=adjoint)  # the fault: every axis, not ctx.axes
        return (out if ctx.x_complex else torch.real(out)), None, None

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, *_: Any) -> torch.Tensor:
        return torch.fft.fftn(t, dim=ctx.axes, norm=ctx.norm)


class _IfftReverseDefaultScale(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, axis: int, norm: str) -> torch.Tensor:
        return torch.fft.ifft(x, dim=axis, norm=norm)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.x_complex, ctx.axis, ctx.norm = inputs[0].is_complex(), inputs[1], inputs[2]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
        out = torch.fft.fft(g, dim=ctx.axis, norm="forward")  # the fault: the default's 1/n whatever ctx.norm
        return (out if ctx.x_complex else torch.real(out)), None, None

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, *_: Any) -> torch.Tensor:
        return torch.fft.ifft(t, dim=ctx.axis, norm=ctx.norm)


class _FftBatchAxisUnshifted(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor, axis: int, norm: str) -> torch.Tensor:
        return torch.fft.fft(x, dim=axis, norm=norm)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.x_complex, ctx.axis, ctx.norm = inputs[0].is_complex(), inputs[1], inputs[2]

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
        out = torch.fft.ifft(g, dim=ctx.axis, norm={"backward": "forward", "forward": "backward"}.get(ctx.norm, "ortho"))
        return (out if ctx.x_complex else torch.real(out)), None, None

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, *_: Any) -> torch.Tensor:
        return torch.fft.fft(t, dim=ctx.axis, norm=ctx.norm)

    @staticmethod
    def vmap(info: Any, in_dims: tuple[Any, ...], x: torch.Tensor, axis: int, norm: str) -> tuple[torch.Tensor, int]:
        x = x.movedim(in_dims[0], 0) if in_dims[0] is not None else x.unsqueeze(0).expand(info.batch_size, *x.shape)
        return torch.fft.fft(x, dim=axis, norm=norm), 0  # the fault: axis, not axis + 1 where axis >= 0


def _fft_call(fn: type) -> Any:
    def fft(x: torch.Tensor, /, *, axis: int = -1, norm: str = "backward") -> torch.Tensor:
        return fn.apply(x, axis, norm)

    return fft


def _fftn_call(fn: type) -> Any:
    def fftn(x: torch.Tensor, /, *, axes: tuple[int, ...] | None = None, norm: str = "backward") -> torch.Tensor:
        return fn.apply(x, tuple(axes) if axes is not None else tuple(range(x.ndim)), norm)

    return fftn


class _Fft:
    """torch's array-API fft namespace with one function replaced."""

    def __init__(self, base: Any, name: str, fn: Any) -> None:
        self._base, self._name, self._fn = base, name, fn

    def __getattr__(self, name: str) -> Any:
        return self._fn if name == self._name else getattr(self._base, name)


class _Namespace:
    """torch's array-API namespace whose ``fft`` has one function replaced."""

    def __init__(self, base: Any, name: str, fn: Any) -> None:
        self._base = base
        self.fft = _Fft(base.fft, name, fn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


class FftRuleFault(TorchFunc):
    """torch with one fft function's rule replaced by a wrong one (``op``: its name in the fft namespace)."""

    op = ""
    call: Any = None

    @property
    def xp(self) -> Any:
        return _Namespace(super().xp, self.op, type(self).call)


class FftReverseRuleForwardTransform(FftRuleFault):
    name = "lib-fft-vjp-forward-transform"
    op = "fft"
    call = staticmethod(_fft_call(_FftReverseForward))


class FftnReverseRuleIgnoresAxes(FftRuleFault):
    name = "lib-fftn-vjp-all-axes"
    op = "fftn"
    call = staticmethod(_fftn_call(_FftnReverseAllAxes))


class IfftOrthoReverseRuleDefaultScale(FftRuleFault):
    name = "lib-ifft-ortho-vjp-default-scale"
    op = "ifft"
    call = staticmethod(_fft_call(_IfftReverseDefaultScale))


class FftBatchingRuleUnshiftedAxis(FftRuleFault):
    name = "lib-fft-vmap-unshifted-axis"
    op = "fft"
    call = staticmethod(_fft_call(_FftBatchAxisUnshifted))


FFT_FAULTS: dict[type, tuple[str, frozenset[str]]] = {
    FftReverseRuleForwardTransform: ("fn_fft_fft", frozenset({"grad", "jacrev"})),
    FftnReverseRuleIgnoresAxes: ("fn_fft_fftn", frozenset({"grad", "jacrev"})),
    IfftOrthoReverseRuleDefaultScale: ("fn_fft_ifft", frozenset({"grad", "jacrev"})),
    FftBatchingRuleUnshiftedAxis: ("fn_fft_fft", frozenset({"vmap"})),
}
"""Planted fault -> the row whose gate checks must catch it, and the transforms of which at least one must fail."""
