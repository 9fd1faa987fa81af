"""JAX adapter: ``jax.grad`` & co., ``jax.lax.scan``/``cond``, and ``jax.jit``.

Named ``jax_api`` so that it never shadows the ``jax`` package.  ``setup``
enables float64 (``jax_enable_x64``): without it JAX silently computes float64
requests in float32, which the dtype checks would report.

``use_device`` (``--device cpu``, ``gpu``, ``cuda``, ``cuda:1``, ``tpu``) sets ``jax_default_device``:
arrays made without an explicit device, the battery's inputs and every constant a function creates,
go there uncommitted, exactly as on JAX's own default device.  ``device_put`` in ``asarray`` would
commit the inputs only and leave the constants elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backends.base import Array, Backend, Conventions, DeviceUnavailable, ErrorConvention, Fn
from backends.conventions import ComplexConvention, Holomorphic


def _top_k(x: Any, k: int) -> Any:
    """``jax.lax.top_k(x, k)`` returns ``(values, indices)``, values in descending order: the values."""
    import jax

    return jax.lax.top_k(x, k)[0]


def _matmul_highest(a: Any, b: Any) -> Any:
    """``jnp.matmul(a, b, precision=HIGHEST)``: JAX's float32 dot products may run in TF32 (recent GPUs) or bfloat16
    passes (TPU) by default; HIGHEST asks for true float32 (https://docs.jax.dev/en/latest/201/precision.html).  On
    CPU it is the default computation."""
    import jax

    return jax.numpy.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


EVERYDAY = {
    "logsumexp": "jax.nn.logsumexp", "softmax": "jax.nn.softmax", "log_softmax": "jax.nn.log_softmax",
    "sigmoid": "jax.nn.sigmoid", "frexp": "jax.numpy.frexp", "ldexp": "jax.numpy.ldexp", "top_k": _top_k,
    "matmul_highest": _matmul_highest,
}
"""JAX's names of the everyday functions (``Backend.everyday``); jax.scipy.special has logsumexp and softmax too.
jax.nn.softmax has no precise mode (softmax_precise skips)."""


class JaxApi(Backend):
    name = "jax"
    library = "jax"
    everyday = EVERYDAY
    conventions = Conventions(
        grad_and_value_api="jax.value_and_grad",
        grad_and_value_layout="(value, grad)",
        grad_and_value_aux_layout="((value, aux), grad)",
        grad_aux_layout="(grad, aux)",
        batch_keyword=("in_axes", "out_axes"),
        has_aux=frozenset({"grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"}),
        jvp_primals="tuple",
        vmap_api="jax.vmap",
        scan_api="jax.lax.scan",
        cond_api="jax.lax.cond",
        errors={
            "grad_int_input": ErrorConvention(
                "TypeError",
                "grad requires real- or complex-valued inputs",
                "https://docs.jax.dev/en/latest/_autosummary/jax.grad.html",
            ),
            "aux_not_tuple": ErrorConvention(
                "TypeError",
                "expected function with aux output to return a two-element tuple",
                "https://docs.jax.dev/en/latest/_autosummary/jax.grad.html",
            ),
            "vmap_data_dependent_if": ErrorConvention(
                "jax.errors.TracerBoolConversionError",
                "Attempted boolean conversion of traced array",
                "https://docs.jax.dev/en/latest/errors.html#jax.errors.TracerBoolConversionError",
            ),
            "jvp_primals_not_tuple": ErrorConvention(
                "TypeError",
                "must be tuples or lists",
                "https://docs.jax.dev/en/latest/_autosummary/jax.jvp.html",
            ),
        },
        accepts={
            "jvp_tangent_dict_order": "jax pytrees order dict children by sorted key, so tangents pair with primals "
            "by key: https://docs.jax.dev/en/latest/pytrees.html",
        },
        jit_api="jax.jit",
        complex=ComplexConvention(
            grad="wirtinger", vjp="transpose",
            holomorphic={t: Holomorphic("derivative", f"jax.{t}", "holomorphic")
                         for t in ("grad", "jacrev", "jacfwd", "hessian")},
            unsupported={
                "jacfwd": "jax.jacfwd requires real-valued inputs unless holomorphic=True (TypeError)",
                "hessian": "jax.hessian is jacfwd(jacrev(f)), and jacfwd refuses complex inputs (TypeError)",
            },
            doc="https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html#complex-numbers-and-differentiation",
        ),
        # jnp.take / take_along_axis: mode=None is "fill" (NaN for inexact dtypes):
        # https://docs.jax.dev/en/latest/_autosummary/jax.numpy.take.html; x[i] clamps (retrieval is clipped):
        # https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#out-of-bounds-indexing
        index_bounds={"take": "fill", "take_along_axis": "fill", "getitem": "clamp"},
    )

    def __init__(self) -> None:
        import jax

        self._jax = jax
        self._chosen: Any = None
        """The device ``use_device`` chose; None: JAX's default (its first device)."""

    def setup(self) -> None:
        self._jax.config.update("jax_enable_x64", True)
        cache = os.environ.get("TRANSFORM_CONFORMANCE_JAX_CACHE", str(Path.home() / ".cache" / "transform-conformance" / "jax"))
        if cache:
            # Eager JAX compiles every primitive once per shape and dtype (~45 ms each on this CPU), which
            # dominates the battery. A persistent cache reuses the same executables across runs; it changes
            # no numbers. Set TRANSFORM_CONFORMANCE_JAX_CACHE="" to measure cold runs.
            self._jax.config.update("jax_compilation_cache_dir", cache)
            self._jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
            self._jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

    @property
    def version(self) -> str:
        return self._jax.__version__

    def available_devices(self) -> list[str]:
        """The default platform's devices and the CPU's, as ``--device`` names them (``gpu:0``, ``cpu:0``)."""
        found = list(self._jax.devices())
        if found[0].platform != "cpu":
            found += self._jax.devices("cpu")
        return [f"{d.platform}:{d.id}" for d in found]

    def use_device(self, name: str) -> None:
        """``platform`` or ``platform:index``: the platform's devices from ``jax.devices``, or DeviceUnavailable."""
        platform, _, index = name.partition(":")
        try:
            devices = self._jax.devices(platform)
        except RuntimeError as exc:
            why = (str(exc).strip().splitlines() or ["no such platform"])[0][:200]
            raise DeviceUnavailable(self.name, name, self.available_devices(), why) from None
        if index and not (index.isdigit() and int(index) < len(devices)):
            raise DeviceUnavailable(self.name, name, self.available_devices(),
                                    f"{platform} has {len(devices)} device(s), numbered from 0")
        self._chosen = devices[int(index) if index else 0]
        self._jax.config.update("jax_default_device", self._chosen)

    @property
    def device(self) -> str:
        dev = self._chosen if self._chosen is not None else self._jax.devices()[0]
        kind = str(getattr(dev, "device_kind", ""))
        return dev.platform if kind.lower() in ("", dev.platform) else f"{dev.platform}:{kind}"

    @property
    def xp(self) -> Any:
        import jax.numpy

        return jax.numpy

    def asarray(self, value: Any, dtype: str) -> Array:
        # Cast on the host, then transfer: jnp.asarray(float64 array, dtype=float32) converts on the device, and
        # in eager mode that compiles one XLA program per shape.
        return self._jax.numpy.asarray(np.asarray(value, dtype=np.dtype(dtype)))

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x)

    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jax.grad(f, argnums=argnums, has_aux=has_aux)

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jax.value_and_grad(f, argnums=argnums, has_aux=has_aux)

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        return self._jax.vjp(f, *primals, has_aux=has_aux)

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        return self._jax.jvp(f, primals, tangents, has_aux=has_aux)

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jax.jacrev(f, argnums=argnums, has_aux=has_aux)

    def jacfwd(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jax.jacfwd(f, argnums=argnums, has_aux=has_aux)

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        return self._jax.hessian(f, argnums=argnums, has_aux=has_aux)

    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        return self._jax.vmap(f, in_axes=in_dims, out_axes=out_dims)

    def scan(self, f: Fn, init: Any, xs: Any) -> tuple[Any, Any]:
        return self._jax.lax.scan(f, init, xs)

    def cond(self, pred: Any, true_fn: Fn, false_fn: Fn, operands: tuple[Any, ...]) -> Any:
        return self._jax.lax.cond(pred, true_fn, false_fn, *operands)

    def jit(self, f: Fn) -> Fn:
        return self._jax.jit(f)
