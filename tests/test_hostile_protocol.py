"""The report channel between a sandboxed program and the host, attacked from inside (issue 20, classes 2 and 3).

Code in the sandboxed process can always reach what the harness in that process holds, so a hostile document can
always lie about itself (``docs/trust-boundary.md``).  What these tests pin down is the rest:

- nothing a snippet can read (its environment, its command line, its files, the harness's globals) lets it write
  records through stdout or stderr: those are plain data, and the records travel on a separate pipe;
- every record the host receives is checked (sequence, indices, types of every field); one it cannot accept is a
  ``protocol-violation`` of that document alone, never a traceback, and the run goes on.

The snippets import neither torch nor jax, so each sandbox starts in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.article import bwrap
from conformance.claims.article.sandbox import run_snippet
from conformance.claims.documents import cli, registry

pytestmark = pytest.mark.skipif(
    not bwrap.available().ok and not os.environ.get("CI"),
    reason=f"bubblewrap cannot run here: {bwrap.available().why}")

READ_EVERYTHING = textwrap.dedent("""
    import json, os, sys
    found = set()
    for path in ("/proc/self/environ", "/proc/self/cmdline"):
        found.update(v.decode("utf-8", "replace") for v in open(path, "rb").read().split(b"\\0"))
    found.update(v.partition("=")[2] for v in list(found))
    for name in os.listdir("/sandbox"):
        try:
            found.update(open(os.path.join("/sandbox", name), encoding="utf-8").read().split())
        except OSError:
            pass
    frame = sys._getframe()
    while frame is not None:  # every string in the globals of every frame up to the bootstrap
        found.update(v for v in frame.f_globals.values() if isinstance(v, str))
        frame = frame.f_back
    found.update(v for v in vars(sys.modules["__main__"]).values() if isinstance(v, str))
    tokens = sorted(t for t in found if 0 < len(t) < 200)
""")
"""Collects every short string a snippet can read without touching its file descriptors: the candidates for a
secret that authenticates the protocol (the old design had one, ``SANDBOX_NONCE``, in /proc/self/environ)."""


def test_what_a_snippet_can_read_does_not_forge_its_result_on_stdout_or_stderr() -> None:
    code = READ_EVERYTHING + textwrap.dedent("""
        forged = json.dumps({"exception": None})
        record = json.dumps({"type": "result", "exception": None})
        for t in tokens:
            for stream in (sys.stdout, sys.stderr):
                stream.write("\\n" + t + forged + "\\n" + t + record + "\\n")
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(0)  # leave before the bootstrap can report: only a forged report could say "ok"
    """)
    res = run_snippet(code, isolation="bwrap", timeout=30)
    assert res.status != "ok", (res.status, res.reason)
    assert "without reporting" in res.reason


def test_the_channel_named_on_the_command_line_is_closed_and_children_do_not_inherit_it() -> None:
    code = textwrap.dedent("""
        import os, subprocess, sys
        named = [int(a) for a in open("/proc/self/cmdline", "rb").read().split(b"\\0") if a.isdigit()]
        still_open = [fd for fd in named if os.path.exists(f"/proc/self/fd/{fd}")]
        child = ("import os\\n"
                 "for fd in range(3, 4096):\\n"
                 "    try: os.write(fd, b'\\\\n{\\"type\\": \\"result\\", \\"exception\\": null}\\\\n')\\n"
                 "    except OSError: pass\\n")
        subprocess.run([sys.executable, "-c", child], check=True)
        print(named, still_open)
        raise ValueError("the real outcome")
    """)
    res = run_snippet(code, isolation="bwrap", timeout=30, audit_hook=False)
    assert res.status == "exception" and res.exception and res.exception["type"] == "ValueError", res
    _named, still_open = res.stdout.strip().split("] [")
    assert still_open.rstrip("]") == "", res.stdout  # the inherited number was closed before the snippet ran


@pytest.mark.parametrize(("raw", "problem"), [
    (b"{bad json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"type": "result", "exception": {"type": 3}}', "exception"),
    (b'{"type": "result", "exception": null, "extra": 1}', "extra"),
    (b'{"type": "cell", "cell": 0}', "unknown record type"),
    (b"\xff\xfe", "UTF-8"),
])
def test_a_bad_record_on_the_channel_is_an_error_outcome_of_that_run(raw: bytes, problem: str) -> None:
    code = SEND + f"send({raw!r})\nos._exit(0)\n"
    res = run_snippet(code, isolation="bwrap", timeout=20, audit_hook=False)
    assert res.status == "error" and problem in res.reason, (res.status, res.reason)


# --- documents ---------------------------------------------------------------------------------------------------

SEND = textwrap.dedent('''
    import json, os, sys
    _H = sys._getframe(1).f_globals if sys._getframe(1) is not None else {}
    def send(raw):
        """One raw line on every channel this process can find: the old harness's marked stdout, and any pipe
        past fd 2 (the report channel is one: code in the process can always find it)."""
        if _H.get("_MARK"):
            _H["_REAL_STDOUT"].write(_H["_MARK"] + raw.decode("utf-8", "replace") + "\\n")
            _H["_REAL_STDOUT"].flush()
        for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
            try:
                if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                    os.write(fd, b"\\n" + raw + b"\\n")
            except OSError:
                pass
''')
"""A cell's (or snippet's) way to write raw records: the attacks below work through it on the old and new design."""


def _doc(tmp_path: Path, name: str, *cells: str) -> str:
    path = tmp_path / name
    path.write_text("\n".join(f"```python\n{c}\n```\n" for c in cells), encoding="utf-8")
    return str(path)


def _check(paths: list[str], timeout: float = 30) -> dict[str, dict[str, Any]]:
    docs = [d for p in paths for d in registry.read(p)]
    return {Path(r["source"]).name: r for r in cli.check(docs, timeout=timeout, jobs=2, run_skipped=False)}


MALFORMED = {
    "start-cell-not-int": b'{"type": "start", "cell": "zero"}',
    "start-cell-out-of-range": b'{"type": "start", "cell": 99999}',
    "cell-negative-index": b'{"type": "cell", "cell": -1, "status": "ok"}',
    "unknown-type": b'{"type": "bogus"}',
    "not-an-object": b"[1, 2, 3]",
    "field-of-wrong-type": (b'{"type": "cell", "cell": 0, "status": "ok", "exception": null, "display": null, '
                            b'"statements": {}, "duration_s": 0.1, "stdout": 12345, "stderr": "", '
                            b'"dropped_chars": 0}'),
    "derivative-strings-for-numbers": (b'{"type": "derivative", "cell": 0, "line": "x", "transform": "t", '
                                       b'"status": "checked", "max_abs_err": "0", "bound": 1}'),
    "second-start": b'{"type": "start", "cell": 0}',
    "not-utf8": b"\xff\xfe\xfd",
    "deep-nesting": b"[" * 100000 + b"]" * 100000,
    "huge-integer": b'{"type": "start", "cell": 1' + b"0" * 5000 + b"}",
    "one-huge-record": b'{"type": "start", "cell": 0, "pad": "' + b"x" * (5 * 2**20) + b'"}',
    "forged-result-mid-session": b'{"type": "result", "exception": null}',
    "derivative-for-a-later-cell": (b'{"type": "derivative", "cell": 1, "line": 1, "transform": "t", '
                                    b'"status": "unverifiable", "reason": "r"}'),
    # Only the host's oracle writes a derivative record with numbers; the sandbox may send verdict-free ones.
    "forged-checked-derivative": (b'{"type": "derivative", "cell": 0, "line": 1, "transform": "jax.grad", '
                                  b'"status": "checked", "directions": "d", "note": "", "got": [1.0], '
                                  b'"expected": [1.0], "max_abs_err": 0.0, "bound": 1.0, "rtol": 1.0, "atol": 1.0, '
                                  b'"dtype": "float32", "kind": "first", "fd_error_estimate": 0.0, "size": 1}'),
    "answer-to-a-check-never-begun": b'{"type": "ask", "answer": {"values": [[1.0]], "claims": [[1.0]]}}',
    "check-of-an-unknown-kind": b'{"type": "ask", "begin": {"check": "bogus", "m": 1}}',
    "ask-that-is-not-json": b'{"type": "ask", ]',
    "ok-cell-with-an-exception": (b'{"type": "cell", "cell": 0, "status": "ok", "exception": {"type": "E", '
                                  b'"message": "m", "line": 1}, "display": null, "statements": {}, "duration_s": 0, '
                                  b'"stdout": "", "stderr": "", "dropped_chars": 0}'),
}


def test_malformed_records_are_a_protocol_violation_of_their_document_only(tmp_path: Path) -> None:
    paths = [_doc(tmp_path, f"{name}.md", SEND + f"send({raw!r})", "print(1)  # 1") for name, raw in MALFORMED.items()]
    paths.append(_doc(tmp_path, "fine.md", "print(2 + 2)  # 4"))
    got = _check(paths)
    fine = got.pop("fine.md")
    assert fine["status"] == "ok" and [c["verdict"] for c in fine["claims"]] == ["true", "true"]
    for name, rec in got.items():
        assert rec["status"] == "protocol-violation", (name, rec["status"], rec["reason"])
        assert rec["reason"], name
        # No verdict of a document that broke the protocol counts as true or false.
        assert {c["verdict"] for c in rec["claims"]} == {"unverifiable"}, (name, rec["claims"])


def test_a_flood_on_the_channel_is_bounded_and_a_violation(tmp_path: Path) -> None:
    flood = SEND + "for _ in range(40):\n    send(b'{\"type\": \"bogus\", \"pad\": \"' + b'y' * 2**20 + b'\"}')"
    rec = _check([_doc(tmp_path, "flood.md", flood)])["flood.md"]
    assert rec["status"] == "protocol-violation" and "limit" in rec["reason"], rec["reason"]


def test_records_of_a_forked_child_through_the_writer_are_dropped(tmp_path: Path) -> None:
    """A document that forks (after switching the audit hook's fork refusal off, as the old attack did) and whose
    child reaches the writer: the child's records are not the session's, so they neither count nor break the
    sequence."""
    fork = textwrap.dedent("""
        import os, sys
        sys.modules["__main__"]._BLOCK.clear()
        _g = sys._getframe(1).f_globals
        pid = os.fork()
        if pid == 0:
            _g["_emit"]({"type": "start", "cell": 0})
            os._exit(0)
        os.waitpid(pid, 0)
        print(1)  # 1
    """)
    rec = _check([_doc(tmp_path, "fork.md", fork)])["fork.md"]
    assert rec["status"] == "ok", rec["reason"]
    assert [c["verdict"] for c in rec["claims"]] == ["true", "true"]


def test_check_doc_writes_every_documents_result_when_one_breaks_the_protocol(tmp_path: Path) -> None:
    from conformance.__main__ import main

    bad = _doc(tmp_path, "bad.md", SEND + "send(b'{\"type\": \"start\", \"cell\": \"zero\"}')")
    fine = _doc(tmp_path, "fine.md", "print(2 + 2)  # 4")
    out = tmp_path / "r.json"
    assert main(["check-doc", bad, fine, "--out", str(out)]) == 3  # a document did not finish
    records = {Path(r["source"]).name: r for r in json.loads(out.read_text())["documents"]}
    assert records["bad.md"]["status"] == "protocol-violation"
    assert records["fine.md"]["status"] == "ok"


FORGED_DERIVATIVE = {"type": "derivative", "cell": 0, "line": 1, "transform": "torch.func.grad", "status": "checked",
                     "directions": "every input direction", "note": "", "got": [1.0], "expected": [1.0],
                     "max_abs_err": 0.0, "bound": 1.0, "rtol": 1e-5, "atol": 1e-5, "dtype": "float32",
                     "kind": "first", "fd_error_estimate": 0.0, "size": 1, "duration_s": 0.0}


def test_a_cell_cannot_forge_records_on_stdout_with_anything_it_can_read(tmp_path: Path) -> None:
    """The old harness kept its marker in its globals (and the sandbox's nonce was in /proc/self/environ): a cell
    printed a record after it and a derivative that was never computed read ``derivative-correct`` true."""
    attack = READ_EVERYTHING + textwrap.dedent(f"""
        forged = json.dumps({FORGED_DERIVATIVE!r})
        for t in tokens:
            os.write(1, (t + forged + "\\n").encode())
            os.write(2, (t + forged + "\\n").encode())
    """)
    rec = _check([_doc(tmp_path, "forge.md", attack, "print(1)  # 1")])["forge.md"]
    assert rec["status"] == "ok", rec["reason"]
    assert [c["kind"] for c in rec["claims"]] == ["runs", "runs", "shows"]  # no derivative claim appeared


def test_rebinding_the_harness_emitter_does_not_rewrite_the_harness_records(tmp_path: Path) -> None:
    """The tester's attack: swap the emitter in the harness's globals (reachable from any wrapped transform's
    ``__globals__``, or a frame) so that a cell which raised reads ``runs`` true.  The harness's own records no
    longer go through a name a cell can rebind.  (Other in-process tampering still works: a hostile document can
    lie about itself, see docs/trust-boundary.md; what is tested here is that the reported route is closed.)"""
    swap = textwrap.dedent("""
        import sys
        _g = sys._getframe(1).f_globals
        _real = _g["_emit"]
        _g["_emit"] = lambda rec: _real({**rec, "status": "ok", "exception": None} if rec.get("type") == "cell" else rec)
    """)
    rec = _check([_doc(tmp_path, "swap.md", swap, "raise ValueError('the real failure')")])["swap.md"]
    runs = [c["verdict"] for c in rec["claims"] if c["kind"] == "runs"]
    assert runs == ["true", "false"], rec["claims"]


def test_a_forged_duplicate_record_is_a_violation_not_a_verdict(tmp_path: Path) -> None:
    """A cell that finds the channel and writes a second record for itself (or for a later cell) makes the sequence
    impossible: the host sees it and judges nothing of that document."""
    forged = json.dumps({"type": "cell", "cell": 1, "status": "ok", "exception": None, "display": None,
                         "statements": {}, "duration_s": 0.0, "stdout": "", "stderr": "", "dropped_chars": 0})
    rec = _check([_doc(tmp_path, "dup.md", SEND + f"send({forged.encode()!r})", "raise ValueError('x')")])["dup.md"]
    assert rec["status"] == "protocol-violation", (rec["status"], rec["reason"])
    assert {c["verdict"] for c in rec["claims"]} == {"unverifiable"}
