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



PREIMPORT = {b: (*libs, "conformance.claims.article.proposition_eval", "conformance.dotted") for b, libs in
             {"torch": ("torch",), "jax": ("jax",), "numpy": ("numpy",)}.items()}
RECORD = "propositions"
"""The record type the sandbox's evaluator (``proposition_eval``) sends its outcomes in."""
RECORDS = (RECORD,)


def script(backend: str, props: Sequence[Proposition], case_seconds: float = CASE_SECONDS) -> str:
    """The sandbox program evaluating ``props`` (and their counters) on ``backend``
    (``proposition_eval.main``): it sends one ``propositions`` record."""
    payload = json.dumps({"backend": backend, "case_seconds": case_seconds,
                          "propositions": [p.to_json() for p in props]})
    return ("import json\nfrom conformance.claims.article import proposition_eval\n"
            f"proposition_eval.main(json.loads({payload!r}), globals().pop('__report__'))\n")


def parse(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The evaluator's outcomes from the run's records; raises ValueError when there are none or more than one."""
    found = [r.get("result") for r in records if r.get("type") == RECORD]
    if len(found) != 1 or not isinstance(found[0], dict):
        raise ValueError(f"the proposition run sent {len(found)} result records, not one")
    return found[0]


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
