"""The program that runs inside the sandbox: one document's cells in one namespace, transforms intercepted.

This file is not imported by the checker: ``session.program`` reads its source and appends the document's
payload, so it must stay self-contained (standard library, numpy, the libraries the document imports, and the
sandbox-side helpers of ``conformance.documents.inside``, which the sandbox's path reaches and the session
preimports).
It sends one record per event on the sandbox's report channel (the writer the bootstrap hands over as
``__report__``, a pipe that is not stdout), each written whole at once: if the document hangs and is killed, every
cell that finished is still reported.  Stdout is only the document's own output.  The records' order and fields
are the contract ``conformance.documents.protocol`` checks on the host.

The writer is taken out of the globals before any document code runs, and every function here that sends a
record binds it when the harness loads (a keyword default), so rebinding a name in these globals (which the
document reaches through any wrapped transform's ``__globals__``) changes nothing the harness sends.  That raises
the bar and no more: code in this process can always reach the writer and the checks, so a hostile document can
make its own records say anything (``docs/trust-boundary.md``).

Why the checks run here and not on the host: the function a document differentiates lives only in this
process.  Each wrapped transform returns the library's own result unchanged; each new call (``inside.ledger``:
repeats are counted, not checked again, and at most three calls per site are checked) has its inputs copied and
its check queued until the cell has finished, so nothing the document times pays for it.  The check compares the
result with central finite differences of the same function (Richardson-extrapolated, in float64 where the
function accepts it).
Only calls made at top level are checked; calls nested inside another transform (``grad(grad(f))``) or made
while a check evaluates the function pass straight through, since their inputs are tracers or wrapped tensors.
"""

import ast
import inspect
import json  # noqa: F401 - the payload line that session.program appends reads it
import linecache
import math
import sys
import time
import traceback

import numpy as np

from conformance.documents.inside import devices as _devices
from conformance.documents.inside import ledger as _ledger
from conformance.documents.inside import output as _output

_STATE = {"cell": None, "busy": 0}
_REAL_STDOUT = sys.stdout
_MAX_FULL = 64  # inputs up to this size get the full Jacobian by finite differences; above, random directions
_MAX_HESS = 12
_SHOWN = 24  # numbers of got/expected kept in the evidence
_LEDGER = _ledger.Ledger()


def _take_writer():
    """The report channel's writer (one JSON line per record), removed from the globals it was handed in."""
    write = globals().pop("__report__")

    def emit(record, _write=write):
        _write(record)

    return emit


_emit = _take_writer()


# ---------------------------------------------------------------- pytrees and numbers (both libraries)

def _torch():
    return sys.modules.get("torch")


def _jax():
    return sys.modules.get("jax")


def _is_leaf(x):
    t, j = _torch(), _jax()
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
    return False


def _flatten(tree):
    """Differentiable leaves in a fixed order, and a function rebuilding the tree from new leaves."""
    if _is_leaf(tree):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(x) for x in tree]
        sizes = [len(p[0]) for p in parts]
        kind = type(tree)

        def build(leaves, parts=parts, sizes=sizes, kind=kind):
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
        parts = [_flatten(tree[k]) for k in keys]
        sizes = [len(p[0]) for p in parts]

        def build_dict(leaves, parts=parts, sizes=sizes, keys=keys, tree=tree):
            out, i = dict(tree), 0
            for k, (_, rebuild), n in zip(keys, parts, sizes):
                out[k] = rebuild(leaves[i:i + n])
                i += n
            return out

        return [leaf for p in parts for leaf in p[0]], build_dict
    return [], lambda leaves, tree=tree: tree


def _dtype_name(leaf):
    name = str(getattr(leaf, "dtype", "float64" if isinstance(leaf, float) else "float32"))
    return "float64" if "float64" in name or "double" in name else "float32"


def _np(leaf):
    t = _torch()
    if t is not None and isinstance(leaf, t.Tensor):
        if leaf.is_complex():
            raise TypeError("complex values are not checked")
        return leaf.detach().cpu().to(t.float64).numpy().copy()
    arr = np.asarray(leaf)
    if np.iscomplexobj(arr):
        raise TypeError("complex values are not checked")
    return arr.astype(np.float64)


def _like(template, values, wide):
    """A leaf of the template's library holding ``values`` (float64 when ``wide``, else the template's dtype)."""
    t, j = _torch(), _jax()
    if isinstance(template, float):
        return float(values.reshape(()))
    if t is not None and isinstance(template, t.Tensor):
        dtype = t.float64 if wide else template.dtype
        return t.as_tensor(values.reshape(template.shape), dtype=dtype, device=template.device)
    if j is not None and isinstance(template, j.Array):
        import jax.numpy as jnp

        return jnp.asarray(values.reshape(template.shape), dtype=jnp.float64 if wide else template.dtype)
    return values.reshape(np.shape(template)).astype(np.float64 if wide else np.asarray(template).dtype)


def _x64():
    j = _jax()
    if j is None:
        import contextlib

        return contextlib.nullcontext()
    return j.enable_x64(True)


def _abstract(leaves):
    j = _jax()
    if j is not None:
        from jax.core import Tracer

        if any(isinstance(x, Tracer) for x in leaves):
            return "called on traced values (inside jit or another JAX transform): there are no numbers to check"
    return None


class _Func:
    """The document's function as a map from one flat float64 vector to one flat vector: what FD needs."""

    def __init__(self, f, args, kwargs, argnums, pick, call_tuple=False):
        self.f, self.args, self.kwargs, self.pick, self.call_tuple = f, list(args), kwargs, pick, call_tuple
        self.argnums = argnums
        tree = tuple(self.args[a] for a in argnums) if isinstance(argnums, tuple) else self.args[argnums]
        self.leaves, self.rebuild = _flatten(tree)
        self.x0 = np.concatenate([_np(x).ravel() for x in self.leaves]) if self.leaves else np.zeros(0)
        self.sizes = [int(np.size(_np(x))) for x in self.leaves]
        self.wide = True
        self.evaluations = 0

    def __call__(self, x):
        leaves, i = [], 0
        for leaf, n in zip(self.leaves, self.sizes):
            leaves.append(_like(leaf, x[i:i + n], self.wide))
            i += n
        tree = self.rebuild(leaves)
        args = [self._widened(a) for a in self.args] if self.wide else list(self.args)
        if isinstance(self.argnums, tuple):
            for a, v in zip(self.argnums, tree):
                args[a] = v
        else:
            args[self.argnums] = tree
        self.evaluations += 1
        with _x64() if self.wide else _nullctx():
            out = self.f(*args, **self.kwargs)
            out = self.pick(out)
            outs, _ = _flatten(out)
            return np.concatenate([_np(o).ravel() for o in outs]) if outs else np.zeros(0)

    def _widened(self, arg):
        """Other floating arguments in float64 too, so float64 inputs do not meet float32 data (x @ W)."""
        leaves, rebuild = _flatten(arg)
        if not leaves:
            return arg
        return rebuild([_like(leaf, _np(leaf), True) if not isinstance(leaf, float) else leaf for leaf in leaves])

    def out_sizes(self):
        with _x64() if self.wide else _nullctx():
            out = self.pick(self.f(*self._args_at(), **self.kwargs))
        return [int(np.size(_np(o))) for o in _flatten(out)[0]]

    def _args_at(self):
        return self.args


def _nullctx():
    import contextlib

    return contextlib.nullcontext()


def _richardson(g, h):
    """Central difference of the scalar-step map ``g`` at 0, Richardson-extrapolated; and its error estimate."""
    d1 = (g(h) - g(-h)) / (2 * h)
    d2 = (g(h / 2) - g(-h / 2)) / h
    best = (4 * d2 - d1) / 3
    return best, np.abs(best - d2)


def _prepare(F):
    """Use float64 when the function accepts it; else its own dtype, with a wider step and a note."""
    try:
        F(F.x0)
        return 1e-3, ""
    except Exception as exc:
        F.wide = False
        F(F.x0)  # if this raises too, the caller reports it
        return 1e-2, f"the function rejects float64 inputs ({type(exc).__name__}); differences taken in its dtype"


def _directional(F, v, h):
    scale = max(1.0, float(np.max(np.abs(F.x0)))) if F.x0.size else 1.0
    return _richardson(lambda s: F(F.x0 + s * v), h * scale)


def _second(F, v, w, h):
    scale = max(1.0, float(np.max(np.abs(F.x0)))) if F.x0.size else 1.0
    hh = 10 * h * scale

    def d(s):
        return (F(F.x0 + s * v + s * w) - F(F.x0 + s * v - s * w) - F(F.x0 - s * v + s * w)
                + F(F.x0 - s * v - s * w)) / (4 * s * s)

    a, b = d(hh), d(hh / 2)
    best = (4 * b - a) / 3
    return best, np.abs(best - b)


def _directions(n, limit, seed=0):
    if n <= limit:
        return np.eye(n), "every input direction"
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((4, n))
    # Unit length, like the basis directions: the step along a direction must not grow with the input's size.
    return V / np.linalg.norm(V, axis=1, keepdims=True), "4 random unit directions (input too large for every one)"


def _blocks(result_leaves, out_sizes, in_sizes):
    """Assemble a Jacobian (sum(out) x sum(in)) from result leaves laid out output-major, input-minor."""
    if len(result_leaves) != len(out_sizes) * len(in_sizes):
        raise ValueError(f"result has {len(result_leaves)} leaves; expected {len(out_sizes)} x {len(in_sizes)}")
    rows, k = [], 0
    for m in out_sizes:
        row = []
        for n in in_sizes:
            row.append(_np(result_leaves[k]).reshape(m, n))
            k += 1
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


# ---------------------------------------------------------------- the checks


def _verdict_numbers(got, expected, fd_err, dtype, kind, tol):
    got, expected = np.ravel(got), np.ravel(expected)
    rtol, atol = tol[dtype][kind]
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    err = float(np.max(np.abs(got - expected))) if expected.size else 0.0
    bound = atol + rtol * scale + 10 * float(np.max(fd_err) if np.size(fd_err) else 0.0)
    if not (math.isfinite(err)):
        err = float("inf")
    return {"got": got[:_SHOWN].tolist(), "expected": expected[:_SHOWN].tolist(), "max_abs_err": err,
            "bound": bound, "rtol": rtol, "atol": atol, "dtype": dtype, "kind": kind,
            "fd_error_estimate": float(np.max(fd_err)) if np.size(fd_err) else 0.0, "size": int(expected.size)}


def check_jacobian(F, result_leaves, kind_of_result, tol):
    """grad / jacrev / jacfwd / autograd.functional.jacobian: claimed J against FD columns."""
    h, note = _prepare(F)
    outs = F.out_sizes()
    J = _blocks(result_leaves, outs if kind_of_result == "jacobian" else [1], F.sizes)
    V, how = _directions(F.x0.size, _MAX_FULL)
    cols, errs = [], []
    for v in V:
        d, e = _directional(F, v, h)
        cols.append(d)
        errs.append(e)
    expected = np.stack(cols, axis=1) if cols else np.zeros((sum(outs), 0))
    got = J @ V.T
    return _verdict_numbers(got, expected, np.array(errs), _dtype_name(result_leaves[0]), "first", tol), how, note


def check_vjp(F, cotangent, result_leaves, tol):
    h, note = _prepare(F)
    u = np.concatenate([_np(c).ravel() for c in _flatten(cotangent)[0]])
    g = np.concatenate([_np(r).ravel() for r in result_leaves])
    V, how = _directions(F.x0.size, _MAX_FULL)
    exp, errs = [], []
    for v in V:
        d, e = _directional(F, v, h)
        exp.append(float(u @ d))
        errs.append(float(np.abs(u) @ e))
    return _verdict_numbers(V @ g, np.array(exp), np.array(errs), _dtype_name(result_leaves[0]), "first", tol), how, note


def check_jvp(F, tangent_leaves, result_leaves, tol):
    h, note = _prepare(F)
    t = np.concatenate([_np(x).ravel() for x in tangent_leaves])
    d, e = _directional(F, t, h)
    got = np.concatenate([_np(r).ravel() for r in result_leaves])
    return _verdict_numbers(got, d, e, _dtype_name(result_leaves[0]), "first", tol), "the given tangent", note


def check_hessian(F, result_leaves, tol):
    """Second derivatives: v^T H_k w for each output component k, against four-point second differences."""
    h, note = _prepare(F)
    n = F.x0.size
    outs = F.out_sizes()
    # Layout: output-major, then input, then input (a tree product of the output with two copies of the input).
    blocks = []
    k = 0
    for m in outs:
        rows = []
        for na in F.sizes:
            row = []
            for nb in F.sizes:
                row.append(_np(result_leaves[k]).reshape(m, na, nb))
                k += 1
            rows.append(np.concatenate(row, axis=2))
        blocks.append(np.concatenate(rows, axis=1))
    if k != len(result_leaves):
        raise ValueError(f"result has {len(result_leaves)} leaves; expected {k}")
    H = np.concatenate(blocks, axis=0)
    if n <= _MAX_HESS:
        E = np.eye(n)
        vw = [(E[i], E[j]) for i in range(n) for j in range(n)]
        how = "every pair of input directions"
    else:
        rng = np.random.default_rng(0)
        unit = [v / np.linalg.norm(v) for v in rng.standard_normal((8, n))]
        vw = list(zip(unit[:4], unit[4:]))
        how = "4 random pairs of unit directions (input too large for every pair)"
    got, exp, errs = [], [], []
    for v, w in vw:
        d, e = _second(F, v, w, h)
        got.append(np.einsum("i,kij,j->k", v, H, w))
        exp.append(d)
        errs.append(e)
    return _verdict_numbers(np.concatenate(got), np.concatenate(exp), np.concatenate(errs),
                            _dtype_name(result_leaves[0]), "second", tol), how, note


def check_hvp(F, v_leaves, result_leaves, tol):
    h, note = _prepare(F)
    v = np.concatenate([_np(x).ravel() for x in v_leaves])
    got_vec = np.concatenate([_np(r).ravel() for r in result_leaves])
    E, how = _directions(F.x0.size, _MAX_FULL)
    got, exp, errs = [], [], []
    for e_i in E:
        d, err = _second(F, e_i, v, h)
        got.append(float(e_i @ got_vec))
        exp.append(float(d[0]))
        errs.append(float(err[0]))
    return _verdict_numbers(np.array(got), np.array(exp), np.array(errs), _dtype_name(result_leaves[0]), "second",
                            tol), how, note


def _take(x, b, axis, lib):
    if lib == "torch":
        return x.select(axis, b)
    import jax.numpy as jnp

    return jnp.take(x, b, axis=axis)


def _map_leaves(tree, fn):
    if isinstance(tree, (tuple, list)) and not hasattr(tree, "shape"):
        out = [_map_leaves(t, fn) for t in tree]
        return type(tree)(*out) if hasattr(type(tree), "_fields") else type(tree)(out)
    if isinstance(tree, dict):
        return {k: _map_leaves(v, fn) for k, v in tree.items()}
    return fn(tree) if hasattr(tree, "shape") else tree


def _slice(axes, tree, b, lib):
    """Slice ``b`` of ``tree`` along ``axes``, a prefix tree of ints and None (vmap's in_dims/in_axes)."""
    if axes is None:
        return tree
    if isinstance(axes, int):
        return _map_leaves(tree, lambda x: _take(x, b, axes, lib))
    if isinstance(axes, (tuple, list)):
        if len(axes) != len(tree):
            raise _Unverifiable("in_dims/in_axes do not match the arguments' structure")
        out = [_slice(a, t, b, lib) for a, t in zip(axes, tree)]
        return type(tree)(*out) if hasattr(type(tree), "_fields") else type(tree)(out)
    if isinstance(axes, dict):
        return {k: _slice(axes.get(k, None), v, b, lib) for k, v in tree.items()}
    raise _Unverifiable(f"in_dims/in_axes of type {type(axes).__name__} are not checked")


def _stack(axes, outs):
    """Combine per-slice outputs as vmap would: stacked along ``axes`` (a prefix tree), or unmapped for None."""
    first = outs[0]
    if axes is None:
        return first
    if isinstance(first, (tuple, list)) and not hasattr(first, "shape"):
        parts = axes if isinstance(axes, (tuple, list)) else [axes] * len(first)
        return [_stack(a, [o[i] for o in outs]) for i, a in enumerate(parts)]
    if isinstance(first, dict):
        return {k: _stack(axes.get(k) if isinstance(axes, dict) else axes, [o[k] for o in outs]) for k in first}
    if isinstance(axes, int) and (hasattr(first, "shape") or isinstance(first, (int, float))):
        return np.stack([_np(o) for o in outs], axis=axes)
    raise _Unverifiable("out_dims/out_axes do not match the output's structure")


def check_vmap(f, in_dims, out_dims, args, kwargs, result, lib, tol, axis_name=None):
    """The loop identity: vmap(f)(xs) equals f applied to each slice, combined as vmap combines them."""
    if axis_name is not None:
        raise _Unverifiable("uses a named axis (collectives): there is no per-example loop to compare with")
    dims = tuple(in_dims) if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
    sizes = []

    def collect(axes, tree):
        if axes is None:
            return
        if isinstance(axes, int):
            _map_leaves(tree, lambda x: sizes.append(x.shape[axes]))
        elif isinstance(axes, (tuple, list)):
            for a, t in zip(axes, tree):
                collect(a, t)
        elif isinstance(axes, dict):
            for k, v in tree.items():
                collect(axes.get(k), v)

    collect(dims, tuple(args))
    if not sizes:
        raise _Unverifiable("no mapped array argument")
    outs = [f(*_slice(dims, tuple(args), b, lib), **kwargs) for b in range(sizes[0])]
    expected = _stack(out_dims, outs)
    got_leaves = [_np(r) for r in _flatten(result)[0]]
    exp_leaves = [np.asarray(e, dtype=np.float64) for e in _flatten_np(expected)]
    if [g.shape for g in got_leaves] != [e.shape for e in exp_leaves]:
        raise _Unverifiable(f"the loop's outputs have shapes {[e.shape for e in exp_leaves]}, vmap's "
                            f"{[g.shape for g in got_leaves]}: not comparable leaf by leaf")
    got = np.concatenate([g.ravel() for g in got_leaves]) if got_leaves else np.zeros(0)
    exp = np.concatenate([e.ravel() for e in exp_leaves]) if exp_leaves else np.zeros(0)
    dtype = _dtype_name(_flatten(result)[0][0]) if _flatten(result)[0] else "float32"
    return _verdict_numbers(got, exp, np.zeros(1), dtype, "identity", tol), "loop over the batch", ""


def _flatten_np(tree):
    """Leaves of a stacked tree in ``_flatten``'s order (dict keys sorted), float leaves only."""
    if isinstance(tree, np.ndarray):
        return [tree] if np.issubdtype(tree.dtype, np.inexact) else []
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _flatten_np(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree, key=repr) for leaf in _flatten_np(tree[k])]
    return [np.asarray(_np(tree))] if _is_leaf(tree) else []


class _Unverifiable(Exception):
    pass


# ---------------------------------------------------------------- interception


def _site():
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        if name.startswith("<cell "):
            return int(name[6:-1]), f.f_lineno
        f = f.f_back
    return _STATE["cell"], None


_STOPS = ("no_grad", "detach", "stop_gradient", "inference_mode", "requires_grad_(False)")


def _stops_gradient(f):
    """Whether the function's own source stops gradients: the transform follows that on purpose, so its result
    is not the derivative of the function's values.  Recorded so the report can say so next to a false verdict."""
    try:
        source = inspect.getsource(f)
    except (OSError, TypeError):
        return []
    return [word for word in _STOPS if word in source]


_MOVED = ("the function's state changed between the call and its check (the cell updated something it reads): "
          "checked the transform recomputed at the call's inputs")


def _checked(name, site, f, run, result, recompute):
    """Run one queued check after its cell, never letting it disturb the document: failures become unverifiable."""
    cell, line = site
    rec = {"type": "derivative", "cell": cell, "line": line, "transform": name}
    stops = _stops_gradient(f) if f is not None else []
    if stops:
        rec["stops_gradient"] = stops
    _STATE["busy"] += 1
    started = time.perf_counter()
    saved = _ledger.save_rng()  # the check calls the function many times: the document's random stream must not move
    try:
        fresh = recompute()
        moved = not _ledger.same_values([_np(x) for x in _flatten(fresh)[0]], [_np(x) for x in _flatten(result)[0]])
        numbers, how, note = run(fresh if moved else result)
        rec.update(status="checked", directions=how, note="; ".join(n for n in (note, moved and _MOVED) if n),
                   **numbers)
    except _Unverifiable as exc:
        rec.update(status="unverifiable", reason=str(exc))
    except Exception as exc:
        rec.update(status="unverifiable", reason=f"the check could not evaluate the function: "
                                                 f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        _ledger.restore_rng(saved)
        _STATE["busy"] -= 1
        rec["duration_s"] = round(time.perf_counter() - started, 4)
    return rec


def _record(name, site, f, options, inputs, result, check, recompute, *, _book=_LEDGER):
    """Count one top-level call (``ledger``); when it is new and under its site's cap, copy its inputs and result
    and queue its check for the end of the cell: ``check(inputs, result)`` gives the numbers, ``recompute(inputs)``
    the transform's result anew."""
    k = _ledger.key(name, site, f, options, inputs)
    if _book.admit(k):
        inputs, result = _ledger.snapshot(inputs), _ledger.snapshot(result)
        _book.defer(k, lambda: _checked(name, site, f, lambda r: check(inputs, r), result,
                                          lambda: recompute(inputs)))


def _unverifiable(name, site, reason, *, _book=_LEDGER):
    """A call with nothing to check (traced values, a recorded graph): one record per site and reason."""
    k = (name, site, reason)
    if _book.admit(k, capped=False):
        rec = {"type": "derivative", "cell": site[0], "line": site[1], "transform": name, "status": "unverifiable",
               "reason": reason}
        _book.defer(k, lambda: dict(rec))


def _top_level():
    return _STATE["busy"] == 0


def _wrap_applied(name, transform, make_check, *, _record=_record, _unverifiable=_unverifiable):
    """For transforms used as ``T(f, ...)(*args)``: account for each top-level call of the transformed function."""

    def wrapped_transform(f, *targs, **tkw):
        g = transform(f, *targs, **tkw)

        def call(*args, **kwargs):
            if not _top_level():
                return g(*args, **kwargs)
            site = _site()
            _STATE["busy"] += 1
            try:
                result = g(*args, **kwargs)
            finally:
                _STATE["busy"] -= 1
            reason = _abstract(_flatten(list(args))[0])
            if reason:
                _unverifiable(name, site, reason)
                return result
            _record(name, site, f, (targs, tkw), (args, kwargs), result,
                    lambda i, r: make_check(f, targs, tkw, i[0], i[1], r), lambda i: g(*i[0], **i[1]))
            return result

        call.__wrapped__ = g
        for attr in ("__name__", "__qualname__", "__doc__"):
            try:
                setattr(call, attr, getattr(g, attr))
            except (AttributeError, TypeError):
                pass
        return call

    wrapped_transform.__wrapped__ = transform
    wrapped_transform.__doc__ = transform.__doc__
    wrapped_transform.__name__ = getattr(transform, "__name__", name)
    return wrapped_transform


def _argnums(targs, tkw, pos=0, default=0):
    value = tkw.get("argnums", targs[pos] if len(targs) > pos else default)
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _first(has_aux):
    return (lambda out: out[0]) if has_aux else (lambda out: out)


def _grad_check(lib, with_value):
    def make(f, targs, tkw, args, kwargs, result):
        has_aux = tkw.get("has_aux", targs[1] if len(targs) > 1 else False)
        argnums = _argnums(targs, tkw)
        F = _Func(f, args, kwargs, argnums, _first(has_aux))
        g = result
        if with_value:
            g = result[0] if lib == "torch" else result[1]
        elif has_aux:
            g = result[0]
        return check_jacobian(F, _flatten(g)[0], "grad", _TOL)

    return make


def _jac_check(f, targs, tkw, args, kwargs, result):
    has_aux = tkw.get("has_aux", False)
    F = _Func(f, args, kwargs, _argnums(targs, tkw), _first(has_aux))
    jac = result[0] if has_aux else result
    return check_jacobian(F, _flatten(jac)[0], "jacobian", _TOL)


def _hessian_check(f, targs, tkw, args, kwargs, result):
    F = _Func(f, args, kwargs, _argnums(targs, tkw), _first(tkw.get("has_aux", False)))
    res = result[0] if tkw.get("has_aux", False) else result
    return check_hessian(F, _flatten(res)[0], _TOL)


def _vmap_check(lib):
    def make(f, targs, tkw, args, kwargs, result):
        in_dims = tkw.get("in_dims", tkw.get("in_axes", targs[0] if targs else 0))
        out_dims = tkw.get("out_dims", tkw.get("out_axes", targs[1] if len(targs) > 1 else 0))
        _STATE["busy"] += 1
        try:
            return check_vmap(f, in_dims, out_dims, args, kwargs, result, lib, _TOL, tkw.get("axis_name"))
        finally:
            _STATE["busy"] -= 1

    return make


def _wrap_vjp(name, vjp, *, _record=_record):
    def wrapped(f, *primals, **kw):
        if not _top_level():
            return vjp(f, *primals, **kw)
        site = _site()
        _STATE["busy"] += 1
        try:
            out = vjp(f, *primals, **kw)
        finally:
            _STATE["busy"] -= 1
        has_aux = kw.get("has_aux", False)
        inner = out[1]

        def vjp_fn(*cts, **ckw):
            top = _top_level()
            _STATE["busy"] += 1  # the library's own internals (torch.autograd.grad) are not the document's calls
            try:
                res = inner(*cts, **ckw)
            finally:
                _STATE["busy"] -= 1
            if top:
                def check(i, r):
                    ct = i[1][0] if len(i[1]) == 1 else i[1]
                    F = _Func(f, i[0], {}, tuple(range(len(i[0]))), _first(has_aux))
                    return check_vjp(F, ct, _flatten(r)[0], _TOL)

                _record(name, site, f, kw, (primals, cts, ckw), res, check,
                        lambda i: vjp(f, *i[0], **kw)[1](*i[1], **i[2]))
            return res

        return (out[0], vjp_fn, *out[2:])

    wrapped.__wrapped__ = vjp
    wrapped.__doc__ = vjp.__doc__
    return wrapped


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _wrap_jvp(name, jvp, *, _record=_record):
    def wrapped(f, primals, tangents, *rest, **kw):
        if not _top_level():
            return jvp(f, primals, tangents, *rest, **kw)
        site = _site()
        _STATE["busy"] += 1
        try:
            out = jvp(f, primals, tangents, *rest, **kw)
        finally:
            _STATE["busy"] -= 1
        has_aux = kw.get("has_aux", False)

        def check(i, r):
            p = _tuple(i[0])
            F = _Func(f, p, {}, tuple(range(len(p))), _first(has_aux))
            return check_jvp(F, _flatten(_tuple(i[1]))[0], _flatten(r[1])[0], _TOL)

        _record(name, site, f, kw, (primals, tangents, rest), out, check, lambda i: jvp(f, i[0], i[1], *i[2], **kw))
        return out

    wrapped.__wrapped__ = jvp
    wrapped.__doc__ = jvp.__doc__
    return wrapped


def _wrap_autograd_functional(name, fn, check, *, _record=_record):
    """torch.autograd.functional.*: (func, inputs, [v]) -> result, checked directly."""

    def wrapped(func, inputs, *rest, **kw):
        if not _top_level():
            return fn(func, inputs, *rest, **kw)
        site = _site()
        _STATE["busy"] += 1
        try:
            out = fn(func, inputs, *rest, **kw)
        finally:
            _STATE["busy"] -= 1

        def run(i, r):
            is_tuple = isinstance(i[0], tuple)
            args = i[0] if is_tuple else (i[0],)
            v = i[1][0] if i[1] else i[2].get("v")
            return check(_Func(func, args, {}, tuple(range(len(args))) if is_tuple else 0, lambda o: o), v, r)

        _record(name, site, func, kw, (inputs, rest, kw), out, run, lambda i: fn(func, i[0], *i[1], **i[2]))
        return out

    wrapped.__wrapped__ = fn
    wrapped.__doc__ = fn.__doc__
    return wrapped


def _wrap_autograd_grad(name, fn, *, _unverifiable=_unverifiable):
    def wrapped(*args, **kw):
        caller = sys._getframe(1).f_code.co_filename
        if _top_level() and caller.startswith("<cell "):  # the document's own call, not a library's
            _unverifiable(name, _site(), "torch.autograd.grad receives a recorded graph, not a function: "
                                         "there is nothing to difference")
        return fn(*args, **kw)

    wrapped.__wrapped__ = fn
    wrapped.__doc__ = fn.__doc__
    return wrapped


def _install_torch():
    import torch
    import torch.autograd.functional as AF
    import torch.func as TF

    grad_check = _grad_check("torch", False)
    table = {
        "grad": _wrap_applied("torch.func.grad", TF.grad, grad_check),
        "grad_and_value": _wrap_applied("torch.func.grad_and_value", TF.grad_and_value, _grad_check("torch", True)),
        "jacrev": _wrap_applied("torch.func.jacrev", TF.jacrev, _jac_check),
        "jacfwd": _wrap_applied("torch.func.jacfwd", TF.jacfwd, _jac_check),
        "hessian": _wrap_applied("torch.func.hessian", TF.hessian, _hessian_check),
        "vmap": _wrap_applied("torch.func.vmap", TF.vmap, _vmap_check("torch")),
        "vjp": _wrap_vjp("torch.func.vjp", TF.vjp),
        "jvp": _wrap_jvp("torch.func.jvp", TF.jvp),
    }
    for k, v in table.items():
        setattr(TF, k, v)
    torch.vmap = table["vmap"]
    torch.autograd.grad = _wrap_autograd_grad("torch.autograd.grad", torch.autograd.grad)

    def jac(F, v, out):
        return check_jacobian(F, _flatten(out)[0], "jacobian", _TOL)

    def hess(F, v, out):
        return check_hessian(F, _flatten(out)[0], _TOL)

    def vjp(F, v, out):
        ones = v if v is not None else 1.0
        return check_vjp(F, ones, _flatten(out[1])[0], _TOL)

    def jvp(F, v, out):
        return check_jvp(F, _flatten(v)[0], _flatten(out[1])[0], _TOL)

    def hvp(F, v, out):
        return check_hvp(F, _flatten(v)[0], _flatten(out[1])[0], _TOL)

    for k, check in (("jacobian", jac), ("hessian", hess), ("vjp", vjp), ("jvp", jvp), ("hvp", hvp), ("vhp", hvp)):
        setattr(AF, k, _wrap_autograd_functional(f"torch.autograd.functional.{k}", getattr(AF, k), check))


def _install_jax():
    import jax

    table = {
        "grad": _wrap_applied("jax.grad", jax.grad, _grad_check("jax", False)),
        "value_and_grad": _wrap_applied("jax.value_and_grad", jax.value_and_grad, _grad_check("jax", True)),
        "jacrev": _wrap_applied("jax.jacrev", jax.jacrev, _jac_check),
        "jacfwd": _wrap_applied("jax.jacfwd", jax.jacfwd, _jac_check),
        "hessian": _wrap_applied("jax.hessian", jax.hessian, _hessian_check),
        "vmap": _wrap_applied("jax.vmap", jax.vmap, _vmap_check("jax")),
        "vjp": _wrap_vjp("jax.vjp", jax.vjp),
        "jvp": _wrap_jvp("jax.jvp", jax.jvp),
    }
    for k, v in table.items():
        setattr(jax, k, v)


_INSTALLERS = {"torch": _install_torch, "jax": _install_jax}
_TOL = {}


# ---------------------------------------------------------------- running cells


def _run_cell(index, cell, namespace, *, _emit=_emit, _book=_LEDGER):
    """Run one cell statement by statement; each statement's output is kept for line-level expectations.  The
    transform checks the cell queued run after it, outside its time (``ledger``), their output discarded."""
    out, err = _output.Capture(), _output.Capture()
    record = {"type": "cell", "cell": index, "status": "ok", "exception": None, "display": None, "statements": {}}
    wanted = set(cell.get("statement_lines", []))
    sys.stdout = sys.__stdout__ = out
    sys.stderr = err
    _STATE["cell"] = index
    _book.begin()
    started = time.perf_counter()
    # Registered so that tracebacks and inspect.getsource see the document's own lines.
    linecache.cache[f"<cell {index}>"] = (len(cell["source"]), None, cell["source"].splitlines(True), f"<cell {index}>")
    current = None
    try:
        tree = ast.parse(cell["source"], filename=f"<cell {index}>")
        body = tree.body
        for k, stmt in enumerate(body):
            before, current = out.size, stmt.lineno
            last = k == len(body) - 1
            if isinstance(stmt, ast.Expr):
                code = compile(ast.Expression(stmt.value), f"<cell {index}>", "eval")
                value = eval(code, namespace)
                shown = _output.display(value)
                if last and shown is not None:
                    record["value"] = shown  # what Jupyter and sphinx-gallery show, whatever this cell displays
                quiet = last and cell["display"] == "last" and _output.ends_with_semicolon(cell["source"])
                if shown is not None and not quiet and (cell["display"] == "all" or
                                                        (cell["display"] == "last" and last)):
                    if cell["display"] == "all":
                        out.write(shown + "\n")
                    else:
                        record["display"] = shown
                if stmt.lineno in wanted:
                    text = out.text()[before:] if out.size > before else ""
                    record["statements"][str(stmt.lineno)] = text if text else (shown or "")
            else:
                exec(compile(ast.Module([stmt], []), f"<cell {index}>", "exec"), namespace)
    except BaseException as exc:  # the document's own failure is the evidence
        record["status"] = "raised"
        tb = traceback.extract_tb(exc.__traceback__)
        line = next((fr.lineno for fr in reversed(tb) if fr.filename == f"<cell {index}>"), None)
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        record["exception"] = {"type": name, "message": str(exc)[:2000], "line": line}
        if current is not None:
            record["exception"]["statement_line"] = current
    finally:
        sys.stdout = sys.__stdout__ = _REAL_STDOUT
        sys.stderr = sys.__stderr__
    record["duration_s"] = round(time.perf_counter() - started, 4)
    sys.stdout = sys.__stdout__ = _output.Capture()  # what the checked functions print is not the cell's output
    try:
        _book.drain(_emit, lambda rec: "duration_s" in rec)
    finally:
        sys.stdout = sys.__stdout__ = _REAL_STDOUT
    if _book.counts["calls"]:
        record["transform_calls"] = dict(_book.counts)
    record["stdout"] = out.text()
    record["stderr"] = err.text()[-2000:]
    record["dropped_chars"] = out.dropped + err.dropped
    _emit(record)


def main(payload, *, _emit=_emit, _run_cell=_run_cell):
    _TOL.update(payload["tolerances"])
    for lib in payload["libraries"]:
        try:
            _INSTALLERS[lib]()
            _devices.install(lib, payload.get("device_map") or {})
            _emit({"type": "setup", "library": lib, "version": str(sys.modules[lib].__version__)})
        except Exception as exc:
            _emit({"type": "setup", "library": lib, "error": f"{type(exc).__name__}: {exc}"})
    namespace = {"__name__": "__main__"}
    if payload.get("namespace"):
        import importlib

        namespace.update(vars(importlib.import_module(payload["namespace"])))
        namespace["__name__"] = "__main__"
    for stmt in payload.get("prelude", []):
        exec(stmt, namespace)
    for index, cell in enumerate(payload["cells"]):
        if cell.get("skipped"):
            _emit({"type": "cell", "cell": index, "status": "skipped", "reason": cell["skipped"]})
            continue
        _emit({"type": "start", "cell": index})
        _run_cell(index, cell, namespace)
