"""The embeddable API (conformance.run.api) and the third-party path of ``all``: the same records as the CLI,
counts that add up, and an article that is not applicable when none of its libraries was checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import conformance
from conformance.claims.article import cli as article_cli
from conformance.run.api import CheckResult
from conformance.store import results, schema

ROOT = Path(__file__).resolve().parents[1]
ADAPTER = "readme_adapter:FakegradBackend"


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tests"))


def test_check_backend_gives_the_same_records_as_the_cli(tmp_path: Path, on_path: None) -> None:
    from readme_adapter import FakegradBackend

    log = tmp_path / "log.jsonl"
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "pytest", "conformance/run/battery_tests.py", "-p", "conformance.run.plugin",
                    "--backend", ADAPTER, "--results-log", str(log), "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                    "-k", "(test_grad_value or test_vmap_in_dims) and float64"], cwd=ROOT, env=env, check=False,
                   capture_output=True)
    cli = {r["test_id"]: r["status"] for r in map(json.loads, log.read_text().splitlines()) if r["kind"] == "check"}
    api = conformance.check_backend(FakegradBackend(), specs=["grad_value", "vmap_in_dims"], dtypes=["float64"])
    assert cli and {r["test_id"]: r["status"] for r in api.records} == cli
    assert set(cli.values()) == {"pass", "skip"}


def test_check_backend_takes_a_name_and_records_the_environment(on_path: None) -> None:
    result = conformance.check_backend(ADAPTER, specs=["conventions_api"])
    assert result.counts["pass"] == 1 and result.ok
    assert result.environment["backend"] == "fakegrad"
    assert "vmap" in result.environment["conventions"]["unsupported"]


def _record(status: str) -> dict[str, Any]:
    return {"test_id": status, "status": status, "message": f"{status} happened"}


def test_counts_and_verdict_come_from_the_records() -> None:
    result = CheckResult({"backend": "x"}, [_record(s) for s in ("pass", "pass", "skip", "xfail", "xpass", "error")])
    assert result.counts == {"pass": 2, "fail": 0, "error": 1, "skip": 1, "xfail": 1, "xpass": 1}
    assert [r["status"] for r in result.unexpected] == ["xpass", "error"]
    assert not result.ok
    assert "XPASS" in result.summary() and "error happened" in result.summary()
    assert CheckResult({}, [_record("pass"), _record("skip"), _record("xfail")]).ok


def test_the_shipped_article_is_not_applicable_to_a_third_party_backend_alone() -> None:
    doc, failed = article_cli.check_shipped({"checks": [], "backends": {}}, backends=[ADAPTER])
    assert not failed
    (article,) = doc["articles"]
    assert "torch" in article["not_applicable"] and ADAPTER in article["not_applicable"]
    assert not doc["claims"]
    assert schema.problems(results.merge([doc], results.run_header())) == []
    assert article_cli.summary_lines(doc) == [f"article {article['id']}: not applicable ({article['not_applicable']})"]


@pytest.mark.parametrize("backends", [["torch"], ["jax", ADAPTER]])
def test_the_shipped_article_is_checked_when_one_of_its_libraries_is(monkeypatch: pytest.MonkeyPatch,
                                                                     backends: list[str]) -> None:
    called: list[list[str]] = []
    monkeypatch.setattr(article_cli, "_isolation", lambda allow_weak: "weak")
    monkeypatch.setattr(article_cli, "check", lambda cf, doc, b, isolation: called.append(list(b)) or ({}, False))
    article_cli.check_shipped({"checks": [], "backends": {}}, backends=backends)
    assert called == [backends]


def test_the_benchmark_profiles_through_the_public_api() -> None:
    source = (ROOT / "benchmarks" / "battery.py").read_text(encoding="utf-8")
    assert "check_backend(" in source and "_STATE" not in source


@pytest.fixture
def noxfile(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The noxfile as a module, imported against a stand-in for nox: these tests call its plain functions, and
    the real nox would register every session again on each import (a FutureWarning now, an error later)."""
    import importlib.util

    class Anything:
        """Stands for every name of nox: attributes, decorators with arguments, and the decorators they return."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return args[0] if len(args) == 1 and callable(args[0]) and not kwargs else self

        def __getattr__(self, name: str) -> Any:
            return self

    monkeypatch.setitem(sys.modules, "nox", Anything())
    spec = importlib.util.spec_from_file_location("project_noxfile", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_nox_takes_install_out_of_the_gate_arguments(noxfile: Any) -> None:
    specs, rest = noxfile.split_install(["--backend", "m:A", "--install", "mylib==1.2", "--install=./lib", "-k", "grad"])
    assert specs == ["mylib==1.2", "./lib"]
    assert rest == ["--backend", "m:A", "-k", "grad"]
    for bad in (["--install"], ["--install", "--backend"], ["--install="]):
        with pytest.raises(ValueError, match="needs a requirement"):
            noxfile.split_install(bad)


def test_nox_refuses_an_install_that_would_change_a_pin(noxfile: Any) -> None:
    pins = (ROOT / "constraints.txt").read_text()
    assert noxfile.pin_conflicts(["mylib==1.2", "./lib", "torch==2.13.0", "torch>=2", "mlx-lm"], pins) == []
    problems = noxfile.pin_conflicts(["torch==2.14.0", "Torch>2.13", "torch @ https://x.invalid/t.whl"], pins)
    assert len(problems) == 3 and all("pins torch==2.13.0" in p for p in problems)


def test_check_backend_runs_on_the_device_asked_for_and_refuses_one_the_library_lacks() -> None:
    from backends.base import DeviceUnavailable

    result = conformance.check_backend("numpy", specs=["grad_equals_vjp"], dtypes=["float64"], device="cpu")
    assert result.records and {r["device"] for r in result.records} == {"cpu"}
    with pytest.raises(DeviceUnavailable, match="cuda"):
        conformance.check_backend("numpy", specs=["grad_value"], device="cuda")
