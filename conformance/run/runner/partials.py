"""The run's partial documents: one per backend, built from its shards' logs, with a record for every check lost.

A check the shard could not record itself (it was in flight when the process died, or never ran because the
process stopped early) becomes an ``error`` record here, from the identity its ``collected`` record gave, with
the reproducer of that one check.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.run.runner.command import ShardOptions, reproducer_command
from conformance.run.runner.process import NORMAL_EXITS, Shard, describe_exit, tail
from conformance.store import results


def error_record(shard: Shard, opts: ShardOptions, test_id: str, message: str,
                 details: dict[str, Any] | None = None, duration_s: float = 0.0,
                 status: str = "error") -> dict[str, Any]:
    """An ``error`` record (or, for a declared crash, ``xfail``) for a check the shard could not record itself,
    from its collected identity."""
    ident = shard.log.collected[test_id]
    env = shard.log.env
    return results.CheckRecord(
        backend=env.get("backend", shard.spec), library_version=env.get("version", "?"),
        device=env.get("device", "?"), dtype=ident["dtype"], spec=ident["spec"], transform=ident["transform"],
        function=ident["function"], variant=ident.get("variant", ""), test_id=test_id, status=status,
        message=message, duration_s=duration_s,
        reproducer=reproducer_command(shard.spec, ident["name"], profile=opts.profile, seed=opts.seed,
                                      manifests=opts.manifests, check_timeout=opts.check_timeout,
                                      device=opts.device),
        details=details or {},
    ).to_json()


def in_flight_record(shard: Shard, opts: ShardOptions, cause: str, *, watchdog: bool, grace: float) -> tuple[str, dict[str, Any]]:
    """The event and the ``error`` record of the check a dead shard was running (``shard.log.in_flight``)."""
    assert shard.log.in_flight is not None
    test_id, started = shard.log.in_flight
    if watchdog:
        limit = opts.check_timeout
        message = (f"time limit exceeded: the check ran past {limit:g} s and did not answer the in-process "
                   f"alarm, so its process was killed by the watchdog after "
                   f"{limit + grace:g} s")
        event = f"a check ran past its time limit and was killed by the watchdog: {test_id}"
    else:
        message = f"backend process died while running this check: {cause}"
        event = f"{cause} while running {test_id}"
    details: dict[str, Any] = {"output_tail": tail(shard.out)}
    status = "error"
    declared = shard.log.collected[test_id].get("crash_deviation")
    if declared and not watchdog and cause.startswith("killed by signal"):
        # Only a signal death the entry declares (``crashes``): a time-out or an exit is no known crash.
        status, details["deviation"] = "xfail", declared
        message = (f"{message}: the known crash of manifest entry {declared['source']} ({declared['crashes']}); "
                   f"{declared['reason']} ({declared['link'] or 'no upstream issue: ' + declared['no_upstream']})")
    record = error_record(shard, opts, test_id, message, details=details, status=status,
                          duration_s=round(time.time() - started, 3))
    return event, record


def documents(shards: Sequence[Shard], opts: ShardOptions, interrupted: str) -> list[dict[str, Any]]:
    """One partial document per backend (both dtype shards), checks deduplicated."""
    docs: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()  # manifest drift is found at collection, before the shard's -k: once per entry
    for shard in shards:
        if interrupted and not shard.log.env and not shard.log.checks:
            continue  # never started: nothing to say about it but that it is missing, which resume fixes
        name, env, checks = _collect(shard, opts, interrupted)
        doc = docs.setdefault(name, results.new_document({}))
        if interrupted:
            doc["interrupted"], doc["interrupted_reason"] = True, interrupted
        previous = doc["backends"].get(name)
        if previous:
            env["process"] = combine(previous["process"], env["process"])
        doc["backends"][name] = env
        for c in checks:
            if c["spec"] == "manifest" and c["test_id"] in seen:
                continue
            seen.add(c["test_id"])
            doc["checks"].append(c)
    return list(docs.values())


def _collect(shard: Shard, opts: ShardOptions, interrupted: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    log = shard.log
    env = dict(log.env) or {"backend": shard.spec}
    checks = list(log.checks.values())
    started = shard.process is not None or shard.done
    if interrupted and not shard.done:
        cause = f"interrupted ({interrupted})" if started else f"not started ({interrupted})"
    else:
        cause = shard.cause
        code = shard.returncode
        if log.remaining and not cause:
            cause = f"the process ended ({describe_exit(code) if code is not None else '?'}) before these checks"
        for test_id in log.remaining:
            checks.append(error_record(shard, opts, test_id, f"not run: the backend process stopped early ({cause})"))
        if not log.collected and cause:
            output = tail(shard.out)
            last = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "")
            checks.append(results.CheckRecord(
                backend=shard.spec, library_version="?", device="?", dtype=shard.dtype, spec="backend",
                transform="backend", function="*", status="error",
                test_id=f"backend[{shard.spec}-{shard.dtype}" + (f"-{shard.part[0]}of{shard.part[1]}]"
                                                                 if shard.part[1] > 1 else "]"),
                message=f"the backend process failed before collecting any check ({cause}): {last}",
                details={"output_tail": output},
            ).to_json())
    env["process"] = {
        "returncode": shard.returncode,
        "cause": cause or (shard.events[0] if shard.events else ""),
        "restarts": shard.restarts,
    }
    return env.get("backend", shard.spec), env, checks


def combine(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The process figures of a backend's two shards: the worse exit, every cause, all restarts."""
    codes = [c for c in (a.get("returncode"), b.get("returncode")) if c is not None]
    abnormal = [c for c in codes if c not in NORMAL_EXITS]
    causes = [c for c in (a.get("cause"), b.get("cause")) if c]
    return {
        "returncode": abnormal[0] if abnormal else (max(codes) if codes else None),
        "cause": "; ".join(dict.fromkeys(causes)),
        "restarts": int(a.get("restarts", 0)) + int(b.get("restarts", 0)),
    }


def discard_logs(work_dir: Path, documents: Sequence[dict[str, Any]]) -> None:
    """Remove a finished run's logs, once its results are safely written; kept after any trouble.

    The command line calls this only after the results file is on disk, so a failed write (a full disk)
    still leaves everything ``--resume`` needs.
    """
    troubled = any((env.get("process") or {}).get("cause") or (env.get("process") or {}).get("restarts")
                   for doc in documents for env in doc.get("backends", {}).values())
    if not troubled:
        shutil.rmtree(work_dir, ignore_errors=True)  # the logs are in the documents
