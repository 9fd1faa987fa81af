"""An article's coverage: which of its checkable sentences and assertions a claim's quote covers.

The record (:func:`article_record`) goes into the results document's ``articles``, with the article's path as
published (relative to the project root, :func:`display_path`) and its digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from conformance.claims.article import anchors
from conformance.claims.article.claims import ClaimsFile
from conformance.contract import PROJECT_ROOT


def display_path(path: Path) -> str:
    """``path`` relative to the project root when it lies inside it (the report is published), else as given."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def article_record(cf: ClaimsFile, text: str, locations: dict[str, anchors.Location]) -> dict[str, Any]:
    """Coverage: checkable prose sentences (anchors.is_checkable) overlapped by at least one claim's quote.

    A claim covers the sentence its own occurrence of the quote lies in (``occurrence``), not every sentence
    that repeats the same words.
    """
    blocks = anchors.code_blocks(text)
    sents = [(ln, s) for ln, s in anchors.sentences(text, [(b.start_line, b.end_line) for b in blocks])
             if anchors.is_checkable(s)]
    norm, _ = anchors.normalize(text)
    spans = [locations[claim.id].span for claim in cf.claims]
    covered, uncovered, cursor = 0, [], 0
    n_assertions, covered_assertions, uncovered_assertions = 0, 0, []
    for line, s in sents:
        ns = anchors.normalize(s)[0]
        pos = norm.find(ns, cursor)
        if pos < 0:
            pos = norm.find(ns)
        cursor = max(cursor, pos + 1)
        end = pos + len(ns)
        if any(a < end and pos < b for a, b in spans):
            covered += 1
        else:
            uncovered.append(f"{line}: {s}")
        start = pos
        for part in anchors.assertions(s):
            np_ = anchors.normalize(part)[0]
            a_pos = norm.find(np_, start) if pos >= 0 else -1
            a_end = a_pos + len(np_)
            start = max(start, a_end)
            n_assertions += 1
            if a_pos >= 0 and any(a < a_end and a_pos < b for a, b in spans):
                covered_assertions += 1
            else:
                uncovered_assertions.append(f"{line}: {part}")
    return {
        "id": cf.article_id, "title": cf.title, "path": display_path(cf.article_path),
        "sha256": hashlib.sha256(cf.article_path.read_bytes()).hexdigest(), "claims": len(cf.claims),
        "checkable_sentences": len(sents), "covered_sentences": covered,
        "coverage": round(covered / len(sents), 3) if sents else 1.0, "uncovered": uncovered,
        "checkable_assertions": n_assertions, "covered_assertions": covered_assertions,
        "assertion_coverage": round(covered_assertions / n_assertions, 3) if n_assertions else 1.0,
        "uncovered_assertions": uncovered_assertions,
    }

