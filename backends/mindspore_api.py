"""MindSpore adapter (``mindspore==2.10``, CPU, PyNative mode): ``mindspore.grad``, ``value_and_grad``, ``vjp``,
``jvp``, ``jacrev``, ``jacfwd``, ``vmap`` and ``jit``.

Named ``mindspore_api`` so that it never shadows the ``mindspore`` package.  ``setup`` selects PyNative mode
(eager execution: each operator runs as it is called) on the CPU device.

Mapping onto the battery's interface (every transform is MindSpore's own, called once):

* ``grad(f, argnums)`` is ``mindspore.grad(f, grad_position=argnums, has_aux=...)``.  With ``has_aux=True`` MindSpore
  treats ``f``'s output tuple as ``(out, *aux)`` and returns ``(grad, (aux,))``: the aux outputs as a tuple, so the
  declared layout is ``(grad, (aux))``.
* ``grad_and_value`` is ``mindspore.value_and_grad`` (``(value, grad)``; with has_aux the whole output is the value:
  ``((value, aux), grad)``).
* ``vjp`` is ``mindspore.vjp(f, *primals, has_aux=...)``: ``(out, vjp_fn)`` or ``(out, vjp_fn, aux)``; ``vjp_fn``
  returns a tuple, one cotangent per primal.
* ``jvp`` is ``mindspore.jvp(f, primals, tangents, has_aux=...)``, the primals passed as given.
* ``jacrev``/``jacfwd`` are ``mindspore.jacrev``/``mindspore.jacfwd(f, grad_position=argnums, has_aux=...)``.
* ``vmap`` is ``mindspore.vmap(f, in_axes=in_dims, out_axes=out_dims)``; ``jit`` is ``mindspore.jit``.
* MindSpore has no Hessian transform, no functional cond (``mindspore.ops.cond`` is the matrix condition number)
  and its ``mindspore.ops.Scan`` takes ``xs`` as a Python tuple or list and returns ``ys`` as a list: declared.

MindSpore writes ``rank_0/om/analyze_fail.ir`` into the working directory whenever a traced function fails to
compile; ``MS_OM_PATH`` (read when mindspore is imported) sends those files to a temporary folder instead.

The array namespace is ``mindspore.numpy`` through :class:`backends.namespace.MappedNamespace`, with the names it
lacks taken from ``mindspore.ops`` (``prod``, ``sort``, ``argsort``, ``vecdot`` and ``linalg``), each the same
MindSpore operation with the standard's arguments mapped onto its keywords.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from backends.base import Array, Backend, Conventions, Fn, MissingFeature
from backends.namespace import MappedNamespace

_DOCS = "https://www.mindspore.cn/docs/en/r2.7.0/api_python/mindspore.html"

_MASKABLE = ("sum", "prod", "mean", "std", "var")

LACKS_KEYWORDS = {
    **{f"{r}(where=)": f"mindspore's {r} takes no where= mask (mindspore.numpy.{r} / mindspore.ops.{r} take axis "
       "and keepdims only)" for r in _MASKABLE},
    **{f"{c}(include_initial=)": f"mindspore.numpy.{alias} (MindSpore has no {c}) takes no include_initial"
       for c, alias in (("cumulative_sum", "cumsum"), ("cumulative_prod", "cumprod"))},
}
"""What MindSpore's namespace rejects of the function table's keywords (``Conventions.lacks_keywords``)."""


_API = "https://www.mindspore.cn/docs/en/master/api_python/mindspore"

_PYTREE_REFUSALS = (
    r"The inputs type must be Tensor"                                   # mindspore.vjp
    r"|For 'Size', input must be a Tensor, but got"                     # jacrev / jacfwd
    r"|'(Dictionary|Tuple)' object has no attribute 'shape'"           # jacrev's input handling
    r"|Failed calling OnesLike with \"x=Dictionary"                     # jvp / jacfwd of a dict output
    r"|The axis in vmap's 'in_axes' should be a None or a scalar"      # a dict in in_axes
    r"|The outputs of vmap's 'fn' should be consisting of tensors or constants"
)

MISSING_FEATURES = (
    # vjp, jvp, jacrev, jacfwd and vmap are documented for Tensor inputs and outputs (a Tensor or a tuple of
    # Tensors): a dict argument or output, or a tuple argument to jacrev/jacfwd, is refused with these errors.
    # (grad/value_and_grad and jvp return wrong results silently for such inputs instead: those are manifest entries.)
    *(MissingFeature(_PYTREE_REFUSALS, "pytree (dict / nested tuple) inputs and outputs in vjp, jvp, jacrev, "
                     "jacfwd and vmap, documented for Tensor inputs and Tensor or tuple-of-Tensor outputs",
                     checks=f"*-{fn}*", link=f"{_API}/mindspore.jacrev.html")
      for fn in ("dict_input", "dict_output", "pair_input")),
    # jacrev and jacfwd run the function under mindspore.vmap, whose control flow support requires every batch
    # element to take the same branch: a Python `if` on an input's value is refused in those two functions.
    *(MissingFeature(r"In the scenario where vmap contains control flow, currently only the case"
                     r"|vmap do not support transform ValueNode<SymbolicKeyInstance>",
                     "data-dependent control flow under jacrev/jacfwd (run under mindspore.vmap, which supports "
                     "control flow only where every batch element takes the same branch)",
                     checks=f"*-{fn}*", link=f"{_API}/mindspore.vmap.html")
      for fn in ("square_if_even", "branch_on_sum")),
    MissingFeature(r"Qr's bprop not defined", "a reverse-mode derivative rule (bprop) for Qr (mindspore.ops.qr)",
                   checks="*-fn_linalg_qr*"),
    MissingFeature(r"Unsupported op \[CholeskyGrad\] on CPU|CholeskyGrad's bprop not defined",
                   "a CPU kernel for CholeskyGrad, the derivative of mindspore.ops.cholesky",
                   checks="*-fn_linalg_cholesky*"),
    MissingFeature(r"TraceV2Grad's bprop not defined",
                   "a second-order derivative rule (bprop of TraceV2Grad) for trace, which jacfwd needs",
                   checks="fn_jacfwd[*trace*"),
    MissingFeature(r"LogSoftmaxGrad's bprop not defined",
                   "a second-order derivative rule (bprop of LogSoftmaxGrad) for log_softmax, which jacfwd needs",
                   checks="fn_jacfwd[*fn_lib_log_softmax*"),
    # The irfft row builds its complex input as x[0] + 1j * x[1] (conformance/battery/fft_rows.py).  Eagerly MindSpore's Mul
    # takes int, float, bool and Tensor operands, not a Python complex; in a traced function (jvp, jacrev, jacfwd,
    # vmap) its compiler has no complex constant and hands the value to the Python interpreter (PyExecute), whose
    # output has no static shape: jvp and jacfwd refuse it as a dynamic-shape tangent, jacrev finds no output, vmap
    # refuses PyExecute.  (A complex Tensor in its place fails too: the CPU Mul has no kernel for complex x float,
    # and "For 'Mul', gradient not support for complex type currently".)
    MissingFeature(r"Failed calling Mul with \"Mul\(\)\(input=Tensor, other=<class 'complex'>\)\"",
                   "arithmetic between a Tensor and a Python complex scalar (Tensor * 1j): Mul takes int, float, "
                   "bool and Tensor operands only", checks="*-fn_fft_irfft*"),
    MissingFeature(r"The shape of sense must not be dynamic shape"
                   r"|PyExecute is a GRAPH_FLAG_SIDE_EFFECT_IO prim, vmap dont support"
                   r"|For primitive:'TupleGetItem', cannot get item by index from an empty sequence",
                   "a Python complex constant in traced code (jvp, jacrev, jacfwd, vmap): the graph compiler has no "
                   "complex constant type and runs the value through the Python interpreter (PyExecute), whose "
                   "output has no static shape, which jvp, jacrev and jacfwd cannot differentiate and vmap refuses",
                   checks="*-fn_fft_irfft*"),
)
"""MindSpore's own errors for features it lacks, each scoped to the checks it was seen in (``Conventions.missing_features``)."""


def _namespace(ms: Any, mnp: Any, ops: Any) -> MappedNamespace:
    def asarray(value: Any, dtype: Any = None) -> Any:
        # mindspore.numpy.asarray takes Python scalars, lists, tuples and Tensors, not NumPy arrays: those go to
        # mindspore.Tensor, MindSpore's constructor from a NumPy array.
        if isinstance(value, np.ndarray):
            return ms.Tensor(value, dtype=dtype)
        return mnp.asarray(value, dtype=dtype)

    def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.prod(x, axis, keep_dims=keepdims)

    def sort(x: Any, axis: int = -1) -> Any:
        return ops.sort(x, axis=axis)[0]  # mindspore.ops.sort returns (values, indices)

    def argsort(x: Any, axis: int = -1) -> Any:
        return ops.argsort(x, axis=axis)

    def svd(x: Any, full_matrices: bool = True) -> Any:
        # mindspore.ops.svd returns (s, u, v) with x = u diag(s) v^H; the standard returns (U, S, Vh).
        s, u, v = ops.svd(x, full_matrices=full_matrices, compute_uv=True)
        return u, s, v.swapaxes(-1, -2)

    def cross(x: Any, y: Any, axis: int = -1) -> Any:
        return ops.cross(x, y, dim=axis)

    def matrix_norm(x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
        return ops.matrix_norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)

    def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
        return ops.vector_norm(x, ord=ord, axis=axis, keepdims=keepdims)

    def trace(x: Any, offset: int = 0) -> Any:
        return mnp.trace(x, offset=offset, axis1=-2, axis2=-1)

    def cholesky(x: Any, upper: bool = False) -> Any:
        return ops.cholesky(x, upper=upper)

    def qr(x: Any, mode: str = "reduced") -> Any:
        return ops.qr(x, mode=mode)

    import mindspore.scipy.linalg as msl

    def eigh(x: Any) -> Any:
        return msl.eigh(x)

    return MappedNamespace(mnp, library="mindspore", names={
        "asarray": asarray,
        "prod": prod,
        "sort": sort,
        "argsort": argsort,
        "vecdot": ops.vecdot,
        "linalg.solve": ops.matrix_solve,
        "linalg.inv": ops.inverse,
        "linalg.det": ops.det,
        "linalg.slogdet": ops.slogdet,
        "linalg.cholesky": cholesky,
        "linalg.eigh": eigh,
        "linalg.qr": qr,
        "linalg.svd": svd,
        "linalg.matrix_norm": matrix_norm,
        "linalg.vector_norm": vector_norm,
        "linalg.trace": trace,
        "linalg.outer": mnp.outer,
        "linalg.cross": cross,
    })


def _everyday(ops: Any) -> dict[str, Any]:
    """MindSpore's names of the everyday functions (``Backend.everyday``), built once ``mindspore.ops`` is imported:
    its jvp, jacrev and vmap parse the Python they trace and refuse an ``import`` statement inside it, so the two
    call adapters close over the module instead.  It has no frexp (ops, numpy), so that row skips."""

    def logsumexp(x: Any, axis: int) -> Any:
        return ops.logsumexp(x, dim=axis)  # MindSpore names the axis dim

    def top_k(x: Any, k: int) -> Any:
        return ops.topk(x, k)[0]  # (values, indices), sorted, the largest first by default: the values

    return {"logsumexp": logsumexp, "softmax": ops.softmax, "log_softmax": ops.log_softmax, "sigmoid": ops.sigmoid,
            "ldexp": ops.ldexp, "top_k": top_k}


class MindsporeApi(Backend):
    name = "mindspore"
    library = "mindspore"
    conventions = Conventions(
        grad_and_value_api="mindspore.value_and_grad",
        grad_and_value_layout="(value, grad)",
        grad_and_value_aux_layout="((value, aux), grad)",
        grad_aux_layout="(grad, (aux))",
        batch_keyword=("in_axes", "out_axes"),
        has_aux=frozenset({"grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd"}),
        jvp_primals="tuple",
        vmap_api="mindspore.vmap",
        scan_api="",
        cond_api="",
        jit_api="mindspore.jit",
        lacks_keywords=LACKS_KEYWORDS,
        # mindspore.numpy.take documents mode='clip' as its default ("mode = 'raise' is not supported, and the default
        # mode is 'clip' instead"): an index below -n reads position 0, one above n-1 position n-1, and an in-bounds
        # negative index counts from the end (its clip keeps [-n, n-1]), which is "clamp".  take_along_axis
        # (GatherD) and x[i] (Gather) raise on CPU, the standard's "error".
        index_bounds={"take": "clamp"},
        unsupported={
            "hessian": f"MindSpore has no Hessian transform (mindspore offers grad, value_and_grad, vjp, jvp, "
            f"jacfwd, jacrev, vmap: {_DOCS})",
            "scan": "MindSpore has no scan over arrays: mindspore.ops.Scan (experimental) takes xs as a Python tuple "
            "or list and returns ys as a Python list",
            "cond": "MindSpore has no functional cond (mindspore.ops.cond is the matrix condition number; "
            "control flow is Python if, compiled only under mindspore.jit)",
        },
        errors={},
        accepts={
            "jvp_primals_not_tuple": "mindspore.jvp documents inputs as Union[Tensor, tuple[Tensor], list[Tensor]]: "
            "a bare Tensor is the documented form for a function of one input "
            "(https://www.mindspore.cn/docs/en/r2.7.0/api_python/mindspore/mindspore.jvp.html)",
        },
        missing_features=MISSING_FEATURES,
    )

    def __init__(self) -> None:
        os.environ.setdefault("MS_OM_PATH", os.path.join(tempfile.gettempdir(), "transform-conformance-mindspore-ir"))
        import mindspore
        import mindspore.numpy as mnp
        import mindspore.ops as ops

        self._ms = mindspore
        self._xp = _namespace(mindspore, mnp, ops)
        self.everyday = _everyday(ops)

    def setup(self) -> None:
        self._ms.set_context(mode=self._ms.PYNATIVE_MODE)
        self._ms.set_device("CPU")

    @property
    def version(self) -> str:
        return str(self._ms.__version__)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, value: Any, dtype: str) -> Array:
        return self._ms.Tensor(np.asarray(value, dtype=dtype))

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._ms.Tensor):
            return np.array(x.asnumpy(), copy=True)
        return np.asarray(x)

    # -- transforms ------------------------------------------------------------
    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._ms.grad(f, grad_position=argnums, has_aux=has_aux)

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._ms.value_and_grad(f, grad_position=argnums, has_aux=has_aux)

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        return self._ms.vjp(f, *primals, has_aux=has_aux)

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        return self._ms.jvp(f, primals, tangents, has_aux=has_aux)

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._ms.jacrev(f, grad_position=argnums, has_aux=has_aux)

    def jacfwd(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._ms.jacfwd(f, grad_position=argnums, has_aux=has_aux)

    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        return self._ms.vmap(f, in_axes=in_dims, out_axes=out_dims)

    def jit(self, f: Fn) -> Fn:
        return self._ms.jit(f)
