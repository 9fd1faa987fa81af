"""The written rules from evidence to a verdict (true / false / partly / unverifiable).

Rule table (one function per kind; the returned ``rule`` string names the row that fired):

==============  =====================================================================================================
kind            rule
==============  =====================================================================================================
api-existence   true if every named API exists in the installed library; partly if some do; false if none.
                With ``absent = true`` (the statement says the APIs are *not* available, e.g. "unlike torch.autograd,
                ..."): true if none exists, partly if some do, false if all do.
version         false if the APIs are missing in the installed library, or if the installed library is older than
                the ``installed_since`` the statement implies and has them already; otherwise unverifiable
                (history): which release introduced an API is not recorded in the package; the sources are cited.
signature       false if the API or a named parameter is missing; true otherwise.
example-runs    true iff the as-written snippet exits normally on its target library; false if it raises; a run
                stopped by a time or memory limit is unverifiable (resources), never false.
printed-value   (with ``backend``: the snippet's port on that backend stands in for "as written")
                true iff the as-written snippet runs and prints the claimed values and the claimed numbers agree with
                the NumPy reference; partly if it does not run but a verified fix prints the claimed values (and the
                reference agrees); false otherwise; a limit is unverifiable (resources).
proposition     the claim's property, run on every backend it concerns over drawn cases
                (:func:`conformance.claims.article.propositions.rule`): holds everywhere -> true; on some backends or
                cases -> partly, saying where; nowhere -> false; limits -> unverifiable (resources).
performance     the baseline against every comparator separately: within ``within`` x of each at every size ->
                true; of none -> false; otherwise partly, naming where it is slower.
advice          unverifiable (opinion): opinions and characterizations cannot be decided by running code.
==============  =====================================================================================================

Each function returns ``(verdict, rule, evidence_ok)``; ``evidence_ok`` is False when the evidence the rule needs
could not be produced in this run (the CLI then exits non-zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.claims import printed_numbers
from conformance.claims.article.evidence import first_number, printed_lines

Verdict = tuple[str, str, bool]
LIMITS = ("timeout", "killed")
"""Sandbox statuses that mean a resource limit stopped the run: never evidence for or against a claim."""


def limited(result: dict[str, Any]) -> bool:
    """The run was stopped by a time or memory limit (including a MemoryError at the RLIMIT_AS cap)."""
    exc = result.get("exception") or {}
    return result["status"] in LIMITS or (result["status"] == "exception" and exc.get("type") == "MemoryError")


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


def history(apis: Sequence[str], probe: dict[str, Any], sources: Sequence[str],
            installed_since: str | None = None) -> Verdict:
    """Release history: false if the APIs are missing now; otherwise what the installed package can reveal.

    ``installed_since`` (optional) is a version the statement implies the APIs exist from; an installed library
    older than it that has them refutes the statement, one at least as new cannot confirm it.  Beyond that, the
    history is unverifiable: the sources are cited, no verdict is copied from them.
    """
    verdict, rule, ok = api_existence(apis, probe)
    lib = apis[0].split(".")[0] if apis else "?"
    installed = probe["versions"].get(lib, "?")
    if not ok:
        return "unverifiable", rule, False
    if verdict == "false":
        return "false", f"version: the APIs do not exist even in installed {lib} {installed}", True
    if installed_since and _version_tuple(installed) < _version_tuple(installed_since):
        return "false", (f"version: installed {lib} {installed} already has {', '.join(apis)}, which the statement "
                         f"dates to {installed_since}"), True
    cited = f"; sources: {', '.join(sources)}" if sources else "; no sources cited"
    return "unverifiable", (f"version: code confirms only that {', '.join(apis)} exist in installed {lib} "
                            f"{installed}; which release introduced them is history the installed package does not "
                            f"record{cited}"), True


def _version_tuple(text: str) -> tuple[int, ...]:
    nums = []
    for part in text.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        nums.append(int(digits))
    return tuple(nums)


def signature(api: str, params: Sequence[str], probe: dict[str, Any]) -> Verdict:
    info = probe["apis"].get(api)
    if info is None:
        return "unverifiable", f"signature: could not probe {api}", False
    if not info.get("exists"):
        return "false", f"signature: {api} does not exist", True
    missing = [p for p in params if p not in (info.get("params") or [])]
    if missing:
        return "false", f"signature: {api} has no parameter(s) {', '.join(missing)}", True
    return "true", f"signature: {api}{tuple(info['params'])} has {', '.join(params)}", True


def example_runs(result: dict[str, Any] | None) -> Verdict:
    if result is None:
        return "unverifiable", "example-runs: the as-written snippet was not run", False
    if result["status"] == "ok":
        return "true", f"example-runs: the as-written snippet exits normally on {result['backend']}", True
    if limited(result):
        return "unverifiable", (f"example-runs: stopped by a resource limit on {result['backend']} "
                                f"({result['status']}: {result.get('reason', '')}); a limit is not evidence"), True
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
            float(want)
        except ValueError:
            if lines[i] != want:
                return False, f"line {i + 1} is {lines[i]!r}, claimed {want!r}"
            continue
        got = first_number(lines[i])
        if got is None or not printed_numbers.agree(got, want):
            return False, f"line {i + 1} is {lines[i]!r}, claimed {want}"
    return True, "printed values match"


def printed_value(expected: Sequence[str], as_written: dict[str, Any] | None, fixed: Sequence[dict[str, Any]],
                  reference: Sequence[dict[str, Any]], what: str = "the as-written snippet") -> Verdict:
    if as_written is None:
        return "unverifiable", f"printed-value: {what} was not run", False
    for ref in reference:
        claimed = expected[ref["index"]]
        if not printed_numbers.agree(claimed, float(ref["value"])):
            return "false", f"printed-value: claimed {claimed} but the NumPy reference gives {ref['value']:.6g}", True
    refnote = " and the NumPy reference agrees" if reference else ""
    if limited(as_written):
        return "unverifiable", (f"printed-value: {what} was stopped by a resource limit ({as_written['status']}: "
                                f"{as_written.get('reason', '')}); a limit is not evidence"), True
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


def performance(measurement: dict[str, Any], baseline: str, alternatives: Sequence[str], within: float) -> Verdict:
    """Against every comparator separately: the ratio baseline/comparator per size, and the count within ``within``.

    true: within ``within`` x of every comparator at every size; false: of none at any size; partly otherwise,
    naming the comparators it beats and those it does not.
    """
    if "median_us" not in measurement:
        return "unverifiable", f"performance: measurement failed ({measurement.get('error')}); a limit is not evidence", False
    wins, losses, detail = [], [], []
    for size, row in measurement["median_us"].items():
        for alt in alternatives:
            ratio = row[baseline] / row[alt]
            (wins if ratio <= within else losses).append(f"{alt} at {size}")
            detail.append(f"{size}: {baseline}/{alt} = {ratio:.2f}")
    verdict = "true" if not losses else "false" if not wins else "partly"
    rule = (f"performance: {baseline} within {within}x of each of {', '.join(alternatives)} at every size -> true, "
            f"of none -> false, else partly; -> {verdict} ({'; '.join(detail)})")
    if verdict == "partly":
        rule += f"; slower than {within}x: {', '.join(losses)}"
    return verdict, rule, True


def opinion() -> Verdict:
    return "unverifiable", "advice: an opinion or characterization that running code cannot decide", True
