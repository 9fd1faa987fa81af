"""The NumPy reference's numerical engine: a function seen as a map of flat float64 vectors, differentiated by
complex step or Richardson-extrapolated central differences (``backends.differences``).

Split from the adapter (``backends.numpy_reference``, which maps the Backend interface onto this and documents
the methods and their error bounds) so that each holds one job: here the numbers, there the transforms' shapes,
argnums, aux outputs and pytrees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backends import differences, pytree
from backends.base import Unsupported

Fn = Callable[..., Any]

CS_STEP = 1e-30
FD_STEPS: tuple[float, ...] = tuple(2.0**-k for k in range(6, 11))
"""Central-difference steps, largest first; each halves the previous one."""

Argnums = int | tuple[int, ...]


def _is_float_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "f"


def _upcast(tree: Any) -> Any:
    """Float leaves to float64, so that every evaluation happens in double precision."""
    return pytree.tree_map(lambda x: np.asarray(x, np.float64) if _is_float_array(x) else x, tree)


def _cast(x: Any, dtype: np.dtype | None) -> Any:
    """A real float result in ``dtype``; complex results (inside an outer complex step) stay complex."""
    if isinstance(x, np.generic):
        x = np.asarray(x)
    if dtype is None or not _is_float_array(x):
        return x
    return x.astype(dtype, copy=False)


def _cast_tree(tree: Any, dtype: np.dtype | None) -> Any:
    return pytree.tree_map(lambda x: _cast(x, dtype), tree)


def _derived(wrapper: Fn, f: Fn, transform: str, order: int) -> Fn:
    """Mark a wrapper as analytic when ``f`` is, and as ``order`` more derivatives deep."""
    wrapper.analytic = bool(getattr(f, "analytic", False))  # type: ignore[attr-defined]
    wrapper.derivative_order = getattr(f, "derivative_order", 0) + order  # type: ignore[attr-defined]
    name = getattr(f, "__name__", "f")
    wrapper.__name__ = wrapper.__qualname__ = f"{transform}({name})"
    return wrapper


def _argnums_tuple(argnums: Argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums {argnums!r} out of range for {nargs} positional arguments")
    return tuple(a % nargs for a in nums)


def _split_aux(out: Any, transform: str) -> tuple[Any, Any]:
    if not isinstance(out, tuple) or len(out) != 2:
        got = f"a tuple of length {len(out)}" if isinstance(out, tuple) else type(out).__name__
        raise TypeError(f"{transform}(has_aux=True) requires f to return a tuple (output, aux); got {got}")
    return out


class _Flat:
    """``f`` seen as a map from one flat vector (the differentiated leaves) to one flat vector (the output leaves).

    Construction evaluates f once at the base point (float64, or complex128 when
    an outer complex step is under way) and checks the inputs.
    """

    def __init__(self, f: Fn, args: Sequence[Any], argnums: Argnums, has_aux: bool, transform: str) -> None:
        self.f, self.has_aux, self.transform = f, has_aux, transform
        self.argnums = _argnums_tuple(argnums, len(args))
        self.args = [_upcast(a) for a in args]
        self.in_defs: list[pytree.TreeDef] = []
        self.in_shapes: list[list[tuple[int, ...]]] = []
        self.in_dtypes: list[list[np.dtype]] = []
        pieces = []
        for a in self.argnums:
            leaves, treedef = pytree.flatten(args[a])
            arrays = [np.asarray(leaf) for leaf in leaves]
            for arr in arrays:
                if arr.dtype.kind not in "fc":
                    raise TypeError(
                        f"{transform} requires floating-point inputs; argument {a} has a leaf of dtype {arr.dtype}"
                    )
            self.in_defs.append(treedef)
            self.in_shapes.append([arr.shape for arr in arrays])
            self.in_dtypes.append([arr.dtype for arr in arrays])
            pieces.extend(arr.ravel() for arr in arrays)
        self.in_slices: list[list[slice]] = []
        start = 0
        for shapes in self.in_shapes:
            self.in_slices.append([])
            for shape in shapes:
                self.in_slices[-1].append(slice(start, start + math.prod(shape)))
                start += math.prod(shape)
        self.is_complex = any(p.dtype.kind == "c" for p in pieces)
        self.x0 = np.concatenate([*pieces, np.zeros(0)]).astype(np.complex128 if self.is_complex else np.float64)
        self.analytic = bool(getattr(f, "analytic", False))
        if self.is_complex and not self.analytic:
            raise ValueError(
                f"{transform} got complex inputs for a function not marked analytic: an enclosing function "
                "claims analytic=True but is not holomorphic"
            )
        real = [dt for dts in self.in_dtypes for dt in dts if dt.kind == "f"]
        self.target: np.dtype | None = None if self.is_complex else np.result_type(*real)
        out, self.aux = self._evaluate(self.x0)
        leaves, self.out_def = pytree.flatten(out)
        self.out_leaves = [np.asarray(leaf) for leaf in leaves]

    def args_at(self, x: np.ndarray) -> list[Any]:
        args = list(self.args)
        for a, treedef, shapes, slices in zip(self.argnums, self.in_defs, self.in_shapes, self.in_slices, strict=True):
            args[a] = pytree.unflatten(treedef, [x[s].reshape(shape) for s, shape in zip(slices, shapes, strict=True)])
        return args

    def _evaluate(self, x: np.ndarray) -> tuple[Any, Any]:
        out = self.f(*self.args_at(x))
        return _split_aux(out, self.transform) if self.has_aux else (out, None)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out, _ = self._evaluate(x)
        leaves, treedef = pytree.flatten(out)
        if treedef != self.out_def:
            raise ValueError(f"{self.transform}: f's output structure changed under perturbation: {treedef!r}")
        return np.concatenate([*(np.asarray(leaf).ravel() for leaf in leaves), np.zeros(0)])

    def _complex_step_ok(self) -> bool:
        return self.analytic and not self.is_complex

    def jacobian(self) -> np.ndarray:
        """The (outputs x inputs) Jacobian, one column per input coordinate."""
        columns = []
        for k in range(self.x0.size):
            e = np.zeros(self.x0.size)
            e[k] = 1.0
            columns.append(self.directional(e))
        m = sum(leaf.size for leaf in self.out_leaves)
        return np.stack(columns, axis=1) if columns else np.zeros((m, 0))

    def second_differences(self) -> np.ndarray:
        """The (outputs x inputs x inputs) second derivatives of a non-analytic f (``hessian_richardson``)."""
        n = self.x0.size
        m = sum(leaf.size for leaf in self.out_leaves)
        hess = np.zeros((m, n, n))
        center = self(self.x0)
        eye = np.eye(n)
        for i in range(n):
            for j in range(i, n):
                plus, minus = eye[i] + eye[j], eye[i] - eye[j]
                estimates = []
                for h in FD_STEPS:
                    across = 2.0 * center if i == j else self(self.x0 + h * minus) + self(self.x0 - h * minus)
                    estimates.append((self(self.x0 + h * plus) - across + self(self.x0 - h * plus)) / (4.0 * h * h))
                hess[:, i, j] = hess[:, j, i] = differences.richardson(estimates)
        return hess

    def directional(self, t: np.ndarray) -> np.ndarray:
        """The derivative along ``t``: complex step for analytic f at a real point, Richardson otherwise."""
        scale = float(np.max(np.abs(t), initial=0.0))
        if scale == 0.0:
            m = sum(leaf.size for leaf in self.out_leaves)
            return np.zeros(m, dtype=self.x0.dtype)
        t = t / scale
        if self._complex_step_ok():
            h = CS_STEP * max(float(np.max(np.abs(self.x0) * (t != 0), initial=0.0)), 1e-100)
            return np.imag(self(self.x0 + 1j * h * t)) / h * scale
        estimates = [(self(self.x0 + h * t) - self(self.x0 - h * t)) / (2.0 * h) for h in FD_STEPS]
        return differences.richardson(estimates) * scale

    def split_inputs(self, vec: np.ndarray) -> list[Any]:
        """A flat input-sized vector as one pytree per argnum, each leaf in its input's dtype."""
        trees = []
        for treedef, shapes, dtypes, slices in zip(
            self.in_defs, self.in_shapes, self.in_dtypes, self.in_slices, strict=True
        ):
            leaves = [_cast(vec[s].reshape(shape), dt) for s, shape, dt in zip(slices, shapes, dtypes, strict=True)]
            trees.append(pytree.unflatten(treedef, leaves))
        return trees

    def outputs(self) -> Any:
        return _cast_tree(pytree.unflatten(self.out_def, self.out_leaves), self.target)

    def aux_out(self) -> Any:
        return _cast_tree(self.aux, self.target)


def _hessian_rows(flat: _Flat) -> np.ndarray:
    """``flat``'s second derivatives as the Jacobian of its jacrev, row for row.

    jacrev's output flattens output leaf by output leaf, then input leaf by input leaf, each block
    ``out.shape + in.shape`` in row-major order: the rows of ``d jacrev / dx`` in that order.
    """
    hess = flat.second_differences()
    n = flat.x0.size
    blocks, start = [], 0
    for leaf in flat.out_leaves:
        outs = hess[start : start + leaf.size]
        start += leaf.size
        blocks += [outs[:, s, :].reshape(-1, n) for slices in flat.in_slices for s in slices]
    return np.concatenate([*blocks, np.zeros((0, n))])


def _stack(results: list[Any], axes: Any, what: str) -> Any:
    """Stack per-iteration outputs leafwise along ``axes`` (an int or a pytree prefix of the output)."""
    flat = [pytree.flatten(r) for r in results]
    treedef = flat[0][1]
    for _, d in flat[1:]:
        if d != treedef:
            raise ValueError(f"{what}: the function returned different structures for different elements")
    first = pytree.unflatten(treedef, flat[0][0])
    leaf_axes = pytree.prefix_leaves(axes, first, f"{what} out_dims")
    stacked = []
    for i, axis in enumerate(leaf_axes):
        parts = [np.asarray(leaves[i]) for leaves, _ in flat]
        if axis is None:
            raise Unsupported("the reference's vmap does not support out_dims=None")
        ndim = parts[0].ndim + 1
        if not -ndim <= axis < ndim:
            raise ValueError(f"{what}: out_dims {axis} out of range for an output of rank {ndim - 1}")
        stacked.append(np.stack(parts, axis=axis % ndim))
    return pytree.unflatten(treedef, stacked)
