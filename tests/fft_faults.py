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

from collections.abc import Callable
from typing import Any

import torch

from tests.library_faults import OpRuleFault, Rule

Transform = Callable[..., torch.Tensor]
"""A torch.fft function, called as ``transform(x, dim=dims, norm=norm)``."""
ADJOINT_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
"""The norm whose inverse transform is the adjoint of a transform under each norm (``conj(F)`` scaled alike)."""


def _real_like(x_complex: bool, g: torch.Tensor) -> torch.Tensor:
    """The cotangent of a real input is the real part (what torch's own rules return for it)."""
    return g if x_complex else torch.real(g)


def _fft_rule(transform: Transform, backward: Callable[[torch.Tensor, Any, str], torch.Tensor],
              vmap: Callable[..., tuple[torch.Tensor, int]] | None = None) -> Rule:
    """An fft function as a library registers it: torch's ``transform`` as the forward and forward-mode rule,
    ``backward(g, dims, norm)`` as the reverse rule, and torch's generated batching rule unless ``vmap`` is given.
    Returned as its call under the standard's signature (``axis`` for one dimension, ``axes`` for several)."""

    class Op(torch.autograd.Function):
        generate_vmap_rule = vmap is None

        @staticmethod
        def forward(x: torch.Tensor, dims: Any, norm: str) -> torch.Tensor:
            return transform(x, dim=dims, norm=norm)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            ctx.x_complex, ctx.dims, ctx.norm = inputs[0].is_complex(), inputs[1], inputs[2]

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, None, None]:
            return _real_like(ctx.x_complex, backward(g, ctx.dims, ctx.norm)), None, None

        @staticmethod
        def jvp(ctx: Any, t: torch.Tensor, *_: Any) -> torch.Tensor:
            return transform(t, dim=ctx.dims, norm=ctx.norm)

    if vmap is not None:
        Op.vmap = staticmethod(vmap)  # type: ignore[attr-defined]

    def call(x: torch.Tensor, /, *, axis: int = -1, axes: tuple[int, ...] | None = None,
             norm: str = "backward") -> torch.Tensor:
        if transform is torch.fft.fftn:
            return Op.apply(x, tuple(axes) if axes is not None else tuple(range(x.ndim)), norm)
        return Op.apply(x, axis, norm)

    return call


def _unshifted_batch_axis(info: Any, in_dims: tuple[Any, ...], x: torch.Tensor, axis: int,
                          norm: str) -> tuple[torch.Tensor, int]:
    x = x.movedim(in_dims[0], 0) if in_dims[0] is not None else x.unsqueeze(0).expand(info.batch_size, *x.shape)
    return torch.fft.fft(x, dim=axis, norm=norm), 0  # the fault: axis, not axis + 1 where axis >= 0


class FftReverseRuleForwardTransform(OpRuleFault):
    name = "lib-fft-vjp-forward-transform"
    op = "fft.fft"

    def rule(self) -> Rule:
        # The fault: F g, where the adjoint is conj(F) g.
        return _fft_rule(torch.fft.fft, lambda g, axis, norm: torch.fft.fft(g, dim=axis, norm=norm))


class FftnReverseRuleIgnoresAxes(OpRuleFault):
    name = "lib-fftn-vjp-all-axes"
    op = "fft.fftn"

    def rule(self) -> Rule:
        # The fault: every axis, not the transform's axes.
        return _fft_rule(torch.fft.fftn, lambda g, axes, norm: torch.fft.ifftn(g, norm=ADJOINT_NORM[norm]))


class IfftOrthoReverseRuleDefaultScale(OpRuleFault):
    name = "lib-ifft-ortho-vjp-default-scale"
    op = "fft.ifft"

    def rule(self) -> Rule:
        # The fault: the default norm's 1/n whatever the norm.
        return _fft_rule(torch.fft.ifft, lambda g, axis, norm: torch.fft.fft(g, dim=axis, norm="forward"))


class FftBatchingRuleUnshiftedAxis(OpRuleFault):
    name = "lib-fft-vmap-unshifted-axis"
    op = "fft.fft"

    def rule(self) -> Rule:
        return _fft_rule(torch.fft.fft, lambda g, axis, norm: torch.fft.ifft(g, dim=axis, norm=ADJOINT_NORM[norm]),
                         vmap=_unshifted_batch_axis)


FFT_FAULTS: dict[type, tuple[str, frozenset[str]]] = {
    FftReverseRuleForwardTransform: ("fn_fft_fft", frozenset({"grad", "jacrev"})),
    FftnReverseRuleIgnoresAxes: ("fn_fft_fftn", frozenset({"grad", "jacrev"})),
    IfftOrthoReverseRuleDefaultScale: ("fn_fft_ifft", frozenset({"grad", "jacrev"})),
    FftBatchingRuleUnshiftedAxis: ("fn_fft_fft", frozenset({"vmap"})),
}
"""Planted fault -> the row whose gate checks must catch it, and the transforms of which at least one must fail."""
