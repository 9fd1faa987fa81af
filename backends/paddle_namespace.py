"""PaddlePaddle under the array API's names (``backends.paddle_api``'s namespace), and what it lacks of them.

``paddle`` itself through :class:`backends.namespace.MappedNamespace`: the standard's names that Paddle spells
differently are mapped (``expand_dims`` -> ``unsqueeze``, ``repeat`` -> ``repeat_interleave``, ``take(axis=)`` ->
``index_select``, ``cumulative_sum`` -> ``cumsum``), and its reductions get the standard's ``keepdims`` (Paddle's
``keepdim``) and ``correction`` (Paddle's ``std``/``var`` ``unbiased``) keywords.  Every entry calls one Paddle
function with its arguments renamed; nothing missing is built out of other operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.namespace import MappedNamespace

_MASKABLE = ("sum", "prod", "mean", "std", "var", "max", "min")

LACKS_KEYWORDS = {
    **{f"{r}(where=)": f"paddle.{r} takes no where= mask (its keywords are axis, keepdim{', dtype' if r in ('sum', 'prod', 'mean') else ''})"
       for r in _MASKABLE},
    **{f"{r}(initial=)": f"paddle.{r} takes no initial= (its keywords are axis and keepdim)" for r in ("max", "min")},
    **{f"{c}(include_initial=)": f"paddle.{alias} takes no include_initial (nor an exclusive form): its keywords are "
       f"{kw} and dtype" for c, alias, kw in (("cumulative_sum", "cumsum", "axis"), ("cumulative_prod", "cumprod", "dim"))},
}
"""What Paddle's functions reject of the function table's keywords (``Conventions.lacks_keywords``)."""


def namespace(paddle: Any) -> MappedNamespace:
    """``paddle`` under the array API's names: each entry is one Paddle function, its arguments renamed."""

    def asarray(value: Any, dtype: Any = None, copy: Any = None) -> Any:
        if isinstance(value, paddle.Tensor):
            return value if dtype is None or value.dtype == dtype else value.astype(dtype)
        return paddle.to_tensor(np.asarray(value) if not isinstance(value, (bool, int, float)) else value,
                                dtype=dtype)

    def reduction(name: str, with_dtype: bool) -> Any:
        fn = getattr(paddle, name)
        if with_dtype:
            def reduce(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
                return fn(x, axis=axis, dtype=dtype, keepdim=keepdims)
        else:
            def reduce(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:  # type: ignore[misc]
                return fn(x, axis=axis, keepdim=keepdims)
        reduce.__name__ = reduce.__qualname__ = name
        reduce.__doc__ = f"paddle.{name}(x, axis, keepdim=keepdims)"
        return reduce

    def spread(name: str) -> Any:
        fn = getattr(paddle, name)

        def moment(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
            if correction not in (0, 1):
                raise TypeError(f"paddle.{name} takes unbiased=True/False only, not correction={correction!r}")
            return fn(x, axis=axis, unbiased=bool(correction), keepdim=keepdims)

        moment.__name__ = moment.__qualname__ = name
        moment.__doc__ = f"paddle.{name}(x, axis, unbiased=bool(correction), keepdim=keepdims)"
        return moment

    def cumulative_sum(x: Any, /, *, axis: Any = None, dtype: Any = None) -> Any:
        return paddle.cumsum(x, axis=axis, dtype=dtype)

    def cumulative_prod(x: Any, /, *, axis: Any = None, dtype: Any = None) -> Any:
        return paddle.cumprod(x, dim=axis, dtype=dtype)

    def cumprod(x: Any, /, axis: Any = None, dtype: Any = None) -> Any:
        return paddle.cumprod(x, dim=axis, dtype=dtype)  # NumPy's cumprod(x, axis); Paddle names it dim

    def take(x: Any, indices: Any, /, *, axis: Any = None) -> Any:
        if axis is None:
            return paddle.take(x, indices)  # the standard's flattened form is paddle.take's
        return paddle.index_select(x, indices, axis=axis)

    def expand_dims(x: Any, /, *, axis: int = 0) -> Any:
        return paddle.unsqueeze(x, axis=axis)

    def repeat(x: Any, repeats: Any, /, *, axis: Any = None) -> Any:
        return paddle.repeat_interleave(x, repeats, axis=axis)

    def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
        return paddle.sort(x, axis=axis, descending=descending, stable=stable)

    def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
        return paddle.argsort(x, axis=axis, descending=descending, stable=stable)

    def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
        return paddle.linalg.matrix_norm(x, p=ord, axis=[-2, -1], keepdim=keepdims)

    def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
        return paddle.linalg.vector_norm(x, p=ord, axis=axis, keepdim=keepdims)

    def svd(x: Any, /, *, full_matrices: bool = True) -> Any:
        return paddle.linalg.svd(x, full_matrices=full_matrices)  # (U, S, VH), the standard's order

    def trace(x: Any, /, *, offset: int = 0) -> Any:
        return paddle.trace(x, offset=offset, axis1=-2, axis2=-1)  # the standard's: over the last two axes

    def cross(x: Any, y: Any, /, *, axis: int = -1) -> Any:
        return paddle.linalg.cross(x, y, axis=axis)

    def tensordot(a: Any, b: Any, /, *, axes: Any = 2) -> Any:
        return paddle.tensordot(a, b, axes=axes)

    return MappedNamespace(paddle, library="paddlepaddle", names={
        "asarray": asarray,
        "sum": reduction("sum", True),
        "prod": reduction("prod", True),
        "mean": reduction("mean", False),
        "max": reduction("max", False),
        "min": reduction("min", False),
        "std": spread("std"),
        "var": spread("var"),
        "cumulative_sum": cumulative_sum,
        "cumulative_prod": cumulative_prod,
        "cumprod": cumprod,
        "permute_dims": "transpose",  # paddle.transpose(x, perm) is the standard's permute_dims
        "expand_dims": expand_dims,
        "repeat": repeat,
        "take": take,
        "sort": sort,
        "argsort": argsort,
        "tensordot": tensordot,
        "linalg.matrix_norm": matrix_norm,
        "linalg.vector_norm": vector_norm,
        "linalg.svd": svd,
        "linalg.trace": trace,
        "linalg.outer": paddle.outer,
        "linalg.tensordot": tensordot,
        "linalg.cross": cross,
    })
