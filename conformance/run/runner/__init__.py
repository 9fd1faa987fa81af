"""Runs the battery: spawned pytest shards, an outside watchdog, restarts, interrupts, merge.

Each backend runs as one pytest process per dtype (a "shard"), spawned with
``subprocess`` (fork+exec of a fresh interpreter: never a bare fork after torch
or jax is imported, which can deadlock), in its own process group, appending
JSON lines to its log (see :mod:`conformance.run.plugin`).

The runner never trusts a shard to stop by itself:

- a watchdog reads each log's ``start`` records and kills the shard's process
  group when a check runs past its limit, whatever the backend does (blocks
  SIGALRM, swallows BaseException, sleeps in C); the check is recorded as
  ``error`` and the shard restarts with the checks already recorded skipped;
- a crash (segfault, out of memory) likewise costs the check in flight, and
  the shard goes on from the next one;
- Ctrl-C, SIGTERM or SIGHUP kill every shard's process group and raise
  :class:`Interrupted` carrying what had finished, and each shard dies with
  the runner when the runner is killed outright (the plugin asks the kernel
  for it).  The logs stay in ``.partial/<id>/``, and a later run finishes them
  (``run_battery(..., resume=True)``, i.e. ``python -m conformance run --resume``)
  without rerunning what finished.

The modules, one job each (every public name is importable from here):

- :mod:`~conformance.run.runner.command`: a shard's pytest command line, its log's name, a check's reproducer,
  the ``-k`` check;
- :mod:`~conformance.run.runner.shard_log`: one shard's log, read as it grows;
- :mod:`~conformance.run.runner.process`: a shard's process, how its exit reads, how it is killed;
- :mod:`~conformance.run.runner.scheduler`: the loop (jobs, watchdog, restarts, signals) and :func:`run_battery`;
- :mod:`~conformance.run.runner.partials`: one partial document per backend from its shards, lost checks recorded;
- :mod:`~conformance.run.runner.summary`: the progress line, the final counts and every unexpected result.
"""

from __future__ import annotations

from conformance.contract import PARENT_PID_ENV, RUN_ID_ENV
from conformance.run.runner.command import (
    BATTERY,
    BATTERY_NODE,
    SHARDS,
    BadKeyword,
    ShardOptions,
    backends_per_dtype,
    check_keyword,
    log_names,
    pytest_command,
    reproducer_command,
    saved_per_dtype,
    shard_log_name,
)
from conformance.run.runner.partials import discard_logs
from conformance.run.runner.process import NORMAL_EXITS, Shard
from conformance.run.runner.scheduler import (
    INTERRUPTING,
    MAX_RESTARTS,
    Battery,
    Interrupted,
    run_battery,
    watchdog_grace,
)
from conformance.run.runner.shard_log import ShardLog
from conformance.run.runner.summary import summary_lines, unexpected

__all__ = [
    "BATTERY", "BATTERY_NODE", "INTERRUPTING", "MAX_RESTARTS", "NORMAL_EXITS", "PARENT_PID_ENV", "RUN_ID_ENV",
    "SHARDS", "BadKeyword", "Battery", "Interrupted", "Shard", "ShardLog", "ShardOptions", "backends_per_dtype",
    "check_keyword", "discard_logs", "log_names", "pytest_command", "reproducer_command", "run_battery",
    "saved_per_dtype", "shard_log_name",
    "summary_lines", "unexpected", "watchdog_grace",
]
