"""The written rules from evidence to a verdict (true / false / partly / unverifiable).

Rule table (one function per kind; the returned ``rule`` string names the row that fired):

==============  =====================================================================================================
kind            rule
==============  =====================================================================================================
api-existence   true if every named API exists in the installed library; partly if some do; false if none.
                With ``absent = true`` (the statement says the APIs are *not* available, e.g. "unlike torch.autograd,
                ..."): true if none exists, partly if some do, false if all do.
version         code can only confirm the APIs exist in the installed version; the history comes from the cited
                release notes (``sources_say``); unverifiable without sources; false if the APIs are missing now.
signature       false if a named parameter is missing; with ``layouts``: the claimed return layouts are compared with
                the backend's declared Conventions, which count only if the cited battery checks pass (else
                unverifiable): all equal -> true, some -> partly, none -> false.
example-runs    true iff the as-written snippet exits normally on its target library; false otherwise.
printed-value   (with ``backend``: the snippet's port on that backend stands in for "as written")
                true iff the as-written snippet runs and prints the claimed values and the claimed numbers agree with
                the NumPy reference; partly if it does not run but a verified fix prints the claimed values (and the
                reference agrees); false otherwise.
semantics       false if an API the statement needs does not exist; otherwise, if every cited battery check passes,
                the claim's declared ``if_specs_pass``; if any cited check fails, a claim expected true becomes false,
                others unverifiable; unverifiable when no cited check ran (with evidence_ok False, unless every
                cited check is on a backend this run did not select).
performance     baseline median <= within x the fastest alternative at every size -> true; at some sizes -> partly;
                at none -> false; unverifiable when the measurement failed.
advice          unverifiable: advice and characterizations cannot be decided by running code.
==============  =====================================================================================================

Each function returns ``(verdict, rule, evidence_ok)``; ``evidence_ok`` is False when the evidence the rule needs
could not be produced in this run (the CLI then exits non-zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from conformance.article.evidence import first_number, printed_lines

Verdict = tuple[str, str, bool]


def api_existence(apis: Sequence[str], probe: dict[str, Any], absent: bool = False) -> Verdict:
    if absent:
        return _api_absence(apis, probe)
    found = [a for a in apis if probe["apis"].get(a, {}).get("exists")]
    unknown = [a for a in apis if a not in probe["apis"]]
    if unknown:
        return "unverifiable", f"api-existence: could not probe {', '.join(unknown)}", False
    if len(found) == len(apis):
        return "true", f"api-existence: all of {', '.join(apis)} exist in the installed library", True
    missing = [a for a in apis if a not in found]
    if found:
        return "partly", f"api-existence: {', '.join(found)} exist; {', '.join(missing)} do(es) not", True
    return "false", f"api-existence: none of {', '.join(apis)} exist in the installed library", True


def _api_absence(apis: Sequence[str], probe: dict[str, Any]) -> Verdict:
    verdict, rule, ok = api_existence(apis, probe)
    if not ok:
        return verdict, rule, ok
    inverted = {"true": "false", "false": "true", "partly": "partly"}[verdict]
    return inverted, f"api-existence (claimed absent): {rule.removeprefix('api-existence: ')} -> {inverted}", True


def version(apis: Sequence[str], probe: dict[str, Any], sources_say: str | None, sources: Sequence[str]) -> Verdict:
    verdict, rule, ok = api_existence(apis, probe)
    lib = apis[0].split(".")[0] if apis else "?"
    installed = probe["versions"].get(lib, "?")
    if not ok:
        return "unverifiable", rule, False
    if verdict == "false":
        return "false", f"version: the APIs do not exist even in installed {lib} {installed}", True
    if not sources or not sources_say:
        return "unverifiable", f"version: code cannot check release history (installed {lib} {installed}); no sources", True
    return sources_say, (f"version: code confirms only that {', '.join(apis)} exist in installed {lib} {installed}; "
                         f"the release history is taken from the cited release notes ({sources_say})"), True


def signature(api: str, params: Sequence[str], probe: dict[str, Any], layouts: dict[str, str] | None,
              conventions: dict[str, Any] | None, checks: Sequence[dict[str, Any]]) -> Verdict:
    info = probe["apis"].get(api)
    if info is None:
        return "unverifiable", f"signature: could not probe {api}", False
    if not info.get("exists"):
        return "false", f"signature: {api} does not exist", True
    missing = [p for p in params if p not in (info.get("params") or [])]
    if missing:
        return "false", f"signature: {api} has no parameter(s) {', '.join(missing)}", True
    if not layouts:
        return "true", f"signature: {api}{tuple(info['params'])} has {', '.join(params)}", True
    if conventions is None or not checks:
        return "unverifiable", "signature: no verified conventions/battery checks for the layout", False
    if any(c["status"] not in ("pass", "skip") for c in checks):
        return "unverifiable", "signature: the battery checks verifying the declared layout did not pass", True
    equal = {k: conventions.get(k) == v for k, v in layouts.items()}
    detail = "; ".join(f"{k}: claimed {v}, actual {conventions.get(k)}" for k, v in layouts.items())
    if all(equal.values()):
        return "true", f"signature: parameters present and every claimed layout matches ({detail})", True
    if any(equal.values()):
        return "partly", f"signature: parameters present; some claimed layouts differ ({detail})", True
    return "false", f"signature: no claimed layout matches ({detail})", True


def example_runs(result: dict[str, Any] | None) -> Verdict:
    if result is None:
        return "unverifiable", "example-runs: the as-written snippet was not run", False
    if result["status"] == "ok":
        return "true", f"example-runs: the as-written snippet exits normally on {result['backend']}", True
    exc = result.get("exception") or {}
    what = f"{exc.get('type')}: {exc.get('message', '')[:160]}" if exc else result.get("reason", result["status"])
    return "false", f"example-runs: the as-written snippet fails on {result['backend']} ({result['status']}: {what})", True


def _matches(expected: Sequence[str], stdout: str) -> tuple[bool, str]:
    lines = printed_lines(stdout)
    for i, want in enumerate(expected):
        if want == "*":
            continue
        if i >= len(lines):
            return False, f"line {i + 1} missing"
        try:
            target = float(want)
        except ValueError:
            if lines[i] != want:
                return False, f"line {i + 1} is {lines[i]!r}, claimed {want!r}"
            continue
        got = first_number(lines[i])
        if got is None or not math.isclose(got, target, rel_tol=1e-6, abs_tol=1e-9):
            return False, f"line {i + 1} is {lines[i]!r}, claimed {want}"
    return True, "printed values match"


def printed_value(expected: Sequence[str], as_written: dict[str, Any] | None, fixed: Sequence[dict[str, Any]],
                  reference: Sequence[dict[str, Any]], what: str = "the as-written snippet") -> Verdict:
    if as_written is None:
        return "unverifiable", f"printed-value: {what} was not run", False
    for ref in reference:
        claimed = float(expected[ref["index"]])
        if not math.isclose(claimed, ref["value"], rel_tol=1e-5, abs_tol=1e-8):
            return "false", f"printed-value: claimed {claimed} but the NumPy reference gives {ref['value']:.6g}", True
    refnote = " and the NumPy reference agrees" if reference else ""
    if as_written["status"] == "ok":
        ok, why = _matches(expected, as_written["stdout"])
        if ok:
            return "true", f"printed-value: {what} prints the claimed values{refnote}", True
        return "false", f"printed-value: {what} runs but {why}", True
    for fx in fixed:
        if fx["verified"]:
            ok, _ = _matches(expected, fx["output"])
            if ok:
                return "partly", (f"printed-value: {what} fails ({as_written['status']}); only the fixed "
                                  f"code ({fx['idiom']}) prints the claimed values{refnote}"), True
    return "false", f"printed-value: {what} fails ({as_written['status']}) and no fix prints the values", True


def semantics(checks: Sequence[dict[str, Any]], if_specs_pass: str, missing_apis: Sequence[str]) -> Verdict:
    if missing_apis:
        return "false", f"semantics: the statement needs {', '.join(missing_apis)}, which does not exist", True
    ran = [c for c in checks if c["status"] != "skip"]
    if not ran:
        return "unverifiable", "semantics: none of the cited battery checks ran", False
    bad = [c["test_id"] for c in ran if c["status"] not in ("pass", "xfail")]
    if not bad:
        return if_specs_pass, (f"semantics: all {len(ran)} cited battery checks pass, which makes this claim "
                               f"{if_specs_pass}"), True
    if if_specs_pass == "true":
        return "false", f"semantics: cited battery checks fail ({', '.join(bad[:3])})", True
    return "unverifiable", f"semantics: cited battery checks fail ({', '.join(bad[:3])}); premise not established", True


def performance(measurement: dict[str, Any], baseline: str, alternatives: Sequence[str], within: float) -> Verdict:
    if "median_us" not in measurement:
        return "unverifiable", f"performance: measurement failed ({measurement.get('error')})", False
    wins = []
    for size, row in measurement["median_us"].items():
        best = min(row[a] for a in alternatives)
        wins.append((size, row[baseline] <= within * best, row[baseline] / best))
    detail = ", ".join(f"{s}: {baseline}/fastest alternative = {r:.2f}" for s, _, r in wins)
    if all(w for _, w, _ in wins):
        verdict = "true"
    elif any(w for _, w, _ in wins):
        verdict = "partly"
    else:
        verdict = "false"
    return verdict, f"performance: within {within}x of the fastest of {', '.join(alternatives)} -> {verdict} ({detail})", True


def advice() -> Verdict:
    return "unverifiable", "advice: a recommendation or characterization that running code cannot decide", True
