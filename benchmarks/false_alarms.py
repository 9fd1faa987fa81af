"""How often the battery is wrong about a correct library: a measurement that prints figures (not a test).

    python benchmarks/false_alarms.py [--seeds 10] [--first-seed 1] [--backend NAME ...] [--out-dir DIR]
    python benchmarks/false_alarms.py --summary-only [--out-dir DIR]   # summarize the seeds done so far
    python benchmarks/false_alarms.py --summary-only --recheck EXPR    # rerun what a fix changed, every seed

Runs the ``thorough`` profile on the unbroken shipped backends once per seed (both dtypes) and counts
unexpected results (fail, error, xpass) per million examples, printing each one with its reproducer.
Every unexpected result on an unbroken library is a false alarm of ours: it becomes a fixed check and a
regression test with its drawn inputs, never a wider tolerance or a skip.

Each seed's results file is kept in ``--out-dir`` (default ``reports/false-alarms/``); a seed whose file
exists is not rerun, so an interrupted measurement resumes where it stopped.  The summary is written to
``summary.json`` there, for the report's environment page.

A false alarm found is fixed at its cause, and the fix changes some checks' draws or verdicts.
``--recheck EXPR`` reruns, for every seed, the checks that ``-k EXPR`` selects (those of the entry or spec
that the fix touched) at the current code, and records them beside the measurement: what a check draws
depends only on the seed and its id, so a fix that changes one entry's draws or verdicts leaves every
other check of the seeds as recorded.
The summary's ``unexpected_after_recheck`` counts the alarms the recheck did not rerun green plus any the
recheck raised.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.__main__ import DEFAULT_BACKENDS  # noqa: E402
from conformance.battery.specs import REGISTRY  # noqa: E402
from conformance.run import runner  # noqa: E402
from conformance.store import results  # noqa: E402

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


def recheck(keyword: str, seeds: list[int], backends: list[str], out_dir: Path) -> dict[str, Any]:
    """Rerun the ``-k keyword`` checks of every seed at the current code (see the module docstring)."""
    checks: list[dict[str, Any]] = []
    revision = ""
    for seed in seeds:
        work = out_dir / ".partial" / f"recheck-{seed}"
        shutil.rmtree(work, ignore_errors=True)
        docs = runner.run_battery(backends, work, profile=PROFILE, keyword=keyword, backend_timeout=14400.0,
                                  seed=seed)
        header = results.run_header(profile=PROFILE, label=f"recheck seed {seed}")
        doc = results.merge(docs, header)
        revision = str((doc["run"].get("revision") or {}).get("git") or "")
        found = doc["checks"]
        for c in found:
            c["seed"] = seed
        checks += found
        print(f"recheck seed {seed}: {len(found)} checks, {len(runner.unexpected(found))} unexpected", flush=True)
    return {
        "keyword": keyword, "revision": revision, "seeds": seeds, "checks": len(checks),
        "examples": sum(examples_of(c) for c in checks),
        "unexpected": len(runner.unexpected(checks)),
        "alarms": [_alarm(c["seed"], c) for c in runner.unexpected(checks)],
        "passed": sorted({(c["seed"], c["test_id"]) for c in checks if c["status"] == "pass"}),
    }


def _alarm(seed: int, c: dict[str, Any]) -> dict[str, Any]:
    return {"seed": seed, "backend": c["backend"], "test_id": c["test_id"], "status": c["status"],
            "message": (c.get("message") or "").splitlines()[0:1], "reproducer": c.get("reproducer", "")}


def with_recheck(summary: dict[str, Any], rechecked: dict[str, Any]) -> dict[str, Any]:
    """The summary with one more recheck, and each alarm marked fixed once a recheck reran its check green.

    Rechecks accumulate in ``rechecks``, one per fix (a recheck of the same ``-k`` expression replaces the
    earlier one: it is the same fix measured again), so a later fix's recheck does not forget an earlier
    one.  Each keeps the alarms it found fixed (``fixed``: [seed, test_id] pairs), so that rebuilding the
    summary from the seed files (:func:`carry_rechecks`) can mark them again.
    """
    passed = {(seed, test_id) for seed, test_id in rechecked.pop("passed")}
    rechecked["fixed"] = sorted([a["seed"], a["test_id"]] for a in summary["alarms"] if (a["seed"], a["test_id"]) in passed)
    summary["rechecks"] = [r for r in _rechecks(summary) if r.get("keyword") != rechecked["keyword"]] + [rechecked]
    return _apply_rechecks(summary)


def carry_rechecks(summary: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """A summary rebuilt from the seed files, with the rechecks of the summary it replaces."""
    if previous:
        summary["rechecks"] = _rechecks(previous)
    return _apply_rechecks(summary)


def _rechecks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary's rechecks; one written before they accumulated held a single ``recheck``, whose fixes
    are read from the alarms it marked."""
    if isinstance(summary.get("rechecks"), list):
        return list(summary["rechecks"])
    if not isinstance(summary.get("recheck"), dict):
        return []
    fixed = [[a["seed"], a["test_id"]] for a in summary.get("alarms") or [] if a.get("fixed")]
    return [{**summary["recheck"], "fixed": fixed}]


def _apply_rechecks(summary: dict[str, Any]) -> dict[str, Any]:
    """Mark each alarm fixed when some recheck reran it green; count the alarms left plus what rechecks raised."""
    summary.pop("recheck", None)
    rechecks = summary.get("rechecks") or []
    fixed = {(seed, test_id) for r in rechecks for seed, test_id in r.get("fixed") or []}
    for alarm in summary["alarms"]:
        alarm["fixed"] = (alarm["seed"], alarm["test_id"]) in fixed
    if rechecks:
        summary["unexpected_after_recheck"] = (sum(not a["fixed"] for a in summary["alarms"])
                                               + sum(r["unexpected"] for r in rechecks))
    return summary


def examples_of(check: dict[str, Any]) -> int:
    """Inputs the check ran on: hypothesis's count for drawing specs, one for a deterministic check."""
    spec = REGISTRY.get(check["spec"])
    if spec is None or not spec.random_inputs:
        return 1
    return int((check.get("details") or {}).get("examples") or 0)


def summarize(docs: dict[int, dict[str, Any]], backends: list[str], wall: dict[int, float]) -> dict[str, Any]:
    checks = [c for doc in docs.values() for c in doc["checks"]]
    alarms = [_alarm(seed, c) for seed, doc in sorted(docs.items()) for c in runner.unexpected(doc["checks"])]
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


def _previous(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--backend", action="append", dest="backends", help="default: every shipped backend")
    p.add_argument("--out-dir", type=Path, default=ROOT / "reports" / "false-alarms")
    p.add_argument("--summary-only", action="store_true",
                   help="run nothing: summarize the seed files already in --out-dir (e.g. of a measurement in progress)")
    p.add_argument("--recheck", metavar="EXPR",
                   help="after the seeds, rerun the -k EXPR checks of every seed at the current code (after a fix)")
    args = p.parse_args(argv)
    if args.summary_only:
        found = {int(f.stem.split("-", 1)[1]): json.loads(f.read_text()) for f in args.out_dir.glob("seed-*.json")}
        if not found:
            p.error(f"--summary-only: no seed-N.json files in {args.out_dir}")
        summary = carry_rechecks(summarize(found, list(DEFAULT_BACKENDS), {}), _previous(args.out_dir))
        if args.recheck:
            summary = with_recheck(summary, recheck(args.recheck, summary["seeds"], summary["backends"], args.out_dir))
        (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        remaining = summary.get("unexpected_after_recheck", summary["unexpected"])
        print(f"{summary['checks']} checks, {summary['examples']} examples, {summary['unexpected']} unexpected "
              f"({remaining} after the recheck), seeds {summary['seeds']}: {args.out_dir / 'summary.json'}")
        return 1 if remaining else 0
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
    summary = carry_rechecks(summarize(docs, backends, wall), _previous(args.out_dir))
    if args.recheck:
        summary = with_recheck(summary, recheck(args.recheck, summary["seeds"], backends, args.out_dir))
    (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nfalse alarms, {PROFILE} profile, seeds {summary['seeds'][0]}..{summary['seeds'][-1]}, "
          f"backends {', '.join(summary['backends'])}, both dtypes:")
    print(f"  {summary['checks']} checks, {summary['examples']} examples, {summary['unexpected']} unexpected "
          f"= {summary['per_million_examples']:.2f} per million examples")
    for alarm in summary["alarms"]:
        print(f"  seed {alarm['seed']} {alarm['status'].upper()} {alarm['test_id']}: {''.join(alarm['message'])}")
        print(f"    reproducer: {alarm['reproducer']}" + ("  [fixed: reruns green]" if alarm.get("fixed") else ""))
    remaining = summary.get("unexpected_after_recheck", summary["unexpected"])
    for r in summary.get("rechecks") or []:
        print(f"  recheck (-k {r['keyword']}, every seed, at {str(r.get('revision', ''))[:12]}): {r['checks']} checks, "
              f"{r['unexpected']} unexpected")
    if summary.get("rechecks"):
        print(f"  unexpected after the rechecks: {remaining}")
    return 1 if remaining else 0


if __name__ == "__main__":
    raise SystemExit(main())
