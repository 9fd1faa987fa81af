"""The README's adapter (tests/readme_adapter.py, verbatim) gates a small fake library through the public API.

Two ways a library's maintainer would use it: ``conformance.check_backend`` from a script or one test,
and ``conformance.parametrize_checks`` in a plain pytest file (the parametrized test at the bottom of this
file is that file).  Both must go green on the library as it is and red when its transforms are 1 % off.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # as the README says: run from the folder holding the adapter, or put it on the path

import fakegrad  # noqa: E402
from readme_adapter import NOT_OFFERED, FakegradBackend  # noqa: E402

import conformance  # noqa: E402

OFFERED = ("grad", "jvp")


@pytest.fixture
def broken() -> Iterator[None]:
    fakegrad.BROKEN = True
    yield
    fakegrad.BROKEN = False


def test_the_adapter_is_complete_and_short() -> None:
    text = (HERE / "readme_adapter.py").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 60
    assert "..." not in text, "the README's adapter must be runnable as printed"


def test_check_backend_gates_the_library_green() -> None:
    # fakegrad's own deviations (finite differences in float32) are in its manifest, as the README says to do.
    result = conformance.check_backend(FakegradBackend(), manifests=[HERE / "fakegrad.toml"])
    assert result.ok, result.summary()
    assert result.environment["conventions"]["unsupported"].keys() == set(NOT_OFFERED)
    by_transform: dict[str, set[str]] = {}
    for r in result.records:
        by_transform.setdefault(r["transform"], set()).add(r["status"])
    for t in OFFERED:
        assert "pass" in by_transform[t], f"no {t} check passed: {by_transform[t]}"
    not_offered = [r for r in result.records if r["transform"] in NOT_OFFERED]
    assert len(not_offered) > 100
    reasons = ("fakegrad has no", "fakegrad declares no has_aux")  # the declared reason, for a transform or keyword
    assert all(r["status"] == "skip" and r["message"].startswith(reasons) for r in not_offered)
    assert result.counts["pass"] + result.counts["skip"] + result.counts["xfail"] == len(result.records)
    # Only its one manifest entry can be known, and it shows on some draws and machines only (flaky): an xfail
    # where it shows, a pass naming the entry where it hides; anything else is unexpected (result.ok above).
    xfails = [r for r in result.records if r["status"] == "xfail"]
    assert all(r["function"] == "fn_clip_bounds" and r["spec"].startswith("partial_jvp_closed_arg")
               for r in xfails), xfails


def test_check_backend_goes_red_when_the_library_is_wrong(broken: None) -> None:
    result = conformance.check_backend(FakegradBackend(), specs=["grad_value", "jvp_value"], dtypes=["float64"])
    failed = {r["spec"] for r in result.records if r["status"] == "fail"}
    assert failed == {"grad_value", "jvp_value"}, result.summary()
    assert not result.ok


def test_check_backend_reads_a_manifest(tmp_path: Path, broken: None) -> None:
    manifest = tmp_path / "fakegrad.toml"
    manifest.write_text(
        '[[deviation]]\nspec = ["grad_value", "jvp_value"]\n'
        'reason = "planted 1 % error"\nno_upstream = "a test plants it"\n', encoding="utf-8")
    result = conformance.check_backend(FakegradBackend(), manifests=[manifest], specs=["grad_value", "jvp_value"],
                                       dtypes=["float64"])
    assert result.counts["xfail"] > 0 and result.ok, result.summary()


def test_an_unknown_spec_is_an_error_not_an_empty_run() -> None:
    with pytest.raises(ValueError, match="unknown spec ids"):
        conformance.check_backend(FakegradBackend(), specs=["grad_valu"])


def test_a_check_from_the_api_fails_on_a_wrong_library(broken: None) -> None:
    found = conformance.checks(FakegradBackend(), specs=["grad_value"], dtypes=["float64"])
    assert found
    for check in found:
        with pytest.raises(AssertionError, match="grad"):
            check()


def test_parametrize_checks_marks_manifest_entries_as_strict_xfail(tmp_path: Path) -> None:
    manifest = tmp_path / "fakegrad.toml"
    manifest.write_text('[[deviation]]\nspec = "jvp_value"\nfunction = "sin_sum"\nreason = "r"\nno_upstream = "n"\n',
                        encoding="utf-8")
    mark = conformance.parametrize_checks(FakegradBackend(), manifests=[manifest], specs=["jvp_value", "grad_value"])
    params = mark.args[1]
    xfails = {p.id for p in params if any(m.name == "xfail" and m.kwargs["strict"] for m in p.marks)}
    assert xfails == {"jvp_value[fakegrad-float32-sin_sum]", "jvp_value[fakegrad-float64-sin_sum]"}


@conformance.parametrize_checks(FakegradBackend(), specs=["grad_value", "jvp_value", "vjp_value"], dtypes=["float32"])
def test_fakegrad_conforms(conformance_check: conformance.ConformanceCheck) -> None:
    conformance_check()


def test_the_readme_prints_this_adapter_verbatim() -> None:
    """What a user copies from the README is what this file gates."""
    readme = (HERE.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Gating your own library"):]
    block = section[section.index("```python\n") + len("```python\n"):]
    block = block[:block.index("\n```")]
    assert block.strip() == (HERE / "readme_adapter.py").read_text(encoding="utf-8").strip()


def test_the_readme_lists_every_method_an_adapter_implements_with_its_signature() -> None:
    """The README's method table is the adapter author's reference: it must name every transform and conversion of
    ``Backend`` with the parameters the base class gives it, so a new or changed method cannot go undocumented."""
    import inspect
    import re

    from backends.base import Backend

    readme = (HERE.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("**The methods an adapter implements**"):readme.index("**The array namespace**")]
    documented = {m for cell in re.findall(r"^\| `([^|]+)` \|", table, re.M) for m in re.findall(r"\w+", cell)}
    methods = ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond", "jit",
               "asarray", "to_numpy")
    assert set(methods) <= documented, set(methods) - documented
    for name in methods:
        params = [p for p in inspect.signature(getattr(Backend, name)).parameters if p != "self"]
        row = next(line for line in table.splitlines() if re.match(rf"^\| [^|]*`{name}`", line))
        shown = row.split("|")[2]  # the signature cell (one signature for the row's methods)
        for param in params:
            assert re.search(rf"\b{param}\b", shown), f"README's {name} row does not show parameter {param!r}: {row}"
