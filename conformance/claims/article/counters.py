"""Counter-adapters: backends with one planted fault each, to show that a proposition's verdict can move.

A claim's proposition is only evidence if it separates the world where the claim holds from the world where it
does not.  Each proposition claim names a counter-adapter (``counter = "jvp-returns-grad"``) that behaves like the
*alternative* to what the real library does: for a claim the library satisfies, a fault that breaks the behaviour
the claim rests on; for a claim the library refutes, an adapter that does what the article says.  The checker runs
the proposition on both and reports a claim whose verdict does not move as a defect (``sensitive: false``).

Counters wrap any :class:`backends.base.Backend` instance: :func:`apply` returns a copy whose class overrides the
named methods, so everything else (dtypes, ``xp``, ``setup``) stays the real library's.  ``apis`` overrides what the
proposition helper ``api("dotted.name")`` resolves to, for claims about library functions outside the adapter API.
Registered with :func:`counter`; this module imports no array library (the sandbox imports it next to one).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Counter:
    """One planted fault: adapter methods replaced, and dotted API names resolved to substitutes."""

    name: str
    doc: str
    methods: dict[str, Callable[..., Any]]
    apis: dict[str, Callable[[Any], Any]] = dataclasses.field(default_factory=dict)
    """Dotted name -> factory taking the (real) backend and returning the substitute object."""


COUNTERS: dict[str, Counter] = {}


def counter(name: str, doc: str, *, apis: dict[str, Callable[[Any], Any]] | None = None
            ) -> Callable[[Callable[[], dict[str, Callable[..., Any]]]], Counter]:
    """Register the methods a function returns as the counter-adapter ``name`` (``doc``: the fault, one line)."""
    def register(fn: Callable[[], dict[str, Callable[..., Any]]]) -> Counter:
        if name in COUNTERS:
            raise ValueError(f"counter {name!r} registered twice")
        COUNTERS[name] = Counter(name, doc, fn(), dict(apis or {}))
        return COUNTERS[name]
    return register


def apply(name: str, backend: Any) -> Any:
    """A copy of ``backend`` with counter ``name``'s methods; the real methods stay reachable as ``self._real``."""
    spec = COUNTERS[name]
    cls = type(backend)
    faulted_cls = type(f"{cls.__name__}[{name}]", (cls,), dict(spec.methods))
    faulted = copy.copy(backend)
    faulted.__class__ = faulted_cls
    faulted._real = backend
    faulted._counter_apis = {api: make(backend) for api, make in spec.apis.items()}
    return faulted


def _tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    if isinstance(tree, tuple):
        return tuple(_tree_map(fn, t) for t in tree)
    if isinstance(tree, list):
        return [_tree_map(fn, t) for t in tree]
    return fn(tree)


def _stack(backend: Any, outs: list[Any]) -> Any:
    """Stack per-example outputs with the backend's own namespace (keeps native arrays native)."""
    first = outs[0]
    if isinstance(first, tuple):
        return tuple(_stack(backend, [o[i] for o in outs]) for i in range(len(first)))
    return backend.xp.stack(outs)


def _loop_vmap(self: Any, f: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0) -> Callable[..., Any]:
    """vmap as a Python loop: data-dependent Python control flow works, one example at a time."""
    def batched(*args: Any) -> Any:
        n = args[0].shape[0]
        return _stack(self, [f(*(a[i] for a in args)) for i in range(n)])
    return batched


def _loop_scan(self: Any, f: Callable[..., Any], init: Any, xs: Any) -> tuple[Any, Any]:
    carry, ys = init, []
    for i in range(xs.shape[0]):
        carry, y = f(carry, xs[i])
        ys.append(y)
    return carry, _stack(self, ys)


def _unsupported(what: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        from backends.base import Unsupported

        raise Unsupported(f"counter-adapter: {what}")
    return method


@counter("jvp-returns-grad", "jvp returns (f(x), grad f(x)) instead of (f(x), J v): the tangent is ignored")
def _jvp_returns_grad() -> dict[str, Callable[..., Any]]:
    def jvp(self: Any, f: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        out = f(*primals)
        return out, self._real.grad(f)(*primals)
    return {"jvp": jvp}


@counter("jvp-returns-vjp", "jvp's tangent output is the vector-Jacobian product v^T J (the transpose) instead of J v")
def _jvp_returns_vjp() -> dict[str, Callable[..., Any]]:
    def jvp(self: Any, f: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        out, vjp_fn = self._real.vjp(f, *primals)[:2]
        return out, vjp_fn(tangents[0])[0]
    return {"jvp": jvp}


@counter("jvp-returns-hvp", "jvp's tangent output is the Hessian-vector product H v (a second-order quantity)")
def _jvp_returns_hvp() -> dict[str, Callable[..., Any]]:
    def jvp(self: Any, f: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        x, v = primals[0], tangents[0]
        h = self._real.hessian(f)(x)
        n = int(np.prod(x.shape)) if x.shape else 1
        hv = self.xp.reshape(self.xp.reshape(h, (n, n)) @ self.xp.reshape(v, (n,)), x.shape)
        return f(x), hv
    return {"jvp": jvp}


@counter("hessian-is-jacobian", "hessian returns the first derivative (jacrev) instead of the second")
def _hessian_is_jacobian() -> dict[str, Callable[..., Any]]:
    def hessian(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        return self._real.jacrev(f, argnums=argnums)
    return {"hessian": hessian}


@counter("no-hessian-no-jvp", "the library offers neither hessian nor jvp")
def _no_hessian_no_jvp() -> dict[str, Callable[..., Any]]:
    return {"hessian": _unsupported("no hessian"), "jvp": _unsupported("no jvp")}


@counter("vmap-is-loop", "vmap runs the function once per example in a Python loop (Python if works)")
def _vmap_is_loop() -> dict[str, Callable[..., Any]]:
    return {"vmap": _loop_vmap}


@counter("vmap-reverses-batch", "vmap returns the per-example results in reverse order")
def _vmap_reverses() -> dict[str, Callable[..., Any]]:
    def vmap(self: Any, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        inner = self._real.vmap(f, in_dims=in_dims, out_dims=out_dims)
        return lambda *args: self.xp.flip(inner(*args), axis=0)
    return {"vmap": vmap}


@counter("loop-control-flow", "vmap and scan are Python loops, so grad goes through data-dependent Python if")
def _loop_control_flow() -> dict[str, Callable[..., Any]]:
    return {"vmap": _loop_vmap, "scan": _loop_scan}


@counter("scan-is-loop", "scan is a Python loop over the leading axis (no tracing: Python if works)")
def _scan_is_loop() -> dict[str, Callable[..., Any]]:
    return {"scan": _loop_scan}


@counter("no-scan", "the library offers no scan")
def _no_scan() -> dict[str, Callable[..., Any]]:
    return {"scan": _unsupported("no scan")}


def _scan_with_aux(backend: Any) -> Callable[..., Any]:
    """``scan(f, xs, has_aux=True)`` as the article calls it: f maps one element to (y, aux)."""
    def scan(f: Callable[..., Any], xs: Any, has_aux: bool = False) -> Any:
        outs = [f(xs[i]) for i in range(xs.shape[0])]
        if has_aux:
            return _stack(backend, [o[0] for o in outs]), _stack(backend, [o[1] for o in outs])
        return _stack(backend, outs)
    return scan


@counter("article-scan", "the library has the scan(f, xs, has_aux=True) the article calls",
         apis={"torch.func.scan": _scan_with_aux, "jax.lax.scan": _scan_with_aux})
def _article_scan() -> dict[str, Callable[..., Any]]:
    return {}


@counter("argnums-ignored", "grad ignores argnums and always differentiates the first argument")
def _argnums_ignored() -> dict[str, Callable[..., Any]]:
    def grad(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        return self._real.grad(f, argnums=0, has_aux=has_aux)
    return {"grad": grad}


@counter("aux-dropped", "with has_aux=True the aux output comes back as None")
def _aux_dropped() -> dict[str, Callable[..., Any]]:
    def grad_and_value(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = self._real.grad_and_value(f, argnums=argnums, has_aux=has_aux)
        if not has_aux:
            return inner
        layout = self.conventions.grad_and_value_aux_layout

        def call(*args: Any) -> Any:
            return _replace_leaf(layout, inner(*args), "aux", None)
        return call

    def grad(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = self._real.grad(f, argnums=argnums, has_aux=has_aux)
        if not has_aux:
            return inner
        return lambda *args: _replace_leaf(self.conventions.grad_aux_layout, inner(*args), "aux", None)
    return {"grad_and_value": grad_and_value, "grad": grad}


def _replace_leaf(layout: str, native: Any, leaf: str, value: Any) -> Any:
    from backends.base import _parse_layout

    def walk(pattern: Any, obj: Any) -> Any:
        if isinstance(pattern, str):
            return value if pattern == leaf else obj
        return tuple(walk(p, o) for p, o in zip(pattern, obj))
    return walk(_parse_layout(layout), native)


@counter("has-aux-lenient", "has_aux=True accepts a function returning one value and gives aux None")
def _has_aux_lenient() -> dict[str, Callable[..., Any]]:
    def grad_and_value(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        if not has_aux:
            return self._real.grad_and_value(f, argnums=argnums)

        def wrapped(*args: Any) -> Any:
            out = f(*args)
            return out if isinstance(out, tuple) else (out, None)
        return self._real.grad_and_value(wrapped, argnums=argnums, has_aux=True)
    return {"grad_and_value": grad_and_value}


@counter("grad-and-value-swapped", "grad_and_value returns (value, grad) where the library returns (grad, value), "
         "and the other way round")
def _gv_swapped() -> dict[str, Callable[..., Any]]:
    def grad_and_value(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = self._real.grad_and_value(f, argnums=argnums, has_aux=has_aux)
        return lambda *args: tuple(reversed(inner(*args)))
    return {"grad_and_value": grad_and_value}


@counter("grad-scaled", "grad returns twice the gradient")
def _grad_scaled() -> dict[str, Callable[..., Any]]:
    def grad(self: Any, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
        inner = self._real.grad(f, argnums=argnums, has_aux=has_aux)
        return lambda *args: _tree_map(lambda g: 2 * g, inner(*args))
    return {"grad": grad}


def _foreign_grad_and_value(backend: Any) -> Callable[..., Any]:
    """A grad_and_value that lives outside the library's transform module (defined here)."""
    def grad_and_value(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Any:
        return backend.grad_and_value(f, argnums=argnums, has_aux=has_aux)
    return grad_and_value


@counter("foreign-grad-and-value", "torch.func.grad_and_value is defined outside the module of the other transforms",
         apis={"torch.func.grad_and_value": _foreign_grad_and_value})
def _foreign() -> dict[str, Callable[..., Any]]:
    return {}
