"""Corrected snippets: the unified diff against the article's code and whether the fix did what was intended.

A fix is only credited (``verified: true``) when it ran in the sandbox in this run, its stdout matches the
``expect`` regular expression the claims file declares, and every printed number its ``reference`` names agrees
with the NumPy oracle (numerical derivatives, no autodiff): a fix that merely looks right, or prints a number
copied next to it, proves nothing.
"""

from __future__ import annotations

import difflib
from typing import Any

from conformance.claims.article.claims import Fix
from conformance.claims.article.sandbox import SandboxResult
from conformance.inputs import bounded_re


def unified_diff(as_written: str, fixed: str, name: str = "snippet") -> str:
    """``difflib`` unified diff, as-written -> fixed."""
    return "".join(difflib.unified_diff(
        [ln + "\n" for ln in as_written.strip("\n").splitlines()],
        [ln + "\n" for ln in fixed.strip("\n").splitlines()],
        fromfile=f"{name} (as written)", tofile=f"{name} (fixed)"))


def oracle_checks(fix: Fix, result: SandboxResult | None) -> list[dict[str, Any]]:
    """Each ``reference`` entry with the oracle's value, the printed number, and whether they agree."""
    from conformance.claims import printed_numbers
    from conformance.claims.article.evidence import first_number, printed_lines, reference_value

    lines = printed_lines(result.stdout) if result is not None else []
    out = []
    for ref in fix.reference:
        want = reference_value(ref["op"], ref["function"], ref["x"], ref.get("tangent", 1.0))
        got = first_number(lines[ref["index"]]) if ref["index"] < len(lines) else None
        agrees = got is not None and printed_numbers.agree(got, float(want))
        out.append({**ref, "oracle": want, "printed": float(got) if got is not None else None, "agrees": agrees})
    return out


def expect_matches(fix: Fix, result: SandboxResult | None) -> tuple[bool, str]:
    """Whether the fix's output matches its ``expect``, and why not when the match could not be decided.

    The pattern comes from a claims file, so it is matched under a time limit (:mod:`conformance.inputs.bounded_re`):
    a pattern that backtracks without end costs two seconds and the credit, not the host.
    """
    if result is None or result.status != "ok":
        return False, ""
    try:
        return bounded_re.search(fix.expect, result.stdout), ""
    except bounded_re.RegexTimeout as exc:
        return False, str(exc)


def verified(fix: Fix, result: SandboxResult | None) -> bool:
    """The fix ran to completion, printed what the article intended, and its numbers agree with the oracle."""
    return expect_matches(fix, result)[0] and all(c["agrees"] for c in oracle_checks(fix, result))


def fix_record(fix: Fix, as_written: str, result: SandboxResult | None, name: str) -> dict[str, Any]:
    """One FixRecord as docs/results-schema.md describes it (plus the expectation it was held to)."""
    matched, why = expect_matches(fix, result)
    return {
        "backend": fix.backend,
        "idiom": fix.idiom,
        "code": fix.code.strip("\n") + "\n",
        "as_written": as_written.strip("\n") + "\n",
        "diff": unified_diff(as_written, fix.code, name),
        "output": (result.stdout if result else "") + (
            f"\n[{result.status}] {result.exception['type']}: {result.exception['message']}"
            if result and result.exception else ""),
        "verified": matched and all(c["agrees"] for c in oracle_checks(fix, result)),
        "expect": fix.expect,
        **({"expect_error": why} if why else {}),
        "intent": fix.intent,
        "oracle": oracle_checks(fix, result),
    }
