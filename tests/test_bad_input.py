"""Bad input stops a command with exit 2 and ``file:line: problem (fix)``, never a traceback.

Each class of input is attacked the way an outside tester did, and then more generally: results files nested
deeper than the decoder follows or with fields of the wrong type (merge, report, --shard-costs, --resume),
claims files and manifests with a wrong type at *every* place (a fuzz over the shipped fixtures), time limits
and counts out of range, tampered ``.partial`` logs and run files, a backend that cannot start, and a ``-k``
expression pytest cannot parse.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.article import claims
from conformance.inputs import manifest
from conformance.inputs.validation import InputError, toml_value
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
DEEP = "[" * 100_000 + "]" * 100_000


def _cli(cwd: Path, *args: str, extra_path: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    path = f"{ROOT}:{extra_path}" if extra_path else str(ROOT)
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, timeout=timeout)


def _refused(proc: subprocess.CompletedProcess[str], where: str) -> list[str]:
    """Exit 2, no traceback, and a ``where:LINE: ...`` line; returns the stderr lines."""
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text, text
    lines = proc.stderr.strip().splitlines()
    assert any(f"{where}:" in ln and ln.split(f"{where}:", 1)[1].split(":", 1)[0].isdigit() for ln in lines), text
    return lines


# -- results files --------------------------------------------------------------------------------------

def _shard_doc(shard: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
    header = results.run_header(profile="ci", hypothesis_seed=None, options={"backends": ["numpy"]})
    header["shard"] = shard
    doc = results.new_document(header)
    doc["backends"]["numpy"] = {"backend": "numpy", "version": "1.0"}
    doc["checks"] = checks
    return doc


def _check(test_id: str, status: str = "pass") -> dict[str, Any]:
    return results.CheckRecord(backend="numpy", library_version="1.0", device="cpu", dtype="float64",
                               spec="grad_value", transform="grad", function="sin_sum", test_id=test_id,
                               status=status).to_json()


def test_a_deeply_nested_results_file_is_refused_by_merge_report_and_shard_costs(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    good = results.write_atomic(tmp_path / "good.json", _shard_doc("1/2", [_check("a")]))
    for args in (["merge", str(good), str(deep), "--out", str(tmp_path / "m.json")],
                 ["report", str(deep), "--out", str(tmp_path / "site")],
                 ["run", "--backend", "numpy", "--shard", "1/2", "--shard-costs", str(deep)]):
        lines = _refused(_cli(tmp_path, *args), str(deep))
        assert any("nested too deeply" in ln for ln in lines), lines
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(("where", "value"), [
    (("run", "revision"), "abc"),
    (("run",), [1, 2]),
    (("checks", 0, "status"), "passed"),
    (("checks", 0), "a string"),
    (("backends", "numpy"), 7),
    (("checks",), {"a": 1}),
])
def test_a_shard_with_a_field_of_the_wrong_type_is_refused_with_its_line(tmp_path: Path, where: tuple[Any, ...],
                                                                        value: Any) -> None:
    one = results.write_atomic(tmp_path / "one.json", _shard_doc("1/2", [_check("a")]))
    doc = json.loads(one.read_text())
    node = doc
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    bad = tmp_path / "two.json"
    bad.write_text(json.dumps(doc, indent=1))
    lines = _refused(_cli(tmp_path, "merge", str(one), str(bad), "--out", str(tmp_path / "m.json")), str(bad))
    assert any("$." in ln for ln in lines), lines


def test_a_results_file_that_is_not_an_object_or_not_utf8_is_refused(tmp_path: Path) -> None:
    for name, data in (("list.json", b"[1, 2]"), ("latin.json", b'{"a": "\xe9"}'), ("cut.json", b'{"schema": ')):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(results.SchemaError, match=rf"{name}:\d+: "):
            results.load(path)


# -- claims files and manifests: a wrong type anywhere ----------------------------------------------------

def test_a_claims_line_range_with_a_string_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    text = (FIX / "mini_article_claims.toml").read_text()
    data = tomllib.loads(text)
    data["snippet"][0]["lines"] = [6, "x"]
    bad = tmp_path / "claims.toml"
    bad.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in data.items()))
    with pytest.raises(claims.ClaimsError, match=r"claims\.toml:\d+: snippet .* lines #2 must be an integer"):
        claims.validate(bad)
    lines = _refused(_cli(tmp_path, "check-article", str(FIX / "mini_article.md"), str(bad), "--backend", "numpy"),
                     str(bad))
    assert any("must be an integer" in ln for ln in lines), lines


WRONG = [-1, "x", [1, "x"], {"a": 1}, True, [[1]]]
"""A wrong value of every JSON type, put in place of each value of a valid file in turn."""


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutants(data: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], Any, dict[str, Any]]]:
    for path in list(_paths(data))[1:]:
        for wrong in WRONG:
            mutant = copy.deepcopy(data)
            node = mutant
            for part in path[:-1]:
                node = node[part]
            if node[path[-1]] == wrong:
                continue
            node[path[-1]] = wrong
            yield path, wrong, mutant


def _ported_claim() -> dict[str, Any]:
    """From the shipped claims: one printed-value claim checked on a port, with its snippet (a cross-reference
    the mini fixture lacks)."""
    data = tomllib.loads((ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml").read_text())
    claim = next(c for c in data["claim"] if c["kind"] == "printed-value" and "backend" in c)
    snippet = next(s for s in data["snippet"] if s["id"] == claim["snippet"])
    return {"article": data["article"], "snippet": [snippet], "claim": [claim]}


@pytest.mark.parametrize(("source", "loader"), [
    (FIX / "mini_article_claims.toml", lambda p: claims.load(p, check_anchors=False)),
    (None, lambda p: claims.load(p, check_anchors=False)),
    (ROOT / "conformance" / "inputs" / "manifests" / "torch.toml", manifest.load),
], ids=["claims", "claims-port", "manifest"])
def test_a_wrong_type_anywhere_is_an_input_error(tmp_path: Path, source: Path | None, loader: Any) -> None:
    """Every value of a valid file replaced by each wrong type in turn: an InputError, never another exception."""
    data = tomllib.loads(source.read_text()) if source else _ported_claim()
    path = tmp_path / "mutant.toml"
    crashes = []
    for where, wrong, mutant in _mutants(data):
        path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in mutant.items()))
        try:
            loader(path)
        except InputError as exc:
            assert all(ln.startswith(f"{path}:") for ln in exc.messages), exc.messages
        except Exception as exc:  # any other exception is the defect under test
            crashes.append(f"{where} = {wrong!r}: {type(exc).__name__}: {exc}")
    assert not crashes, "\n".join(crashes[:10])


def test_deeply_nested_toml_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("deviation = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(manifest.ManifestError, match=r"deep\.toml:1: .*nested too deeply"):
        manifest.validate(path)


# -- numbers on the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "1e12", "0.01"])
@pytest.mark.parametrize("option", ["--check-timeout", "--backend-timeout"])
@pytest.mark.parametrize("command", ["run", "all"])
def test_a_time_limit_out_of_range_is_refused(tmp_path: Path, command: str, option: str, value: str) -> None:
    proc = _cli(tmp_path, command, "--backend", "numpy", option, value)
    assert proc.returncode == 2 and f"argument {option}" in proc.stderr, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "reports").exists()


@pytest.mark.parametrize("value", ["0", "-5", "nan", "1e9", "100000"])
@pytest.mark.parametrize("option", ["--jobs", "--reps", "--rounds"])
def test_check_article_counts_out_of_range_are_refused(tmp_path: Path, option: str, value: str) -> None:
    proc = _cli(tmp_path, "check-article", str(FIX / "mini_article.md"), str(FIX / "mini_article_claims.toml"),
                option, value)
    assert proc.returncode == 2 and f"argument {option}" in proc.stderr, proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists()


def test_a_keyword_pytest_cannot_parse_is_refused_once_before_any_shard(tmp_path: Path) -> None:
    started = time.monotonic()
    for keyword in ("(((", "a) or (b", "and"):
        proc = _cli(tmp_path, "run", "--backend", "numpy", "-k", keyword)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert f"-k {keyword!r}: pytest cannot parse it" in line and "column" in line, line
    assert not (tmp_path / "reports").exists(), "a shard was started"
    assert time.monotonic() - started < 60


# -- an interrupted run's files -------------------------------------------------------------------------

IDENT = {"test_id": "grad_value[x-float64-sin_sum]", "name": "test_grad_value[x-float64-sin_sum]",
         "spec": "grad_value", "transform": "grad", "function": "sin_sum", "dtype": "float64", "variant": ""}


def _partial(tmp: Path, backend: str = "numpy", *, logged: str = "numpy") -> Path:
    """A hand-made ``.partial/<id>`` as an interrupted run leaves it: a run file and one shard's log."""
    from conformance.run.runner import shard_log_name

    work = tmp / "reports" / "results" / ".partial" / "20260101T000000Z-1"
    work.mkdir(parents=True)
    settings = {"backends": [backend], "profile": "ci", "seed": None, "keyword": "grad_value and sin_sum",
                "manifests": [], "check_timeout": 120.0, "backend_timeout": 1800.0, "jobs": 2, "split": 1,
                "shard": None, "shard_costs": None, "device": None, "checks": None}
    header = results.run_header(profile="ci", label=None, hypothesis_seed=None, options=settings)
    header["id"] = work.name
    (work / "run.json").write_text(json.dumps({"header": header, "settings": settings,
                                               "out": str(tmp / "out.json")}, indent=1))
    done = {**_check(IDENT["test_id"]), "backend": logged}
    lines = [{"kind": "backend", "backend": logged, "version": "1.0"},
             {"kind": "collected", "checks": [IDENT, {**IDENT, "test_id": "other", "name": "test_other"}]},
             {"kind": "start", "test_id": IDENT["test_id"], "time": 1.0, "nodeid": "x", "pid": 1},
             {"kind": "check", **done}]
    log = work / f"{shard_log_name(logged, 'float64')}.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return work


@pytest.mark.parametrize("line", ["[1, 2]", '{"kind": "check"}', '{"kind": "start", "test_id": "x", "time": "noon"}',
                                  '"just a string"', '{"kind": "teleport"}', DEEP])
def test_a_tampered_log_line_stops_resume_with_its_line(tmp_path: Path, line: str) -> None:
    work = _partial(tmp_path)
    log = next(work.glob("*.jsonl"))
    with open(log, "a") as fh:
        fh.write(line + "\n")
    lines = _refused(_cli(tmp_path, "run", "--resume", str(work)), str(log))
    assert any(f"{log}:5:" in ln for ln in lines), lines


def test_a_line_cut_by_a_crash_is_still_skipped_on_resume(tmp_path: Path) -> None:
    from conformance.run import preflight

    work = _partial(tmp_path)
    log = next(work.glob("*.jsonl"))
    with open(log, "a") as fh:
        fh.write('{"kind": "check", "test_id": "oth')  # no newline: the process died mid-write
    assert preflight.resume_files(type("A", (), {"resume": str(work)})(), ()) == []


@pytest.mark.parametrize(("field", "value", "words"), [
    ("backends", ["nosuch"], "unknown backend 'nosuch'"),
    ("backends", [], "non-empty"),
    ("backends", "numpy", "is not of type 'array'"),
    ("check_timeout", "slow", "is not of type 'number'"),
    ("keyword", "(((", "pytest cannot parse it"),
    ("manifests", [1], "is not of type 'string'"),
])
def test_a_tampered_run_file_stops_resume_with_its_line(tmp_path: Path, field: str, value: Any, words: str) -> None:
    work = _partial(tmp_path)
    saved = json.loads((work / "run.json").read_text())
    saved["settings"][field] = value
    (work / "run.json").write_text(json.dumps(saved, indent=1))
    lines = _refused(_cli(tmp_path, "run", "--resume", str(work)), str(work / "run.json"))
    assert any(words in ln for ln in lines), lines


def test_a_deep_run_file_stops_resume(tmp_path: Path) -> None:
    work = _partial(tmp_path)
    (work / "run.json").write_text(DEEP)
    _refused(_cli(tmp_path, "run", "--resume", str(work)), str(work / "run.json"))


def test_a_run_file_naming_other_backends_than_its_logs_is_refused(tmp_path: Path) -> None:
    """Resuming would start other shards and drop every finished check of the logged ones."""
    work = _partial(tmp_path, backend="torch", logged="numpy")
    lines = _refused(_cli(tmp_path, "run", "--resume", str(work)), str(next(work.glob("*.jsonl"))))
    assert any("resuming would drop its finished checks" in ln for ln in lines), lines
    assert not (tmp_path / "out.json").exists()


BOOM = '''
from backends.numpy_reference import NumpyReference


class Boom(NumpyReference):
    """A library that no longer starts: its setup raises."""

    name = "boom"
    library = "numpy-boom"
    is_reference = False

    def setup(self):
        raise RuntimeError("the library failed to start")
'''


def test_a_backend_that_cannot_start_is_an_error_not_an_empty_pass(tmp_path: Path) -> None:
    (tmp_path / "boommod.py").write_text(BOOM)
    out = tmp_path / "r.json"
    proc = _cli(tmp_path, "run", "--backend", "boommod:Boom", "-k", "grad_value", "--out", str(out),
                extra_path=str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = results.load(out)
    assert len(doc["checks"]) == 2 and {c["status"] for c in doc["checks"]} == {"error"}, doc["checks"]
    assert all("failed before collecting any check" in c["message"] for c in doc["checks"])
    assert "failed to start" in doc["checks"][0]["message"]


def test_resuming_a_backend_that_no_longer_starts_keeps_its_finished_checks(tmp_path: Path) -> None:
    (tmp_path / "boommod.py").write_text(BOOM)
    work = _partial(tmp_path, backend="boommod:Boom", logged="boommod:Boom")
    proc = _cli(tmp_path, "run", "--resume", str(work), extra_path=str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    checks = {c["test_id"]: c for c in results.load(tmp_path / "out.json")["checks"]}
    assert checks[IDENT["test_id"]]["status"] == "pass", "the check that had finished is kept"
    assert checks["other"]["status"] == "error" and "not run" in checks["other"]["message"]
    assert any(c["status"] == "error" and c["spec"] == "backend" for c in checks.values()), checks
