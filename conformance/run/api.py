"""The battery as a library call: gate a backend from a script or from the library's own test suite.

Two entry points, in the manner of scikit-learn's ``check_estimator`` and
``parametrize_with_checks``:

- :func:`check_backend` runs the whole battery (or a selection) on one adapter
  in this process and returns a :class:`CheckResult`: the same records the
  command line writes, with counts.  It runs the battery through pytest and our
  plugin, so manifests, xfails, drift and reproducers behave exactly as in
  ``python -m conformance run``; only the sharding and the watchdog are absent.
- :func:`parametrize_checks` turns the battery into parametrized tests of the
  caller's own pytest suite, one per check, without our plugin or command line::

      @conformance.parametrize_checks(MyAdapter())
      def test_conformance(conformance_check):
          conformance_check()

:func:`prepare` is the piece both share with the plugin (``conformance.run.plugin``): how an adapter is set up
next to the NumPy reference; which manifest entry, if any, marks a check as a known deviation is
:func:`conformance.inputs.manifest.covering`'s to say.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from backends.base import Backend, load_backend
from conformance.battery.specs.core import REGISTRY, Case, Figures, cases
from conformance.contract import PROJECT_ROOT, STATUSES, UNEXPECTED, LogKind
from conformance.inputs import manifest
from conformance.run.runner.command import BATTERY
from conformance.store.results import read_jsonl


@dataclasses.dataclass
class Env:
    """The adapter under test, the oracle it is compared with, and the manifest entries for its version."""

    backend: Backend
    reference: Backend
    deviations: list[manifest.Deviation] = dataclasses.field(default_factory=list)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints every test argument of a failing check: the backend's name is what helps."""
        printer.text(f"Env(backend={self.backend.name!r})")


def prepare(adapter: Backend | str, manifests: Sequence[str | Path] = (), reference: Backend | None = None) -> Env:
    """Load (if named) and set up ``adapter``, pick its reference, and read the manifests that apply to it.

    ``manifests`` add to the built-in manifest of a shipped backend; entries whose ``versions`` exclude the
    installed library are dropped here, so a fixed upstream bug stops being expected as soon as it ships.
    """
    backend = load_backend(adapter) if isinstance(adapter, str) else adapter
    if not isinstance(backend, Backend):
        raise TypeError(f"{adapter!r} is not a backends.base.Backend (subclass it, see the README)")
    backend.setup()
    if reference is None:
        from backends.numpy_reference import NumpyReference

        reference = backend if backend.is_reference else NumpyReference()
    deviations = [d for d in manifest.for_backend(backend.name, [Path(p) for p in manifests])
                  if d.applies_to_version(backend.version)]
    return Env(backend, reference, deviations)


# -- check_backend: the whole battery in this process -------------------------------------------


@dataclasses.dataclass
class CheckResult:
    """What one battery run on one adapter found.

    ``records`` are the results file's check records (``docs/results-schema.md``): ``status`` is one of
    pass, fail, error, skip (not offered), xfail (a known deviation) or xpass; ``environment`` is what the
    adapter reported about itself (library, version, device, its declared conventions).
    """

    environment: dict[str, Any]
    records: list[dict[str, Any]]
    wall_s: float = 0.0
    checks_s: float = 0.0
    """Seconds in the checks themselves (pytest's test loop), without imports and collection."""

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r["status"] for r in self.records)
        return {s: found.get(s, 0) for s in STATUSES}

    @property
    def unexpected(self) -> list[dict[str, Any]]:
        """Records that fail a gate: fail, error, or xpass (a known deviation that no longer happens)."""
        return [r for r in self.records if r["status"] in UNEXPECTED]

    @property
    def ok(self) -> bool:
        return not self.unexpected

    def summary(self) -> str:
        """One line of counts, then one line per unexpected record (what a CI log should show)."""
        name = self.environment.get("backend", "?")
        head = f"{name}: " + ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        lines = [head] + [f"  {r['status'].upper()} {r['test_id']}: {(r.get('message') or '').strip()[:200]}"
                          for r in self.unexpected]
        return "\n".join(lines)


class LoopTimer:
    """A pytest plugin object that times the test loop: the checks alone, without imports and collection
    (``loop_s``; also how ``benchmarks/battery.py`` times its empty checks)."""

    def __init__(self) -> None:
        self.loop_s = 0.0

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: Any) -> Any:
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            self.loop_s = time.perf_counter() - started


class _Provided(LoopTimer):
    """A pytest plugin object that hands an adapter instance to ``conformance.run.plugin`` (see :func:`provided`)."""

    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env


def provided(config: Any) -> Env | None:
    """The environment :func:`check_backend` handed to this pytest session, if it was started that way."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, _Provided):
            return plugin.env
    return None


def _targets(specs: Sequence[str] | None) -> list[str]:
    """The battery's node ids for ``specs`` (exact, where ``-k`` would also take every id it is a prefix of)."""
    if not specs:
        return [str(BATTERY)]
    unknown = sorted(set(specs) - set(REGISTRY))
    if unknown:
        raise ValueError(f"unknown spec ids {unknown} (list them with: python -m conformance specs)")
    return [f"{BATTERY}::test_{s}" for s in specs]


def _selection(keyword: str | None, dtypes: Sequence[str] | None) -> str | None:
    parts = [f"({keyword})"] if keyword else []
    if dtypes:
        parts.append("(" + " or ".join(dtypes) + ")")
    return " and ".join(parts) or None


def check_backend(
    adapter: Backend | str,
    *,
    manifests: Sequence[str | Path] = (),
    specs: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    keyword: str | None = None,
    profile: str = "ci",
    seed: int | None = None,
    check_timeout: float = 0.0,
    reference: Backend | None = None,
    device: str | None = None,
    pytest_args: Sequence[str] = (),
) -> CheckResult:
    """Run the battery on ``adapter`` (an instance, or ``module:attr`` / a built-in name) and return the records.

    ``specs`` (spec ids), ``dtypes`` and ``keyword`` (a pytest ``-k`` expression) select checks;
    ``manifests`` are known-deviation TOML files (``docs/manifest.md``); ``device`` (``cuda``, ``gpu``...) is
    handed to the adapter's ``use_device`` before any check, as ``--device`` does (a device it lacks raises
    ``DeviceUnavailable``).  Runs in this process, so an
    adapter that hangs or crashes takes the caller with it: for a gate, prefer ``python -m conformance run``.
    """
    targets = _targets(specs)
    env = prepare(adapter, manifests, reference)
    if device:
        env.backend.use_device(device)  # raises DeviceUnavailable (naming the devices it has) before any check
    selection = _selection(keyword, dtypes)
    holder = _Provided(env)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        log = Path(tmp) / "checks.jsonl"
        args = [*targets, "-p", "conformance.run.plugin", "--results-log", str(log), "--rootdir", str(PROJECT_ROOT),
                "-q", "--no-header", "-p", "no:cacheprovider", "-o", "addopts=", "--tb=native",
                "-W", "ignore::pytest.PytestAssertRewriteWarning", f"--hypothesis-profile={profile}", f"--check-timeout={check_timeout:g}"]
        args += [f"--manifest={m}" for m in manifests]
        if seed is not None:
            args.append(f"--hypothesis-seed={seed}")
        if device:
            args.append(f"--device={device}")
        if selection:
            args += ["-k", selection]
        code = pytest.main([*args, *pytest_args], plugins=[holder])
        if int(code) not in (0, 1, 5):  # ran to the end / some failed / nothing selected
            raise RuntimeError(f"the battery did not run on {env.backend.name} (pytest exit {int(code)}); "
                               "rerun with pytest_args=['-v'] to see why")
        lines = list(read_jsonl(log)) if log.exists() else []
    environment = next((r for r in lines if r.get("kind") == LogKind.BACKEND), {})
    records = [r for r in lines if r.get("kind") == LogKind.CHECK]
    for r in [environment, *records]:
        r.pop("kind", None)
    return CheckResult(environment, records, wall_s=time.perf_counter() - started, checks_s=holder.loop_s)


# -- parametrize_checks: the battery inside the caller's own pytest suite -------------------------


@dataclasses.dataclass
class ConformanceCheck:
    """One check of the battery, callable from a test: passes, or raises skip / CheckFailed / the library's error."""

    case: Case
    env: Env
    profile: str = "ci"
    seed: int = 0

    @property
    def test_id(self) -> str:
        return self.case.test_id

    def __call__(self) -> None:
        from hypothesis import given, settings
        from hypothesis import seed as hypothesis_seed
        from hypothesis import strategies as st

        from conformance.battery.strategies import check_seed
        from conformance.run.battery_tests import run_example

        figures = Figures()

        def once(data: Any | None) -> None:
            run_example(self.case, self.env.backend, self.env.reference, data, figures)

        if self.case.spec.random_inputs:
            test = given(data=st.data())(once)
            test = settings(settings.get_profile(self.profile))(test)
            hypothesis_seed(check_seed(self.seed, self.case.draw_id))(test)()
        else:
            once(None)


def checks(adapter: Backend | str, *, manifests: Sequence[str | Path] = (), specs: Sequence[str] | None = None,
           dtypes: Sequence[str] | None = None, profile: str = "ci", seed: int = 0) -> list[ConformanceCheck]:
    """Every check the battery generates for ``adapter`` (or those of ``specs`` and ``dtypes``), ready to call."""
    _targets(specs)  # an unknown spec id is an error, not an empty selection
    env = prepare(adapter, manifests)
    chosen = [REGISTRY[s] for s in specs] if specs else None
    return [ConformanceCheck(c, env, profile, seed) for c in cases(env.backend, chosen)
            if not dtypes or c.dtype in dtypes]


def parametrize_checks(adapter: Backend | str, **options: Any) -> Callable[[Any], Any]:
    """A decorator parametrizing a test over the battery's checks (argument ``conformance_check``).

    A check covered by a manifest entry is a strict xfail (it must fail; a pass means the entry is stale), except
    under a ``flaky`` entry, which may pass.
    ``options`` are those of :func:`checks`.
    """
    params = []
    for check in checks(adapter, **options):
        dev = manifest.covering(check.case, check.env.deviations)
        # A flaky entry (shows on some runs only) is a non-strict xfail: its passes are not a stale entry.
        marks = [pytest.mark.xfail(reason=f"{dev.reason} ({dev.upstream})", strict=not dev.flaky)] if dev else []
        params.append(pytest.param(check, id=check.test_id, marks=marks))
    return pytest.mark.parametrize("conformance_check", params)
