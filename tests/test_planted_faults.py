"""The battery catches planted faults: every broken backend fails a check naming its transform.

Checks run in-process (one interpreter, torch imported once) through the same
spec functions the pytest battery runs, under the ``ci`` hypothesis profile.
A control run proves the unbroken torch adapter passes the same checks, so
each failure is the planted fault's doing.  One test also drives a broken
backend end to end through ``python -m conformance run --backend module:attr``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conformance.battery.strategies  # noqa: F401  (registers the profiles)
from backends.base import Backend
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery import coverage
from conformance.battery.functions import FUNCTIONS
from conformance.battery.specs import REGISTRY, Case, Ctx, Figures, Skip, cases, run_check
from conformance.battery.specs.core import FAILURES
from conformance.inputs import manifest
from tests.broken_backends import FAULTS, GradScaled

ROOT = Path(__file__).resolve().parents[1]


def run_case(case: Case, backend: Backend, reference: Backend) -> tuple[str, str]:
    """Run one check; return (status, message) as the plugin would record them."""
    figures = Figures()

    def once(data: object | None) -> None:
        run_check(Ctx(backend, reference, case, data, figures))

    try:
        if case.spec.random_inputs:
            settings(settings.get_profile("ci"))(given(data=st.data())(once))()
        else:
            once(None)
    except Skip as exc:
        return "skip", str(exc)
    except FAILURES as exc:
        return "fail", str(exc)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"
    return "pass", ""


def gate_cases(backend: Backend) -> list[Case]:
    """The checks the gate (ci profile) runs on ``backend``: the cover of its battery (conformance/battery/coverage.py).

    Faults are planted against these, not the whole cross product: the fast gate is what must catch them.
    """
    every = cases(backend)
    kept = coverage.cover(every)
    return [c for c in every if c.test_id in kept]


def assert_fault_caught(fault: Backend, library_type: type, cases: list[Case], reference: Backend) -> list[Case]:
    """A planted fault's contract with the gate: of ``cases`` (the gate's checks of the fault's family), some fail
    on ``fault`` and none errors, and the unbroken library (``library_type()``) passes every one that failed, so
    the failures are the fault's.  Returns the failing cases."""
    assert cases, f"the gate runs no check of {type(fault).__name__}'s family"
    outcomes = [(c, *run_case(c, fault, reference)) for c in cases]
    failing = [c for c, status, _ in outcomes if status == "fail"]
    assert failing, f"{type(fault).__name__} passed every gate check: {[(c.test_id, s, m[:80]) for c, s, m in outcomes]}"
    assert not [f"{c.test_id}: {m[:160]}" for c, status, m in outcomes if status == "error"]
    library = library_type()
    library.setup()
    unbroken = {c.test_id: run_case(c, library, reference)[0] for c in failing}
    assert set(unbroken.values()) == {"pass"}, f"the unbroken library fails these too: {unbroken}"
    return failing


def _relevant(backend: Backend, transform: str) -> list[Case]:
    """The gate's cases of specs for ``transform``; the dtype fault needs only the dtype spec.

    The standard-function family (``fn_*``, conformance/battery/specs/functions.py) is left out: it has its own
    planted faults in tests/test_functions_catalog.py.
    """
    return [c for c in gate_cases(backend) if c.spec.entries is not FUNCTIONS
            and (c.spec.transform == transform or (transform == "grad_and_value" and c.spec.id == "grad_and_value"))]


@pytest.fixture(scope="module")
def reference() -> Backend:
    return NumpyReference()


@pytest.mark.parametrize("fault", list(FAULTS), ids=[f.__name__ for f in FAULTS])
def test_fault_is_caught(fault: type, reference: Backend) -> None:
    backend = fault()
    backend.setup()
    transform = FAULTS[fault]
    outcomes = [(c, *run_case(c, backend, reference)) for c in _relevant(backend, transform)]
    assert outcomes, f"no check covers {transform}"
    failing = [(c.test_id, msg) for c, status, msg in outcomes if status == "fail"]
    assert failing, f"{fault.__name__} ({fault.__doc__.strip()}) passed every {transform} check: the battery misses it"
    assert all(c.spec.transform == transform or c.spec.id == transform for c, status, _ in outcomes if status == "fail")


CONTROL_TRANSFORMS = sorted({t for f, t in FAULTS.items() if issubclass(f, TorchFunc)})


@pytest.mark.parametrize("transform", CONTROL_TRANSFORMS)
def test_unbroken_torch_passes_the_same_checks(transform: str, reference: Backend) -> None:
    backend = TorchFunc()
    known = manifest.for_backend("torch")  # torch's reviewed deviations (conformance/inputs/manifests/torch.toml)
    bad = []
    for c in _relevant(backend, transform):
        variant = c.variant.label if c.variant else ""
        if any(d.matches(c.spec.id, c.entry.name, c.dtype, variant) for d in known):
            continue
        status, msg = run_case(c, backend, reference)
        if status in ("fail", "error"):
            bad.append(f"{c.test_id}: {msg[:200]}")
    assert not bad, "\n".join(bad)


def test_every_spec_family_has_a_planted_fault() -> None:
    covered = set(FAULTS.values())
    families = {s.transform for s in REGISTRY.values()} - {"errors"}
    # The error specs are covered by VmapSwallowsErrors (transform vmap) and GradAcceptsIntegers (grad).
    missing = families - covered
    assert not missing, f"spec families without a planted fault: {sorted(missing)}"


def test_third_party_backend_through_the_command_line(tmp_path: Path) -> None:
    """A broken adapter named as module:attr gates itself: non-zero exit, failure recorded in the JSON."""
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--backend", "tests.broken_backends:JvpScaled",
         "-k", "jvp_value and sin_sum", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    statuses = {c["test_id"]: c["status"] for c in doc["checks"]}
    assert statuses, proc.stdout
    assert set(statuses.values()) == {"fail"}, statuses
    assert "broken-jvp-scaled" in doc["backends"]
    assert "FAIL" in proc.stdout and "jvp_value" in proc.stdout


def test_taylor_check_alone_catches_a_wrong_gradient(reference: Backend) -> None:
    """The tolerance-free check needs no reference: a gradient 1 % off leaves an O(h) remainder."""
    backend = GradScaled()
    taylor = [c for c in cases(backend, [REGISTRY["taylor_remainder"]])]
    outcomes = {c.test_id: run_case(c, backend, reference) for c in taylor}
    failed = [t for t, (status, _) in outcomes.items() if status == "fail"]
    # square's three ci draws put x or the direction at exactly 0, where 1 % of the gradient 2x is still exact:
    # the check has nothing to catch there, and must not invent it.
    missed = {t for t in outcomes if t not in failed}
    assert missed <= {"taylor_remainder[broken-grad-scaled-float64-square]"}, outcomes
    good = {c.test_id: run_case(c, TorchFunc(), reference)[0] for c in cases(TorchFunc(), [REGISTRY["taylor_remainder"]])}
    assert set(good.values()) == {"pass"}, good
