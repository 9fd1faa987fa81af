"""Claims files and manifests are validated completely before any work: file:line: problem (fix), every problem
at once, printed once, exit status 2, and no battery or snippet process started."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import __main__ as entry
from conformance.claims.article import evidence
from conformance.claims.article.claims import ClaimsError, load
from conformance.inputs import manifest
from conformance.inputs.validation import line_of, toml_lines
from conformance.run import runner

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = "Hello world. torch.func has grad.\nIt prints 42.\n\n```python\nprint(42)\n```\n"
HEAD = '[article]\nid = "a"\ntitle = "t"\npath = "a.md"\n\n'
SNIPPET = '[[snippet]]\nid = "s"\ntarget = "python"\ncode = "print(42)"\n\n'
CLAIM = '[[claim]]\nid = "x"\nquote = "torch.func has grad"\nparaphrase = "p"\nkind = "advice"\n'
PRINTED = ('[[claim]]\nid = "p42"\nquote = "It prints 42."\nparaphrase = "p"\nkind = "printed-value"\n'
           'snippet = "s"\nexpect_printed = ["42"]\n')


def claims_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "a.md").write_text(ARTICLE, encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def line_of_text(path: Path, needle: str, nth: int = 1) -> int:
    """The line of the ``nth`` occurrence of ``needle``: the tests say where a problem is by what is written there."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


def problems(path: Path) -> list[str]:
    with pytest.raises(ClaimsError) as info:
        load(path)
    assert info.value.messages == str(info.value).splitlines()
    return info.value.messages


# ---------------------------------------------------------------------------------------------- claims


def test_quoted_array_headers_and_inline_arrays_of_claims_are_read_not_dropped(tmp_path: Path) -> None:
    quoted = claims_file(tmp_path, CLAIM.replace("[[claim]]", '[["claim"]]'))
    cf = load(quoted)
    assert [c.id for c in cf.claims] == ["x"] and cf.claims[0].header_line == 6
    inline = tmp_path / "inline.toml"
    inline.write_text('claim = [{ id = "x", quote = "torch.func has grad", paraphrase = "p", kind = "advice" }]\n'
                      + HEAD, encoding="utf-8")  # before [article]: a key after a header belongs to that table
    assert [c.id for c in load(inline).claims] == ["x"]
    wrong = claims_file(tmp_path, CLAIM.replace("[[claim]]", '[["claim"]]').replace('"advice"', '"advise"'))
    assert problems(wrong) == [f"{wrong}:10: claim 'x' kind: unknown kind 'advise' (one of api-existence, version, "
                               "signature, example-runs, printed-value, proposition, performance, advice; "
                               "did you mean 'advice'?)"]


@pytest.mark.parametrize(("body", "needle", "message"), [
    (SNIPPET + PRINTED.replace('["42"]', '"42"'), "expect_printed",
     'claim \'p42\' expect_printed must be an array of strings, one per printed line ("*": any), got a string "42" '
     '(write e.g. expect_printed = ["4.0", "*"])'),
    (CLAIM.replace('"advice"', '"api-existence"') + 'apis = "os.path"\n', "apis =",
     "claim 'x' apis must be an array of dotted API names, got a string \"os.path\""),
    (CLAIM + "occurrence = \"2\"\n", "occurrence", "claim 'x' occurrence must be a positive integer (1-based)"),
    (CLAIM + 'absent = "yes"\n', "absent", "claim 'x' absent must be true or false, got a string \"yes\""),
    (SNIPPET.replace('code = "print(42)"', 'code = "print(42)"\nlines = "5-5"'), "lines =",
     "snippet 's' lines must be [first, last]: two positive line numbers"),
    (CLAIM + 'paraphrse = "p"\n', "paraphrse", "claim 'x': unknown key 'paraphrse' (did you mean 'paraphrase'?)"),
    (SNIPPET + PRINTED.replace('snippet = "s"', 'snippet = "ss"'), 'snippet = "ss"',
     "claim 'p42': snippet 'ss' is not defined (did you mean 's'?)"),
    (CLAIM.replace('"advice"', '"proposition"') + 'backends = ["torch"]\ncounter = "jvp-returns-gra"\n'
     'proposition = "def holds(x, v):\\n    return True\\n"\n', "counter =",
     "claim 'x': counter 'jvp-returns-gra' is not registered (did you mean 'jvp-returns-grad'?)"),
    (CLAIM.replace('"advice"', '"proposition"') + 'backends = "torch"\ncounter = "jvp-returns-grad"\n'
     'proposition = "def holds(x, v):\\n    return True\\n"\n', "backends =",
     "claim 'x' backends must be an array of backend names, got a string \"torch\""),
    (CLAIM.replace('"advice"', '"proposition"') + 'backends = ["torch"]\ncounter = "jvp-returns-grad"\n'
     'proposition = "def check(x, v):\\n    return True\\n"\n', "proposition =",
     "claim 'x': proposition defines no function holds(x, v)"),
    (SNIPPET + '[[snippet.fix]]\nbackend = "python"\nidiom = "i"\ncode = "print(1)"\nexpect = "(unclosed"\n' + CLAIM,
     "expect =", "fix expect is not a regular expression: missing ), unterminated subpattern"),
    (SNIPPET + PRINTED + 'reference = [{ index = 2, op = "grad", function = "square", x = 2.0 }]\n', "reference",
     "claim 'p42': reference index 2 but expect_printed has only 1 line(s)"),
    (CLAIM + 'sources = ["javascript:alert(1)"]\n', "sources", "claim 'x' sources #1 must be an http(s) URL"),
    (CLAIM.replace('"advice"', '"performance"') + 'measure = { baseline = "torch.autograd.grad", '
     'alternatives = ["torch.func.grad"], within = "fast" }\n', "measure",
     "claim 'x' measure within must be a positive number, got a string \"fast\""),
    (CLAIM.replace('"advice"', '"printed-value"'), "[[claim]]", "claim 'x': kind 'printed-value' needs field 'snippet'"),
])
def test_each_claims_problem_names_file_line_and_fix(tmp_path: Path, body: str, needle: str, message: str) -> None:
    path = claims_file(tmp_path, body)
    found = problems(path)
    expected = f"{path}:{line_of_text(path, needle)}: {message}"
    assert [m for m in found if m.startswith(expected)], found


def test_every_problem_of_a_claims_file_is_reported_at_once(tmp_path: Path) -> None:
    body = (SNIPPET + PRINTED.replace('["42"]', '"42"')
            + CLAIM.replace('id = "x"', 'id = "y"') + 'apis = "os.path"\noccurence = 2\n')
    path = claims_file(tmp_path, body)
    found = problems(path)
    assert [int(m.split(":")[1]) for m in found] == [line_of_text(path, "expect_printed"),
                                                     line_of_text(path, "apis ="), line_of_text(path, "occurence")]
    assert len(found) == len(set(found))


# ---------------------------------------------------------------------------------------------- manifests


def manifest_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD_ENTRY = '[[deviation]]\nspec = "cond_grad"\nreason = "r"\nlink = "https://example.org/issue"\n'


@pytest.mark.parametrize(("body", "needle", "message"), [
    (GOOD_ENTRY + "versions = 5\n", "versions",
     'deviation #1 versions must be a PEP 440 specifier string, got the number 5 (write e.g. versions = ">=2.5,<3")'),
    (GOOD_ENTRY.replace("[[deviation]]", "[deviation]"), "[deviation]",
     "deviation must be [[deviation]] tables (an array of tables, not a single [deviation]), got a table"),
    (GOOD_ENTRY + 'versions = "two"\n', "versions", "deviation #1: versions 'two' is not a PEP 440 specifier"),
    (GOOD_ENTRY.replace("cond_grad", "cond_grd"), "spec",
     "deviation #1: spec 'cond_grd' names no spec in conformance.battery.specs.REGISTRY (did you mean 'cond_grad'?)"),
    (GOOD_ENTRY.replace("https://example.org/issue", "javascript:alert(1)"), "link",
     'deviation #1 link must be an http(s) URL of the upstream discussion, got a string "javascript:alert(1)"'),
    (GOOD_ENTRY + 'functon = "f"\n', "functon", "deviation #1: unknown key 'functon' (did you mean 'function'?)"),
    (GOOD_ENTRY + "\n" + GOOD_ENTRY.replace('link = "https://example.org/issue"\n', ""), "[[deviation]]",
     "deviation #2 needs exactly one of link (the upstream discussion) and no_upstream (why there is none)"),
    (GOOD_ENTRY.replace('link = "https://example.org/issue"\n', 'link = "https://example.org/issue"\nno_upstream = "n"\n'),
     "[[deviation]]", "deviation #1 needs exactly one of link (the upstream discussion) and no_upstream"),
    (GOOD_ENTRY + 'function = ["f", 3]\n', "function", "deviation #1 function"),
])
def test_each_manifest_problem_names_file_line_and_fix(tmp_path: Path, body: str, needle: str, message: str) -> None:
    path = manifest_file(tmp_path, body)
    with pytest.raises(manifest.ManifestError) as info:
        manifest.load(path)
    nth = 2 if "#2" in message else 1
    expected = f"{path}:{line_of_text(path, needle, nth)}: {message}"
    assert [m for m in info.value.messages if m.startswith(expected)], info.value.messages


def test_shipped_manifests_and_claims_are_valid() -> None:
    for path in sorted(manifest.MANIFEST_DIR.glob("*.toml")):
        manifest.validate(path)
    assert len(load(ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml").claims) >= 55


# ---------------------------------------------------------------------------------------------- before any work


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any attempt to start a battery or snippet process (there must be none)."""
    started: list[str] = []
    monkeypatch.setattr(runner, "run_battery", lambda *a, **k: started.append("battery") or [])
    monkeypatch.setattr(evidence, "run_all", lambda *a, **k: started.append("snippets") or ({}, {}))
    return started


def test_check_article_stops_before_any_snippet(tmp_path: Path, no_work: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = claims_file(tmp_path, SNIPPET + PRINTED.replace('["42"]', '"42"'))
    assert entry.main(["check-article", str(tmp_path / "a.md"), str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{path}:{line_of_text(path, 'expect_printed')}: claim 'p42' expect_printed") == 1
    assert "nothing was run" in err and no_work == []


def test_run_stops_before_any_battery_process(tmp_path: Path, no_work: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = manifest_file(tmp_path, GOOD_ENTRY + "versions = 5\n")
    assert entry.main(["run", "--backend", "numpy", "--backend", "torch", "--manifest", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{bad}:5: deviation #1 versions") == 1 and no_work == []


def test_all_checks_the_shipped_claims_first(tmp_path: Path, no_work: list[str], monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.claims.article import cli

    path = claims_file(tmp_path, CLAIM + 'apis = "os.path"\n')
    monkeypatch.setattr(cli, "SHIPPED_CLAIMS", path)
    assert entry.main(["all", "--backend", "numpy", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line_of_text(path, 'apis')}: claim 'x' apis must be an array" in err and no_work == []


def test_a_bad_manifest_is_reported_once_for_every_shard_and_quickly(tmp_path: Path) -> None:
    """Through the real command line, with two backends (two battery processes if anything started)."""
    bad = manifest_file(tmp_path, GOOD_ENTRY.replace("[[deviation]]", "[deviation]"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--backend", "numpy", "--backend", "torch",
                           "--manifest", str(bad), "--out", str(tmp_path / "run.json")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count(f"{bad}:1: deviation must be [[deviation]] tables") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "reports").exists() and not (tmp_path / "run.json").exists()
    assert elapsed < 15, elapsed  # a battery process alone takes longer than this to import torch and collect


# ---------------------------------------------------------------------------------------------- positions


def test_toml_lines_skip_strings_and_reset_nested_arrays() -> None:
    text = ('[[snippet]]\nid = "a"\ncode = """\n[[snippet]]\nx = 1\n"""\n[[snippet.fix]]\nexpect = "e"\n'
            "[[ snippet ]] # second\nid = 'b'\n[[snippet.fix]]\nexpect = '''\n'''\n[[\"snippet\".fix]]\nexpect = 1\n"
            'claim = [\n  { id = "c" },\n  { id = "d", specs = [1,\n 2] },\n]\n')
    lines = toml_lines(text)
    assert lines[("snippet", 0)] == 1 and lines[("snippet", 0, "code")] == 3
    assert lines[("snippet", 0, "fix", 0, "expect")] == 8
    assert lines[("snippet", 1)] == 9 and lines[("snippet", 1, "id")] == 10
    assert lines[("snippet", 1, "fix", 0)] == 11 and lines[("snippet", 1, "fix", 1, "expect")] == 15
    assert ("snippet", 2) not in lines
    claim = ("snippet", 1, "fix", 1, "claim")  # a key after [["snippet".fix]] belongs to that table
    assert lines[(*claim, 1, "id")] == 18 and lines[(*claim, 1, "specs", 1)] == 19
    assert line_of(lines, (*claim, 0, "missing", 3)) == 17


def test_list_patterns_and_no_upstream_load_and_match_any_of_their_patterns(tmp_path: Path) -> None:
    """One upstream finding is one entry however many functions it reaches."""
    path = manifest_file(tmp_path, '[[deviation]]\nspec = ["grad_value", "jvp_*"]\nfunction = ["sin_sum", "exp_mean"]\n'
                                   'reason = "r"\nno_upstream = "none found; reproduce: f(x)"\n')
    (dev,) = manifest.load(path)
    assert dev.matches("jvp_value", "exp_mean", "float64", "") and dev.matches("grad_value", "sin_sum", "float32", "")
    assert not dev.matches("vjp_value", "sin_sum", "float64", "") and not dev.matches("grad_value", "prod", "float64", "")
    assert dev.upstream.startswith("no upstream issue: none found") and dev.to_json()["function"] == ["sin_sum", "exp_mean"]
