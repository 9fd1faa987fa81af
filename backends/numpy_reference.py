"""The NumPy reference: every transform implemented by its definition (the numbers: ``backends.reference_engine``).

This backend is the oracle the battery compares torch.func and JAX with, so it
shares no code with either (it never imports them) and uses no automatic
differentiation at all:

* ``vmap`` is a Python loop over the batch axis followed by ``np.stack``;
  ``scan`` is a Python loop; ``cond`` is a Python ``if``.
* Derivatives are numerical, always computed in float64/complex128 whatever
  the input dtype; results are cast back to the input's float dtype at the end
  (a float32 input gives float32 outputs).

Derivative methods, and the key of :data:`ERROR_BOUNDS` each one answers to
(:meth:`NumpyReference.method_for` says which applies):

``complex_step``
    For a function carrying ``analytic = True`` (``conformance.battery.catalog.Entry.bind``
    sets it), first derivatives are ``Im f(x + i h e_k) / h`` with
    ``h = 1e-30 * |x_k|`` (never below 1e-130).  No subtraction happens, so the
    result is exact to rounding; the error is that of evaluating f in complex
    arithmetic.  ``jvp`` steps along the tangent instead of ``e_k`` (and so
    does its difference in the other methods).
``richardson``
    Everything else (``abs``, ``max``, comparisons, Python ``if`` and any
    function not marked analytic) gets central differences with absolute steps
    ``2**-6 ... 2**-10`` extrapolated by a Richardson table (the error series of
    a central difference is in ``h**2``).  Powers of two keep ``x +- h`` and the
    step ratios exact.  The largest step, 2**-6 ~ 0.0156, stays well inside the
    0.05 margin the battery keeps from kinks and branch switches (still inside
    when two such steps are nested), so every stencil sees one smooth piece.
    Inputs are assumed to be of modest magnitude (|x| up to ~1e3): the steps
    are absolute, which is what the kink margins are.
``hessian_complex_step``
    Second derivatives of an analytic function: the Richardson difference of
    the complex-step gradient.  It arises on its own by composition: a
    derivative of an analytic function is analytic, so the outer transform
    complex-steps the inner one, and the inner one, seeing a complex input,
    differences with real steps in complex arithmetic (valid for holomorphic
    functions).  ``Im`` and the difference stencil are both linear, so this is
    the same sum of the same evaluations as differencing the CS gradient.
``hessian_richardson``
    Second derivatives of a non-analytic function: central second differences
    ``f(x + h(e_i + e_j)) - f(x + h(e_i - e_j)) - f(x - h(e_i - e_j)) + f(x - h(e_i + e_j))``
    over ``4 h**2`` (for ``i = j`` the three-point difference with step ``2h``),
    extrapolated by the same Richardson table (their error series is in ``h**2``
    too).  Rounding noise is divided by ``h**2``, as in differences of differences,
    so this is the least accurate method; it takes about ``2 n**2`` evaluations
    per step instead of the ``4 n**2`` per step squared of differencing the
    Richardson gradient (810 against 8,281 for a 3x3 input).
``evaluation``
    Plain function values (and the outputs of vmap/scan/cond): no extra error.

Wrappers built here carry two attributes that transforms and
:meth:`NumpyReference.method_for` read: ``analytic`` (copied from the wrapped
function: derivatives, batching and vjp functions of a holomorphic function are
holomorphic) and ``derivative_order`` (how many derivatives the wrapper's
values already are).  A hand-written function that calls reference transforms
carries neither, so it is differenced as non-analytic and ``method_for``
cannot see the inner order; set the attributes on it where that matters.

The bounds are norm-wise relative errors, ``max|err| / max|exact|``, with the
same number as an absolute floor where the exact values are near 0.  They are
what ``tests/test_reference_accuracy.py`` proves, with a tenfold margin, on
closed forms with |x| up to 6 (positive inputs down to 0.1), and they rest on
two assumptions that the catalog's domains satisfy with room to spare:

* f is smooth (holomorphic, for the complex-step methods) within about 0.1 of
  the point: Richardson's truncation error grows like ``(2**-6 / r)**10`` for a
  radius of convergence ``r``;
* what is differenced is not much larger than the derivative sought.  A
  Richardson difference leaves rounding noise of about ``2e-13 * |f|``, a
  nested one about ``2e-10 * |f|``, so "richardson" holds while
  ``|f| < ~500 * max(1, |f'|)``, "hessian_complex_step" (which differences f')
  while ``|f'| < ~500 * max(1, |f''|)`` and "hessian_richardson" while
  ``|f| < ~5000 * max(1, |f''|)``.  Complex step has no such limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backends import pytree
from backends.base import Backend, ComplexConvention, Conventions, ErrorConvention, Fn, Unsupported, strided_copy
from backends.reference_engine import Argnums, _cast, _cast_tree, _derived, _Flat, _hessian_rows, _stack

ERROR_BOUNDS: dict[str, float] = {
    "complex_step": 1e-13,
    "richardson": 1e-10,
    "hessian_complex_step": 1e-10,
    "hessian_richardson": 1e-6,
    "evaluation": 0.0,
}
"""Documented worst-case norm-wise relative error (and absolute floor) of each method."""

def _shift(x: Any, axis: int) -> Any:
    """The max shift of a stable logsumexp: of the real part, a constant under complex step (which stays exact)."""
    return np.max(np.real(x), axis=axis, keepdims=True)


def _logsumexp(x: Any, axis: int) -> Any:
    m = _shift(x, axis)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis)


def _softmax(x: Any, axis: int) -> Any:
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


EVERYDAY: dict[str, Callable[..., Any]] = {
    "logsumexp": _logsumexp, "softmax": _softmax, "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "log_softmax": lambda x, axis: x - np.expand_dims(_logsumexp(x, axis), axis), "softmax_precise": _softmax,
    "frexp": np.frexp, "ldexp": np.ldexp, "top_k": lambda x, k: np.flip(np.sort(x, axis=-1), axis=-1)[..., :k],
    "matmul_highest": np.matmul,
}
"""The everyday functions (``conformance.battery.everyday``) by their definitions in NumPy, sharing no code with a library."""


class NumpyReference(Backend):
    """The oracle: loops, ``if`` and numerical derivatives on NumPy arrays (see the module docstring)."""

    name = "numpy"
    library = "numpy"
    is_reference = True
    everyday = EVERYDAY
    conventions = Conventions(
        grad_and_value_api="reference grad_and_value",
        grad_and_value_layout="(grad, value)",
        grad_and_value_aux_layout="(grad, (value, aux))",
        grad_aux_layout="(grad, aux)",
        batch_keyword=("in_dims", "out_dims"),
        has_aux=frozenset({"grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd"}),
        jvp_primals="tuple",
        scan_api="python loop",
        cond_api="python if",
        complex=ComplexConvention(dtypes=(), note="the reference's transforms take real inputs; its Wirtinger "
                                  "derivatives (backends/reference_complex.py) follow each library's declaration"),
        errors={
            "grad_int_input": ErrorConvention(
                "TypeError", "floating", doc="backends/numpy_reference.py: derivatives need floating-point inputs"
            ),
            "aux_not_tuple": ErrorConvention(
                "TypeError", "tuple", doc="backends/numpy_reference.py: has_aux=True needs f to return (output, aux)"
            ),
            "jvp_primals_not_tuple": ErrorConvention(
                "TypeError", "tuples", doc="backends/numpy_reference.py: jvp takes primals and tangents as tuples"
            ),
        },
        accepts={
            "vmap_data_dependent_if": "the reference's vmap is a Python loop, so an if on a value runs per sample",
            "jvp_tangent_dict_order": "backends/pytree.py orders dict children by sorted key, as jax does",
        },
    )

    # -- environment -------------------------------------------------------------
    @property
    def version(self) -> str:
        return np.__version__

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def xp(self) -> Any:
        import array_api_compat.numpy

        return array_api_compat.numpy

    def asarray(self, value: np.ndarray | float | int, dtype: str) -> np.ndarray:
        return np.array(value, dtype=np.dtype(dtype))

    def as_strided_view(self, value: Any, dtype: str) -> Any:
        view = strided_copy(np.asarray(value, dtype=np.dtype(dtype)), lambda buf: buf)[..., ::2]
        assert not view.flags.c_contiguous
        return view

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    @staticmethod
    def method_for(f: Fn, order: int) -> str:
        """The :data:`ERROR_BOUNDS` key for the ``order``-th derivative of ``f`` (0: plain values).

        Wrappers built by this backend count as the derivatives they already are,
        so ``method_for(ref.grad(f), 1)`` is the Hessian method.
        """
        total = order + getattr(f, "derivative_order", 0)
        analytic = bool(getattr(f, "analytic", False))
        if total == 0:
            return "evaluation"
        if total == 1:
            return "complex_step" if analytic else "richardson"
        if total == 2:
            return "hessian_complex_step" if analytic else "hessian_richardson"
        raise ValueError(f"the reference documents no error bound for derivatives of order {total}")

    # -- derivatives -------------------------------------------------------------
    def _grad_parts(self, f: Fn, args: Sequence[Any], argnums: Argnums, has_aux: bool, transform: str) -> tuple:
        flat = _Flat(f, args, argnums, has_aux, transform)
        out = flat.out_leaves[0] if flat.out_def == pytree.LEAF else None
        if out is None or out.shape != ():
            shape = pytree.structure_repr(pytree.unflatten(flat.out_def, flat.out_leaves))
            raise TypeError(f"{transform} requires f to return a scalar (0-d array); got {shape}")
        grads = flat.split_inputs(flat.jacobian()[0])
        grad = grads[0] if isinstance(argnums, int) else tuple(grads)
        return grad, flat.outputs(), flat.aux_out()

    def grad(self, f: Fn, argnums: Argnums = 0, has_aux: bool = False) -> Fn:
        def grad_fn(*args: Any) -> Any:
            grad, _, aux = self._grad_parts(f, args, argnums, has_aux, "grad")
            return (grad, aux) if has_aux else grad

        return _derived(grad_fn, f, "grad", 1)

    def grad_and_value(self, f: Fn, argnums: Argnums = 0, has_aux: bool = False) -> Fn:
        def grad_and_value_fn(*args: Any) -> Any:
            grad, value, aux = self._grad_parts(f, args, argnums, has_aux, "grad_and_value")
            return (grad, (value, aux)) if has_aux else (grad, value)

        # The value part is an evaluation, the grad part a first derivative: the wrapper counts as the latter.
        return _derived(grad_and_value_fn, f, "grad_and_value", 1)

    def vjp(self, f: Fn, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
        flat = _Flat(f, primals, tuple(range(len(primals))), has_aux, "vjp")
        jac = flat.jacobian()

        def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
            leaves, treedef = pytree.flatten(cotangent)
            if treedef != flat.out_def:
                raise ValueError(
                    f"vjp: cotangent structure {pytree.structure_repr(cotangent)} does not match the output's "
                    f"{pytree.structure_repr(flat.outputs())}"
                )
            ct = np.concatenate([*(np.asarray(leaf).ravel() for leaf in leaves), np.zeros(0)])
            return tuple(flat.split_inputs(ct.astype(np.result_type(ct, np.float64)) @ jac))

        vjp_fn = _derived(vjp_fn, f, "vjp", 1)
        return (flat.outputs(), vjp_fn, flat.aux_out()) if has_aux else (flat.outputs(), vjp_fn)

    def jvp(self, f: Fn, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> tuple[Any, ...]:
        if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
            raise TypeError("jvp takes primals and tangents as tuples, one entry per positional argument")
        if len(primals) != len(tangents):
            raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
        flat = _Flat(f, primals, tuple(range(len(primals))), has_aux, "jvp")
        t_leaves, t_def = pytree.flatten(tuple(tangents))
        p_def = pytree.flatten(tuple(primals))[1]
        if t_def != p_def:
            raise ValueError(f"jvp: tangents {pytree.structure_repr(tuple(tangents))} do not match the primals")
        t = np.concatenate([*(np.asarray(leaf).ravel() for leaf in t_leaves), np.zeros(0)])
        if t.size != flat.x0.size:
            raise ValueError("jvp: tangent shapes do not match the primal shapes")
        t = t.astype(np.result_type(t, np.float64))
        tangent_out = pytree.unflatten(flat.out_def, self._split_outputs(flat, flat.directional(t)))
        tangent_out = _cast_tree(tangent_out, flat.target)
        return (flat.outputs(), tangent_out, flat.aux_out()) if has_aux else (flat.outputs(), tangent_out)

    @staticmethod
    def _split_outputs(flat: _Flat, vec: np.ndarray) -> list[np.ndarray]:
        parts, start = [], 0
        for leaf in flat.out_leaves:
            parts.append(vec[start : start + leaf.size].reshape(leaf.shape))
            start += leaf.size
        return parts

    def _jacobian(self, f: Fn, argnums: Argnums, has_aux: bool, transform: str,
                  rows_of: Callable[[_Flat], np.ndarray] | None = None) -> Fn:
        """jacrev/jacfwd of ``f``; ``rows_of`` gives the flat Jacobian another way (the Hessian's)."""
        def jac_fn(*args: Any) -> Any:
            flat = _Flat(f, args, argnums, has_aux, transform)
            jac = flat.jacobian() if rows_of is None else rows_of(flat)
            blocks, row = [], 0
            for leaf in flat.out_leaves:
                rows = jac[row : row + leaf.size]
                row += leaf.size
                per_arg = []
                for treedef, shapes, slices in zip(flat.in_defs, flat.in_shapes, flat.in_slices, strict=True):
                    leaves = [
                        _cast(rows[:, s].reshape(leaf.shape + shape), flat.target)
                        for s, shape in zip(slices, shapes, strict=True)
                    ]
                    per_arg.append(pytree.unflatten(treedef, leaves))
                blocks.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
            result = pytree.unflatten(flat.out_def, blocks)
            return (result, flat.aux_out()) if has_aux else result

        return _derived(jac_fn, f, transform, 1)

    def jacrev(self, f: Fn, argnums: Argnums = 0, has_aux: bool = False) -> Fn:
        return self._jacobian(f, argnums, has_aux, "jacrev")

    def jacfwd(self, f: Fn, argnums: Argnums = 0, has_aux: bool = False) -> Fn:
        return self._jacobian(f, argnums, has_aux, "jacfwd")

    def hessian(self, f: Fn, argnums: Argnums = 0) -> Fn:
        """``jacfwd(jacrev(f))`` as in jax, which also gives jax's nesting for pytree inputs.

        For analytic f the outer level complex-steps the inner one, which then differences in complex arithmetic:
        the Richardson difference of the complex-step gradient (see the module docstring).  For any other f the
        rows of that outer Jacobian come from second differences of f itself (``hessian_richardson``), in the same
        nesting.
        """
        if getattr(f, "analytic", False):
            hess = self.jacfwd(self.jacrev(f, argnums), argnums)
        else:
            def second_rows(outer: _Flat) -> np.ndarray:
                return _hessian_rows(_Flat(f, outer.args, argnums, False, "hessian"))

            hess = self._jacobian(self.jacrev(f, argnums), argnums, False, "jacfwd", rows_of=second_rows)
        hess.__name__ = hess.__qualname__ = f"hessian({getattr(f, '__name__', 'f')})"
        return hess

    # -- structure -----------------------------------------------------------------
    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        def batched(*args: Any, **kwargs: Any) -> Any:
            if in_dims is None or isinstance(in_dims, int):
                dims: Sequence[Any] = [in_dims] * len(args)
            elif isinstance(in_dims, (tuple, list)) and len(in_dims) == len(args):
                dims = in_dims
            else:
                raise ValueError(
                    f"vmap: in_dims {in_dims!r} must be an int, None or a tuple with one entry per argument"
                )
            flat_args = [pytree.flatten(a) for a in args]
            axes = [pytree.prefix_leaves(d, a, "vmap in_dims") for d, a in zip(dims, args, strict=True)]
            sizes = set()
            for (leaves, _), arg_axes in zip(flat_args, axes, strict=True):
                for i, (leaf, axis) in enumerate(zip(leaves, arg_axes, strict=True)):
                    if axis is None:
                        continue
                    arr = np.asarray(leaf)
                    if not -arr.ndim <= axis < arr.ndim:
                        raise ValueError(f"vmap: in_dims {axis} out of range for an argument of rank {arr.ndim}")
                    leaves[i] = np.moveaxis(arr, axis, 0)
                    sizes.add(leaves[i].shape[0])
            if not sizes:
                raise ValueError("vmap needs at least one argument with a batch dimension (all in_dims are None)")
            if len(sizes) > 1:
                raise ValueError(f"vmap: inconsistent batch sizes {sorted(sizes)} along the mapped dimensions")
            (size,) = sizes
            if size == 0:
                # No sample to loop over: the output's structure and shapes come from one evaluation on a
                # placeholder sample of ones, and each output leaf is an empty stack along its out_dims axis.
                placeholder = [
                    pytree.unflatten(treedef, [leaf if ax is None else np.ones(np.shape(leaf)[1:], np.asarray(leaf).dtype)
                                               for leaf, ax in zip(leaves, arg_axes, strict=True)])
                    for (leaves, treedef), arg_axes in zip(flat_args, axes, strict=True)
                ]
                with np.errstate(all="ignore"):
                    one = _stack([f(*placeholder, **kwargs)], out_dims, "vmap")
                out_leaves, out_def = pytree.flatten(one)
                out_axes = pytree.prefix_leaves(out_dims, one, "vmap out_dims")
                return pytree.unflatten(out_def, [np.take(np.asarray(leaf), [], axis=ax)
                                                  for leaf, ax in zip(out_leaves, out_axes, strict=True)])
            results = []
            for b in range(size):
                sliced = [
                    pytree.unflatten(
                        treedef,
                        [leaf if ax is None else leaf[b, ...] for leaf, ax in zip(leaves, arg_axes, strict=True)],
                    )
                    for (leaves, treedef), arg_axes in zip(flat_args, axes, strict=True)
                ]
                results.append(f(*sliced, **kwargs))
            return _stack(results, out_dims, "vmap")

        return _derived(batched, f, "vmap", 0)

    def scan(self, f: Fn, init: Any, xs: Any) -> tuple[Any, Any]:
        x_leaves, x_def = pytree.flatten(xs)
        arrays = [np.asarray(leaf) for leaf in x_leaves]
        lengths = {arr.shape[0] if arr.ndim else None for arr in arrays}
        if not arrays or None in lengths:
            raise ValueError("scan: xs must hold arrays with a leading axis to scan over")
        if len(lengths) > 1:
            raise ValueError(f"scan: xs leaves have different leading lengths {sorted(lengths)}")
        (length,) = lengths
        if length == 0:
            raise Unsupported("the reference's loop scan cannot infer the shape of ys from zero iterations")
        carry_def = pytree.flatten(init)[1]
        carry, ys = init, []
        for i in range(length):
            out = f(carry, pytree.unflatten(x_def, [arr[i, ...] for arr in arrays]))
            if not isinstance(out, tuple) or len(out) != 2:
                raise TypeError("scan: the body must return a tuple (carry, y)")
            carry, y = out
            if pytree.flatten(carry)[1] != carry_def:
                raise TypeError(
                    f"scan: the carry changed structure from {pytree.structure_repr(init)} "
                    f"to {pytree.structure_repr(carry)}"
                )
            ys.append(y)
        return pytree.tree_map(np.asarray, carry), _stack(ys, 0, "scan")

    def cond(self, pred: Any, true_fn: Fn, false_fn: Fn, operands: tuple[Any, ...]) -> Any:
        return true_fn(*operands) if bool(np.asarray(pred)) else false_fn(*operands)
