"""Claims as executable propositions over the backend adapter API, and the rule from their outcomes to a verdict.

A ``proposition`` claim carries, in the claims file, the property it asserts as a small Python function::

    proposition = '''
    def holds(x, v):
        f = bind(lambda xp, t: xp.sum(xp.sin(t) * t))
        return close(B.jvp(f, (x,), (v,))[1], B.grad(f)(x))
    '''

``holds`` is called once per drawn case, on every backend the claim concerns (``backends``), inside the sandbox
(one fresh interpreter per backend runs every proposition of the file).  The cases are drawn so that they separate
the alternatives a careless check would confuse: ``x`` and the tangent ``v`` are independent draws (``v`` is never
1, so a JVP cannot pass for a gradient), over several ``shapes`` (scalar, vector, non-square matrix by default), and
helpers give non-symmetric matrices.  Names available to the function:

``B``          the adapter (:class:`backends.base.Backend`), or its counter-adapter
``REF``        the NumPy reference backend, the oracle (numerical derivatives, no autodiff)
``bind(f)``    ``f(xp, *args)`` written once, run with ``B.xp``; ``bind_ref(f)`` with the oracle's namespace
``A(a)``       a NumPy value as a native float64 array of ``B``; ``N(a)`` a native value as NumPy
``close(a, b)`` numerically equal (native or NumPy values, tuples compared leaf by leaf, shapes must agree)
``matrix(n, m)`` a fixed non-symmetric NumPy matrix; ``api(name)`` a library function by dotted name
``rng``        a seeded NumPy Generator for further draws
``unpack(layout, out)`` a native result read through a layout of ``B.conventions`` (``backends.base.unpack``)

``holds`` returning True means the property holds on that case; False, or an exception raised by the library
(``Unsupported`` included: the library offers no such transform), means it does not.  An error of the
proposition's own (``NameError``, ``SyntaxError``, a non-bool result) is not evidence: the claim is unverifiable
and the run fails.  A case stopped by the per-case time limit or by memory is ``resources``: never evidence either
way (:func:`rule`).
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

DEFAULT_SHAPES: tuple[tuple[int, ...], ...] = ((), (3,), (2, 3))
CASE_SECONDS = 20.0
"""Per-case wall-clock limit inside the sandbox; a case past it is ``resources``, not false."""
HOLDS, FAILS, RAISES, ERROR, RESOURCES = "holds", "fails", "raises", "error", "resources"
OUTCOMES = (HOLDS, FAILS, RAISES, ERROR, RESOURCES)


@dataclasses.dataclass(frozen=True)
class Proposition:
    """What the sandbox needs to evaluate one claim's property."""

    claim: str
    code: str
    shapes: tuple[tuple[int, ...], ...] = DEFAULT_SHAPES
    counter: str = ""

    @property
    def seed(self) -> int:
        """Deterministic per claim: the same draws every run, different draws for different claims."""
        return zlib.crc32(self.claim.encode())

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim, "code": self.code, "shapes": [list(s) for s in self.shapes], "seed": self.seed,
                "counter": self.counter}


SCRIPT = r'''
import json, math, signal, sys, traceback
import numpy as np
from backends.base import Unsupported, load_backend, unpack
from conformance.article import counters

PAYLOAD = json.loads(__PAYLOAD__)
CASE_SECONDS = PAYLOAD["case_seconds"]


class _Resources(BaseException):
    pass


def _alarm(signum, frame):
    raise _Resources(f"per-case limit of {CASE_SECONDS:g} s")


signal.signal(signal.SIGALRM, _alarm)
REAL = load_backend(PAYLOAD["backend"])
REAL.setup()
REF = load_backend("numpy")
REF.setup()


def _namespace(B, rng, apis):
    def to_np(a):
        if isinstance(a, (tuple, list)):
            return tuple(to_np(t) for t in a)
        if a is None:
            return None
        return np.asarray(B.to_numpy(a) if not isinstance(a, np.ndarray) else a, dtype=np.float64)

    def close(a, b, rtol=1e-5, atol=1e-7):
        a, b = to_np(a), to_np(b)
        if isinstance(a, tuple) or isinstance(b, tuple):
            return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                    and all(close(p, q, rtol, atol) for p, q in zip(a, b)))
        if a is None or b is None:
            return a is b
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))

    def api(name):
        if name in apis:
            return apis[name]
        import importlib
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = getattr(obj, attr)
            return obj
        raise ImportError(name)

    def matrix(n, m):
        return np.arange(1.0, n * m + 1.0).reshape(n, m) ** 1.5 / (n * m)

    return {"B": B, "REF": REF, "np": np, "rng": rng, "close": close, "N": to_np, "api": api, "matrix": matrix,
            "A": lambda a: B.asarray(np.asarray(a, dtype=np.float64), "float64"),
            "bind": lambda f: (lambda *a: f(B.xp, *a)), "bind_ref": lambda f: (lambda *a: f(REF.xp, *a)),
            "Unsupported": Unsupported, "unpack": unpack}


OWN_ERRORS = (NameError, SyntaxError, UnboundLocalError)


def _evaluate(prop, B, apis):
    rng = np.random.default_rng(prop["seed"])
    ns = _namespace(B, rng, apis)
    try:
        exec(compile(prop["code"], f"<proposition {prop['claim']}>", "exec"), ns)
    except BaseException as exc:
        return [{"shape": None, "outcome": "error", "detail": f"{type(exc).__name__}: {exc}"}]
    holds = ns.get("holds")
    if not callable(holds):
        return [{"shape": None, "outcome": "error", "detail": "the proposition defines no function holds(x, v)"}]
    cases = []
    for shape in prop["shapes"]:
        x = rng.uniform(0.5, 2.0, size=shape)
        v = rng.uniform(1.5, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        case = {"shape": shape, "x": np.round(x, 4).tolist(), "v": np.round(v, 4).tolist()}
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        try:
            result = holds(ns["A"](x), ns["A"](v))
            signal.setitimer(signal.ITIMER_REAL, 0)
            if not isinstance(result, (bool, np.bool_)):
                case.update(outcome="error", detail=f"holds returned {type(result).__name__}, not bool")
            else:
                case.update(outcome="holds" if result else "fails", detail="")
        except _Resources as exc:
            case.update(outcome="resources", detail=str(exc))
        except MemoryError as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            case.update(outcome="resources", detail=f"MemoryError: {exc}")
        except OWN_ERRORS as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            case.update(outcome="error", detail=f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            case.update(outcome="raises", detail=f"{type(exc).__name__}: {str(exc)[:300]}")
        cases.append(case)
    return cases


out = {"backend": PAYLOAD["backend"], "version": REAL.version, "real": {}, "counter": {}}
for prop in PAYLOAD["propositions"]:
    out["real"][prop["claim"]] = _evaluate(prop, REAL, {})
    if prop["counter"]:
        faulted = counters.apply(prop["counter"], REAL)
        out["counter"][prop["claim"]] = _evaluate(prop, faulted, faulted._counter_apis)
print(json.dumps(out))
'''

PREIMPORT = {"torch": ("torch",), "jax": ("jax",), "numpy": ("numpy",)}


def script(backend: str, props: Sequence[Proposition], case_seconds: float = CASE_SECONDS) -> str:
    """The sandbox program evaluating ``props`` (and their counters) on ``backend``: prints one JSON line."""
    payload = json.dumps({"backend": backend, "case_seconds": case_seconds,
                          "propositions": [p.to_json() for p in props]})
    return SCRIPT.replace("__PAYLOAD__", repr(payload))


def parse(stdout: str) -> dict[str, Any]:
    """The evaluator's JSON line (the last line of stdout); raises ValueError when there is none."""
    lines = [ln for ln in stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        raise ValueError("the proposition run printed no result")
    return json.loads(lines[-1])


def resource_outcome(props: Iterable[Proposition], why: str) -> dict[str, list[dict[str, Any]]]:
    """Every case of every proposition as ``resources``: the whole run was stopped by a limit."""
    return {p.claim: [{"shape": list(s), "outcome": RESOURCES, "detail": why} for s in p.shapes] for p in props}


# --- the rule ------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Outcome:
    """The cases of one proposition on one backend."""

    backend: str
    cases: list[dict[str, Any]]


def _where(outcomes: Sequence[Outcome], wanted: Iterable[str]) -> str:
    wanted = set(wanted)
    parts = []
    for o in outcomes:
        shapes = [c for c in o.cases if c["outcome"] in wanted]
        if shapes:
            parts.append(f"{o.backend} ({', '.join(_shape(c) for c in shapes)})")
    return "; ".join(parts)


def _shape(case: dict[str, Any]) -> str:
    s = case.get("shape")
    label = "no case" if s is None else "scalar" if s == [] else "x".join(map(str, s))
    detail = case.get("detail")
    return f"{label}: {detail[:120]}" if detail and case["outcome"] in (RAISES, ERROR, RESOURCES) else label


def rule(outcomes: Sequence[Outcome]) -> tuple[str, str, bool, str]:
    """``(verdict, why, evidence_ok, unverifiable_reason)`` from every case on every backend.

    - an error of the proposition's own anywhere -> unverifiable (proposition error), evidence not ok;
    - no case at all -> unverifiable (no backend selected), evidence not ok;
    - holds on every case of every backend -> true;
    - holds on some cases and fails (or raises) on others -> partly, naming where each happened;
    - fails everywhere it was decided, and nothing was stopped by a limit -> false;
    - otherwise (only holds, or only fails, plus cases stopped by a time or memory limit) -> unverifiable
      (resources): a limit is not evidence, so it can neither confirm nor refute.
    """
    cases = [c for o in outcomes for c in o.cases]
    if not cases:
        return "unverifiable", "proposition: no backend it concerns was selected", False, "not run"
    if any(c["outcome"] == ERROR for c in cases):
        return ("unverifiable", f"proposition: the proposition itself is broken: {_where(outcomes, [ERROR])}", False,
                "proposition error")
    held = [c for c in cases if c["outcome"] == HOLDS]
    failed = [c for c in cases if c["outcome"] in (FAILS, RAISES)]
    stopped = [c for c in cases if c["outcome"] == RESOURCES]
    if held and failed:
        why = f"holds on {_where(outcomes, [HOLDS])}; fails on {_where(outcomes, [FAILS, RAISES])}"
        if stopped:
            why += f"; stopped by a limit on {_where(outcomes, [RESOURCES])}"
        return "partly", "proposition: " + why, True, ""
    if stopped:
        return ("unverifiable", f"proposition: stopped by a resource limit on {_where(outcomes, [RESOURCES])}; "
                f"a limit is not evidence", True, "resources")
    if held:
        return "true", f"proposition: holds on every case: {_where(outcomes, [HOLDS])}", True, ""
    return "false", f"proposition: fails on every case: {_where(outcomes, [FAILS, RAISES])}", True, ""


def sensitivity(real: str, counter: str, counter_name: str) -> dict[str, Any]:
    """Whether the verdict moved under the counter-adapter; a verdict that cannot move is a defect of the claim."""
    decided = ("true", "false", "partly")
    moved = real != counter and real in decided and counter in decided
    return {"counter": counter_name, "verdict_under_counter": counter, "sensitive": moved}
