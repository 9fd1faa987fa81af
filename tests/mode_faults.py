"""Faults planted in the opt-in accuracy modes (``conformance/battery/everyday.py``: ``softmax_precise``, ``matmul_highest``),
as a library could ship a mode's own code path:

* MLX's precise softmax on a path of its own that dropped the max shift: exact on order-1 inputs, inf / inf (NaN)
  once exp overflows float32 (only the large-magnitude checks of the mode can see it);
* JAX's matmul at HIGHEST precision that still rounds its operands to bfloat16 (what DEFAULT does on a TPU): about
  3 digits, where float32 keeps 7 (the mode's ordinary rows see it).
"""

from __future__ import annotations

from typing import Any, ClassVar

from backends.jax_api import JaxApi
from backends.mlx_api import MlxApi


def _softmax_unshifted(x: Any, axis: int) -> Any:
    import mlx.core as mx

    e = mx.exp(x)
    return e / mx.sum(e, axis=axis, keepdims=True)


def _matmul_in_bfloat16(a: Any, b: Any) -> Any:
    import jax
    import jax.numpy as jnp

    product = jax.lax.dot(a.astype(jnp.bfloat16), b.astype(jnp.bfloat16), preferred_element_type=jnp.float32)
    return product.astype(a.dtype)


class SoftmaxPreciseUnshifted(MlxApi):
    name = "mode-softmax-precise-unshifted"
    everyday: ClassVar[dict[str, Any]] = {**MlxApi.everyday, "softmax_precise": _softmax_unshifted}


class MatmulHighestInBfloat16(JaxApi):
    name = "mode-matmul-highest-in-bfloat16"
    everyday: ClassVar[dict[str, Any]] = {**JaxApi.everyday, "matmul_highest": _matmul_in_bfloat16}


MODE_FAULTS: dict[type, tuple[type, str, str]] = {
    SoftmaxPreciseUnshifted: (MlxApi, "fn_lib_softmax_precise", "mode_large_*"),
    MatmulHighestInBfloat16: (JaxApi, "fn_lib_matmul_highest", "fn_*"),
}
"""Planted fault -> (the unbroken library, the mode's row, the specs whose gate checks must catch it)."""
