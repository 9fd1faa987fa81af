"""What the two torch backends share: torch's tensors, its array-API namespace, and the conversions.

``torch_func`` (``torch.func``) and ``torch_autograd`` (``torch.autograd``) are two APIs over the same
tensors; only their transforms differ, so the array plumbing lives here once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Array, Backend


class TorchTensors(Backend):
    """torch tensors on the CPU, converted from and to NumPy; subclasses add the transforms."""

    library = "torch"

    def __init__(self) -> None:
        import torch

        self._torch = torch

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
        return self._torch.as_tensor(np.asarray(value), dtype=getattr(self._torch, dtype), device=self.device)

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)
