"""Claim kind ``speed``: what a cell prints about which of two timed calls is faster, against the run's timings.

Why: tutorials time two transforms and print a verdict ("Performance delta: 12.3 percent improvement with
jacrev"), often through a helper of their own, and a helper that takes the absolute value of the difference
credits the first call whichever was faster.  The run's own measurements (``inside.timing``: every
``torch.utils.benchmark.Timer`` and ``timeit`` measurement, taken with interception off) say which was.

A printed line counts when it credits one call by name: ``N percent improvement with A`` (or ``% faster``,
``speedup``, ``gain``), ``A is N x faster``, ``A is faster than B``.  ``A`` must name exactly one of the two
most recent measurements of the run so far (a word of its timed statement), and ``B`` the other (named, or the
other of the two).  The claim is true when A's median time per call is the smaller, false when it is the larger
by more than the measurements' spread (their interquartile range relative to the median, at least
:data:`MIN_SPREAD`), and unverifiable within it: on this machine the two are not told apart.  Speeds stated in
prose are not judged: they are about the author's machine (``environment``), not about what this run printed.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.claims.documents.kinds import Context, claim, claim_kind
from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult

RULE = ("true when the call a printed line credits as faster has the smaller median time of the run's own two "
        "latest measurements; false when it has the larger, by more than their spread; unverifiable within it")
MIN_SPREAD = 0.05
"""The smallest relative spread assumed: one ``timeit`` measurement has no interquartile range of its own."""
_CREDIT = [
    re.compile(r"(?P<pct>\d+(?:\.\d+)?)\s*(?:%|percent)\s+(?:improvement|faster|speed-?up|gain)\s+"
               r"(?:with|for|using|by|of)\s+[`'\"]?(?P<who>[A-Za-z_][\w.]*)", re.IGNORECASE),
    re.compile(r"(?P<who>[A-Za-z_][\w.]*)[`'\"]?\s+is\s+(?P<pct>\d+(?:\.\d+)?)\s*(?:x|times)\s+faster", re.IGNORECASE),
    re.compile(r"(?P<who>[A-Za-z_][\w.]*)[`'\"]?\s+is\s+faster\s+than\s+[`'\"]?(?P<other>[A-Za-z_][\w.]*)",
               re.IGNORECASE),
]


def _names(stmt: str, word: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", stmt) is not None


def _pair(timings: list[dict[str, Any]], who: str, other: str | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    last = timings[-2:]
    if len(last) < 2:
        return None
    mine = [t for t in last if _names(t["stmt"], who)]
    rest = [t for t in last if not _names(t["stmt"], who)]
    if len(mine) != 1 or len(rest) != 1 or (other and not _names(rest[0]["stmt"], other)):
        return None
    return mine[0], rest[0]


def _line_of(doc: Document, index: int, who: str, used: set[int]) -> int:
    """The cell's line that names the credited call first among its strings (``get_perf(a, "jacfwd", b,
    "jacrev")`` credits jacfwd), taking the cell's lines in order, one printed claim each; else the cell's line."""
    cell = doc.cells[index]
    lines = list(enumerate(cell.code.splitlines()))
    for test in (lambda lits: lits[:1] == [who], lambda lits: who in lits):
        for k, text in lines:
            if cell.line + k not in used and test(re.findall(r"[\"']([^\"']+)[\"']", text)):
                return cell.line + k
    return cell.line


def _spread(t: dict[str, Any]) -> float:
    med, iqr = float(t["median_s"]), float(t["iqr_s"])
    return max(MIN_SPREAD, iqr / med if med > 0 else 0.0)


@claim_kind("speed", rule=RULE)
def speed(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    claims: list[dict[str, Any]] = []
    timings: list[dict[str, Any]] = []
    used: set[int] = set()
    for index, rec in enumerate(result.cells):
        if not rec or index >= len(doc.cells) or doc.cells[index].assumed:
            continue
        timings += [t for t in rec.get("timings") or [] if isinstance(t, dict)]
        for text in str(rec.get("stdout") or "").splitlines():
            for pattern in _CREDIT:
                m = pattern.search(text)
                if m is None:
                    continue
                who, other = m.group("who"), m.groupdict().get("other")
                pair = _pair(timings, who, other)
                if pair is None:
                    break
                fast, slow = pair
                a, b = float(fast["median_s"]), float(slow["median_s"])
                spread = max(_spread(fast), _spread(slow))
                said = f"{a * 1e6:.4g} us per call for {fast['stmt'][:80]!r}, {b * 1e6:.4g} us for {slow['stmt'][:80]!r}"
                if a < b:
                    verdict, reason = "true", f"the run measured {who} faster: {said}"
                elif (a - b) / a > spread:
                    verdict, reason = "false", f"the run measured {who} slower, not faster: {said}"
                else:
                    verdict, reason = "unverifiable", f"within the measurements' spread ({spread:.0%}): {said}"
                line = _line_of(doc, index, who, used)
                used.add(line)
                claims.append(claim("speed", cell=index, line=line, verdict=verdict, reason=reason,
                                    evidence={"printed": text.strip()[:300], "credited": who, "timings": [fast, slow]},
                                    id=f"speed@{line}#{index}:{len(claims)}"))
                break
    return claims
