"""The HTML report built from fixture results: what a reader sees on each page.

The fixtures are two small runs (a CPU machine and a GPU machine) covering
every status, verdict, evidence kind and divergence record of the results
schema.  Builds are strict (``-W``), so a build that succeeds had no Sphinx
warning.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from report_helpers import RUN_A, RUN_B, Page, bare_run_site, fixture_doc, two_run_site

from conformance import report
from conformance.store.results import SchemaError

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
    for page in ("index", "checks", "deviations", "article", "divergences", "mismatches", "plots", "environment"):
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
    assert by_key[("scan", "float32")] == ["○ 2 skip", "○ 2 skip"]
    assert by_key[("cond", "float32")] == ["⊘ 1 xfail", "⊘ 1 xfail"]
    assert by_key[("cond", "float64")] == ["⊘ 1 xfail", "⚠ 1 xpass"]


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
    assert figures["Checks"] == ["43", "42"]
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
    assert len(problems) == 7
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


def test_unknown_status_is_rejected_before_sphinx_with_its_json_path(tmp_path: Path) -> None:
    doc = fixture_doc(RUN_A)
    doc["checks"][0]["status"] = "bogus"
    bad = write_json(tmp_path / "run-odd.json", doc)
    with pytest.raises(SchemaError, match=re.escape('$.checks[0].status: "bogus" is not one of')) as info:
        report.build([bad], tmp_path / "out", strict=True)
    assert str(info.value).startswith(str(bad))
    assert not (tmp_path / "out").exists()


def test_strict_build_fails_on_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(report.DOCS_DIR, docs)
    (docs / "broken.rst").write_text("Broken\n======\n\nSee :ref:`no-such-label`.\n", encoding="utf-8")
    monkeypatch.setattr(report, "DOCS_DIR", docs)
    with pytest.raises(report.ReportError, match="no-such-label"):
        report.build([RUN_A], tmp_path / "out", strict=True)


def test_build_imports_no_backend_library(tmp_path: Path) -> None:
    """The docs session has neither torch nor jax: building must not import them, an adapter, the specs or the
    battery's tables (the function table is read from the results)."""
    script = f"""
import os, sys
from sphinx.cmd.build import build_main
os.environ["CONFORMANCE_RESULTS"] = {str(RUN_A)!r}
rc = build_main(["-b", "html", "-q", "-W", "-E", "-d", {str(tmp_path / "dt")!r},
                 {str(report.DOCS_DIR)!r}, {str(tmp_path / "out")!r}])
import conformance.report
top = ("torch", "jax", "jaxlib", "backends")
battery = ("conformance.battery.specs", "conformance.battery.functions", "conformance.battery.catalog")  # the table travels in the results
bad = sorted(m for m in sys.modules if m.split(".")[0] in top or m.startswith(battery))
print("RC", rc, "BAD", bad)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert "RC 0 BAD []" in proc.stdout, proc.stdout + proc.stderr


def deviation_entries(docs: list[dict]) -> dict[tuple[str, str, str], list[tuple[int, dict]]]:
    """The fixtures' xfail/xpass checks grouped by (backend, spec pattern, source) of their manifest entry."""
    found: dict[tuple[str, str, str], list[tuple[int, dict]]] = {}
    for run, doc in enumerate(docs):
        for check in doc["checks"]:
            if check["status"] in ("xfail", "xpass"):
                dev = check["details"]["deviation"]
                found.setdefault((check["backend"], dev["spec"], dev["source"]), []).append((run, check))
    return found


def test_known_deviations_grouped_by_manifest_entry(site: Path) -> None:
    docs = [fixture_doc(RUN_A), fixture_doc(RUN_B)]
    page = Page(site / "deviations.html")
    text = page.text
    entries = deviation_entries(docs)
    assert len(entries) == 2
    for (_backend, _spec, source), checks in entries.items():
        dev = checks[0][1]["details"]["deviation"]
        assert dev["reason"] in text
        assert dev["link"] in page.links
        # The source is absolute on the machine that ran: shown as the file name and line, never the full path.
        assert source.rsplit("/", 1)[-1] in text and source not in text
    fields = {r[0]: r[1] for t in page.tables_with_class("conformance-deviation") for r in t[1:]}
    assert fields["Versions"] in (">=2.5", "<0.11")
    tables = page.tables_with_class("conformance-deviation")
    torch_fields = next({r[0]: r[1] for r in t} for t in tables if "torch.toml:5" in str(t))
    assert torch_fields["Versions"] == ">=2.5"
    assert torch_fields["Manifest entry"] == "torch.toml:5"
    assert torch_fields["Upstream"] == "https://pytorch.org/docs/stable/generated/torch.cond.html"
    assert "「piecewise」" in torch_fields["Reason"]
    # The checks each entry covered, with their status per run (a column per run).
    covered = {r[0]: r[1:] for t in page.tables_with_class("conformance-covered") for r in t[1:]}
    for checks in entries.values():
        for run, check in checks:
            assert covered[check["test_id"]][run] == f"{SYMBOL[check['status']]} {check['status']}"
    assert covered["cond_value[torch-float64-piecewise]"] == ["⊘ xfail", "⚠ xpass"]
    # An xpass makes the entry stale: a warning, and the summary marks it.
    assert text.count("Stale manifest entry") == 2
    summary = page.tables_with_class("conformance-deviations")[0]
    assert [r[0] for r in summary[1:]] == [
        "torch: cond_value · piecewise ⚠ stale",
        "jax: jacfwd_value · matmul_tanh · float64 ⚠ stale",
    ]
    assert summary[1][2:] == ["⊘ 2 xfail", "⊘ 1 xfail ⚠ 1 xpass"]
    # One covered check's observation: the error figures against the tolerance.
    assert "Observed in cond_value[torch-float64-piecewise] (run cpu-local)" in text
    assert "max abs. error 2, max rel. error 1 against rtol 1e-10 (1e+10× the tolerance)" in text
    # Covered xpass checks link to their mismatch section, xfail checks to their matrix cell.
    table = next(t for t in page.tables if "conformance-covered" in t["classes"] and "cond_value" in str(t))
    links = {r[0]["text"]: r[0]["links"] for r in table["rows"][1:]}
    assert links["cond_value[torch-float32-piecewise]"] == ["checks.html#cell-torch-cond-float32"]


def test_skipped_checks_grouped_by_reason_with_counts(site: Path) -> None:
    docs = [fixture_doc(RUN_A), fixture_doc(RUN_B)]
    rows = Page(site / "deviations.html").tables_with_class("conformance-skips")[0]
    assert rows[0][:3] == ["Reason", "Checks (cpu-local)", "Checks (gpu-box)"]
    per_run = [Counter(c["message"] for c in doc["checks"] if c["status"] == "skip") for doc in docs]
    reasons = list(dict.fromkeys(m for counts in per_run for m in counts))
    assert sorted(r[0] for r in rows[1:]) == sorted(reasons)
    for reason, count_a, count_b, *_ in rows[1:]:
        assert [count_a, count_b] == [str(per_run[0][reason]), str(per_run[1][reason])]
    by_reason = {r[0]: r for r in rows[1:]}
    scan = by_reason["torch has no public scan: torch.func offers none, and torch._higher_order_ops.scan is private"]
    assert scan[1:4] == ["2", "2", "torch · scan · float32 (4)"]
    assert scan[4] == "scan_value (2) scan_grad (2)"
    assert by_reason["numpy has no jit the battery checks"][3] == "numpy · jit · float32 (2) numpy · jit · float64 (2)"
    # Largest group first.
    totals = [int(r[1]) + int(r[2]) for r in rows[1:]]
    assert totals == sorted(totals, reverse=True)


def test_overview_matrix_one_table_transforms_by_backend_and_dtype(site: Path) -> None:
    docs = [fixture_doc(RUN_A), fixture_doc(RUN_B)]
    page = Page(site / "index.html")
    (table,) = [t for t in page.tables if "conformance-overview" in t["classes"]]
    header, *rows = [[c["text"] for c in row] for row in table["rows"]]
    backends = ["torch", "jax", "numpy"]
    dtypes = {b: sorted({c["dtype"] for d in docs for c in d["checks"] if c["backend"] == b}) for b in backends}
    columns = [(b, dt, run) for b in backends for dt in dtypes[b] for run in range(len(docs))]
    names = ["cpu-local", "gpu-box"]
    assert header == ["Transform", *[f"{b} {dt} {names[run]}" for b, dt, run in columns]]
    transforms = list(dict.fromkeys(c["transform"] for d in docs for c in d["checks"]))
    assert sorted(r[0] for r in rows) == sorted(transforms)
    for transform, *cells in rows:
        expected = []
        for b, dt, run in columns:
            counts = Counter(
                c["status"]
                for c in docs[run]["checks"]
                if (c["backend"], c["transform"], c["dtype"]) == (b, transform, dt)
            )
            expected.append(" ".join(f"{SYMBOL[s]} {counts[s]}" for s in STATUS_ORDER if counts[s]) or "—")
        assert cells == expected, transform
    cond = next(r for r in table["rows"] if r[0]["text"] == "cond")
    torch64 = columns.index(("torch", "float64", 1)) + 1
    assert cond[torch64]["text"] == "⚠ 1"
    assert cond[torch64]["links"] == ["checks.html#cell-torch-cond-float64"]
    html = (site / "index.html").read_text(encoding="utf-8")
    overview = html[html.index("conformance-overview") :]
    assert re.search(r'class="[^"]*sd-bg-warning[^"]*"[^>]*><span[^>]*>⚠ 1</span>', overview)
    assert re.search(r'class="[^"]*sd-bg-info[^"]*"[^>]*><span[^>]*>⊘ 1</span>', overview)


def test_headline_links_known_deviations_and_skips(site: Path) -> None:
    figures = {r[0]: r[1:] for r in Page(site / "index.html").tables_with_class("conformance-headline")[0]}
    assert figures["Known deviations"] == [
        "2 expected failures, 1 stale (xpass)",
        "1 expected failure, 2 stale (xpass)",
    ]
    skipped = [sum(c["status"] == "skip" for c in fixture_doc(run)["checks"]) for run in (RUN_A, RUN_B)]
    assert figures["Not checked"] == [f"{n} skipped, with reasons" for n in skipped]
    assert "deviations.html" in Page(site / "index.html").links


def test_recorded_paths_are_shown_relative_to_the_results_project(tmp_path: Path) -> None:
    sys.path.insert(0, str(report.DOCS_DIR / "_ext"))
    from conformance_report.model import Run, project_path

    results = tmp_path / "proj" / "reports" / "results" / "run-x.json"
    run = Run(0, "x", results, {})
    assert project_path(run, tmp_path / "proj" / "conformance" / "inputs" / "manifests" / "torch.toml") == (
        "conformance/inputs/manifests/torch.toml"
    )
    assert (
        project_path(run, f"{tmp_path}/proj/conformance/inputs/manifests/torch.toml:15")
        == "conformance/inputs/manifests/torch.toml:15"
    )
    assert project_path(run, "/elsewhere/data/000_e8cb2923.txt") == "000_e8cb2923.txt"
    assert project_path(run, "conformance/claims/article/data/a.md") == "conformance/claims/article/data/a.md"
    loose = Run(0, "x", tmp_path / "run-x.json", {})
    assert project_path(loose, "/work/main/conformance/manifests/torch.toml:5") == "torch.toml:5"
    assert project_path(loose, "") == ""


# -- runs of different libraries side by side (a third-party library gated alone) ---------------------------

MYLIB_UNSUPPORTED = {"vmap": "mylib has no vmap", "hessian": "mylib has no hessian"}
MYLIB_FINDING = {
    "spec": ["grad_value", "cond_value"], "function": ["square", "piecewise"], "dtype": "*", "variant": "*",
    "reason": "mylib differentiates integer branches to zero", "no_upstream": "none filed yet; reproduce with mylib.grad",
    "link": "", "versions": "", "source": "mylib.toml:1",
}


def third_party_run() -> dict:
    """Run A's torch checks as if a library "mylib" had produced them, alone, with what it lacks declared.

    Its vmap and hessian checks become skips with the declared reason, its xfails carry a manifest entry with
    list patterns and no upstream link, and the shipped article is recorded as not applicable.
    """
    doc = copy.deepcopy(fixture_doc(RUN_A))
    doc["run"]["label"], doc["run"]["id"] = "mylib-run", "20261130T080000Z-9999"
    env = doc["backends"]["torch"]
    env.update(backend="mylib", library="mylib", version="0.3.1")
    env["conventions"] = {**env["conventions"], "unsupported": MYLIB_UNSUPPORTED, "scan_api": "", "jit_api": ""}
    doc["backends"] = {"mylib": env}
    checks = []
    for check in doc["checks"]:
        if check["backend"] != "torch":
            continue
        check.update(backend="mylib", library_version="0.3.1")
        check["test_id"] = check["test_id"].replace("torch-", "mylib-")
        if check["transform"] in MYLIB_UNSUPPORTED:
            check.update(status="skip", message=MYLIB_UNSUPPORTED[check["transform"]], details={})
        if check["status"] == "xfail":
            check["details"] = {"deviation": MYLIB_FINDING}
        checks.append(check)
    doc["checks"] = checks
    doc["claims"] = []
    doc["articles"] = [{"id": "e8cb2923", "title": "t", "path": "p",
                        "not_applicable": "the article is about jax, torch; this run checked mylib_adapter:MyLib"}]
    return doc


@pytest.fixture(scope="session")
def mixed_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    base = tmp_path_factory.mktemp("mixed-results")
    third = third_party_run()
    path = write_json(base / "run-mylib.json", third)
    out = tmp_path_factory.mktemp("site-mixed")
    report.build([RUN_A, path], out)
    return out, [fixture_doc(RUN_A), third]


def test_runs_of_different_libraries_leave_no_empty_column(mixed_site: tuple[Path, list[dict]]) -> None:
    site, docs = mixed_site
    page = Page(site / "index.html")
    (table,) = [t for t in page.tables if "conformance-overview" in t["classes"]]
    header, *rows = [[c["text"] for c in row] for row in table["rows"]]
    for i, name in enumerate(header[1:], start=1):
        assert any(row[i] != "—" for row in rows), f"column {name!r} is empty"
    assert sum("mylib" in h for h in header) == len({c["dtype"] for c in docs[1]["checks"]})
    assert not any("torch" in h and "mylib-run" in h for h in header)
    # The per-backend matrix has a column for each run that checked the library, and only those.
    matrix_headers = [t["rows"][0] for t in page.tables if "conformance-matrix" in t["classes"]]
    for cells in matrix_headers:
        assert not any("not in this run" in c["text"] for c in cells), cells


def test_per_library_rates_keep_skips_and_deviations_apart(mixed_site: tuple[Path, list[dict]]) -> None:
    site, docs = mixed_site
    rows = Page(site / "index.html").tables_with_class("conformance-backends")[0]
    header, *body = rows
    assert header[:2] == ["Backend", "Run"]
    by_key = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in body}
    assert set(by_key) == {("torch", "cpu-local"), ("jax", "cpu-local"), ("numpy", "cpu-local"), ("mylib", "mylib-run")}
    for (backend, _), row in by_key.items():
        doc = docs[1] if backend == "mylib" else docs[0]
        counts = Counter(c["status"] for c in doc["checks"] if c["backend"] == backend)
        ran = counts["pass"] + counts["fail"] + counts["error"]
        assert row["Pass rate (of checks that ran)"] == f"{100 * counts['pass'] / ran:.1f} % ({counts['pass']} of {ran})"
        assert row["Not offered (skip)"] == str(counts["skip"])
        assert row["Known deviations (xfail)"] == str(counts["xfail"])
        assert row["Fail / error / xpass"] == str(counts["fail"] + counts["error"] + counts["xpass"])
    count, names = by_key[("mylib", "mylib-run")]["Transforms offered"].split(": ", 1)
    # vmap and hessian declared unsupported, scan and jit with empty API names: the other seven are offered.
    assert count == "7 of 11"
    assert names.split(", ") == ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "cond"]
    assert by_key[("torch", "cpu-local")]["Transforms offered"].startswith("9 of 11")  # torch's fixture: no scan, jit
    assert by_key[("mylib", "mylib-run")]["Library"] == "mylib 0.3.1"


def test_findings_with_list_patterns_and_no_upstream_render(mixed_site: tuple[Path, list[dict]]) -> None:
    site, _ = mixed_site
    page = Page(site / "deviations.html")
    assert "mylib: grad_value | cond_value · square | piecewise" in page.text
    fields = {r[0]: r[1] for t in page.tables_with_class("conformance-deviation") for r in t}
    assert "none: none filed yet; reproduce with mylib.grad" in page.text
    assert fields["Upstream"]
    env = Page(site / "environment.html").text
    assert "vmap: mylib has no vmap" in env and "hessian: mylib has no hessian" in env


def test_an_article_not_applicable_is_said_so_and_the_intro_names_no_library(
        mixed_site: tuple[Path, list[dict]]) -> None:
    site, _ = mixed_site
    figures = {r[0]: r[1:] for r in Page(site / "index.html").tables_with_class("conformance-headline")[0]}
    assert figures["Article coverage"][1].startswith("e8cb2923: not applicable (the article is about jax, torch")
    text = Page(site / "index.html").text
    intro = text[text.index("Transform conformance report"):text.index("The article, claim by claim")]
    assert not any(name in intro for name in ("torch", "JAX", "jax", "MLX", "autograd")), intro
