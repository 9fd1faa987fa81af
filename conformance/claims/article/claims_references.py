"""What a claims file's schema cannot check: cross-references, regular expressions, registries, propositions.

A claim's snippet must exist, a printed-value claim's backend must have a port, a counter-adapter must be
registered, a reference must name a catalog function and point at a printed number, a fix's ``expect`` must
compile, a proposition must parse and define ``holds``.  Values the schema already rejected are not looked at
again, so each problem is said once.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.claims.article.claims_schema import KIND_FIELDS, KINDS
from conformance.inputs.validation import DataPath, Problem, did_you_mean


def _entries(data: dict[str, Any], table: str) -> list[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of an array of tables, skipping what the schema already rejected as not a table."""
    value = data.get(table)
    return [(i, e) for i, e in enumerate(value) if isinstance(e, dict)] if isinstance(value, list) else []


def reference_problems(data: dict[str, Any], bad: set[DataPath]) -> list[Problem]:
    """Cross-references and values a schema cannot check; values the schema rejected are not looked at again."""
    from conformance.battery.catalog import CATALOG
    from conformance.claims.article.counters import COUNTERS

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
                                            did_you_mean(ref["function"], functions) or "see conformance/battery/catalog.py"))
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
                                        f"add {key} = ..., see KIND_FIELDS in conformance/claims/article/claims.py"))
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
                                    or f"registered: {', '.join(sorted(COUNTERS))} (conformance/claims/article/counters.py)"))
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
                                        did_you_mean(ref["function"], functions) or "see conformance/battery/catalog.py"))
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

