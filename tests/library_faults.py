"""Faults planted in the library, written as a maintainer would ship them, not as mirrors of our checks.

``broken_backends.py`` breaks our adapter's transforms as a whole (a jvp 1 % off everywhere).  Real bugs
are narrower: one operation's derivative rule, one batching rule that only misbehaves at some batch
sizes, one place where pytree leaves are paired by position instead of by key.  Each class here plants
one such bug into torch, through the namespace the catalog's functions call (``xp.tanh`` becomes a
``torch.autograd.Function`` with a wrong rule, as a library's own op registration would be) or through
one transform's handling of a shape class.  ``FAULTS`` says, for each, the transform family whose checks
must catch it and, for a derivative-rule fault, the operation: every failing check must then be of a
function that calls it (the battery names the culprit, it does not just go red).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from backends.torch_func import TorchFunc

Rule = Callable[..., Any]


# -- derivative rules of single operations -----------------------------------------------------------


def unary_op(forward: Rule, vjp_rule: Rule, jvp_rule: Rule, *, saves: str = "input") -> Rule:
    """An elementwise op as a library registers it: a forward, a reverse rule, a forward-mode rule.

    Each rule maps (saved, incoming) -> outgoing, where ``saved`` is the op's input or its output
    (``saves``), as real registrations save whichever the derivative needs.
    """

    class Op(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x: torch.Tensor) -> torch.Tensor:
            return forward(x)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            kept = inputs[0] if saves == "input" else output
            ctx.save_for_backward(kept)
            ctx.save_for_forward(kept)

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
            (kept,) = ctx.saved_tensors
            return vjp_rule(kept, g)

        @staticmethod
        def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
            (kept,) = ctx.saved_tensors
            return jvp_rule(kept, t)

    return Op.apply


def binary_op(forward: Rule, vjp_rule: Rule, jvp_rule: Rule) -> Rule:
    """A two-input op: ``vjp_rule(a, b, out, g) -> (ga, gb)``, ``jvp_rule(a, b, out, ta, tb) -> t_out``."""

    class Op(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return forward(a, b)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            ctx.save_for_backward(inputs[0], inputs[1], output)
            ctx.save_for_forward(inputs[0], inputs[1], output)

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a, b, out = ctx.saved_tensors
            return vjp_rule(a, b, out, g)

        @staticmethod
        def jvp(ctx: Any, ta: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
            a, b, out = ctx.saved_tensors
            return jvp_rule(a, b, out, ta, tb)

    return Op.apply


class _Namespace:
    """torch's array-API namespace with some operations replaced; a dotted name reaches into its sub-namespace
    (``linalg.solve``, ``fft.fftn``)."""

    def __init__(self, base: Any, ops: dict[str, Rule]) -> None:
        self._base = base
        self._ops = {k: v for k, v in ops.items() if "." not in k}
        inner: dict[str, dict[str, Rule]] = {}
        for name, rule in ops.items():
            if "." in name:
                head, rest = name.split(".", 1)
                inner.setdefault(head, {})[rest] = rule
        for head, sub in inner.items():
            setattr(self, head, _Namespace(getattr(base, head), sub))

    def __getattr__(self, name: str) -> Any:
        if name in self._ops:
            return self._ops[name]
        return getattr(self._base, name)


class OpRuleFault(TorchFunc):
    """torch with one operation's derivative rule replaced by a wrong one (``op``: its namespace name)."""

    op: str = ""

    def rule(self) -> Rule:
        raise NotImplementedError

    @property
    def xp(self) -> Any:
        return _Namespace(super().xp, {self.op: self.rule()})


class TanhRuleOneMinusY(OpRuleFault):
    """tanh's derivative registered as 1 - y instead of 1 - y**2 (both modes)."""

    name = "lib-tanh-rule"
    op = "tanh"

    def rule(self) -> Rule:
        return unary_op(torch.tanh, lambda y, g: g * (1 - y), lambda y, t: t * (1 - y), saves="output")


class SinForwardRuleSign(OpRuleFault):
    """sin's forward-mode rule returns -cos(x) t; the reverse rule is right (they are registered apart)."""

    name = "lib-sin-jvp-rule"
    op = "sin"

    def rule(self) -> Rule:
        return unary_op(torch.sin, lambda x, g: g * torch.cos(x), lambda x, t: -t * torch.cos(x))


class ExpReverseRuleSavesInput(OpRuleFault):
    """exp's reverse rule multiplies by the saved tensor, and the registration saves the input, not exp(x)."""

    name = "lib-exp-vjp-rule"
    op = "exp"

    def rule(self) -> Rule:
        return unary_op(torch.exp, lambda x, g: g * x, lambda x, t: t * torch.exp(x))


class LogRuleCopiedFromLog1p(OpRuleFault):
    """log's derivative pasted from log1p: 1 / (1 + x) instead of 1 / x (both modes)."""

    name = "lib-log-rule"
    op = "log"

    def rule(self) -> Rule:
        return unary_op(torch.log, lambda x, g: g / (1 + x), lambda x, t: t / (1 + x))


class SqrtRuleMissingHalf(OpRuleFault):
    """sqrt's derivative without the factor 1/2: 1 / sqrt(x) (both modes)."""

    name = "lib-sqrt-rule"
    op = "sqrt"

    def rule(self) -> Rule:
        return unary_op(torch.sqrt, lambda y, g: g / y, lambda y, t: t / y, saves="output")


class CosReverseRuleSign(OpRuleFault):
    """cos's reverse rule returns g sin(x), the sign lost; forward mode is right."""

    name = "lib-cos-vjp-rule"
    op = "cos"

    def rule(self) -> Rule:
        return unary_op(torch.cos, lambda x, g: g * torch.sin(x), lambda x, t: -t * torch.sin(x))


class MeanForwardRuleForgetsCount(OpRuleFault):
    """mean's forward-mode rule sums the tangent without dividing by the count; reverse is right."""

    name = "lib-mean-jvp-rule"
    op = "mean"

    def rule(self) -> Rule:
        n = lambda x: x.numel()  # noqa: E731
        return unary_op(torch.mean, lambda x, g: g.expand_as(x) / n(x), lambda x, t: t.sum())


class ProdReverseRuleExclusivePrefix(OpRuleFault):
    """prod's reverse rule keeps only the exclusive prefix product (a scan that forgot the suffix half)."""

    name = "lib-prod-vjp-rule"
    op = "prod"

    def rule(self) -> Rule:
        def prefix(x: torch.Tensor) -> torch.Tensor:
            flat = x.reshape(-1)
            excl = torch.cat([torch.ones_like(flat[:1]), torch.cumprod(flat, 0)[:-1]])
            return excl.reshape(x.shape)

        def jvp(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return (torch.prod(x) / x * t).sum()

        return unary_op(torch.prod, lambda x, g: g * prefix(x), jvp)


def _matmul_vjp(square_bug: bool) -> Rule:
    def vjp(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor, g: torch.Tensor) -> tuple[Any, Any]:
        a_for_b = a if square_bug and a.shape[-1] == a.shape[-2] else a.mT
        ga = torch.outer(g, b) if b.ndim == 1 else g @ b.mT
        gb = a_for_b @ g
        return ga, gb

    return vjp


class MatmulReverseSquareFastPath(OpRuleFault):
    """matmul's reverse rule for the right operand skips the transpose when the matrix is square."""

    name = "lib-matmul-vjp-square"
    op = "matmul"

    def rule(self) -> Rule:
        return binary_op(torch.matmul, _matmul_vjp(square_bug=True), lambda a, b, out, ta, tb: ta @ b + a @ tb)


class MatmulForwardRuleDropsLeftTangent(OpRuleFault):
    """matmul's forward-mode rule propagates only the right operand's tangent (a @ tb, not ta @ b + a @ tb)."""

    name = "lib-matmul-jvp-left"
    op = "matmul"

    def rule(self) -> Rule:
        return binary_op(torch.matmul, _matmul_vjp(square_bug=False), lambda a, b, out, ta, tb: a @ tb)


class SolveReverseRuleNoTranspose(OpRuleFault):
    """linalg.solve's reverse rule solves with A instead of A^T (right only for symmetric A)."""

    name = "lib-solve-vjp-rule"
    op = "linalg.solve"

    def rule(self) -> Rule:
        def vjp(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, g: torch.Tensor) -> tuple[Any, Any]:
            gb = torch.linalg.solve(a, g)  # should be a.mT
            return -gb @ x.mT, gb

        def jvp(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor, ta: torch.Tensor, tb: torch.Tensor) -> Any:
            return torch.linalg.solve(a, tb - ta @ x)

        return binary_op(torch.linalg.solve, vjp, jvp)


class HypotOverflowSafeFormula(OpRuleFault):
    """hypot rewritten for overflow safety as max(|a|, |b|) * sqrt(1 + (min / max)**2) and left to autodiff:
    right everywhere but at ties |a| = |b|, where the second derivative drops a term (JAX ships this).  A set of
    measure zero: random draws miss it, so the row declares ties as points to draw."""

    name = "lib-hypot-formula"
    op = "hypot"

    def rule(self) -> Rule:
        def hypot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            a, b = torch.where(a >= 0, a, -a), torch.where(b >= 0, b, -b)  # |.| with slope 1 at 0, as JAX's
            big, small = torch.maximum(a, b), torch.minimum(a, b)
            safe = torch.where(big == 0, torch.ones_like(big), big)
            return torch.where(big == 0, big, big * torch.sqrt(1 + (small / safe) ** 2))

        return hypot


# -- batching rules that depend on the shape class ----------------------------------------------------


def _leaves_map(fn: Callable[[torch.Tensor], torch.Tensor], tree: Any) -> Any:
    return torch.utils._pytree.tree_map(fn, tree)


class VmapSqueezesBatchOfOne(TorchFunc):
    """vmap's output stacking calls squeeze() on the batch axis, so a batch of one loses it."""

    name = "lib-vmap-batch-one"

    def vmap(self, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        inner = super().vmap(f, in_dims=in_dims, out_dims=out_dims)
        axis = out_dims if isinstance(out_dims, int) else 0
        return lambda *a: _leaves_map(lambda t: t.squeeze(axis) if t.ndim and t.shape[axis] == 1 else t, inner(*a))


class VmapChunkTailOffset(TorchFunc):
    """vmap runs the batch in chunks of 4; the remainder chunk reads from offset 0 instead of its own."""

    name = "lib-vmap-chunk-tail"

    def vmap(self, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        inner = super().vmap(f, in_dims=in_dims, out_dims=out_dims)
        axis = out_dims if isinstance(out_dims, int) else 0

        def tail(t: torch.Tensor) -> torch.Tensor:
            n = t.shape[axis] if t.ndim else 0
            rest = n % 4
            if n <= 4 or not rest:
                return t
            t = t.movedim(axis, 0).clone()
            t[n - rest:] = t[:rest]
            return t.movedim(0, axis)

        return lambda *a: _leaves_map(tail, inner(*a))


class VmapNegativeInDimsOffByOne(TorchFunc):
    """A negative in_dims is normalised with the rank of one sample instead of the batched array."""

    name = "lib-vmap-negative-in-dims"

    def vmap(self, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        def run(*args: Any) -> Any:
            dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
            fixed = tuple(
                d + a.ndim - 1 if isinstance(d, int) and d < 0 and isinstance(a, torch.Tensor) else d
                for d, a in zip(dims, args)
            )
            return TorchFunc.vmap(self, f, in_dims=fixed if isinstance(in_dims, tuple) else fixed[0],
                                  out_dims=out_dims)(*args)

        return run


class VmapNestedLevelsSwapped(TorchFunc):
    """Nested vmap inserts the outer batch axis after the inner one."""

    name = "lib-vmap-nested-order"

    def vmap(self, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        inner = super().vmap(f, in_dims=in_dims, out_dims=out_dims)
        if not getattr(f, "_planted_vmapped", False):
            run = lambda *a: inner(*a)  # noqa: E731
            run._planted_vmapped = True  # type: ignore[attr-defined]
            return run
        return lambda *a: _leaves_map(lambda t: t.movedim(0, 1) if t.ndim >= 2 else t, inner(*a))


class VmapEmptyBatchDropsSampleShape(TorchFunc):
    """vmap over an empty batch returns shape (0,) for every output, dropping the per-sample shape."""

    name = "lib-vmap-empty-batch"

    def vmap(self, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        inner = super().vmap(f, in_dims=in_dims, out_dims=out_dims)

        def run(*args: Any) -> Any:
            out = inner(*args)
            empty = any(t.numel() == 0 for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor))
            return _leaves_map(lambda t: t.reshape(0), out) if empty else out

        return run


class JacfwdSquareFastPathTransposed(TorchFunc):
    """jacfwd's square fast path stacks the columns as rows: a square Jacobian comes back transposed."""

    name = "lib-jacfwd-square"

    def jacfwd(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().jacfwd(f, argnums=argnums, has_aux=has_aux)
        square = lambda j: j.mT if j.ndim == 2 and j.shape[0] == j.shape[1] else j  # noqa: E731
        return lambda *a: _leaves_map(square, inner(*a))


class TanhKernelAssumesContiguous(OpRuleFault):
    """tanh's reverse kernel reads its saved input as if it were contiguous: right on fresh arrays, wrong on views."""

    name = "lib-tanh-contiguous-kernel"
    op = "tanh"

    def rule(self) -> Rule:
        def as_if_contiguous(x: torch.Tensor) -> torch.Tensor:
            return torch.as_strided(x, x.shape, torch.empty(x.shape).stride(), x.storage_offset())

        def vjp(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
            return g * (1 - torch.tanh(as_if_contiguous(x)) ** 2)

        return unary_op(torch.tanh, vjp, lambda x, t: t * (1 - torch.tanh(x) ** 2))


# -- pytree pairing ------------------------------------------------------------------------------------


def _by_insertion(result: Any, like: Any) -> Any:
    """``result`` (a dict in sorted-key order) re-keyed by ``like``'s insertion order, leaf by position."""
    if isinstance(result, dict) and isinstance(like, dict):
        values = [result[k] for k in sorted(result)]
        return dict(zip(list(like), values))
    return result


class GradDictPairedByPosition(TorchFunc):
    """grad flattens a dict gradient by sorted key and unflattens it with the input's insertion order."""

    name = "lib-grad-dict-pairing"

    def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().grad(f, argnums=argnums, has_aux=has_aux)

        def run(*args: Any) -> Any:
            out = inner(*args)
            if has_aux or not isinstance(argnums, int):
                return out
            return _by_insertion(out, args[argnums])

        return run


class VjpDictCotangentPairedByPosition(TorchFunc):
    """The pullback returns dict cotangents keyed by the primal's insertion order, leaves in sorted order."""

    name = "lib-vjp-dict-pairing"

    def vjp(self, f: Any, *primals: Any, has_aux: bool = False) -> Any:
        out = super().vjp(f, *primals, has_aux=has_aux)
        pullback = out[1]

        def paired(ct: Any) -> Any:
            return tuple(_by_insertion(c, p) for c, p in zip(pullback(ct), primals))

        return (out[0], paired, *out[2:])


class JacrevTupleOutputsReversed(TorchFunc):
    """jacrev of a function with tuple outputs unflattens the per-output Jacobians in reverse order."""

    name = "lib-jacrev-tuple-order"

    def jacrev(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().jacrev(f, argnums=argnums, has_aux=has_aux)

        def run(*args: Any) -> Any:
            out = inner(*args)
            return tuple(reversed(out)) if isinstance(out, tuple) and not has_aux and isinstance(argnums, int) else out

        return run


@dataclasses.dataclass(frozen=True)
class Planted:
    """Where a fault must be caught: a failing check of ``transform``; for a rule fault, of a function
    calling ``op`` (and no failure of a function that does not)."""

    transform: str
    op: str = ""


FAULTS: dict[type, Planted] = {
    TanhRuleOneMinusY: Planted("jacfwd", "tanh"),
    SinForwardRuleSign: Planted("jvp", "sin"),
    ExpReverseRuleSavesInput: Planted("grad", "exp"),
    LogRuleCopiedFromLog1p: Planted("hessian", "log"),
    SqrtRuleMissingHalf: Planted("jacrev", "sqrt"),
    CosReverseRuleSign: Planted("vjp", "cos"),
    MeanForwardRuleForgetsCount: Planted("jvp", "mean"),
    ProdReverseRuleExclusivePrefix: Planted("grad", "prod"),
    MatmulReverseSquareFastPath: Planted("vjp", "matmul"),
    MatmulForwardRuleDropsLeftTangent: Planted("jacfwd", "matmul"),
    SolveReverseRuleNoTranspose: Planted("vjp", "linalg.solve"),
    VmapSqueezesBatchOfOne: Planted("vmap"),
    VmapChunkTailOffset: Planted("vmap"),
    VmapNegativeInDimsOffByOne: Planted("vmap"),
    VmapNestedLevelsSwapped: Planted("vmap"),
    VmapEmptyBatchDropsSampleShape: Planted("vmap"),
    JacfwdSquareFastPathTransposed: Planted("jacfwd"),
    GradDictPairedByPosition: Planted("grad"),
    VjpDictCotangentPairedByPosition: Planted("vjp"),
    JacrevTupleOutputsReversed: Planted("jacrev"),
    TanhKernelAssumesContiguous: Planted("vjp", "tanh"),
}

FUNCTION_FAULTS: dict[type, Planted] = {
    HypotOverflowSafeFormula: Planted("hessian", "hypot"),
}
"""Faults only the standard-function family (``fn_*``) can see: no other catalog entry calls the operation."""

