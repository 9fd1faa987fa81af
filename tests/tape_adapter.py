"""A tape adapter (backends/tape.py) over torch.autograd, written as a third party would: two methods and
declarations.  ``BROKEN`` scales every gradient by 1.01, the planted fault the tape tests must catch."""

import array_api_compat.torch as xp_torch
import numpy as np
import torch

from backends.base import Conventions
from backends.tape import TapeBackend
from backends.torch_tensors import LACKS_KEYWORDS

BROKEN = False
NOT_OFFERED = ("grad_and_value", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond", "jit")


class TorchTape(TapeBackend):
    name, library = "torch_tape", "torch"
    conventions = Conventions(unsupported={t: f"the tape adapter builds no {t}" for t in NOT_OFFERED},
                              lacks_keywords=LACKS_KEYWORDS)
    xp = xp_torch

    def asarray(self, value, dtype):
        return torch.as_tensor(np.asarray(value), dtype=getattr(torch, dtype))

    def to_numpy(self, x):
        return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)

    def watch(self, leaf):
        return leaf.detach().clone().requires_grad_()

    def gradients(self, outputs, cotangents, watched):
        grads = torch.autograd.grad(outputs, watched, cotangents, allow_unused=True)
        return [g * 1.01 if BROKEN and g is not None else g for g in grads]
