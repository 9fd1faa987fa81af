"""Resource and integrity limits: a regex that backtracks without end, an oversized input file, a shard edited
after its run, and a library that runs out of memory.

- a claims file's ``expect`` is matched under a time limit (:mod:`conformance.inputs.bounded_re`), with Python's own
  semantics (``$`` before a final newline), so a catastrophic pattern costs seconds, not the host;
- manifests and claims files have a size and an entry limit, refused before any per-entry work;
- every results file carries ``checks_sha256`` and ``merge`` refuses a shard whose checks no longer match it;
- a MemoryError is an ``error`` (no verdict), never a ``fail``, however a spec reworded it.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.article import claims
from conformance.inputs import manifest
from conformance.store import results, schema

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
CATASTROPHIC = r"^(a|aa)+$"


def _cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


# -- regular expressions from files ------------------------------------------------------------------------

VERIFY = f"""
from conformance.claims.article import fixes
from conformance.claims.article.claims import Fix
from conformance.claims.article.sandbox import SandboxResult
fix = Fix("python", "idiom", "print('a' * 40 + 'b')", {CATASTROPHIC!r})
out = SandboxResult("ok", 0, "a" * 40 + "b", "", None, 0.1)
record = fixes.fix_record(fix, "print(1)", out, "s")
print(record["verified"], record.get("expect_error", ""))
"""


def test_a_catastrophic_expect_pattern_finishes_fast_and_is_not_credited() -> None:
    """``'^(a|aa)+$'`` against forty a's and a b backtracks for hours in ``re``; here it costs the limit."""
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", VERIFY], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("matching the expect pattern hung (no time limit)")
    assert done.returncode == 0, done.stderr
    verified, _, why = done.stdout.strip().partition(" ")
    assert verified == "False" and "ran past" in why, done.stdout
    assert time.monotonic() - started < 30


def test_bounded_search_answers_as_python_re_does() -> None:
    """Same engine, same answers: the shipped claims' expect patterns against outputs that match and do not."""
    import re

    from conformance.inputs import bounded_re

    data = tomllib.loads((ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml").read_text())
    patterns = [f["expect"] for s in data["snippet"] for f in s.get("fix", [])][:4]
    texts = ["tensor(4.)\n", "4.0\n4.0\nNone\n", "[1. 4. 1. 8.]\n", "", "tensor(4.)"]
    for pattern in [*patterns, r"^4\.0$", r"(?<=a)b", r"(a)\1"]:
        for text in [*texts, "4.0\n", "ab", "aa"]:
            assert bounded_re.search(pattern, text) == (re.search(pattern, text) is not None), (pattern, text)


# -- input file limits ------------------------------------------------------------------------------------

def _deviations(n: int) -> str:
    return "".join(f'[[deviation]]\nspec = "grad_value"\nfunction = "f{i}"\nreason = "r"\n'
                   f'no_upstream = "none"\n\n' for i in range(n))


def test_a_huge_manifest_is_refused_at_once_by_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(_deviations(100_000))
    assert path.stat().st_size > 1 << 20  # conformance.inputs.validation.MAX_INPUT_BYTES
    started = time.monotonic()
    with pytest.raises(manifest.ManifestError, match=r"huge\.toml:1: the file is [\d,]+ bytes, over the limit"):
        manifest.validate(path)
    assert time.monotonic() - started < 1


def test_a_manifest_over_the_entry_limit_is_refused_at_the_first_entry_past_it(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    path.write_text(_deviations(manifest.MAX_DEVIATIONS + 1))
    line = 1 + 6 * manifest.MAX_DEVIATIONS
    started = time.monotonic()
    with pytest.raises(manifest.ManifestError, match=rf"many\.toml:{line}: 1,001 \[\[deviation\]\] entries"):
        manifest.validate(path)
    assert time.monotonic() - started < 5


def test_the_run_command_refuses_a_huge_manifest_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(_deviations(100_000))
    started = time.monotonic()
    proc = _cli(tmp_path, "run", "--backend", "numpy", "--manifest", str(path))
    assert proc.returncode == 2 and "over the limit" in proc.stderr, proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists() and time.monotonic() - started < 30


def test_a_claims_file_over_its_entry_limit_is_refused(tmp_path: Path) -> None:
    text = (FIX / "mini_article_claims.toml").read_text()
    claim = '\n[[claim]]\nid = "c{0}"\nquote = "q"\nparaphrase = "p"\nkind = "advice"\n'
    path = tmp_path / "claims.toml"
    path.write_text(text + "".join(claim.format(i) for i in range(claims.MAX_CLAIMS + 1)))
    with pytest.raises(claims.ClaimsError, match=r"claims\.toml:\d+: [\d,]+ \[\[claim\]\] entries, over the limit"):
        claims.validate(path)


# -- the checks digest --------------------------------------------------------------------------------------

def _shard(shard: str, ids: list[str]) -> dict[str, Any]:
    header = results.run_header(profile="ci", hypothesis_seed=None, options={"backends": ["numpy"]})
    header["shard"] = shard
    doc = results.new_document(header)
    doc["backends"]["numpy"] = {"backend": "numpy", "version": "1.0"}
    doc["checks"] = [results.CheckRecord(
        backend="numpy", library_version="1.0", device="cpu", dtype="float64", spec="grad_value", transform="grad",
        function=f"f{i}", test_id=i, status="fail" if i == "c" else "pass", max_abs_err=float("nan"),
        message="é").to_json() for i in ids]
    return doc


def _shards(tmp: Path) -> tuple[Path, Path]:
    return (results.write_atomic(tmp / "one.json", _shard("1/2", ["a", "b"])),
            results.write_atomic(tmp / "two.json", _shard("2/2", ["c", "d"])))


def test_every_results_file_carries_the_digest_of_its_checks(tmp_path: Path) -> None:
    one, _ = _shards(tmp_path)
    doc = json.loads(one.read_text())
    assert doc["checks_sha256"] == results.checks_digest(doc["checks"]) and len(doc["checks_sha256"]) == 64
    assert schema.problems(doc) == []
    assert results.load(one)["checks_sha256"] == doc["checks_sha256"]
    doc["checks_sha256"] = "not hex"
    assert any("checks_sha256" in p for p in schema.problems(doc))


def _tamper(doc: dict[str, Any], how: str) -> None:
    if how == "deleted":
        del doc["checks"][0]
    elif how == "flipped":
        doc["checks"][0]["status"] = "pass"  # the "c" check failed
    elif how == "relabelled":
        doc["checks"][1]["test_id"] = "e"
    elif how == "digest-removed":
        del doc["checks_sha256"]
    elif how == "added":
        doc["checks"].append(copy.deepcopy(doc["checks"][0]) | {"test_id": "z"})


@pytest.mark.parametrize("how", ["deleted", "flipped", "relabelled", "digest-removed", "added"])
def test_merge_refuses_a_shard_edited_after_its_run(tmp_path: Path, how: str) -> None:
    one, two = _shards(tmp_path)
    doc = json.loads(two.read_text())
    _tamper(doc, how)
    two.write_text(json.dumps(doc, indent=1))  # written by hand: the digest is the run's
    proc = _cli(tmp_path, "merge", str(one), str(two), "--out", str(tmp_path / "m.json"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert str(two) in line and "checks_sha256" in line and str(one) not in line, line
    assert not (tmp_path / "m.json").exists()


def test_merge_accepts_untouched_shards_and_writes_its_own_digest(tmp_path: Path) -> None:
    one, two = _shards(tmp_path)
    proc = _cli(tmp_path, "merge", str(one), str(two), "--out", str(tmp_path / "m.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the "c" check failed: exit 1, merged all the same
    merged = results.load(tmp_path / "m.json")
    assert [c["test_id"] for c in merged["checks"]] == ["a", "b", "c", "d"]
    results.verify_digest(merged, "m.json")


# -- out of memory ---------------------------------------------------------------------------------------------

def test_a_memory_error_is_an_error_never_a_fail() -> None:
    """An adapter whose transforms raise MemoryError: every check is an error saying so, whatever its spec does.

    The misuse specs take any library exception as evidence and reword it as a CheckFailed; the MemoryError
    stays as its context, and the plugin finds it there.
    """
    import conformance
    import conformance.battery.specs as specs
    from backends.numpy_reference import NumpyReference

    class OutOfMemory(NumpyReference):
        name = "oom"
        library = "numpy-oom"
        is_reference = False

        def jvp(self, f: Any, primals: Any, tangents: Any, has_aux: bool = False) -> Any:
            raise MemoryError("cannot allocate 8 GiB")

        def grad(self, f: Any, argnums: Any = 0, has_aux: bool = False) -> Any:
            raise MemoryError("cannot allocate 8 GiB")

    ids = [s.id for s in specs.REGISTRY.values() if s.transform in ("jvp", "grad")]
    result = conformance.check_backend(OutOfMemory(), specs=ids, dtypes=["float64"])
    statuses = {r["status"] for r in result.records}
    assert "fail" not in statuses and "error" in statuses, result.summary()
    assert any(r["spec"].startswith("error_") for r in result.records if r["status"] == "error")
    for r in result.records:
        if r["status"] == "error":
            assert r["message"].startswith("out of memory: ") and "MemoryError" in r["message"], r["message"]


def test_the_plugin_finds_a_memory_error_behind_causes_contexts_and_groups() -> None:
    from conformance.run.plugin import exhausted

    oom = MemoryError("x")
    try:
        try:
            raise oom
        except MemoryError:
            raise AssertionError("reworded") from None  # context kept, cause suppressed
    except AssertionError as exc:
        reworded = exc
    assert exhausted(reworded) is oom
    assert exhausted(ExceptionGroup("many", [ValueError(), reworded])) is oom
    assert exhausted(ValueError("no")) is None and exhausted(None) is None
