"""Load and validate a claims file (TOML, reviewed like code).

Every problem raises :class:`ClaimsError` whose message reads ``FILE:LINE: problem``, the line being that of the
``[[claim]]``/``[[snippet]]`` header the problem belongs to (TOML parsers do not report lines of values, so the
headers are located in the source text; a syntax error uses the parser's own line).  A reviewer can jump straight
to the entry.

Layout::

    [article]            id, title, path (relative to the claims file)
    [[snippet]]          id, target (torch|jax|python), code (re-indented article code), lines = [first, last]
      [[snippet.port]]   backend, code                       -- the same program for another library
      [[snippet.fix]]    backend, idiom, code, expect (regex on stdout)
    [[claim]]            id, quote, paraphrase, kind, + what the kind needs (see KIND_FIELDS)
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
import re
import tomllib
from pathlib import Path
from typing import Any

from conformance.article import anchors

KINDS = ("api-existence", "version", "signature", "example-runs", "printed-value", "semantics", "performance",
         "advice")
VERDICTS = ("true", "false", "partly", "unverifiable")
TARGETS = ("torch", "jax", "python", "numpy")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "api-existence": ("apis",),
    "version": ("apis", "sources", "sources_say"),
    "signature": ("api", "params"),
    "example-runs": ("snippet",),
    "printed-value": ("snippet", "expect_printed"),
    "semantics": ("specs", "if_specs_pass"),
    "performance": ("measure",),
    "advice": (),
}
"""Fields each kind requires besides id, quote, paraphrase, kind."""
OPTIONAL = {"sources", "snippet", "reference", "requires_apis", "layouts", "backend", "note", "sources_say",
            "measure", "specs", "if_specs_pass", "apis", "expect_printed", "api", "params", "occurrence",
            "absent"}


class ClaimsError(ValueError):
    """A claims file problem, already formatted as ``file:line: problem``."""


@dataclasses.dataclass
class Fix:
    backend: str
    idiom: str
    code: str
    expect: str


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


def _header_lines(text: str, table: str) -> list[int]:
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]\s*(#.*)?$")
    return [i for i, line in enumerate(text.splitlines(), start=1) if pattern.match(line)]


def _syntax_line(exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    lineno = getattr(exc, "lineno", None)
    msg = getattr(exc, "msg", str(exc))
    if lineno is None:
        m = re.search(r"line (\d+)", str(exc))
        lineno = int(m.group(1)) if m else 0
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
    return lineno, msg


def load(path: str | Path, *, check_anchors: bool = True) -> ClaimsFile:
    """Parse and validate ``path``; with ``check_anchors`` also verify quotes and snippets against the article."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, msg = _syntax_line(exc)
        raise ClaimsError(f"{path}:{line}: not valid TOML: {msg}") from None

    def err(line: int, problem: str) -> ClaimsError:
        return ClaimsError(f"{path}:{line}: {problem}")

    art = data.get("article")
    art_line = next((i for i, s in enumerate(text.splitlines(), 1) if s.strip() == "[article]"), 1)
    if not isinstance(art, dict):
        raise err(1, "missing [article] table (id, title, path)")
    for key in ("id", "title", "path"):
        if not isinstance(art.get(key), str) or not art[key]:
            raise err(art_line, f"[article] needs a non-empty string '{key}'")
    article_path = (path.parent / art["path"]).resolve()
    if not article_path.exists():
        raise err(art_line, f"article file {article_path} does not exist")

    snippets: dict[str, Snippet] = {}
    for raw, line in zip(data.get("snippet", []), _header_lines(text, "snippet"), strict=False):
        for key in ("id", "target", "code"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise err(line, f"snippet needs a non-empty string '{key}'")
        if raw["target"] not in TARGETS:
            raise err(line, f"snippet {raw['id']!r}: unknown target {raw['target']!r} (one of {', '.join(TARGETS)})")
        if raw["id"] in snippets:
            raise err(line, f"duplicate snippet id {raw['id']!r}")
        ports = {}
        for port in raw.get("port", []):
            if port.get("backend") not in TARGETS or not isinstance(port.get("code"), str):
                raise err(line, f"snippet {raw['id']!r}: a port needs backend (one of {TARGETS}) and code")
            ports[port["backend"]] = port["code"]
        fixes = []
        for fx in raw.get("fix", []):
            missing = [k for k in ("backend", "idiom", "code", "expect") if not isinstance(fx.get(k), str)]
            if missing:
                raise err(line, f"snippet {raw['id']!r}: a fix lacks {', '.join(missing)}")
            try:
                re.compile(fx["expect"])
            except re.error as exc:
                raise err(line, f"snippet {raw['id']!r}: fix expect is not a regular expression: {exc}") from None
            fixes.append(Fix(fx["backend"], fx["idiom"], fx["code"], fx["expect"]))
        lines = raw.get("lines")
        snippets[raw["id"]] = Snippet(raw["id"], raw["target"], raw["code"], tuple(lines) if lines else None,
                                      ports, fixes, line)

    claims: list[Claim] = []
    seen: set[str] = set()
    raw_claims = data.get("claim", [])
    if not raw_claims:
        raise err(1, "no [[claim]] entries")
    for raw, line in zip(raw_claims, _header_lines(text, "claim"), strict=False):
        for key in ("id", "quote", "paraphrase", "kind"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise err(line, f"claim {raw.get('id', '?')!r}: missing or empty field '{key}'")
        cid = raw["id"]
        if cid in seen:
            raise err(line, f"duplicate claim id {cid!r}")
        seen.add(cid)
        if raw["kind"] not in KINDS:
            raise err(line, f"claim {cid!r}: unknown kind {raw['kind']!r} (one of {', '.join(KINDS)})")
        for key in KIND_FIELDS[raw["kind"]]:
            if key not in raw:
                raise err(line, f"claim {cid!r}: kind {raw['kind']!r} needs field '{key}'")
        unknown = set(raw) - {"id", "quote", "paraphrase", "kind"} - OPTIONAL
        if unknown:
            raise err(line, f"claim {cid!r}: unknown field(s) {', '.join(sorted(unknown))}")
        if "snippet" in raw and raw["snippet"] not in snippets:
            raise err(line, f"claim {cid!r}: snippet {raw['snippet']!r} is not defined")
        for key in ("if_specs_pass", "sources_say"):
            if key in raw and raw[key] not in VERDICTS:
                raise err(line, f"claim {cid!r}: {key} must be one of {', '.join(VERDICTS)}")
        for spec in raw.get("specs", []):
            if not isinstance(spec, dict) or not {"spec", "function", "backend"} <= set(spec):
                raise err(line, f"claim {cid!r}: each specs entry needs spec, function and backend")
        occ = raw.get("occurrence", 1)
        if not isinstance(occ, int) or isinstance(occ, bool) or occ < 1:
            raise err(line, f"claim {cid!r}: occurrence must be a positive integer (1-based), got {occ!r}")
        if "absent" in raw and (raw["kind"] != "api-existence" or not isinstance(raw["absent"], bool)):
            raise err(line, f"claim {cid!r}: absent must be true/false and only on api-existence claims")
        if raw["kind"] == "printed-value" and "backend" in raw:
            snip = snippets[raw["snippet"]]
            if raw["backend"] != snip.target and raw["backend"] not in snip.ports:
                raise err(line, f"claim {cid!r}: snippet {snip.id!r} has no port on backend {raw['backend']!r}")
        claims.append(Claim(cid, raw["quote"], raw["paraphrase"], raw["kind"], raw, line, occ))

    cf = ClaimsFile(path, art["id"], art["title"], article_path, snippets, claims)
    if check_anchors:
        verify_anchors(cf)
    return cf


def verify_anchors(cf: ClaimsFile) -> dict[str, anchors.Location]:
    """Every quote occurs in the article and every snippet is the article's code; return quote locations."""
    text = cf.article_path.read_text(encoding="utf-8")
    found = {}
    for claim in cf.claims:
        where = f"{cf.path}:{claim.header_line}: claim {claim.id!r}"
        locs = anchors.find_quotes(text, claim.quote)
        if not locs:
            raise ClaimsError(f"{where}: quote not found in {cf.article_path.name} (whitespace-normalized): "
                              f"{claim.quote[:60]!r}")
        explicit = "occurrence" in claim.data
        if len(locs) > 1 and not explicit:
            raise ClaimsError(f"{where}: quote is ambiguous, it occurs {len(locs)} times in "
                              f"{cf.article_path.name} (lines {', '.join(str(loc.line) for loc in locs)}); quote "
                              f"more context or say which with occurrence = N")
        if claim.occurrence > len(locs):
            raise ClaimsError(f"{where}: occurrence = {claim.occurrence}, but the quote occurs only {len(locs)} "
                              f"time(s) in {cf.article_path.name}")
        found[claim.id] = locs[claim.occurrence - 1]
    for snip in cf.snippets.values():
        block = anchors.find_block(text, snip.code)
        if block is None:
            raise ClaimsError(f"{cf.path}:{snip.header_line}: snippet {snip.id!r}: code is not token-equal to any "
                              f"code block of {cf.article_path.name}")
        if snip.lines and (block.start_line, block.end_line) != snip.lines:
            raise ClaimsError(f"{cf.path}:{snip.header_line}: snippet {snip.id!r}: declared lines {list(snip.lines)} "
                              f"but the matching block is lines {block.start_line}-{block.end_line}")
    return found
