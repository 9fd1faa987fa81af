"""Validate a TOML input file (claims, manifest) and report every problem as ``file:line: problem (fix)``.

Input files are reviewed like code, so a mistake in one must stop the run before any process starts, name the
place, and say how to fix it; and every problem of the file is reported at once, so a reviewer does not fix them
one run at a time.  The work is split in three parts that the claims and manifest loaders share:

* :func:`toml_lines` finds the line of every table, array element and key by a light scan of the source text
  (``tomllib`` gives no positions for values; the scan is :mod:`conformance.inputs.toml_positions`, re-exported here).
* :func:`schema_problems` checks the parsed data against a JSON Schema (every field's type, required keys, unknown
  keys with a did-you-mean, enumerations) with the ``jsonschema`` package, and words each failure for a person
  editing TOML, with the fix taken from the schema's ``examples``.
* :class:`Problem` and :func:`format_problems` turn a data path into ``file:line: problem (fix)`` lines.

Checks a schema cannot express (a claim names a snippet that exists, a spec id is in the registry, a regular
expression compiles, a version specifier parses) are written by each loader as :class:`Problem` values too.

Why JSON Schema with ``jsonschema`` rather than typed models (pydantic): the results document is validated against
a JSON Schema already (``docs/results-schema.json``), so one pinned library serves all three inputs; the schemas are
plain data that can be read next to the file format's documentation; and the messages are written here in TOML
terms either way.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema

from conformance.inputs.toml_positions import DataPath, line_of, toml_lines

__all__ = [
    "MAX_INPUT_BYTES", "DataPath", "InputError", "Problem", "describe", "did_you_mean", "entry_limit",
    "format_problems", "invalid_paths", "label", "line_of", "parse_toml", "schema_problems", "toml_lines",
    "toml_value",
]


class InputError(ValueError):
    """One input file's problems, each already formatted as ``file:line: problem (fix)``, one per line."""

    def __init__(self, *messages: str) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(messages))


@dataclasses.dataclass(frozen=True)
class Problem:
    """A problem at ``path`` in the parsed data (keys and 0-based indices); ``fix`` says what to write instead."""

    path: DataPath
    problem: str
    fix: str = ""


MAX_INPUT_BYTES = 1 << 20
"""The largest claims file or manifest read (1 MiB; the shipped ones are under 40 KB).  A reviewed input file
is read by a person: past this it is a mistake or an attack, and parsing and validating it would cost minutes
and gigabytes (a 100,000-entry manifest took 216 s and 789 MB)."""


def parse_toml(path: Path, error: type[InputError], *, max_bytes: int = MAX_INPUT_BYTES) -> tuple[str, dict[str, Any]]:
    """Read and parse ``path``; unreadable, oversized, absurdly nested or invalid TOML becomes ``error``.

    The size is checked before the file is read (:data:`MAX_INPUT_BYTES`); a syntax error carries the parser's
    own line.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}:1: the file is {size:,} bytes, over the limit of {max_bytes:,} for an input file "
                        "(split it, or remove what is not reviewed input)")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}:1: cannot read the file ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, msg = _syntax_position(exc)
        raise error(f"{path}:{line}: not valid TOML: {msg}") from None
    except RecursionError:
        raise error(f"{path}:1: arrays or tables nested too deeply to parse (an input file is a few levels deep; "
                    "flatten it)") from None


def entry_limit(path: Path, data: dict[str, Any], text: str, table: str, limit: int, error: type[InputError]) -> None:
    """Refuse more than ``limit`` ``[[table]]`` entries before any per-entry work (schema, registry look-ups).

    Raised at the first entry past the limit, so the message names a line the reader can go to.
    """
    entries = data.get(table)
    if isinstance(entries, list) and len(entries) > limit:
        line = _nth_header_line(text, table, limit + 1)
        raise error(f"{path}:{line}: {len(entries):,} [[{table}]] entries, over the limit of {limit:,} per file "
                    f"(split the file, or merge entries with patterns)")


def _nth_header_line(text: str, table: str, n: int) -> int:
    """The line of the ``n``-th ``[[table]]`` header (1 where the entries are written another way)."""
    pattern = re.compile(rf"^[ \t]*\[\[[ \t]*[\"']?{re.escape(table)}[\"']?[ \t]*\]\]", re.M)
    for count, m in enumerate(pattern.finditer(text), start=1):
        if count == n:
            return text.count("\n", 0, m.start()) + 1
    return 1


def _syntax_position(exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    """Line and message of a TOML syntax error (Python 3.11's tomllib has them only in the message text)."""
    lineno = getattr(exc, "lineno", None)
    if lineno is not None:
        return int(lineno), str(getattr(exc, "msg", exc))
    m = re.search(r"line (\d+)", str(exc))
    return (int(m.group(1)) if m else 1), re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))


# ---------------------------------------------------------------------------------------------- wording


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)``-style hint, or the empty string when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def toml_value(value: Any) -> str:
    """``value`` written as TOML, for fixes (``["4.0"]``, ``{ spec = "x" }``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def describe(value: Any) -> str:
    """What a parsed TOML value is, for "got ..." in messages."""
    if isinstance(value, bool):
        return f"the boolean {toml_value(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "array": "an array", "object": "a table", "null": "nothing"}


def _expected(schema: Mapping[str, Any]) -> str:
    if schema.get("description"):
        return str(schema["description"])
    types = schema.get("type")
    if isinstance(types, str):
        return _TYPE_WORDS.get(types, types)
    if isinstance(types, list):
        return " or ".join(_TYPE_WORDS.get(t, t) for t in types)
    if "enum" in schema:
        return "one of " + ", ".join(map(repr, schema["enum"]))
    return "valid"


def _fix(schema: Mapping[str, Any], key: str | int | None) -> str:
    examples = schema.get("examples") or []
    if not examples:
        return ""
    if isinstance(key, str):
        return f"write e.g. {key} = {toml_value(examples[0])}"
    return f"e.g. {toml_value(examples[0])}"


def _add(schema: Mapping[str, Any], key: str) -> str:
    """How to add a missing key: a table header for tables, an example assignment for values."""
    items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
    if schema.get("type") == "array" and items.get("type") == "object":
        return f"add [[{key}]] tables"
    if schema.get("type") == "object":
        return f"add a [{key}] table"
    return _fix(schema, key).replace("write e.g.", "add e.g.", 1) or f"add {key} = ..."


def label(data: Any, path: DataPath) -> str:
    """A readable name of ``path``: ``claim 'x' expect_printed``, ``snippet 'ex1' fix #2 expect``, ``apis #3``."""
    words: list[str] = []
    node = data
    for part in path:
        if isinstance(part, int):
            entry_id = node[part].get("id") if isinstance(node, list) and part < len(node) and isinstance(
                node[part], dict) else None
            if isinstance(entry_id, str) and entry_id and words:
                words[-1] = f"{words[-1]} {entry_id!r}"
            elif words:
                words[-1] = f"{words[-1]} #{part + 1}"
        else:
            words.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return " ".join(words) if words else "the file"


def _explain(error: jsonschema.ValidationError, data: Any) -> list[Problem]:
    path: DataPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    key = path[-1] if path else None
    name = label(data, path)
    kind = error.validator
    prefix = f"{name}: " if path else ""
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        problems = []
        for extra in sorted(set(error.instance) - set(allowed)):
            hint = did_you_mean(extra, allowed) or f"allowed keys: {', '.join(allowed)}"
            what = "unknown key" if path else "unknown top-level key"
            problems.append(Problem((*path, extra), f"{prefix}{what} {extra!r}", hint))
        return problems
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        properties = schema.get("properties", {})
        fixes = [_add(properties.get(k, {}), k) for k in missing]
        return [Problem(path, f"{prefix}missing required keys {missing}", "; ".join(fixes))]
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        hint = did_you_mean(error.instance, choices)
        fix = f"one of {', '.join(choices)}" + (f"; {hint}" if hint else "")
        what = key if isinstance(key, str) else name
        return [Problem(path, f"{name}: unknown {what} {error.instance!r}" if isinstance(key, str)
                        else f"{name}: {error.instance!r} is not allowed", fix)]
    if kind in ("type", "minLength", "maxLength", "minItems", "maxItems", "minimum", "exclusiveMinimum", "maximum",
                "pattern", "uniqueItems", "minProperties"):
        return [Problem(path, f"{name} must be {_expected(schema)}, got {describe(error.instance)}", _fix(schema, key))]
    return [Problem(path, f"{name}: {error.message}")]


def schema_problems(data: Any, schema: Mapping[str, Any]) -> list[Problem]:
    """Every way ``data`` breaks ``schema`` (a JSON Schema, draft 2020-12), worded for a person editing TOML."""
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        problems += _explain(error, data)
    return problems


def invalid_paths(problems: Sequence[Problem]) -> set[DataPath]:
    """The data paths that already have a problem, so later checks can skip values of the wrong type."""
    return {p.path for p in problems}


def format_problems(file: Path | str, problems: Iterable[Problem], lines: Mapping[DataPath, int]) -> list[str]:
    """``file:line: problem (fix)`` lines, in file order, each problem once."""
    out: dict[str, int] = {}
    for p in problems:
        line = line_of(lines, p.path)
        text = f"{file}:{line}: {p.problem}" + (f" ({p.fix})" if p.fix else "")
        out.setdefault(text, line)
    return sorted(out, key=lambda text: out[text])

