"""Deliberately broken backends: each plants one fault a real library could have.

The self-test proves that the battery catches every one of them with a failing
check that names the transform.  Most build on the torch adapter (fast to
call); the scan fault builds on the NumPy reference (torch has no public scan),
marked as *not* the reference so the battery compares it with the real one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from backends import pytree
from backends.base import Conventions
from backends.jax_api import JaxApi
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc


class GradScaled(TorchFunc):
    """Every gradient off by ``factor`` (1 % by default): the fault the tolerance-free Taylor check must catch alone."""

    name = "broken-grad-scaled"
    factor = 1.01

    def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = super().grad(f, argnums=argnums, has_aux=has_aux)
        return lambda *a: self._torch.utils._pytree.tree_map(lambda g: g * self.factor, inner(*a))


class JvpScaled(TorchFunc):
    """jvp's tangent output is 1% too large."""

    name = "broken-jvp-scaled"

    def jvp(self, f, primals, tangents, has_aux=False):
        out = super().jvp(f, primals, tangents, has_aux=has_aux)
        scaled = self._torch.utils._pytree.tree_map(lambda t: t * 1.01, out[1])
        return (out[0], scaled, *out[2:])


class JacrevTransposed(TorchFunc):
    """jacrev returns the transpose of a square Jacobian."""

    name = "broken-jacrev-transposed"

    def jacrev(self, f, argnums=0, has_aux=False):
        inner = super().jacrev(f, argnums=argnums, has_aux=has_aux)

        def transposed(*args):
            return self._torch.utils._pytree.tree_map(lambda j: j.T if j.ndim == 2 else j, inner(*args))

        return transposed


class JacfwdDropsLastColumn(TorchFunc):
    """jacfwd forgets the last input direction (its column is zero)."""

    name = "broken-jacfwd-column"

    def jacfwd(self, f, argnums=0, has_aux=False):
        inner = super().jacfwd(f, argnums=argnums, has_aux=has_aux)

        def dropped(*args):
            def zero_last(j):
                j = j.clone()
                if j.ndim:
                    j[..., -1] = 0
                return j

            return self._torch.utils._pytree.tree_map(zero_last, inner(*args))

        return dropped


class VmapIgnoresInDims(TorchFunc):
    """vmap always maps over axis 0, whatever in_dims says."""

    name = "broken-vmap-in-dims"

    def vmap(self, f, in_dims=0, out_dims=0):
        return super().vmap(f, in_dims=0, out_dims=out_dims)


class VmapIgnoresOutDims(TorchFunc):
    """vmap always stacks outputs on axis 0, whatever out_dims says."""

    name = "broken-vmap-out-dims"

    def vmap(self, f, in_dims=0, out_dims=0):
        return super().vmap(f, in_dims=in_dims, out_dims=0)


class GradAndValueSwapped(TorchFunc):
    """grad_and_value returns (value, grad) while declaring torch's (grad, value)."""

    name = "broken-grad-and-value-swapped"

    def grad_and_value(self, f, argnums=0, has_aux=False):
        inner = super().grad_and_value(f, argnums=argnums, has_aux=has_aux)

        def swapped(*args):
            g, v = inner(*args)
            return v, g

        return swapped


class AuxDropped(TorchFunc):
    """grad(f, has_aux=True) returns the aux as None."""

    name = "broken-aux-dropped"

    def grad(self, f, argnums=0, has_aux=False):
        inner = super().grad(f, argnums=argnums, has_aux=has_aux)
        if not has_aux:
            return inner
        return lambda *args: (inner(*args)[0], None)


class AuxMisplaced(TorchFunc):
    """grad_and_value(f, has_aux=True) nests as (grad, (aux, value))."""

    name = "broken-aux-misplaced"

    def grad_and_value(self, f, argnums=0, has_aux=False):
        inner = super().grad_and_value(f, argnums=argnums, has_aux=has_aux)
        if not has_aux:
            return inner

        def misplaced(*args):
            g, (v, aux) = inner(*args)
            return g, (aux, v)

        return misplaced


class HessianOfWrongFunction(TorchFunc):
    """hessian differentiates 2*f instead of f."""

    name = "broken-hessian"

    def hessian(self, f, argnums=0, has_aux=False):
        return super().hessian(lambda *a: 2 * f(*a), argnums=argnums)


class Float64ComputedInFloat32(TorchFunc):
    """A float64 request silently becomes float32 (what JAX does without x64)."""

    name = "broken-float64-as-float32"

    def asarray(self, value, dtype):
        return super().asarray(value, "float32" if dtype == "float64" else dtype)


class ScanReversesCarry(NumpyReference):
    """scan walks xs from the end."""

    name = "broken-scan-reversed"
    library = "numpy-broken"
    is_reference = False

    def scan(self, f, init, xs):
        flipped = self._flip(xs)
        carry, ys = super().scan(f, init, flipped)
        return carry, self._flip(ys)

    def _flip(self, tree: Any) -> Any:
        return pytree.tree_map(lambda leaf: leaf[::-1], tree, pairing="insertion")


class CondWrongBranch(TorchFunc):
    """cond runs false_fn when the predicate is True, and vice versa."""

    name = "broken-cond-branch"

    def cond(self, pred, true_fn, false_fn, operands):
        return super().cond(pred, false_fn, true_fn, operands)


class VmapSwallowsErrors(TorchFunc):
    """vmap falls back to a Python loop when the function fails, hiding documented errors."""

    name = "broken-vmap-swallows-errors"

    def vmap(self, f, in_dims=0, out_dims=0):
        batched = super().vmap(f, in_dims=in_dims, out_dims=out_dims)

        def forgiving(*args):
            try:
                return batched(*args)
            except RuntimeError:
                return self._torch.stack([f(*(a[i] for a in args)) for i in range(args[0].shape[0])])

        return forgiving


class GradIgnoresArgnums(TorchFunc):
    """grad differentiates the first argument whatever argnums says."""

    name = "broken-grad-argnums"

    def grad(self, f, argnums=0, has_aux=False):
        return super().grad(f, argnums=0 if not isinstance(argnums, tuple) else (0,) * len(argnums), has_aux=has_aux)


class DeclaresJaxLayout(TorchFunc):
    """The adapter declares jax's value_and_grad layout for torch.func.grad_and_value."""

    name = "broken-declared-layout"
    conventions = dataclasses.replace(
        TorchFunc.conventions,
        grad_and_value_layout=JaxApi.conventions.grad_and_value_layout,
        grad_and_value_aux_layout=JaxApi.conventions.grad_and_value_aux_layout,
    )


class DeclaresHessianHasAux(TorchFunc):
    """The adapter claims torch.func.hessian takes has_aux."""

    name = "broken-declared-has-aux"
    conventions: Conventions = dataclasses.replace(
        TorchFunc.conventions, has_aux=TorchFunc.conventions.has_aux | {"hessian"}
    )


class DeclaresJaxAxisKeywords(TorchFunc):
    """The adapter says torch.func.vmap takes in_axes/out_axes (it takes in_dims/out_dims)."""

    name = "broken-declared-axis-keywords"
    conventions = dataclasses.replace(TorchFunc.conventions, batch_keyword=("in_axes", "out_axes"))


class VjpPullbackNotTuple(TorchFunc):
    """The pullback returns a bare array instead of one cotangent per primal."""

    name = "broken-vjp-not-tuple"

    def vjp(self, f, *primals, has_aux=False):
        out = super().vjp(f, *primals, has_aux=has_aux)
        pullback = out[1]
        return (out[0], lambda ct: pullback(ct)[0], *out[2:])


class JitMiscompiles(JaxApi):
    """The compiled function's results are 1% off the eager ones (a miscompilation)."""

    name = "broken-jit"

    def jit(self, f):
        compiled = super().jit(f)
        return lambda *a: self._jax.tree_util.tree_map(lambda t: t * 1.01, compiled(*a))


class GradAcceptsIntegers(TorchFunc):
    """grad silently casts an integer input to float instead of refusing it (as MLX returns an int gradient).

    It declares no error for the situation either, so only the 'silently accepted misuse' rule can catch it.
    """

    name = "broken-grad-accepts-int"
    conventions = dataclasses.replace(
        TorchFunc.conventions, errors={k: v for k, v in TorchFunc.conventions.errors.items() if k != "grad_int_input"}
    )

    def grad(self, f, argnums=0, has_aux=False):
        inner = super().grad(f, argnums=argnums, has_aux=has_aux)

        def grad_fn(*args):
            return inner(*(a.double() if not a.is_floating_point() else a for a in args))

        return grad_fn


# fault class -> the transform a failing check must name
FAULTS: dict[type, str] = {
    JvpScaled: "jvp",
    JacrevTransposed: "jacrev",
    JacfwdDropsLastColumn: "jacfwd",
    VmapIgnoresInDims: "vmap",
    VmapIgnoresOutDims: "vmap",
    GradAndValueSwapped: "grad_and_value",
    AuxDropped: "grad",
    AuxMisplaced: "grad_and_value",
    HessianOfWrongFunction: "hessian",
    Float64ComputedInFloat32: "dtype",
    ScanReversesCarry: "scan",
    CondWrongBranch: "cond",
    VmapSwallowsErrors: "vmap",
    GradIgnoresArgnums: "grad",
    DeclaresJaxLayout: "grad_and_value",
    DeclaresHessianHasAux: "has_aux",
    VjpPullbackNotTuple: "vjp",
    DeclaresJaxAxisKeywords: "conventions",
    JitMiscompiles: "jit",
    GradAcceptsIntegers: "grad",
}
