"""The report is safe to publish and to rebuild: atomic swap, one build at a time, no live non-http links,
results validated before Sphinx, and bounded pages whatever the results hold."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from report_helpers import ROOT, RUN_A, RUN_B, Page, fixture_doc, html_files

from conformance import report
from conformance.links import is_web_url

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from conformance_report.inline import link
from conformance_report.model import ResultsInvalid, cap_text, load_checked
from docutils import nodes

LABELS = {RUN_A: "cpu-local", RUN_B: "gpu-box"}


def write_json(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "conformance", "report", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def leftovers(parent: Path) -> list[str]:
    """Staging or aside folders a build left next to the site (the lock file is meant to stay)."""
    return sorted(p.name for p in parent.iterdir() if re.match(r"\..*\.(build|old)-", p.name))


def broken_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the report at a copy of the docs with a page whose reference cannot resolve: the build fails."""
    docs = tmp_path / "docs-broken"
    shutil.copytree(report.DOCS_DIR, docs)
    (docs / "broken.rst").write_text("Broken\n======\n\nSee :ref:`no-such-label`.\n", encoding="utf-8")
    monkeypatch.setattr(report, "DOCS_DIR", docs)


# ---------------------------------------------------------------------------------------------- atomic, locked


def test_failed_build_keeps_the_old_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    report.build([RUN_A], out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken_docs(tmp_path, monkeypatch)
    with pytest.raises(report.ReportError, match="previous site, if any, is unchanged"):
        report.build([RUN_B], out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert leftovers(tmp_path) == []


def test_successful_build_replaces_the_whole_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    report.build([RUN_A], out)
    (out / "stale.html").write_text("left from an older build", encoding="utf-8")
    (tmp_path / ".site.build-killed").mkdir()  # what a build killed mid-way leaves behind
    report.build([RUN_B], out)
    assert not (out / "stale.html").exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert out.stat().st_mode == plain.stat().st_mode  # as readable as a folder made the ordinary way
    assert "gpu-box" in Page(out / "index.html").text and "cpu-local" not in Page(out / "index.html").text
    assert leftovers(tmp_path) == []


def test_a_held_lock_makes_a_build_wait_then_give_up_clearly(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with open(tmp_path / ".site.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("pid 4242 (this test)\n")
        held.flush()
        started = time.monotonic()
        with pytest.raises(report.ReportBusy, match=r"pid 4242 \(this test\).*still holds"):
            report.build([RUN_A], out, lock_timeout=1.0)
        assert time.monotonic() - started < 10
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_second_build_waits_for_the_first_and_never_writes_meanwhile(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with open(tmp_path / ".site.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = cli(str(RUN_B), "--out", str(out), cwd=tmp_path)
        waiting = proc.stderr.readline() if proc.stderr else ""
        assert "waiting for the build" in waiting, waiting
        time.sleep(1.0)
        assert proc.poll() is None and not out.exists() and leftovers(tmp_path) == []
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stdout + stderr
    assert "gpu-box" in Page(out / "index.html").text


def test_two_concurrent_builds_do_not_interleave(tmp_path: Path) -> None:
    out = tmp_path / "site"
    procs = [cli(str(run), "--out", str(out), cwd=tmp_path) for run in (RUN_A, RUN_B)]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stdout + stderr
    seen = {label for page in html_files(out) for label in LABELS.values() if label in Page(page).text}
    assert len(seen) == 1, seen  # every page comes from the same build
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------- links


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript://x/%0Aalert(1)", " javascript:alert(1)",
                                 "data:text/html,<script>x</script>", "vbscript:x", "file:///etc/passwd",
                                 "//evil.example/x", "https://ok.example/a b", "https://ok.example/`__ x",
                                 "http:/no-host", ""])
def test_only_http_urls_become_links(url: str) -> None:
    assert not is_web_url(url)
    shown = link("source", url)
    assert all(isinstance(node, nodes.Text) for node in shown.nodes()), shown.nodes()
    assert shown.astext() == (f"source ({url.strip()})" if url.strip() else "source")


def test_http_urls_become_links() -> None:
    assert is_web_url("https://pytorch.org/docs/stable/func.html#x") and is_web_url("http://example.org")
    [node] = link("docs", "https://pytorch.org/x").nodes()
    assert isinstance(node, nodes.reference) and node["refuri"] == "https://pytorch.org/x"
    assert node.astext() == "docs"


def test_javascript_links_from_every_source_render_as_text(tmp_path: Path) -> None:
    doc = fixture_doc(RUN_A)
    doc["claims"][0]["sources"] = ["javascript:alert(document.cookie)", "javascript://x/%0Aalert(1)",
                                   "https://ok.example/source"]
    xfail = next(c for c in doc["checks"] if c["status"] == "xfail")
    xfail["details"]["deviation"]["link"] = "javascript:alert('manifest')"
    doc["backends"]["torch"]["conventions"]["errors"]["data_dependent_control_flow"]["doc"] = "data:text/html,hi"
    out = tmp_path / "site"
    report.build([write_json(tmp_path / "run-js.json", doc)], out)
    pages = [Page(p) for p in html_files(out)]
    hrefs = [h for page in pages for h in page.links]
    assert not [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript):", h, re.I)], hrefs
    assert "https://ok.example/source" in hrefs
    text = " ".join(page.text for page in pages)
    for shown in ("javascript:alert(document.cookie)", "javascript://x/%0Aalert(1)", "javascript:alert('manifest')",
                  "data:text/html,hi"):
        assert shown in text


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("change", "where", "problem"), [
    (lambda d: d["checks"][0].update(duration_s={"s": 1}), "$.checks[0].duration_s", "expected a number"),
    (lambda d: d["claims"][1].update(evidence="none"), "$.claims[1].evidence", "expected array"),
    (lambda d: d["articles"][0].update(claims="five"), "$.articles[0].claims", "expected integer"),
    (lambda d: d["run"].update(id=7), "$.run.id", "expected string"),
    (lambda d: d["checks"][2].update(colour="red"), "$.checks[2]", "unknown field(s) 'colour'"),
])
def test_wrong_field_type_is_a_clean_error_before_sphinx(tmp_path: Path, change, where: str, problem: str) -> None:
    doc = fixture_doc(RUN_A)
    change(doc)
    bad = write_json(tmp_path / "run-bad.json", doc)
    proc = cli(str(bad), "--out", str(tmp_path / "site"), cwd=tmp_path)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stdout + stderr
    assert f"{bad}: {where}: {problem}" in stderr, stderr
    assert not re.search(r"Traceback|Sphinx|Extension error|exception", stderr), stderr
    assert not (tmp_path / "site").exists()


def test_extension_rejects_invalid_results_with_the_json_path(tmp_path: Path) -> None:
    """Built directly with sphinx-build, the extension checks the same schema and names the field."""
    doc = fixture_doc(RUN_A)
    doc["checks"][5]["status"] = 3
    bad = write_json(tmp_path / "run-bad.json", doc)
    with pytest.raises(ResultsInvalid, match=re.escape(f"{bad}: $.checks[5].status")):
        load_checked(str(bad))


def test_schema_accepts_the_fields_other_parts_add(tmp_path: Path) -> None:
    doc = fixture_doc(RUN_A)
    doc["interrupted"], doc["interrupted_reason"], doc["interrupt_reason"] = True, "SIGINT", "SIGINT"
    doc["run"]["hypothesis_seed"] = 12345
    for check in doc["checks"]:
        check["variant"] = ""
    for claim in doc["claims"]:
        for item in claim["evidence"]:
            item["isolation"] = "bubblewrap"
            item["something_new"] = {"any": "shape"}
    path = write_json(tmp_path / "run-new.json", doc)
    assert report.check_results([path]) == [path.resolve()]


# ---------------------------------------------------------------------------------------------- caps


def test_cap_keeps_head_and_tail_with_a_marker() -> None:
    text = "HEAD" + "x" * 200_000 + "TAIL"
    capped = cap_text(text, 1000)
    assert capped.startswith("HEAD") and capped.endswith("TAIL") and len(capped) < 1100
    assert f"[... {len(text) - 1000} characters left out by the report ...]" in capped
    assert cap_text("short", 1000) == "short"


def test_a_20_mb_message_yields_a_small_page(tmp_path: Path) -> None:
    doc = copy.deepcopy(fixture_doc(RUN_A))
    failing = next(c for c in doc["checks"] if c["status"] == "fail")
    failing["message"] = "START " + "m" * 20_000_000 + " END"
    evidence = next(e for c in doc["claims"] for e in c["evidence"] if e.get("stdout"))
    evidence["stdout"] = "first line\n" + "o" * 20_000_000 + "\nlast line"
    out = tmp_path / "site"
    report.build([write_json(tmp_path / "run-huge.json", doc)], out)
    sizes = {p.name: p.stat().st_size for p in html_files(out)}
    assert max(sizes.values()) < 2_000_000, sizes
    mismatches = (out / "mismatches.html").read_text(encoding="utf-8")
    assert "START" in mismatches and "END" in mismatches and "characters left out by the report" in mismatches
    article = (out / "article.html").read_text(encoding="utf-8")
    assert "first line" in article and "last line" in article and "characters left out by the report" in article
