"""fakegrad: a stand-in third-party library, the one the README's adapter example gates.

It offers two transforms, ``grad`` and ``jvp``, with its own API (no ``has_aux``, no other
transform); the numbers come from the NumPy reference's differentiation, since what is under
test here is the path from the README to a gate, not a new autodiff engine.  ``BROKEN`` lets a
test plant a 1 % error in both transforms, to show the same adapter turning the gate red.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backends.numpy_reference import NumpyReference

__version__ = "0.1.0"
BROKEN = False
_ENGINE = NumpyReference()


def _planted(tree: Any) -> Any:
    if not BROKEN:
        return tree
    if isinstance(tree, dict):
        return {k: _planted(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(_planted(v) for v in tree)
    return np.asarray(tree) * 1.01 + 1e-3


def grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The gradient of scalar ``f`` w.r.t. ``argnums``; integer inputs raise TypeError ("need floating")."""
    inner = _ENGINE.grad(f, argnums=argnums)

    return lambda *args: _planted(inner(*args))


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J v)``; primals and tangents are tuples (a bare array raises TypeError)."""
    out, tangent = _ENGINE.jvp(f, primals, tangents)
    return out, _planted(tangent)
