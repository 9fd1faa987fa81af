"""TensorFlow adapter (``tensorflow-cpu``): ``tf.GradientTape``, ``tf.autodiff.ForwardAccumulator``,
``tf.vectorized_map``, ``tf.scan``, ``tf.cond`` and ``tf.function``, on eager tensors.

Named ``tensorflow_api`` so that it never shadows the ``tensorflow`` package.  TensorFlow has no functional
transforms (``grad(f)`` returning a function): it records a computation on a tape and asks the tape.  Each
method below is the tape call the TensorFlow guides write for that transform, nothing more:

* ``grad(f, argnums)``: ``tf.GradientTape`` watching the chosen arguments (any nest of tensors), then
  ``tape.gradient(out, sources)``; a tuple of argnums gives a tuple of sources, hence of gradients.
  ``grad_and_value`` is the same tape, returning the value it recorded beside the gradient: ``(value, grad)``.
* ``vjp(f, *primals)``: a persistent tape over ``f(*primals)``; the pullback is
  ``tape.gradient(out, primals, output_gradients=cotangent)``.
* ``jvp(f, primals, tangents)``: ``tf.autodiff.ForwardAccumulator(primals, tangents)`` around ``f(*primals)``,
  then ``acc.jvp(out)``.
* ``jacrev``: ``tape.jacobian(out, sources)`` (reverse mode, vectorized with pfor), once per output leaf of a
  nested output.  TensorFlow has no public forward-mode Jacobian: ``jacfwd`` is declared unsupported.
* ``hessian``: nested tapes, the inner ``tape.gradient`` recorded by an outer tape whose ``jacobian`` gives the
  second derivatives (https://www.tensorflow.org/guide/advanced_autodiff#hessian).
* ``vmap``: ``tf.vectorized_map(fn, elems)``, which maps axis 0 of every tensor of ``elems``: any other
  ``in_dims``/``out_dims`` (``None``, ``1``, ``-1``) is a calling form TensorFlow lacks, refused with
  :class:`Unsupported` (axes are not moved here).
* ``scan``: ``tf.scan(fn, xs, initializer)``, whose accumulator is the pair ``(carry, y)``: its stacked carries'
  last entry is the final carry and its stacked ``y`` are the outputs.  ``tf.scan`` needs an initializer of the
  accumulator's whole structure, so ``y``'s is read from one call ``f(init, xs[0])`` (zeros of that structure
  start the accumulator, and are never returned).
* ``cond``: ``tf.cond(pred, lambda: true_fn(*operands), lambda: false_fn(*operands))``; ``jit``: ``tf.function``.

Unconnected sources: ``vjp``, ``jvp``, ``jacrev`` and ``hessian`` pass TensorFlow's public
``unconnected_gradients=tf.UnconnectedGradients.ZERO``, so a derivative that does not depend on an input is the
zero array the transform means (the Hessian of a function linear in x), not TensorFlow's default ``None``.
``grad``/``grad_and_value`` keep the default, which is what TensorFlow documents for an integer source (``None``
and a logged warning; with ZERO it would return an integer 0 "gradient").  A gather's gradient comes back as
``tf.IndexedSlices`` (documented for ``tape.gradient``); ``to_numpy`` densifies it with ``tf.convert_to_tensor``.

``has_aux``: no TensorFlow API takes it (a tape records whatever the function returns).  It is passed to the
TensorFlow call the transform makes (``tf.GradientTape(...)``, ``ForwardAccumulator(...)``), so TensorFlow itself
rejects it with its TypeError.

The array namespace is ``tf.experimental.numpy`` (mapped by :class:`backends.namespace.MappedNamespace`), with
``linalg`` taken from ``tf.linalg`` (``tf.norm`` for the standard's two norms, ``tnp.outer`` for ``outer``).
``setup`` calls ``tnp.experimental_enable_numpy_behavior()`` (its defaults: legacy dtype conversion, no
float32 preference), the switch the tf.experimental.numpy guide asks for, because the battery's functions rely on
what it adds to ``tf.Tensor``: the ``@`` operator on 1-d operands (without it ``tf.Tensor.__matmul__`` is
``tf.matmul``, which rejects vectors: "In[0] ndims must be >= 2") and the ``.T`` property (absent otherwise).
It changes ``tf.Tensor`` operators to NumPy type promotion globally, in this backend's process only; float32
stays float32 under every operation the battery performs (a Python float operand is weak), which the dtype
checks verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backends.base import Array, Backend, Conventions, ErrorConvention, Fn, Unsupported, has_aux_keyword
from backends.namespace import MappedNamespace

_AUTODIFF = "https://www.tensorflow.org/guide/autodiff"
_ADVANCED = "https://www.tensorflow.org/guide/advanced_autodiff"
_VMAP_DOC = "https://www.tensorflow.org/api_docs/python/tf/vectorized_map"

_MASKABLE = ("sum", "prod", "mean", "std", "var", "max", "min")

LACKS_KEYWORDS = {
    **{f"{r}(where=)": f"tf.experimental.numpy.{r} takes no where= mask (nor does tf.math.reduce_{'variance' if r == 'var' else r})"
       for r in _MASKABLE},
    **{f"{r}(initial=)": f"tf.experimental.numpy.{r} takes no initial= (its keywords are axis and keepdims)"
       for r in ("max", "min")},
    **{f"{c}(include_initial=)": f"TensorFlow's cumulative {op} (tf.experimental.numpy.{alias}, tf.math.{alias}) takes "
       "no include_initial: tf.math's exclusive=True gives n results without the last, not the identity followed by all n"
       for c, alias, op in (("cumulative_sum", "cumsum", "sum"), ("cumulative_prod", "cumprod", "product"))},
}
"""What tf.experimental.numpy rejects of the function table's keywords (``Conventions.lacks_keywords``)."""



def _namespace(tf: Any, tnp: Any) -> MappedNamespace:
    def svd(x: Any, full_matrices: bool = True) -> Any:
        # tf.linalg.svd returns (s, u, v) with x = u diag(s) v^H; the standard returns (U, S, Vh).
        s, u, v = tf.linalg.svd(x, full_matrices=full_matrices, compute_uv=True)
        return u, s, tf.linalg.adjoint(v)

    def matrix_norm(x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
        return tf.norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)

    def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
        return tf.norm(x, ord=ord, axis=axis, keepdims=keepdims)

    return MappedNamespace(tnp, library="tensorflow", names={
        "linalg.solve": tf.linalg.solve,
        "linalg.inv": tf.linalg.inv,
        "linalg.det": tf.linalg.det,
        "linalg.slogdet": tf.linalg.slogdet,
        "linalg.cholesky": tf.linalg.cholesky,
        "linalg.eigh": tf.linalg.eigh,
        "linalg.qr": tf.linalg.qr,
        "linalg.svd": svd,
        "linalg.matrix_norm": matrix_norm,
        "linalg.vector_norm": vector_norm,
        "linalg.trace": tf.linalg.trace,
        "linalg.outer": tnp.outer,
        "linalg.cross": tf.linalg.cross,
        "linalg.matmul": tf.linalg.matmul,
        "linalg.tensordot": tf.linalg.tensordot,
    })


def _top_k(x: Any, k: int) -> Any:
    """``tf.math.top_k(x, k)`` returns ``(values, indices)``, sorted (descending) by default: the values."""
    import tensorflow as tf

    return tf.math.top_k(x, k).values


EVERYDAY = {
    "logsumexp": "tensorflow.math.reduce_logsumexp", "softmax": "tensorflow.nn.softmax",
    "log_softmax": "tensorflow.nn.log_softmax", "sigmoid": "tensorflow.math.sigmoid", "top_k": _top_k,
}
"""TensorFlow's names of the everyday functions (``Backend.everyday``); it has no frexp or ldexp (tf.math and
tf.experimental.numpy alike), so those rows skip."""


class TensorflowApi(Backend):
    name = "tensorflow"
    library = "tensorflow"
    everyday = EVERYDAY
    conventions = Conventions(
        grad_and_value_api="tensorflow.GradientTape",
        grad_and_value_layout="(value, grad)",
        grad_and_value_aux_layout="",
        grad_aux_layout="",
        batch_keyword=("", ""),
        # tf.vectorized_map has no axis keywords: it maps axis 0 of every input (other in_dims are Unsupported).
        vmap_api="tensorflow.vectorized_map",
        has_aux=frozenset(),
        jvp_primals="tuple",
        scan_api="tensorflow.scan",
        cond_api="tensorflow.cond",
        jit_api="tensorflow.function",
        lacks_keywords=LACKS_KEYWORDS,
        # tnp.take's documented default is mode='clip' (NumPy's clip: every index, negative ones too, clipped
        # into [0, n-1]); tf.gather raises on CPU.
        index_bounds={"take": "clamp"},
        unsupported={
            "jacfwd": "TensorFlow has no forward-mode Jacobian: tf.autodiff.ForwardAccumulator gives one JVP per "
            "tangent, and the only Jacobian API, tf.GradientTape.jacobian, is reverse mode (" + _ADVANCED + ")",
        },
        errors={
            "vmap_data_dependent_if": ErrorConvention(
                "OperatorNotAllowedInGraphError", "Using a symbolic `tf.Tensor` as a Python `bool` is not allowed",
                _VMAP_DOC + " (fn is traced into a graph, where Python control flow on a tensor raises "
                "tf.errors.OperatorNotAllowedInGraphError)",
            ),
        },
        accepts={
            "jvp_tangent_dict_order": "tf.autodiff.ForwardAccumulator pairs primals and tangents through tf.nest, "
            "which orders dict entries by sorted key (https://www.tensorflow.org/api_docs/python/tf/nest)",
            "grad_int_input": "TensorFlow documents that integer sources have no gradient: tape.watch logs 'The dtype "
            "of the watched tensor must be floating' and tape.gradient returns None, not an error "
            f"({_AUTODIFF}#getting_a_gradient_of_none)",
        },
    )

    def __init__(self) -> None:
        import tensorflow as tf
        import tensorflow.experimental.numpy as tnp

        self._tf = tf
        self._tnp = tnp
        self._xp = _namespace(tf, tnp)

    def setup(self) -> None:
        # Tensor methods (.T, @ on vectors) the battery's functions use; see the module docstring.
        self._tnp.experimental_enable_numpy_behavior()

    @property
    def version(self) -> str:
        return str(self._tf.__version__)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def xp(self) -> Any:
        return self._xp

    def asarray(self, value: Any, dtype: str) -> Array:
        return self._tf.constant(np.asarray(value), dtype=getattr(self._tf, dtype))

    def to_numpy(self, x: Array) -> np.ndarray:
        if isinstance(x, self._tf.IndexedSlices):
            # tape.gradient's documented sparse form of a gather's gradient (tf.gather, tnp.take): densified.
            x = self._tf.convert_to_tensor(x)
        if isinstance(x, (self._tf.Tensor, self._tf.Variable)):
            return np.array(x.numpy(), copy=True)
        return np.asarray(x)

    # -- transforms ------------------------------------------------------------
    @staticmethod
    def _sources(args: tuple[Any, ...], argnums: int | tuple[int, ...]) -> Any:
        return args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in argnums)

    def _tape_grad(self, f: Fn, argnums: int | tuple[int, ...], has_aux: bool, args: tuple[Any, ...]) -> tuple[Any, Any]:
        sources = self._sources(args, argnums)
        with self._tf.GradientTape(**has_aux_keyword(has_aux)) as tape:
            tape.watch(sources)
            out = f(*args)
        return out, tape.gradient(out, sources)

    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        def grad_f(*args: Any) -> Any:
            return self._tape_grad(f, argnums, has_aux, args)[1]

        return grad_f

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        def grad_and_value_f(*args: Any) -> Any:
            return self._tape_grad(f, argnums, has_aux, args)

        return grad_and_value_f

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        zero = self._tf.UnconnectedGradients.ZERO
        with self._tf.GradientTape(persistent=True, **has_aux_keyword(has_aux)) as tape:
            tape.watch(primals)
            out = f(*primals)

        def pullback(cotangent: Any) -> tuple[Any, ...]:
            return tuple(tape.gradient(out, primals, output_gradients=cotangent, unconnected_gradients=zero))

        return out, pullback

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        if not isinstance(primals, (tuple, list)):
            raise Unsupported(
                "tf.autodiff.ForwardAccumulator(primals, tangents) takes any nest of tensors and never calls f: "
                "there is no tuple-of-primals calling form for a bare array to misuse")
        with self._tf.autodiff.ForwardAccumulator(tuple(primals), tuple(tangents), **has_aux_keyword(has_aux)) as acc:
            out = f(*primals)
        zero = self._tf.UnconnectedGradients.ZERO
        return out, self._tf.nest.map_structure(lambda o: acc.jvp(o, unconnected_gradients=zero), out)

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        tf = self._tf

        zero = tf.UnconnectedGradients.ZERO

        def jac_f(*args: Any) -> Any:
            sources = self._sources(args, argnums)
            with tf.GradientTape(persistent=True, **has_aux_keyword(has_aux)) as tape:
                tape.watch(sources)
                out = f(*args)
            return tf.nest.map_structure(lambda o: tape.jacobian(o, sources, unconnected_gradients=zero), out)

        return jac_f

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        tf = self._tf

        zero = tf.UnconnectedGradients.ZERO

        def hessian_f(*args: Any) -> Any:
            sources = self._sources(args, argnums)
            with tf.GradientTape(persistent=True, **has_aux_keyword(has_aux)) as outer:
                outer.watch(sources)
                with tf.GradientTape() as inner:
                    inner.watch(sources)
                    out = f(*args)
                grads = inner.gradient(out, sources)
            return tf.nest.map_structure(lambda g: outer.jacobian(g, sources, unconnected_gradients=zero), grads)

        return hessian_f

    @staticmethod
    def _axes_zero(dims: Any) -> bool:
        """Every leaf of an in_dims/out_dims tree is 0 (None, dicts' None entries and other axes are not)."""
        if isinstance(dims, dict):
            return all(TensorflowApi._axes_zero(d) for d in dims.values())
        if isinstance(dims, (tuple, list)):
            return all(TensorflowApi._axes_zero(d) for d in dims)
        return dims == 0 and dims is not False and dims is not None

    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        if not (self._axes_zero(in_dims) and self._axes_zero(out_dims)):
            raise Unsupported(
                f"tf.vectorized_map maps axis 0 of every input and stacks every output on axis 0: it has no "
                f"in_dims/out_dims (asked in_dims={in_dims!r}, out_dims={out_dims!r}; {_VMAP_DOC})")
        tf = self._tf

        def vmapped(*args: Any) -> Any:
            return tf.vectorized_map(lambda elems: f(*elems), tuple(args))

        return vmapped

    def scan(self, f: Fn, init: Any, xs: Any) -> tuple[Any, Any]:
        tf = self._tf
        _, y0 = f(init, tf.nest.map_structure(lambda x: x[0], xs))  # the structure of y, for the initializer
        carries, ys = tf.scan(lambda acc, x: f(acc[0], x), xs,
                              initializer=(init, tf.nest.map_structure(tf.zeros_like, y0)))
        return tf.nest.map_structure(lambda c: c[-1], carries), ys

    def cond(self, pred: Any, true_fn: Fn, false_fn: Fn, operands: tuple[Any, ...]) -> Any:
        return self._tf.cond(pred, lambda: true_fn(*operands), lambda: false_fn(*operands))

    def jit(self, f: Fn) -> Fn:
        return self._tf.function(f)

    def jit_description(self) -> str:
        return "tensorflow.function (autograph, default jit_compile: graph, no XLA)"
