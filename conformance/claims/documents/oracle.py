"""The evidence stage for a document's transform calls: the host plans the points and judges the values.

Why here and not in the sandbox: the document's function lives in its sandboxed process, but how a derivative is
checked (the finite differences, their steps, the tolerance, the comparison) must not.  Every check is a
conversation (``conformance.claims.article.conversation``): the harness's ``begin`` ask describes one intercepted call
(``inside.probe``: its kind, input and output sizes, dtype, input scale); :meth:`Oracle.answer` replies with a
plan (which directions, which points, which views of the claimed result); the harness evaluates the function at
those points and sends its ``answer``; the oracle then computes the differences with the battery's engine
(``backends.differences``), takes the bound from the battery's tolerance table (``conformance.battery.tolerances``),
compares with the battery's comparison (``conformance.battery.compare``) and writes the derivative record that stands in
the channel in the ask's place.  The sandbox can send unverifiable derivative records of its own (they carry no
numbers), never a checked one.

The plan, written down once here:

- first derivatives (grad, jacrev, jacfwd, vjp, jvp, autograd.functional.jacobian/vjp/jvp): every input direction
  when the input has at most :data:`MAX_FULL` numbers, else :data:`RANDOM` unit directions; central differences at
  steps ``H`` and ``H/2`` with ``H = STEP * max(1, max|x|)``, Richardson-extrapolated; jvp steps along its tangent;
- second derivatives (hessian, hvp): every pair of input directions up to :data:`MAX_HESS` numbers, else
  :data:`RANDOM` random pairs; mixed second differences at ``10 H`` and ``5 H``;
- outputs: all of them up to :data:`MAX_OUT` numbers, else their projections on :data:`RANDOM` unit directions
  (vjp: on its cotangent);
- vmap: the stacked per-example loop against vmap's result, all numbers up to :data:`MAX_SAMPLE`, else a sample of
  that many positions the host draws.

The bound is the tolerance table's ``atol + rtol * max|expected|`` for the result's dtype and kind (first, second,
identity), plus ten times the extrapolation's own error estimate (a float32-only function's differences are far
noisier than the transform's rounding).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backends import differences
from conformance.battery.compare import compare
from conformance.battery.tolerances import Tolerance, tolerance
from conformance.claims.article.conversation import AskError

MAX_FULL = 64
MAX_HESS = 12
MAX_OUT = 64
MAX_SAMPLE = 4096
RANDOM = 4
STEP = {True: 1e-3, False: 1e-2}
"""The first step relative to the inputs' scale: in float64 (``True``), or in a function's own dtype when it
rejects float64 (``False``: float32 rounding would swamp a smaller step)."""
FD_NOISE = 10.0
"""Multiple of the extrapolation's error estimate added to the bound."""
SHOWN = 24
"""Numbers of got/expected a record keeps (``protocol.SHOWN``)."""
KINDS = {"jacobian": "first", "vjp": "first", "jvp": "first", "hessian": "second", "hvp": "second",
         "vmap": "identity"}
_HEAD = ("cell", "line", "transform", "stops_gradient")


def _int(begin: dict[str, Any], name: str) -> int:
    v = begin.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise AskError(f"a check's {name!r} is not a count: {str(v)[:40]}")
    return v


def _directions(n: int, limit: int, seed: int = 0, count: int = RANDOM) -> tuple[dict[str, Any], int, str]:
    if n <= limit:
        return {"basis": True}, n, "every input direction"
    return ({"random": count, "seed": seed}, count,
            f"{RANDOM} random unit directions (input too large for every one)")


def plan_for(begin: dict[str, Any]) -> dict[str, Any]:
    """What the harness is to evaluate for one check (see the module): a function of the ``begin`` ask alone."""
    kind = begin.get("check")
    if kind not in KINDS:
        raise AskError(f"a check of unknown kind {str(kind)[:40]!r}")
    m = _int(begin, "m")
    if kind == "vmap":
        size = _int(begin, "size")
        if size <= MAX_SAMPLE:
            return {"indices": None, "how": "loop over the batch"}
        idx = np.sort(np.random.default_rng(2).choice(size, MAX_SAMPLE, replace=False))
        return {"indices": idx.tolist(), "how": f"loop over the batch ({MAX_SAMPLE} of {size} numbers, "
                                                "positions drawn by the host)"}
    n = _int(begin, "n")
    scale = begin.get("scale")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale < 1:
        raise AskError(f"a check's scale is not a number >= 1: {str(scale)[:40]}")
    h = STEP[begin.get("wide") is not False] * float(scale)
    outputs: Any = None if m <= MAX_OUT else {"random": RANDOM, "seed": 1}
    how_out = "" if outputs is None else f"; outputs projected on {RANDOM} random unit directions ({m} outputs)"
    plan: dict[str, Any] = {"outputs": outputs, "points": [], "claims": [], "h": h}
    if kind in ("jacobian", "vjp", "jvp"):
        if kind == "jvp":
            plan.update(directions={}, given=True)
            dirs, how = [0], "the given tangent"
        else:
            plan["directions"], count, how = _directions(n, MAX_FULL)
            dirs = list(range(count))
        if kind == "vjp":
            plan["outputs"], how_out = "cotangent", ""
        for k in dirs:
            plan["points"] += [[[k, s * h]] for s in (1.0, -1.0, 0.5, -0.5)]
            plan["claims"].append(["t"] if kind == "jvp" else ["g" if kind == "vjp" else "J", k])
    else:
        s = 10 * h
        if kind == "hessian":
            if n <= MAX_HESS:
                plan["directions"], pairs = {"basis": True}, [(i, j) for i in range(n) for j in range(n)]
                how = "every pair of input directions"
            else:
                plan["directions"] = {"random": 2 * RANDOM, "seed": 0}
                pairs = [(i, i + RANDOM) for i in range(RANDOM)]
                how = f"{RANDOM} random pairs of unit directions (input too large for every pair)"
        else:
            plan["directions"], count, how = _directions(n, MAX_FULL)
            plan["given"] = True
            pairs = [(k, count) for k in range(count)]
        for a, b in pairs:
            for step in (s, s / 2):
                plan["points"] += [[[a, sa * step], [b, sb * step]] for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
            plan["claims"].append(["H", a, b] if kind == "hessian" else ["Hv", a])
    plan["how"] = how + how_out
    return plan


def _numbers(value: Any, what: str) -> list[np.ndarray]:
    if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
        raise AskError(f"the harness's {what} are not lists of numbers")
    try:
        return [np.asarray(v, dtype=np.float64).ravel() for v in value]
    except (TypeError, ValueError):
        raise AskError(f"the harness's {what} are not lists of numbers") from None


def expected_and_got(begin: dict[str, Any], plan: dict[str, Any], answer: dict[str, Any]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The finite-difference estimate, the transform's claimed numbers, and the estimate's error, all flat."""
    if begin["check"] == "vmap":
        got, expected = _numbers([answer.get("got"), answer.get("expected")], "loop values")
        if got.shape != expected.shape:
            raise ValueError(f"vmap gave {got.size} numbers, the loop {expected.size}")
        return expected, got, np.zeros(1)
    values = _numbers(answer.get("values"), "values")
    claims = _numbers(answer.get("claims"), "claims")
    per = 4 if KINDS[begin["check"]] == "first" else 8
    if not claims:
        raise ValueError("the call has no input to differentiate")
    if len(values) != len(plan["points"]) or len(claims) * per != len(values):
        raise ValueError(f"the harness gave {len(values)} values and {len(claims)} claims for "
                         f"{len(plan['points'])} points")
    h = plan["h"]
    cols, errs = [], []
    for c in range(len(claims)):
        v = values[c * per:(c + 1) * per]
        if per == 4:
            d1, d2 = differences.central(v[0], v[1], h), differences.central(v[2], v[3], h / 2)
        else:
            d1, d2 = differences.second(*v[:4], 10 * h), differences.second(*v[4:], 5 * h)
        best, err = differences.extrapolated([d1, d2])
        if begin["check"] == "hvp":
            best, err = best[:1], err[:1]
        cols.append(best)
        errs.append(err)
    if begin["check"] == "hvp":
        claims = [c[:1] for c in claims]
    if begin["check"] == "jacobian":  # laid out as J @ V.T: outputs x directions, row-major
        return (np.stack(cols, axis=1).ravel(), np.stack(claims, axis=1).ravel(), np.concatenate(errs))
    return np.concatenate(cols), np.concatenate(claims), np.concatenate(errs)


def judge(begin: dict[str, Any], plan: dict[str, Any], ask: dict[str, Any]) -> dict[str, Any]:
    """The derivative record for one finished conversation (``ask``: the harness's last, with its ``answer``)."""
    head = {k: begin[k] for k in _HEAD if k in begin}
    if isinstance(begin.get("calls"), int) and begin["calls"] > 1:
        head["calls"] = begin["calls"]
    duration = ask.get("duration_s")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        head["duration_s"] = float(duration)
    answer = ask.get("answer")
    if not isinstance(answer, dict) or ask.get("error"):
        reason = ask.get("error") if isinstance(ask.get("error"), str) else "the harness sent no numbers"
        return {"type": "derivative", **head, "status": "unverifiable", "reason": reason[:2000]}
    try:
        expected, got, fd = expected_and_got(begin, plan, answer)
    except ValueError as exc:
        return {"type": "derivative", **head, "status": "unverifiable", "reason": f"the check's numbers do not "
                f"fit its plan: {exc}"}
    dtype = begin.get("dtype") if begin.get("dtype") in ("float32", "float64") else "float32"
    kind = KINDS[begin["check"]]
    tol = tolerance(dtype, kind)
    fd_err = float(np.max(fd)) if fd.size else 0.0
    fd_err = fd_err if math.isfinite(fd_err) else float("inf")
    widened = Tolerance(tol.rtol, tol.atol + FD_NOISE * fd_err, tol.reason)
    result = compare(got, expected, widened)
    finite = expected[np.isfinite(expected)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    err = result.max_abs_err if math.isfinite(result.max_abs_err) else float("inf")  # NaN mismatch: inf
    notes = [n for n in (begin.get("note"), begin.get("moved")) if isinstance(n, str) and n]
    return {"type": "derivative", **head, "status": "checked", "directions": plan["how"], "note": "; ".join(notes),
            "got": got[:SHOWN].tolist(), "expected": expected[:SHOWN].tolist(),
            "max_abs_err": float(err),
            "bound": widened.atol + widened.rtol * scale, "rtol": tol.rtol, "atol": tol.atol, "dtype": dtype,
            "kind": kind, "fd_error_estimate": fd_err, "size": int(expected.size)}


class Oracle:
    """The host's side of one session's checks (a ``conversation.Host``): plans, judges, refuses forged verdicts."""

    def __init__(self) -> None:
        self.open: tuple[dict[str, Any], dict[str, Any]] | None = None
        self.checks = 0

    def answer(self, ask: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if isinstance(ask.get("begin"), dict):
            if self.open is not None:
                raise AskError("a check began before the one before it ended")
            plan = plan_for(ask["begin"])
            self.open = (ask["begin"], plan)
            return {"plan": {k: v for k, v in plan.items() if k not in ("how", "h")}}, []
        if "answer" in ask:
            if self.open is None:
                raise AskError("an answer for a check that never began")
            (begin, plan), self.open = self.open, None
            self.checks += 1
            return {"ok": True}, [judge(begin, plan, ask)]
        raise AskError("an ask that neither begins a check nor answers one")

    def screen(self, record: dict[str, Any]) -> str:
        if record.get("type") == "derivative" and record.get("status") != "unverifiable":
            return ("the sandbox sent a derivative record with numbers: only the host's oracle writes checked "
                    "records")
        return ""
