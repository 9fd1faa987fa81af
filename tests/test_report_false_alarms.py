"""The environment page's false-alarm section: figures from the benchmark's summary, as text, or 'not measured'."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from conformance_report import false_alarms  # noqa: E402
from docutils import nodes  # noqa: E402
from report_helpers import doc_nodes, doc_text  # noqa: E402

SUMMARY = {
    "profile": "thorough", "seeds": [1, 2], "backends": ["jax", "torch"], "checks": 9200, "examples": 453262,
    "unexpected": 1, "per_million_examples": 2.206, "revisions": ["b700aa8a579ddaaa9788606cf2e7b7848a2a4769"],
    "alarms": [{"seed": 2, "backend": "jax", "test_id": "jvp_value[jax-float64-sin_sum]", "status": "fail",
                "message": [".. raw:: html\n\n<script>alert(1)</script>"],
                "reproducer": "python -m pytest 'x' `rm -rf /`"}],
}


def test_the_figures_and_each_alarm_are_shown(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(SUMMARY))
    doc = false_alarms.render(false_alarms.load(path))
    text = doc_text(doc)
    for figure in ("9200", "453262", "2.21", "b700aa8a579d", "1, 2", "jvp_value[jax-float64-sin_sum]"):
        assert figure in text, figure
    assert ".. raw:: html <script>alert(1)</script>" in text  # the message, on one line, as text
    assert "python -m pytest 'x' `rm -rf /`" in [n.astext() for n in doc_nodes(doc, nodes.literal)]
    assert not doc_nodes(doc, nodes.raw)


def test_a_missing_or_foreign_file_reads_as_not_measured(tmp_path: Path) -> None:
    assert "Not measured" in doc_text(false_alarms.render(false_alarms.load(tmp_path / "absent.json")))
    (tmp_path / "other.json").write_text('{"checks": "many"}')
    assert false_alarms.load(tmp_path / "other.json") is None


def test_the_committed_summary_is_found_next_to_the_docs() -> None:
    path = false_alarms.summary_path("", ROOT / "docs")
    assert path == ROOT / "reports" / "false-alarms" / "summary.json"
    summary = false_alarms.load(path)
    assert summary is not None and summary["checks"] > 0 and summary["seeds"]


def test_a_recheck_marks_fixed_alarms_and_counts_what_remains(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import false_alarms as bench

    summary = json.loads(json.dumps(SUMMARY))
    rechecked = {"keyword": "sin_sum", "revision": "c0ffee" * 7, "seeds": [1, 2], "checks": 24, "examples": 1400,
                 "unexpected": 0, "alarms": [], "passed": [(2, "jvp_value[jax-float64-sin_sum]")]}
    done = bench.with_recheck(summary, dict(rechecked))
    assert done["alarms"][0]["fixed"] and done["unexpected_after_recheck"] == 0
    still = bench.with_recheck(json.loads(json.dumps(SUMMARY)), {**rechecked, "passed": []})
    assert still["unexpected_after_recheck"] == 1 and not still["alarms"][0]["fixed"]
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(done))
    text = doc_text(false_alarms.render(false_alarms.load(path)))
    assert "-k sin_sum" in text and "c0ffeec0ffee" in text and "reruns green" in text


def test_a_later_recheck_keeps_the_earlier_fix_and_adds_what_it_raised(tmp_path: Path) -> None:
    """One recheck per fix: the second (another entry) must neither unmark the first fix nor hide its own alarms."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import false_alarms as bench

    first = {"keyword": "sin_sum", "revision": "a" * 40, "seeds": [1, 2], "checks": 24, "examples": 1400,
             "unexpected": 0, "alarms": [], "passed": [(2, "jvp_value[jax-float64-sin_sum]")]}
    alarm = {"seed": 1, "backend": "mlx", "test_id": "fn_grad[mlx-float32-fn_hypot]", "status": "fail",
             "message": ["off"], "reproducer": "python -m pytest 'y'"}
    second = {"keyword": "fn_hypot", "revision": "b" * 40, "seeds": [1, 2], "checks": 48, "examples": 2800,
              "unexpected": 1, "alarms": [alarm], "passed": []}
    done = bench.with_recheck(bench.with_recheck(json.loads(json.dumps(SUMMARY)), dict(first)), dict(second))
    assert [r["keyword"] for r in done["rechecks"]] == ["sin_sum", "fn_hypot"]
    assert done["alarms"][0]["fixed"] and done["unexpected_after_recheck"] == 1
    again = bench.with_recheck(json.loads(json.dumps(done)), {**second, "unexpected": 0, "alarms": []})  # measured again
    assert [r["keyword"] for r in again["rechecks"]] == ["sin_sum", "fn_hypot"] and again["unexpected_after_recheck"] == 0
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(done))
    text = doc_text(false_alarms.render(false_alarms.load(path)))
    assert "-k sin_sum" in text and "-k fn_hypot" in text and "fn_grad[mlx-float32-fn_hypot]" in text
    old = {**json.loads(json.dumps(SUMMARY)), "recheck": {**first, "passed": None}, "unexpected_after_recheck": 0}
    path.write_text(json.dumps(old))  # a summary from before rechecks accumulated still renders its recheck
    assert "-k sin_sum" in doc_text(false_alarms.render(false_alarms.load(path)))


def test_rebuilding_the_summary_from_the_seeds_keeps_every_recheck() -> None:
    """--summary-only rebuilds the summary from the seed files: the fixes its rechecks found must stay marked."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import false_alarms as bench

    first = {"keyword": "sin_sum", "revision": "a" * 40, "seeds": [1, 2], "checks": 24, "examples": 1400,
             "unexpected": 0, "alarms": [], "passed": [(2, "jvp_value[jax-float64-sin_sum]")]}
    done = bench.with_recheck(json.loads(json.dumps(SUMMARY)), first)
    rebuilt = bench.carry_rechecks(json.loads(json.dumps(SUMMARY)), json.loads(json.dumps(done)))
    assert rebuilt["alarms"][0]["fixed"] and rebuilt["unexpected_after_recheck"] == 0
    legacy = {**json.loads(json.dumps(SUMMARY)), "recheck": {k: v for k, v in first.items() if k != "passed"}}
    legacy["alarms"][0]["fixed"] = True  # a summary from before rechecks accumulated
    rebuilt = bench.carry_rechecks(json.loads(json.dumps(SUMMARY)), legacy)
    assert rebuilt["alarms"][0]["fixed"] and [r["keyword"] for r in rebuilt["rechecks"]] == ["sin_sum"]
    assert bench.carry_rechecks(json.loads(json.dumps(SUMMARY)), None).get("unexpected_after_recheck") is None


class _Run:
    def __init__(self, commits: object) -> None:
        self.header = {"revision": {"git": "f" * 40, "battery_commits": commits}}


class _Report:
    def __init__(self, *runs: _Run) -> None:
        self.runs = list(runs)


MEASURED = SUMMARY["revisions"][0]


def test_the_page_counts_the_battery_commits_after_the_measured_revision() -> None:
    later = ["c" * 40, "d" * 40]
    text = doc_text(false_alarms.render(SUMMARY, _Report(_Run([*later, MEASURED, "e" * 40]))))
    assert "2 commits touched the battery" in text and "may be stale" in text
    assert "0 commits touched the battery" in doc_text(false_alarms.render(SUMMARY, _Report(_Run([MEASURED]))))
    assert "not in this run's history" in doc_text(false_alarms.render(SUMMARY, _Report(_Run(later))))
    assert "Battery changes since —" in " ".join(doc_text(false_alarms.render(SUMMARY, _Report(_Run(None)))).split())


def test_a_run_records_the_commits_that_touched_the_battery() -> None:
    """From git, newest first; every one of them changed one of the battery's files (and only those count)."""
    import subprocess

    from conformance.contract import BATTERY_PATHS
    from conformance.store.results.document import battery_commits

    commits = battery_commits()
    if commits is None:
        import pytest

        pytest.skip("not a git checkout")
    shallow = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True,
                             text=True).stdout.strip() == "true"
    if not commits and shallow:
        import pytest

        pytest.skip("a shallow clone: no commit of its history touched the battery's files")
    assert commits, "the battery's files have history"
    files = subprocess.run(["git", "-C", str(ROOT), "show", "--name-only", "--format=", commits[0]],
                           capture_output=True, text=True, check=True).stdout.split()
    assert any(f.startswith(BATTERY_PATHS) for f in files), files
