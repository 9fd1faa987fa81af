"""Load and validate a claims file (TOML, reviewed like code).

The parsed data is checked completely before anything runs: every field's type and unknown keys
(:data:`CLAIMS_SCHEMA`, a JSON Schema), then what a schema cannot say (a claim's snippet exists, cited spec ids are
in the registry, regular expressions compile, reference indices point at printed numbers).  All problems of the file
are raised together in one :class:`ClaimsError`, one ``FILE:LINE: problem (fix)`` line each, the line being that of
the key the problem is about (found by :func:`conformance.validation.toml_lines`).  A reviewer can jump straight to
it.

Layout::

    [article]            id, title, path (relative to the claims file)
    [[snippet]]          id, target (torch|jax|python), code (re-indented article code), lines = [first, last]
      [[snippet.port]]   backend, code                       -- the same program for another library
      [[snippet.fix]]    backend, idiom, code, expect (regex on stdout), intent (optional, one line)
    [[claim]]            id, quote, paraphrase, kind, + what the kind needs (see KIND_FIELDS); no verdict:
                         proposition claims carry the property as code (``proposition``, defining holds(x, v)),
                         the ``backends`` it concerns, optional ``shapes``, and the ``counter`` adapter under
                         which its verdict must move (conformance/article/propositions.py, counters.py);
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
import re
from pathlib import Path
from typing import Any

from conformance.article import anchors
from conformance.article.measure import IDIOMS
from conformance.validation import (
    DataPath,
    InputError,
    Problem,
    did_you_mean,
    entry_limit,
    format_problems,
    invalid_paths,
    parse_toml,
    schema_problems,
    toml_lines,
)

KINDS = ("api-existence", "version", "signature", "example-runs", "printed-value", "proposition", "performance",
         "advice")
VERDICTS = ("true", "false", "partly", "unverifiable")
TARGETS = ("torch", "jax", "python", "numpy")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "api-existence": ("apis",),
    "version": ("apis", "sources"),
    "signature": ("api", "params"),
    "example-runs": ("snippet",),
    "printed-value": ("snippet", "expect_printed"),
    "proposition": ("proposition", "backends", "counter"),
    "performance": ("measure",),
    "advice": (),
}
"""Fields each kind requires besides id, quote, paraphrase, kind."""


MAX_CLAIMS = 1000
MAX_SNIPPETS = 500
"""Entries per claims file (the shipped one has 64 claims and 9 snippets); with
:data:`conformance.validation.MAX_INPUT_BYTES` they bound what one file can make the checker run."""


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


REFERENCE_OPS = ("value", "grad", "hessian", "jvp")
"""What ``evidence.reference_value`` can compute for a printed-value claim's ``reference`` entries."""
SPEC_BACKENDS = ("numpy", "torch", "jax")
"""Backends a proposition may concern (the built-in adapters)."""

_TEXT = {"type": "string", "pattern": r"\S", "description": "a non-empty string"}
_API = {"type": "string", "pattern": r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$",
        "description": "a dotted API name such as \"torch.func.grad\"", "examples": ["torch.func.grad"]}
_APIS = {"type": "array", "items": _API, "minItems": 1, "description": "an array of dotted API names",
         "examples": [["torch.func.grad", "torch.func.vmap"]]}
_URL = {"type": "string", "pattern": r"^https?://[^\s<>`\"'\\]+$", "description": "an http(s) URL",
        "examples": ["https://pytorch.org/docs/stable/func.html"]}

_REFERENCE = {"type": "array", "description": "an array of inline tables", "items": {
    "type": "object", "description": "a table with index, op, function and x (and tangent for jvp)",
    "required": ["index", "op", "function", "x"], "additionalProperties": False,
    "properties": {
        "index": {"type": "integer", "minimum": 0, "description": "a 0-based line index"},
        "op": {"enum": list(REFERENCE_OPS)}, "function": _TEXT,
        "x": {"type": "number", "description": "a number", "examples": [2.0]},
        "tangent": {"type": "number", "description": "a number (jvp's tangent; default 1)", "examples": [3.0]},
    }},
    "examples": [[{"index": 0, "op": "grad", "function": "square", "x": 2.0}]]}
"""Printed numbers to compare with the NumPy oracle (claims' expect_printed lines, or a fix's printed lines)."""

CLAIMS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["article", "claim"],
    "additionalProperties": False,
    "properties": {
        "article": {
            "type": "object", "description": "an [article] table with id, title and path",
            "required": ["id", "title", "path"], "additionalProperties": False,
            "properties": {"id": {**_TEXT, "examples": ["e8cb2923"]}, "title": {**_TEXT, "examples": ["Title"]},
                           "path": {**_TEXT, "examples": ["../data/article.txt"]}},
        },
        "snippet": {
            "type": "array", "description": "[[snippet]] tables (an array of tables)",
            "items": {
                "type": "object", "description": "a [[snippet]] table",
                "required": ["id", "target", "code"], "additionalProperties": False,
                "properties": {
                    "id": {**_TEXT, "examples": ["ex1"]}, "target": {"enum": list(TARGETS)},
                    "code": {**_TEXT, "examples": ["print(1)"]},
                    "lines": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2,
                              "maxItems": 2, "description": "[first, last]: two positive line numbers",
                              "examples": [[26, 36]]},
                    "port": {"type": "array", "description": "[[snippet.port]] tables", "items": {
                        "type": "object", "description": "a [[snippet.port]] table",
                        "required": ["backend", "code"], "additionalProperties": False,
                        "properties": {"backend": {"enum": list(TARGETS)}, "code": _TEXT}}},
                    "fix": {"type": "array", "description": "[[snippet.fix]] tables", "items": {
                        "type": "object", "description": "a [[snippet.fix]] table",
                        "required": ["backend", "idiom", "code", "expect"], "additionalProperties": False,
                        "properties": {"backend": {"enum": list(TARGETS)}, "idiom": _TEXT, "code": _TEXT,
                                       "intent": {**_TEXT, "description": "one line: what the fix realises"},
                                       "reference": _REFERENCE,
                                       "expect": {"type": "string", "description": "a regular expression (string)",
                                                  "examples": ["^4\\.0\\n$"]}}}},
                },
            },
        },
        "claim": {
            "type": "array", "minItems": 1, "description": "[[claim]] tables (an array of tables)",
            "items": {
                "type": "object", "description": "a [[claim]] table",
                "required": ["id", "quote", "paraphrase", "kind"], "additionalProperties": False,
                "properties": {
                    "id": {**_TEXT, "examples": ["grad-prints-4"]}, "quote": _TEXT, "paraphrase": _TEXT,
                    "kind": {"enum": list(KINDS)},
                    "apis": _APIS,
                    "api": _API,
                    "params": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z_]\w*$"},
                               "description": "an array of parameter names", "examples": [["func", "argnums"]]},
                    "sources": {"type": "array", "items": _URL, "description": "an array of http(s) URLs",
                                "examples": [["https://pytorch.org/docs/stable/func.html"]]},
                    "installed_since": {"type": "string", "pattern": r"^\d+(\.\d+)*$",
                                        "description": "a release number such as \"2.0\"", "examples": ["2.0"]},
                    "proposition": {**_TEXT, "description": "Python text defining holds(x, v) -> bool",
                                    "examples": ["def holds(x, v):\n    return True\n"]},
                    "backends": {"type": "array", "items": {"enum": list(SPEC_BACKENDS)}, "minItems": 1,
                                 "description": "an array of backend names", "examples": [["torch", "jax"]]},
                    "counter": {**_TEXT, "description": "a counter-adapter name (conformance/article/counters.py)",
                                "examples": ["jvp-returns-grad"]},
                    "shapes": {"type": "array", "minItems": 1,
                               "items": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                               "description": "an array of shapes (arrays of positive integers)",
                               "examples": [[[], [3], [2, 3]]]},
                    "snippet": {**_TEXT, "examples": ["ex1"]},
                    "backend": {"enum": list(TARGETS)},
                    "expect_printed": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                       "description": "an array of strings, one per printed line (\"*\": any)",
                                       "examples": [["4.0", "*"]]},
                    "reference": _REFERENCE,
                    "measure": {
                        "type": "object", "description": "a table with baseline, alternatives and within",
                        "required": ["baseline", "alternatives"], "additionalProperties": False,
                        "properties": {
                            "baseline": {"enum": list(IDIOMS)},
                            "alternatives": {"type": "array", "items": {"enum": list(IDIOMS)}, "minItems": 1,
                                             "description": "a non-empty array of measured idioms",
                                             "examples": [["torch.func.grad"]]},
                            "within": {"type": "number", "exclusiveMinimum": 0, "description": "a positive number",
                                       "examples": [1.25]},
                        }},
                    "note": {"type": "string"},
                    "occurrence": {"type": "integer", "minimum": 1,
                                   "description": "a positive integer (1-based)", "examples": [2]},
                    "absent": {"type": "boolean", "description": "true or false", "examples": [True]},
                },
            },
        },
    },
}
"""The claims file's shape; :func:`_reference_problems` checks what a schema cannot (ids, regexes, registries)."""


def _entries(data: dict[str, Any], table: str) -> list[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of an array of tables, skipping what the schema already rejected as not a table."""
    value = data.get(table)
    return [(i, e) for i, e in enumerate(value) if isinstance(e, dict)] if isinstance(value, list) else []


def _reference_problems(data: dict[str, Any], bad: set[DataPath]) -> list[Problem]:
    """Cross-references and values a schema cannot check; values the schema rejected are not looked at again."""
    from conformance.article.counters import COUNTERS
    from conformance.catalog import CATALOG

    def ok(path: DataPath, kind: type | tuple[type, ...] = str) -> bool:
        """The value at ``path`` exists, is a ``kind``, and neither it, a container above it nor any value inside
        it was rejected by the schema (``lines = [6, "x"]`` is a list, but not one to compare)."""
        node: Any = data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return False
        n = len(path)
        return isinstance(node, kind) and not any(b[:n] == path or path[:len(b)] == b for b in bad)

    def items(path: DataPath) -> list[Any]:
        """The array at ``path``, or nothing when the file has anything else there (the schema says what)."""
        node: Any = data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return []
        return node if isinstance(node, list) else []

    problems: list[Problem] = []
    functions = [e.name for e in CATALOG]
    snippets: dict[str, dict[str, Any]] = {}
    for i, snip in _entries(data, "snippet"):
        if ok(("snippet", i, "id")):
            if snip["id"] in snippets:
                problems.append(Problem(("snippet", i, "id"), f"duplicate snippet id {snip['id']!r}",
                                        "give each snippet its own id"))
            snippets.setdefault(snip["id"], snip)
        lines = snip.get("lines")
        if ok(("snippet", i, "lines"), list) and len(lines) == 2 and lines[0] > lines[1]:
            problems.append(Problem(("snippet", i, "lines"), f"snippet lines {lines} run backwards",
                                    "write [first, last] with first <= last"))
        for j, _fix in enumerate(items(("snippet", i, "fix"))):
            for k, _ref in enumerate(items(("snippet", i, "fix", j, "reference"))):
                ref = _ref if isinstance(_ref, dict) else {}
                if ok(("snippet", i, "fix", j, "reference", k, "function")) and ref["function"] not in functions:
                    problems.append(Problem(("snippet", i, "fix", j, "reference", k, "function"),
                                            f"fix reference function {ref['function']!r} is not in the catalog",
                                            did_you_mean(ref["function"], functions) or "see conformance/catalog.py"))
            if ok(("snippet", i, "fix", j, "expect")):
                try:
                    re.compile(_fix["expect"])
                except re.error as exc:
                    problems.append(Problem(("snippet", i, "fix", j, "expect"),
                                            f"fix expect is not a regular expression: {exc}",
                                            "escape literal characters such as ( [ . with a backslash"))
    seen: set[str] = set()
    for i, claim in _entries(data, "claim"):
        where = f"claim {claim['id']!r}: " if ok(("claim", i, "id")) else ""
        if ok(("claim", i, "id")):
            if claim["id"] in seen:
                problems.append(Problem(("claim", i, "id"), f"duplicate claim id {claim['id']!r}",
                                        "give each claim its own id"))
            seen.add(claim["id"])
        kind = claim.get("kind") if ok(("claim", i, "kind")) and claim.get("kind") in KINDS else None
        for key in KIND_FIELDS.get(kind or "", ()):
            if key not in claim:
                problems.append(Problem(("claim", i), f"{where}kind {kind!r} needs field '{key}'",
                                        f"add {key} = ..., see KIND_FIELDS in conformance/article/claims.py"))
        if "absent" in claim and kind and kind != "api-existence":
            problems.append(Problem(("claim", i, "absent"), f"{where}absent is only for api-existence claims",
                                    "remove it"))
        snip = None
        if ok(("claim", i, "snippet")):
            snip = snippets.get(claim["snippet"])
            if snip is None:
                hint = did_you_mean(claim["snippet"], snippets) or f"defined: {', '.join(snippets) or 'none'}"
                problems.append(Problem(("claim", i, "snippet"),
                                        f"{where}snippet {claim['snippet']!r} is not defined", hint))
        if kind == "printed-value" and snip and ok(("claim", i, "backend")):
            port = snip.get("port")
            ports = {p["backend"] for p in (port if isinstance(port, list) else [])
                     if isinstance(p, dict) and isinstance(p.get("backend"), str)}
            if claim["backend"] != snip.get("target") and claim["backend"] not in ports:
                problems.append(Problem(("claim", i, "backend"),
                                        f"{where}snippet {snip.get('id')!r} has no port on backend "
                                        f"{claim['backend']!r}", "add a [[snippet.port]] for it or drop backend"))
        if ok(("claim", i, "counter")) and claim["counter"] not in COUNTERS:
            problems.append(Problem(("claim", i, "counter"), f"{where}counter {claim['counter']!r} is not registered",
                                    did_you_mean(claim["counter"], COUNTERS)
                                    or f"registered: {', '.join(sorted(COUNTERS))} (conformance/article/counters.py)"))
        if ok(("claim", i, "proposition")):
            problems += _proposition_problems(claim["proposition"], ("claim", i, "proposition"), where)
        for key in ("proposition", "backends", "counter", "shapes"):
            if key in claim and kind and kind != "proposition":
                problems.append(Problem(("claim", i, key), f"{where}{key} is only for proposition claims",
                                        "remove it or make the claim kind = \"proposition\""))
        expected = claim.get("expect_printed") if ok(("claim", i, "expect_printed"), list) else None
        for j, _ref in enumerate(items(("claim", i, "reference"))):
            ref = _ref if isinstance(_ref, dict) else {}
            if ok(("claim", i, "reference", j, "function")) and ref["function"] not in functions:
                problems.append(Problem(("claim", i, "reference", j, "function"),
                                        f"{where}reference function {ref['function']!r} is not in the catalog",
                                        did_you_mean(ref["function"], functions) or "see conformance/catalog.py"))
            if expected is not None and ok(("claim", i, "reference", j, "index"), int):
                index = ref["index"]
                if index >= len(expected):
                    problems.append(Problem(("claim", i, "reference", j, "index"),
                                            f"{where}reference index {index} but expect_printed has only "
                                            f"{len(expected)} line(s)", "index counts expect_printed from 0"))
                elif not _is_number(expected[index]):
                    problems.append(Problem(("claim", i, "reference", j, "index"),
                                            f"{where}reference index {index} points at expect_printed "
                                            f"{expected[index]!r}, which is not a number",
                                            "point it at a printed number"))
    return problems


def _proposition_problems(code: str, path: DataPath, where: str) -> list[Problem]:
    """The proposition compiles and defines ``holds`` (it is run only in the sandbox, never here)."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [Problem(path, f"{where}proposition is not valid Python: {exc.msg} (its line {exc.lineno})",
                        "fix the code; it must define def holds(x, v): ... returning a bool")]
    if not any(isinstance(n, ast.FunctionDef) and n.name == "holds" for n in tree.body):
        return [Problem(path, f"{where}proposition defines no function holds(x, v)",
                        "define def holds(x, v): returning True when the claimed property holds on the case")]
    return []


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def validate(path: str | Path) -> tuple[str, dict[str, Any]]:
    """Parse ``path`` and check it completely; raise :class:`ClaimsError` listing every problem of the file."""
    path = Path(path)
    text, data = parse_toml(path, ClaimsError)
    for table, limit in (("claim", MAX_CLAIMS), ("snippet", MAX_SNIPPETS)):
        entry_limit(path, data, text, table, limit, ClaimsError)
    problems = schema_problems(data, CLAIMS_SCHEMA)
    problems += _reference_problems(data, invalid_paths(problems))
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
