"""Scaling figures: the speed-up curve of ``--jobs`` and serial versus sharded wall time (not a test).

    python benchmarks/scale.py jobs   [--backend numpy --backend torch ...] [--profile ci] [--repeat 3] [-k EXPR]
    python benchmarks/scale.py shards [--shards 2] [--backend ...] [--profile thorough] [--repeat 1] [-k EXPR]

``jobs``: the battery's wall time at ``--jobs 1``, ``2`` and every core (``os.cpu_count()``), median of
``--repeat`` runs each, with the speed-up over one process and whether each result equals the serial
one check for check (statuses, figures, messages; durations aside).  Beyond the backend x dtype processes
(2 per backend), the runner splits each into parts (``--shard`` inside one machine), so all cores work.

``shards``: one serial run (``--jobs 1``) against ``--shards`` N runs of ``--shard K/N``, each as on its
own machine (``--jobs 1``), run one after the other here: the sharded wall time is the slowest shard's
(what N machines would take), the sum is the work.  The merged shards are compared with the serial run.

Every figure is printed with the machine's core count and load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
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


def _run(args: list[str], out: Path) -> float:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", *args, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"run {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def _checks(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {(c["backend"], c["test_id"]): {k: v for k, v in c.items() if k != "duration_s"} for c in doc["checks"]}


def _base(ns: argparse.Namespace) -> list[str]:
    args = [a for b in ns.backend or ["numpy"] for a in ("--backend", b)]
    args += ["--profile", ns.profile, "--seed", str(ns.seed)]
    return args + (["-k", ns.keyword] if ns.keyword else [])


def jobs_curve(ns: argparse.Namespace, tmp: Path) -> None:
    cores = os.cpu_count() or 1
    counts = sorted({1, 2, cores})
    base = _base(ns)
    print(f"# --jobs speed-up: {' '.join(base)}; {cores} cores, load {os.getloadavg()[0]:.1f}, "
          f"median of {ns.repeat}")
    print(f"{'jobs':>5} {'wall s':>9} {'speed-up':>9}  same results as --jobs 1")
    serial_s = None
    serial: dict[Any, Any] = {}
    for jobs in counts:
        times = []
        for r in range(ns.repeat):
            out = tmp / f"jobs{jobs}-{r}.json"
            times.append(_run([*base, "--jobs", str(jobs)], out))
        wall = statistics.median(times)
        checks = _checks(tmp / f"jobs{jobs}-0.json")
        if jobs == 1:
            serial_s, serial = wall, checks
        same = "yes" if checks == serial else f"NO ({len(set(checks) ^ set(serial))} ids differ)"
        print(f"{jobs:>5} {wall:>9.1f} {serial_s / wall:>8.2f}x  {same}")


def shards(ns: argparse.Namespace, tmp: Path) -> None:
    base = _base(ns)
    n = ns.shards
    print(f"# serial vs {n} shards: {' '.join(base)}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"median of {ns.repeat}")
    serial = statistics.median(_run([*base, "--jobs", "1"], tmp / f"serial-{r}.json") for r in range(ns.repeat))
    per_shard = []
    for k in range(1, n + 1):
        per_shard.append(statistics.median(
            _run([*base, "--jobs", "1", "--shard", f"{k}/{n}"], tmp / f"shard{k}-{r}.json") for r in range(ns.repeat)))
    merged = tmp / "merged.json"
    subprocess.run([sys.executable, "-m", "conformance", "merge", *(str(tmp / f"shard{k}-0.json") for k in range(1, n + 1)),
                    "--out", str(merged)], cwd=ROOT, capture_output=True, check=False,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    same = merged.exists() and _checks(merged) == _checks(tmp / "serial-0.json")
    print(f"serial (--jobs 1)          {serial:8.1f} s")
    print(f"{n} shards, one per machine  {max(per_shard):8.1f} s  (slowest shard; each: "
          f"{', '.join(f'{s:.1f}' for s in per_shard)}; work {sum(per_shard):.1f} s)")
    print(f"speed-up                   {serial / max(per_shard):8.2f}x  merged equals serial: {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("jobs", "shards"))
    parser.add_argument("--backend", action="append")
    parser.add_argument("--profile", default="ci", choices=("ci", "thorough"))
    parser.add_argument("--seed", type=int, default=1, help="fixed, so every run draws the same examples")
    parser.add_argument("-k", dest="keyword")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shards", type=int, default=2)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conformance-scale-") as tmp:
        (jobs_curve if ns.mode == "jobs" else shards)(ns, Path(tmp))


if __name__ == "__main__":
    main()
