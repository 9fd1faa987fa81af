"""Splitting the battery into shards by expected time: ``--shard K/N`` (machines) and sub-shards (cores).

A shard is one of ``N`` disjoint parts of a backend's checks.  Every process of
a backend computes the same partition, from the same inputs:

- the backend's *whole* collected battery (before ``-k`` and before the checks a
  restarted process skips), so that neither a keyword nor a resume moves a check
  from one shard to another;
- an expected cost per check, from a costs table (``conformance/run/shard_costs.json``,
  committed, so that every machine of a CI matrix reads the same one) or from a
  results file of an earlier run (``--shard-costs FILE``);
- a greedy assignment (longest expected check first, into the least loaded
  shard, ties broken by test id and shard number), which is deterministic and
  keeps the shards' expected times within one check of each other.

The hook is a wrapper around pytest's collection hook: it sees every collected
item before the conformance plugin and ``-k`` deselect any, and drops the items
of other shards after them.  Known-deviation drift is computed by the plugin on
the whole collection, so every shard reports the same drift records;
:func:`conformance.store.results.merge_runs` keeps one copy of each.
"""

from __future__ import annotations

import dataclasses
import heapq
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

COSTS_FILE = Path(__file__).with_name("shard_costs.json")
"""Median seconds per check, per backend and spec, measured from a ci-profile run (see :func:`costs_table`)."""
DEFAULT_COST = 0.05
"""Seconds assumed for a check of a spec the table does not know: a typical fast check."""


@dataclasses.dataclass(frozen=True)
class ShardSpec:
    """``K/N``: this process runs part ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """``"2/4"`` -> ShardSpec(2, 4); anything else raises ValueError naming the fix."""
        try:
            k, n = (int(p) for p in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard {text!r}: expected K/N with whole numbers, e.g. --shard 1/4") from None
        if n < 1 or not 1 <= k <= n:
            raise ValueError(f"--shard {text!r}: K must be between 1 and N (e.g. --shard 1/{max(n, 1)})")
        return cls(k, n)


# -- expected costs -----------------------------------------------------------------------------------

def costs_table(checks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A compact costs table from a run's checks: median seconds per (backend, spec), and per test id.

    Medians, not sums: a spec's check count changes with the catalog, its typical
    check time does not.  Per-test-id figures are kept too, for the costly outliers
    (a check over 10x its spec's median), where one number per spec would mislead.
    """
    by_spec: dict[tuple[str, str], list[float]] = {}
    rows = [c for c in checks if c.get("spec") != "manifest"]
    for c in rows:
        by_spec.setdefault((c["backend"], c["spec"]), []).append(float(c.get("duration_s") or 0.0))
    medians = {f"{b}/{s}": round(statistics.median(v), 4) for (b, s), v in sorted(by_spec.items())}
    outliers = {}
    for c in rows:
        d = float(c.get("duration_s") or 0.0)
        if d > 10 * medians[f"{c['backend']}/{c['spec']}"] and d > 0.5:
            outliers[f"{c['backend']}/{c['test_id']}"] = round(d, 3)
    return {"kind": "shard-costs", "by_spec": medians, "by_check": dict(sorted(outliers.items()))}


COSTS_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["kind", "by_spec"],
    "properties": {"kind": {"const": "shard-costs"},
                   "by_spec": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
                   "by_check": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}}},
}
"""A costs table's shape: seconds per ``backend/spec`` and per ``backend/test_id``."""


def load_costs(path: Path | None) -> dict[str, Any]:
    """A costs table from ``path`` (a costs table or a results document), or the committed one.

    Either kind is checked whole (a results document against its schema, :func:`conformance.store.results.load`),
    so a foreign or tampered file is a ``ValueError`` naming its line, never a traceback in every shard.
    """
    import jsonschema

    from conformance.store import results, schema

    path = path or COSTS_FILE
    if not path.is_file():
        if path == COSTS_FILE:
            return {"kind": "shard-costs", "by_spec": {}, "by_check": {}}
        raise FileNotFoundError(f"--shard-costs {path}: no such file (give a results file or a shard costs table)")
    try:
        data = results.read_json(path)
        if isinstance(data, dict) and data.get("kind") == "shard-costs":
            error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(COSTS_SCHEMA).iter_errors(data))
            if error is not None:
                raise ValueError(f"{path}: {schema.json_path(error.absolute_path)}: {error.message[:200]} (a costs "
                                 "table maps backend/spec to seconds; rebuild it with sharding.costs_table)")
            return {"by_check": {}, **data}
        if isinstance(data, dict) and "checks" in data:  # a results document: each check's own duration is best
            doc = results.load(path, check_shape=True)
            table = costs_table(doc["checks"])
            table["by_check"] = {f"{c['backend']}/{c['test_id']}": float(c.get("duration_s") or 0.0)
                                 for c in doc["checks"] if c.get("spec") != "manifest"}
            return table
    except results.SchemaError as exc:
        raise ValueError(f"--shard-costs {exc}") from None
    except OSError as exc:
        raise ValueError(f"--shard-costs {path}: cannot read it ({exc.strerror or exc})") from None
    raise ValueError(f"{path}: neither a results document nor a shard costs table (see conformance/run/sharding.py)")


def expected_cost(table: Mapping[str, Any], backend: str, spec: str, test_id: str) -> float:
    """The check's own duration, else its spec's median on this backend, else on any backend, else a default."""
    own = table.get("by_check", {}).get(f"{backend}/{test_id}")
    if own is not None:
        return max(float(own), 1e-4)
    by_spec = table.get("by_spec", {})
    if f"{backend}/{spec}" in by_spec:
        return max(float(by_spec[f"{backend}/{spec}"]), 1e-4)
    others = sorted(v for k, v in by_spec.items() if k.split("/", 1)[1] == spec)
    return max(float(statistics.median(others)), 1e-4) if others else DEFAULT_COST


# -- the assignment -----------------------------------------------------------------------------------

def assign(costs: Mapping[str, float], count: int) -> dict[str, int]:
    """test id -> shard (1-based): longest first into the least loaded shard; deterministic.

    Sorting by (-cost, id) and breaking load ties by shard number makes the result a
    function of the ids and costs alone, never of collection order or hash seeds.
    """
    heap = [(0.0, k) for k in range(1, count + 1)]
    out: dict[str, int] = {}
    for test_id, cost in sorted(costs.items(), key=lambda kv: (-kv[1], kv[0])):
        load, k = heapq.heappop(heap)
        out[test_id] = k
        heapq.heappush(heap, (load + cost, k))
    return out


def loads(costs: Mapping[str, float], assignment: Mapping[str, int], count: int) -> list[float]:
    """Expected seconds per shard, to show how even a partition is."""
    out = [0.0] * count
    for test_id, k in assignment.items():
        out[k - 1] += costs[test_id]
    return out


def parse_chain(text: str) -> list[ShardSpec]:
    """``"2/4"`` or ``"2/4,1/3"``: part 1 of 3 of shard 2 of 4 (a machine's shard, split again across its cores)."""
    return [ShardSpec.parse(t.strip()) for t in text.split(",")]


def select(items: Sequence[Any], case_of: Any, backend: str, chain: Sequence[ShardSpec],
           table: Mapping[str, Any]) -> set[str]:
    """The test ids of the shard ``chain`` names among ``items`` (the whole collection of one backend).

    Each level partitions what the one before kept, so a machine's shard is the same
    set whatever number of cores splits it further.
    """
    costs = {}
    for item in items:
        case = case_of(item)
        if case is not None:
            costs[case.test_id] = expected_cost(table, backend, case.spec.id, case.test_id)
    for shard in chain:
        costs = {t: costs[t] for t, k in assign(costs, shard.count).items() if k == shard.index}
    return set(costs)


# -- the pytest side ------------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--shard", help="run only part K of N of the battery, split by expected time (e.g. 1/4)")
    group.addoption("--shard-costs", help="expected check times: a results file or a shard costs table "
                                          "(default: conformance/run/shard_costs.json)")


def _case(item: Any) -> Any:
    from conformance.battery.specs.core import Case

    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec else None
    return case if isinstance(case, Case) else None


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> Any:
    text = config.getoption("--shard", default=None)
    keep: set[str] | None = None
    if text:
        chain = parse_chain(text)
        costs_path = config.getoption("--shard-costs", default=None)
        table = load_costs(Path(costs_path) if costs_path else None)
        first = next((c for c in map(_case, items) if c is not None), None)
        keep = select(items, _case, first.backend, chain, table) if first else set()
    yield
    if keep is None:
        return
    other = [i for i in items if (c := _case(i)) is not None and c.test_id not in keep]
    if other:
        config.hook.pytest_deselected(items=other)
        dropped = {id(i) for i in other}
        items[:] = [i for i in items if id(i) not in dropped]
