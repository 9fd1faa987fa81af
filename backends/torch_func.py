"""PyTorch adapter: ``torch.func`` transforms, ``torch.cond``; no public scan.

Named ``torch_func`` so that it never shadows the ``torch`` package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backends.base import Array, Backend, Conventions, ErrorConvention, Fn, Unsupported

_DTYPES = {"float32": "float32", "float64": "float64", "int64": "int64"}


class TorchFunc(Backend):
    name = "torch"
    library = "torch"
    conventions = Conventions(
        grad_and_value_api="torch.func.grad_and_value",
        grad_and_value_layout="(grad, value)",
        grad_and_value_aux_layout="(grad, (value, aux))",
        grad_aux_layout="(grad, aux)",
        batch_keyword=("in_dims", "out_dims"),
        has_aux=frozenset({"grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd"}),
        jvp_primals="tuple",
        vmap_api="torch.func.vmap",
        scan_api="",
        cond_api="torch.cond",
        errors={
            "grad_int_input": ErrorConvention(
                "RuntimeError",
                "only Tensors of floating point dtype can require gradients",
                "https://pytorch.org/docs/stable/generated/torch.func.grad.html",
            ),
            "aux_not_tuple": ErrorConvention(
                "RuntimeError",
                r"output of function f should be a tuple: \(output, aux\)",
                "https://pytorch.org/docs/stable/generated/torch.func.grad.html",
            ),
            "vmap_data_dependent_if": ErrorConvention(
                "RuntimeError",
                "data-dependent control flow",
                "https://pytorch.org/docs/stable/func.ux_limitations.html#data-dependent-python-control-flow",
            ),
            "jvp_tangent_dict_order": ErrorConvention(
                "RuntimeError",
                "Expected primals and tangents to have the same python structure",
                "https://pytorch.org/docs/stable/generated/torch.func.jvp.html",
            ),
            "jvp_primals_not_tuple": ErrorConvention(
                "RuntimeError",
                "Expected primals to be a tuple",
                "https://pytorch.org/docs/stable/generated/torch.func.jvp.html",
            ),
        },
    )

    def __init__(self) -> None:
        import torch
        import torch.func

        self._torch = torch
        self._func = torch.func

    @property
    def version(self) -> str:
        return self._torch.__version__

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def xp(self) -> Any:
        import array_api_compat.torch

        return array_api_compat.torch

    def asarray(self, value: Any, dtype: str) -> Array:
        return self._torch.as_tensor(np.asarray(value), dtype=getattr(self._torch, _DTYPES[dtype]), device=self.device)

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._func.grad(f, argnums=argnums, has_aux=has_aux)

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._func.grad_and_value(f, argnums=argnums, has_aux=has_aux)

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        return self._func.vjp(f, *primals, has_aux=has_aux)

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        return self._func.jvp(f, primals, tangents, has_aux=has_aux)

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._func.jacrev(f, argnums=argnums, has_aux=has_aux)

    def jacfwd(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._func.jacfwd(f, argnums=argnums, has_aux=has_aux)

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        # torch.func.hessian takes no has_aux: pass it only when asked, so the library answers for itself.
        return self._func.hessian(f, argnums=argnums, **({"has_aux": True} if has_aux else {}))

    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        return self._func.vmap(f, in_dims=in_dims, out_dims=out_dims)

    def scan(self, f: Fn, init: Any, xs: Any) -> tuple[Any, Any]:
        raise Unsupported(
            "torch has no public scan: torch.func offers none, and torch._higher_order_ops.scan is private"
        )

    def cond(self, pred: Any, true_fn: Fn, false_fn: Fn, operands: tuple[Any, ...]) -> Any:
        return self._torch.cond(pred, true_fn, false_fn, tuple(operands))
