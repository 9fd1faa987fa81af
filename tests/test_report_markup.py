"""No string from a results file is ever read as markup: not reST, not HTML, not a file reference.

Every string of real results files (values and, where the schema lets them vary, keys) is replaced by a corpus of
payloads: reST directives behind every line separator docutils knows (``raw`` with ``:file:``, ``include``,
``csv-table``, ``container``, ``meta``, ``image``, section titles, lists, quotes), roles, substitutions, hyperlink
targets, HTML and JavaScript, Markdown, ANSI escapes, NUL, lone surrogates and very long strings.  The site built
from them must hold every payload as text: no element, attribute or script made from data, no live
``javascript:`` link, no byte of a file outside the results (a planted secret, ``/etc/passwd``).

A payload shows up as an *element* when markup is interpreted: its tokens are built so that an interpreted
construct yields an element whose whole text is one token (``**TOKEN**`` gives ``<strong>TOKEN</strong>``), a
class or attribute naming the marker, or a script; escaped text never does, because every data string carries
its original value and other payloads around each token.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_helpers import ROOT, RUN_A, RUN_B, Page, fixture_doc, html_files

from conformance import report
from conformance.store import results, schema

MARK = "xq7pwn"
"""In every payload; never in the report's own markup."""

SEPARATORS = ("\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
"""Every character docutils (``str.splitlines``) starts a new source line at."""

INLINE_TOKENS = tuple(f"{MARK}-{name}" for name in (
    "strong", "em", "lit", "sub", "abbr", "link", "anon", "bdg", "ref", "title", "item", "quote", "field", "term",
    "kbd", "subst", "md", "enum", "code",
))
"""Texts that become a whole element when the markup around them is interpreted (see :func:`payloads`)."""


def token(name: str) -> str:
    return f"{MARK}-{name}"


def blocks(secret: Path) -> list[str]:
    """Block-level reST (one line per list entry is one source line); joined with a separator by the caller."""
    return [
        f".. raw:: html\n\n   <script>{MARK}_raw()</script><b class=\"{MARK}-raw\">{MARK}</b>",
        f".. raw:: html\n   :file: {secret}",
        f".. include:: {secret}",
        ".. include:: /etc/passwd",
        f".. literalinclude:: {secret}",
        f".. csv-table:: {MARK}\n   :file: {secret}",
        f".. container:: {MARK}-container\n\n   x",
        f".. admonition:: {MARK}\n   :class: {MARK}-admonition\n\n   x",
        f".. meta::\n   :{MARK}: {MARK}",
        f".. image:: {secret}\n   :class: {MARK}-image",
        f".. figure:: javascript:{MARK}()",
        f".. |{token('subst')}| replace:: {token('subst')}",
        f".. _{MARK}-target: javascript:{MARK}()",
        f"{token('title')}\n==================",
        f"- {token('item')}",
        f"#. {token('enum')}",
        f"   {token('quote')}",
        f":{MARK}: {token('field')}",
        f"{token('term')}\n   definition",
        f".. code-block:: python\n   :caption: {token('code')}\n\n   x = 1",
        f"```\n{MARK}\n```",
    ]


def inline(secret: Path) -> list[str]:
    return [
        f"**{token('strong')}**", f"*{token('em')}*", f"``{token('lit')}``", f":sub:`{token('sub')}`",
        f":abbr:`{token('abbr')} ({MARK} title)`", f"`{token('link')} <javascript:{MARK}()>`_",
        f"`{token('anon')} <https://example.org/{MARK}>`__", f":bdg-danger:`{token('bdg')}`",
        f":ref:`{token('ref')} <{MARK}-label>`", f":doc:`/{MARK}`", f":download:`{secret}`",
        f":kbd:`{token('kbd')}`", f":math:`{MARK}`", f"|{token('subst')}|", f"`{MARK}-target`_", f"{MARK}_",
        f"[{token('md')}](javascript:{MARK}())", f"<script>{MARK}()</script>",
        f"<img src=x onerror=\"{MARK}()\">", f"<a href=\"javascript:{MARK}()\">{MARK}</a>",
        f"\"><svg onload={MARK}()>", f"</pre></td></tr></table><script>{MARK}()</script>",
        f"<!-- {MARK} -->", f"&lt;script&gt;{MARK}&lt;/script&gt;", f"javascript:{MARK}()",
        f"{{{{ {MARK} }}}}", f"%({MARK})s", "`" * 7, "\\", "\\`", "_`", f"[#{MARK}]_", f"[{MARK}]_",
        f"\x1b[31m{MARK}\x1b[0m", f"{MARK}\x00nul", f"{MARK}\ud800", f"{MARK}\x08\x7f",
    ]


def payload_for(original: str, position: int, secret: Path) -> str:
    """``original`` (so joins, labels and uniqueness survive) with the corpus behind one separator style.

    The separator rotates with the string's position, so every style reaches many fields; every field carries
    every kind of payload.
    """
    sep = SEPARATORS[position % len(SEPARATORS)]
    body = (sep * 2).join(block.replace("\n", sep) for block in blocks(secret))
    text = f"{original} {' '.join(inline(secret))}{sep}{sep}{body}{sep}{sep}{' '.join(inline(secret))}"
    if position % 97 == 0:
        text += " " + f"{MARK}-long " * 30_000  # far past the report's per-string cap
    return text


Path_ = tuple[Any, ...]

EXTENSION = ROOT / "docs" / "_ext" / "conformance_report"


@functools.cache
def field_names() -> frozenset[str]:
    """Every key the report reads from results (``x.get("k")``, ``x["k"]``, ``x.pop("k")``, ``"k" in x``, or a
    key of a table of fields such as ``FIELDS``, in the extension's sources) and every property the schema
    declares.

    The filler keeps these keys, so the values under them, which the pages show, are attacked; any other key (a
    backend's name, an error situation, an alternative of a timing, an installed library) is data and is attacked
    itself.  Without this, a key of an object the schema leaves open (a backend record, a check's details, a
    claim's measurements) would be filled too, and the page would never see the value under it.
    """
    names: set[str] = set()

    def const(node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)

    for source in EXTENSION.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args and \
                    node.func.attr in ("get", "pop", "setdefault"):
                const(node.args[0])
            elif isinstance(node, ast.Subscript):
                const(node.slice)
            elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                const(node.left)
            elif isinstance(node, ast.Dict):  # tables of the fields a page reads by name (``FIELDS``, ``_API_FIELDS``)
                for item in (*node.keys, *node.values):
                    if item is not None and not (isinstance(item, ast.Constant) and " " in str(item.value)):
                        const(item)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            names.update(value.get("properties") or {})
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads((ROOT / "docs" / "results-schema.json").read_text(encoding="utf-8")))
    return frozenset(names)


def _strings(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))


def _dicts(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _dicts(item, (*path, i))
    elif isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from _dicts(item, (*path, key))


class Filler:
    """Fill a results document's strings (and free keys) with payloads, keeping it schema-valid.

    The same original string always becomes the same payload, in every file, so a test id referenced by a
    claim, a backend named by its checks, or a run's backends across files still match.
    """

    def __init__(self, secret: Path) -> None:
        self.secret = secret
        self.seen: dict[str, str] = {}

    def text(self, original: str) -> str:
        if original not in self.seen:
            self.seen[original] = payload_for(original, len(self.seen), self.secret)
        return self.seen[original]

    def build(self, doc: dict[str, Any], keep_values: set[Path_], keep_keys: set[Path_]) -> tuple[Any, dict]:
        """The filled document, and a map from each filled path back to the original path."""
        back: dict[Path_, Path_] = {}

        def walk(value: Any, orig: Path_, new: Path_) -> Any:
            back[new] = orig
            if isinstance(value, str):
                return value if orig in keep_values or value in schema_words else self.text(value)
            if isinstance(value, list):
                return [walk(v, (*orig, i), (*new, i)) for i, v in enumerate(value)]
            if isinstance(value, dict):
                out = {}
                for key, item in value.items():
                    name = key if orig in keep_keys or key in field_names() else self.text(key)
                    out[name] = walk(item, (*orig, key), (*new, name))
                return out
            return value

        schema_words = {"schema"}  # (the top-level "schema" value names the format; it is checked before anything)
        return walk(doc, (), ()), back

    def fill(self, doc: dict[str, Any]) -> dict[str, Any]:
        keep_values: set[Path_] = {("schema",)}
        keep_keys: set[Path_] = set()
        validator = schema.validator()
        for _ in range(200):
            filled, back = self.build(doc, keep_values, keep_keys)
            errors = list(validator.iter_errors(filled))
            if not errors:
                return filled
            for where in {back.get(tuple(error.absolute_path), ()) for error in errors}:
                target = _lookup(doc, where)
                if isinstance(target, str):
                    keep_values.add(where)
                elif where not in keep_keys:
                    keep_keys.add(where)
                else:  # a record-level rule that the keys alone do not explain: keep its whole subtree
                    keep_values.update(p for p in _strings(doc) if p[: len(where)] == where)
                    keep_keys.update(p for p in _dicts(doc) if p[: len(where)] == where)
        raise AssertionError("could not fill the document within the schema")


def _lookup(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _every_field(doc: dict[str, Any]) -> dict[str, Any]:
    """The fixture run with the fields it lacks and a page shows: assertion coverage, an article that does not
    apply, probes and drawn cases and sandbox notes as evidence, a fix's intent and oracle, timings by scenario,
    a claim's sensitivity and unverifiable reason, declared unsupported transforms and dtypes, and a manifest entry
    with no upstream link, recorded in the older ``details.manifest`` form, and a function table in the header."""
    doc = copy.deepcopy(doc)
    article = doc["articles"][0]
    article.update(error="claims file error", checkable_assertions=3, covered_assertions=2,
                   uncovered_assertions=["assertion left out"])
    doc["articles"].append({"id": "other-article", "not_applicable": "not about transforms"})
    claims = {c["id"]: c for c in doc["claims"]}
    claim = claims["grad-and-value-order"]
    claim["proposition"] = "def holds(x, v):\n    return x == v\n"
    claim["sensitivity"] = {"counter": "counter-adapter", "verdict_under_counter": "true", "sensitive": True}
    claim["evidence"] += [
        {"backend": "torch", "variant": "probe", "api": "torch.func.grad", "exists": True, "params": ["func"],
         "module": "torch.func", "error": "probe error"},
        {"backend": "torch", "variant": "probe", "installed": {"torch": "2.13.0"},
         "apis": {"torch.func.vmap": {"exists": False, "params": ["in_dims"]}}},
        {"backend": "torch", "variant": "proposition", "status": "ok",
         "value": [{"shape": [3], "x": [1.0], "v": [2.0], "outcome": "holds", "detail": "case detail"}]},
        {"backend": "torch", "variant": "snippet run", "snippet": "snippet name", "status": "ok", "reason": "why",
         "isolation": "weak", "stdout": "printed", "duration_s": 0.5},
    ]
    for fix in claim["fixes"]:
        fix.update(intent="what the fix does", oracle=[{"index": 0, "printed": "1.0", "oracle": "2.0", "agrees": False}])
    claims["torch-func-since-2-0"]["sensitivity"] = {"counter": "other counter", "sensitive": False}
    claims["use-jit-always"]["unverifiable_reason"] = "opinion"
    timing = claims["grad-and-value-faster"]["measurements"]
    timing.update(method="timeit, best of 5", subject="manual",
                  median_us={"small input": {"manual": 2.0, "torch.autograd.grad": 30.0}})
    conventions = doc["backends"]["torch"]["conventions"]
    conventions.update(unsupported={"scan": "no public scan"}, dtypes=["float32", "float64"], jit_api="torch.compile")
    xfail = next(c for c in doc["checks"] if c["status"] == "xfail")
    older = dict(xfail["details"].pop("deviation"), no_upstream="nobody to tell", file="manifest.toml")
    older.pop("link", None)
    xfail["details"]["manifest"] = older
    doc["run"]["function_table"] = [  # as a run records it: the functions page lists these rows from here
        {"entry": "fn_tabled", "name": "tabled", "category": "elementwise", "hessian": True, "hessian_joint": False},
        {"entry": "fn_linear", "name": "linear", "category": "manipulation", "hessian": False, "hessian_joint": False}]
    return doc


LOGIC = {("probe",): "probe", ("proposition",): "proposition", ("weak",): "weak"}
"""Values the pages branch on (an evidence item's ``variant``, a sandbox's ``isolation``): set back after filling,
so that the branch is taken and renders every other (attacked) field."""


def _restore_logic(filled: dict[str, Any], original: dict[str, Any]) -> None:
    for claim, before in zip(filled.get("claims") or [], original.get("claims") or []):
        for item, was in zip(claim.get("evidence") or [], before.get("evidence") or []):
            for key in ("variant", "isolation"):
                if (was.get(key),) in LOGIC:
                    item[key] = was[key]


def _function_checks(filled: dict[str, Any]) -> None:
    """Checks of the function family (the functions page matches their ``spec``, ``function`` and ``transform``
    against its own table, so those stay as written); every other field is a payload copied from a filled check."""
    template = next(c for c in filled["checks"] if c["status"] == "fail")
    for spec, function, transform, status in (("fn_grad", "fn_abs", "grad", "pass"),
                                              ("fn_grad", "fn_sin", "grad", "fail"),
                                              ("fn_jvp", "fn_abs", "jvp", "skip"),
                                              ("fn_hessian", "fn_acos", "hessian", "error"),
                                              ("fn_vmap", "fn_abs", "vmap", "xpass")):
        check = copy.deepcopy(template)
        check.update(spec=spec, function=function, transform=transform, status=status,
                     test_id=f"{check['test_id']} {spec} {function}")
        filled["checks"].append(check)


def _document_record() -> dict[str, Any]:
    """A check-doc record of every field the documents page shows."""
    def claim(kind: str, cell: int, line: int, verdict: Any, **evidence: Any) -> dict[str, Any]:
        return {"id": f"{kind}@{line}", "kind": kind, "cell": cell, "line": line, "verdict": verdict,
                "reason": f"reason {kind} {line}", "rule": "rule", "evidence": evidence}

    return {
        "source": "docs/tutorial.ipynb", "kind": "notebook", "title": "Tutorial", "file": "docs/tutorial.ipynb",
        "sha256": "ab", "libraries": {"torch": "2.13.0"}, "status": "ok", "reason": "why", "setup_errors": ["setup"],
        "duration_s": 3.5, "cells_run": 2, "cells_per_s": 0.57, "reproducer": "python -m conformance check-doc x",
        "cells": [{"index": 0, "label": "cell 1", "line": 5, "status": "ok", "reason": "r", "source": "x = 1",
                   "stdout": "out", "display": None, "duration_s": 0.1, "dropped_chars": 0}],
        "claims": [claim("runs", 0, 5, "true"), claim("shows", 0, 5, "false", stated="2.0", got="1.0", note="n"),
                   claim("derivative-correct", 0, 6, "unverifiable", transform="torch.func.grad", detail="d", origin="o",
                         exception="E")],
        "summary": {},
    }


def _false_alarms(filler: Filler) -> dict[str, Any]:
    alarm = {"seed": "1", "status": "fail", "test_id": "t", "message": ["m1", "m2"], "reproducer": "pytest -k t"}
    summary = {"profile": "ci", "seeds": ["1", "2"], "backends": ["torch"], "revisions": ["abcdef1234567890"],
               "checks": 10, "examples": 100, "unexpected": 1, "per_million_examples": 1.0, "alarms": [alarm],
               "rechecks": [{"keyword": "k", "revision": "r", "checks": "c", "examples": "e", "unexpected": "u",
                             "alarms": [dict(alarm, fixed=True)]}], "unexpected_after_recheck": "0"}
    filled, _ = filler.build(summary, set(), {()})
    return filled


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Filler]:
    """The site built from payload-filled results; the secret planted outside every tree the build reads."""
    outside = tmp_path_factory.mktemp("outside")
    canary = f"CANARY-{uuid.uuid4().hex}"
    secret = outside / "secret.rst"
    secret.write_text(f"{canary}\n\n.. raw:: html\n\n   <b class=\"{MARK}-secret\">{canary}</b>\n", encoding="utf-8")
    filler = Filler(secret)
    base = tmp_path_factory.mktemp("attack-results")
    paths = []
    for name, doc in (("a", _every_field(fixture_doc(RUN_A))), ("b", fixture_doc(RUN_B))):
        filled = filler.fill(doc)
        _restore_logic(filled, doc)
        _function_checks(filled)
        for env in filled["backends"].values():  # a version series, so the versions page renders data too
            env["version"] = {"a": "1.0", "b": "2.0"}[name]
        paths.append(base / f"run-{name}.json")
        paths[-1].write_text(json.dumps(filled, ensure_ascii=True), encoding="utf-8")
    docs = results.new_document(results.run_header(label="documents"))
    docs["documents"] = [_document_record()]
    docs["run"]["documents"] = {"count": 1, "cells_run": 2, "cells_per_s": 0.57}
    paths.append(base / "run-docs.json")
    paths[-1].write_text(json.dumps(filler.fill(copy.deepcopy(docs)), ensure_ascii=True), encoding="utf-8")
    alarms = base / "false-alarms.json"
    alarms.write_text(json.dumps(_false_alarms(filler), ensure_ascii=True), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("CONFORMANCE_FALSE_ALARMS", str(alarms))
    try:
        out = base / "site"
        report.build(paths, out)  # strict: a payload read as markup that warns fails here
    finally:
        mp.undo()
    return out, canary, filler


class Scan(HTMLParser):
    """Everything in one page that markup made from data would produce."""

    SAFE_SCRIPT = re.compile(r"^(\.\./)*(_static/|searchindex\.js)")
    URL_ATTRS = ("href", "src", "action", "formaction", "data", "poster", "srcset", "xlink:href", "background")
    CODE_ATTRS = ("class", "style", "name", "content", "http-equiv", "src", "srcset", "action", "for", "type")
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                      "wbr"})

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.problems: list[str] = []
        self.stack: list[tuple[str, list[str]]] = []
        self.script: list[str] | None = None
        self.text: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def problem(self, what: str) -> None:
        self.problems.append(f"{self.path.name}: {what[:300]}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if MARK in tag:
            self.problem(f"element <{tag}> from data")
        for key, value in attrs:
            value = value or ""
            if key.startswith("on") or MARK in key:
                self.problem(f"attribute {key}={value!r} on <{tag}>")
            if key in self.URL_ATTRS and re.match(r"\s*(javascript|data|vbscript|file):", value, re.I):
                self.problem(f"live {key}={value!r} on <{tag}>")
            if key in self.URL_ATTRS and MARK in value.split("#", 1)[0]:
                self.problem(f"{key}={value!r} on <{tag}> points at data")
            if key in self.CODE_ATTRS and MARK in value:
                self.problem(f"{key}={value!r} on <{tag}> from data")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if src and not self.SAFE_SCRIPT.match(src):
                self.problem(f"script from {src!r}")
            self.script = []
        if tag not in self.VOID:
            self.stack.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self.script is not None:
            if MARK in "".join(self.script):
                self.problem("script holding data: " + "".join(self.script))
            self.script = None
        while self.stack:
            name, chunks = self.stack.pop()
            inside_pre = any(t == "pre" for t, _ in self.stack) or name == "pre"
            # The HTML writer splits an inline literal's text into one <span class="pre"> per word; the <code>
            # element itself is still checked (an interpreted ``TOKEN`` is a <code> whose whole text is TOKEN).
            word_of_literal = name == "span" and bool(self.stack) and self.stack[-1][0] == "code"
            whole = "".join(chunks).replace("¶", "").strip()
            if not inside_pre and not word_of_literal and whole in INLINE_TOKENS:
                self.problem(f"<{name}> made of the token {whole!r}: markup from data was interpreted")
            if self.stack:
                self.stack[-1][1].extend(chunks)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.script.append(data)
            return
        self.text.append(data)
        if self.stack:
            self.stack[-1][1].append(data)


def test_payloads_reach_the_pages_as_text(attacked: tuple[Path, str, Filler]) -> None:
    """The attack is not vacuous: every page that shows results shows the payloads, as text."""
    site, _, _ = attacked
    for page in ("index", "checks", "deviations", "article", "divergences", "mismatches", "environment",
                 "functions", "documents", "versions", "plots"):
        text = "".join(Scan(site / f"{page}.html").text)
        assert MARK in text, page
    mismatches = "".join(Scan(site / "mismatches.html").text)
    assert f"<script>{MARK}()</script>" in mismatches and f"**{token('strong')}**" in mismatches
    assert ".. raw:: html" in "".join(Scan(site / "documents.html").text)


PAYLOAD_TABLES = {
    "index": ("conformance-headline", "conformance-backends", "conformance-overview", "conformance-matrix"),
    "deviations": ("conformance-deviations", "conformance-deviation", "conformance-covered", "conformance-skips"),
    "article": ("conformance-coverage", "conformance-verdicts", "conformance-verdict-changes",
                "conformance-proposition"),
    "divergences": ("conformance-observed",),
    "mismatches": ("conformance-figures",),
    "environment": ("conformance-environment",),
    "documents": ("conformance-documents", "conformance-examples"),
    "versions": ("conformance-versions",),
}
"""Tables of each directive (by their class) that show strings of the results: each must hold payloads."""

PAYLOAD_AFTER = {
    "index": ("Pass rate (of checks that ran)",),
    "checks": ("Spec",),
    "article": ("Sentences not covered by any claim", "Assertions not covered by any claim", "Evidence",
                "Fix for", "Measurements", "Sources"),
    "divergences": ("Declared conventions", "Documented errors", "Generated code samples"),
    "environment": ("Not offered (declared)", "Command line", "False alarms on correct libraries",
                    "Each unexpected result, with its reproducer"),
    "functions": ("One symbol per backend in each cell, in the order", "Failures and errors", "Skips, by reason"),
    "plots": ("Error relative to tolerance", "Timings of the article's alternatives"),
    "mismatches": ("Inputs", "Reproducer"),
}
"""Headings or texts of each directive's output that payloads must follow closely (within 2,000 characters)."""


def test_every_directive_shows_the_payloads(attacked: tuple[Path, str, Filler]) -> None:
    """Each directive's output holds payloads where it shows data: the attack reaches every part of every page."""
    site, _, _ = attacked
    for page, classes in PAYLOAD_TABLES.items():
        found = Page(site / f"{page}.html")
        for css_class in classes:
            tables = found.tables_with_class(css_class)
            assert tables and any(MARK in cell for table in tables for row in table for cell in row), (page, css_class)
    for page, texts in PAYLOAD_AFTER.items():
        text = Page(site / f"{page}.html").text
        for here in texts:
            assert here in text, (page, here)
            assert MARK in text.split(here, 1)[1][:2000], (page, here)
    functions = (site / "functions.html").read_text(encoding="utf-8")
    assert re.search(rf'<abbr title="[^"]*{MARK}', functions), "a symbol's hover text shows the check's message"
    plots = Page(site / "plots.html")
    assert len({link for link in plots.links if link.startswith("_images/")}) >= 4
    assert MARK in "".join(Scan(site / "plots.html").text).split("Timings of the article's alternatives", 1)[1]


def test_no_markup_from_data_reaches_the_html(attacked: tuple[Path, str, Filler]) -> None:
    site, _, _ = attacked
    problems = [p for page in html_files(site) for p in Scan(page).problems]
    assert not problems, "\n".join(problems[:40])


def test_no_file_outside_the_results_is_read_into_the_site(attacked: tuple[Path, str, Filler]) -> None:
    site, canary, _ = attacked
    passwd = Path("/etc/passwd")
    first = passwd.read_text(encoding="utf-8", errors="replace").splitlines()[0] if passwd.is_file() else ""
    leaked = []
    for path in site.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if canary.encode() in data or (first and first.encode() in data):
                leaked.append(str(path.relative_to(site)))
    assert not leaked, leaked
    assert not list(site.rglob("_downloads/*")), "a :download: role from data copied a file into the site"


def test_raw_and_file_insertion_are_off_for_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a page of the report's own sources cannot insert raw HTML or a file: the settings are off."""
    canary = f"CANARY-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(canary + "\n", encoding="utf-8")
    docs = tmp_path / "docs"
    shutil.copytree(report.DOCS_DIR, docs)
    (docs / "docutils.conf").write_text("[parsers]\nraw_enabled: yes\nfile_insertion_enabled: yes\n",
                                        encoding="utf-8")
    (docs / "probe.rst").write_text(
        f"Probe\n=====\n\n.. raw:: html\n\n   <b class=\"{MARK}-raw\">x</b>\n\n.. raw:: html\n   :file: {secret}\n\n"
        f".. include:: {secret}\n\n.. csv-table:: t\n   :file: {secret}\n", encoding="utf-8")
    monkeypatch.setattr(report, "DOCS_DIR", docs)
    out = tmp_path / "site"
    report.build([RUN_A], out, strict=False)
    html = (out / "probe.html").read_text(encoding="utf-8")
    assert f"{MARK}-raw" not in html and canary not in html
    assert not [p for p in out.rglob("*") if p.is_file() and canary.encode() in p.read_bytes()]


def test_every_string_of_the_results_was_attacked(attacked: tuple[Path, str, Filler]) -> None:
    """The filler left only schema-fixed words (statuses, kinds, enums) unfilled: the attack covers the data."""
    _, _, filler = attacked
    assert len(filler.seen) > 300
    assert all(MARK in text for text in filler.seen.values())


def test_payload_corpus_puts_a_directive_behind_every_line_separator(tmp_path: Path) -> None:
    for position, sep in enumerate(SEPARATORS):
        assert len(f"a{sep}b".splitlines()) == 2, repr(sep)  # docutils splits its source lines the same way
        assert f"{sep}{sep}.. raw:: html" in payload_for("x", position, tmp_path / "s"), repr(sep)
