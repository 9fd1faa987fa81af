"""Known deviations per backend: a reviewed TOML file whose entries turn checks into xfail.

Each entry names what it covers (``spec``, optional ``function``, ``dtype``,
``variant`` — shell-style patterns), why (``reason``, required), where the
upstream discussion is (``link``, required) and for which library versions it
holds (``versions``, a PEP 440 specifier; empty means all)::

    [[deviation]]
    spec = "cond_grad"
    reason = "torch.cond under torch.func.grad fails inside dynamo"
    link = "https://github.com/pytorch/pytorch/issues/..."
    versions = ">=2.5"

An entry that matches no generated check is drift, reported as an error, so the
file cannot silently go stale; a covered check that passes is reported as xpass.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import tomllib
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

MANIFEST_DIR = Path(__file__).parent / "manifests"
_FIELDS = {"spec", "function", "dtype", "variant", "reason", "link", "versions"}


class ManifestError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Deviation:
    spec: str
    reason: str
    link: str
    function: str = "*"
    dtype: str = "*"
    variant: str = "*"
    versions: str = ""
    source: str = ""
    """``file:line`` of the entry, for messages."""

    def applies_to_version(self, version: str) -> bool:
        if not self.versions:
            return True
        return Version(version.split("+")[0]) in SpecifierSet(self.versions)

    def matches(self, spec: str, function: str, dtype: str, variant: str) -> bool:
        return all(
            fnmatch.fnmatchcase(value, pattern)
            for value, pattern in ((spec, self.spec), (function, self.function), (dtype, self.dtype), (variant, self.variant))
        )

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _entry_lines(text: str) -> list[int]:
    return [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == "[[deviation]]"]


def load(path: Path) -> list[Deviation]:
    """Parse and validate one manifest; every problem names the file and the line."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    unknown_top = set(data) - {"deviation"}
    if unknown_top:
        raise ManifestError(f"{path}: unknown top-level keys {sorted(unknown_top)}; only [[deviation]] tables are allowed")
    lines = _entry_lines(text)
    out = []
    for i, raw in enumerate(data.get("deviation", [])):
        where = f"{path}:{lines[i] if i < len(lines) else '?'}"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise ManifestError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_FIELDS)})")
        missing = {"spec", "reason", "link"} - set(raw)
        if missing:
            raise ManifestError(f"{where}: missing required keys {sorted(missing)}; every deviation needs a reason and an upstream link")
        if not str(raw["reason"]).strip():
            raise ManifestError(f"{where}: empty reason")
        try:
            SpecifierSet(raw.get("versions", ""))
        except InvalidSpecifier:
            raise ManifestError(f"{where}: versions {raw['versions']!r} is not a PEP 440 specifier such as '>=2.5,<3'") from None
        out.append(Deviation(source=where, **{k: str(v) for k, v in raw.items()}))
    return out


def for_backend(name: str, extra: list[Path] | None = None) -> list[Deviation]:
    """The built-in manifest of ``name`` (if any) plus any given on the command line."""
    paths = [MANIFEST_DIR / f"{name}.toml"] if (MANIFEST_DIR / f"{name}.toml").exists() else []
    paths += list(extra or [])
    return [d for p in paths for d in load(p)]
