"""A claims file's propositions, run in the sandbox: one job per backend, every proposition on it and on its
counter-adapter, and the outcomes read back per claim (:mod:`conformance.claims.article.propositions` writes the script)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.claims.article import evidence, propositions
from conformance.claims.article.claims import ClaimsFile

PROPOSITION_TIMEOUT = 180.0
"""Wall-clock limit of one sandboxed run (a backend's propositions run together: library start-up plus cases)."""


def proposition_plan(cf: ClaimsFile, backends: Sequence[str]) -> dict[str, list[propositions.Proposition]]:
    """backend -> the propositions to evaluate there: each claim on every selected backend it concerns."""
    plan: dict[str, list[propositions.Proposition]] = {}
    for c in cf.claims:
        if c.kind != "proposition":
            continue
        prop = propositions.Proposition(c.id, c.data["proposition"],
                                        tuple(tuple(s) for s in c.data.get("shapes", propositions.DEFAULT_SHAPES)),
                                        c.data.get("counter", ""))
        for b in c.data["backends"]:
            if b in backends:
                plan.setdefault(b, []).append(prop)
    return plan


def proposition_jobs(plan: dict[str, list[propositions.Proposition]]) -> list[evidence.Job]:
    """One sandboxed job per backend: every proposition of the plan on that backend, and on its counter-adapter."""
    return [evidence.Job(evidence.RunKey("propositions", b, "proposition"), propositions.script(b, ps),
                         propositions.PREIMPORT[b], PROPOSITION_TIMEOUT, propositions.RECORDS)
            for b, ps in plan.items()]


def evaluate_propositions(cf: ClaimsFile, backends: Sequence[str], *, parallel: int = 2,
                          isolation: str | None = None) -> dict[str, dict[str, list[propositions.Outcome]]]:
    """Run only the propositions of ``cf`` (the sensitivity tests and ``check`` share this path)."""
    plan = proposition_plan(cf, backends)
    return proposition_outcomes(plan, evidence.run_jobs(proposition_jobs(plan), parallel=parallel,
                                                        isolation=isolation))


def proposition_outcomes(plan: dict[str, list[propositions.Proposition]], runs: dict[evidence.RunKey, Any]
                         ) -> dict[str, dict[str, list[propositions.Outcome]]]:
    """claim -> {"real": [...], "counter": [...]} outcomes per backend; a run stopped by a limit is ``resources``."""
    out: dict[str, dict[str, list[propositions.Outcome]]] = {}
    for backend, props in plan.items():
        res = runs.get(evidence.RunKey("propositions", backend, "proposition"))
        real: dict[str, list[dict[str, Any]]]
        counter: dict[str, list[dict[str, Any]]]
        if res is None:
            real = counter = {}
        elif res.status in ("timeout", "killed") or (res.status == "exception" and (res.exception or {}).get(
                "type") == "MemoryError"):
            real = counter = propositions.resource_outcome(props, f"{res.status}: {res.reason}")
        elif res.status != "ok":
            why = f"{res.status}: {res.reason} {res.exception or ''}".strip()
            real = counter = {p.claim: [{"shape": None, "outcome": propositions.ERROR, "detail": why}] for p in props}
        else:
            try:
                data = propositions.parse(res.records)
                real, counter = data["real"], data["counter"]
            except (ValueError, KeyError) as exc:
                real = counter = {p.claim: [{"shape": None, "outcome": propositions.ERROR, "detail": str(exc)}]
                                  for p in props}
        for p in props:
            slot = out.setdefault(p.claim, {"real": [], "counter": []})
            if p.claim in real:
                slot["real"].append(propositions.Outcome(backend, real[p.claim]))
            if p.claim in counter:
                slot["counter"].append(propositions.Outcome(backend, counter[p.claim]))
    return out

