"""Claim kinds: one registered handler per kind, each turning the run's evidence into a named :class:`Judgement`.

A handler is registered with :func:`kind` and reads only what :class:`Context` holds (snippet runs, API probes,
proposition outcomes, timings), so adding a kind is one decorated function, not another branch in the CLI.  The
rules themselves live in :mod:`verdicts` and :mod:`propositions`; handlers gather the evidence and call them.
Nothing in a claims file states a verdict: every handler derives it, or says why code cannot (``unverifiable`` with
a ``reason``: ``opinion``, ``history``, ``resources``, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from conformance.claims.article import evidence, fixes, propositions, verdicts
from conformance.claims.article.claims import Claim, ClaimsFile


@dataclasses.dataclass
class Judgement:
    """A claim's verdict and the evidence it rests on (one ClaimRecord's worth)."""

    verdict: str
    rule: str
    evidence_ok: bool
    reason: str = ""
    """Why code could not decide (only with ``unverifiable``): opinion, history, resources, ..."""
    evidence: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    fixes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    measurements: dict[str, Any] = dataclasses.field(default_factory=dict)
    sensitivity: dict[str, Any] | None = None
    """For proposition claims: the verdict under the counter-adapter, and whether it moved."""


@dataclasses.dataclass
class Context:
    """Everything the run produced that handlers may read."""

    cf: ClaimsFile
    selected: set[str]
    runs: dict[evidence.RunKey, Any]
    probe: dict[str, Any]
    measurement: dict[str, Any]
    propositions: dict[str, dict[str, list[propositions.Outcome]]]
    """claim id -> {"real": [Outcome per backend], "counter": [...]}"""


Handler = Callable[[Claim, Context], Judgement]
HANDLERS: dict[str, Handler] = {}


def kind(name: str) -> Callable[[Handler], Handler]:
    """Register the handler of claim kind ``name`` (each kind exactly once)."""
    def register(fn: Handler) -> Handler:
        if name in HANDLERS:
            raise ValueError(f"claim kind {name!r} registered twice")
        HANDLERS[name] = fn
        return fn
    return register


def judge(claim: Claim, ctx: Context) -> Judgement:
    """The registered handler's judgement of ``claim``."""
    return HANDLERS[claim.kind](claim, ctx)


def _from(verdict: verdicts.Verdict, **extra: Any) -> Judgement:
    value, rule, ok = verdict
    reason = extra.pop("reason", "")
    if value == "unverifiable" and not reason:
        reason = "resources" if "limit" in rule or "resources" in rule else "evidence missing"
    return Judgement(value, rule, ok, reason, **extra)


def _snippet_evidence(claim: Claim, ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                             dict[str, Any] | None]:
    """(evidence records, fix records, the as-written record) of the claim's snippet."""
    snip = ctx.cf.snippets[claim.data["snippet"]]
    ev: list[dict[str, Any]] = []
    fix_recs: list[dict[str, Any]] = []
    as_written = None
    for key, res in sorted(ctx.runs.items(), key=lambda kv: (kv[0].variant != "as-written", kv[0].backend)):
        if key.snippet == snip.id and key.variant in ("as-written", "port"):
            ev.append(evidence.evidence_record(key, res))
            if key.variant == "as-written":
                as_written = ev[-1]
    for i, fx in enumerate(snip.fixes):
        key = evidence.RunKey(snip.id, fx.backend, "fixed", i)
        res = ctx.runs.get(key)
        if res is None:
            continue
        ev.append(evidence.evidence_record(key, res))
        base = snip.code if fx.backend == snip.target else snip.ports.get(fx.backend, snip.code)
        fix_recs.append(fixes.fix_record(fx, base, res, snip.id))
    return ev, fix_recs, as_written


def _probe_records(apis: list[str], probe: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"backend": a.split(".")[0], "variant": "probe", "api": a, **probe["apis"].get(a, {})} for a in apis]


@kind("api-existence")
def _api_existence(claim: Claim, ctx: Context) -> Judgement:
    d = claim.data
    return _from(verdicts.api_existence(d["apis"], ctx.probe, absent=d.get("absent", False)),
                 evidence=_probe_records(d["apis"], ctx.probe))


@kind("version")
def _version(claim: Claim, ctx: Context) -> Judgement:
    d = claim.data
    verdict = verdicts.history(d["apis"], ctx.probe, d.get("sources", []), d.get("installed_since"))
    ev = [{"variant": "probe", "installed": ctx.probe["versions"],
           "apis": {a: ctx.probe["apis"].get(a) for a in d["apis"]}}]
    return _from(verdict, evidence=ev, reason="history" if verdict[0] == "unverifiable" else "")


@kind("signature")
def _signature(claim: Claim, ctx: Context) -> Judgement:
    d = claim.data
    return _from(verdicts.signature(d["api"], d["params"], ctx.probe), evidence=_probe_records([d["api"]], ctx.probe))


@kind("example-runs")
def _example_runs(claim: Claim, ctx: Context) -> Judgement:
    ev, fix_recs, as_written = _snippet_evidence(claim, ctx)
    j = _from(verdicts.example_runs(as_written), evidence=ev)
    j.fixes = fix_recs if j.verdict in ("false", "partly") else []
    return j


@kind("printed-value")
def _printed_value(claim: Claim, ctx: Context) -> Judgement:
    d = claim.data
    ev, fix_recs, as_written = _snippet_evidence(claim, ctx)
    refs = [{**r, "value": evidence.reference_value(r["op"], r["function"], r["x"])} for r in d.get("reference", [])]
    if refs:
        ev.append({"backend": "numpy", "variant": "reference", "status": "ok", "value": refs})
    what, checked = "the as-written snippet", as_written
    if "backend" in d and as_written is not None and d["backend"] != as_written["backend"]:
        what = f"the snippet's {d['backend']} port"
        checked = next((e for e in ev if e["variant"] == "port" and e["backend"] == d["backend"]), None)
    target_fixes = [f for f in fix_recs if checked and f["backend"] == checked["backend"]]
    j = _from(verdicts.printed_value(d["expect_printed"], checked, target_fixes, refs, what), evidence=ev)
    j.fixes = fix_recs if j.verdict in ("false", "partly") else []
    return j


@kind("proposition")
def _proposition(claim: Claim, ctx: Context) -> Judgement:
    concerned = claim.data["backends"]
    if not set(concerned) & ctx.selected:
        return Judgement("unverifiable", f"proposition: concerns {', '.join(concerned)}, which this run did not "
                         "select", True, "not selected")
    got = ctx.propositions.get(claim.id, {"real": [], "counter": []})
    verdict, rule, ok, reason = propositions.rule(got["real"])
    ev = [{"backend": o.backend, "variant": "proposition", "status": "ok", "value": o.cases} for o in got["real"]]
    sens = None
    counter = claim.data.get("counter", "")
    if counter and got["counter"] and ok:
        under, _, _, _ = propositions.rule(got["counter"])
        sens = propositions.sensitivity(verdict, under, counter)
        if not sens["sensitive"]:
            rule += f" [DEFECT: the verdict does not move under the counter-adapter {counter!r} ({under})]"
    return Judgement(verdict, rule, ok, reason, evidence=ev, sensitivity=sens)


@kind("performance")
def _performance(claim: Claim, ctx: Context) -> Judgement:
    m = claim.data["measure"]
    measured = {**ctx.measurement, "subject": m["baseline"], "comparators": list(m["alternatives"])}
    return _from(verdicts.performance(ctx.measurement, m["baseline"], m["alternatives"], m.get("within", 1.25)),
                 measurements=measured if ctx.measurement else {})


@kind("advice")
def _advice(claim: Claim, ctx: Context) -> Judgement:
    return Judgement(*verdicts.opinion(), reason="opinion")
