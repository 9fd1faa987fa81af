"""Claim kind ``names``: every dotted name of a known library a document mentions exists in the installed library.

Where names come from (code, prose, the page's current module) is :mod:`.mentions`; how each is resolved, in a
sandboxed probe, is :mod:`.name_probe`.  One claim per distinct name per document, anchored at its first line;
its evidence lists every line and every spelling.

The rule: true when the name resolves (deprecated or not: a deprecation is a note in the reason and
``evidence["deprecated"]``, from a DeprecationWarning/FutureWarning on access or import, a ``__deprecated__``
attribute, "deprecated" in the docstring's first line or the docstring saying the name is deprecated, a defining
module named ``deprecated``, or the roots table, e.g. ``functorch``; the ``not-deprecated`` kind is where a
deprecation the document's own run shows makes a claim false); false when a component is missing (the reason
names the parent, the missing attribute and the closest names, by difflib), except where every occurrence is in
a cell that states the exception it raises; unverifiable when the root is not installed, a module exists but cannot
be imported here, or the probe did not finish.  A name the page only implies (a bare role target read in its
current module) is claimed only when it resolves: that it does not is no evidence the page is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.claims.documents import compare
from conformance.claims.documents.kinds import Context, claim, claim_kind
from conformance.claims.documents.kinds.mentions import PROSE_ALIASES, ROOTS, Mention, mentions, prose_mentions, scoped
from conformance.claims.documents.kinds.name_probe import PROBE, installed, probe, resolve
from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult

__all__ = ["MAX_LINES", "MAX_NAMES", "PROBE", "PROSE_ALIASES", "ROOTS", "RULE", "Mention", "installed", "mentions",
           "names", "probe", "prose_mentions", "resolve", "scoped"]
"""Re-exported: what finds the names (:mod:`.mentions`) and what resolves them (:mod:`.name_probe`) were this
module's until it was split by job; callers and tests still reach them here."""

RULE = ("true when the dotted name resolves in the installed library (a deprecation is noted, the verdict stays "
        "true); false when a component is missing (unless every use is in a cell stating the exception it "
        "raises); unverifiable when the library is not installed, a module cannot be imported, or the probe "
        "did not finish")
MAX_NAMES = 2000
"""Distinct names resolved per document; more are reported as one unverifiable claim (a generated page)."""
MAX_LINES = 50
"""Lines kept per name in the evidence (``lines_total`` says how many there were)."""


# --- the claims ----------------------------------------------------------------------------------------------------

def _states_exception(doc: Document, cells: set[int]) -> bool:
    """Every cell of ``cells`` states the exception it raises (a page showing that a name does not exist)."""
    return bool(cells) and all(
        0 <= i < len(doc.cells) and any(e.scope == "cell" and compare.is_exception(e.text) for e in doc.cells[i].expected)
        for i in cells)


def _verdict(name: str, entry: dict[str, Any] | None, problem: str, uses: list[Mention], doc: Document,
             versions: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    root = ROOTS[name.split(".")[0]]
    version = versions.get(root.name)
    lib = f"{root.name} {version}" if version else root.name
    evidence: dict[str, Any] = {"name": name, "library": root.name}
    if version:
        evidence["version"] = version
    if not installed(root.name):
        return "unverifiable", f"{root.name} ({root.library}) is not installed here", evidence
    if entry is None:
        return "unverifiable", problem or "the name was not resolved", evidence
    evidence["resolved"] = entry
    if entry["status"] == "error":
        return "unverifiable", entry["error"], evidence
    if entry["status"] == "missing":
        reason = f"{entry['parent']} has no attribute {entry['attr']}"
        if entry["suggestions"]:
            reason += f"; did you mean {' or '.join(entry['suggestions'])}?"
        generic = re.fullmatch(r"(?:module|type object) '[\w.]+' has no attribute '\w+'", entry["message"])
        if entry["message"] and not generic:
            reason += f" ({root.name} says: {entry['message']})"
        reason += f" (in {lib})"
        cells = {m.cell for m in uses}
        if -1 not in cells and _states_exception(doc, cells):
            return "true", reason + ": missing, as the document states (its cells show the exception)", evidence
        return "false", reason, evidence
    notes = [n for n in (entry["deprecated"], root.deprecated) if n]
    if notes:
        evidence["deprecated"] = "; ".join(notes)
    reason = f"{name} exists in {lib}"
    if notes:
        reason += "; deprecated: " + "; ".join(n.removeprefix("deprecated: ") for n in notes)
    return "true", reason, evidence


def _found(entry: dict[str, Any] | None, role: bool) -> bool:
    """An implied reading that resolves: to anything for a role, to what is not a module for inline code."""
    return bool(entry) and entry["status"] == "found" and (role or entry["type"] != "module")


@claim_kind("names", rule=RULE)
def names(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    """One claim per distinct known-library name of the document, judged against the installed libraries."""
    if result.status == "cancelled":
        return []  # the document is checked again; nothing was asked of the sandbox
    by_name: dict[str, list[Mention]] = {}
    for m in mentions(doc):
        by_name.setdefault(m.name, []).append(m)
    ordered = sorted(by_name, key=lambda n: (by_name[n][0].line, n))
    claims: list[dict[str, Any]] = []
    if len(ordered) > MAX_NAMES:
        first = by_name[ordered[MAX_NAMES]][0]
        claims.append(claim("names", cell=first.cell, line=first.line, verdict="unverifiable",
                            reason=f"{len(ordered) - MAX_NAMES} more names than the {MAX_NAMES} resolved per document",
                            evidence={"names": ordered[MAX_NAMES:MAX_NAMES + 100]}, id=f"names@{first.line}:more"))
        ordered = ordered[:MAX_NAMES]
    groups = scoped(doc)
    room = max(0, MAX_NAMES - len(ordered))
    implied = [n for n in dict.fromkeys(m.name for g in groups for m in g.candidates)
               if n not in by_name and installed(n.split(".")[0])][:room]
    wanted = [n for n in ordered if installed(n.split(".")[0])]
    entries, versions, problem = resolve(wanted + implied, context)
    for group in groups:  # a name the page implies counts where one of its readings resolves, the first that does
        hit = next((m for m in group.candidates if _found(entries.get(m.name), group.role)
                    and (m.name in by_name or m.name in implied)), None)
        if hit is not None:
            by_name.setdefault(hit.name, []).append(hit)
    for uses in by_name.values():
        uses.sort(key=lambda m: (m.line, m.cell < 0))
    ordered = sorted(by_name, key=lambda n: (by_name[n][0].line, n))
    for name in ordered:
        uses = by_name[name]
        verdict, reason, evidence = _verdict(name, entries.get(name), problem, uses, doc, versions)
        read = sorted({m.via for m in uses if m.via})
        if read:
            evidence["read"] = read
            if all(m.via for m in uses):
                reason += f" ({uses[0].via})"
        lines = sorted({m.line for m in uses})
        evidence.update(written=sorted({m.written for m in uses}), lines=lines[:MAX_LINES], lines_total=len(lines),
                        where=sorted({m.where for m in uses}))
        first = uses[0]
        claims.append(claim("names", cell=first.cell, line=first.line, verdict=verdict, reason=reason,
                            evidence=evidence, id=f"names@{first.line}:{name}"))
    return claims
