"""Load and validate a claims file (TOML, reviewed like code).

The parsed data is checked completely before anything runs: every field's type and unknown keys
(:data:`CLAIMS_SCHEMA`, a JSON Schema: :mod:`conformance.claims.article.claims_schema`), then what a schema cannot say (a
claim's snippet exists, cited spec ids are in the registry, regular expressions compile, reference indices point at
printed numbers: :mod:`conformance.claims.article.claims_references`).  All problems of the file are raised together in one
:class:`ClaimsError`, one ``FILE:LINE: problem (fix)`` line each, the line being that of the key the problem is
about (found by :func:`conformance.inputs.validation.toml_lines`).  A reviewer can jump straight to it.

Layout::

    [article]            id, title, path (relative to the claims file)
    [[snippet]]          id, target (torch|jax|python), code (re-indented article code), lines = [first, last]
      [[snippet.port]]   backend, code                       -- the same program for another library
      [[snippet.fix]]    backend, idiom, code, expect (regex on stdout), intent (optional, one line)
    [[claim]]            id, quote, paraphrase, kind, + what the kind needs (see KIND_FIELDS); no verdict:
                         proposition claims carry the property as code (``proposition``, defining holds(x, v)),
                         the ``backends`` it concerns, optional ``shapes``, and the ``counter`` adapter under
                         which its verdict must move (conformance/claims/article/propositions.py, counters.py);
                         version claims carry ``sources`` and optional ``installed_since``
                         occurrence = N (optional, 1-based): which occurrence of the quote the claim is about,
                         for sentences the article repeats word for word (each about its own example); without
                         it a quote must occur exactly once
                         backend (printed-value, optional): check the snippet's port on that backend instead of
                         the as-written code (e.g. the article's function run on inputs the claim chooses)
                         absent = true (api-existence, optional): the statement says these APIs are *not*
                         available (e.g. "unlike X, ..."); the verdict is inverted
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from conformance.claims.article import anchors
from conformance.claims.article.claims_references import reference_problems
from conformance.claims.article.claims_schema import (
    CLAIMS_SCHEMA,
    KIND_FIELDS,
    KINDS,
    REFERENCE_OPS,
    SPEC_BACKENDS,
    TARGETS,
)
from conformance.contract import VERDICTS
from conformance.inputs.validation import (
    InputError,
    entry_limit,
    format_problems,
    invalid_paths,
    parse_toml,
    schema_problems,
    toml_lines,
)

__all__ = [
    "CLAIMS_SCHEMA", "KINDS", "KIND_FIELDS", "MAX_CLAIMS", "MAX_SNIPPETS", "REFERENCE_OPS", "SPEC_BACKENDS",
    "TARGETS", "VERDICTS", "Claim", "ClaimsError", "ClaimsFile", "Fix", "Snippet", "load", "validate",
    "verify_anchors",
]


MAX_CLAIMS = 1000
MAX_SNIPPETS = 500
"""Entries per claims file (the shipped one has 64 claims and 9 snippets); with
:data:`conformance.inputs.validation.MAX_INPUT_BYTES` they bound what one file can make the checker run."""


class ClaimsError(InputError):
    """A claims file's problems, each already formatted as ``file:line: problem (fix)``."""


@dataclasses.dataclass
class Fix:
    backend: str
    idiom: str
    code: str
    expect: str
    intent: str = ""
    """One line: the article's intent this fix realises (e.g. J v with a tangent other than 1)."""
    reference: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Printed lines (0-based ``index``) whose numbers must agree with the NumPy oracle for the fix to count."""


@dataclasses.dataclass
class Snippet:
    id: str
    target: str
    code: str
    lines: tuple[int, int] | None
    ports: dict[str, str]
    fixes: list[Fix]
    header_line: int


@dataclasses.dataclass
class Claim:
    id: str
    quote: str
    paraphrase: str
    kind: str
    data: dict[str, Any]
    header_line: int
    occurrence: int = 1


@dataclasses.dataclass
class ClaimsFile:
    path: Path
    article_id: str
    title: str
    article_path: Path
    snippets: dict[str, Snippet]
    claims: list[Claim]



def validate(path: str | Path) -> tuple[str, dict[str, Any]]:
    """Parse ``path`` and check it completely; raise :class:`ClaimsError` listing every problem of the file."""
    path = Path(path)
    text, data = parse_toml(path, ClaimsError)
    for table, limit in (("claim", MAX_CLAIMS), ("snippet", MAX_SNIPPETS)):
        entry_limit(path, data, text, table, limit, ClaimsError)
    problems = schema_problems(data, CLAIMS_SCHEMA)
    problems += reference_problems(data, invalid_paths(problems))
    if problems:
        raise ClaimsError(*format_problems(path, problems, toml_lines(text)))
    return text, data


def load(path: str | Path, *, check_anchors: bool = True, article: str | Path | None = None) -> ClaimsFile:
    """Parse and validate ``path``; with ``check_anchors`` also verify quotes and snippets against the article.

    ``article`` replaces the ``[article] path`` of the file (``check-article ARTICLE CLAIMS`` names it).  Every
    problem of the file is reported in one :class:`ClaimsError`, before anything runs.
    """
    path = Path(path)
    text, data = validate(path)
    lines = toml_lines(text)
    art = data["article"]
    article_path = Path(article).resolve() if article is not None else (path.parent / art["path"]).resolve()
    if check_anchors and not article_path.is_file():
        raise ClaimsError(f"{path}:{lines.get(('article', 'path'), 1)}: article file {article_path} does not exist "
                          "(path is relative to the claims file)")
    snippets: dict[str, Snippet] = {}
    for i, raw in enumerate(data.get("snippet", [])):
        snippets[raw["id"]] = Snippet(
            raw["id"], raw["target"], raw["code"], tuple(raw["lines"]) if raw.get("lines") else None,
            {port["backend"]: port["code"] for port in raw.get("port", [])},
            [Fix(fx["backend"], fx["idiom"], fx["code"], fx["expect"], fx.get("intent", ""), list(fx.get("reference", [])))
             for fx in raw.get("fix", [])],
            lines.get(("snippet", i), 1))
    claims = [Claim(raw["id"], raw["quote"], raw["paraphrase"], raw["kind"], raw, lines.get(("claim", i), 1),
                    raw.get("occurrence", 1))
              for i, raw in enumerate(data["claim"])]
    cf = ClaimsFile(path, art["id"], art["title"], article_path, snippets, claims)
    if check_anchors:
        verify_anchors(cf)
    return cf

def verify_anchors(cf: ClaimsFile) -> dict[str, anchors.Location]:
    """Every quote occurs in the article and every snippet is the article's code; return quote locations.

    Raises one :class:`ClaimsError` listing every quote and snippet that does not anchor, not only the first.
    """
    text = cf.article_path.read_text(encoding="utf-8")
    found = {}
    problems: list[str] = []
    for claim in cf.claims:
        where = f"{cf.path}:{claim.header_line}: claim {claim.id!r}"
        locs = anchors.find_quotes(text, claim.quote)
        if not locs:
            problems.append(f"{where}: quote not found in {cf.article_path.name} (whitespace-normalized): "
                            f"{claim.quote[:60]!r} (copy the sentence from the article verbatim)")
            continue
        explicit = "occurrence" in claim.data
        if len(locs) > 1 and not explicit:
            problems.append(f"{where}: quote is ambiguous, it occurs {len(locs)} times in "
                            f"{cf.article_path.name} (lines {', '.join(str(loc.line) for loc in locs)}); quote "
                            f"more context or say which with occurrence = N")
            continue
        if claim.occurrence > len(locs):
            problems.append(f"{where}: occurrence = {claim.occurrence}, but the quote occurs only {len(locs)} "
                            f"time(s) in {cf.article_path.name}")
            continue
        found[claim.id] = locs[claim.occurrence - 1]
    for snip in cf.snippets.values():
        block = anchors.find_block(text, snip.code)
        if block is None:
            problems.append(f"{cf.path}:{snip.header_line}: snippet {snip.id!r}: code is not token-equal to any "
                            f"code block of {cf.article_path.name} (copy the block; only indentation may differ)")
        elif snip.lines and (block.start_line, block.end_line) != snip.lines:
            problems.append(f"{cf.path}:{snip.header_line}: snippet {snip.id!r}: declared lines {list(snip.lines)} "
                            f"but the matching block is lines {block.start_line}-{block.end_line} "
                            f"(write lines = [{block.start_line}, {block.end_line}])")
    if problems:
        raise ClaimsError(*problems)
    return found
