"""The "changed between versions" page: status changes with the first version, moved conventions, manifest bounds.

Built from hand-made runs of one backend at three versions (given out of order, so
the page must sort them), then from the committed results of real JAX releases
(``reports/results/versions/``, written by ``nox -s versions``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from conformance_report import versions  # noqa: E402
from conformance_report.model import Report, Run  # noqa: E402
from report_helpers import doc_text  # noqa: E402

VERSIONS_DIR = ROOT / "reports" / "results" / "versions"


def _check(test_id: str, status: str, message: str = "", deviation: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"backend": "lib", "test_id": test_id, "status": status, "message": message,
            "details": {"deviation": deviation} if deviation else {}}


def _run(index: int, version: str, checks: list[dict[str, Any]], conventions: dict[str, Any]) -> Run:
    doc = {"run": {"id": f"r{index}", "label": f"lib {version}"}, "checks": checks,
           "backends": {"lib": {"backend": "lib", "version": version, "conventions": conventions}}}
    return Run(index, f"lib {version}", Path(f"r{index}.json"), doc)


ENTRY = {"source": "lib.toml#1", "versions": ">=2.0"}


@pytest.fixture
def report() -> Report:
    v1 = _run(0, "1.10.0", [_check("a", "pass"), _check("b", "fail", "TypeError: x"), _check("c", "error", "KeyError: k"),
                            _check("d", "fail", "wrong value")],
              {"jit_api": "lib.jit", "tuple_primals": True})
    v2 = _run(1, "2.0.0", [_check("a", "pass"), _check("b", "pass"), _check("c", "error", "ValueError: k"),
                           _check("d", "xfail", "wrong value", ENTRY)],
              {"jit_api": "lib.jit", "tuple_primals": False})
    v0 = _run(2, "1.9.0", [_check("a", "fail", "off by 1e-3"), _check("b", "fail", "TypeError: x"),
                           _check("c", "error", "KeyError: k"), _check("d", "fail", "wrong value")],
              {"jit_api": "lib.jit", "tuple_primals": True})
    for run, share in ((v0, 0.05), (v1, 0.0500001), (v2, 0.6)):  # a rounding change, then a material move
        run.doc["checks"].append({**_check("e", "pass"), "tolerance_used": share})
    return Report(runs=[v1, v2, v0])


def test_error_figures_count_rounding_and_list_material_moves(report: Report) -> None:
    (s,) = versions.series(report)
    differ, worst, rows = versions.figure_changes(s)
    assert (differ, worst) == (1, 0.6)
    assert [(t, round(move, 3), values) for t, move, values in rows] == [("e", 0.55, ["0.05", "0.05", "0.6"])]


def test_versions_are_ordered_as_versions_not_as_text_or_given(report: Report) -> None:
    (s,) = versions.series(report)
    assert s.versions == ["1.9.0", "1.10.0", "2.0.0"]


def test_status_changes_name_the_first_version_where_each_changed(report: Report) -> None:
    (s,) = versions.series(report)
    rows = {t: (first, values) for t, first, values in versions.status_changes(s)}
    assert rows["a"] == ("1.10.0", ["fail", "pass", "pass"])
    assert rows["b"] == ("2.0.0", ["fail", "fail", "pass"])
    assert rows["d"] == ("2.0.0", ["fail", "fail", "xfail"])
    assert "c" not in rows  # an error at every version ...
    moved = {t: (first, values) for t, first, values in versions.exception_changes(s)}
    assert moved == {"c": ("2.0.0", ["KeyError", "KeyError", "ValueError"])}  # ... with another exception type


def test_moved_conventions_and_manifest_bounds(report: Report) -> None:
    (s,) = versions.series(report)
    assert versions.convention_changes(s) == [("tuple_primals", "2.0.0", ["True", "True", "False"])]
    ((source, bounds, verdicts),) = versions.bounds_findings(s)
    # d fails at 1.9 and 1.10 too, outside ">=2.0": the entry's bounds are too narrow there.
    assert (source, bounds) == ("lib.toml#1", ">=2.0")
    assert verdicts == ["too narrow (fail here)", "too narrow (fail here)", "ok"]


def test_one_version_makes_no_series_and_the_page_says_so() -> None:
    only = Report(runs=[_run(0, "1.0", [_check("a", "pass")], {})])
    assert versions.series(only) == []
    assert "two or more library versions" in doc_text(versions.render(only))


def test_the_page_renders_every_table(report: Report) -> None:
    text = doc_text(versions.render(report))
    for words in ("Checks whose status changed (3)", "another exception type (1)", "conventions that moved (1)",
                  "version bounds", "too narrow", "Error figures that moved (1)"):
        assert words in text, words


def test_committed_jax_releases_form_a_series() -> None:
    """The real runs the report publishes: at least two JAX releases, and the page counts what moved."""
    files = sorted(VERSIONS_DIR.glob("jax-*.json"))
    assert len(files) >= 2, f"run nox -s versions (at least two JAX releases) to write {VERSIONS_DIR}/jax-*.json"
    from conformance_report.model import load_report

    report = load_report(tuple(str(f) for f in files))
    (s,) = [s for s in versions.series(report) if s.backend == "jax"]
    assert len(s.versions) == len(files) and s.versions[0].startswith("0.4.")
    for run, version in zip(s.runs, s.versions, strict=True):
        assert version in str(run.header.get("label")), "a version column's label names its version"
    # The page's count of status changes is the files' own, computed here without the module.
    per_file = [{c["test_id"]: c["status"] for c in run.checks} for run in s.runs]
    ids = set().union(*per_file)
    changed = sum(len({f.get(t, "absent") for f in per_file}) > 1 for t in ids)
    assert len(versions.status_changes(s)) == changed
    assert f"Checks whose status changed ({changed})" in doc_text(versions.render(report))
    differ = sum(len({f.get(t) for f in [{c["test_id"]: c.get("tolerance_used") for c in run.checks}
                                          for run in s.runs]} - {None}) > 1 for t in ids)
    assert versions.figure_changes(s)[0] == differ


def test_the_built_report_has_the_versions_page_and_a_column_per_release(tmp_path: Path) -> None:
    from conformance import report

    files = sorted(VERSIONS_DIR.glob("jax-*.json"))
    assert len(files) >= 2, "see test_committed_jax_releases_form_a_series"
    index = report.build(files, tmp_path / "site")
    page = (index.parent / "versions.html").read_text(encoding="utf-8")
    assert "Changed between versions" in page and "pinned CPU build" in page
    assert "Checks whose status changed" in page
    matrix = index.read_text(encoding="utf-8")
    for f in files:
        version = f.stem.removeprefix("jax-")
        assert f"jax {version}" in matrix, f"no column labelled with jax {version}"
