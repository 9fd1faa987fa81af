"""check-doc's honest accounting (issue 21): cells that raised counted as raised, failures the machine causes
(no GPU, a package not installed, no network) told apart from the document's own and from the cells that fail only
because of them, ``--device-map cuda=cpu``, IPython magics run as the Python they stand for, each distinct transform
call checked once and after its cell, and the checks a page shows (a trailing ``allclose``, an ``assert``) judged.

The first half needs no sandbox; the second runs the fixture documents in ``tests/fixtures/docs``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.claims.article import bwrap
from conformance.claims.documents import asserts, causes, cli, downstream, magics, options, protocol, registry, session
from conformance.claims.documents.inside import devices, ledger

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"
needs_sandbox = pytest.mark.skipif(not bwrap.available().ok and not os.environ.get("CI"),
                                   reason=f"bubblewrap cannot run here: {bwrap.available().why}")


# --- environment causes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "message", "cause"), [
    ("AssertionError", "Torch not compiled with CUDA enabled", "no CUDA"),
    ("RuntimeError", "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU", "no CUDA"),
    ("RuntimeError", "Unknown backend: 'gpu' requested, but no platforms that are instances of gpu are present. "
                     "Platforms present are: cpu", "no CUDA"),
    ("RuntimeError", "Unknown backend cuda. Available backends are ['cpu']", "no CUDA"),
    ("RuntimeError", "PyTorch is not linked with support for mps devices", "no mps device"),
    ("ModuleNotFoundError", "No module named 'tc_fixture_missing_pkg.sub'", "package not installed: tc_fixture_missing_pkg"),
    ("urllib.error.URLError", "<urlopen error [Errno -3] Temporary failure in name resolution>", "no network"),
    ("socket.gaierror", "[Errno -2] Name or service not known", "no network"),
    ("ConnectionRefusedError", "[Errno 111] Connection refused", "no network"),
    ("requests.exceptions.ConnectionError", "HTTPSConnectionPool(host='x.org'): Max retries exceeded", "no network"),
])
def test_environment_causes_are_read_from_the_exception(kind: str, message: str, cause: str) -> None:
    found = causes.cause_of({"type": kind, "message": message, "line": 1})
    assert found is not None and found.name == cause and found.fix


@pytest.mark.parametrize(("kind", "message"), [
    ("ZeroDivisionError", "division by zero"),
    ("NameError", "name 'x' is not defined"),
    ("ModuleNotFoundError", "No module named 'torch.func.not_a_module'"),  # torch is installed: the document's error
    ("ImportError", "cannot import name 'gradd' from 'torch.func'"),
    ("AssertionError", "the loss went up"),
    ("MemoryError", ""),
])
def test_the_documents_own_errors_have_no_environment_cause(kind: str, message: str) -> None:
    assert causes.cause_of({"type": kind, "message": message, "line": 1}) is None


def test_a_new_cause_is_one_registered_matcher() -> None:
    before = list(causes.PATTERNS)
    try:
        causes.environment("no licence server", "start the licence server")(lambda kind, msg: "licence" in msg)
        found = causes.cause_of({"type": "RuntimeError", "message": "licence checkout failed"})
        assert found == causes.Cause("no licence server", "start the licence server")
    finally:
        causes.PATTERNS[:] = before


def _raised(kind: str, message: str, statement_line: int = 1) -> dict[str, Any]:
    return {"status": "raised", "exception": {"type": kind, "message": message, "line": statement_line,
                                              "statement_line": statement_line}}


def test_downstream_cells_trace_back_to_the_one_cause() -> None:
    sources = ["import torch\ndevice = 'cuda'", "a = 1\nw = torch.ones(3, device=device)\nb = 2",
               "print(a)\nprint(w)", "print(b)", "x = torch.zeros(2, device=device)", "print(typo)", "v = w + 1",
               "print(v)"]
    records: list[dict[str, Any] | None] = [
        {"status": "ok"}, _raised("AssertionError", "Torch not compiled with CUDA enabled", 2),
        _raised("NameError", "name 'w' is not defined", 2), _raised("NameError", "name 'b' is not defined"),
        _raised("AssertionError", "Torch not compiled with CUDA enabled"), _raised("NameError", "name 'typo' is not defined"),
        _raised("NameError", "name 'w' is not defined"), _raised("NameError", "name 'v' is not defined")]
    fates = downstream.trace(sources, records)
    assert sorted(fates) == [1, 2, 3, 4, 6, 7]  # cell 5's typo is the document's own
    assert not fates[1].downstream and fates[1].cause.name == "no CUDA"
    assert all(fates[i].downstream and fates[i].root == 1 for i in (2, 3, 4, 6, 7))
    assert fates[2].label("cell 3") == "downstream of cell 3 (environment: no CUDA)"


def test_names_a_failed_cell_would_have_bound_start_at_the_failing_statement() -> None:
    source = "import numpy as np\nfrom os import path as p\nx = 1\ndef f():\n    y = 2\nfor i, (j, k) in []:\n    pass"
    assert downstream.unbound_after_failure(source, None) == {"np", "p", "x", "f", "i", "j", "k"}
    assert downstream.unbound_after_failure(source, 3) == {"x", "f", "i", "j", "k"}


# --- IPython magics ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "python"), [
    ("%timeit f(x)\ndef f(x):\n    return x", "for __timeit_once__ in (0,): f(x)\ndef f(x):\n    return x"),
    ("%timeit -n 10 -r 3 f(x)", "for __timeit_once__ in (0,): f(x)"),
    ("%time y = f(x)", "y = f(x)"),
    ("%%timeit -n 5 x = setup()\nf(x)", "x = setup()\nf(x)"),
    ("%%time\ny = f(1)\nprint(y)", "pass\ny = f(1)\nprint(y)"),
    ("%matplotlib inline\nimport numpy", "pass\nimport numpy"),
    ("!pip install torchvision\nimport os", "pass\nimport os"),
    ("if True:\n    %time f(x)", "if True:\n    f(x)"),
    ("f?\nx = 1", "pass\nx = 1"),
    ("y = (3\n% 2)\n", "y = (3\n% 2)\n"),  # Python: the modulo operator on a continuation line
    ("y = (3\n% 2)\n%time z = y", "y = (3\n% 2)\nz = y"),
])
def test_magics_become_their_python_line_for_line(source: str, python: str) -> None:
    prepared = magics.prepare(source)
    assert prepared.python == python and not prepared.skipped
    assert prepared.python.count("\n") == source.count("\n")


def test_shell_installs_are_kept_and_other_cell_magics_skip_the_cell() -> None:
    prepared = magics.prepare("!pip install -q 'tc-fixture-pkg[extra]>=1.0' numpy\n%pip install other-thing")
    assert prepared.installs == ["tc_fixture_pkg", "numpy", "other_thing"]
    assert prepared.notes[0] == "shell line not run: !pip install -q 'tc-fixture-pkg[extra]>=1.0' numpy"
    assert magics.prepare("%%bash\necho hi").skipped == "the cell magic %%bash is not Python"


def test_a_notebook_cell_with_magics_runs_and_its_stored_timings_are_not_compared() -> None:
    (doc,) = registry.read(str(FIX / "magics.ipynb"))
    timed = doc.cells[3]
    assert timed.code == "pass\ny = f(1.0)\nprint(y)" and [e.text for e in timed.expected] == ["3.0"]
    assert doc.cells[1].expected == []  # %timeit's stored line is a timing: nothing to compare
    assert doc.cells[4].skipped and doc.cells[5].installs == ["tc_fixture_missing_pkg"]


# --- options, devices, protocol, the ledger ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["cuda", "cuda=", "=cpu", "cuda=cpu=x", "quantum=cpu", "cuda=cuda", "cuda:x=cpu"])
def test_a_malformed_device_map_is_refused(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--device-map cuda=cpu"):
        options.device_map_entry(value)


def test_device_map_values_are_checked_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.__main__ import main

    monkeypatch.setattr(session, "run_document", lambda *a, **k: pytest.fail("a document ran"))
    doc = tmp_path / "d.md"
    doc.write_text("```python\nprint(1)\n```\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["check-doc", str(doc), "--device-map", "cuda"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device-map" in err[0] and "cuda=cpu" in err[0], err
    assert main(["check-doc", str(doc), "--device-map", "cuda=cpu", "--device-map", "cuda=mps"]) == 2
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 1 and "maps cuda twice" in lines[0], lines


def test_device_mapping_reads_cuda_and_gpu_alike() -> None:
    m = devices.Mapping({"cuda": "cpu", "mps:1": "cpu"})
    assert [m.target(s) for s in ("cuda", "cuda:0", "gpu", "cpu", "mps:0", "mps:1")] == \
        ["cpu", "cpu", "cpu", None, None, "cpu"]


def test_the_protocol_takes_the_new_fields_and_checks_their_types() -> None:
    start = {"type": "start", "cell": 0}
    cell = {"type": "cell", "cell": 0, "status": "raised", "display": None, "statements": {}, "duration_s": 0.1,
            "stdout": "", "stderr": "", "dropped_chars": 0, "value": "False",
            "exception": {"type": "AssertionError", "message": "", "line": 3, "statement_line": 2},
            "transform_calls": {"calls": 500, "distinct": 1, "checked": 1, "over_cap": 0}}
    derivative = {"type": "derivative", "cell": 0, "line": 1, "transform": "jax.grad", "status": "unverifiable",
                  "reason": "traced", "calls": 500}
    ev = protocol.accept([start, derivative, cell], skipped=[False], libraries=[], finished=True)
    assert ev.cells[0]["transform_calls"]["calls"] == 500 and ev.derivatives[0]["calls"] == 500
    for bad in ({**cell, "transform_calls": {"calls": -1, "distinct": 1, "checked": 1, "over_cap": 0}},
                {**cell, "exception": {**cell["exception"], "statement_line": "two"}}, {**cell, "value": 3}):
        with pytest.raises(protocol.Violation):
            protocol.accept([start, bad], skipped=[False], libraries=[], finished=True)


def test_the_ledger_counts_every_call_and_queues_a_check_per_distinct_call_under_the_cap() -> None:
    book = ledger.Ledger()
    book.begin()
    x = np.arange(3.0)
    sent: list[int] = []
    for _ in range(500):
        f = lambda v: v ** 3  # noqa: E731 - a new, identical function on every pass
        k = ledger.key("jax.grad", (0, 4), f, ((), {}), ((x.copy(),), {}))
        if book.admit(k):
            book.defer(k, lambda calls: sent.append(calls) or True)
    for i in range(10):
        k = ledger.key("jax.grad", (0, 9), f, ((), {}), ((x + i,), {}))
        if book.admit(k):
            book.defer(k, lambda calls: sent.append(calls) or True)
    assert len(book.queue) == 4  # nothing ran yet: the checks wait for the cell's end
    assert sent == []
    book.drain()
    assert sent == [500, 1, 1, 1]  # each job learns how many identical calls it stands for
    assert book.counts == {"calls": 510, "distinct": 11, "checked": 4, "over_cap": 7}


def test_a_snapshot_keeps_the_values_of_the_call() -> None:
    x = np.ones(3)
    copy = ledger.snapshot(({"x": x}, [x]))
    x *= 5
    assert copy[0]["x"].tolist() == [1.0, 1.0, 1.0] and copy[1][0].tolist() == [1.0, 1.0, 1.0]
    assert ledger.fingerprint((np.ones(3),)) == ledger.fingerprint((np.ones(3),)) != ledger.fingerprint((x,))


@pytest.mark.parametrize(("shown", "value"), [("False", False), ("np.False_", False), ("tensor(True)", True),
                                              ("Array(False, dtype=bool)", False), ("tensor([True, False])", None),
                                              ("torch.Size([2])", None)])
def test_shown_truth_values(shown: str, value: bool | None) -> None:
    assert asserts.truth(shown) is value


def test_the_console_counts_cells_that_raised_as_raised() -> None:
    cells = [{"index": 0, "status": "ok"}, {"index": 1, "status": "raised", "environment": "no CUDA", "label": "cell 3"},
             {"index": 2, "status": "raised", "environment": "no CUDA", "downstream_of": 1},
             {"index": 3, "status": "raised"}]
    rec = {"source": "t.ipynb", "file": "t.ipynb", "status": "ok", "reason": "", "duration_s": 1.0, "cells": cells,
           "claims": [], "summary": {}, **cli.summary.cell_counts(cells)}
    (line,) = cli.summary_lines([rec])
    assert "1/4 cells ran to the end, 3 raised (cell 3: environment (no CUDA), 1 downstream of it)" in line
    assert "4/4" not in line


# --- end to end, in the sandbox ----------------------------------------------------------------------------------

DRIFT = """import torch
from torch.func import grad

w = torch.tensor([1.0, 2.0])

def f(x):
    return (w * x).sum()

g = grad(f)(torch.ones(2))
w.mul_(3.0)"""

JAX_GPU = "import jax\nimport jax.numpy as jnp\nprint(jax.devices('gpu')[0].platform == 'cpu')  # True"


def _md(tmp: Path, name: str, code: str) -> str:
    path = tmp / name
    path.write_text(f"```python\n{code}\n```\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("accounting")
    paths = [str(FIX / n) for n in ("gpu_tutorial.ipynb", "magics.ipynb", "timing_loops.md", "checks.md")]
    paths += [_md(tmp, "drift.md", DRIFT), _md(tmp, "jax_gpu.md", JAX_GPU)]
    docs = [d for p in paths for d in registry.read(p)]
    found = {Path(r["source"]).name: r for r in cli.check(docs, timeout=120, jobs=2, run_skipped=False)}
    mapped = [d for p in (paths[0], paths[-1]) for d in registry.read(p)]
    for r in cli.check(mapped, timeout=120, jobs=2, run_skipped=False, device_map={"cuda": "cpu"}):
        found["mapped:" + Path(r["source"]).name] = r
    return found


def _claims(rec: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in rec["claims"] if c["kind"] == kind]


@needs_sandbox
def test_a_gpu_tutorial_on_a_cpu_machine_names_the_cause_once(records: dict[str, dict[str, Any]]) -> None:
    rec = records["gpu_tutorial.ipynb"]
    assert [c["verdict"] for c in _claims(rec, "runs")] == ["true", "environment", "unverifiable", "unverifiable",
                                                           "true", "false"]
    env = _claims(rec, "runs")[1]
    assert env["reason"].startswith("environment: no CUDA (AssertionError: Torch not compiled with CUDA enabled)")
    assert "--device-map cuda=cpu" in env["reason"]
    assert [c.get("downstream_of") for c in _claims(rec, "runs")] == [None, None, 1, 1, None, None]
    assert _claims(rec, "runs")[2]["reason"].startswith("downstream of cell 3 (environment: no CUDA): NameError")
    shows = {c["cell"]: c["verdict"] for c in _claims(rec, "shows")}
    assert shows == {3: "unverifiable", 4: "true"}  # print(g.shape) could not run here; it is not false
    assert (rec["cells_run"], rec["cells_raised"]) == (2, 4)
    assert rec["environment"] == [{"cell": 1, "label": "cell 3", "line": rec["cells"][1]["line"], "cause": "no CUDA",
                                   "downstream": [2, 3]}]
    line = cli.summary_lines([rec])
    assert "2/6 cells ran to the end, 4 raised (cell 3: environment (no CUDA), 2 downstream of it)" in line[0]
    assert sum("runs environment" in ln for ln in line) == 1 and sum("runs false" in ln for ln in line) == 1


@needs_sandbox
def test_device_map_runs_the_gpu_tutorial_on_the_cpu(records: dict[str, dict[str, Any]]) -> None:
    rec = records["mapped:gpu_tutorial.ipynb"]
    assert [c["verdict"] for c in _claims(rec, "runs")] == ["true", "true", "true", "true", "true", "false"]
    assert [c["verdict"] for c in _claims(rec, "shows")] == ["true", "true"]
    (derivative,) = _claims(rec, "derivative-correct")
    assert derivative["verdict"] == "true"
    assert rec["reproducer"].endswith("--device-map cuda=cpu")
    assert records["mapped:jax_gpu.md"]["summary"]["shows"]["true"] == 1
    assert _claims(records["jax_gpu.md"], "runs")[0]["verdict"] == "environment"


@needs_sandbox
def test_the_device_map_is_recorded_in_the_run_header(tmp_path: Path) -> None:
    from conformance.__main__ import main

    out = tmp_path / "r.json"
    assert main(["check-doc", _md(tmp_path, "one.md", "print(1)  # 1"), "--device-map", "cuda=cpu",
                 "--out", str(out)]) == 0
    run = json.loads(out.read_text(encoding="utf-8"))["run"]
    assert run["device_map"] == {"cuda": "cpu"} and run["isolation"] in ("bwrap", "weak")
    assert run["documents"]["cells_raised"] == 0 and run["documents"]["cells_run"] == 1


@needs_sandbox
def test_notebook_magics_run_the_python_they_stand_for(records: dict[str, dict[str, Any]]) -> None:
    rec = records["magics.ipynb"]
    runs = [c["verdict"] for c in _claims(rec, "runs")]
    assert runs == ["true", "true", "true", "true", "unverifiable", "true", "environment", "unverifiable"]
    assert [c["verdict"] for c in _claims(rec, "shows")] == ["true", "true"]  # f is the f of the %timeit cell
    env = _claims(rec, "runs")[6]
    assert "package not installed: tc_fixture_missing_pkg" in env["reason"]
    assert "installs it in cell 7 with a shell line" in env["reason"]
    assert _claims(rec, "runs")[7]["downstream_of"] == 6
    assert rec["cells"][1]["notes"] == ["%timeit runs its statement once: f(1.0)"]


@needs_sandbox
def test_identical_transform_calls_are_checked_once_after_the_cell(records: dict[str, dict[str, Any]]) -> None:
    rec = records["timing_loops.md"]
    # The document counted 500 evaluations of f while its loop ran: no check evaluated f inside the timed loop.
    assert [c["verdict"] for c in _claims(rec, "shows")] == ["true"]
    derivatives = _claims(rec, "derivative-correct")
    assert [c["verdict"] for c in derivatives] == ["true"] * 5
    assert [c["evidence"].get("calls") for c in derivatives] == [500, None, None, None, 50]
    assert rec["transform_calls"] == {"calls": 560, "distinct": 12, "checked": 5, "over_cap": 7}
    assert "560 calls, 12 distinct, 5 checked" in cli.summary_lines([rec])[0]


@needs_sandbox
def test_a_function_whose_state_moved_after_the_call_is_checked_recomputed(records: dict[str, dict[str, Any]]) -> None:
    (claim,) = _claims(records["drift.md"], "derivative-correct")
    assert claim["verdict"] == "true" and "state changed" in claim["evidence"]["note"]
    assert claim["evidence"]["got"] == [3.0, 6.0]


@needs_sandbox
def test_checks_the_page_shows_are_claims(records: dict[str, dict[str, Any]]) -> None:
    rec = records["checks.md"]
    lines = (FIX / "checks.md").read_text(encoding="utf-8").splitlines()

    def at(text: str) -> int:
        return lines.index(text) + 1

    found = {(c["line"], c["verdict"]) for c in _claims(rec, "asserts")}
    assert found == {(at("torch.allclose(a, b)"), "false"), (at("torch.allclose(a, a * (1 + 1e-9))"), "true"),
                     (at('assert a.shape == (3,), "a has three elements"'), "false")}
    false = next(c for c in _claims(rec, "asserts") if c["line"] == at("torch.allclose(a, b)"))
    assert false["reason"].startswith("the page shows this check and it is False now")
    runs = {c["line"]: c for c in _claims(rec, "runs")}
    assert runs[at('assert a.shape == (3,), "a has three elements"')]["reason"] == \
        "an assertion failed: a has three elements"
    assert [c["verdict"] for c in _claims(rec, "shows")] == ["true"]  # the stated "false" is what it shows
    assert rec["cells"][-1]["value"] == "torch.Size([2])"
