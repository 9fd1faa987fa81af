"""HIPS autograd adapter: ``autograd.grad``, ``value_and_grad``, ``grad_and_aux``, ``make_vjp``, ``make_jvp``,
``jacobian``, ``hessian``, on plain NumPy arrays.

Named ``autograd_api`` so that it never shadows the ``autograd`` package.  The battery's functions run
on ``autograd.numpy`` (NumPy's API, traced).  Mapping onto the battery's interface:

* ``argnums`` is autograd's ``argnum`` (an int or a tuple, as ``unary_to_nary`` allows);
* ``grad(f, has_aux=True)`` is ``autograd.grad_and_aux``, whose ``(grad, aux)`` is the declared layout;
  no other transform has an aux form, so ``has_aux`` is passed through there and autograd rejects it;
* ``vjp(f, *primals)`` is ``make_vjp(f, argnum=(0, ..., n-1))(*primals)``, one cotangent per primal;
* ``jvp(f, primals, tangents)`` is ``make_jvp(f, argnum=...)(*primals)(tangents)`` (forward mode);
  autograd takes primals positionally, so there is no tuple form to misuse;
* ``jacrev`` is ``autograd.jacobian`` (reverse mode), ``hessian`` is ``autograd.hessian``: both
  differentiate with respect to one array argument, as autograd documents; tuples of argnums and
  container arguments are input kinds they do not offer.

autograd has no forward-mode Jacobian, vmap, scan, cond or jit: declared unsupported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backends.aliases import standard_fallback
from backends.base import Array, Backend, Conventions, ErrorConvention, Fn, Unsupported, has_aux_keyword, strided_copy
from backends.conventions import ComplexConvention, Holomorphic

_README = "https://github.com/HIPS/autograd/blob/master/docs/tutorial.md"


class _AutogradLinalg:
    """``autograd.numpy.linalg`` plus standard names autograd differentiates under another name.

    NumPy 2 added ``linalg.matrix_norm``, ``vector_norm``, ``outer``, ``cross`` and ``trace``; autograd wraps
    them but defines no derivative for them, while it does for ``linalg.norm``, ``outer``, ``cross`` and
    ``trace``, the same operations.  These aliases call those, with the standard's axes; nothing here is
    built from other operations.
    """

    def __init__(self, anp: Any) -> None:
        self._anp = anp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._anp.linalg, name)

    def matrix_norm(self, x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
        # Non-negative axes: autograd's norm gradient fails on axis=(-2, -1) ("axis -2 is out of bounds for
        # array of dimension 1", autograd 1.9.1) while computing the same norm over (n-2, n-1) works.
        n = len(x.shape)
        return self._anp.linalg.norm(x, ord=ord, axis=(n - 2, n - 1), keepdims=keepdims)

    def vector_norm(self, x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
        return self._anp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)

    def outer(self, a: Any, b: Any) -> Any:
        return self._anp.outer(a, b)

    def cross(self, a: Any, b: Any, axis: int = -1) -> Any:
        return self._anp.cross(a, b, axis=axis)

    def trace(self, x: Any, offset: int = 0) -> Any:
        # autograd differentiates trace(x, offset) only (its VJP takes no axes): the standard's trace over the
        # last two axes is that call for a matrix.
        if len(x.shape) != 2:
            raise ValueError("the autograd alias of linalg.trace takes a matrix (autograd's trace VJP has no axes)")
        return self._anp.trace(x, offset)


class AutogradNamespace:
    """``autograd.numpy`` (everything falls through), with standard names mapped onto the autograd
    primitive of the same operation where autograd differentiates only the older name: ``cumulative_sum``
    is ``cumsum`` (1-D or with an axis, include_initial=False).  ``concat`` is deliberately not mapped:
    autograd.numpy.concat exists (NumPy 2's name) but does not trace into its list, so its derivatives are
    silently zero (autograd 1.9.1); a user who calls it gets that, and so does the battery (a finding).  Functions
    autograd defines no derivative for under any name (flip, take, copysign, qr, vecdot...) stay as they are:
    the battery records autograd's own NotImplementedError."""

    def __init__(self, anp: Any) -> None:
        self._anp = anp
        self.linalg = _AutogradLinalg(anp)

    def __getattr__(self, name: str) -> Any:
        # A standard name autograd.numpy lacks resolves through the alias table (backends/aliases.py).
        return standard_fallback(self._anp, name, "autograd")

    def cumulative_sum(self, x: Any, axis: int | None = None) -> Any:
        if axis is None and len(x.shape) != 1:
            raise ValueError("cumulative_sum needs an axis for arrays of rank other than 1")
        return self._anp.cumsum(x, axis=0 if axis is None else axis)


def _top_k(x: Any, k: int) -> Any:
    """autograd has no top_k; its ``numpy.partition`` with the last k positions as ``kth`` puts each of them in
    its sorted place, so the last k entries are the k largest in ascending order: reversed, the values."""
    import autograd.numpy as anp

    n = x.shape[-1]
    return anp.partition(x, list(range(n - k, n)), axis=-1)[..., n - k:][..., ::-1]


EVERYDAY = {
    "logsumexp": "autograd.scipy.special.logsumexp", "sigmoid": "autograd.scipy.special.expit",
    "frexp": "autograd.numpy.frexp", "ldexp": "autograd.numpy.ldexp", "top_k": _top_k,
}
"""autograd's names of the everyday functions (``Backend.everyday``); it has no softmax or log_softmax."""


class AutogradApi(Backend):
    name = "autograd"
    library = "autograd"
    everyday = EVERYDAY
    conventions = Conventions(
        grad_and_value_api="autograd.value_and_grad",
        grad_and_value_layout="(value, grad)",
        grad_and_value_aux_layout="",
        grad_aux_layout="(grad, aux)",
        batch_keyword=("", ""),
        has_aux=frozenset({"grad"}),
        jvp_primals="positional",
        scan_api="",
        cond_api="",
        complex=ComplexConvention(
            grad="wirtinger", vjp="transpose",  # measured on autograd 1.9.1: grad is dL/dx - i dL/dy, as JAX's
            holomorphic={"grad": Holomorphic("derivative", "autograd.holomorphic_grad")},
            unsupported={
                "holomorphic jacrev": "autograd.jacobian of a complex output raises ValueError 'cannot reshape array' "
                "(its output basis has twice the entries)",
                "hessian": "autograd.hessian's inner jacobian has a complex output: ValueError 'cannot reshape array'",
                "holomorphic hessian": "autograd.hessian is jacobian(jacobian(f)), and jacobian of a complex output "
                "raises ValueError 'cannot reshape array'; autograd offers no holomorphic Hessian",
            },
            doc="https://github.com/HIPS/autograd/blob/master/docs/tutorial.md#complex-numbers",
        ),
        lacks_keywords={
            "cumulative_sum(include_initial=)": "autograd differentiates a cumulative sum only as cumsum (the namespace's "
            "cumulative_sum), which takes no include_initial; autograd.numpy.cumulative_sum, which does, has no "
            "derivative rule ('VJP of cumulative_sum wrt argnums (0,) not defined')",
        },
        unsupported={
            "jacfwd": "autograd has no forward-mode Jacobian (autograd.jacobian is reverse mode; make_jvp gives one "
            "column at a time)",
            "vmap": "autograd has no vmap",
            "scan": "autograd has no scan",
            "cond": "autograd has no cond (Python if on a traced value evaluates it)",
            "jit": "autograd has no jit: it traces NumPy calls eagerly on every evaluation",
        },
        errors={
            "grad_int_input": ErrorConvention(
                "TypeError", "Can't differentiate w.r.t. type",
                "autograd/tracer.py: only float and complex values have a vector space (vspace)",
            ),
            "aux_not_tuple": ErrorConvention(
                "ValueError", "not enough values to unpack",
                "autograd.grad_and_aux: 'the gradient of the first output and the (unmodified) second output of a "
                "function that returns two outputs' (autograd/differential_operators.py)",
            ),
        },
        accepts={
            "jvp_tangent_dict_order": "autograd's dict vector space (autograd/builtins.py, DictVSpace) pairs a "
            "tangent's values with the primal's by key",
        },
    )

    def __init__(self) -> None:
        import autograd
        import autograd.numpy

        self._ag = autograd
        self._np = autograd.numpy
        self._xp = AutogradNamespace(autograd.numpy)

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return version("autograd")

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, value: Any, dtype: str) -> Array:
        return np.array(value, dtype=np.dtype(dtype))

    def as_strided_view(self, value: Any, dtype: str) -> Any:
        view = strided_copy(np.asarray(value, dtype=np.dtype(dtype)), lambda buf: buf)[..., ::2]
        assert not view.flags.c_contiguous
        return view

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x)

    # -- transforms ------------------------------------------------------------
    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        if has_aux:
            return self._ag.grad_and_aux(f, argnum=argnums)
        return self._ag.grad(f, argnum=argnums)

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._ag.value_and_grad(f, argnums, **has_aux_keyword(has_aux))

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        argnum = tuple(range(len(primals)))
        pullback, out = self._ag.make_vjp(f, argnum, **has_aux_keyword(has_aux))(*primals)
        return out, lambda cotangent: tuple(pullback(cotangent))

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        if not isinstance(primals, (tuple, list)):
            raise Unsupported(
                "autograd.make_jvp takes primals as positional arguments and a tangent per argument: there is "
                "no tuple-of-primals form whose misuse could be checked"
            )
        argnum = tuple(range(len(primals)))
        pushforward = self._ag.make_jvp(f, argnum, **has_aux_keyword(has_aux))(*primals)
        return pushforward(tuple(tangents))

    def _one_array(self, api: str, f: Fn, argnums: int | tuple[int, ...], has_aux: bool) -> Fn:
        def transformed(*args: Any) -> Any:
            if not isinstance(argnums, int):
                raise Unsupported(f"autograd.{api} differentiates with respect to one argument (argnum is an int): "
                                  f"argnums={argnums} is not offered ({_README})")
            if not isinstance(args[argnums], np.ndarray):
                raise Unsupported(f"autograd.{api} differentiates with respect to an array ('which must be a scalar "
                                  f"or array'), not a {type(args[argnums]).__name__} ({_README})")
            if not has_aux and not isinstance(f(*args), (np.ndarray, np.generic, float)):
                raise Unsupported(f"autograd.{api} takes functions returning one array (its Jacobian has shape "
                                  f"out.shape + in.shape), not a {type(f(*args)).__name__} ({_README})")
            return getattr(self._ag, api)(f, argnums, **has_aux_keyword(has_aux))(*args)

        return transformed

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._one_array("jacobian", f, argnums, has_aux)

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._one_array("hessian", f, argnums, has_aux)
