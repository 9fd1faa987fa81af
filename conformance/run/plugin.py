"""pytest plugin: ``--backend``, case generation, manifest xfails, and the results log.

Active only when ``--backend`` is given, so it never disturbs other test suites.
Every finished check is appended to ``--results-log`` (JSON lines, flushed at
once): a crash of this process loses at most the check in flight, and the
runner marks that one with the cause.

The log is the runner's only view into this process, so it carries
everything the runner needs without parsing test ids: a ``collected`` record
listing each check's identity as fields, a ``start`` record (check and wall
time) before each check, which the runner's watchdog reads to enforce the
per-check limit from outside, and one ``check`` record per finished check.
With ``--skip-recorded`` the checks already in the log are deselected, which
is how the runner continues a shard after killing it, and how ``--resume``
finishes an interrupted run.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backends.base import Backend, DeviceUnavailable
from conformance.battery import coverage
from conformance.battery.specs.core import FAILURES, Case
from conformance.contract import PARENT_PID_ENV, LogKind
from conformance.inputs import manifest
from conformance.run import api
from conformance.run.runner.command import reproducer_command
from conformance.store.results import CheckRecord, JsonlLog, read_jsonl
from conformance.store.schema import log_record_problem

_STATE: dict[str, Any] = {}
_BLOB = re.compile(r"@reproduce_failure\([^)]*\)")
"""Hypothesis's encoded failing example, as it prints it (decorate the test with it to replay those draws)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--backend", help="backend to check: numpy, torch, jax, an entry point name, or module:attr")
    group.addoption("--results-log", help="append one JSON line per finished check to this file")
    group.addoption("--manifest", action="append", default=[], help="extra known-deviations TOML (repeatable)")
    group.addoption("--checks", choices=("cover", "all"), default=None,
                    help="cover: each function x transform, spec x dtype and variant at least once (the ci "
                         "profile's default); all: the whole cross product (every other profile's default)")
    group.addoption("--check-timeout", type=float, default=0.0, help="seconds one check may take (0: no limit)")
    group.addoption("--device", default=None,
                    help="compute on this device (cpu, cuda, cuda:1, gpu...; default: the library's own default)")
    group.addoption("--skip-recorded", action="store_true",
                    help="deselect the checks that already have a record in --results-log (continue a shard)")


def _die_with_parent() -> None:
    """End this process when the runner that spawned it dies, however it dies (kill -9 included).

    The runner starts each shard in its own session, so a terminal's Ctrl-C never
    reaches the shard, and nothing else would end it if the runner were killed
    outright.  On Linux the kernel delivers SIGKILL at the parent's death
    (PR_SET_PDEATHSIG); the getppid() check closes the window where the parent
    died before the request was made.  Elsewhere a thread polls getppid().
    """
    expected = os.environ.get(PARENT_PID_ENV)
    if not expected:
        return
    parent = int(expected)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="conformance-parent-watch", daemon=True).start()


class CheckTimeout(BaseException):
    """Raised by the per-check alarm.

    A BaseException, not an Exception, so that hypothesis does not take it for a
    failing example and replay the hanging call without a timer.
    """


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    limit = item.config.getoption("--check-timeout") if "env" in _STATE else 0.0
    if not limit:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CheckTimeout(f"time limit exceeded: the check ran past {limit:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("--backend")
    env = api.provided(config)  # an adapter instance from conformance.check_backend
    if env is None:
        if not spec:
            return
        _die_with_parent()  # before the backend's import, the slow part
        env = api.prepare(spec, config.getoption("--manifest"))
    if config.getoption("--hypothesis-profile", default=None) is None:
        # The battery straight through pytest (README) gets the gate's profile, not hypothesis's default, whose
        # 200 ms deadline fails a first call that compiles (JAX, torch.func).
        from hypothesis import settings

        from conformance.battery import strategies  # noqa: F401  (registers the profiles)

        settings.load_profile("ci")
    backend = env.backend
    device = config.getoption("--device")
    if device:
        try:
            backend.use_device(device)  # before the backend record: it reports the device chosen
        except DeviceUnavailable as exc:
            raise pytest.UsageError(str(exc)) from None
    _STATE["env"] = env
    _STATE["backend_spec"] = spec or f"{type(backend).__module__}:{type(backend).__qualname__}"
    _STATE["deviations"] = env.deviations
    log = config.getoption("--results-log")
    _STATE["recorded"] = (
        {r["test_id"] for r in read_jsonl(log) if r.get("kind") == LogKind.CHECK and log_record_problem(r) is None}
        if log and config.getoption("--skip-recorded") and Path(log).exists() else set()
    )
    _STATE["log"] = JsonlLog(log) if log else None
    if _STATE["log"]:
        _STATE["log"].write(LogKind.BACKEND, backend.environment())


def pytest_unconfigure(config: pytest.Config) -> None:
    log = _STATE.pop("log", None)
    if log:
        log.close()
    _STATE.clear()


@pytest.fixture(scope="session")
def conformance_env() -> api.Env:
    if "env" not in _STATE:
        pytest.fail("the battery needs --backend (e.g. --backend torch)")
    return _STATE["env"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    spec = getattr(metafunc.function, "conformance_spec", None)
    if spec is None or "env" not in _STATE:
        return
    from conformance.battery.specs.core import cases

    found = cases(_STATE["env"].backend, [spec])
    metafunc.parametrize("case", found, ids=[c.param_id for c in found])


def _case(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec else None
    return case if isinstance(case, Case) else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark known deviations as xfail before -k deselects anything, and report entries that match nothing."""
    deviations = _STATE.get("deviations", [])
    # A spec with no case on this backend (say, a comparison with the reference, on the reference)
    # is parametrized with an empty set; it is not a check, so it is dropped rather than skipped.
    empty = [i for i in items if getattr(getattr(i, "obj", None), "conformance_spec", None) and _case(i) is None]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]
    used: set[int] = set()
    for item in items:
        case = _case(item)
        if case is None:
            continue
        dev = manifest.covering(case, deviations)
        if dev is not None:
            used.add(id(dev))
            item.add_marker(pytest.mark.xfail(reason=f"{dev.reason} ({dev.upstream})", strict=False))
            item.conformance_deviation = dev  # type: ignore[attr-defined]
    _STATE["drift"] = [d for d in deviations if id(d) not in used]
    # The ci profile's cover (conformance/battery/coverage.py): after the drift, which needs every item, and before
    # a resume's deselection, so a resumed run keeps the same cover.
    mode = coverage.mode_for(config.getoption("--hypothesis-profile", default=None), config.getoption("--checks"),
                             config.getoption("keyword", default="") or "")
    if mode == "cover":
        keep = coverage.cover(c for i in items if (c := _case(i)) is not None)
        beyond = [i for i in items if (c := _case(i)) is not None and c.test_id not in keep]
        if beyond:
            config.hook.pytest_deselected(items=beyond)
            dropped_ids = {id(i) for i in beyond}
            items[:] = [i for i in items if id(i) not in dropped_ids]
    # Checks finished by an earlier process of this shard: dropped after the drift is computed,
    # which needs every item, and before -k, so the two selections compose.
    recorded = _STATE.get("recorded")
    if recorded:
        done = [i for i in items if (c := _case(i)) is not None and c.test_id in recorded]
        if done:
            config.hook.pytest_deselected(items=done)
            dropped = {id(i) for i in done}
            items[:] = [i for i in items if id(i) not in dropped]


def pytest_collection_finish(session: pytest.Session) -> None:
    log = _STATE.get("log")
    if not log:
        return
    checks = []
    test_ids = _STATE["test_ids"] = {}
    for item in session.items:
        case = _case(item)
        if case is None:
            continue
        test_ids[item.nodeid] = case.test_id
        dev = getattr(item, "conformance_deviation", None)  # a declared crash: the runner's verdict if it dies
        crash = {"crash_deviation": dev.to_json()} if dev is not None and dev.crashes else {}
        checks.append({"test_id": case.test_id, "name": item.name, **identity(case), **crash})
    log.write(LogKind.COLLECTED, {"checks": checks})
    env = _STATE["env"]
    recorded = _STATE.get("recorded", set())
    for dev in _STATE.get("drift", []):
        record = _drift_record(env.backend, dev)
        if record["test_id"] not in recorded:
            log.write(LogKind.CHECK, record)


def identity(case: Case) -> dict[str, str]:
    """What names a check, as separate fields: nothing is ever parsed back out of a test id."""
    return {
        "spec": case.spec.id, "transform": case.spec.transform, "function": case.entry.name,
        "dtype": case.dtype, "variant": case.variant.label if case.variant else "",
    }


def _drift_record(backend: Backend, dev: manifest.Deviation) -> dict[str, Any]:
    return CheckRecord(
        backend=backend.name, library_version=backend.version, device=backend.device, dtype=manifest.pattern_text(dev.dtype),
        spec="manifest", transform="manifest", function=manifest.pattern_text(dev.function), test_id=f"manifest[{dev.source}]",
        status="error",
        message=f"known-deviation entry {dev.source} (spec={dev.spec!r}, function={dev.function!r}, dtype={dev.dtype!r}) "
        f"matches no check: remove it or fix its patterns",
        details={"deviation": dev.to_json()},
    ).to_json()


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    log = _STATE.get("log")
    if log:
        test_id = _STATE.get("test_ids", {}).get(nodeid, "")
        log.write(LogKind.START, {"nodeid": nodeid, "test_id": test_id, "time": time.time(), "pid": os.getpid()})


RESOURCE_ERRORS: tuple[type[BaseException], ...] = (MemoryError,)
"""Exhaustion of the machine, not a verdict: a check that ran out of memory says nothing about conformance."""


def exhausted(exc: BaseException | None) -> BaseException | None:
    """The resource error behind ``exc``, if any: ``exc`` itself, its cause or context chain, or a group's members.

    A spec that treats any library exception as evidence (``except Exception: raise CheckFailed(...) from
    None``) still leaves the MemoryError as the failure's ``__context__``, so an out-of-memory is found however
    the spec reworded it.
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, RESOURCE_ERRORS):
            return e
        todo += [e.__cause__, e.__context__, *getattr(e, "exceptions", ())]
    return None


def _status(rep: pytest.TestReport, call: pytest.CallInfo[None]) -> str:
    exc = call.excinfo.value if call.excinfo else None
    if not rep.passed and exhausted(exc) is not None:
        return "error"  # the run ran out of memory: no verdict (not a fail, a skip, nor the expected deviation)
    if hasattr(rep, "wasxfail"):
        return "xpass" if rep.passed else "xfail"
    if rep.passed:
        return "pass"
    if rep.skipped:
        return "skip"
    return "fail" if isinstance(exc, FAILURES) else "error"


def _message(rep: pytest.TestReport, call: pytest.CallInfo[None]) -> str:
    """What happened, in the library's own words (an xfail keeps its exception; the reason is in details)."""
    exc = call.excinfo.value if call.excinfo else None
    if not rep.passed and (oom := exhausted(exc)) is not None:
        said = f"{type(exc).__name__}: {str(exc).strip()}"[:300]
        return (f"out of memory: the library or the run raised {type(oom).__name__}"
                f"{f' ({oom})' if str(oom) else ''}, so the check reached no verdict (rerun with more memory)"
                + (f"; the spec reported: {said}" if exc is not oom else ""))
    if hasattr(rep, "wasxfail") and rep.passed:
        return f"known deviation did not occur (xpass): {rep.wasxfail}"
    if rep.skipped and not hasattr(rep, "wasxfail"):
        longrepr = rep.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            return str(longrepr[2]).removeprefix("Skipped: ")
        return str(longrepr)
    if call.excinfo is None:
        return str(getattr(rep, "wasxfail", ""))
    exc = call.excinfo.value
    if isinstance(exc, (*FAILURES, CheckTimeout)):
        return str(exc).strip()
    return f"{type(exc).__name__}: {exc}".strip()


def _reproducer(item: pytest.Item, case: Case, rep: pytest.TestReport) -> str:
    """The command that reruns exactly this check on the same draws, and hypothesis's blob when it printed one.

    Built from this process's own options, so it carries whatever the run used:
    the profile, the seed (a random profile draws from it; ``ci`` is
    derandomized), each manifest (they decide xfail), the time limit and the device.
    """
    config = item.config
    seed = config.getoption("--hypothesis-seed", default=None)
    lines = [reproducer_command(
        _STATE["backend_spec"], item.name,
        profile=config.getoption("--hypothesis-profile", default=None) or "default",
        seed=int(seed) if seed not in (None, "") else None,
        manifests=config.getoption("--manifest"),
        check_timeout=config.getoption("--check-timeout"),
        device=config.getoption("--device"),
    )]
    text = rep.longreprtext if rep.longrepr else ""
    blob = _BLOB.findall(text)
    return "\n".join(lines + blob[-1:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    case = _case(item)
    if case is None or "env" not in _STATE:
        return
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        from conformance.run.battery_tests import FIGURES

        env = _STATE["env"]
        figures = FIGURES.pop(case.test_id, None)
        status, message = _status(rep, call), _message(rep, call)
        dev = getattr(item, "conformance_deviation", None)
        if status == "xpass" and dev is not None and dev.flaky:
            # A deviation that shows on some runs only: not showing is no sign it is fixed.
            status = "pass"
            message = f"passed this time; a known deviation that shows on some runs only ({dev.source}): {dev.flaky}"
        details = dict(figures.details) if figures else {}
        if status in ("pass", "skip"):
            details.pop("inputs", None)  # kept only where a reader needs them: failures and deviations
        if dev is not None:
            details["deviation"] = dev.to_json()
        record = CheckRecord(
            backend=env.backend.name, library_version=env.backend.version, device=env.backend.device,
            test_id=case.test_id, status=status,
            **identity(case),
            max_abs_err=figures.max_abs_err if figures else None,
            max_rel_err=figures.max_rel_err if figures else None,
            tolerance=figures.tolerance.to_json() if figures and figures.tolerance else None,
            tolerance_used=figures.tolerance_used if figures else None,
            duration_s=round(rep.duration, 6),
            message=message,
            reproducer=_reproducer(item, case, rep) if status in ("fail", "error", "xfail") else "",
            details=details,
        )
        item.conformance_record = record  # type: ignore[attr-defined]
        log = _STATE.get("log")
        if log:
            log.write(LogKind.CHECK, record.to_json())
