"""MLX adapter (``mlx[cpu]``): ``mx.grad``, ``mx.value_and_grad``, ``mx.vjp``, ``mx.jvp``, ``mx.vmap``, ``mx.compile``.

Named ``mlx_api`` so that it never shadows the ``mlx`` package.  MLX computes float64 on the CPU
device (``mlx[cpu]`` has no other), so both dtypes are declared.

Mapping onto the battery's interface:

* ``vjp``/``jvp``: ``mx.vjp(fun, primals, cotangents)`` and ``mx.jvp(fun, primals, tangents)`` take
  lists of arrays and evaluate at once.  The adapter flattens pytree arguments and outputs (dict
  children by sorted key) into those lists, and ``vjp``'s pullback calls ``mx.vjp`` once the
  cotangent is known.
* ``grad_and_value`` is ``mx.value_and_grad``: for a function returning a tuple it differentiates
  the first element and returns the whole tuple as the value, which is the ``((value, aux), grad)``
  layout; that is the only has_aux MLX has (``mx.grad`` rejects a tuple output).
* ``jit`` is ``mx.compile``.
* ``use_device("gpu")`` makes ``mx.gpu`` the default device (``"cpu"``: ``mx.cpu``, the default here).
  MLX has no float64 on the GPU, so there the adapter declares float32 only, and float64 checks are
  recorded as skips saying why.
* MLX has no Jacobian or Hessian transform, no scan and no cond: declared unsupported.

The battery's functions are written against the array API; MLX has no array-api-compat namespace,
so :class:`MlxNamespace` maps the few names they use onto ``mlx.core`` (``linalg.solve`` runs on the
CPU stream, the only one MLX implements it on).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from backends import pytree
from backends.aliases import standard_fallback
from backends.base import (
    Array,
    Backend,
    Conventions,
    DeviceUnavailable,
    ErrorConvention,
    Fn,
    MissingFeature,
    has_aux_keyword,
)
from backends.conventions import ComplexConvention, Holomorphic

_DOCS = "https://ml-explore.github.io/mlx/build/html/python/transforms.html"


class _Linalg:
    """``mlx.core.linalg`` under the standard's names, on the CPU stream (the only one MLX implements them on).

    Each method is the same MLX operation under the standard's name, with its arguments mapped: none is
    built from other operations (a function MLX lacks stays missing, and the battery skips it).
    ``matrix_norm``/``vector_norm`` are ``mx.linalg.norm`` over the standard's axes; ``outer`` and ``trace``
    are ``mx.outer`` and ``mx.trace`` (MLX has them in its core namespace, the standard in ``linalg``).
    """

    def __init__(self, mx: Any) -> None:
        self._mx = mx

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._mx.linalg, name)(*args, stream=self._mx.cpu, **kwargs)

    def solve(self, a: Any, b: Any) -> Any:
        return self._call("solve", a, b)

    def inv(self, a: Any) -> Any:
        return self._call("inv", a)

    # Properties, so that a release without them (MLX 0.30 has no linalg.det or slogdet) lacks them here too
    # (AttributeError: the battery's "lacks" skip) instead of failing inside the call.
    @property
    def det(self) -> Any:
        self._mx.linalg.det  # noqa: B018  (AttributeError where the release lacks it)
        return lambda a: self._call("det", a)

    @property
    def slogdet(self) -> Any:
        self._mx.linalg.slogdet  # noqa: B018
        return lambda a: self._call("slogdet", a)

    def cholesky(self, a: Any, upper: bool = False) -> Any:
        return self._call("cholesky", a, upper=upper)

    def eigh(self, a: Any) -> Any:
        return self._call("eigh", a)

    def qr(self, a: Any) -> Any:
        return self._call("qr", a)

    def svd(self, a: Any, full_matrices: bool = True) -> Any:
        if not full_matrices and a.shape[-1] != a.shape[-2]:
            raise NotImplementedError("mlx.core.linalg.svd has no reduced (full_matrices=False) form")
        return self._call("svd", a)

    def cross(self, a: Any, b: Any, axis: int = -1) -> Any:
        return self._call("cross", a, b, axis=axis)

    def matrix_norm(self, x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
        return self._call("norm", x, ord=ord, axis=(-2, -1), keepdims=keepdims)

    def vector_norm(self, x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
        return self._call("norm", x, ord=ord, axis=axis, keepdims=keepdims)

    def outer(self, a: Any, b: Any) -> Any:
        return self._mx.outer(a, b)

    def trace(self, x: Any, offset: int = 0) -> Any:
        return self._mx.trace(x, offset=offset, axis1=-2, axis2=-1)


class MlxNamespace:
    """The array-API names the catalog and the specs use, on ``mlx.core`` (everything else falls through).

    A standard name ``mlx.core`` lacks resolves to the same function under another name of the alias table
    (``backends/aliases.py``: ``pow`` is ``power`` in MLX releases without the standard's names), so that a
    missing mapping here never reads as a function missing from MLX."""

    def __init__(self, mx: Any) -> None:
        self._mx = mx
        self.linalg = _Linalg(mx)

    def asarray(self, value: Any, dtype: Any = None) -> Any:
        return self._mx.array(value, dtype=dtype) if dtype is not None else self._mx.array(value)

    def __getattr__(self, name: str) -> Any:
        return standard_fallback(self._mx, name, "mlx")


_MASKABLE = ("sum", "prod", "mean", "std", "var", "max", "min")

LACKS_KEYWORDS = {
    **{f"{r}(where=)": f"mlx.core.{r} takes no where= mask (its reductions take axis, keepdims and stream)"
       for r in _MASKABLE},
    **{f"{c}(include_initial=)": f"mlx.core.{c} (its {alias}) takes no include_initial: its inclusive=False is the "
       "exclusive scan, n results without the last, not the identity followed by all n"
       for c, alias in (("cumulative_sum", "cumsum"), ("cumulative_prod", "cumprod"))},
}
"""What MLX's namespace rejects of the function table's keywords (``Conventions.lacks_keywords``)."""

LACKS_KEYWORDS_BEFORE_0_31_2 = {
    **{f"fft.{name}(norm=)": f"mlx.core.fft.{name} takes no norm= before MLX 0.31.2 (ml-explore/mlx#3287 added "
       "backward/ortho/forward): https://github.com/ml-explore/mlx/pull/3287" for name in ("ifft", "rfft", "rfftn")},
    "fft.fftshift(axes=)": "mlx.core.fft.fftshift takes axes only as a sequence before MLX 0.31.2, not the "
    "standard's single int (measured on 0.30.0, 0.31.0 and 0.31.1; 0.31.2 takes both)",
}
"""What releases before 0.31.2 reject besides (verified per release by ``conventions_api``, which fails a
declared keyword the namespace accepts)."""


def _topk(x: Any, k: int) -> Any:
    """``mlx.core.topk(x, k)`` returns the k largest "not necessarily in sorted order": sorted, then reversed."""
    import mlx.core as mx

    return mx.sort(mx.topk(x, k, axis=-1), axis=-1)[..., ::-1]


def _softmax_precise(x: Any, axis: int) -> Any:
    """``mlx.core.softmax(x, axis, precise=True)``: "Accumulate in float32 for inputs of lower precision" (its
    docstring, mlx 0.32.4), so at float32 and float64 the plain softmax's accuracy is what it must keep."""
    import mlx.core as mx

    return mx.softmax(x, axis=axis, precise=True)


EVERYDAY = {
    "logsumexp": "mlx.core.logsumexp", "softmax": "mlx.core.softmax", "log_softmax": "mlx.nn.log_softmax",
    "sigmoid": "mlx.core.sigmoid", "top_k": _topk, "softmax_precise": _softmax_precise,
}
"""MLX's names of the everyday functions (``Backend.everyday``): log_softmax is mlx.nn's (mlx.core has none);
MLX has no frexp or ldexp, so those rows skip, and no matmul precision (matmul_highest skips)."""


class MlxApi(Backend):
    name = "mlx"
    library = "mlx"
    everyday = EVERYDAY
    conventions = Conventions(
        grad_and_value_api="mlx.core.value_and_grad",
        grad_and_value_layout="(value, grad)",
        grad_and_value_aux_layout="((value, aux), grad)",
        grad_aux_layout="",
        batch_keyword=("in_axes", "out_axes"),
        has_aux=frozenset({"grad_and_value"}),
        jvp_primals="list",
        vmap_api="mlx.core.vmap",
        scan_api="",
        cond_api="",
        jit_api="mlx.core.compile",
        complex=ComplexConvention(
            grad="conjugate", vjp="adjoint", dtypes=("complex64",), note="MLX has no complex128 (complex64 only)",
            # mx.grad takes a complex output and pulls back 1: conj(f'(z)), measured on mlx 0.32.4.
            holomorphic={"grad": Holomorphic("conjugate")}, doc=_DOCS,
        ),
        lacks_keywords=LACKS_KEYWORDS,
        # MLX checks no index bounds ("expected and we will probably not fix it in general":
        # https://github.com/ml-explore/mlx/issues/594): beyond them it reads whatever memory is there.
        index_bounds={"take": "unchecked", "take_along_axis": "unchecked", "getitem": "unchecked"},
        unsupported={
            "jacrev": f"MLX has no Jacobian transform (mlx.core offers grad, value_and_grad, vjp, jvp, vmap: {_DOCS})",
            "jacfwd": f"MLX has no Jacobian transform (mlx.core offers grad, value_and_grad, vjp, jvp, vmap: {_DOCS})",
            "hessian": f"MLX has no Hessian transform (mlx.core offers grad, value_and_grad, vjp, jvp, vmap: {_DOCS})",
            "scan": "MLX has no scan",
            "cond": "MLX has no cond (no traced control flow; Python if on an array evaluates it)",
        },
        accepts={
            "jvp_tangent_dict_order": "mx.jvp takes flat lists of arrays; the adapter flattens dict primals and "
            "tangents by sorted key, as MLX's own tree utilities (mlx.utils.tree_map) match dicts by key",
        },
        errors={
            "aux_not_tuple": ErrorConvention(
                "TypeError", "has_aux",
                "mx.grad takes no has_aux keyword (only value_and_grad returns a tuple's extra elements): " + _DOCS,
            ),
            "vmap_data_dependent_if": ErrorConvention(
                "ValueError", "Attempting to eval an array during function transformations",
                "https://ml-explore.github.io/mlx/build/html/usage/lazy_evaluation.html",
            ),
            "jvp_primals_not_tuple": ErrorConvention(
                "TypeError", "incompatible function arguments",
                "mx.jvp(fun, primals: list[array], tangents: list[array]): " + _DOCS,
            ),
        },
    )

    def __init__(self) -> None:
        import mlx.core as mx

        self._mx = mx
        self._xp = MlxNamespace(mx)
        self._chosen = "cpu"
        release = tuple(int(p) for p in str(mx.__version__).split(".")[:3] if p.isdigit())
        changes: dict[str, Any] = {}
        if release < (0, 30, 1):
            # Releases before 0.30.1 have no forward mode through reductions (ml-explore/mlx#2854 added it).
            changes["missing_features"] = (MissingFeature(
                r"\[Primitive::jvp\] Not implemented for (Sum|Prod|Max|Min)\.",
                "a JVP for sum, prod, max and min (before MLX 0.30.1)",
                link="https://github.com/ml-explore/mlx/pull/2854"),)
        if release < (0, 31, 2):
            changes["lacks_keywords"] = {**LACKS_KEYWORDS, **LACKS_KEYWORDS_BEFORE_0_31_2}
        if changes:
            self.conventions = dataclasses.replace(type(self).conventions, **changes)  # type: ignore[misc]

    def setup(self) -> None:
        self._mx.set_default_device(getattr(self._mx, self._chosen))

    def use_device(self, name: str) -> None:
        """``cpu`` or ``gpu`` (MLX's two device types); the GPU only where this MLX build has one."""
        mx = self._mx
        available = [d for d in ("cpu", "gpu") if mx.is_available(getattr(mx, d))]
        if name not in available:
            why = "MLX names its devices cpu and gpu" if name not in ("cpu", "gpu") else "this MLX build has no GPU backend"
            raise DeviceUnavailable(self.name, name, available, why)
        self._chosen = name
        mx.set_default_device(getattr(mx, name))
        if name == "gpu":
            self.conventions = dataclasses.replace(  # type: ignore[misc]  # this instance only
                type(self).conventions, dtypes=("float32",), dtype_note="MLX computes no float64 on the GPU")

    @property
    def version(self) -> str:
        return str(self._mx.__version__)

    @property
    def device(self) -> str:
        return str(self._mx.default_device()).replace("Device(", "").replace(")", "").replace(", ", ":")

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, value: Any, dtype: str) -> Array:
        return self._mx.array(np.asarray(value), dtype=getattr(self._mx, dtype))

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._mx.array):
            return np.array(x, copy=True)
        return np.asarray(x)

    # -- transforms ------------------------------------------------------------
    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._mx.grad(f, argnums=argnums, **has_aux_keyword(has_aux))

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        # value_and_grad treats a tuple output as (loss, *aux): has_aux is how it behaves, not a keyword.
        return self._mx.value_and_grad(f, argnums=argnums)

    def _flat_fn(self, f: Fn, in_def: pytree.TreeDef, out_defs: list[pytree.TreeDef]) -> Fn:
        """``f`` as a function of a list of leaves returning a list of leaves (MLX's vjp/jvp form)."""

        def flat(*leaves: Any) -> list[Any]:
            out = f(*pytree.unflatten(in_def, list(leaves)))
            out_leaves, out_def = pytree.flatten(out)
            out_defs[:] = [out_def]
            return out_leaves

        return flat

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        if has_aux:
            self._mx.vjp(f, list(primals), [], has_aux=True)  # raises MLX's own TypeError
        leaves, in_def = pytree.flatten(tuple(primals))
        out_defs: list[pytree.TreeDef] = []
        flat = self._flat_fn(f, in_def, out_defs)
        out_leaves = flat(*leaves)
        out = pytree.unflatten(out_defs[0], out_leaves)

        def pullback(cotangent: Any) -> tuple[Any, ...]:
            ct_leaves, _ = pytree.flatten(cotangent)
            _, grads = self._mx.vjp(flat, leaves, ct_leaves)
            return tuple(pytree.unflatten(in_def, grads))

        return out, pullback

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        if has_aux or not isinstance(primals, (tuple, list)):
            # Not the battery's form: hand it to MLX as given, so MLX answers for itself.
            return tuple(self._mx.jvp(f, primals, tangents, **has_aux_keyword(has_aux)))
        leaves, in_def = pytree.flatten(tuple(primals))
        t_leaves, t_def = pytree.flatten(tuple(tangents))
        if t_def != in_def:
            raise TypeError(f"tangents have the structure {t_def}, primals {in_def}")
        out_defs: list[pytree.TreeDef] = []
        outs, tangent_outs = self._mx.jvp(self._flat_fn(f, in_def, out_defs), leaves, t_leaves)
        return pytree.unflatten(out_defs[0], outs), pytree.unflatten(out_defs[0], tangent_outs)

    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        return self._mx.vmap(f, in_axes=in_dims, out_axes=out_dims)

    def jit(self, f: Fn) -> Fn:
        return self._mx.compile(f)
