"""PyTorch's classic autograd as a backend: ``torch.autograd.grad`` and ``torch.autograd.functional``.

The same tensors as the ``torch`` backend, a different API: no ``torch.func`` anywhere.  The
battery's transforms map onto it as follows (each adapter method says so too):

=================  ====================================================================
grad               ``torch.autograd.grad(f(*args), leaves, create_graph=True)`` on fresh
                   leaves of the differentiated arguments (pytrees flattened by key)
vjp                ``torch.autograd.functional.vjp(f, inputs, v, create_graph=True)``,
                   called by the pullback once the cotangent is known
jvp                ``torch.autograd.functional.jvp(f, inputs, v, create_graph=True)``
jacrev / jacfwd    ``torch.autograd.functional.jacobian(strategy="reverse-mode"`` /
                   ``"forward-mode", vectorize=True)``
hessian            ``torch.autograd.functional.hessian``
=================  ====================================================================

``torch.autograd.functional`` takes a Tensor or a tuple of Tensors as inputs and returns the same
for outputs; a dict or nested-tuple argument there is an input kind the API does not offer, so it
is a skip (``Unsupported``), not an error.  ``hvp``/``vhp`` exist too but no battery transform maps
to them.  There is no combined value-and-grad, no has_aux, no vmap, scan or cond in this API, and
``torch.compile(fullgraph=True)`` refuses ``torch.autograd.grad``: those are declared unsupported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backends import pytree
from backends.base import (
    Array,
    ComplexConvention,
    Conventions,
    ErrorConvention,
    Fn,
    Holomorphic,
    Unsupported,
    argnums_tuple,
    has_aux_keyword,
)
from backends.torch_tensors import COMPLEX_DOC, LACKS_KEYWORDS, TorchTensors

_FUNCTIONAL_DOC = "https://pytorch.org/docs/stable/autograd.html#functional-higher-level-api"


class TorchAutograd(TorchTensors):
    name = "torch_autograd"
    conventions = Conventions(
        grad_and_value_api="",
        grad_and_value_layout="",
        grad_and_value_aux_layout="",
        grad_aux_layout="",
        batch_keyword=("", ""),
        has_aux=frozenset(),
        jvp_primals="tuple",
        scan_api="",
        cond_api="",
        lacks_keywords=LACKS_KEYWORDS,
        complex=ComplexConvention(
            grad="conjugate", vjp="adjoint", doc=COMPLEX_DOC,
            holomorphic={"jacfwd": Holomorphic("derivative")},
            unsupported={
                "hessian": "torch.autograd.functional.hessian differentiates the complex gradient: RuntimeError 'grad "
                "can be implicitly created only for real scalar outputs'",
                "holomorphic grad": "torch.autograd.grad needs a real scalar output (RuntimeError)",
                "holomorphic hessian": "torch.autograd.functional.hessian needs a real scalar output: RuntimeError "
                "'grad can be implicitly created only for real scalar outputs' on a complex one",
                "holomorphic jacrev": "torch.autograd.functional.jacobian(strategy='reverse-mode') raises RuntimeError "
                "'grad can be implicitly created only for real scalar outputs' on complex outputs",
            },
        ),
        unsupported={
            "grad_and_value": "torch.autograd has no combined value-and-gradient transform: "
            "torch.autograd.grad returns gradients only (torch.func.grad_and_value is the torch column's)",
            "vmap": "torch.autograd has no vmap (torch.func.vmap is the torch column's)",
            "scan": "torch has no public scan",
            "cond": "torch.autograd has no cond (torch.cond is checked with torch.func in the torch column)",
            "jit": "torch.compile(fullgraph=True) refuses torch.autograd.grad ('using torch.autograd.grad with "
            "torch._dynamo.config.trace_autograd_ops=False'); the switch is private, so jit is checked on the torch "
            "column (torch.func under torch.compile)",
        },
        errors={
            "grad_int_input": ErrorConvention(
                "RuntimeError",
                "only Tensors of floating point dtype can require gradients",
                "https://pytorch.org/docs/stable/generated/torch.Tensor.requires_grad_.html",
            ),
        },
        accepts={
            "jvp_primals_not_tuple": "torch.autograd.functional.jvp documents inputs as 'tuple of Tensors or "
            f"Tensor': {_FUNCTIONAL_DOC}",
        },
    )

    def __init__(self) -> None:
        import torch.autograd.functional

        super().__init__()
        self._functional = torch.autograd.functional

    # -- helpers ---------------------------------------------------------------
    def _fresh(self, leaf: Array) -> Array:
        """A node to differentiate with respect to, still connected to any outer graph (for nesting)."""
        if isinstance(leaf, self._torch.Tensor) and leaf.requires_grad:
            return leaf.view_as(leaf)
        return self._torch.as_tensor(leaf).detach().requires_grad_(True)

    def _tensors_only(self, args: Sequence[Any], api: str) -> None:
        for a in args:
            if not isinstance(a, self._torch.Tensor):
                raise Unsupported(
                    f"torch.autograd.functional.{api} takes a Tensor or a tuple of Tensors as inputs, "
                    f"not a {type(a).__name__} argument ({_FUNCTIONAL_DOC})"
                )

    def _functional_call(self, api: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``torch.autograd.functional.<api>``; its own 'Tensor or tuple of Tensors' refusal is Unsupported."""
        try:
            return getattr(self._functional, api)(*args, **kwargs)
        except TypeError as exc:
            if "must be either a Tensor or a tuple of Tensors" in str(exc):
                raise Unsupported(f"torch.autograd.functional.{api}: {exc}") from None
            raise

    # -- transforms ------------------------------------------------------------
    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        """torch.autograd.grad of f's output w.r.t. fresh leaves of the chosen arguments (pytrees by sorted key)."""
        torch = self._torch

        def grad_fn(*args: Any) -> Any:
            nums = argnums_tuple(argnums)
            call_args = list(args)
            flat: list[tuple[list[Any], pytree.TreeDef]] = []
            with torch.enable_grad():
                for a in nums:
                    leaves, treedef = pytree.flatten(args[a])
                    fresh = [self._fresh(leaf) for leaf in leaves]
                    call_args[a] = pytree.unflatten(treedef, fresh)
                    flat.append((fresh, treedef))
                out = f(*call_args)
                inputs = [leaf for fresh, _ in flat for leaf in fresh]
                grads = list(torch.autograd.grad(out, inputs, create_graph=True, materialize_grads=True,
                                                 **has_aux_keyword(has_aux)))
            per_arg = []
            for fresh, treedef in flat:
                per_arg.append(pytree.unflatten(treedef, grads[: len(fresh)]))
                grads = grads[len(fresh):]
            return per_arg[0] if isinstance(argnums, int) else tuple(per_arg)

        return grad_fn

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        """f's output now; the pullback calls torch.autograd.functional.vjp with the cotangent it is given."""
        self._tensors_only(primals, "vjp")
        if has_aux:
            self._functional.vjp(f, tuple(primals), has_aux=True)  # raises the library's TypeError
        out = f(*primals)
        if not isinstance(out, (self._torch.Tensor, tuple)):
            raise Unsupported(
                f"torch.autograd.functional.vjp takes functions returning a Tensor or a tuple of Tensors, "
                f"not a {type(out).__name__} ({_FUNCTIONAL_DOC})"
            )

        def pullback(cotangent: Any) -> tuple[Any, ...]:
            _, grads = self._functional_call("vjp", f, tuple(primals), cotangent, create_graph=True)
            return tuple(grads)

        return out, pullback

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        """torch.autograd.functional.jvp (the double-backward trick), primals passed through as given."""
        if isinstance(primals, (tuple, list)):
            self._tensors_only(primals, "jvp")
            primals, tangents = tuple(primals), tuple(tangents)
        out, tangent_out = self._functional_call("jvp", f, primals, tangents, create_graph=True,
                                                 **has_aux_keyword(has_aux))
        return out, tangent_out

    def _jacobian(self, api: str, f: Fn, argnums: int | tuple[int, ...], has_aux: bool, create_graph: bool = True,
                  **options: Any) -> Fn:
        def jac_fn(*args: Any) -> Any:
            nums = argnums_tuple(argnums)
            self._tensors_only([args[a] for a in nums], api)

            def of_chosen(*chosen: Any) -> Any:
                call_args = list(args)
                for a, value in zip(nums, chosen):
                    call_args[a] = value
                return f(*call_args)

            inputs = args[nums[0]] if isinstance(argnums, int) else tuple(args[a] for a in nums)
            return self._functional_call(api, of_chosen, inputs, create_graph=create_graph,
                                         **options, **has_aux_keyword(has_aux))

        return jac_fn

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jacobian("jacobian", f, argnums, has_aux, strategy="reverse-mode")

    def jacfwd(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        # jacobian refuses create_graph=True with forward mode (NotImplementedError, "not supported together
        # (yet)"): a forward-mode Jacobian here cannot itself be differentiated in reverse mode.
        return self._jacobian("jacobian", f, argnums, has_aux, create_graph=False, strategy="forward-mode",
                              vectorize=True)

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jacobian("hessian", f, argnums, has_aux)
