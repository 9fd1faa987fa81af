"""What the two torch backends share: torch's tensors, its array-API namespace, the conversions, the device.

``torch_func`` (``torch.func``) and ``torch_autograd`` (``torch.autograd``) are two APIs over the same
tensors; only their transforms differ, so the array plumbing lives here once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Array, Backend, DeviceUnavailable, strided_copy

MASKABLE = ("sum", "prod", "mean", "std", "var", "max", "min")
"""The reductions the function table also calls with NumPy's and JAX's ``where=`` mask (not the standard's)."""

LACKS_KEYWORDS = {
    f"{r}(where=)": f"torch.{r} takes no where= mask (array-api-compat passes the keyword on; torch's masked "
    "reductions are the torch.masked prototype, another API)" for r in MASKABLE
}
"""What torch's array namespace rejects of the function table's keywords (``Conventions.lacks_keywords``)."""


COMPLEX_DOC = "https://pytorch.org/docs/stable/notes/autograd.html#complex-autograd-doc"
"""torch's complex autograd note: grad is dL/d(conj z) (times 2), the ascent direction; vjp the adjoint."""


def _along(name: str) -> Any:
    """``torch.<name>(x, dim=axis)``: torch names the axis ``dim``."""

    def call(x: Any, axis: int) -> Any:
        import torch

        return getattr(torch, name)(x, dim=axis)

    call.__name__ = call.__qualname__ = f"torch.{name}"
    return call


def _topk(x: Any, k: int) -> Any:
    """``torch.topk(x, k)`` returns ``(values, indices)``, sorted (descending) by default: the values."""
    import torch

    return torch.topk(x, k).values


EVERYDAY = {
    "logsumexp": _along("logsumexp"), "softmax": _along("softmax"), "log_softmax": _along("log_softmax"),
    "sigmoid": "torch.sigmoid", "frexp": "torch.frexp", "ldexp": "torch.ldexp", "top_k": _topk,
}
"""torch's names of the everyday functions (``Backend.everyday``), for both torch backends: the main namespace's
(torch.special and torch.nn.functional hold the same operations under other names)."""


class TorchTensors(Backend):
    """torch tensors on one device (the CPU unless ``--device`` says otherwise); subclasses add the transforms."""

    library = "torch"
    everyday = EVERYDAY

    def __init__(self) -> None:
        import torch

        self._torch = torch
        self._device = torch.device("cpu")

    @property
    def version(self) -> str:
        return self._torch.__version__

    @property
    def device(self) -> str:
        """``cpu``, or ``cuda:0 (NVIDIA H200)``: the index and the model, so a report column says which GPU."""
        dev = self._device
        if dev.type == "cuda":
            index = dev.index if dev.index is not None else self._torch.cuda.current_device()
            return f"cuda:{index} ({self._torch.cuda.get_device_name(index)})"
        return str(dev)

    def available_devices(self) -> list[str]:
        """The devices this torch build can place tensors on here, as ``--device`` names them."""
        torch = self._torch
        names = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        if torch.backends.mps.is_available():
            names.append("mps")
        return names

    def use_device(self, name: str) -> None:
        """Allocate on ``name`` to prove it exists, then create every tensor there.

        ``asarray`` places the battery's inputs; ``torch.set_default_device`` places the tensors the
        catalog's functions create themselves (``xp.eye``, constants), which would otherwise stay on the
        CPU and fail to mix with CUDA inputs.  It is left alone for the CPU, torch's default already, so
        ``--device cpu`` runs exactly what no option runs.
        """
        torch = self._torch
        try:
            device = torch.device(name)
            torch.empty(0, device=device)
        except (RuntimeError, AssertionError, NotImplementedError) as exc:
            # CPU-only builds raise AssertionError ("Torch not compiled with CUDA enabled"), an unknown
            # name RuntimeError, a backend without kernels NotImplementedError.
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise DeviceUnavailable(self.name, name, self.available_devices(), why) from None
        self._device = device
        if device.type != "cpu":
            torch.set_default_device(device)

    @property
    def xp(self) -> Any:
        import array_api_compat.torch

        return array_api_compat.torch

    def asarray(self, value: Any, dtype: str) -> Array:
        return self._torch.as_tensor(np.asarray(value), dtype=getattr(self._torch, dtype), device=self._device)

    def as_strided_view(self, value: Any, dtype: str) -> Array:
        view = strided_copy(np.asarray(value, dtype=np.dtype(dtype)), lambda buf: self.asarray(buf, dtype))[..., ::2]
        assert not view.is_contiguous()
        return view

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._torch.Tensor):
            # resolve_conj: a complex result may be a lazy conjugate view, which numpy() refuses.
            return x.detach().resolve_conj().resolve_neg().cpu().numpy()
        return np.asarray(x)
