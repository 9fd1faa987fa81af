"""The results store: a run's document, its files on disk, and merging.

One run writes one JSON document (see ``docs/results-schema.md``)::

    {"schema": "transform-conformance/results", "schema_version": 1,
     "interrupted": false, "interrupted_reason": "",
     "run": {...header...}, "backends": {name: environment},
     "checks": [CheckRecord...], "claims": [ClaimRecord...], "articles": [...]}

Backend processes append one JSON line per finished check to a ``.jsonl``
log (flushed each time), so a crash loses at most the check in flight; the
runner then merges the logs into the run document, which is written to a
temporary file and renamed, so a reader never sees a truncated file.

The pieces, one job a module; every name is importable from here:

- :mod:`conformance.store.results.document`: the typed records (:class:`CheckRecord`, :class:`FunctionRow`), the run
  header, an empty document, counts;
- :mod:`conformance.store.results.files`: the atomic writer and its digest, the shard log, strict readers;
- :mod:`conformance.store.results.merging`: one run's partial documents into one, and the shards of many machines.

The names shared with the runner, the plugin, the command line and the report (statuses, the set that fails
the gate, where results and logs live) are defined once, in :mod:`conformance.contract`, and re-exported here.
"""

from __future__ import annotations

from conformance.contract import PARTIAL_DIR, RESULTS_DIR, STATUSES, UNEXPECTED
from conformance.store.results.document import (
    FUNCTION_TABLE_KEY,
    PROJECT_ROOT,
    SCHEMA,
    SCHEMA_VERSION,
    SOURCE_DIRS,
    CheckRecord,
    FunctionRow,
    new_document,
    now,
    recorded_function_table,
    revision,
    run_header,
    source_hash,
    summarize,
)
from conformance.store.results.files import (
    MAX_DEPTH_NOTE,
    JsonlLog,
    SchemaError,
    checks_digest,
    load,
    parse_json,
    read_json,
    read_jsonl,
    read_text,
    write_atomic,
)
from conformance.store.results.merging import MergeError, merge, merge_runs, verify_digest

__all__ = [
    "FUNCTION_TABLE_KEY", "MAX_DEPTH_NOTE", "PARTIAL_DIR", "PROJECT_ROOT", "RESULTS_DIR", "SCHEMA", "SCHEMA_VERSION",
    "SOURCE_DIRS", "STATUSES", "UNEXPECTED", "CheckRecord", "FunctionRow", "JsonlLog", "MergeError", "SchemaError",
    "checks_digest", "load", "merge", "merge_runs", "new_document", "now", "parse_json", "read_json", "read_jsonl",
    "read_text", "recorded_function_table", "revision", "run_header", "source_hash", "summarize", "verify_digest",
    "write_atomic",
]
