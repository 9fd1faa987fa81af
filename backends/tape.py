"""Reverse mode for libraries whose derivatives come from a tape: mark the inputs, run f, go backward.

MyGrad (``Tensor(constant=False)``, ``backward``, ``.grad``), tinygrad (``Tensor.gradient``), torch.autograd and
Paddle (``paddle.grad``) all work this way and offer no ``grad(f)`` of their own.  An adapter for such a library
subclasses :class:`TapeBackend` and writes two methods, :meth:`~TapeBackend.watch` and
:meth:`~TapeBackend.gradients`; ``grad`` and ``vjp`` are built here, in the battery's conventions (argnums,
pytrees of arguments and of outputs, a tuple per primal).  What is checked is then the library's tape and its
derivative rules, through the one construction every such adapter would write.

The other transforms stay declared unsupported (``Conventions.unsupported``) unless the adapter adds them.
``has_aux`` is refused with a TypeError, as a library call without the keyword would refuse it, so leave
``Conventions.has_aux`` empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backends import pytree
from backends.base import Array, Backend, Fn, argnums_tuple


class TapeBackend(Backend):
    """A :class:`Backend` whose ``grad`` and ``vjp`` come from :meth:`watch` and :meth:`gradients`."""

    def watch(self, leaf: Array) -> Array:
        """A fresh array equal to ``leaf`` whose operations the library records (torch:
        ``leaf.detach().requires_grad_()``; MyGrad: ``mygrad.tensor(leaf, constant=False)``)."""
        raise NotImplementedError(f"{type(self).__name__}.watch")

    def gradients(self, outputs: Sequence[Array], cotangents: Sequence[Array] | None,
                  watched: Sequence[Array]) -> Sequence[Array | None]:
        """The gradient of ``sum_i <cotangents[i], outputs[i]>`` with respect to each of ``watched``, in order; None
        (or a zero array) for a watched array the outputs do not depend on.  ``cotangents`` is None when
        ``outputs`` is one scalar, whose own gradient is asked (``out.backward()``)."""
        raise NotImplementedError(f"{type(self).__name__}.gradients")

    # -- built from the two ------------------------------------------------------------------------------
    def _watch_args(self, args: Sequence[Any], nums: Sequence[int]) -> tuple[list[Any], list[tuple[list[Array], Any]]]:
        args, marked = list(args), []
        for i in nums:
            leaves, treedef = pytree.flatten(args[i])
            fresh = [self.watch(leaf) for leaf in leaves]
            marked.append((fresh, treedef))
            args[i] = pytree.unflatten(treedef, fresh)
        return args, marked

    def _read(self, grads: Sequence[Array | None], marked: list[tuple[list[Array], Any]]) -> list[Any]:
        grads, out = list(grads), []
        for fresh, treedef in marked:
            mine, grads = grads[:len(fresh)], grads[len(fresh):]
            out.append(pytree.unflatten(treedef, [self._zero_if_none(g, leaf) for g, leaf in zip(mine, fresh)]))
        return out

    def _zero_if_none(self, grad: Array | None, leaf: Array) -> Array:
        if grad is not None:
            return grad
        value = self.to_numpy(leaf)
        return self.asarray(np.zeros(value.shape), str(value.dtype))

    @staticmethod
    def _no_aux(has_aux: bool) -> None:
        if has_aux:
            raise TypeError("got an unexpected keyword argument 'has_aux' (a tape's gradients take no aux)")

    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        self._no_aux(has_aux)
        nums = argnums_tuple(argnums)

        def grad_f(*args: Any) -> Any:
            args, marked = self._watch_args(args, nums)
            grads = self._read(self.gradients([f(*args)], None, [w for fresh, _ in marked for w in fresh]), marked)
            return grads[0] if isinstance(argnums, int) else tuple(grads)

        return grad_f

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
        self._no_aux(has_aux)
        out = f(*primals)

        def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
            args, marked = self._watch_args(primals, range(len(primals)))
            outputs, _ = pytree.flatten(f(*args))
            cotangents, _ = pytree.flatten(cotangent)
            watched = [w for fresh, _ in marked for w in fresh]
            return tuple(self._read(self.gradients(outputs, cotangents, watched), marked))

        return out, vjp_fn
