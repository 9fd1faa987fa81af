"""Evidence produced in the run: snippet runs (as written, ports, fixes), API probes, reference values.

Nothing here decides a verdict (see :mod:`verdicts` and :mod:`kinds`).  Snippets, probes and the claims'
propositions run in the sandbox, in one pool, two at a time by default (each spawns an interpreter that imports torch
or jax, ~1-3 s), so the checker's own process never imports torch or jax.  Reference numbers come from the NumPy
reference backend.  Claims cite no battery check: a check that passes whenever the library is correct cannot tell a
true claim from a false one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import re
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from conformance.claims.article import api_probe, sandbox
from conformance.claims.article.claims import ClaimsFile
from conformance.claims.article.sandbox import SandboxResult

PREIMPORT = {"torch": ("torch",), "jax": ("jax",), "numpy": ("numpy",), "python": ()}


@dataclasses.dataclass(frozen=True)
class RunKey:
    snippet: str
    backend: str
    variant: str
    """as-written | port | fixed (the fix index is in ``index``)."""
    index: int = 0


@dataclasses.dataclass
class Job:
    key: RunKey
    code: str
    preimport: tuple[str, ...]
    timeout: float | None = None
    """Wall-clock limit of this job; None: the pool's default."""
    records: tuple[str, ...] = ()
    """Record types the program sends on the report channel (the propositions' evaluator: its outcomes)."""


def plan(cf: ClaimsFile, backends: Sequence[str]) -> list[Job]:
    """Snippets used by claims: as written on their target always; ports and fixes on the selected backends.

    ``python`` targets need no library, so they always run.
    """
    used = {c.data["snippet"] for c in cf.claims if "snippet" in c.data}
    selected = set(backends) | {"python"}
    jobs = []
    for sid in sorted(used):
        snip = cf.snippets[sid]
        jobs.append(Job(RunKey(sid, snip.target, "as-written"), snip.code, PREIMPORT[snip.target]))
        for backend, code in snip.ports.items():
            if backend in selected:
                jobs.append(Job(RunKey(sid, backend, "port"), code, PREIMPORT[backend]))
        for i, fx in enumerate(snip.fixes):
            if fx.backend in selected or fx.backend == snip.target:
                jobs.append(Job(RunKey(sid, fx.backend, "fixed", i), fx.code, PREIMPORT[fx.backend]))
    return jobs




def probe_jobs(names: Iterable[str]) -> list[Job]:
    """One probe job per top-level module of the dotted names (``RunKey(lib, lib, "probe")``)."""
    by_lib: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        by_lib.setdefault(name.split(".")[0], []).append(name)
    return [Job(RunKey(lib, lib, "probe"),
                "from conformance.claims.article import api_probe\n"
                f"api_probe.main({group!r}, globals().pop('__report__'))\n",
                ((lib,) if lib in PREIMPORT else ()) + ("conformance.claims.article.api_probe",), records=(api_probe.RECORD,))
            for lib, group in by_lib.items()]


def probe_result(runs: dict[RunKey, SandboxResult]) -> dict[str, Any]:
    """Merge the probe jobs' outputs: ``{"apis": {name: {exists, params, ...}}, "versions": ..., "errors": [...]}``."""
    result: dict[str, Any] = {"apis": {}, "versions": {}, "errors": []}
    for key, res in sorted(runs.items(), key=lambda kv: kv[0].snippet):
        if key.variant != "probe":
            continue
        if res.status != "ok":
            result["errors"].append(f"probe of {key.snippet} failed: {res.status} {res.reason} {res.exception}")
            continue
        sent = [r for r in res.records if r.get("type") == api_probe.RECORD]
        if len(sent) != 1 or not isinstance(sent[0].get("apis"), dict) or not isinstance(sent[0].get("versions"),
                                                                                        dict):
            result["errors"].append(f"probe of {key.snippet} sent {len(sent)} valid result records, not one")
            continue
        result["apis"].update(sent[0]["apis"])
        result["versions"].update(sent[0]["versions"])
    return result


def probe_apis(names: Iterable[str]) -> dict[str, Any]:
    """hasattr/inspect.signature of dotted names, per library, in fresh interpreters (one per top module)."""
    return probe_result(run_jobs(probe_jobs(names), parallel=1, timeout=120.0))


_STARTUP_COST = {"torch": 3, "jax": 2, "numpy": 1}


def _cost(job_code: str, preimport: tuple[str, ...]) -> tuple[int, int]:
    return sum(_STARTUP_COST.get(m, 0) for m in preimport), len(job_code)


class Interrupted(Exception):
    """Ctrl-C or SIGTERM while snippets ran: ``runs`` holds those that finished; the rest were killed or never started."""

    def __init__(self, runs: dict[RunKey, SandboxResult], pending: int) -> None:
        super().__init__(f"interrupted: {len(runs)} runs finished, {pending} killed or not started")
        self.runs = runs
        self.pending = pending


def run_jobs(jobs: Sequence[Job], parallel: int = 2, timeout: float = 90.0,
             isolation: str | None = None) -> dict[RunKey, SandboxResult]:
    """Run every job in the sandbox, ``parallel`` at a time; identical code runs once.

    The most expensive start-ups (torch, then jax) are submitted first, so the pool does not end on one slow
    interpreter while the other slot idles.  On KeyboardInterrupt (the CLI turns SIGTERM into one) the running
    snippets are killed at once through a shared cancel event, queued ones never start, and :class:`Interrupted`
    carries what had finished.
    """
    mode = isolation or sandbox.choose_isolation()
    by_code: dict[tuple[str, tuple[str, ...]], list[RunKey]] = {}
    limits: dict[tuple[str, tuple[str, ...]], float] = {}
    kinds: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
    for job in jobs:
        by_code.setdefault((job.code, job.preimport), []).append(job.key)
        limits[(job.code, job.preimport)] = max(limits.get((job.code, job.preimport), 0.0), job.timeout or timeout)
        kinds[(job.code, job.preimport)] = tuple(sorted({*kinds.get((job.code, job.preimport), ()), *job.records}))
    order = sorted(by_code, key=lambda cp: _cost(*cp), reverse=True)
    out: dict[RunKey, SandboxResult] = {}
    done, last = 0, time.monotonic()
    cancel = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        futures = {pool.submit(sandbox.run_snippet, code, preimport=pre, timeout=limits[(code, pre)], isolation=mode,
                               cancel=cancel, records=kinds[(code, pre)]): by_code[(code, pre)] for code, pre in order}
        for fut in concurrent.futures.as_completed(futures):
            for key in futures[fut]:
                out[key] = fut.result()
            done += 1
            if time.monotonic() - last > 5.0 or done == len(futures):
                stopped = sum(r.status in ("timeout", "killed") for r in out.values())
                print(f"[article] {done}/{len(futures)} sandboxed runs"
                      f"{f' ({stopped} stopped by a limit)' if stopped else ''}", flush=True)
                last = time.monotonic()
    except KeyboardInterrupt:
        cancel.set()  # running snippets see it within one poll (0.2 s) and kill their process trees
        pool.shutdown(wait=True, cancel_futures=True)
        finished = {key: res for key, res in out.items() if res.status != "cancelled"}
        raise Interrupted(finished, len(jobs) - len(finished)) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def run_all(jobs: Sequence[Job], probe: Iterable[str], parallel: int = 2, timeout: float = 90.0,
            isolation: str | None = None) -> tuple[dict[RunKey, SandboxResult], dict[str, Any]]:
    """Snippet jobs and API probes in one pool; returns the snippet runs and the merged probe result."""
    runs = run_jobs([*jobs, *probe_jobs(probe)], parallel=parallel, timeout=timeout, isolation=isolation)
    return split_probe(runs)


def split_probe(runs: dict[RunKey, SandboxResult]) -> tuple[dict[RunKey, SandboxResult], dict[str, Any]]:
    """(snippet runs, merged probe result) from one pool's runs."""
    return {k: v for k, v in runs.items() if k.variant != "probe"}, probe_result(runs)


def evidence_record(key: RunKey, res: SandboxResult) -> dict[str, Any]:
    """One evidence entry as docs/results-schema.md describes it."""
    return {
        "backend": key.backend,
        "variant": key.variant,
        "snippet": key.snippet,
        "status": res.status,
        "stdout": res.stdout,
        "exception": res.exception,
        "value": printed_lines(res.stdout),
        "duration_s": res.duration_s,
        "reason": res.reason,
        "isolation": res.isolation,
    }


def printed_lines(stdout: str) -> list[str]:
    return [ln.strip() for ln in stdout.splitlines() if ln.strip()]


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def first_number(line: str) -> str | None:
    """The first number printed on ``line``, as printed (its digits say how precise it is)."""
    m = _NUMBER.search(line)
    return m.group(0) if m else None


def reference_value(op: str, function: str, x: float, tangent: float = 1.0) -> float:
    """A number from the NumPy reference (numerical derivatives of the catalog function), not a re-derivation."""
    import numpy as np

    from backends.numpy_reference import NumpyReference
    from conformance.battery.catalog import CATALOG

    entry = next(e for e in CATALOG if e.name == function)
    ref = NumpyReference()
    f = entry.bind(ref.xp)
    xa = np.array(x, dtype=np.float64)
    if op == "value":
        return float(f(xa))
    if op == "grad":
        return float(ref.grad(f)(xa))
    if op == "hessian":
        return float(np.asarray(ref.hessian(f)(xa)).reshape(-1)[0])
    if op == "jvp":
        return float(ref.jvp(f, (xa,), (np.array(tangent, dtype=np.float64),))[1])
    raise ValueError(f"unknown reference op {op!r}")
