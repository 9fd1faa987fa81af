"""The HTML report built from fixture results: what a reader sees on each page.

The fixtures are two small runs (a CPU machine and a GPU machine) covering
every status, verdict, evidence kind and divergence record of the results
schema.  Builds are strict (``-W``), so a build that succeeds had no Sphinx
warning.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from report_helpers import RUN_A, RUN_B, Page, bare_run_site, fixture_doc, two_run_site

from conformance import report
from conformance.results import SchemaError

SYMBOL = {"pass": "✓", "fail": "✗", "error": "!", "skip": "○", "xfail": "⊘", "xpass": "⚠"}
STATUS_ORDER = ("pass", "fail", "error", "skip", "xfail", "xpass")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_run_site(tmp_path_factory)


@pytest.fixture(scope="session")
def bare_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bare_run_site(tmp_path_factory)


def expected_cell(doc: dict, backend: str, transform: str, dtype: str) -> str:
    counts = Counter(
        c["status"] for c in doc["checks"] if (c["backend"], c["transform"], c["dtype"]) == (backend, transform, dtype)
    )
    if not counts:
        return "— not run"
    return " ".join(f"{SYMBOL[s]} {counts[s]} {s}" for s in STATUS_ORDER if counts[s])


def test_build_writes_every_page(site: Path) -> None:
    for page in ("index", "checks", "article", "divergences", "mismatches", "plots", "environment"):
        assert (site / f"{page}.html").is_file(), page


def test_matrix_cells_count_every_status_with_symbol_and_word(site: Path) -> None:
    docs = [fixture_doc(RUN_A), fixture_doc(RUN_B)]
    tables = Page(site / "index.html").tables_with_class("conformance-matrix")
    assert len(tables) == 3  # torch, jax, numpy
    for backend, table in zip(("torch", "jax", "numpy"), tables, strict=True):
        header, *rows = table
        assert header[:2] == ["Transform", "dtype"]
        expected_rows = {(c["transform"], c["dtype"]) for doc in docs for c in doc["checks"] if c["backend"] == backend}
        assert {(r[0], r[1]) for r in rows} == expected_rows
        for transform, dtype, *cells in rows:
            assert cells == [expected_cell(doc, backend, transform, dtype) for doc in docs], (backend, transform, dtype)


def test_matrix_spot_checks(site: Path) -> None:
    rows = Page(site / "index.html").tables_with_class("conformance-matrix")[0]
    by_key = {(r[0], r[1]): r[2:] for r in rows[1:]}
    assert by_key[("hessian", "float32")] == ["✗ 1 fail", "✓ 1 pass"]
    assert by_key[("vmap", "float64")] == ["! 1 error", "✓ 1 pass"]
    assert by_key[("scan", "float32")] == ["○ 1 skip", "○ 1 skip"]
    assert by_key[("cond", "float32")] == ["⊘ 1 xfail", "⊘ 1 xfail"]


def test_matrix_headers_show_library_version_and_device_per_run(site: Path) -> None:
    tables = Page(site / "index.html").tables_with_class("conformance-matrix")
    torch_header, jax_header = tables[0][0], tables[1][0]
    assert torch_header[2] == "cpu-local torch 2.13.0+cpu · cpu"
    assert torch_header[3] == "gpu-box torch 2.13.0+cu126 · cuda:0"
    assert "crashed: killed by signal 9" in jax_header[3]


def test_matrix_cells_link_to_their_details(site: Path) -> None:
    page = Page(site / "index.html")
    table = next(t for t in page.tables if "conformance-matrix" in t["classes"])
    hessian = next(r for r in table["rows"] if r and r[0]["text"] == "hessian" and r[1]["text"] == "float32")
    links = hessian[2]["links"]
    assert links == ["checks.html#cell-torch-hessian-float32"]
    checks = Page(site / "checks.html")
    assert "cell-torch-hessian-float32" in checks.ids
    assert "logsumexp" in checks.text


def test_matrix_badges_carry_colour_classes(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'class="[^"]*sd-bg-danger[^"]*"[^>]*>.*?✗ 1 fail', html, re.S)
    assert re.search(r'class="[^"]*sd-bg-success[^"]*"[^>]*>.*?✓ 4 pass', html, re.S)


def test_headline_figures(site: Path) -> None:
    rows = Page(site / "index.html").tables_with_class("conformance-headline")[0]
    figures = {r[0]: r[1:] for r in rows}
    assert figures["Figure"] == ["cpu-local", "gpu-box"]
    assert figures["Checks"] == ["39", "38"]
    assert figures["Pass rate"] == ["94.4 % (34 of 36)", "94.3 % (33 of 35)"]
    assert figures["Failures"] == ["2 (fail 1, error 1)", "2 (fail 2, error 0)"]
    assert figures["Duration"] == ["41.2 s", "1.3 min"]
    assert figures["Claims"] == ["5", "5"]
    assert figures["Verdicts"][0] == "✓ 1 true ✗ 2 false ◐ 1 partly ? 1 unverifiable"
    assert figures["Verdicts"][1] == "✓ 1 true ✗ 1 false ◐ 2 partly ? 1 unverifiable"
    assert figures["Article coverage"][0] == "qiita-torch-func: 75 % (6 of 8 sentences)"


def test_claims_in_article_order_with_verdicts(site: Path) -> None:
    page = Page(site / "article.html")
    claims = sorted(fixture_doc(RUN_A)["claims"], key=lambda c: c["order"])
    positions = [page.text.index(c["quote"]) for c in claims]
    assert positions == sorted(positions)
    for number, claim in enumerate(claims, start=1):
        assert f"{number}. {claim['paraphrase']}" in page.text
    verdicts = page.tables_with_class("conformance-verdicts")
    assert [row[1] for row in verdicts[0][1:]] == ["✓ true", "✓ true"]
    faster = verdicts[3]
    assert [row[0] for row in faster[1:]] == ["cpu-local", "gpu-box"]
    assert [row[1] for row in faster[1:]] == ["✗ false", "◐ partly"]
    assert "? unverifiable" in page.text


def test_claim_evidence_per_backend_tabs_with_exceptions(site: Path) -> None:
    html = (site / "article.html").read_text(encoding="utf-8")
    section = html[html.index('id="claim-qiita-torch-func-vmap-python-if"') :]
    section = section[: section.index('id="claim-qiita-torch-func-grad-and-value-faster"')]
    labels = re.findall(r'<label[^>]*class="sd-tab-label"[^>]*>\s*(\w+)\s*</label>', section)
    assert labels == ["torch", "jax", "numpy"]
    assert "jax.errors.TracerBoolConversionError: Attempted boolean conversion" in Page(site / "article.html").text


def test_fixes_shown_as_python_with_diff_and_verified_output(site: Path) -> None:
    html = (site / "article.html").read_text(encoding="utf-8")
    text = Page(site / "article.html").text
    assert html.count('class="highlight-python') >= 2
    assert html.count('class="highlight-diff') >= 2
    assert "-value, grad = grad_and_value(f)(x) # 記事のまま" in text
    assert "+grad, value = grad_and_value(f)(x) # torch returns (grad, value)" in text
    # The second fix records no diff: the report computes it against the code as written.
    assert "+ return torch.where(x.sum() > 0, x, -x)" in text
    assert "value: tensor(1.7508) grad: tensor([0.5403, -0.4161])" in text
    assert "✓ verified in cpu-local" in text


def test_article_coverage_and_uncovered_sentences(site: Path) -> None:
    page = Page(site / "article.html")
    coverage = page.tables_with_class("conformance-coverage")[0]
    assert coverage[1] == ["cpu-local", "75 %", "6 of 8", "5"]
    for sentence in fixture_doc(RUN_A)["articles"][0]["uncovered"]:
        assert sentence in page.text
    assert "torch.func で JAX ライクな関数変換を使ってみる" in page.text


def test_measurements_and_timing_plots(site: Path) -> None:
    text = Page(site / "article.html").text
    assert "torch.func.grad_and_value 120 µs 120×" in text
    plots = Page(site / "plots.html")
    images = sorted({link for link in plots.links if link.startswith("_images/")})
    assert len(images) == 4  # two error plots, two timing plots
    for image in images:
        assert (site / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_divergences_from_conventions_and_observed_details(site: Path) -> None:
    page = Page(site / "divergences.html")
    text = page.text
    assert "torch.func.grad_and_value" in text and "jax.value_and_grad" in text
    assert "(grad, (value, aux))" in text and "((value, aux), grad)" in text
    assert "in_dims , out_dims" in text or "in_dims, out_dims" in text
    # Samples are generated from the declared conventions, not typed in per library.
    assert "grad, value = torch.func.grad_and_value(f)(x)" in text
    assert "value, grad = jax.value_and_grad(f)(x)" in text
    assert "(value, aux), grad = jax.value_and_grad(f_aux, has_aux=True)(x)" in text
    assert "# scan: no public scan" in text and "# scan: jax.lax.scan" in text
    kink_rows = [r for t in page.tables for r in t["rows"] if r and r[0]["text"].startswith("kink_abs")]
    observed = {(r[1]["text"], r[3]["text"]): r[5]["text"] for r in kink_rows}
    assert observed[("torch", "cpu-local")] == "0.0"
    assert observed[("jax", "cpu-local")] == "1.0"
    assert "jax.errors.TracerBoolConversionError" in text


def test_mismatch_details_with_reproducer(site: Path) -> None:
    page = Page(site / "mismatches.html")
    problems = [
        (run, i)
        for run, doc in enumerate([fixture_doc(RUN_A), fixture_doc(RUN_B)])
        for i, c in enumerate(doc["checks"])
        if c["status"] in ("fail", "error", "xpass")
    ]
    assert {f"check-r{run}-{i}" for run, i in problems} <= page.ids
    assert len(problems) == 6
    text = page.text
    assert "hessian_value[torch-float32-logsumexp] (cpu-local)" in text
    assert "print(hessian(logsumexp)(x))" in text
    assert "python -m pytest 'tests/battery/test_jvp.py::test_jvp_value[torch-float32-sin_sum]'" in text
    figures = page.tables_with_class("conformance-figures")[0]
    assert ["max rel. error", "0.00032"] in figures and ["rtol", "1e-05"] in figures
    assert ["error / tolerance", "32× rtol"] in figures
    assert "Expected (reference)" in text and "0.04211" in text and "tangent_out" in text


def test_environment_versions_platform_command(site: Path) -> None:
    page = Page(site / "environment.html")
    fields = {r[0]: r[1:] for r in page.tables_with_class("conformance-environment")[0]}
    assert fields["Platform"][1] == "Linux-5.15.0-1050-nvidia-x86_64-with-glibc2.35"
    assert fields["Duration"] == ["41.2 s", "1.3 min"]
    assert fields["Results file"] == ["results-run-a.json", "results-run-b.json"]
    assert "python -m conformance all --profile thorough" in page.text
    assert "2.13.0+cu126" in page.text and "0.10.2" in page.text


def test_two_runs_merge_into_one_column_per_run(site: Path, bare_site: Path) -> None:
    two = Page(site / "index.html").tables_with_class("conformance-matrix")[0][0]
    one = Page(bare_site / "index.html").tables_with_class("conformance-matrix")[0][0]
    assert len(two) == 4 and two[2].startswith("cpu-local") and two[3].startswith("gpu-box")
    assert len(one) == 3 and one[2].startswith("bare-run")


def test_empty_states_say_so_in_words(bare_site: Path) -> None:
    assert "nothing to plot" in Page(bare_site / "plots.html").text
    assert "No claims in these results" in Page(bare_site / "article.html").text


def write_json(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "schema_version 2 is not supported"),
        ({"schema": "something/else"}, "schema is 'something/else'"),
    ],
)
def test_wrong_schema_is_a_clear_error_naming_the_file(tmp_path: Path, change: dict, message: str) -> None:
    bad = write_json(tmp_path / "run-bad.json", {**fixture_doc(RUN_A), **change})
    with pytest.raises(SchemaError, match=re.escape(message)) as info:
        report.build([RUN_A, bad], tmp_path / "out")
    assert str(bad) in str(info.value)
    assert not (tmp_path / "out").exists()


def test_unreadable_results_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "run-broken.json"
    broken.write_text('{"schema": ', encoding="utf-8")
    with pytest.raises(SchemaError, match="not valid JSON"):
        report.build([broken], tmp_path / "out")
    listed = write_json(tmp_path / "run-list.json", [1, 2])
    with pytest.raises(SchemaError, match="not a results document"):
        report.build([listed], tmp_path / "out")
    missing = tmp_path / "run-missing.json"
    args = argparse.Namespace(results=[missing], out=tmp_path / "out", all_runs=False)
    assert report.main(args) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "cannot read results file" in err


def test_main_uses_newest_run_or_all_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "reports" / "results"
    results.mkdir(parents=True)
    older = write_json(results / "run-b.json", fixture_doc(RUN_A))
    newer = write_json(results / "run-a.json", fixture_doc(RUN_B))
    os.utime(older, (1_000_000, 1_000_000))
    os.utime(newer, (2_000_000, 2_000_000))
    calls: list[list[Path]] = []
    monkeypatch.setattr(report, "build", lambda paths, out, **kw: calls.append(list(paths)) or Path(out) / "index.html")
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    assert report.main(parser.parse_args([])) == 0
    assert report.main(parser.parse_args(["--all-runs", "--out", "x"])) == 0
    assert calls == [
        [Path("reports/results/run-a.json")],
        [Path("reports/results/run-b.json"), Path("reports/results/run-a.json")],
    ]
    assert report.main(parser.parse_args([str(older), "--all-runs"])) == 2
    for path in (older, newer):
        path.unlink()
    assert report.main(parser.parse_args([])) == 2


def test_strict_build_fails_on_a_warning(tmp_path: Path) -> None:
    doc = fixture_doc(RUN_A)
    doc["checks"][0]["status"] = "bogus"
    bad = write_json(tmp_path / "run-odd.json", doc)
    with pytest.raises(report.ReportError, match="unknown status 'bogus'"):
        report.build([bad], tmp_path / "out", strict=True)


def test_build_imports_no_backend_library(tmp_path: Path) -> None:
    """The docs session has neither torch nor jax: building must not import them (or the specs)."""
    script = f"""
import os, sys
from sphinx.cmd.build import build_main
os.environ["CONFORMANCE_RESULTS"] = {str(RUN_A)!r}
rc = build_main(["-b", "html", "-q", "-W", "-E", "-d", {str(tmp_path / "dt")!r},
                 {str(report.DOCS_DIR)!r}, {str(tmp_path / "out")!r}])
import conformance.report
top = ("torch", "jax", "jaxlib", "backends")
bad = sorted(m for m in sys.modules if m.split(".")[0] in top or m.startswith("conformance.specs"))
print("RC", rc, "BAD", bad)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert "RC 0 BAD []" in proc.stdout, proc.stdout + proc.stderr
