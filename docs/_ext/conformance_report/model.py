"""The results files as the report sees them: runs, cells, claims, labels.

Everything the pages need is derived here, once per build, from the results
documents alone (``conformance.store.results.load``); nothing imports a backend
library or the battery's catalog, so the report builds where neither torch nor
jax is installed.  Checks are read as the typed records the battery wrote
(:class:`conformance.store.results.CheckRecord`, :attr:`Run.records`), and the
function table as the run recorded it (:class:`conformance.store.results.FunctionRow`,
:attr:`Run.function_table`), so writer and reader share one definition of each
field.  Labels for cross-references are computed here too, so the matrix on the
front page and the detail pages agree on them without talking to each other.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.store import schema
from conformance.store.results import CheckRecord, FunctionRow, load, recorded_function_table

from .text import slug
from .vocab import STATUSES, TRANSFORMS, VERDICTS


def num(value: Any) -> float | None:
    """A float from a results value; the strict-JSON strings ``"nan"``/``"inf"`` included."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fmt(value: Any, unit: str = "") -> str:
    """A number for people: three significant digits, ``—`` when absent."""
    x = num(value)
    if x is None:
        return "—"
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.3g}{unit}"


def fmt_seconds(value: Any) -> str:
    """A duration with a readable unit (timings span nanoseconds to minutes)."""
    x = num(value)
    if x is None or math.isnan(x):
        return "—"
    if x >= 60:
        return f"{x / 60:.1f} min"
    if x >= 1:
        return f"{x:.3g} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    if x >= 1e-6:
        return f"{x * 1e6:.3g} µs"
    return f"{x * 1e9:.3g} ns"


def project_root(results_file: Path) -> Path | None:
    """The project a results file belongs to: the folder holding ``reports/results/run-*.json``."""
    parent = Path(results_file).resolve().parent
    if parent.name == "results" and parent.parent.name == "reports":
        return parent.parent.parent
    return None


def project_path(run: Run, value: Any) -> str:
    """A path recorded in the results as people should read it: relative paths as they are, absolute ones
    relative to the results file's project, or else only the file name (a ``:LINE`` suffix is kept)."""
    text = str(value or "").strip()
    if not text:
        return ""
    head, sep, line = text.rpartition(":")
    if not (sep and line.isdigit()):
        head, sep, line = text, "", ""
    path = Path(head)
    if not path.is_absolute() and not head.startswith("\\") and ":" not in head:
        return text
    root = project_root(run.path)
    if root is not None:
        try:
            return path.relative_to(root).as_posix() + sep + line
        except ValueError:
            pass
    name = head.replace("\\", "/").rsplit("/", 1)[-1]
    return name + sep + line


OFFERABLE = tuple(t for t in TRANSFORMS if t != "errors")
"""The transforms an adapter may offer (``errors`` is a kind of check, not a transform)."""
_API_FIELDS = {"grad_and_value": "grad_and_value_api", "scan": "scan_api", "cond": "cond_api", "jit": "jit_api"}
"""Transforms whose public name the conventions declare: an empty name means the library has none."""


def offered(env: dict[str, Any]) -> tuple[list[str], dict[str, str]] | None:
    """The transforms a backend offers and those it does not (-> why), read from its recorded conventions.

    ``None`` when the results carry no conventions for it (an older file): the report then says so rather
    than guessing.  A transform is not offered when ``conventions.unsupported`` names it, or when its public
    name is declared empty (``scan_api = ""``): both are what the battery turns into skips.
    """
    conventions = env.get("conventions")
    if not isinstance(conventions, dict):
        return None
    declared = conventions.get("unsupported") or {}
    missing: dict[str, str] = {}
    for transform in OFFERABLE:
        field = _API_FIELDS.get(transform)
        if transform in declared:
            missing[transform] = str(declared[transform])
        elif field is not None and not conventions.get(field):
            missing[transform] = f"no {transform} declared ({field} is empty)"
    return [t for t in OFFERABLE if t not in missing], missing


@dataclasses.dataclass
class Run:
    """One results file: one column of the report."""

    index: int
    name: str
    path: Path
    doc: dict[str, Any]

    @property
    def header(self) -> dict[str, Any]:
        return self.doc.get("run") or {}

    @property
    def checks(self) -> list[dict[str, Any]]:
        return self.doc.get("checks") or []

    @property
    def claims(self) -> list[dict[str, Any]]:
        return self.doc.get("claims") or []

    @property
    def articles(self) -> list[dict[str, Any]]:
        return self.doc.get("articles") or []

    @property
    def backends(self) -> dict[str, Any]:
        return self.doc.get("backends") or {}

    @functools.cached_property
    def records(self) -> list[CheckRecord]:
        """The checks as typed records, in file order (``records[i]`` is ``checks[i]``), read on first use.

        Pages that still read the plain dictionaries (``checks``) see the same file; new reading goes here, where
        a field's name and type are the writer's own.
        """
        return [CheckRecord.from_json(c if isinstance(c, dict) else {}) for c in self.checks]

    @functools.cached_property
    def function_table(self) -> list[FunctionRow] | None:
        """The battery's function table as this run recorded it (``run.function_table``); None for a file
        written before runs recorded it."""
        return recorded_function_table(self.header)

    @functools.cached_property
    def cell_index(self) -> dict[tuple[str, str, str], list[tuple[int, CheckRecord]]]:
        """``(backend, transform, dtype)`` -> the positions and records of that cell, built once: the matrix asks
        for every cell of every run."""
        cells: dict[tuple[str, str, str], list[tuple[int, CheckRecord]]] = {}
        for position, record in enumerate(self.records):
            cells.setdefault((record.backend, record.transform, record.dtype), []).append((position, record))
        return cells

    def check_label(self, position: int) -> str:
        """Label of the mismatch section of ``checks[position]``."""
        return f"check-r{self.index}-{position}"

    def status_counts(self, backend: str | None = None) -> Counter[str]:
        return Counter(r.status for r in self.records if backend is None or r.backend == backend)

    def has_backend(self, backend: str) -> bool:
        """Whether this run checked ``backend`` (recorded it, or has a check of it)."""
        return backend in self.backends or any(r.backend == backend for r in self.records)

    def verdict_counts(self) -> Counter[str]:
        return Counter(c.get("verdict", "") for c in self.claims)

    def library(self, backend: str) -> list[tuple[str, str]]:
        """Distinct (library version, device) pairs the run's checks of ``backend`` report."""
        pairs: dict[tuple[str, str], None] = {}
        for record in self.records:
            if record.backend == backend:
                pairs[(record.library_version, record.device)] = None
        if not pairs and backend in self.backends:
            env = self.backends[backend]
            pairs[(str(env.get("version", "")), str(env.get("device", "")))] = None
        return list(pairs)


@dataclasses.dataclass
class ClaimGroup:
    """One claim of an article as seen by every run that checked it."""

    article: str
    id: str
    records: list[tuple[Run, dict[str, Any]]]

    @property
    def first(self) -> dict[str, Any]:
        return self.records[0][1]

    @property
    def order(self) -> int:
        try:
            return int(self.first.get("order", 0))
        except (TypeError, ValueError):
            return 0

    @property
    def label(self) -> str:
        return f"claim-{slug(self.article)}-{slug(self.id)}"


@dataclasses.dataclass
class Report:
    """All runs of one report and the cross-run views the pages need."""

    runs: list[Run]
    problems: list[str] = dataclasses.field(default_factory=list)
    """Oddities found in the data (unknown status, verdict); the extension warns about them."""

    @property
    def checks(self) -> Iterable[tuple[Run, int, dict[str, Any]]]:
        """Every check of every run as the plain dictionary of the file (pages not yet on :attr:`records`)."""
        for run in self.runs:
            for position, check in enumerate(run.checks):
                yield run, position, check

    @property
    def records(self) -> Iterable[tuple[Run, int, CheckRecord]]:
        """Every check of every run as its typed record, with its position in the run's file."""
        for run in self.runs:
            for position, record in enumerate(run.records):
                yield run, position, record

    def backends(self) -> list[str]:
        """Backends in order of first appearance (environment records first, then checks)."""
        seen: dict[str, None] = {}
        for run in self.runs:
            seen.update(dict.fromkeys(run.backends))
        for _, _, record in self.records:
            seen.setdefault(record.backend, None)
        return list(seen)

    def transforms(self, backend: str | None = None) -> list[str]:
        found = {r.transform for _, _, r in self.records if backend is None or r.backend == backend}
        known = [t for t in TRANSFORMS if t in found]
        return known + sorted(found - set(TRANSFORMS))

    def dtypes(self, backend: str | None = None) -> list[str]:
        return sorted({r.dtype for _, _, r in self.records if backend is None or r.backend == backend})

    def cell(self, backend: str, transform: str, dtype: str, run: Run) -> list[tuple[int, CheckRecord]]:
        """The checks of one matrix cell of ``run``: their positions in its file and their records."""
        return run.cell_index.get((backend, transform, dtype), [])

    @staticmethod
    def cell_label(backend: str, transform: str, dtype: str) -> str:
        return f"cell-{slug(backend)}-{slug(transform)}-{slug(dtype)}"

    def claim_groups(self) -> list[tuple[str, list[ClaimGroup]]]:
        """Claims per article, articles in first-seen order, claims in article order (``order``)."""
        groups: dict[tuple[str, str], ClaimGroup] = {}
        for run in self.runs:
            for claim in run.claims:
                key = (str(claim.get("article", "")), str(claim.get("id", "")))
                groups.setdefault(key, ClaimGroup(key[0], key[1], [])).records.append((run, claim))
        articles: dict[str, list[ClaimGroup]] = {a: [] for a in self.article_ids()}
        for group in groups.values():
            articles.setdefault(group.article, []).append(group)
        return [(a, sorted(gs, key=lambda g: (g.order, g.id))) for a, gs in articles.items()]

    def article_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for run in self.runs:
            for article in run.articles:
                seen.setdefault(str(article.get("id", "")), None)
        return list(seen)

    def article_records(self, article: str) -> list[tuple[Run, dict[str, Any]]]:
        return [(run, a) for run in self.runs for a in run.articles if str(a.get("id", "")) == article]

    def find_check(self, run: Run, test_id: str) -> tuple[int, CheckRecord] | None:
        for position, record in enumerate(run.records):
            if record.test_id == test_id:
                return position, record
        return None


def _audit(report: Report) -> None:
    """Record values outside the schema's vocabulary, so the build can warn about them."""
    for run in report.runs:
        for record in run.records:
            if record.status not in STATUSES:
                report.problems.append(f"{run.path}: check {record.test_id!r} has unknown status {record.status!r}")
        for claim in run.claims:
            if claim.get("verdict") not in VERDICTS:
                report.problems.append(
                    f"{run.path}: claim {claim.get('id')!r} has unknown verdict {claim.get('verdict')!r}"
                )


def run_names(docs: list[dict[str, Any]]) -> list[str]:
    """Column names: ``run.label`` or ``run.id``, made unique with a suffix when two runs share one."""
    names: list[str] = []
    for position, doc in enumerate(docs):
        header = doc.get("run") or {}
        base = str(header.get("label") or header.get("id") or f"run {position + 1}")
        name, n = base, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return names


TEXT_LIMIT = 64 * 1024
"""Characters of one string from the results that reach a page (snippet output, messages, reproducers...)."""


def cap_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters: its head and tail around a marker saying how much was left out.

    A snippet that prints for minutes or an exception with a 20 MB message would otherwise make a page that no
    browser opens; the head and the tail are what a reader needs (how it started, how it ended).
    """
    if len(text) <= limit:
        return text
    head = text[: limit // 2]
    tail = text[-(limit // 2):]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters left out by the report ...]\n{tail}"


def cap_strings(value: Any, limit: int = TEXT_LIMIT) -> Any:
    """Every string inside ``value`` (keys excepted) passed through :func:`cap_text`."""
    if isinstance(value, str):
        return cap_text(value, limit)
    if isinstance(value, list):
        return [cap_strings(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: cap_strings(v, limit) for k, v in value.items()}
    return value


class ResultsInvalid(ValueError):
    """A results file breaks ``docs/results-schema.json``; the message lists ``FILE: $.path: problem`` lines."""


def load_checked(path: str) -> dict[str, Any]:
    """Read a results file, validate it against the schema, and cap its strings for the pages."""
    doc = load(path)
    found = schema.problems(doc)
    if found:
        raise ResultsInvalid("\n".join(f"{path}: {problem}" for problem in found))
    return cap_strings(doc)


@functools.lru_cache(maxsize=4)
def load_report(paths: tuple[str, ...]) -> Report:
    """Load, validate and audit the results files once per build (every directive asks for the same paths)."""
    docs = [load_checked(p) for p in paths]
    runs = [
        Run(i, name, Path(p), doc) for i, (name, p, doc) in enumerate(zip(run_names(docs), paths, docs, strict=True))
    ]
    report = Report(runs)
    _audit(report)
    return report
