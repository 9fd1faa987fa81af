"""Corrected snippets: the unified diff against the article's code and whether the fix did what was intended.

A fix is only credited (``verified: true``) when it ran in the sandbox in this run and its stdout matches the
``expect`` regular expression the claims file declares: a fix that merely looks right proves nothing.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from conformance.article.claims import Fix
from conformance.article.sandbox import SandboxResult


def unified_diff(as_written: str, fixed: str, name: str = "snippet") -> str:
    """``difflib`` unified diff, as-written -> fixed."""
    return "".join(difflib.unified_diff(
        [ln + "\n" for ln in as_written.strip("\n").splitlines()],
        [ln + "\n" for ln in fixed.strip("\n").splitlines()],
        fromfile=f"{name} (as written)", tofile=f"{name} (fixed)"))


def verified(fix: Fix, result: SandboxResult | None) -> bool:
    """The fix ran to completion and printed what the article intended."""
    return result is not None and result.status == "ok" and re.search(fix.expect, result.stdout) is not None


def fix_record(fix: Fix, as_written: str, result: SandboxResult | None, name: str) -> dict[str, Any]:
    """One FixRecord as docs/results-schema.md describes it (plus the expectation it was held to)."""
    return {
        "backend": fix.backend,
        "idiom": fix.idiom,
        "code": fix.code.strip("\n") + "\n",
        "as_written": as_written.strip("\n") + "\n",
        "diff": unified_diff(as_written, fix.code, name),
        "output": (result.stdout if result else "") + (
            f"\n[{result.status}] {result.exception['type']}: {result.exception['message']}"
            if result and result.exception else ""),
        "verified": verified(fix, result),
        "expect": fix.expect,
        "intent": fix.intent,
    }
