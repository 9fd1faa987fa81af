"""Where the battery's time goes: a benchmark that prints figures (not a test).

    python benchmarks/battery.py [--repeat 3] [--cold] [--breakdown-only] [--backend NAME ...]

1. Imports: median time to import each default backend's library in a fresh interpreter.
2. The whole gate's battery (``python -m conformance run``: every default backend, two
   dtypes, ci profile), ``--repeat`` times: median wall time and checks per second.
3. A breakdown per backend, from one in-process run with timers around every
   adapter call: the libraries' own calls (and, for JAX, XLA compilation inside
   them), the NumPy reference, and the harness (hypothesis, comparisons, pytest,
   everything else), with the harness/library ratio, and the floor of that ratio:
   what an empty check (a pytest item running hypothesis's ``given``, no work)
   costs, times the checks run, over the library's time; and examples per second (hypothesis
   examples run, over the test loop's seconds), the figure to compare for libraries whose calls
   take microseconds (MLX, autograd), where the floor alone exceeds the library.

``--cold`` turns JAX's persistent compilation cache off and gives torch.compile an
empty cache directory, to measure a first run on a fresh machine.  ``--breakdown-only``
prints part 3 alone: its figures are ratios within one run, so a busy machine skews
them less than the wall times of part 2.  ``--backend NAME`` (repeatable) limits parts 2
and 3 to those backends (any name ``python -m conformance run --backend`` takes).

The timers wrap the adapter's transforms with :func:`functools.wraps`, so a library that inspects the
function it is given (its signature, ``__wrapped__``, its name) sees the original's.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.__main__ import DEFAULT_BACKENDS  # noqa: E402

BACKENDS = tuple(DEFAULT_BACKENDS)
MODULES = ("numpy", "torch", "jax", "mlx.core", "autograd")


def _import_time(module: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
             for _ in range(repeat)]
    return statistics.median(times)


def _run_env(env: dict[str, str], cold: bool) -> dict[str, str]:
    """The environment of one measured process: cold runs get an empty torch.compile cache each (JAX's
    persistent cache is off for them through ``env``), so no run warms the next."""
    return {**env, "TORCHINDUCTOR_CACHE_DIR": tempfile.mkdtemp(prefix="inductor-cold-")} if cold else env


def _battery_wall(repeat: int, env: dict[str, str], cold: bool, backends: tuple[str, ...]) -> tuple[float, int]:
    walls, checks = [], 0
    chosen = [arg for name in backends for arg in ("--backend", name)] if backends != BACKENDS else []
    for i in range(repeat):
        out = Path(tempfile.mkdtemp()) / "run.json"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "conformance", "run", "--out", str(out), *chosen], cwd=ROOT,
                       env=_run_env(env, cold),
                       stdout=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - t)
        checks = len(json.loads(out.read_text())["checks"])
        print(f"  run {i + 1}/{repeat}: {walls[-1]:.1f} s, {checks} checks", flush=True)
    return statistics.median(walls), checks


# -- the in-process breakdown (runs in a child interpreter per backend) -------------------

class _Timer:
    """Accumulates the outermost call into an adapter (nested transforms are not double counted)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.depth = 0

    def wrap(self, fn: Any) -> Any:
        if not callable(fn) or getattr(fn, "_timed", False):
            return fn

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            t = time.perf_counter()
            try:
                return self._wrap_result(fn(*args, **kwargs))
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.seconds += time.perf_counter() - t

        timed._timed = True  # type: ignore[attr-defined]
        return timed

    def _wrap_result(self, result: Any) -> Any:
        if callable(result) and not isinstance(result, type):
            return self.wrap(result)
        if isinstance(result, tuple):
            return tuple(self._wrap_result(r) for r in result)
        return result


TRANSFORMS = ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "scan", "cond", "jit",
              "asarray", "to_numpy")


def _instrument(backend: Any, timer: _Timer) -> None:
    for name in TRANSFORMS:
        setattr(backend, name, timer.wrap(getattr(backend, name)))


def _count_examples() -> list[int]:
    """A counter of the hypothesis examples run in this process (one per call of the test body).

    Hypothesis has no public per-run example count; this wraps its private ``execute_once`` (6.1xx).  If that
    moves, the column reads 0 rather than the benchmark failing.
    """
    count = [0]
    try:
        from hypothesis import core
    except ImportError:
        return count
    state = getattr(core, "StateForActualGivenExecution", None)
    original = getattr(state, "execute_once", None)
    if original is None:
        return count

    @functools.wraps(original)
    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(self, *args, **kwargs)

    state.execute_once = counted
    return count


def _profile_backend(name: str) -> dict[str, float]:
    """One in-process run through the public API, with timers wrapped around the adapter and the reference."""
    from backends.base import load_backend
    from backends.numpy_reference import NumpyReference
    from conformance import check_backend

    library, reference = _Timer(), _Timer()
    compile_s = [0.0]
    backend = load_backend(name)
    oracle = backend if backend.is_reference else NumpyReference()
    _instrument(backend, library)
    if oracle is not backend:
        _instrument(oracle, reference)
    if name == "jax":
        import jax

        def on_duration(event: str, duration: float, **_: Any) -> None:
            if event.endswith("backend_compile_duration"):
                compile_s[0] += duration

        jax.monitoring.register_event_duration_secs_listener(on_duration)

    examples = _count_examples()
    result = check_backend(backend, reference=oracle, profile="ci")
    loop = result.checks_s
    counts = result.counts
    return {"startup": result.wall_s - loop, "checks": loop, "library": library.seconds, "compile": compile_s[0],
            "reference": reference.seconds, "harness": loop - library.seconds - reference.seconds,
            "run": sum(counts.values()) - counts.get("skip", 0), "examples": examples[0]}


_EMPTY_CHECKS = """
import pytest
from hypothesis import given, seed, strategies as st
from conformance.battery.strategies import check_seed  # and the ci profile, loaded by --hypothesis-profile

@pytest.fixture(autouse=True)
def _seed_this_check(request):  # as conformance/run/battery_tests.py seeds each check
    seed(check_seed(0, request.node.name))(request.function)

@pytest.mark.parametrize("i", range({n}))
@given(data=st.data())
def test_empty(i, data):
    pass
"""


def _floor_per_check(n: int = 400) -> float:
    """Seconds per check of a check that does nothing: one pytest item, seeded as the battery seeds its
    checks, running hypothesis's ``given`` for the ci profile's three examples, no draw, no library call.
    No harness built on pytest and hypothesis (the project's fixed tools) can cost less per check, so
    ``floor x checks run / library`` bounds the harness/library ratio from below.  Timed inside pytest's
    test loop by the same plugin that times the breakdown's checks."""
    import pytest

    from conformance.run.api import LoopTimer

    timer = LoopTimer()
    with tempfile.TemporaryDirectory() as tmp:
        test = Path(tmp) / "test_empty_checks.py"
        test.write_text(_EMPTY_CHECKS.format(n=n))
        pytest.main(["-q", "-p", "no:cacheprovider", "--hypothesis-profile=ci", "--rootdir", tmp, str(test)],
                    plugins=[timer])
    return timer.loop_s / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="no JAX or torch.compile cache carried between runs")
    parser.add_argument("--breakdown-only", action="store_true", help="only the per-backend breakdown (part 3)")
    parser.add_argument("--backend", action="append", metavar="NAME",
                        help="limit parts 2 and 3 to this backend (repeatable; default: every default backend)")
    parser.add_argument("--profile-backend", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_backend:
        print(json.dumps(_profile_backend(args.profile_backend)))
        return 0
    if args.floor:
        print(json.dumps(_floor_per_check()))
        return 0

    backends = tuple(args.backend or BACKENDS)
    env = dict(os.environ)
    if args.cold:
        env["TRANSFORM_CONFORMANCE_JAX_CACHE"] = ""
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; compilation caches: "
          f"{'off (cold)' if args.cold else 'persistent (warm after run 1)'}")
    if not args.breakdown_only:
        print("\nimports (median of 3, fresh interpreter):")
        for module in MODULES:
            print(f"  {module:<9} {_import_time(module, 3):6.2f} s")

        print(f"\nbattery, {len(backends)} backends x 2 dtypes, ci profile ({args.repeat} runs):")
        wall, checks = _battery_wall(args.repeat, env, args.cold, backends)
        print(f"  median wall {wall:.1f} s, {checks} checks, {checks / wall:.1f} checks/s")

    print("\nbreakdown per backend (one in-process run each, seconds; startup = imports + collection,")
    print("checks = the test loop = library + reference + harness):")
    print(f"  {'backend':<15}{'startup':>8}{'checks':>8}{'library':>9}{'(jit)':>8}{'reference':>11}{'harness':>9}"
          f"{'harness/lib':>13}{'floor/lib':>11}{'examples/s':>12}")
    rows = []
    for name in backends:
        proc = subprocess.run([sys.executable, __file__, "--profile-backend", name], cwd=ROOT,
                              env=_run_env(env, args.cold),
                              capture_output=True, text=True, check=True)
        rows.append((name, json.loads(proc.stdout.strip().splitlines()[-1])))
    floor = json.loads(subprocess.run([sys.executable, __file__, "--floor"], cwd=ROOT, env=env, capture_output=True,
                                      text=True, check=True).stdout.strip().splitlines()[-1])
    for name, f in rows:
        ratio = f["harness"] / f["library"] if f["library"] else float("nan")
        floor_ratio = floor * f["run"] / f["library"] if f["library"] else float("nan")
        per_s = f["examples"] / f["checks"] if f["checks"] else float("nan")
        print(f"  {name:<15}{f['startup']:8.1f}{f['checks']:8.1f}{f['library']:9.1f}{f['compile']:8.1f}"
              f"{f['reference']:11.1f}{f['harness']:9.1f}{ratio:13.2f}{floor_ratio:11.2f}{per_s:12.0f}")
    print(f"\nfloor: an empty check (a pytest item running hypothesis's given, ci profile, no draw, no library call)"
          f" takes {floor * 1e3:.2f} ms;\nfloor/lib = that times the checks run (not skipped), over the library's"
          f" time: the lowest harness/lib any pytest + hypothesis harness could reach")
    return 0


if __name__ == "__main__":
    sys.exit(main())
