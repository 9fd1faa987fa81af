"""Claim kind ``not-deprecated``: the API a document's code uses is not deprecated by the installed library, as the
library itself says when the code runs.

Why from the run, not from the names: a library says an API is deprecated by warning when it is used
(``warnings.warn(..., DeprecationWarning / FutureWarning)``), and the harness keeps every warning a cell shows
(``result.cells[i]["warnings"]``: category, message, file and line, up to 50 a cell, the registry of shown
warnings cleared per cell), as Python's warning machinery prints it on stderr:
``<cell 3>:7: FutureWarning: ... `functorch.grad` is deprecated ... Please use `torch.func.grad` instead``
(results without the list are read from the stderr text).  That is
the library's own word, at the document's own line, for the exact call the document makes; the ``names`` kind's
static notes (docstrings, ``__deprecated__``) stay notes.

What counts as a deprecation: a warning of a ``*DeprecationWarning`` category, or a ``FutureWarning`` whose message
says deprecated or removed (a FutureWarning that a default will change is not about the name the page uses).  Where
the claim is anchored: at the first line of the cell that writes the name the warning is about (the names before
"use ... instead" in the message, matched to the cell's names with its imports' aliases resolved, so ``from
functorch import vmap`` is where ``functorch.vmap`` comes in); where no such name is found, at the line the warning
points to (``<cell N>:LINE``); a warning that points at neither (a library's own file, about a name the document
never writes) is the library's business and makes no claim.

No claim where the document says so itself: a paragraph of its prose, or a comment of its code, that uses a word
of deprecation (deprecated, legacy, obsolete, superseded) and names the deprecated name or a module it lives in
(``As of PyTorch 2.0, we are deprecating functorch``: a migration guide shows the old code on purpose).  The
checker's own prelude cell is not the document's.  One claim per deprecated name per cell; every warning line is in
the evidence.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from conformance.claims.documents.kinds import Context, claim, claim_kind, prose
from conformance.claims.documents.kinds.mentions import PROSE_ALIASES, Mention, code_mentions
from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult

RULE = ("false where a cell's run printed a DeprecationWarning (or a FutureWarning saying deprecated or removed) "
        "about a name the cell writes, or pointing at a line of the cell: at the name's first line in the cell, "
        "else the warning's; no claim where the document's prose or comments call that name deprecated")

_HEADER = re.compile(r"^(?P<where>[^\n]*?):(?P<line>\d+): (?P<category>\w*(?:DeprecationWarning|FutureWarning)): "
                     r"(?P<message>[^\n]*)$", re.MULTILINE)
_CELL = re.compile(r"<cell (\d+)>")
_REMOVAL = re.compile(r"deprecat|will be removed|to be removed|scheduled for removal|will be deleted", re.IGNORECASE)
_CUE = re.compile(r"\b(?:use|using|instead|in favou?r of|replaced by|replacement|switch to|migrate to|see)\b",
                  re.IGNORECASE)
_URLS = re.compile(r"\b[a-z][\w+.-]*://\S+", re.IGNORECASE)
_QUOTED = re.compile(r"[`'\"]([A-Za-z_][\w.]*?)(?:\(\))?[`'\"]")
_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_ACK = re.compile(r"deprecat|\blegacy\b|\bobsolete\b|\bsuperseded\b", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Warned:
    """One deprecation warning a cell's run printed."""

    where: str
    """The file the warning points at: ``<cell 3>`` for the document's own code."""
    line: int
    category: str
    message: str

    @property
    def cell(self) -> int | None:
        m = _CELL.fullmatch(self.where.strip())
        return int(m.group(1)) if m else None


def warnings_in(stderr: str) -> list[Warned]:
    """The deprecation warnings in a cell's stderr, as Python's ``warnings`` module prints them (a header cut off by
    the record's 2,000-character limit is left out)."""
    found = []
    for m in _HEADER.finditer(stderr or ""):
        message = m.group("message").strip()
        if m.group("category").endswith("FutureWarning") and not m.group("category").endswith("DeprecationWarning") \
                and not _REMOVAL.search(message):
            continue
        found.append(Warned(m.group("where"), int(m.group("line")), m.group("category"), message[:1000]))
    return found


def warnings_of(record: dict[str, Any]) -> list[Warned]:
    """A cell's deprecation warnings: from the structured list the harness keeps (every warning, even those whose
    stderr text was cut), else from its stderr."""
    kept = record.get("warnings")
    if not isinstance(kept, list):
        return warnings_in(str(record.get("stderr") or ""))
    found = []
    for w in kept:
        category, message = str(w.get("category", "")), str(w.get("message", ""))
        if not (category.endswith("DeprecationWarning") or category.endswith("FutureWarning")):
            continue
        if category.endswith("FutureWarning") and not _REMOVAL.search(message):
            continue
        found.append(Warned(str(w.get("filename", "")), int(w.get("line", 0) or 0), category, message[:1000]))
    return found


def warned_names(message: str) -> list[str]:
    """The names a deprecation message is about: quoted or dotted names before its "use ... instead" part (all of
    them where there is no such part)."""
    text = _URLS.sub(" ", message)
    cue = _CUE.search(text)
    if cue and (cue.start() > 0):
        head = text[:cue.start()]
        text = head if _QUOTED.search(head) or _DOTTED.search(head) else text
    found = [m.group(1) for m in _QUOTED.finditer(text)] + [m.group(0) for m in _DOTTED.finditer(text)]
    return [n.rstrip(".") for n in dict.fromkeys(found) if n.rstrip(".")]


def _matches(name: str, m: Mention, aliases: dict[str, str]) -> bool:
    full = _expand(name, aliases)
    return m.name == full or m.written == name or m.name.endswith("." + name)


def _expand(name: str, aliases: dict[str, str]) -> str:
    head, _, rest = name.partition(".")
    target = aliases.get(head) or PROSE_ALIASES.get(head)
    return f"{target}.{rest}" if target and rest else (target or name)


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(len(parts), 0, -1)]


def _acknowledged(texts: list[str], names: list[str]) -> bool:
    """Some text (a prose paragraph, a code comment) uses a word of deprecation and names one of ``names`` or a
    module one lives in, as a whole dotted token (``functorch``, not the ``torch`` of ``torch.func``)."""
    tokens = {p for n in names for p in _prefixes(n)}
    patterns = [re.compile(rf"(?<![\w.]){re.escape(t)}(?!\w|\.\w)") for t in tokens]
    return any(_ACK.search(text) and any(p.search(text) for p in patterns) for text in texts)


def _comments(source: str) -> list[str]:
    return [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]


@claim_kind("not-deprecated", rule=RULE)
def not_deprecated(doc: Document, result: SessionResult, context: Context) -> list[dict[str, Any]]:
    """One false claim per deprecated name per cell whose run warned about it, unless the document says so."""
    if result.status == "cancelled":
        return []
    aliases: dict[str, str] = {}
    by_cell: list[list[Mention]] = []
    for index, cell in enumerate(doc.cells):
        by_cell.append(code_mentions(cell.code, cell.line, index, aliases))
    texts: list[str] | None = None
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for index, record in enumerate(result.cells):
        if not record or index >= len(doc.cells):
            continue
        for w in warnings_of(record):
            at = w.cell if w.cell is not None and 0 <= w.cell < len(doc.cells) else None
            home = index if at is None else at
            if doc.cells[home].assumed:
                continue  # the checker's prelude, not the document
            names = warned_names(w.message)
            hits = [m for m in by_cell[home] for n in names if _matches(n, m, aliases)]
            if not hits and at is None:
                continue  # about no code of the document
            if texts is None:
                texts = [b.text for b in prose.blocks(doc)] + [t for c in doc.cells if not c.assumed
                                                              for t in _comments(c.code)]
            named = sorted({m.name for m in hits}) or [_expand(n, aliases) for n in names]
            if _acknowledged(texts, named + names):
                continue
            warning_line = doc.cells[at].line + w.line - 1 if at is not None else None
            line = min(m.line for m in hits) if hits else warning_line
            key = (home, named[0] if hits else w.message[:200])
            entry = found.setdefault(key, {"cell": home, "line": line, "warning": w, "names": named,
                                           "warning_lines": set()})
            entry["line"] = min(entry["line"], line)
            if warning_line is not None:
                entry["warning_lines"].add(warning_line)
    claims = []
    for k, entry in enumerate(sorted(found.values(), key=lambda e: (e["line"], e["cell"]))):
        first: Warned = entry["warning"]
        lines = sorted(entry["warning_lines"])
        where = f" (the warning points at line {', '.join(map(str, lines))})" if lines else ""
        subject = f"{' and '.join(entry['names'][:3])}: " if entry["names"] else ""
        tag = entry["names"][0] if entry["names"] else f"warning{k}"
        claims.append(claim("not-deprecated", cell=entry["cell"], line=entry["line"], verdict="false",
                            reason=f"{subject}the library warns when the cell runs{where}: {first.category}: "
                                   f"{first.message[:300]}",
                            evidence={"category": first.category, "message": first.message, "names": entry["names"],
                                      "warning_lines": lines, "warned_at": f"{first.where}:{first.line}"},
                            id=f"not-deprecated@{entry['line']}#{entry['cell']}:{tag}"))
    return claims
