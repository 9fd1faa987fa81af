"""``--shard K/N`` and ``merge``: N machines' results, merged, are the unsharded run check for check.

Also: the partition is deterministic and even by expected time, a machine's shard
is the same set whatever its cores split it into (``--jobs``), and ``merge``
refuses files that are not parts of one run, with a message naming the fix.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.run import sharding
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]
KEYWORD = "jvp or vjp"
"""A slice of the battery that runs in seconds on the reference backend, with passes and skips."""
COMPARED_OUT = ("duration_s",)
"""Fields that may differ between two runs of the same checks: wall time alone."""


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def _by_id(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["backend"], c["test_id"]): {k: v for k, v in c.items() if k not in COMPARED_OUT}
            for c in doc["checks"]}


# -- the partition --------------------------------------------------------------------------------------

def test_assignment_is_deterministic_whatever_the_order_and_even_by_expected_time() -> None:
    rng = random.Random(7)
    costs = {f"spec{i % 13}[numpy-float64-f{i}]": rng.choice([0.01, 0.02, 0.5, 3.0]) * rng.random() for i in range(400)}
    first = sharding.assign(costs, 4)
    shuffled = list(costs.items())
    rng.shuffle(shuffled)
    assert sharding.assign(dict(shuffled), 4) == first
    loads = sharding.loads(costs, first, 4)
    # Greedy longest-first: no shard exceeds another by more than the largest single check.
    assert max(loads) - min(loads) <= max(costs.values()) + 1e-12
    assert set(first.values()) == {1, 2, 3, 4}


def test_a_machines_shard_is_the_same_set_however_its_cores_split_it() -> None:
    class Item:
        def __init__(self, test_id: str, spec: str) -> None:
            self.case = type("C", (), {"test_id": test_id, "spec": type("S", (), {"id": spec})()})()

    items = [Item(f"s{i % 7}[numpy-float64-f{i}]", f"s{i % 7}") for i in range(120)]
    table = {"by_spec": {f"numpy/s{j}": 0.01 * (j + 1) for j in range(7)}, "by_check": {}}
    whole = sharding.select(items, lambda it: it.case, "numpy", sharding.parse_chain("2/3"), table)
    for m in (1, 2, 5):
        parts = [sharding.select(items, lambda it: it.case, "numpy", sharding.parse_chain(f"2/3,{j}/{m}"), table)
                 for j in range(1, m + 1)]
        assert set().union(*parts) == whole
        assert sum(map(len, parts)) == len(whole)  # disjoint


@pytest.mark.parametrize(("text", "words"), [("3", "expected K/N"), ("0/2", "between 1 and N"),
                                             ("3/2", "between 1 and N"), ("a/b", "expected K/N")])
def test_bad_shard_text_names_the_fix(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        sharding.ShardSpec.parse(text)


def test_costs_come_from_the_check_then_its_spec_then_any_backend() -> None:
    table = {"by_spec": {"torch/jvp": 0.2, "jax/vmap": 0.4, "torch/vmap": 0.8}, "by_check": {"torch/jvp[x]": 5.0}}
    assert sharding.expected_cost(table, "torch", "jvp", "jvp[x]") == 5.0
    assert sharding.expected_cost(table, "torch", "jvp", "jvp[y]") == 0.2
    assert sharding.expected_cost(table, "numpy", "vmap", "vmap[y]") == pytest.approx(0.6)
    assert sharding.expected_cost(table, "numpy", "unknown", "unknown[y]") == sharding.DEFAULT_COST


# -- shards, merged, equal the unsharded run ---------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("shards")
    base = ["run", "--backend", "numpy", "-k", KEYWORD]
    out: dict[str, Any] = {"dir": tmp}
    proc = _cli(tmp, *base, "--jobs", "1", "--out", str(tmp / "serial.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for k in (1, 2, 3):
        proc = _cli(tmp, *base, "--shard", f"{k}/3", "--out", str(tmp / f"shard{k}.json"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _cli(tmp, "merge", *(str(tmp / f"shard{k}.json") for k in (1, 2, 3)), "--out", str(tmp / "merged.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Four processes for one backend: each dtype split in two (what --jobs auto does on a many-core machine).
    proc = _cli(tmp, *base, "--jobs", "4", "--out", str(tmp / "split.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("serial", "merged", "split", "shard1", "shard2", "shard3"):
        out[name] = results.load(tmp / f"{name}.json")
    return out


def test_three_shards_merged_equal_one_unsharded_run_check_for_check(runs: dict[str, Any]) -> None:
    serial, merged = _by_id(runs["serial"]), _by_id(runs["merged"])
    assert len(serial) > 50 and {c["status"] for c in serial.values()} >= {"pass", "skip"}
    assert merged.keys() == serial.keys()
    for key, check in serial.items():
        assert merged[key] == check, key  # status, error figures, tolerance, message, details
    assert runs["merged"]["backends"]["numpy"]["version"] == runs["serial"]["backends"]["numpy"]["version"]


def test_each_shard_runs_a_disjoint_nonempty_part(runs: dict[str, Any]) -> None:
    parts = [set(_by_id(runs[f"shard{k}"])) for k in (1, 2, 3)]
    assert all(parts)
    assert sum(map(len, parts)) == len(set().union(*parts))
    assert [runs[f"shard{k}"]["run"]["shard"] for k in (1, 2, 3)] == ["1/3", "2/3", "3/3"]
    assert [m["shard"] for m in runs["merged"]["run"]["merged_from"]] == ["1/3", "2/3", "3/3"]


def test_splitting_a_backend_across_processes_changes_no_result(runs: dict[str, Any]) -> None:
    assert runs["split"]["run"]["options"]["split"] == 2
    assert _by_id(runs["split"]) == _by_id(runs["serial"])


def test_the_function_table_travels_in_the_header_and_merged_shards_keep_it(runs: dict[str, Any]) -> None:
    """The report reads the table from the results, never from the catalog: every run writes it, merge keeps it."""
    from conformance.battery.functions import FUNCTIONS_TABLE

    table = runs["serial"]["run"][results.FUNCTION_TABLE_KEY]
    assert [row["entry"] for row in table] == list(FUNCTIONS_TABLE)
    assert all(runs[name]["run"][results.FUNCTION_TABLE_KEY] == table for name in ("merged", "shard1", "split"))


def test_the_run_header_records_the_code_revision(runs: dict[str, Any]) -> None:
    rev = runs["serial"]["run"]["revision"]
    assert rev["source_sha256"] == results.source_hash()
    assert len(rev["source_sha256"]) == 64


# -- merge refuses what is not one run ---------------------------------------------------------------------

def _shards(runs: dict[str, Any]) -> list[dict[str, Any]]:
    return [copy.deepcopy(runs[f"shard{k}"]) for k in (1, 2, 3)]


NAMES = ["a.json", "b.json", "c.json"]


def test_merge_refuses_mixed_code_revisions(runs: dict[str, Any]) -> None:
    docs = _shards(runs)
    docs[1]["run"]["revision"]["source_sha256"] = "0" * 64
    with pytest.raises(results.MergeError, match=r"different code .*b\.json.*rerun every shard from one commit"):
        results.merge_runs(docs, NAMES)


def test_merge_refuses_a_check_held_twice(runs: dict[str, Any]) -> None:
    docs = _shards(runs)
    docs[2]["checks"].append(copy.deepcopy(docs[0]["checks"][0]))
    with pytest.raises(results.MergeError, match=r"a\.json and c\.json both hold check"):
        results.merge_runs(docs, NAMES)


def test_merge_refuses_a_missing_or_repeated_shard(runs: dict[str, Any]) -> None:
    docs = _shards(runs)
    with pytest.raises(results.MergeError, match=r"shard\(s\) 2/3 of numpy missing"):
        results.merge_runs([docs[0], docs[2]], ["a.json", "c.json"])
    assert results.merge_runs([docs[0], docs[2]], ["a.json", "c.json"], allow_partial=True)["checks"]
    with pytest.raises(results.MergeError, match=r"both shard 1/3 of numpy"):
        results.merge_runs([docs[0], copy.deepcopy(docs[0]), docs[1], docs[2]], ["a", "b", "c", "d"])


def test_merge_refuses_two_versions_of_a_library_and_two_seeds(runs: dict[str, Any]) -> None:
    docs = _shards(runs)
    docs[1]["backends"]["numpy"]["version"] = "0.0.1"
    with pytest.raises(results.MergeError, match=r"numpy 0\.0\.1.*one version of each library"):
        results.merge_runs(docs, NAMES)
    docs = _shards(runs)
    docs[2]["run"]["hypothesis_seed"] = 12345
    with pytest.raises(results.MergeError, match=r"pass the same --seed"):
        results.merge_runs(docs, NAMES)


def test_merge_command_exits_2_with_one_line(runs: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(runs["shard2"])
    doc["run"]["revision"]["source_sha256"] = "f" * 64
    other = results.write_atomic(tmp_path / "other.json", doc)
    proc = _cli(tmp_path, "merge", str(runs["dir"] / "shard1.json"), str(other), str(runs["dir"] / "shard3.json"),
                "--out", str(tmp_path / "m.json"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ran different code" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.json").exists()
    json.loads((runs["dir"] / "merged.json").read_text())  # the good merge wrote strict JSON


@pytest.mark.parametrize(("args", "words"), [
    (["run", "--shard", "4/3"], "between 1 and N"),
    (["run", "--shard", "1/2", "--shard-costs", "no/such.json"], "no such file"),
    (["run", "--shard-costs", "x.json"], "without --shard does nothing"),
    (["all", "--shard", "1/2"], "splits the battery only"),
])
def test_bad_shard_options_exit_2_before_any_work(tmp_path: Path, args: list[str], words: str) -> None:
    proc = _cli(tmp_path, *args[:1], "--backend", "numpy", *args[1:])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "reports").exists()
