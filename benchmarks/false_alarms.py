"""How often the battery is wrong about a correct library: a measurement that prints figures (not a test).

    python benchmarks/false_alarms.py [--seeds 10] [--first-seed 1] [--backend NAME ...] [--out-dir DIR]
    python benchmarks/false_alarms.py --summary-only [--out-dir DIR]   # summarize the seeds done so far

Runs the ``thorough`` profile on the unbroken shipped backends once per seed (both dtypes) and counts
unexpected results (fail, error, xpass) per million examples, printing each one with its reproducer.
Every unexpected result on an unbroken library is a false alarm of ours: it becomes a fixed check and a
regression test with its drawn inputs, never a wider tolerance or a skip.

Each seed's results file is kept in ``--out-dir`` (default ``reports/false-alarms/``); a seed whose file
exists is not rerun, so an interrupted measurement resumes where it stopped.  The summary is written to
``summary.json`` there, for the report's environment page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance import results, runner  # noqa: E402
from conformance.__main__ import DEFAULT_BACKENDS  # noqa: E402
from conformance.specs import REGISTRY  # noqa: E402

PROFILE = "thorough"


def run_seed(seed: int, backends: list[str], out: Path) -> dict[str, Any]:
    """One thorough run with ``--hypothesis-seed=seed``; its document is written to ``out`` and returned."""
    header = results.run_header(profile=PROFILE, label=f"false-alarm seed {seed}")
    header["hypothesis_seed"] = seed
    work = out.parent / ".partial" / f"seed-{seed}"
    # An interrupted seed resumes: the checks it recorded are kept, the others run (their draws depend on
    # the seed and the check's id only, so a resumed seed is the seed).
    docs = runner.run_battery(backends, work, profile=PROFILE, backend_timeout=14400.0, seed=seed,
                              resume=work.exists())
    doc = results.merge(docs, header)
    results.write_atomic(out, doc)
    return doc


def examples_of(check: dict[str, Any]) -> int:
    """Inputs the check ran on: hypothesis's count for drawing specs, one for a deterministic check."""
    spec = REGISTRY.get(check["spec"])
    if spec is None or not spec.random_inputs:
        return 1
    return int((check.get("details") or {}).get("examples") or 0)


def summarize(docs: dict[int, dict[str, Any]], backends: list[str], wall: dict[int, float]) -> dict[str, Any]:
    checks = [c for doc in docs.values() for c in doc["checks"]]
    alarms = [
        {"seed": seed, "backend": c["backend"], "test_id": c["test_id"], "status": c["status"],
         "message": (c.get("message") or "").splitlines()[0:1], "reproducer": c.get("reproducer", "")}
        for seed, doc in sorted(docs.items()) for c in runner.unexpected(doc["checks"])
    ]
    examples = sum(examples_of(c) for c in checks)
    return {
        "profile": PROFILE,
        "seeds": sorted(docs),
        "backends": sorted({c["backend"] for c in checks}) or backends,
        "versions": {name: env.get("version") for doc in docs.values() for name, env in doc["backends"].items()},
        "checks": len(checks),
        "examples": examples,
        "unexpected": len(alarms),
        "per_million_examples": 1e6 * len(alarms) / examples if examples else None,
        "alarms": alarms,
        "revisions": sorted({str((doc["run"].get("revision") or {}).get("git") or "") for doc in docs.values()} - {""}),
        "wall_s_per_seed": wall,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--backend", action="append", dest="backends", help="default: every shipped backend")
    p.add_argument("--out-dir", type=Path, default=ROOT / "reports" / "false-alarms")
    p.add_argument("--summary-only", action="store_true",
                   help="run nothing: summarize the seed files already in --out-dir (e.g. of a measurement in progress)")
    args = p.parse_args(argv)
    if args.summary_only:
        found = {int(f.stem.split("-", 1)[1]): json.loads(f.read_text()) for f in args.out_dir.glob("seed-*.json")}
        if not found:
            p.error(f"--summary-only: no seed-N.json files in {args.out_dir}")
        summary = summarize(found, list(DEFAULT_BACKENDS), {})
        (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"{summary['checks']} checks, {summary['examples']} examples, {summary['unexpected']} unexpected, "
              f"seeds {summary['seeds']}: {args.out_dir / 'summary.json'}")
        return 1 if summary["unexpected"] else 0
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    backends = args.backends or list(DEFAULT_BACKENDS)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    docs: dict[int, dict[str, Any]] = {}
    wall: dict[int, float] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        path = args.out_dir / f"seed-{seed}.json"
        if path.exists():
            docs[seed] = json.loads(path.read_text())
            print(f"seed {seed}: kept from {path}", flush=True)
        else:
            started = time.perf_counter()
            docs[seed] = run_seed(seed, backends, path)
            wall[seed] = round(time.perf_counter() - started, 1)
            print(f"seed {seed}: {wall[seed]} s", flush=True)
        bad = runner.unexpected(docs[seed]["checks"])
        print(f"seed {seed}: {len(docs[seed]['checks'])} checks, {len(bad)} unexpected", flush=True)
    summary = summarize(docs, backends, wall)
    (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nfalse alarms, {PROFILE} profile, seeds {summary['seeds'][0]}..{summary['seeds'][-1]}, "
          f"backends {', '.join(summary['backends'])}, both dtypes:")
    print(f"  {summary['checks']} checks, {summary['examples']} examples, {summary['unexpected']} unexpected "
          f"= {summary['per_million_examples']:.2f} per million examples")
    for alarm in summary["alarms"]:
        print(f"  seed {alarm['seed']} {alarm['status'].upper()} {alarm['test_id']}: {''.join(alarm['message'])}")
        print(f"    reproducer: {alarm['reproducer']}")
    return 1 if summary["unexpected"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
