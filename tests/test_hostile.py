"""Attacks that broke the old sandbox, each run against the new one and its outcome asserted.

The snippets run with ``audit_hook=False``: the in-process hook is only a second layer, and these tests show the OS
boundary (bubblewrap) stops each attack on its own.  Where an attack once worked by switching the hook off from
inside, the test does exactly that first.  Snippets import neither torch nor jax (plain interpreters start in
~0.2 s), so the whole file runs in well under a minute.

Without bwrap the tests are skipped locally (the weak mode makes no such promises), but fail on CI (``CI`` set),
where ``.ci/run`` installs bubblewrap.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import host_pids_with, sandboxes_with

from conformance.claims.article import bwrap, evidence
from conformance.claims.article.sandbox import MiB, SandboxResult, run_snippet

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))

pytestmark = pytest.mark.skipif(
    not bwrap.available().ok and not os.environ.get("CI"),
    reason=f"bubblewrap cannot run here: {bwrap.available().why}")

DISARM = textwrap.dedent("""
    import sys
    _boot = sys.modules["__main__"]
    _boot._BLOCK.clear()
    _boot._inside = lambda path: True
""")
"""The attack that switched the old sandbox off: its audit hook kept its state where the snippet could reach it."""


def hostile(code: str, *, timeout: float = 20, **kw: object) -> SandboxResult:
    """Run ``code`` in bwrap with the audit hook off; the result's stdout is the snippet's JSON report."""
    kw.setdefault("audit_hook", False)
    code = TRY + textwrap.dedent(code[len(TRY):]) if code.startswith(TRY) else textwrap.dedent(code)
    return run_snippet(code, timeout=timeout, isolation="bwrap", **kw)  # type: ignore[arg-type]


def report(res: SandboxResult) -> dict:  # type: ignore[type-arg]
    """The last printed line as JSON (the snippets print what each attempt did)."""
    assert res.status == "ok", (res.status, res.reason, res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


TRY = textwrap.dedent("""
    import json, os
    out = {}
    def attempt(name, fn):
        try:
            out[name] = ["done", repr(fn())]
        except BaseException as exc:
            out[name] = [type(exc).__name__, str(exc)[:200]]
""")
"""Preamble: ``attempt(name, fn)`` records ``["done", ...]`` or ``[ExceptionType, message]`` for each attack."""


def refused(outcome: list[str]) -> bool:
    return outcome[0] != "done"


@pytest.fixture
def host_victim() -> Iterator[Path]:
    """A file the sandbox can see, read-only (in a bound project package), removed after the test."""
    path = ROOT / "backends" / f"_hostile_victim_{uuid.uuid4().hex}.txt"
    path.write_text("keep me")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def test_disarmed_hook_still_cannot_write_outside_or_plant_pth(host_victim: Path) -> None:
    pth = SITE / f"zz_hostile_{uuid.uuid4().hex}.pth"
    code_file = ROOT / "conformance" / f"_hostile_{uuid.uuid4().hex}.py"
    try:
        res = run_snippet(DISARM + TRY + textwrap.dedent(f"""
            import subprocess
            attempt("pth", lambda: open({str(pth)!r}, "w").write("# harmless\\n"))
            attempt("project", lambda: open({str(code_file)!r}, "w").write("x = 1\\n"))
            attempt("truncate", lambda: open({str(host_victim)!r}, "w"))
            attempt("subprocess", lambda: subprocess.run(["/bin/sh", "-c", "echo x > {pth}"]).returncode)
            print(json.dumps(out))
        """), isolation="bwrap", timeout=20)  # the hook is on, and switched off from inside
        got = report(res)
        assert refused(got["pth"]) and "Read-only file system" in got["pth"][1]
        assert refused(got["project"]) and refused(got["truncate"])
        assert got["subprocess"] == ["done", "2"]  # the shell ran, inside, and could not write either
        assert not pth.exists() and not code_file.exists() and host_victim.read_text() == "keep me"
    finally:
        pth.unlink(missing_ok=True)
        code_file.unlink(missing_ok=True)


def test_dir_fd_create_and_remove_cannot_touch_host_files(host_victim: Path) -> None:
    pth = SITE / f"zz_hostile_{uuid.uuid4().hex}.pth"
    fifo = SITE / f"zz_hostile_{uuid.uuid4().hex}.fifo"
    try:
        got = report(hostile(TRY + f"""
            site = os.open({str(SITE)!r}, os.O_RDONLY)
            pkg = os.open({str(host_victim.parent)!r}, os.O_RDONLY)
            attempt("create", lambda: os.open({pth.name!r}, os.O_CREAT | os.O_WRONLY, dir_fd=site))
            attempt("remove", lambda: os.remove({host_victim.name!r}, dir_fd=pkg))
            attempt("rename", lambda: os.rename({host_victim.name!r}, "gone", src_dir_fd=pkg, dst_dir_fd=pkg))
            attempt("mkfifo", lambda: os.mkfifo({fifo.name!r}, dir_fd=site))
            print(json.dumps(out))
        """))
        assert all(refused(got[k]) for k in ("create", "remove", "rename", "mkfifo")), got
        assert not pth.exists() and host_victim.read_text() == "keep me"
        assert not fifo.exists()
    finally:
        pth.unlink(missing_ok=True)
        fifo.unlink(missing_ok=True)


def test_sqlite_and_unix_sockets_cannot_reach_outside(tmp_path: Path) -> None:
    """Host sockets live in /tmp, /run, /var/run: none of them exists in the sandbox.  (A socket someone placed
    inside a directory bound read-only, e.g. the venv, would be connectable: read-only mounts do not stop connect.)"""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path_sock = tmp_path / "host.sock"
    abstract = f"\0hostile-{uuid.uuid4().hex}"
    abstract_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path_sock))
        listener.listen(1)
        abstract_listener.bind(abstract)
        abstract_listener.listen(1)
        db = ROOT / "backends" / "hostile.db"
        got = report(hostile(TRY + f"""
            import socket, sqlite3
            attempt("sqlite", lambda: sqlite3.connect({str(db)!r}).execute("create table t(x)"))
            def connect(addr):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(addr)
            attempt("unix_path", lambda: connect({str(path_sock)!r}))
            attempt("unix_abstract", lambda: connect({abstract!r}))
            attempt("bind_outside", lambda: socket.socket(socket.AF_UNIX).bind({str(ROOT / "backends" / "x.sock")!r}))
            print(json.dumps(out))
        """))
        assert all(refused(got[k]) for k in ("sqlite", "unix_path", "unix_abstract", "bind_outside")), got
        assert not db.exists() and not (ROOT / "backends" / "x.sock").exists()
    finally:
        (ROOT / "backends" / "hostile.db").unlink(missing_ok=True)
        (ROOT / "backends" / "x.sock").unlink(missing_ok=True)
        listener.close()
        abstract_listener.close()
        path_sock.unlink(missing_ok=True)


def test_secret_files_home_and_project_state_are_invisible(tmp_path: Path) -> None:
    secret_tmp = tmp_path / "secret.txt"
    secret_tmp.write_text("TOP-SECRET-TMP")
    secret_home = Path.home() / f".hostile_secret_{uuid.uuid4().hex}"
    secret_home.write_text("TOP-SECRET-HOME")
    try:
        got = report(hostile(TRY + f"""
            attempt("tmp", lambda: open({str(secret_tmp)!r}).read())
            attempt("home", lambda: open({str(secret_home)!r}).read())
            attempt("git", lambda: os.listdir({str(ROOT / ".git")!r}))
            attempt("reports", lambda: os.listdir({str(ROOT / "reports")!r}))
            attempt("shadow", lambda: open("/etc/shadow").read())
            out["home_listing"] = sorted(os.listdir(os.path.expanduser("~root")) if os.path.isdir("/root") else [])
            out["root_listing"] = sorted(os.listdir("/"))
            print(json.dumps(out))
        """))
        assert all(refused(got[k]) for k in ("tmp", "home", "git", "reports", "shadow")), got
        assert secret_home.name not in got["home_listing"]
        # Only the mount points bwrap made: no /home, /var, /opt, /mnt, nothing of the host's root beyond these.
        assert set(got["root_listing"]) <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc",
                                            "dev", "tmp", "sys", "sandbox", *{p.split("/")[1] for p in bwrap.python_roots()},
                                            ROOT.parts[1]}, got["root_listing"]
    finally:
        secret_home.unlink(missing_ok=True)


def test_parent_environment_is_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    monkeypatch.setenv("HOSTILE_SECRET", token)
    res = hostile(f"""
        import os
        seen = []
        for pid in [p for p in os.listdir("/proc") if p.isdigit()] + [str(os.getppid()), {str(os.getpid())!r}]:
            try:
                seen.append(open(f"/proc/{{pid}}/environ", "rb").read().decode("utf-8", "replace"))
            except OSError:
                pass
        print(len(seen), sorted(p for p in os.listdir("/proc") if p.isdigit()))
        print("LEAK" if any({token!r} in s for s in seen) else "clean")
    """)
    assert res.status == "ok", res.stderr
    count, pids = res.stdout.split("\n")[0].split(" ", 1)
    assert int(count) >= 1  # it did read its own namespace's environ files
    assert res.stdout.strip().endswith("clean")
    assert str(os.getpid()) not in pids  # the checker is not even listed


def test_loopback_of_the_host_is_unreachable() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        got = report(hostile(TRY + f"""
            import socket
            attempt("tcp", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
            attempt("dns", lambda: socket.getaddrinfo("example.com", 80))
            print(json.dumps(out))
        """))
        assert refused(got["tcp"]) and refused(got["dns"]), got
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_signals_cannot_reach_the_checker_or_host_processes() -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        res = hostile(TRY + f"""
            import signal
            for name, pid in (("checker", {os.getpid()}), ("bystander", {bystander.pid})):
                attempt(name + "_pidfd", lambda: signal.pidfd_send_signal(os.pidfd_open(pid), signal.SIGKILL))
                attempt(name + "_kill", lambda: os.kill(pid, signal.SIGKILL))
            print(json.dumps(out), flush=True)
            os.kill(-1, signal.SIGKILL)  # everything it can see: only its own namespace
        """)
        got = json.loads(res.stdout.strip().splitlines()[-1])
        assert all(refused(v) and v[0] == "ProcessLookupError" for v in got.values()), got
        assert bystander.poll() is None  # still running, and so are we
    finally:
        bystander.kill()
        bystander.wait()


def test_fork_subprocess_multiprocessing_and_fork_exec_stay_inside(host_victim: Path) -> None:
    target = ROOT / "backends" / f"_hostile_{uuid.uuid4().hex}.txt"
    try:
        _fork_family(target, host_victim)
    finally:
        target.unlink(missing_ok=True)


def _fork_family(target: Path, host_victim: Path) -> None:
    res = hostile(TRY + f"""
        import multiprocessing, subprocess, _posixsubprocess, sys
        def child(q):
            try:
                open({str(target)!r}, "w").write("x")
                q.put("wrote")
            except OSError as exc:
                q.put(type(exc).__name__)
        def via_mp():
            ctx = multiprocessing.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start(); p.join(10)
            return q.get(timeout=5)
        attempt("multiprocessing", via_mp)
        def via_fork():
            pid = os.fork()
            if pid == 0:
                try:
                    os.remove({str(host_victim)!r})
                finally:
                    os._exit(0)
            return os.waitpid(pid, 0)[1]
        attempt("fork", via_fork)
        attempt("shell", lambda: subprocess.run(["/bin/sh", "-c", "rm -f {host_victim}; echo x > {target}; ps -e | wc -l"],
                                                 capture_output=True, text=True).stderr.strip())
        def via_fork_exec():
            r, w = os.pipe()
            pid = _posixsubprocess.fork_exec(  # Python 3.11's argument list
                [b"/bin/sh", b"-c", b"echo x > {target}"], [b"/bin/sh"], True, (), None, None,
                -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, False)
            os.close(w)
            return os.waitpid(pid, 0)[1]
        attempt("fork_exec", via_fork_exec)
        print(json.dumps(out))
    """)
    got = report(res)
    assert got["multiprocessing"][1] == "'OSError'", got
    assert "Read-only file system" in got["shell"][1], got
    assert got["fork"][0] == "done", got
    assert got["fork_exec"][0] == "done" or sys.version_info[:2] != (3, 11), got
    assert not target.exists() and host_victim.read_text() == "keep me"


GRANDCHILD = """
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)  # {marker}"], start_new_session=True)
    print("spawned", flush=True)
    {rest}
"""


@pytest.mark.parametrize("main_exits", [False, True], ids=["main-loops", "main-exits"])
def test_setsid_grandchild_holding_pipes_does_not_extend_the_limit(main_exits: bool) -> None:
    marker = f"hostile-{uuid.uuid4().hex}"
    started = time.monotonic()
    res = hostile(GRANDCHILD.format(marker=marker, rest="" if main_exits else "while True: time.sleep(1)"), timeout=5)
    took = time.monotonic() - started
    assert res.stdout.startswith("spawned")
    if main_exits:
        assert res.status == "ok" and took < 4, (res.status, took)
    else:
        assert res.status == "timeout" and took < 5 + 2, took
    time.sleep(0.2)
    assert host_pids_with(marker) == []  # the whole PID namespace died, the grandchild too


def test_weak_mode_is_still_bounded_in_time() -> None:
    """Without bwrap the grandchild survives (weak means weak), but the checker does not wait for it."""
    marker = f"hostile-{uuid.uuid4().hex}"
    started = time.monotonic()
    try:
        res = run_snippet(textwrap.dedent(GRANDCHILD.format(marker=marker, rest="while True: time.sleep(1)")),
                          timeout=3, isolation="weak", audit_hook=False)
        assert res.status == "timeout" and res.isolation == "weak"
        assert time.monotonic() - started < 3 + 2
    finally:
        for pid in host_pids_with(marker):  # the grandchild this test started
            os.kill(pid, signal.SIGKILL)


CHANNEL_WRITE = textwrap.dedent("""
    import os
    def send(raw):
        # Code in the process can always find the report channel: a pipe past fd 2.  What it writes there is checked.
        for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
            try:
                if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                    os.write(fd, raw + b"\\n")
            except OSError:
                pass
""")


@pytest.mark.parametrize("isolation", ["bwrap", "weak"])
@pytest.mark.parametrize(("payload", "problem"), [
    (b"{bad json", "is not JSON"),
    (b"[1, 2]", "is not a JSON object"),
    (b'{"type": "result", "exception": {"type": 3}}', "'exception' is not null or {type, message} strings"),
])
def test_bad_report_on_the_channel_is_an_error_outcome(isolation: str, payload: bytes, problem: str) -> None:
    code = CHANNEL_WRITE + f"send({payload!r})\nos._exit(0)\n"
    res = run_snippet(code, isolation=isolation, timeout=20)
    assert res.status == "error" and problem in res.reason, (res.status, res.reason)


def test_bad_report_is_recorded_by_the_checker_not_a_crash() -> None:
    job = evidence.Job(evidence.RunKey("evil", "python", "as-written"),
                       CHANNEL_WRITE + "send(b'{oops')\nos._exit(0)\n", ())
    ok = evidence.Job(evidence.RunKey("fine", "python", "as-written"), "print(42)\n", ())
    runs = evidence.run_jobs([job, ok], parallel=2, timeout=20)
    record = evidence.evidence_record(job.key, runs[job.key])
    assert record["status"] == "error" and record["isolation"] == "bwrap"
    assert runs[ok.key].status == "ok" and runs[ok.key].stdout == "42\n"


def test_a_100_mb_print_is_capped_and_the_checker_stays_small() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = hostile("import sys\nsys.stdout.write('x' * 10**8)\nsys.stdout.write('\\nLAST LINE\\n')\n", timeout=60)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert res.status == "ok"
    assert len(res.stdout.encode()) < 70 * 1024
    assert "bytes cut ...]" in res.stdout and res.stdout.endswith("LAST LINE\n")
    cut = int(res.stdout.split("[... ")[1].split(" bytes")[0])
    assert cut > 10**8 - 70 * 1024
    assert grown_mib < 40, f"the checker grew by {grown_mib:.0f} MiB reading a 100 MB print"


def test_disk_use_is_capped_in_total_and_per_file() -> None:
    got = report(hostile(TRY + """
        chunk = b"x" * (8 * 2**20)
        def fill(directory, files, per_file):
            written = 0
            try:
                for i in range(files):
                    with open(f"{directory}/f{i}", "wb") as fh:
                        for _ in range(per_file):
                            fh.write(chunk); fh.flush(); written += len(chunk)
            finally:
                for i in range(files):
                    if os.path.exists(f"{directory}/f{i}"):
                        os.remove(f"{directory}/f{i}")
            return written
        attempt("tmp_total", lambda: fill("/tmp", 40, 1))       # 40 files of 8 MiB, the tmpfs holds 64 MiB
        attempt("shm_total", lambda: fill("/dev/shm", 40, 1))   # ... and 16 MiB here
        attempt("per_file", lambda: fill("/tmp", 1, 3))         # one 24 MiB file, the per-file limit is 16 MiB
        attempt("dev", lambda: open("/dev/evil", "w"))
        print(json.dumps(out))
    """, tmp_bytes=64 * MiB, shm_bytes=16 * MiB, fsize=16 * MiB))
    assert got["tmp_total"][0] == "OSError" and "No space left" in got["tmp_total"][1], got
    assert got["shm_total"][0] == "OSError" and "No space left" in got["shm_total"][1], got
    assert got["per_file"][0] == "OSError" and "File too large" in got["per_file"][1], got
    assert refused(got["dev"]), got


def test_runs_as_an_unprivileged_user_without_capabilities() -> None:
    res = hostile("""
        import os
        status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
        print(os.getuid(), status["CapEff"].strip(), status["NoNewPrivs"].strip())
    """)
    assert res.stdout.split() == [str(bwrap.UID), "0000000000000000", "1"]


def test_cancel_kills_a_running_snippet_at_once() -> None:
    marker = f"hostile-{uuid.uuid4().hex}"
    cancel = threading.Event()
    threading.Timer(1.5, cancel.set).start()
    started = time.monotonic()
    res = hostile(GRANDCHILD.format(marker=marker, rest="while True: time.sleep(1)"), timeout=60, cancel=cancel)
    assert res.status == "cancelled" and time.monotonic() - started < 4
    time.sleep(0.2)
    assert host_pids_with(marker) == []
    assert hostile("print(1)", cancel=cancel).reason == "cancelled before it started"


def test_sandbox_dies_with_the_checker() -> None:
    """SIGKILL of the checker (no cleanup code runs) still ends the sandbox: bwrap's --die-with-parent."""
    marker = f"hostile-{uuid.uuid4().hex}"
    code = f"import time\ntime.sleep(60)  # {marker}\n"
    checker = subprocess.Popen([sys.executable, "-c", "import sys; from conformance.claims.article.sandbox import run_snippet; "
                                f"run_snippet({code!r}, isolation='bwrap', timeout=120)"], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 30
    found: dict[bytes, list[int]] = {}
    while not found and time.monotonic() < deadline:
        found = sandboxes_with(marker)
        time.sleep(0.1)
    assert found, "the sandbox never started"
    checker.kill()
    checker.wait()
    deadline = time.monotonic() + 3
    while sandboxes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandboxes_with(marker) == {}
    for d in found:  # the killed checker could not remove its snippet directory
        shutil.rmtree(d.decode(), ignore_errors=True)


def test_kernel_settings_in_proc_are_read_only() -> None:
    """The sandbox user is uid 0 outside (bwrap run by root maps it so), and root owns /proc/sys: without the
    read-only /proc, core_pattern (a program the host runs as root on a crash) and drop_caches were writable.
    Only opening for writing is attempted; nothing is ever written."""
    got = report(hostile(TRY + """
        for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger",
                     "/proc/self/oom_score_adj"):
            attempt(path, lambda: os.close(os.open(path, os.O_WRONLY)))
        print(json.dumps(out))
    """))
    assert all(refused(v) for v in got.values()), got
    assert "Read-only file system" in got["/proc/sys/kernel/core_pattern"][1]


def test_ctypes_loaded_by_a_library_reaches_only_the_sandbox(host_victim: Path) -> None:
    """torch and jax import ctypes before the hook, so the hook cannot refuse it; raw libc calls are still inside."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        res = run_snippet(textwrap.dedent(f"""
            import ctypes, json
            libc = ctypes.CDLL(None, use_errno=True)
            def call(fn, *args):
                rc = fn(*args)
                return [rc, ctypes.get_errno()]
            print(json.dumps({{
                "unlink": call(libc.unlink, {str(host_victim).encode()!r}),
                "creat": call(libc.creat, {str(SITE / "zz_ctypes.pth").encode()!r}, 0o644),
                "kill_checker": call(libc.kill, {os.getpid()}, 9),
                "kill_bystander": call(libc.kill, {bystander.pid}, 9),
            }}))
        """), isolation="bwrap", preimport=("ctypes",), timeout=20)  # the hook is on, as for a torch snippet
        got = report(res)
        assert got["unlink"] == [-1, errno.EROFS] and got["creat"] == [-1, errno.EROFS], got
        assert got["kill_checker"] == [-1, errno.ESRCH] and got["kill_bystander"] == [-1, errno.ESRCH], got
        assert host_victim.read_text() == "keep me" and bystander.poll() is None
        assert not (SITE / "zz_ctypes.pth").exists()
    finally:
        (SITE / "zz_ctypes.pth").unlink(missing_ok=True)
        bystander.kill()
        bystander.wait()


def test_a_fork_bomb_meets_a_process_cap_even_when_the_checker_is_root() -> None:
    """As root RLIMIT_NPROC does not hold (the kernel exempts uid 0, and bwrap maps the sandbox user to the
    checker's), so a pids cgroup caps the run; as an ordinary user RLIMIT_NPROC does the same job."""
    cap = 64
    res = hostile("""
        import os, time
        made = 0
        err = ""
        while made < 5000:
            try:
                pid = os.fork()
            except OSError as exc:
                err = exc.strerror
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            made += 1
        print(made, err)
    """, timeout=30, max_pids=cap, nproc=cap)
    made, _, err = res.stdout.strip().splitlines()[-1].partition(" ")
    assert int(made) < cap and "Resource temporarily unavailable" in err, (res.stdout, res.stderr[-500:])
