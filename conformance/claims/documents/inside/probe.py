"""The sandbox's half of a derivative check: the document's function evaluated at the host's points.

Why only this half: the function a document differentiates lives in the document's process, but the oracle does
not belong there.  So a check here is a :class:`Question`: what the call was (its kind, the input and output sizes,
the dtype, the scale of the inputs: ``begin``), and :meth:`Question.answer`, which takes the host's plan and gives
back numbers, nothing decided:

- ``values``: the function at each planned point, ``x0 + sum(c * D[k])`` for the plan's sparse combinations of
  directions ``D`` (the input basis, unit directions drawn from the plan's seed, and the call's own tangent or
  vector when the plan asks for it), projected on the plan's output directions when it names some;
- ``claims``: the transform's result seen along the same directions (``J D[k]``, ``g . D[k]``, ``D[k]' H D[l]``).

The finite differences, their extrapolation, the tolerance and the comparison are the host's
(``conformance.claims.documents.oracle``).  The numbers here can be forged by the document, as anything in its process
can; what cannot happen any more is a document (or a bug here) changing how a verdict is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.claims.documents.inside import trees


class Unverifiable(Exception):
    """This call has nothing the host could check (the message says why)."""


class Function:
    """The document's function as a map from one flat float64 vector to one flat vector."""

    def __init__(self, f: Callable[..., Any], args: Any, kwargs: dict[str, Any], argnums: int | tuple[int, ...],
                 pick: Callable[[Any], Any]) -> None:
        self.f, self.args, self.kwargs, self.pick, self.argnums = f, list(args), kwargs, pick, argnums
        tree = tuple(self.args[a] for a in argnums) if isinstance(argnums, tuple) else self.args[argnums]
        self.leaves, self.rebuild = trees.flatten(tree)
        self.x0 = np.concatenate([trees.to_numpy(x).ravel() for x in self.leaves]) if self.leaves else np.zeros(0)
        self.sizes = [int(np.size(trees.to_numpy(x))) for x in self.leaves]
        self.wide = True
        self.note = ""

    def start(self) -> np.ndarray:
        """The value at the inputs: in float64 when the function accepts it, else in its own dtype (noted)."""
        try:
            return self(self.x0)
        except Exception as exc:
            self.wide = False
            self.note = (f"the function rejects float64 inputs ({type(exc).__name__}); differences taken in its "
                         "dtype")
            return self(self.x0)  # if this raises too, the caller reports it

    def __call__(self, x: np.ndarray) -> np.ndarray:
        leaves, i = [], 0
        for leaf, n in zip(self.leaves, self.sizes):
            leaves.append(trees.like(leaf, x[i:i + n], self.wide))
            i += n
        tree = self.rebuild(leaves)
        args = [self._widened(a) for a in self.args] if self.wide else list(self.args)
        if isinstance(self.argnums, tuple):
            for a, v in zip(self.argnums, tree):
                args[a] = v
        else:
            args[self.argnums] = tree
        with trees.x64(self.wide):
            return trees.flat(self.pick(self.f(*args, **self.kwargs)))

    def _widened(self, arg: Any) -> Any:
        """Other floating arguments in float64 too, so float64 inputs do not meet float32 data (x @ W)."""
        leaves, rebuild = trees.flatten(arg)
        if not leaves:
            return arg
        return rebuild([trees.like(x, trees.to_numpy(x), True) if not isinstance(x, float) else x for x in leaves])

    @property
    def scale(self) -> float:
        return max(1.0, float(np.max(np.abs(self.x0)))) if self.x0.size else 1.0


def _unit_rows(spec: dict[str, Any], size: int) -> np.ndarray:
    """``spec["random"]`` unit vectors of ``size`` drawn from ``spec["seed"]`` (NumPy's default generator)."""
    rows = np.random.default_rng(int(spec["seed"])).standard_normal((int(spec["random"]), size))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class Question:
    """One check: ``begin`` for the host, then :meth:`answer` to its plan (see the module)."""

    def __init__(self, kind: str, fn: Function | None, dtype: str, m: int, *, given: np.ndarray | None = None,
                 cotangent: np.ndarray | None = None, claim: Callable[[list[Any], Any], np.ndarray] | None = None,
                 loop: tuple[np.ndarray, np.ndarray] | None = None, **extra: Any) -> None:
        self.kind, self.fn, self.given, self.cotangent, self.claim = kind, fn, given, cotangent, claim
        self.loop = loop
        """vmap's result and the stacked loop (``kind == "vmap"``), compared by the host."""
        self.begin = {"check": kind, "dtype": dtype, "m": int(m), **extra}
        if fn is not None:
            self.begin.update(n=int(fn.x0.size), scale=fn.scale, note=fn.note, wide=fn.wide)

    def directions(self, plan: dict[str, Any]) -> list[np.ndarray]:
        assert self.fn is not None
        n = self.fn.x0.size
        spec = plan.get("directions") or {}
        rows: list[np.ndarray] = []
        if spec.get("basis"):
            rows = list(np.eye(n))
        elif spec.get("random"):
            rows = list(_unit_rows(spec, n))
        if plan.get("given"):
            if self.given is None:
                raise Unverifiable("the plan asks for the call's own direction, and it has none")
            rows.append(self.given)
        return rows

    def outputs(self, plan: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
        spec = plan.get("outputs")
        if spec == "cotangent":
            u = self.cotangent
            if u is None:
                raise Unverifiable("the plan asks for the cotangent, and the call has none")
            return lambda y: np.atleast_1d(u @ y)
        if isinstance(spec, dict):
            rows = _unit_rows(spec, int(self.begin["m"]))
            return lambda y: rows @ y
        return lambda y: y

    def answer(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The values and claims the plan asks for: lists of floats, in the plan's order."""
        if self.kind == "vmap":
            return self._loop(plan)
        assert self.fn is not None and self.claim is not None
        rows, project = self.directions(plan), self.outputs(plan)
        values = []
        for combo in plan["points"]:
            x = self.fn.x0.copy()
            for k, c in combo:
                x = x + float(c) * rows[int(k)]
            values.append(project(self.fn(x)).tolist())
        claims = [np.atleast_1d(self.claim(spec, (rows, project))).tolist() for spec in plan["claims"]]
        return {"values": values, "claims": claims}

    def _loop(self, plan: dict[str, Any]) -> dict[str, Any]:
        assert self.loop is not None
        got, expected = self.loop
        idx = plan.get("indices")
        if idx is not None:
            got, expected = got[np.asarray(idx, dtype=int)], expected[np.asarray(idx, dtype=int)]
        return {"got": got.tolist(), "expected": expected.tolist()}


def blocks(leaves: list[Any], out_sizes: list[int], in_sizes: list[int]) -> np.ndarray:
    """A Jacobian (sum(out) x sum(in)) from result leaves laid out output-major, input-minor (jacrev's layout)."""
    if len(leaves) != len(out_sizes) * len(in_sizes):
        raise ValueError(f"result has {len(leaves)} leaves; expected {len(out_sizes)} x {len(in_sizes)}")
    rows, k = [], 0
    for m in out_sizes:
        row = []
        for n in in_sizes:
            row.append(trees.to_numpy(leaves[k]).reshape(m, n))
            k += 1
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def hessian_blocks(leaves: list[Any], out_sizes: list[int], in_sizes: list[int]) -> np.ndarray:
    """Second derivatives (outputs x inputs x inputs): output-major, then input, then input (a tree product)."""
    out, k = [], 0
    for m in out_sizes:
        rows = []
        for na in in_sizes:
            row = []
            for nb in in_sizes:
                row.append(trees.to_numpy(leaves[k]).reshape(m, na, nb))
                k += 1
            rows.append(np.concatenate(row, axis=2))
        out.append(np.concatenate(rows, axis=1))
    if k != len(leaves):
        raise ValueError(f"result has {len(leaves)} leaves; expected {k}")
    return np.concatenate(out, axis=0)


def _out_sizes(fn: Function) -> list[int]:
    with trees.x64(fn.wide):
        args = [fn._widened(a) for a in fn.args] if fn.wide else fn.args
        out = fn.pick(fn.f(*args, **fn.kwargs))
    return [int(np.size(trees.to_numpy(o))) for o in trees.flatten(out)[0]]


def jacobian(fn: Function, result_leaves: list[Any], of: str) -> Question:
    """grad / jacrev / jacfwd / autograd.functional.jacobian: the claimed J along the host's directions."""
    fn.start()
    outs = _out_sizes(fn)
    J = blocks(result_leaves, outs if of == "jacobian" else [1], fn.sizes)

    def claim(spec: list[Any], seen: Any) -> np.ndarray:
        rows, project = seen
        return project(J @ rows[int(spec[1])])

    return Question("jacobian", fn, trees.dtype_name(result_leaves[0]), sum(outs), claim=claim)


def vjp(fn: Function, cotangent: Any, result_leaves: list[Any]) -> Question:
    fn.start()
    u = trees.flat(cotangent)
    g = np.concatenate([trees.to_numpy(r).ravel() for r in result_leaves])
    return Question("vjp", fn, trees.dtype_name(result_leaves[0]), u.size, cotangent=u,
                    claim=lambda spec, seen: np.atleast_1d(g @ seen[0][int(spec[1])]))


def jvp(fn: Function, tangent_leaves: list[Any], result_leaves: list[Any]) -> Question:
    fn.start()
    t = np.concatenate([trees.to_numpy(x).ravel() for x in tangent_leaves])
    jt = np.concatenate([trees.to_numpy(r).ravel() for r in result_leaves])
    return Question("jvp", fn, trees.dtype_name(result_leaves[0]), jt.size, given=t,
                    claim=lambda spec, seen: seen[1](jt))


def hessian(fn: Function, result_leaves: list[Any]) -> Question:
    fn.start()
    outs = _out_sizes(fn)
    H = hessian_blocks(result_leaves, outs, fn.sizes)

    def claim(spec: list[Any], seen: Any) -> np.ndarray:
        rows, project = seen
        return project(np.einsum("i,kij,j->k", rows[int(spec[1])], H, rows[int(spec[2])]))

    return Question("hessian", fn, trees.dtype_name(result_leaves[0]), sum(outs), claim=claim)


def hvp(fn: Function, v_leaves: list[Any], result_leaves: list[Any]) -> Question:
    fn.start()
    v = np.concatenate([trees.to_numpy(x).ravel() for x in v_leaves])
    hv = np.concatenate([trees.to_numpy(r).ravel() for r in result_leaves])
    return Question("hvp", fn, trees.dtype_name(result_leaves[0]), sum(_out_sizes(fn)), given=v,
                    claim=lambda spec, seen: np.atleast_1d(seen[0][int(spec[1])] @ hv))


def loop(got: np.ndarray, expected: np.ndarray, dtype: str) -> Question:
    """vmap against the loop over its batch, both computed here; the host compares them."""
    return Question("vmap", None, dtype, got.size, loop=(got, expected), size=int(got.size))
