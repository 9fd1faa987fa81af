"""The document's values as the sandbox side needs them: differentiable leaves of a pytree, as float64 NumPy.

Why a walker of its own and not ``backends.pytree``: this runs in the document's process, on torch tensors, jax
arrays, named tuples and floats as documents write them, and it must rebuild the same kind of container with new
leaves in the document's own library (a float64 torch tensor on the tensor's device) so that the function can be
evaluated at the host's points.  ``backends.pytree`` holds the battery's minimal trees of NumPy arrays.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np


def torch_module() -> Any:
    return sys.modules.get("torch")


def jax_module() -> Any:
    return sys.modules.get("jax")


def mlx_module() -> Any:
    return sys.modules.get("mlx.core")


def _is_mlx(x: Any) -> bool:
    mx = mlx_module()
    return mx is not None and isinstance(x, mx.array)


def is_leaf(x: Any) -> bool:
    """A floating-point array or a Python float: what a transform differentiates."""
    t, j = torch_module(), jax_module()
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return True
    if t is not None and isinstance(x, t.Tensor):
        return x.is_floating_point() or x.is_complex()
    if j is not None and isinstance(x, j.Array):
        return np.issubdtype(x.dtype, np.inexact)
    if isinstance(x, np.ndarray):
        return np.issubdtype(x.dtype, np.inexact)
    if _is_mlx(x):
        mx = mlx_module()
        return mx.issubdtype(x.dtype, mx.inexact)
    return False


def flatten(tree: Any) -> tuple[list[Any], Callable[[list[Any]], Any]]:
    """Differentiable leaves in a fixed order (dict keys sorted), and a function rebuilding the tree from new ones."""
    if is_leaf(tree):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [flatten(x) for x in tree]
        sizes = [len(p[0]) for p in parts]
        kind = type(tree)

        def build(leaves: list[Any]) -> Any:
            out, i = [], 0
            for (_, rebuild), n in zip(parts, sizes):
                out.append(rebuild(leaves[i:i + n]))
                i += n
            if kind in (tuple, list):
                return kind(out)
            return kind(*out) if hasattr(kind, "_fields") else kind(out)

        return [leaf for p in parts for leaf in p[0]], build
    if isinstance(tree, dict):
        keys = sorted(tree, key=repr)
        parts = [flatten(tree[k]) for k in keys]
        sizes = [len(p[0]) for p in parts]

        def build_dict(leaves: list[Any]) -> Any:
            out, i = dict(tree), 0
            for k, (_, rebuild), n in zip(keys, parts, sizes):
                out[k] = rebuild(leaves[i:i + n])
                i += n
            return out

        return [leaf for p in parts for leaf in p[0]], build_dict
    registered = _jax_node(tree)
    if registered is not None:
        return registered
    return [], lambda leaves: tree


def _jax_node(tree: Any) -> tuple[list[Any], Callable[[list[Any]], Any]] | None:
    """A container JAX knows and this walker does not (a registered dataclass, a flax or equinox module): its
    children by ``jax.tree_util``, each walked here, rebuilt by JAX."""
    j = jax_module()
    if j is None or tree is None or isinstance(tree, (str, bytes, int, complex)):
        return None
    try:
        children, treedef = j.tree_util.tree_flatten(tree, is_leaf=lambda x: x is not tree and not _is_node(x))
    except Exception:
        return None
    if treedef.num_leaves == 1 and children and children[0] is tree:
        return None  # a leaf to JAX as well
    parts = [flatten(c) for c in children]
    sizes = [len(p[0]) for p in parts]

    def build(leaves: list[Any]) -> Any:
        out, i = [], 0
        for (_, rebuild), n in zip(parts, sizes):
            out.append(rebuild(leaves[i:i + n]))
            i += n
        return j.tree_util.tree_unflatten(treedef, out)

    return [leaf for p in parts for leaf in p[0]], build


def _is_node(x: Any) -> bool:
    """Whether JAX would open ``x`` further (tuples, lists, dicts, registered classes)."""
    j = jax_module()
    try:
        return j is not None and j.tree_util.treedef_is_leaf(j.tree_util.tree_structure(x)) is False
    except Exception:
        return False


def dtype_name(leaf: Any) -> str:
    """``float64`` or ``float32``: the row of the host's tolerance table a result is judged by."""
    name = str(getattr(leaf, "dtype", "float64" if isinstance(leaf, float) else "float32"))
    return "float64" if "float64" in name or "double" in name else "float32"


def to_numpy(leaf: Any) -> np.ndarray:
    """A leaf's values in float64 (complex values are not checked: the host's checks are real)."""
    t = torch_module()
    if t is not None and isinstance(leaf, t.Tensor):
        if leaf.is_complex():
            raise TypeError("complex values are not checked")
        return leaf.detach().cpu().to(t.float64).numpy().copy()
    if _is_mlx(leaf):
        mx = mlx_module()
        if mx.issubdtype(leaf.dtype, mx.complexfloating):
            raise TypeError("complex values are not checked")
        return np.array(leaf.astype(mx.float64) if leaf.dtype != mx.float64 else leaf, dtype=np.float64)
    arr = np.asarray(leaf)
    if np.iscomplexobj(arr):
        raise TypeError("complex values are not checked")
    return arr.astype(np.float64)


def flat(tree: Any) -> np.ndarray:
    """All differentiable leaves of ``tree``, raveled and joined."""
    leaves = flatten(tree)[0]
    return np.concatenate([to_numpy(x).ravel() for x in leaves]) if leaves else np.zeros(0)


def like(template: Any, values: np.ndarray, wide: bool) -> Any:
    """A leaf of the template's library holding ``values`` (float64 when ``wide``, else the template's dtype)."""
    t, j = torch_module(), jax_module()
    if isinstance(template, float):
        return float(values.reshape(()))
    if t is not None and isinstance(template, t.Tensor):
        dtype = t.float64 if wide else template.dtype
        return t.as_tensor(values.reshape(template.shape), dtype=dtype, device=template.device)
    if j is not None and isinstance(template, j.Array):
        import jax.numpy as jnp

        return jnp.asarray(values.reshape(template.shape), dtype=jnp.float64 if wide else template.dtype)
    if _is_mlx(template):
        mx = mlx_module()
        return mx.array(values.reshape(template.shape), dtype=mx.float64 if wide else template.dtype)
    return values.reshape(np.shape(template)).astype(np.float64 if wide else np.asarray(template).dtype)


def x64(wide: bool = True) -> Any:
    """JAX's float64 switched on while a wide evaluation runs (a no-op for other libraries or narrow ones)."""
    j = jax_module()
    if j is None or not wide:
        return contextlib.nullcontext()
    return j.enable_x64(True)


def traced(leaves: list[Any]) -> str | None:
    """Why a call has no numbers to check (its inputs are JAX tracers), or None."""
    j = jax_module()
    if j is not None:
        from jax.core import Tracer

        if any(isinstance(x, Tracer) for x in leaves):
            return "called on traced values (inside jit or another JAX transform): there are no numbers to check"
    return None


def map_leaves(tree: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to every array leaf (anything with a shape), containers kept."""
    if isinstance(tree, (tuple, list)) and not hasattr(tree, "shape"):
        out = [map_leaves(t, fn) for t in tree]
        return type(tree)(*out) if hasattr(type(tree), "_fields") else type(tree)(out)
    if isinstance(tree, dict):
        return {k: map_leaves(v, fn) for k, v in tree.items()}
    return fn(tree) if hasattr(tree, "shape") else tree


def flatten_numpy(tree: Any) -> list[np.ndarray]:
    """Leaves of a stacked tree in :func:`flatten`'s order (dict keys sorted), float leaves only."""
    if isinstance(tree, np.ndarray):
        return [tree] if np.issubdtype(tree.dtype, np.inexact) else []
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in flatten_numpy(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree, key=repr) for leaf in flatten_numpy(tree[k])]
    return [np.asarray(to_numpy(tree))] if is_leaf(tree) else []
