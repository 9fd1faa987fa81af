"""The report's fixed vocabulary: statuses, verdicts, their symbols and colours.

Every status and verdict is shown as colour *and* symbol *and* word, so the
report reads the same without colour (colour blindness, black-and-white print).
Keeping the mapping in one place keeps the matrix, the claim pages and the
legend consistent.
"""

from __future__ import annotations

import re

STATUSES = ("pass", "fail", "error", "skip", "xfail", "xpass")
"""In display order; mirrors ``conformance.results.STATUSES``."""

STATUS_SYMBOL = {"pass": "✓", "fail": "✗", "error": "!", "skip": "○", "xfail": "⊘", "xpass": "⚠"}
STATUS_COLOUR = {
    "pass": "success",
    "fail": "danger",
    "error": "danger",
    "skip": "secondary",
    "xfail": "info",
    "xpass": "warning",
}
STATUS_MEANING = {
    "pass": "the check held",
    "fail": "the library disagreed with the reference beyond tolerance",
    "error": "the check raised an unexpected exception",
    "skip": "not run, with a reason (e.g. the library has no public API for it)",
    "xfail": "failed as the manifest expects (a known, documented difference)",
    "xpass": "passed although the manifest expects a failure: the manifest is stale",
}
PROBLEM_STATUSES = ("fail", "error", "xpass")
"""Statuses that get a mismatch page: surprises a reader must look at."""

VERDICTS = ("true", "false", "partly", "unverifiable")
VERDICT_SYMBOL = {"true": "✓", "false": "✗", "partly": "◐", "unverifiable": "?"}
VERDICT_COLOUR = {"true": "success", "false": "danger", "partly": "warning", "unverifiable": "secondary"}
VERDICT_MEANING = {
    "true": "the code confirms the sentence",
    "false": "the code contradicts the sentence",
    "partly": "true under some conditions or for some libraries only",
    "unverifiable": "code cannot decide it (advice, opinion); sources are linked instead",
}

TRANSFORMS = (
    "grad",
    "grad_and_value",
    "vjp",
    "jvp",
    "jacrev",
    "jacfwd",
    "hessian",
    "vmap",
    "scan",
    "cond",
    "jit",
    "errors",
)
"""Schema order of transforms; unknown ones are appended alphabetically."""


def status_badge(status: str, count: int | None = None, ref: str | None = None, *, word: bool = True) -> str:
    """reST for a status badge: colour, symbol and word (and a count, and a link); ``word=False`` for compact
    tables whose legend names the symbols (an unknown status keeps its word: it has no symbol of its own)."""
    colour = STATUS_COLOUR.get(status, "dark")
    symbol = STATUS_SYMBOL.get(status, "?")
    name = _safe(status) if word or status not in STATUS_SYMBOL else ""
    parts = [symbol, "" if count is None else str(count), name]
    text = " ".join(p for p in parts if p)
    if ref:
        return f":bdg-ref-{colour}:`{text} <{ref}>`"
    return f":bdg-{colour}:`{text}`"


def verdict_badge(verdict: str, count: int | None = None) -> str:
    """reST for a verdict badge: colour, symbol and word (and a count)."""
    colour = VERDICT_COLOUR.get(verdict, "dark")
    symbol = VERDICT_SYMBOL.get(verdict, "?")
    text = f"{symbol} {_safe(verdict)}" if count is None else f"{symbol} {count} {_safe(verdict)}"
    return f":bdg-{colour}:`{text}`"


def _safe(word: str) -> str:
    """A word from the data made safe inside role text (unknown values are warned about elsewhere)."""
    return re.sub(r"[^\w.-]", "", str(word)) or "unknown"
