"""What a run leaves behind: its results document and files (:mod:`conformance.store.results`), their JSON Schema
(:mod:`conformance.store.schema`), and output paths written atomically (:mod:`conformance.store.outputs`).

The report reads only what is stored here; the names writers and readers share are in :mod:`conformance.contract`.
"""
