"""A library that offers only grad and jvp gates cleanly: everything else is a skip with a reason.

The fake is NumPy-based (it takes its numbers from the NumPy reference's code) and declares, as data,
that it has no grad_and_value, vjp, Jacobians, Hessian, vmap, scan, cond or jit, and no has_aux.
The battery must then record every other check as a skip (never an error, never a pass), still
run and pass its grad and jvp checks, and fail them for a broken variant of the same fake.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.base import Backend, Conventions, ErrorConvention, MissingFeature
from backends.numpy_reference import NumpyReference
from conformance.battery.specs import REGISTRY, cases
from conformance.inputs import manifest
from tests.test_planted_faults import run_case

ROOT = Path(__file__).resolve().parents[1]
FAKEGRAD_MANIFEST = ROOT / "tests" / "fakegrad.toml"
"""fakegrad's own reviewed deviations (the README's way of declaring them)."""
OFFERED = ("grad", "jvp")
_MISSING = ("grad_and_value", "vjp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond", "jit")


class OnlyGradJvp(NumpyReference):
    """grad and jvp, nothing else; neither takes has_aux (a TypeError, as for any unknown keyword)."""

    name = "fake-grad-jvp"
    library = "fakelib"
    is_reference = False
    conventions = Conventions(
        grad_and_value_api="",
        grad_and_value_layout="",
        grad_and_value_aux_layout="",
        grad_aux_layout="",
        batch_keyword=("", ""),
        has_aux=frozenset(),
        jvp_primals="tuple",
        scan_api="",
        cond_api="",
        unsupported={t: f"fakelib has no {t}" for t in _MISSING},
        errors={
            "grad_int_input": ErrorConvention("TypeError", "floating", "fakelib: derivatives need float inputs"),
            "jvp_primals_not_tuple": ErrorConvention("TypeError", "tuples", "fakelib: jvp takes tuples"),
        },
        accepts={"jvp_tangent_dict_order": "fakelib matches dict tangents to primals by key"},
    )

    def grad(self, f: Any, argnums: int | tuple[int, ...] = 0) -> Any:  # type: ignore[override]
        return super().grad(f, argnums=argnums)

    def jvp(self, f: Any, primals: Any, tangents: Any) -> Any:  # type: ignore[override]
        return super().jvp(f, primals, tangents)

    # The reference implements the rest; the fake library does not offer it.
    def grad_and_value(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("grad_and_value")

    def vjp(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("vjp")

    def jacrev(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("jacrev")

    def jacfwd(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("jacfwd")

    def hessian(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("hessian")

    def vmap(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("vmap")

    def scan(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("scan")

    def cond(self, *a: Any, **k: Any) -> Any:
        raise self.refuse("cond")


class BrokenGradJvp(OnlyGradJvp):
    """The same fake with both of its transforms 1 % (and 1e-3, for zero derivatives) off."""

    name = "fake-grad-jvp-broken"

    def grad(self, f: Any, argnums: int | tuple[int, ...] = 0) -> Any:  # type: ignore[override]
        inner = super().grad(f, argnums=argnums)
        return lambda *a: _scale(inner(*a))

    def jvp(self, f: Any, primals: Any, tangents: Any) -> Any:  # type: ignore[override]
        out, tangent = super().jvp(f, primals, tangents)
        return out, _scale(tangent)


class Float64Only(OnlyGradJvp):
    name = "fake-double"
    conventions = dataclasses.replace(OnlyGradJvp.conventions, dtypes=("float64",), dtype_note="fakelib computes in double")


class ClaimsNoVmapButHasOne(OnlyGradJvp):
    """Declares vmap unsupported while offering it: the declaration would hide a working transform."""

    name = "fake-false-declaration"

    def vmap(self, f: Any, in_dims: Any = 0, out_dims: Any = 0) -> Any:
        return NumpyReference.vmap(self, f, in_dims=in_dims, out_dims=out_dims)


class RuleMissingInsideTrace(OnlyGradJvp):
    """A graph-compiling library's own error for a missing derivative rule, as its trace raises it.

    Its grad raises ``RuntimeError("bprop for Sin is not defined")`` for every function; the adapter declares that
    error a missing feature of the ``grad_value`` checks of ``sin_sum`` only (:class:`MissingFeature`).
    """

    name = "fake-missing-rule"
    conventions = dataclasses.replace(OnlyGradJvp.conventions, missing_features=(
        MissingFeature(error=r"^RuntimeError: bprop for \w+ is not defined", reason="a derivative rule for sin",
                       checks="grad_value[*-sin_sum]", link="https://example.org/fakelib/issues/1"),
    ))

    def grad(self, f: Any, argnums: int | tuple[int, ...] = 0) -> Any:  # type: ignore[override]
        def raises(*a: Any) -> Any:
            raise RuntimeError("bprop for Sin is not defined\nC++ stack trace ...")
        return raises


class WrongRuleMatchingThePattern(BrokenGradJvp):
    """A wrong gradient whose failure message matches a declared pattern: a failure is never a skip."""

    name = "fake-wrong-rule"
    conventions = dataclasses.replace(OnlyGradJvp.conventions, missing_features=(
        MissingFeature(error="grad|Check|differ|tolerance", reason="anything at all", checks="*"),))


def test_a_declared_library_error_is_a_skip_for_the_checks_it_names_and_an_error_elsewhere() -> None:
    outcomes = _outcomes(RuleMissingInsideTrace(), {"grad_value"})
    declared = {t: (s, m) for t, (s, m, _) in outcomes.items() if t.endswith("-sin_sum]")}
    others = {t: (s, m) for t, (s, m, _) in outcomes.items() if not t.endswith("-sin_sum]")}
    assert declared and all(s == "skip" for s, _ in declared.values()), declared
    assert all("fakelib lacks a derivative rule for sin (RuntimeError: bprop for Sin is not defined; "
               "https://example.org/fakelib/issues/1)" == m for _, m in declared.values()), declared
    assert len(others) >= 10 and {s for s, _ in others.values()} == {"error"}, others


class JvpLacksDictRule(OnlyGradJvp):
    """Accepts dict tangents (declared valid usage), but its jvp of the dict check's function hits a missing rule."""

    name = "fake-dict-rule"

    def jvp(self, f: Any, primals: Any, tangents: Any) -> Any:  # type: ignore[override]
        if isinstance(primals[0], dict):
            raise ValueError("[Primitive::jvp] Not implemented for Sum.")
        return super().jvp(f, primals, tangents)


def test_a_declared_missing_feature_inside_a_misuse_check_is_its_skip_and_undeclared_it_fails() -> None:
    check = {"error_jvp_tangent_dict_order"}
    undeclared = _outcomes(JvpLacksDictRule(), check)
    assert [s for s, _, _ in undeclared.values()] == ["fail"], undeclared
    declared = JvpLacksDictRule()
    declared.conventions = dataclasses.replace(OnlyGradJvp.conventions, missing_features=(MissingFeature(
        error=r"\[Primitive::jvp\] Not implemented for Sum", reason="a JVP for sum", checks="error_jvp_*"),))
    [(status, message, _)] = _outcomes(declared, check).values()
    assert status == "skip" and "fakelib lacks a JVP for sum" in message, (status, message)


def test_a_declaration_that_would_match_every_error_is_refused() -> None:
    for blanket in (".*", "", "Error|x?"):
        with pytest.raises(ValueError, match="matches every error"):
            MissingFeature(error=blanket, reason="anything")


def test_a_failed_check_is_never_turned_into_a_skip_by_a_declaration() -> None:
    statuses = Counter(s for s, _, _ in _outcomes(WrongRuleMatchingThePattern(), {"grad_value"}).values())
    assert statuses["fail"] >= 20 and statuses["skip"] == 0, statuses


def _scale(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _scale(v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(_scale(v) for v in tree)
    return np.asarray(tree) * 1.01 + 1e-3


def _outcomes(backend: Backend, spec_ids: set[str] | None = None) -> dict[str, tuple[str, str, str]]:
    """test_id -> (status, message, spec transform) for every generated check (or those of ``spec_ids``)."""
    reference = NumpyReference()
    specs = [s for s in REGISTRY.values() if spec_ids is None or s.id in spec_ids]
    known = manifest.load(FAKEGRAD_MANIFEST)
    out = {}
    for c in cases(backend, specs):
        status, message = run_case(c, backend, reference)
        covering = [d for d in known if d.matches(c.spec.id, c.entry.name, c.dtype, c.variant.label if c.variant else "")]
        if covering:
            # strict: a pass says the entry is stale, unless the entry says the deviation shows on some runs only
            status = {"fail": "xfail", "pass": "pass" if covering[0].flaky else "xpass"}.get(status, status)
        out[c.test_id] = (status, message, c.spec.transform)
    return out


@pytest.fixture(scope="module")
def fake_outcomes() -> dict[str, tuple[str, str, str]]:
    return _outcomes(OnlyGradJvp())


def test_nothing_errors_and_nothing_fails(fake_outcomes: dict[str, tuple[str, str, str]]) -> None:
    bad = {t: (s, m[:200]) for t, (s, m, _) in fake_outcomes.items() if s not in ("pass", "skip", "xfail")}
    assert not bad, bad


def test_every_check_of_a_missing_transform_is_a_skip_with_the_reason(fake_outcomes: dict[str, tuple[str, str, str]]) -> None:
    missing = {"vmap", "scan", "cond", "jit", "jacrev", "jacfwd", "hessian", "vjp", "grad_and_value"}
    of_missing = {t: v for t, v in fake_outcomes.items() if v[2] in missing}
    assert len(of_missing) > 100, "the battery generated too few checks of missing transforms to prove anything"
    not_skipped = {t: s for t, (s, _, _) in of_missing.items() if s != "skip"}
    assert not not_skipped, not_skipped
    reasons = ("fakelib has no", "declares no has_aux")  # the declared reason, for the transform or its keyword
    assert all(any(r in m for r in reasons) for s, m, _ in of_missing.values()), "a skip must carry the declared reason"


def test_grad_and_jvp_checks_run_and_pass(fake_outcomes: dict[str, tuple[str, str, str]]) -> None:
    counts = Counter(s for t, (s, _, _) in fake_outcomes.items() if t.startswith(("grad_value[", "jvp_value[")))
    assert counts["pass"] >= 20 and set(counts) == {"pass"}, counts


def test_bundled_checks_skip_per_transform(fake_outcomes: dict[str, tuple[str, str, str]]) -> None:
    """dtype_preserved is one check per transform: jacrev's absence hides neither grad's nor jvp's."""
    dtype = {t: s for t, (s, _, _) in fake_outcomes.items() if t.startswith("dtype_preserved[")}
    assert {s for t, s in dtype.items() if t.endswith(("-grad]", "-jvp]", "-f]"))} == {"pass"}, dtype
    assert {s for t, s in dtype.items() if t.endswith(("-jacrev]", "-vmap]", "-vjp]"))} == {"skip"}, dtype


def test_has_aux_is_read_from_the_declaration(fake_outcomes: dict[str, tuple[str, str, str]]) -> None:
    aux = {t: (s, m) for t, (s, m, _) in fake_outcomes.items() if t.startswith(("grad_has_aux[", "grad_and_value["))}
    assert aux and {s for s, _ in aux.values()} == {"skip"}, aux
    assert any("declares no has_aux" in m for _, m in aux.values())


def test_a_broken_variant_fails_its_grad_and_jvp_checks() -> None:
    outcomes = _outcomes(BrokenGradJvp(), {"grad_value", "jvp_value"})
    statuses = Counter(s for s, _, _ in outcomes.values())
    assert statuses["fail"] >= 20 and statuses["pass"] == 0 and statuses["error"] == 0, statuses


def test_undeclared_dtypes_are_skips_with_the_note() -> None:
    outcomes = _outcomes(Float64Only(), {"grad_value", "jvp_value"})
    f32 = {t: (s, m) for t, (s, m, _) in outcomes.items() if "-float32-" in t}
    f64 = {t: s for t, (s, _, _) in outcomes.items() if "-float64-" in t}
    assert f32 and all(s == "skip" and "fakelib computes in double" in m for s, m in f32.values()), f32
    assert f64 and set(f64.values()) == {"pass"}, f64


def test_a_false_unsupported_declaration_fails_conventions_api() -> None:
    (status, message, _), = _outcomes(ClaimsNoVmapButHasOne(), {"conventions_api"}).values()
    assert status == "fail" and "declares vmap unsupported" in message, message


def test_skips_go_through_the_battery_runner(tmp_path: Path) -> None:
    """End to end: battery._run turns Unsupported from deep inside a check into a recorded skip."""
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--backend", "tests.test_fake_library:OnlyGradJvp",
         "-k", "sin_sum and (vmap_grad or jvp_value or jit_agrees or hessian_value)", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = json.loads(out.read_text())["checks"]
    by_spec: dict[str, set[str]] = {}
    for c in checks:
        by_spec.setdefault(c["spec"], set()).add(c["status"])
    assert by_spec == {"vmap_grad": {"skip"}, "jvp_value": {"pass"}, "jit_agrees": {"skip"}, "hessian_value": {"skip"}}, by_spec
