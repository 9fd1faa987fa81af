"""Known deviations per backend: a reviewed TOML file whose entries turn checks into xfail.

Each entry names what it covers (``spec``, optional ``function``, ``dtype``,
``variant`` — each a shell-style pattern or a list of them, any of which may
match), why (``reason``, required), where the upstream discussion is (``link``,
an http(s) URL) or, where none exists, why not and how it reproduces
(``no_upstream``; exactly one of the two), and for which library versions it
holds (``versions``, a PEP 440 specifier; empty means all), and, for a deviation that shows on some
draws or runs only, why (``flaky``: a pass of a covered check is then a pass, not an xpass).  See
``docs/manifest.md``::

    [[deviation]]
    spec = "cond_grad"
    reason = "torch.cond under torch.func.grad fails inside dynamo"
    link = "https://github.com/pytorch/pytorch/issues/..."
    versions = ">=2.5"

An entry that matches no generated check is drift, reported as an error, so the
file cannot silently go stale; a covered check that passes is reported as xpass.

:func:`validate` checks a manifest completely from the parsed data (types, unknown
keys, spec patterns against ``conformance.battery.specs.REGISTRY``, version specifiers,
http(s) links) and reports every problem at once as ``file:line: problem (fix)``;
``python -m conformance run/all`` call it before any battery process starts
(:mod:`conformance.run.preflight`), so a mistake is reported once, not once per shard.

Limits: a manifest holds at most :data:`MAX_DEVIATIONS` entries and
:data:`conformance.inputs.validation.MAX_INPUT_BYTES` bytes (1 MiB); past either the
file is refused (exit 2) before any entry is looked at.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from conformance.inputs.validation import (
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

MANIFEST_DIR = Path(__file__).parent / "manifests"
MAX_DEVIATIONS = 1000
"""Entries per manifest (the largest shipped one has 19): each is matched against every check of every shard,
and each is a deviation someone must review."""
_ONE_PATTERN = {"type": "string", "pattern": r"\S"}
_PATTERN = {"anyOf": [_ONE_PATTERN, {"type": "array", "items": _ONE_PATTERN, "minItems": 1}],
            "description": "a non-empty string (a shell-style pattern) or an array of them", "examples": ["cond_*"]}
MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "deviation": {
            "type": "array", "description": "[[deviation]] tables (an array of tables, not a single [deviation])",
            "items": {
                "type": "object", "description": "a [[deviation]] table",
                "required": ["spec", "reason"], "additionalProperties": False,
                "properties": {
                    "spec": {**_PATTERN, "examples": ["cond_grad"]},
                    "function": _PATTERN, "dtype": {**_PATTERN, "examples": ["float32"]}, "variant": _PATTERN,
                    "reason": {"type": "string", "pattern": r"\S", "description": "a non-empty string",
                               "examples": ["why the library differs, in a sentence or two"]},
                    "link": {"type": "string", "pattern": r"^https?://[^\s<>`\"'\\]+$",
                             "description": "an http(s) URL of the upstream discussion",
                             "examples": ["https://github.com/pytorch/pytorch/issues/1"]},
                    "no_upstream": {"type": "string", "pattern": r"\S",
                                    "description": "why no upstream discussion exists, and how it reproduces",
                                    "examples": ["none found in the tracker (2026-11-30); reproduce: ..."]},
                    "versions": {"type": "string", "description": "a PEP 440 specifier string",
                                 "examples": [">=2.5,<3"]},
                    "flaky": {"type": "string", "pattern": r"\S",
                              "description": "why the deviation shows on some draws or runs only, and how often seen",
                              "examples": ["NaN on about 1 draw in 20 (seeds 3 and 8 of ten): a race in the kernel"]},
                    "crashes": {"type": "string", "pattern": r"\S",
                                "description": "how the covered checks kill the library's process (a signal)",
                                "examples": ["SIGSEGV inside SolveGradKernel when one operand is a constant"]},
                },
            },
        },
    },
}
"""The manifest's shape; :func:`_reference_problems` checks what a schema cannot (spec ids, version specifiers)."""


class ManifestError(InputError):
    """A manifest's problems, each already formatted as ``file:line: problem (fix)``."""


Patterns = str | tuple[str, ...]


def _any_match(value: str, patterns: Patterns) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in ((patterns,) if isinstance(patterns, str) else patterns))


def pattern_text(patterns: Patterns) -> str:
    """One line for messages and record fields: the patterns joined by ``|``."""
    return patterns if isinstance(patterns, str) else "|".join(patterns)


@dataclasses.dataclass(frozen=True)
class Deviation:
    spec: Patterns
    reason: str
    link: str = ""
    no_upstream: str = ""
    """Where no upstream discussion exists: why, and how the deviation reproduces."""
    function: Patterns = "*"
    dtype: Patterns = "*"
    variant: Patterns = "*"
    versions: str = ""
    flaky: str = ""
    """Set where the deviation shows on some draws or runs only: why, and how often it was seen.  A covered check
    that fails is an xfail as usual; one that passes is a pass, not an xpass (which would fail the gate on the
    runs the bug happens not to show), so such an entry never goes stale by luck, only by review."""
    crashes: str = ""
    """Set where the covered checks kill the library's process (SIGSEGV or another signal inside its kernels):
    what dies, and where.  Such a death is then the entry's xfail, recorded by the runner (the process cannot
    record it).  Without it, a covered check whose process dies is an error: an entry about wrong numbers
    does not vouch for a crash."""
    source: str = ""
    """``file:line`` of the entry, for messages."""

    def applies_to_version(self, version: str) -> bool:
        if not self.versions:
            return True
        return Version(version.split("+")[0]) in SpecifierSet(self.versions)

    def matches(self, spec: str, function: str, dtype: str, variant: str) -> bool:
        return all(
            _any_match(value, patterns)
            for value, patterns in ((spec, self.spec), (function, self.function), (dtype, self.dtype), (variant, self.variant))
        )

    @property
    def upstream(self) -> str:
        """The link, or the statement of why there is none: what an xfail's reason cites."""
        return self.link or f"no upstream issue: {self.no_upstream}"

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("spec", "function", "dtype", "variant"):
            if isinstance(data[name], tuple):
                data[name] = list(data[name])
        return data


def _reference_problems(data: dict[str, Any], bad: set[DataPath]) -> list[Problem]:
    """Spec patterns that match no registered spec, and version specifiers that do not parse."""
    from conformance.battery.specs import REGISTRY

    problems = []
    entries = data.get("deviation")
    for i, raw in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(raw, dict) or ("deviation", i) in bad:
            continue
        spec = raw.get("spec")
        if ("deviation", i, "spec") not in bad and isinstance(spec, (str, list)):
            for pattern in [spec] if isinstance(spec, str) else spec:
                if not any(fnmatch.fnmatchcase(s, pattern) for s in REGISTRY):
                    problems.append(Problem(
                        ("deviation", i, "spec"),
                        f"deviation #{i + 1}: spec {pattern!r} names no spec in conformance.battery.specs.REGISTRY",
                        did_you_mean(pattern, REGISTRY) or "python -m conformance specs lists them"))
        if ("link" in raw) == ("no_upstream" in raw):
            problems.append(Problem(("deviation", i),
                                    f"deviation #{i + 1} needs exactly one of link (the upstream discussion) and "
                                    f"no_upstream (why there is none)",
                                    'write link = "https://..." or no_upstream = "none found (date); reproduce: ..."'))
        versions = raw.get("versions")
        if isinstance(versions, str) and ("deviation", i, "versions") not in bad:
            try:
                SpecifierSet(versions)
            except InvalidSpecifier:
                problems.append(Problem(("deviation", i, "versions"),
                                        f"deviation #{i + 1}: versions {versions!r} is not a PEP 440 specifier",
                                        "write e.g. versions = \">=2.5,<3\" or \"==2.13.*\""))
    return problems


def validate(path: Path) -> dict[str, Any]:
    """Parse ``path`` and check it completely; raise :class:`ManifestError` listing every problem of the file."""
    text, data = parse_toml(path, ManifestError)
    entry_limit(path, data, text, "deviation", MAX_DEVIATIONS, ManifestError)
    problems = schema_problems(data, MANIFEST_SCHEMA)
    problems += _reference_problems(data, invalid_paths(problems))
    if problems:
        raise ManifestError(*format_problems(path, problems, toml_lines(text)))
    return data


def load(path: Path) -> list[Deviation]:
    """Parse and validate one manifest; every problem names the file and the line of the key it is about."""
    path = Path(path)
    data = validate(path)  # first: it refuses an oversized file before reading it
    text = path.read_text(encoding="utf-8")
    lines = toml_lines(text)
    return [Deviation(source=f"{path}:{lines.get(('deviation', i), 1)}",
                      **{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
            for i, raw in enumerate(data.get("deviation", []))]


def paths_for(name: str, extra: list[Path] | None = None) -> list[Path]:
    """The built-in manifest of backend ``name`` (if it has one) and the extra ones, in that order."""
    builtin = MANIFEST_DIR / f"{name}.toml"
    return ([builtin] if builtin.is_file() else []) + [Path(p) for p in extra or []]


def for_backend(name: str, extra: list[Path] | None = None) -> list[Deviation]:
    """The built-in manifest of ``name`` (if any) plus any given on the command line."""
    return [d for p in paths_for(name, extra) for d in load(p)]


def covering(case: Any, deviations: Iterable[Deviation]) -> Deviation | None:
    """The first entry of ``deviations`` that covers check ``case`` (a ``conformance.battery.specs.Case``: its check is then
    expected to fail, an xfail).  The one place a check meets the manifest: the plugin, ``check_backend`` and
    ``parametrize_checks`` all ask here."""
    variant = case.variant.label if case.variant else ""
    for dev in deviations:
        if dev.matches(case.spec.id, case.entry.name, case.dtype, variant):
            return dev
    return None
