"""What a person reads of a run: the progress line while it runs, the counts and every surprise at its end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.contract import STATUSES, UNEXPECTED
from conformance.run.runner.process import Shard
from conformance.store import results


def unexpected(checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if c["status"] in UNEXPECTED]


def progress(backends: Sequence[str], shards: Sequence[Shard]) -> str:
    """One figure per backend, summed over its shards: done/total (unexpected)."""
    stats = {b: [0, 0, 0, 0, 0] for b in backends}  # done, total, unexpected, shards finished, restarts
    for s in shards:
        row = stats[s.spec]
        row[0] += len(s.log.checks)
        row[1] += len(s.log.collected)
        row[2] += sum(c["status"] in UNEXPECTED for c in s.log.checks.values())
        row[3] += s.done
        row[4] += s.restarts
    parts = []
    per_backend = len(shards) // max(1, len(backends))
    for b, (done, total, bad, ended, restarts) in stats.items():
        state = " done" if ended == per_backend else ""
        extra = f" ({bad} unexpected)" if bad else ""
        extra += f" ({restarts} restarts)" if restarts else ""
        parts.append(f"{b} {done}/{total or '?'}{extra}{state}")
    return "  ".join(parts)


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """Counts per backend, then every unexpected result with its message."""
    counts = results.summarize(doc["checks"])
    header = f"{'backend':<12}" + "".join(f"{s:>7}" for s in STATUSES)
    lines = [header]
    for backend, row in sorted(counts.items()):
        lines.append(f"{backend:<12}" + "".join(f"{row[s]:>7}" for s in STATUSES))
    bad = unexpected(doc["checks"])
    if bad:
        lines.append(f"\n{len(bad)} unexpected result(s):")
        for c in bad:
            first = (c["message"] or "").strip().splitlines()
            lines.append(f"  {c['status'].upper():5} {c['backend']}: {c['test_id']}: {first[0] if first else ''}"[:400])
    if doc.get("interrupted"):
        lines.append(f"\nINTERRUPTED ({doc.get('interrupted_reason', '')}): only the checks that finished are recorded")
    return lines
