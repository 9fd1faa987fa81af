"""PyTorch adapter: ``torch.func`` transforms, ``torch.cond``, ``torch.compile`` as jit; no public scan.

Named ``torch_func`` so that it never shadows the ``torch`` package.

``jit`` is ``torch.compile(fullgraph=True)``, so a graph break is an error rather than a silent
fallback to eager (which would make jit agree with eager by not compiling).  The compile backend
follows the hypothesis profile: ``aot_eager`` in ``ci`` (traces through dynamo and AOTAutograd, about
0.2 s a function, bit-identical to eager on this battery), ``inductor`` in ``thorough`` (generated
C++ code: the compiler users actually run, seconds a function).  ``TRANSFORM_CONFORMANCE_TORCH_COMPILE``
overrides it.  Each jit resets dynamo's caches first: the battery compiles a fresh closure per
example, and past dynamo's recompile limit torch silently runs eager code instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from backends.base import Array, ComplexConvention, Conventions, ErrorConvention, Fn, Unsupported
from backends.torch_tensors import COMPLEX_DOC, LACKS_KEYWORDS, TorchTensors


class TorchFunc(TorchTensors):
    name = "torch"
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
        jit_api="torch.compile",
        complex=ComplexConvention(
            grad="conjugate", vjp="adjoint", doc=COMPLEX_DOC,
            unsupported={
                **{t: f"torch.func.{t} refuses complex inputs (RuntimeError 'Expected all inputs to be real')"
                   for t in ("jacrev", "jacfwd", "hessian")},
                "holomorphic grad": "torch.func.grad needs a real scalar output (RuntimeError), and torch has no "
                "holomorphic mode",
                **{f"holomorphic {t}": f"torch.func.{t} refuses complex inputs (RuntimeError)"
                   for t in ("jacrev", "jacfwd", "hessian")},
            },
        ),
        lacks_keywords=LACKS_KEYWORDS,
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
        import torch.func

        super().__init__()
        self._func = torch.func

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

    def compile_backend(self) -> str:
        """``aot_eager`` under the ci profile, ``inductor`` under thorough (see the module docstring)."""
        chosen = os.environ.get("TRANSFORM_CONFORMANCE_TORCH_COMPILE")
        if chosen:
            return chosen
        from hypothesis import settings

        return "inductor" if settings.get_current_profile_name() == "thorough" else "aot_eager"

    def jit(self, f: Fn) -> Fn:
        self._torch.compiler.reset()
        return self._torch.compile(f, backend=self.compile_backend(), fullgraph=True)

    def jit_description(self) -> str:
        return f"torch.compile(backend={self.compile_backend()!r}, fullgraph=True)"
