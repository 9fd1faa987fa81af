"""PaddlePaddle adapter (``paddlepaddle``, CPU): ``paddle.grad``, ``paddle.incubate.autograd``, ``paddle.static.nn.cond``
and ``paddle.jit.to_static``, on eager (dygraph) tensors.

Named ``paddle_api`` so that it never shadows the ``paddle`` package.  Paddle's ``paddle.grad`` is tape-style, like
``torch.autograd.grad``: it differentiates outputs already computed with respect to tensors that require gradients
(``stop_gradient=False``).  The battery's transforms map onto it as follows:

=================  ====================================================================================
grad               ``paddle.grad(f(*args), leaves)`` on fresh leaves of the chosen arguments (``create_graph=True``
                   only when nested: an argument already requires grad), pytrees flattened by sorted key;
                   a tuple of argnums gives a tuple of grads
grad_and_value     the same tape, returning the value it recorded beside the gradients: ``(value, grad)``
vjp                ``f(*primals)`` on fresh leaves, then the pullback calls
                   ``paddle.grad(out, leaves, grad_outputs=cotangent, retain_graph=True)`` (create_graph as grad)
jvp                ``paddle.incubate.autograd.jvp(f, primals, tangents)`` (Paddle's double-backward trick in
                   dygraph), primals passed through as given
jacrev             ``paddle.incubate.autograd.Jacobian(f, xs)[:]``: Paddle's documented Jacobian of the
                   flattened, concatenated outputs and inputs, shape ``[out numel, in numel]``, read back as
                   ``out.shape + in.shape`` per output and per chosen argument (a layout, nothing computed)
hessian            ``paddle.incubate.autograd.Hessian(f, xs)[:]``, read back the same way (``in.shape * 2``)
cond               ``paddle.static.nn.cond(pred, lambda: true_fn(*ops), lambda: false_fn(*ops))``, documented
                   for dygraph mode too ("the API only runs one branch based on condition")
jit                ``paddle.jit.to_static``
=================  ====================================================================================

``paddle.autograd.jacobian``/``hessian`` (tape-style, outputs and inputs) take 0-d and 1-d tensors only (they
raise ``ValueError: xs.ndim should be 0 or 1`` otherwise), so the functional ``incubate`` classes, which document
the flattening, are what the adapter calls.  Paddle has no forward-mode Jacobian (``Jacobian`` is evaluated row by
row with ``paddle.grad``; ``incubate.autograd.forward_grad`` is for static graphs with prim enabled), no vmap and no
scan: declared unsupported.  No API takes ``has_aux``; it is passed to the Paddle call only when asked, so Paddle
rejects it (TypeError) itself.

The array namespace is ``paddle`` under the standard's names (``backends/paddle_namespace.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from backends import pytree
from backends.base import (
    Array,
    Backend,
    Conventions,
    Fn,
    MissingFeature,
    Unsupported,
    argnums_tuple,
    has_aux_keyword,
    strided_copy,
)
from backends.paddle_namespace import LACKS_KEYWORDS, namespace

_DOCS = "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle"
_INCUBATE = f"{_DOCS}/incubate/autograd/Overview_en.html"
_GRAD_DOC = f"{_DOCS}/grad_en.html"

def _topk(x: Any, k: int) -> Any:
    """``paddle.topk(x, k)`` returns ``(values, indices)``, the largest first by default: the values."""
    import paddle

    return paddle.topk(x, k)[0]


EVERYDAY = {
    "logsumexp": "paddle.logsumexp", "softmax": "paddle.nn.functional.softmax",
    "log_softmax": "paddle.nn.functional.log_softmax", "sigmoid": "paddle.nn.functional.sigmoid",
    "frexp": "paddle.frexp", "ldexp": "paddle.ldexp", "top_k": _topk,
}
"""Paddle's names of the everyday functions (``Backend.everyday``): softmax and its kin are paddle.nn.functional's."""


class PaddleApi(Backend):
    name = "paddle"
    library = "paddlepaddle"
    everyday = EVERYDAY
    conventions = Conventions(
        grad_and_value_api="paddle.grad",
        grad_and_value_layout="(value, grad)",
        grad_and_value_aux_layout="",
        grad_aux_layout="",
        batch_keyword=("", ""),
        vmap_api="",
        has_aux=frozenset(),
        jvp_primals="tuple",
        scan_api="",
        cond_api="paddle.static.nn.cond",
        jit_api="paddle.jit.to_static",
        lacks_keywords=LACKS_KEYWORDS,
        unsupported={
            "jacfwd": "Paddle has no forward-mode Jacobian: paddle.incubate.autograd.Jacobian and paddle.autograd."
            "jacobian evaluate rows with paddle.grad (reverse mode), and incubate.autograd.forward_grad is for "
            f"static graphs with prim enabled ({_INCUBATE})",
            "vmap": "Paddle has no vmap (no public vectorizing map in paddle, paddle.autograd or paddle.incubate)",
            "scan": "Paddle has no scan (paddle.static.nn.while_loop is a static-graph loop without stacked outputs)",
        },
        accepts={
            "jvp_primals_not_tuple": "paddle.incubate.autograd.jvp documents xs as 'Tensor|Sequence[Tensor]': "
            f"one Tensor is accepted ({_DOCS}/incubate/autograd/jvp_en.html)",
        },
        missing_features=(
            *(MissingFeature(
                error=r"The Op \w+ doesn't have any grad op",
                reason=f"a differentiable backward (double-grad) op for the function, which {why}",
                checks=checks,
                link="https://www.paddlepaddle.org.cn/documentation/docs/en/guides/advanced/autograd_en.html",
            ) for checks, why in (
                ("*jvp*", "paddle.incubate.autograd.jvp needs for every op: in dygraph it is the double-backward "
                 "trick, the vjp of a vjp"),
                ("*jacrev*", "paddle.incubate.autograd.Jacobian asks of every op: it evaluates each row with "
                 "paddle.grad(create_graph=True)"),
                ("*hessian*", "paddle.incubate.autograd.Hessian needs (second derivatives), or asks of every op "
                 "through its inner Jacobian's paddle.grad(create_graph=True)"),
            )),
            MissingFeature(
                error=r"The Scalar only supports Tensor with 1 element",
                reason="array bounds in paddle.clip (min and max are a float or a 1-element Tensor)",
                checks="*fn_clip_bounds*",
                link=f"{_DOCS}/clip_en.html",
            ),
        ),
    )

    def __init__(self) -> None:
        import paddle

        self._paddle = paddle
        self._xp = namespace(paddle)

    def setup(self) -> None:
        self._paddle.set_device("cpu")

    @property
    def version(self) -> str:
        return str(self._paddle.__version__)

    @property
    def device(self) -> str:
        return str(self._paddle.device.get_device())

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, value: Any, dtype: str) -> Array:
        return self._paddle.to_tensor(np.asarray(value), dtype=dtype)

    def as_strided_view(self, value: Any, dtype: str) -> Array:
        view = strided_copy(np.asarray(value, dtype=np.dtype(dtype)), lambda buf: self.asarray(buf, dtype))[..., ::2]
        assert not view.is_contiguous()
        return view

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._paddle.Tensor):
            return np.array(x.detach().numpy(), copy=True)
        return np.asarray(x)

    # -- helpers ---------------------------------------------------------------
    def _fresh(self, leaf: Any) -> Any:
        """A tensor to differentiate with respect to: what paddle.incubate.autograd does to its inputs
        (``_separate``): ``paddle.assign`` keeps one that already requires grad in the outer graph (nesting),
        ``detach`` with ``stop_gradient=False`` starts one that does not."""
        paddle = self._paddle
        if not isinstance(leaf, paddle.Tensor):
            leaf = paddle.to_tensor(leaf)
        if not leaf.stop_gradient:
            return paddle.assign(leaf)
        fresh = leaf.detach()
        fresh.stop_gradient = False
        return fresh

    def _nested(self, args: Sequence[Any], nums: tuple[int, ...]) -> bool:
        """Whether a differentiated argument already requires grad: the call is inside an outer transform, so the
        gradient must itself be differentiable (``create_graph=True``).  Otherwise ``paddle.grad``'s default
        (``create_graph=False``), its documented first-order call: with True, Paddle also demands a second-order
        rule of every op (``prod_grad doesn't have any grad op``) for a first derivative nobody differentiates."""
        return any(isinstance(leaf, self._paddle.Tensor) and not leaf.stop_gradient
                   for a in nums for leaf in pytree.flatten(args[a])[0])

    def _tensors_only(self, args: Sequence[Any], api: str) -> None:
        for a in args:
            if not isinstance(a, self._paddle.Tensor):
                raise Unsupported(
                    f"paddle.incubate.autograd.{api} takes a Tensor or a sequence of Tensors as inputs, "
                    f"not a {type(a).__name__} argument ({_DOCS}/incubate/autograd/{api}_en.html)"
                )

    def _tape(self, f: Fn, argnums: int | tuple[int, ...], has_aux: bool, args: tuple[Any, ...]) -> tuple[Any, Any]:
        """f's value and paddle.grad of it with respect to fresh leaves of the chosen arguments."""
        nums = argnums_tuple(argnums)
        call_args = list(args)
        flat: list[tuple[list[Any], pytree.TreeDef]] = []
        for a in nums:
            leaves, treedef = pytree.flatten(args[a])
            fresh = [self._fresh(leaf) for leaf in leaves]
            call_args[a] = pytree.unflatten(treedef, fresh)
            flat.append((fresh, treedef))
        out = f(*call_args)
        inputs = [leaf for fresh, _ in flat for leaf in fresh]
        grads = list(self._paddle.grad(out, inputs, create_graph=self._nested(args, nums),
                                       **has_aux_keyword(has_aux)))
        per_arg = []
        for fresh, treedef in flat:
            per_arg.append(pytree.unflatten(treedef, grads[: len(fresh)]))
            grads = grads[len(fresh):]
        return out, per_arg[0] if isinstance(argnums, int) else tuple(per_arg)

    # -- transforms ------------------------------------------------------------
    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        def grad_fn(*args: Any) -> Any:
            return self._tape(f, argnums, has_aux, args)[1]

        return grad_fn

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        def grad_and_value_fn(*args: Any) -> Any:
            return self._tape(f, argnums, has_aux, args)

        return grad_and_value_fn

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        """f's output on fresh leaves now; the pullback asks paddle.grad with the cotangent as grad_outputs."""
        paddle = self._paddle
        if has_aux:
            paddle.incubate.autograd.vjp(f, list(primals), has_aux=True)  # raises Paddle's own TypeError
        leaves, in_def = pytree.flatten(tuple(primals))
        create_graph = self._nested(primals, tuple(range(len(primals))))
        fresh = [self._fresh(leaf) for leaf in leaves]
        out = f(*pytree.unflatten(in_def, fresh))
        out_leaves, out_def = pytree.flatten(out)

        def pullback(cotangent: Any) -> tuple[Any, ...]:
            ct_leaves, ct_def = pytree.flatten(cotangent)
            if ct_def != out_def:
                raise TypeError(f"cotangent has the structure {ct_def}, the output {out_def}")
            grads = paddle.grad(out_leaves, fresh, grad_outputs=ct_leaves, retain_graph=True, create_graph=create_graph)
            return tuple(pytree.unflatten(in_def, list(grads)))

        return out, pullback

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        """paddle.incubate.autograd.jvp, primals passed through as given (a tuple becomes Paddle's sequence)."""
        if isinstance(primals, (tuple, list)):
            self._tensors_only(primals, "jvp")
            self._tensors_only(tangents, "jvp")
            primals, tangents = list(primals), list(tangents)
        paddle = self._paddle

        def checked(*xs: Any) -> Any:
            out = f(*xs)
            if not (isinstance(out, paddle.Tensor) or (isinstance(out, (tuple, list))
                                                       and all(isinstance(o, paddle.Tensor) for o in out))):
                raise Unsupported(f"paddle.incubate.autograd.jvp takes functions returning a Tensor or a sequence of "
                                  f"Tensors, not a {type(out).__name__} ({_DOCS}/incubate/autograd/jvp_en.html)")
            return out

        out, tangent_out = paddle.incubate.autograd.jvp(checked, primals, tangents, **has_aux_keyword(has_aux))
        if isinstance(out, list):
            out, tangent_out = tuple(out), tuple(tangent_out)
        return out, tangent_out

    def _blocks(self, matrix: Any, row_shapes: list[tuple[int, ...]], col_shapes: list[tuple[int, ...]]) -> list[list[Any]]:
        """Paddle's flattened [rows, cols] matrix as blocks reshaped row_shape + col_shape (a layout, nothing computed)."""
        blocks, r0 = [], 0
        for rs in row_shapes:
            rn, row, c0 = math.prod(rs), [], 0
            for cs in col_shapes:
                cn = math.prod(cs)
                row.append(matrix[r0:r0 + rn, c0:c0 + cn].reshape([*rs, *cs]))
                c0 += cn
            blocks.append(row)
            r0 += rn
        return blocks

    def _of_chosen(self, f: Fn, args: tuple[Any, ...], nums: tuple[int, ...]) -> Fn:
        def of_chosen(*chosen: Any) -> Any:
            call_args = list(args)
            for a, value in zip(nums, chosen):
                call_args[a] = value
            return f(*call_args)

        return of_chosen

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        """paddle.incubate.autograd.Jacobian(f, xs)[:], its flattened matrix read back per output and argument."""
        incubate = self._paddle.incubate.autograd

        def jac_fn(*args: Any) -> Any:
            nums = argnums_tuple(argnums)
            chosen = [args[a] for a in nums]
            self._tensors_only(chosen, "Jacobian")
            outs: list[Any] = []

            def flat_out(*xs: Any) -> Any:
                out = self._of_chosen(f, args, nums)(*xs)
                if not isinstance(out, (self._paddle.Tensor, tuple, list)):
                    raise Unsupported(f"paddle.incubate.autograd.Jacobian takes functions returning a Tensor or a "
                                      f"sequence of Tensors, not a {type(out).__name__}")
                outs[:] = [out]
                return out

            jac = incubate.Jacobian(flat_out, chosen if len(chosen) > 1 or not isinstance(argnums, int) else chosen[0],
                                    **has_aux_keyword(has_aux))
            matrix = jac[:]
            out = outs[0]
            out_leaves = list(out) if isinstance(out, (tuple, list)) else [out]
            blocks = self._blocks(matrix, [tuple(o.shape) for o in out_leaves], [tuple(c.shape) for c in chosen])
            per_out = [row[0] if isinstance(argnums, int) else tuple(row) for row in blocks]
            return tuple(per_out) if isinstance(out, (tuple, list)) else per_out[0]

        return jac_fn

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        """paddle.incubate.autograd.Hessian(f, xs)[:], its flattened matrix read back per pair of arguments."""
        incubate = self._paddle.incubate.autograd

        def hess_fn(*args: Any) -> Any:
            nums = argnums_tuple(argnums)
            chosen = [args[a] for a in nums]
            self._tensors_only(chosen, "Hessian")
            xs = chosen[0] if isinstance(argnums, int) else chosen
            matrix = incubate.Hessian(self._of_chosen(f, args, nums), xs, **has_aux_keyword(has_aux))[:]
            shapes = [tuple(c.shape) for c in chosen]
            blocks = self._blocks(matrix, shapes, shapes)
            return blocks[0][0] if isinstance(argnums, int) else tuple(tuple(row) for row in blocks)

        return hess_fn

    def cond(self, pred: Any, true_fn: Fn, false_fn: Fn, operands: tuple[Any, ...]) -> Any:
        return self._paddle.static.nn.cond(pred, lambda: true_fn(*operands), lambda: false_fn(*operands))

    def jit(self, f: Fn) -> Fn:
        return self._paddle.jit.to_static(f)
