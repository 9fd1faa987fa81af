"""Constants inside the battery's functions (mixing matrices, weights, masks), made in the dtype of their input.

One helper for the function table (``functions.py``) and the catalog (``catalog.py``), because how a constant is
made shows in a library's time: handing JAX a float64 array to convert to float32 compiles a conversion program
per shape in eager mode, where a cast on the host costs nothing and rounds the same.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


def const(xp: Any, value: Any, like: Any) -> Any:
    """A constant in ``like``'s dtype (complex inside the reference's complex step), from a writable copy:
    the cached constants are read-only, and torch warns on sharing memory with a read-only array.

    Cast on the host where the dtype has a NumPy name (``float32``, ``torch.float32``, ``mlx.core.float32``):
    handing a library a float64 array to convert makes JAX compile a conversion per shape in eager mode.  The
    rounding is the same (both round to nearest even)."""
    return xp.asarray(np.array(value, dtype=_host_dtype(like.dtype)), dtype=like.dtype)


@functools.cache
def _host_dtype(dtype: Any) -> np.dtype | None:
    """The NumPy dtype of a library's dtype object, by its name; None (no host cast) for one NumPy lacks."""
    try:
        return np.dtype(dtype)
    except (TypeError, ValueError):
        pass
    try:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])
    except (TypeError, ValueError):
        return None
