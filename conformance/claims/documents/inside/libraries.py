"""Which transforms of which library the harness intercepts, one installer per library, registered by name.

A new library is one function here decorated with ``@installer("name")``: it replaces the library's transforms
with the :class:`~conformance.claims.documents.inside.intercept.Interceptor`'s wrappers and says how each call's check
is built (``inside.probe``).  The session names the libraries a document imports (``session.LIBRARIES``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.claims.documents.inside import batching, probe, trees
from conformance.claims.documents.inside.intercept import Interceptor, argnums, first

INSTALLERS: dict[str, Callable[[Interceptor], None]] = {}


def installer(name: str) -> Callable[[Callable[[Interceptor], None]], Callable[[Interceptor], None]]:
    def register(fn: Callable[[Interceptor], None]) -> Callable[[Interceptor], None]:
        INSTALLERS[name] = fn
        return fn

    return register


def grad_question(lib: str, with_value: bool) -> Callable[..., probe.Question]:
    """grad / grad_and_value / value_and_grad: the gradient is the Jacobian of a scalar function."""

    def make(f: Any, targs: Any, tkw: dict[str, Any], args: Any, kwargs: Any, result: Any) -> probe.Question:
        has_aux = tkw.get("has_aux", targs[1] if len(targs) > 1 else False)
        fn = probe.Function(f, args, kwargs, argnums(targs, tkw), first(has_aux))
        g = result
        if with_value:
            g = result[0] if lib == "torch" else result[1]
        elif has_aux:
            g = result[0]
        return probe.jacobian(fn, trees.flatten(g)[0], "grad")

    return make


def jacobian_question(f: Any, targs: Any, tkw: dict[str, Any], args: Any, kwargs: Any,
                      result: Any) -> probe.Question:
    has_aux = tkw.get("has_aux", False)
    fn = probe.Function(f, args, kwargs, argnums(targs, tkw), first(has_aux))
    return probe.jacobian(fn, trees.flatten(result[0] if has_aux else result)[0], "jacobian")


def hessian_question(f: Any, targs: Any, tkw: dict[str, Any], args: Any, kwargs: Any,
                     result: Any) -> probe.Question:
    has_aux = tkw.get("has_aux", False)
    fn = probe.Function(f, args, kwargs, argnums(targs, tkw), first(has_aux))
    return probe.hessian(fn, trees.flatten(result[0] if has_aux else result)[0])


def vmap_question(lib: str, hook: Interceptor) -> Callable[..., probe.Question]:
    """vmap against the loop over its batch; a transform the document vmapped (``vmap(grad(f))``) is also
    checked on its own at the batch's first example (``Interceptor.nested``)."""

    def make(f: Any, targs: Any, tkw: dict[str, Any], args: Any, kwargs: Any, result: Any) -> probe.Question:
        in_dims = tkw.get("in_dims", tkw.get("in_axes", targs[0] if targs else 0))
        out_dims = tkw.get("out_dims", tkw.get("out_axes", targs[1] if len(targs) > 1 else 0))
        randomness = tkw.get("randomness", targs[2] if lib == "torch" and len(targs) > 2 else "error")
        if randomness in ("different", "same"):
            raise probe.Unverifiable(f"vmap(randomness={randomness!r}) draws random numbers inside the batch: its "
                                     "result is not the loop's, by design")
        question = batching.check_vmap(f, in_dims, out_dims, args, kwargs, result, lib, tkw.get("axis_name"))
        inner = getattr(f, "__conformance__", None)
        if inner is not None:
            hook.nested(inner, "example 0", batching.first_example(in_dims, args, lib), kwargs)
        return question

    return make


def _func_table(hook: Interceptor, lib: str, module: Any, prefix: str) -> dict[str, Any]:
    """torch.func's transforms (and functorch's, the same functions under their older names)."""
    return {
        "grad": hook.applied(f"{prefix}.grad", module.grad, grad_question(lib, False)),
        "grad_and_value": hook.applied(f"{prefix}.grad_and_value", module.grad_and_value, grad_question(lib, True)),
        "jacrev": hook.applied(f"{prefix}.jacrev", module.jacrev, jacobian_question),
        "jacfwd": hook.applied(f"{prefix}.jacfwd", module.jacfwd, jacobian_question),
        "hessian": hook.applied(f"{prefix}.hessian", module.hessian, hessian_question),
        "vmap": hook.applied(f"{prefix}.vmap", module.vmap, vmap_question(lib, hook)),
        "vjp": hook.vjp(f"{prefix}.vjp", module.vjp),
        "jvp": hook.jvp(f"{prefix}.jvp", module.jvp),
    }


@installer("torch")
def install_torch(hook: Interceptor) -> None:
    import torch
    import torch.autograd.functional as AF
    import torch.func as TF

    table = _func_table(hook, "torch", TF, "torch.func")
    for k, v in table.items():
        setattr(TF, k, v)
    torch.vmap = table["vmap"]
    if "functorch" in sys.modules:  # deprecated since torch 2.0, still in tutorials
        # functorch.grad & co. warn (FutureWarning, pointing at the document's line) and then call these modules'
        # functions by attribute: replaced there, the document's functorch calls are checked like torch.func's.
        import torch._functorch.apis as apis
        import torch._functorch.eager_transforms as impl

        for module, names in ((apis, ("grad", "grad_and_value", "vmap")),
                              (impl, ("vjp", "jvp", "jacrev", "jacfwd", "hessian"))):
            for k in names:
                setattr(module, k, table[k])
    torch.autograd.grad = hook.graph_only(
        "torch.autograd.grad", torch.autograd.grad,
        "torch.autograd.grad receives a recorded graph, not a function: there is nothing to difference")

    def jac(fn: probe.Function, v: Any, out: Any) -> probe.Question:
        return probe.jacobian(fn, trees.flatten(out)[0], "jacobian")

    def hess(fn: probe.Function, v: Any, out: Any) -> probe.Question:
        return probe.hessian(fn, trees.flatten(out)[0])

    def vjp(fn: probe.Function, v: Any, out: Any) -> probe.Question:
        return probe.vjp(fn, v if v is not None else 1.0, trees.flatten(out[1])[0])

    def jvp(fn: probe.Function, v: Any, out: Any) -> probe.Question:
        return probe.jvp(fn, trees.flatten(v)[0], trees.flatten(out[1])[0])

    def hvp(fn: probe.Function, v: Any, out: Any) -> probe.Question:
        return probe.hvp(fn, trees.flatten(v)[0], trees.flatten(out[1])[0])

    for k, build in (("jacobian", jac), ("hessian", hess), ("vjp", vjp), ("jvp", jvp), ("hvp", hvp), ("vhp", hvp)):
        setattr(AF, k, hook.functional(f"torch.autograd.functional.{k}", getattr(AF, k), build))


@installer("jax")
def install_jax(hook: Interceptor) -> None:
    import jax

    table = {
        "grad": hook.applied("jax.grad", jax.grad, grad_question("jax", False)),
        "value_and_grad": hook.applied("jax.value_and_grad", jax.value_and_grad, grad_question("jax", True)),
        "jacrev": hook.applied("jax.jacrev", jax.jacrev, jacobian_question),
        "jacfwd": hook.applied("jax.jacfwd", jax.jacfwd, jacobian_question),
        "hessian": hook.applied("jax.hessian", jax.hessian, hessian_question),
        "vmap": hook.applied("jax.vmap", jax.vmap, vmap_question("jax", hook)),
        "vjp": hook.vjp("jax.vjp", jax.vjp),
        "jvp": hook.jvp("jax.jvp", jax.jvp),
    }
    for k, v in table.items():
        setattr(jax, k, v)
    jax.jit = hook.compiled("jax.jit", jax.jit)


def _mlx_argnums(targs: Any, tkw: dict[str, Any]) -> Any:
    """MLX's ``argnums`` (None: the first argument); gradients by ``argnames`` (keywords) are not checked."""
    if tkw.get("argnames") or (len(targs) > 1 and targs[1]):
        raise probe.Unverifiable("differentiates keyword arguments (argnames): not checked")
    value = tkw.get("argnums", targs[0] if targs else None)
    if value is None:
        return 0
    return tuple(value) if isinstance(value, (list, tuple)) else value


def mlx_grad_question(with_value: bool) -> Callable[..., probe.Question]:
    def make(f: Any, targs: Any, tkw: dict[str, Any], args: Any, kwargs: Any, result: Any) -> probe.Question:
        fn = probe.Function(f, args, kwargs, _mlx_argnums(targs, tkw), lambda out: out)
        return probe.jacobian(fn, trees.flatten(result[1] if with_value else result)[0], "grad")

    return make


@installer("mlx")
def install_mlx(hook: Interceptor) -> None:
    import mlx.core as mx

    direct_vjp = mx.vjp

    def vjp_question(i: Any, r: Any) -> probe.Question:
        primals, cotangents = i[0], i[1]
        fn = probe.Function(i[2], list(primals), {}, tuple(range(len(primals))), lambda out: out)
        return probe.vjp(fn, list(cotangents), trees.flatten(r[1])[0])

    def wrapped_vjp(fun: Any, primals: Any, cotangents: Any) -> Any:
        if not hook.top_level():
            return direct_vjp(fun, primals, cotangents)
        site = hook.site()
        out = hook.inside(direct_vjp, fun, primals, cotangents)
        hook.record("mlx.core.vjp", site, fun, (), (primals, cotangents, fun), out, vjp_question,
                    lambda i: direct_vjp(i[2], i[0], i[1]))
        return out

    wrapped_vjp.__wrapped__ = direct_vjp  # type: ignore[attr-defined]
    wrapped_vjp.__doc__ = direct_vjp.__doc__
    table = {
        "grad": hook.applied("mlx.core.grad", mx.grad, mlx_grad_question(False)),
        "value_and_grad": hook.applied("mlx.core.value_and_grad", mx.value_and_grad, mlx_grad_question(True)),
        "vmap": hook.applied("mlx.core.vmap", mx.vmap, vmap_question("mlx", hook)),
        "jvp": hook.jvp("mlx.core.jvp", mx.jvp),
        "vjp": wrapped_vjp,
    }
    for k, v in table.items():
        setattr(mx, k, v)


def _argnum(targs: Any, tkw: dict[str, Any]) -> Any:
    value = tkw.get("argnum", targs[0] if targs else 0)
    return tuple(value) if isinstance(value, (list, tuple)) else value


def autograd_question(of: str) -> Callable[..., probe.Question]:
    """HIPS autograd's ``grad``/``value_and_grad``/``jacobian``/``hessian``/``elementwise_grad`` (``argnum``)."""

    def make(f: Any, targs: Any, tkw: dict[str, Any], args: Any, kwargs: Any, result: Any) -> probe.Question:
        fn = probe.Function(f, args, kwargs, _argnum(targs, tkw), lambda out: out)
        if of == "hessian":
            return probe.hessian(fn, trees.flatten(result)[0])
        if of == "elementwise":  # the vector-Jacobian product with a cotangent of ones
            fn.start()
            ones = np.ones(int(np.size(trees.flat(fn.pick(fn.f(*fn.args, **fn.kwargs))))))
            return probe.vjp(fn, ones, trees.flatten(result)[0])
        g = result[1] if of == "value" else result
        return probe.jacobian(fn, trees.flatten(g)[0], "jacobian" if of == "jacobian" else "grad")

    return make


@installer("autograd")
def install_autograd(hook: Interceptor) -> None:
    import autograd
    import autograd.differential_operators as ops

    for k, of in (("grad", "grad"), ("value_and_grad", "value"), ("jacobian", "jacobian"), ("hessian", "hessian"),
                  ("elementwise_grad", "elementwise")):
        original = getattr(ops, k)
        wrapped = hook.applied(f"autograd.{k}", original, autograd_question(of))
        for module in (autograd, ops):
            if getattr(module, k, None) is original:
                setattr(module, k, wrapped)
