"""The report's fixed vocabulary: statuses, verdicts, their symbols and colours.

Every status and verdict is shown as colour *and* symbol *and* word, so the
report reads the same without colour (colour blindness, black-and-white print).
Keeping the mapping in one place keeps the matrix, the claim pages and the
legend consistent.
"""

from __future__ import annotations

from conformance.contract import STATUSES, VERDICTS
from conformance.contract import TRANSFORM_ORDER as TRANSFORMS
from conformance.contract import UNEXPECTED as PROBLEM_STATUSES

from .inline import Inline, badge
from .text import flat

__all__ = ["PROBLEM_STATUSES", "STATUSES", "TRANSFORMS", "VERDICTS"]  # the contract's names, re-exported here

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

VERDICT_SYMBOL = {"true": "✓", "false": "✗", "partly": "◐", "unverifiable": "?", "environment": "⚙"}
VERDICT_COLOUR = {"true": "success", "false": "danger", "partly": "warning", "unverifiable": "secondary",
                  "environment": "info"}
VERDICT_MEANING = {
    "true": "the code confirms the sentence",
    "false": "the code contradicts the sentence",
    "partly": "true under some conditions or for some libraries only",
    "unverifiable": "code cannot decide it (advice, opinion); sources are linked instead",
    "environment": "this machine lacks what the code needs (a GPU, a package, the network): named once, and the "
                   "cells that fail because of it are marked downstream, not false",
}

"""Schema order of transforms; unknown ones are appended alphabetically."""


def status_badge(status: str, count: int | None = None, ref: str | None = None, *, word: bool = True) -> Inline:
    """A status badge: colour, symbol and word (and a count, and a link); ``word=False`` for compact
    tables whose legend names the symbols (an unknown status keeps its word: it has no symbol of its own)."""
    colour = STATUS_COLOUR.get(status, "dark")
    symbol = STATUS_SYMBOL.get(status, "?")
    name = _word(status) if word or status not in STATUS_SYMBOL else ""
    parts = [symbol, "" if count is None else str(count), name]
    return badge(" ".join(p for p in parts if p), colour, target=ref)


def verdict_badge(verdict: str, count: int | None = None) -> Inline:
    """A verdict badge: colour, symbol and word (and a count)."""
    colour = VERDICT_COLOUR.get(verdict, "dark")
    symbol = VERDICT_SYMBOL.get(verdict, "?")
    text = f"{symbol} {_word(verdict)}" if count is None else f"{symbol} {count} {_word(verdict)}"
    return badge(text, colour)


def _word(word: str) -> str:
    """A status or verdict as shown: one line (unknown values are warned about elsewhere)."""
    return flat(word) or "unknown"
