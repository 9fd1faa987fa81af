"""The engine's own parts: layouts, comparison, tolerance policy, results store, manifest, runner isolation."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.base import LayoutMismatch, load_backend, unpack
from conformance.battery.compare import StructureMismatch, compare
from conformance.battery.tolerances import EPS, KINDS, tolerance
from conformance.inputs import manifest
from conformance.store import results

ROOT = Path(__file__).resolve().parents[1]


# -- layouts ------------------------------------------------------------------------------

def test_unpack_reads_each_library_layout() -> None:
    assert unpack("(grad, (value, aux))", ("g", ("v", "a"))) == {"grad": "g", "value": "v", "aux": "a"}
    assert unpack("((value, aux), grad)", (("v", "a"), "g")) == {"grad": "g", "value": "v", "aux": "a"}


def test_unpack_names_the_mismatch() -> None:
    with pytest.raises(LayoutMismatch, match=r"expects a 2-tuple at \[1\], got str"):
        unpack("(grad, (value, aux))", ("g", "v"))


def test_load_backend_errors_are_actionable() -> None:
    with pytest.raises(LookupError, match="module:attr"):
        load_backend("no-such-backend")
    with pytest.raises(TypeError, match=r"not a backends\.base\.Backend"):
        load_backend("conformance.store.results:SCHEMA")


# -- comparison and tolerances ------------------------------------------------------------------

def test_nan_never_passes_against_a_number() -> None:
    tol = tolerance("float64", "first")
    assert not compare(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), tol).ok
    assert compare(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), tol).ok


def test_shapes_must_match_without_broadcasting() -> None:
    result = compare(np.ones((3, 1)), np.ones(3), tolerance("float64", "value"))
    assert not result.ok and "shape" in result.message


def test_structure_mismatch_names_the_path() -> None:
    with pytest.raises(StructureMismatch, match=r"\[1\]"):
        list(compare((np.ones(2), np.ones(2)), (np.ones(2), {"a": np.ones(2)}), tolerance("float64", "value")) or [])


@pytest.mark.parametrize("dtype", list(EPS))
def test_policy_separates_rounding_from_real_errors(dtype: str) -> None:
    """A few ulps pass; an error of 1e-3 relative (a real bug in any transform) fails, for every kind."""
    expected = np.linspace(-2, 2, 7)
    ulps = expected + 4 * EPS[dtype] * np.abs(expected)
    wrong = expected * (1 + 1e-3)
    for kind in KINDS:
        tol = tolerance(dtype, kind)
        passing, failing = compare(ulps, expected, tol), compare(wrong, expected, tol)
        assert passing.ok and passing.tolerance_used <= 1, kind
        assert not failing.ok and failing.tolerance_used > 1, kind
        assert tol.reason and dtype in tol.reason


def test_policy_is_one_table_scaled_by_machine_epsilon() -> None:
    for kind in KINDS:
        ratio = tolerance("float32", kind).rtol / tolerance("float64", kind).rtol
        assert math.isclose(ratio, EPS["float32"] / EPS["float64"])
    assert tolerance("float64", "value").rtol < tolerance("float64", "first").rtol < tolerance("float64", "second").rtol


def test_reference_error_is_added_not_hidden() -> None:
    plain = tolerance("float64", "first")
    with_ref = tolerance("float64", "first", "richardson")
    assert with_ref.rtol > plain.rtol and "richardson" in with_ref.reason
    with pytest.raises(KeyError):
        tolerance("float16", "first")


# -- results store ----------------------------------------------------------------------------

def test_write_atomic_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    doc = results.new_document(results.run_header())
    doc["checks"].append({"x": float("nan")})
    results.write_atomic(path, doc)
    assert json.loads(path.read_text())["checks"][0]["x"] == "nan"

    class Boom:
        def __repr__(self) -> str:
            raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        results.write_atomic(path, {**doc, "checks": [Boom()]})
    assert json.loads(path.read_text())["schema"] == results.SCHEMA  # the old file survives intact
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_load_rejects_other_schemas_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": results.SCHEMA, "schema_version": 99}))
    with pytest.raises(results.SchemaError, match=r"old\.json.*schema_version 99"):
        results.load(path)


def test_jsonl_log_survives_a_cut_last_line(tmp_path: Path) -> None:
    log = results.JsonlLog(tmp_path / "x.jsonl")
    log.write("check", {"a": 1})
    log.close()
    with open(tmp_path / "x.jsonl", "a") as fh:
        fh.write('{"kind": "check", "a"')
    assert [r["a"] for r in results.read_jsonl(tmp_path / "x.jsonl")] == [1]


# -- manifest ---------------------------------------------------------------------------------

def test_manifest_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[[deviation]]\nspec = "x"\nreason = "r"\nlink = "l"\n\n[[deviation]]\nspec = "y"\nreason = "r"\n')
    with pytest.raises(manifest.ManifestError, match=r"m\.toml:6: deviation #2 needs exactly one of link .* and no_upstream"):
        manifest.load(path)
    path.write_text('[[deviation]]\nspec = "x"\nreason = "r"\nlink = "l"\nversions = "two"\n')
    with pytest.raises(manifest.ManifestError, match="PEP 440"):
        manifest.load(path)
    path.write_text("[[deviation]\n")
    with pytest.raises(manifest.ManifestError, match=r"m\.toml"):
        manifest.load(path)


def test_manifest_version_bounds_and_patterns() -> None:
    dev = manifest.Deviation(spec="cond_*", reason="r", link="l", versions=">=2.5,<3")
    assert dev.applies_to_version("2.13.0+cpu") and not dev.applies_to_version("2.4.1")
    assert dev.matches("cond_grad", "f", "float32", "") and not dev.matches("vmap_in_dims", "f", "float32", "")


def test_shipped_manifests_load() -> None:
    for path in manifest.MANIFEST_DIR.glob("*.toml"):
        assert manifest.load(path)


# -- the gate through the command line -----------------------------------------------------------

def _run(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    import subprocess

    out = tmp_path / "run.json"
    # From tmp_path: a run with a crash keeps its logs under reports/results/.partial of its directory.
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--out", str(out), *args], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    return proc.returncode, json.loads(out.read_text()), proc.stdout + proc.stderr


def test_manifest_drift_and_xpass_fail_the_gate(tmp_path: Path) -> None:
    """An entry that matches nothing is an error; an xfail that passes is an xpass; both exit non-zero."""
    extra = tmp_path / "extra.toml"
    extra.write_text(
        '[[deviation]]\nspec = "grad_value"\nfunction = "no_such_function"\nreason = "stale"\nlink = "https://example.invalid"\n\n'
        '[[deviation]]\nspec = "grad_value"\nfunction = "sin_sum"\nreason = "pretend"\nlink = "https://example.invalid"\n'
    )
    code, doc, out = _run(tmp_path, "--backend", "numpy", "--manifest", str(extra), "-k", "sin_sum")
    statuses = {c["test_id"]: c["status"] for c in doc["checks"]}
    assert code == 1, out
    assert any(t.startswith("manifest[") and s == "error" for t, s in statuses.items()), statuses
    code, doc, out = _run(tmp_path, "--backend", "torch", "--manifest", str(extra), "-k", "grad_value and sin_sum")
    assert {c["status"] for c in doc["checks"] if c["spec"] == "grad_value"} == {"xpass"}, out
    assert code == 1


def test_a_flaky_entry_passes_when_the_deviation_does_not_show_and_xfails_when_it_does(tmp_path: Path) -> None:
    """A deviation seen on some runs only: a pass under its entry is a pass (not an xpass), a failure an xfail."""
    extra = tmp_path / "flaky.toml"
    extra.write_text('[[deviation]]\nspec = "grad_value"\nfunction = "sin_sum"\nreason = "shows sometimes"\n'
                     'link = "https://example.invalid"\nflaky = "seen on 1 draw in 20"\n')
    code, doc, out = _run(tmp_path, "--backend", "torch", "--manifest", str(extra), "-k", "grad_value and sin_sum")
    checks = [c for c in doc["checks"] if c["spec"] == "grad_value"]
    assert code == 0 and checks and {c["status"] for c in checks} == {"pass"}, out
    assert all("shows on some runs only" in c["message"] and "flaky.toml:1" in c["message"] for c in checks), checks
    code, doc, out = _run(tmp_path, "--backend", "tests.test_fake_library:BrokenGradJvp", "--manifest", str(extra),
                          "-k", "grad_value and sin_sum")
    checks = [c for c in doc["checks"] if c["spec"] == "grad_value"]
    assert code == 0 and checks and {c["status"] for c in checks} == {"xfail"}, out


def test_a_crashing_backend_costs_only_itself(tmp_path: Path) -> None:
    code, doc, out = _run(tmp_path, "--backend", "tests.crashing_backends:SegfaultsInJvp", "--backend", "numpy",
                          "-k", "jvp_vjp_duality and sin_sum")
    crashed = [c for c in doc["checks"] if c["backend"] == "crash-segfault" or c["backend"].startswith("tests.")]
    assert code == 1, out
    assert any("SIGSEGV" in c["message"] for c in crashed), crashed
    assert crashed and all(c["status"] == "error" for c in crashed)
    numpy_checks = [c for c in doc["checks"] if c["backend"] == "numpy"]
    assert numpy_checks and all(c["status"] == "pass" for c in numpy_checks)
    assert doc["backends"]["crash-segfault"]["process"]["cause"].startswith("killed by signal SIGSEGV")


def test_a_crash_is_the_known_deviation_only_where_an_entry_declares_it(tmp_path: Path) -> None:
    """A signal death under an entry with ``crashes`` is that entry's xfail (the gate passes); under an entry
    about something else, or a time-out under a crash entry, it stays an error."""
    entry = ('[[deviation]]\nspec = "jvp_vjp_duality"\nfunction = "sin_sum"\nreason = "jvp is broken"\n'
             'link = "https://example.invalid/1"\n')
    args = ("--backend", "tests.crashing_backends:SegfaultsInJvp", "-k", "jvp_vjp_duality and sin_sum")
    declared, plain = tmp_path / "declared.toml", tmp_path / "plain.toml"
    declared.write_text(entry + 'crashes = "SIGSEGV in the jvp kernel"\n')
    plain.write_text(entry)
    code, doc, out = _run(tmp_path, *args, "--manifest", str(declared))
    crashed = [c for c in doc["checks"] if c["spec"] == "jvp_vjp_duality"]
    assert code == 0 and crashed, out
    assert all(c["status"] == "xfail" and "SIGSEGV" in c["message"] and "SIGSEGV in the jvp kernel" in c["message"]
               and c["details"]["deviation"]["source"].endswith("declared.toml:1") for c in crashed), crashed
    code, doc, out = _run(tmp_path, *args, "--manifest", str(plain))
    crashed = [c for c in doc["checks"] if c["spec"] == "jvp_vjp_duality"]
    assert code == 1 and crashed and all(c["status"] == "error" for c in crashed), crashed
    hang = tmp_path / "hang.toml"
    hang.write_text('[[deviation]]\nspec = "grad_value"\nfunction = "sin_sum"\nreason = "r"\n'
                    'link = "https://example.invalid/2"\ncrashes = "SIGSEGV"\n')
    code, doc, out = _run(tmp_path, "--backend", "tests.crashing_backends:BlocksAlarmInGrad", "--check-timeout", "2",
                          "--manifest", str(hang), "-k", "grad_value and sin_sum")
    hung = [c for c in doc["checks"] if c["spec"] == "grad_value"]
    assert code == 1 and hung and all(c["status"] == "error" for c in hung), hung


def test_a_hanging_check_hits_its_time_limit(tmp_path: Path) -> None:
    code, doc, out = _run(tmp_path, "--backend", "tests.crashing_backends:HangsInGrad", "--check-timeout", "3",
                          "-k", "grad_value and sin_sum")
    hung = [c for c in doc["checks"] if c["spec"] == "grad_value"]
    assert code == 1 and hung, out
    assert all(c["status"] == "error" and "time limit" in c["message"] for c in hung), hung


def test_a_bad_backend_name_fails_fast_with_the_fix(tmp_path: Path) -> None:
    import subprocess

    for name, words in (("nosuch", "use one of"), ("nosuchmod:Foo", "no module 'nosuchmod'")):
        proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--backend", name, "--out", str(tmp_path / "x.json")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr
        assert not (tmp_path / "x.json").exists()
