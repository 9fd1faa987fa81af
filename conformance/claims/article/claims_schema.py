"""The claims file's shape as a JSON Schema (:data:`CLAIMS_SCHEMA`), and the vocabularies it is written in.

What each kind of claim requires besides its id, quote, paraphrase and kind is :data:`KIND_FIELDS`; what a schema
cannot say (cross-references, regular expressions, registries) is checked by
:mod:`conformance.claims.article.claims_references`.  The file's layout is described in :mod:`conformance.claims.article.claims`.
"""

from __future__ import annotations

from typing import Any

from conformance.claims.article.measure import IDIOMS

KINDS = ("api-existence", "version", "signature", "example-runs", "printed-value", "proposition", "performance",
         "advice")
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
                    "counter": {**_TEXT, "description": "a counter-adapter name (conformance/claims/article/counters.py)",
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
"""The claims file's shape; :func:`conformance.claims.article.claims_references.reference_problems` checks what a schema
cannot (ids, regexes, registries)."""
