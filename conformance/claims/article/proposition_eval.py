"""The sandbox's half of a claims file's propositions: each one evaluated on the backend and its counter-adapter.

This module runs inside the sandbox (``propositions.script`` writes the two lines that call :func:`main`, with the
payload); it is a real module, not a template, so it is read, linted and tested like the rest.  It sends its
outcomes as one ``propositions`` record on the sandbox's report channel, not on stdout: what a proposition's own
code prints is plain data and can no longer pass for the outcome.  (A proposition's code still runs in this
process and can reach the channel, as a document's can; see ``docs/trust-boundary.md``.)
"""



import signal

import numpy as np

from backends.base import Unsupported, load_backend, unpack
from conformance.claims.article import counters
from conformance.claims.article.propositions import RECORD
from conformance.dotted import resolve


class _Resources(BaseException):
    pass




def _namespace(B, REF, rng, apis):
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
        return apis[name] if name in apis else resolve(name)

    def matrix(n, m):
        return np.arange(1.0, n * m + 1.0).reshape(n, m) ** 1.5 / (n * m)

    return {"B": B, "REF": REF, "np": np, "rng": rng, "close": close, "N": to_np, "api": api, "matrix": matrix,
            "A": lambda a: B.asarray(np.asarray(a, dtype=np.float64), "float64"),
            "bind": lambda f: (lambda *a: f(B.xp, *a)), "bind_ref": lambda f: (lambda *a: f(REF.xp, *a)),
            "Unsupported": Unsupported, "unpack": unpack}


OWN_ERRORS = (NameError, SyntaxError, UnboundLocalError)


def _evaluate(prop, B, REF, apis, case_seconds):
    rng = np.random.default_rng(prop["seed"])
    ns = _namespace(B, REF, rng, apis)
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
        signal.setitimer(signal.ITIMER_REAL, case_seconds)
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


def main(payload, report):
    """Evaluate every proposition of ``payload`` on its backend and on each one's counter-adapter, and send the
    outcomes as one ``propositions`` record on the report channel."""
    case_seconds = payload["case_seconds"]

    def alarm(signum, frame):
        raise _Resources(f"per-case limit of {case_seconds:g} s")

    signal.signal(signal.SIGALRM, alarm)
    real = load_backend(payload["backend"])
    real.setup()
    ref = load_backend("numpy")
    ref.setup()
    out = {"backend": payload["backend"], "version": real.version, "real": {}, "counter": {}}
    for prop in payload["propositions"]:
        out["real"][prop["claim"]] = _evaluate(prop, real, ref, {}, case_seconds)
        if prop["counter"]:
            faulted = counters.apply(prop["counter"], real)
            out["counter"][prop["claim"]] = _evaluate(prop, faulted, ref, faulted._counter_apis, case_seconds)
    report({"type": RECORD, "result": out})
