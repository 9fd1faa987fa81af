"""``check-doc DOC --draft-claims FILE``: a claims file drafted from the document's prose, for a maintainer to fill.

The automatic claims (``runs``, ``shows``, ``derivative-correct``, ``names``) decide what a document's code does;
what its prose states about that code (a derivative, a shape, a speed, an equality, a property of a transform) no
rule decides without a claims file.  This writes one: each checkable sentence becomes a ``[[claim]]`` that quotes
it (anchored by quote and line, with ``occurrence`` where the sentence repeats), of the article checker's kind
for it (``proposition`` or ``performance``; see ``conformance.claims.article.claims.KIND_FIELDS``), with every field that
needs a person's judgement written as a ``TODO``.  Until the TODOs are filled the file does not validate, and
``conformance.claims.article.claims.validate`` names the line of each; filled, ``check-doc DOC --claims FILE`` checks
them.  A sentence code cannot check becomes ``kind = "advice"`` (its note says why).

Which sentences count is the registered set of sentence patterns (:func:`sentence_pattern`, :data:`PATTERNS`), in
priority order: a sentence is drafted under the first pattern it matches.  Sentences the ``shows`` rule already
decides (a "prints ..." sentence after a code block) are left out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from conformance.claims.documents.kinds import prose
from conformance.claims.documents.model import Document

TODO = "TODO"


@dataclasses.dataclass(frozen=True)
class Pattern:
    """Sentences of one sort: what marks them, which claim kind checks them, and the counters worth suggesting."""

    name: str
    kind: str
    """``proposition`` or ``performance``: a kind of the article checker."""
    regex: re.Pattern[str]
    hint: str
    """One line for the maintainer: what the claim's code should establish."""
    counters: tuple[tuple[str, str], ...] = ()
    """(word regex, counter name): the first whose word occurs in the sentence is suggested."""


PATTERNS: dict[str, Pattern] = {}


def sentence_pattern(name: str, *, kind: str, words: str, hint: str,
                     counters: tuple[tuple[str, str], ...] = ()) -> Pattern:
    """Register a sort of checkable sentence (``words``: a case-insensitive regex); registration order is
    priority order."""
    if name in PATTERNS:
        raise ValueError(f"sentence pattern {name!r} registered twice")
    if kind not in ("proposition", "performance"):
        raise ValueError(f"sentence pattern {name!r}: kind {kind!r} has no template here")
    PATTERNS[name] = Pattern(name, kind, re.compile(words, re.IGNORECASE), hint, counters)
    return PATTERNS[name]


sentence_pattern(
    "speed", kind="performance",
    words=r"\b(?:faster|slower|quicker|speed-?ups?|\d+(?:\.\d+)?\s*(?:x|×|times)\b|times (?:faster|slower)|"
          r"efficient(?:ly)?|overhead|latency|throughput)",
    hint="which idioms the sentence compares, and within what ratio the baseline must be")
sentence_pattern(
    "equality", kind="proposition",
    words=r"\b(?:equals?|equal to|the same as|identical|equivalent|gives the same|coincides?|agrees? with)\b|==",
    hint="both sides of the equality, computed on the drawn case and compared with close(a, b)",
    counters=((r"hessian", "hessian-is-jacobian"), (r"jvp", "jvp-returns-grad"),
              (r"vmap|loop", "vmap-reverses-batch"), (r"grad|derivative", "grad-scaled")))
sentence_pattern(
    "shape", kind="proposition",
    words=r"\b(?:shapes?|dimensions?|axis|axes|batch (?:size|dimension|axis)|rows?|columns?|scalars?|"
          r"\d+\s*[x×]\s*\d+|\(\d+,\s*\d+\))",
    hint="the shape the sentence states, e.g. B.jacrev(f)(x).shape == (m, n) for the drawn x",
    counters=((r"vmap|batch", "vmap-reverses-batch"), (r"hessian", "hessian-is-jacobian"),
              (r"jvp", "jvp-returns-vjp")))
sentence_pattern(
    "derivative", kind="proposition",
    words=r"\b(?:derivatives?|gradients?|jacobians?|hessians?|jvps?|vjps?|jacobian-vector|vector-jacobian|"
          r"hessian-vector|differentiat\w*|partials?|d\w{0,3}/d\w{1,3})\b|[∂∇]",
    hint="the derivative the sentence states, against the NumPy reference (REF.grad/jvp/hessian of bind_ref(F))",
    counters=((r"hessian", "hessian-is-jacobian"), (r"jvp|jacobian-vector", "jvp-returns-grad"),
              (r"vjp|vector-jacobian", "jvp-returns-vjp"), (r"grad_and_value|value and (?:the )?grad",
                                                             "grad-and-value-swapped"), (r".", "grad-scaled")))
sentence_pattern(
    "transform", kind="proposition",
    words=r"\b(?:vmap|vectori[sz]\w*|batch\w*|jit|compil\w*|trac(?:e|es|ed|ing)|pure functions?|side[- ]effects?|"
          r"compos\w*|nest\w*|has_aux|argnums|in_dims|in_axes|out_dims|scan|cond|control flow)\b",
    hint="the property of the transform, shown on a function where it could fail",
    counters=((r"has_aux|aux", "aux-dropped"), (r"argnums", "argnums-ignored"), (r"scan", "no-scan"),
              (r"control flow|cond\b|\bif\b", "loop-control-flow"), (r"vmap|batch|vectori", "vmap-reverses-batch")))


@dataclasses.dataclass(frozen=True)
class Sentence:
    text: str
    """Whitespace collapsed; it is the claim's quote (quotes are found ignoring whitespace)."""
    line: int
    pattern: Pattern
    matched: str
    raw: str = ""
    """As written, line breaks kept (its first line is the fallback quote)."""


_ABBREVIATIONS = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|fig|eq|approx|resp)\.|\b[A-Z]\.)$", re.IGNORECASE)
_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`*_(\[\"'])|(?<=[。！？])")


def sentences(block: prose.Block) -> list[tuple[str, int]]:
    """(sentence, its first file line) of a prose block; ``e.g.``-style abbreviations do not end one."""
    found: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(block.text):
        if _ABBREVIATIONS.search(block.text[start:m.start()]):
            continue
        found.append((start, m.start()))
        start = m.end()
    found.append((start, len(block.text)))
    out = []
    for a, b in found:
        raw = block.text[a:b]
        lead = len(raw) - len(raw.lstrip())
        if raw.strip():
            out.append((raw.strip(), block.line_at(a + lead)))
    return out


def checkable(text: str, line: int) -> Sentence | None:
    """The sentence under the first pattern it matches, or None (too short to state anything, or no pattern)."""
    collapsed = " ".join(text.split())
    if len(re.findall(r"\w+", collapsed)) < 4 and not re.search(r"[^\x00-\x7f]", collapsed):
        return None
    for pattern in PATTERNS.values():
        m = pattern.regex.search(collapsed)
        if m:
            return Sentence(collapsed, line, pattern, m.group(0), text)
    return None


def _record(doc: Document, results_doc: dict[str, Any]) -> dict[str, Any]:
    """This document's entry of a results file (or the entry itself)."""
    if "documents" not in results_doc:
        return results_doc
    return next((r for r in results_doc.get("documents") or [] if r.get("source") == doc.source), {})


def _decided(doc: Document, record: dict[str, Any]) -> dict[int, set[str]]:
    """Line -> values stated there that an automatic rule already judges (a ``shows`` claim on a sentence such
    as "It prints ``tensor(6.)``")."""
    lines: dict[int, set[str]] = {}
    for c in doc.cells:
        for e in c.expected:
            if e.origin == "prose":
                lines.setdefault(e.line, set()).add(e.text)
    for c in record.get("claims") or []:
        ev = c.get("evidence") or {}
        if c.get("kind") == "shows" and ev.get("origin") == "prose" and isinstance(c.get("line"), int):
            lines.setdefault(c["line"], set()).add(str(ev.get("stated", "")))
    return lines


def _next_example(line: int, record: dict[str, Any]) -> str:
    """What the automatic claims say of the first example after ``line`` (context for the maintainer)."""
    cells = [c for c in record.get("cells") or [] if isinstance(c.get("line"), int) and c["line"] > line]
    if not cells:
        return ""
    cell = min(cells, key=lambda c: c["line"])
    counts: dict[str, dict[str, int]] = {}
    for c in record.get("claims") or []:
        if c.get("cell") == cell.get("index"):
            word = str(c.get("verdict"))
            counts.setdefault(str(c.get("kind")), {}).setdefault(word, 0)
            counts[str(c.get("kind"))][word] += 1
    said = "; ".join(f"{kind} " + ", ".join(f"{n} {w}" for w, n in sorted(row.items())) for kind, row in counts.items())
    return f"next example (line {cell['line']}): {said}" if said else f"next example at line {cell['line']}"


def _backends(doc: Document, record: dict[str, Any]) -> list[str]:
    from conformance.claims.article.claims import SPEC_BACKENDS
    from conformance.claims.documents.session import libraries_of

    found = [lib for lib in libraries_of(doc) if lib in SPEC_BACKENDS]
    found += [lib for lib in (record.get("libraries") or {}) if lib in SPEC_BACKENDS and lib not in found]
    return found


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _suggested_counter(sentence: Sentence) -> str:
    from conformance.claims.article.counters import COUNTERS

    for word, name in sentence.pattern.counters:
        if re.search(word, sentence.text, re.IGNORECASE) and name in COUNTERS:
            return f"{name} ({COUNTERS[name].doc})"
    return ""


def _anchor(text: str, sentence: Sentence) -> tuple[str, int] | None:
    """(quote, occurrence) that finds this sentence at its line in the file; None when no quote does (its text
    is escaped in the file, as in a notebook's JSON).  Falls back to the sentence's part on its first line."""
    from conformance.claims.article import anchors

    for quote in dict.fromkeys((sentence.text, " ".join(sentence.raw.split("\n")[0].split()))):
        locs = anchors.find_quotes(text, quote)
        if locs:
            best = min(range(len(locs)), key=lambda k: (abs(locs[k].line - sentence.line), k))
            return quote, (best + 1 if len(locs) > 1 else 0)
    return None


def _claim_lines(index: int, sentence: Sentence, quote: str, occurrence: int, backends: list[str],
                 context: str) -> list[str]:
    from conformance.claims.article.measure import IDIOMS

    p = sentence.pattern
    out = ["", "[[claim]]", f'id = "{p.name}-line-{sentence.line}' + (f"-{index}" if index else "") + '"',
           f"# line {sentence.line}: {p.name} sentence (\"{sentence.matched}\"); to check: {p.hint}"]
    if context:
        out.append(f"# {context}")
    out += [f"quote = {_string(quote)}"]
    if occurrence:
        out.append(f"occurrence = {occurrence}")
    out += [f"paraphrase = {_string(sentence.text)}  # say exactly what is asserted", f'kind = "{p.kind}"']
    if p.kind == "performance":
        out.append(f'measure = {{ baseline = "{TODO}", alternatives = ["{TODO}"], within = 1.25 }}  '
                   f"# {TODO}: idioms: {', '.join(IDIOMS)}")
        return out
    listed = ", ".join(f'"{b}"' for b in backends) if backends else f'"{TODO}"'
    out.append(f"backends = [{listed}]" + ("" if backends else f"  # {TODO}: numpy, torch and/or jax"))
    suggestion = _suggested_counter(sentence)
    out.append(f'counter = "{TODO}"  # {TODO}: the counter-adapter under which the verdict must move'
               + (f"; suggested: {suggestion}" if suggestion else ""))
    out += [f"proposition = '''# {TODO}: holds(x, v) returns True when the sentence holds on the drawn case",
            "def holds(x, v):",
            "    <the property, e.g. close(B.grad(bind(F))(x), REF.grad(bind_ref(F))(N(x)))>",
            "'''"]
    return out


def _header(doc: Document, path: Path, drafted: int, skipped: list[Sentence]) -> list[str]:
    from conformance.claims.article.counters import COUNTERS

    article = os.path.relpath(Path(doc.file or doc.source).resolve(), path.resolve().parent)
    ident = (doc.sha256 or hashlib.sha256(doc.source.encode()).hexdigest())[:8]
    lines = [
        f"# Draft claims for {doc.source}, written by check-doc --draft-claims: {drafted} sentence(s) of its prose",
        "# that state something code can check and no automatic rule decides (runs, shows, derivative-correct,",
        "# names).  Fill every TODO: until then this file does not validate, and each problem names its line.",
        f"# Then: python -m conformance check-doc {doc.source} --claims {path.name}",
        "# A sentence code cannot check: set kind = \"advice\", delete backends/counter/proposition/measure, and say",
        "# why in note = \"...\".  A proposition defines holds(x, v) over B (the backend adapter), REF (the NumPy",
        "# reference), bind/bind_ref, A/N (to and from NumPy), close, matrix, api, rng, unpack",
        "# (conformance/claims/article/propositions.py).  Counter-adapters (counter = \"...\"):",
        *(f"#   {name}: {c.doc}" for name, c in sorted(COUNTERS.items())),
    ]
    if skipped:
        lines.append("# Checkable sentences left out (no quote finds them verbatim in the file; claim them by hand):")
        lines += [f"#   line {s.line}: {s.text[:100]}" for s in skipped]
    if not drafted:
        lines.append("# No checkable sentence was found: add [[claim]] tables by hand (a claims file needs one).")
    return [*lines, "", "[article]", f'id = "{ident}"', f"title = {_string(doc.title or doc.source)}",
            f"path = {_string(article)}"]


def draft(doc: Document, results_doc: dict[str, Any]) -> list[tuple[Sentence, str, int]]:
    """The sentences to claim: (sentence, quote, occurrence), plus (as occurrence -1) those no quote anchors."""
    record = _record(doc, results_doc)
    decided = _decided(doc, record)
    text = prose.file_text(doc) or ""
    found = []
    for block in prose.blocks(doc):
        if block.heading:
            continue
        for raw, line in sentences(block):
            sentence = checkable(raw, line)
            if sentence is None or any(v and v in raw for v in decided.get(line, ())):
                continue
            anchor = _anchor(text, sentence)
            found.append((sentence, *anchor) if anchor else (sentence, "", -1))
    return found


def write_claims(doc: Document, results_doc: dict[str, Any], path: Path, *, overwrite: bool = False) -> int:
    """Write the draft claims file for ``doc`` to ``path`` (``results_doc``: the results file, or the document's
    entry, that this run wrote: its claims and cells give context); return how many claims it holds.

    An existing file is never replaced unless ``overwrite``: it may be the claims a maintainer already filled in
    (``FileExistsError``, naming the fix).  A failed write is ``conformance.store.outputs.OutputError``.
    """
    from conformance.store.outputs import write_atomic

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists, and a draft would replace what is in it (choose another file for "
                              "the draft, or remove this one)")
    record = _record(doc, results_doc)
    backends = _backends(doc, record)
    found = draft(doc, results_doc)
    anchored = [(s, q, o) for s, q, o in found if o >= 0]
    body: list[str] = []
    ids: dict[str, int] = {}
    for sentence, quote, occurrence in anchored:
        key = f"{sentence.pattern.name}-{sentence.line}"
        n = ids.get(key, 0)
        ids[key] = n + 1
        body += _claim_lines(n, sentence, quote, occurrence, backends, _next_example(sentence.line, record))
    lines = _header(doc, path, len(anchored), [s for s, _, o in found if o < 0]) + body
    write_atomic(path, "\n".join(lines) + "\n")
    return len(anchored)
