"""Merging: the partial documents of one run into one, and the results files of many machines (shards) into one.

:func:`merge` joins what one run's processes produced (one partial document per backend, plus claims);
:func:`merge_runs` joins the files of ``--shard K/N`` runs on several machines, refusing files that are not parts
of one run, each first checked against the digest written with its checks (:func:`verify_digest`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from conformance.store.results.document import new_document
from conformance.store.results.files import checks_digest


def merge(documents: Iterable[dict[str, Any]], header: dict[str, Any]) -> dict[str, Any]:
    """Combine partial documents of one run (one per backend, plus claims) into one."""
    out = new_document(header)
    for doc in documents:
        if doc.get("interrupted"):
            out["interrupted"] = True
            out["interrupted_reason"] = out["interrupted_reason"] or doc.get("interrupted_reason", "")
        out["backends"].update(doc.get("backends", {}))
        out["checks"].extend(doc.get("checks", []))
        out["claims"].extend(doc.get("claims", []))
        out["articles"].extend(doc.get("articles", []))
        out["documents"].extend(doc.get("documents", []))
    return out


class MergeError(ValueError):
    """Results files that are not parts of one run: mixed code, options or library versions, or repeated checks."""


def verify_digest(document: dict[str, Any], name: str) -> None:
    """Raise :class:`MergeError` unless ``document``'s checks match the ``checks_sha256`` written with them."""
    stored = document.get("checks_sha256")
    if stored is None:
        raise MergeError(f"{name}: no checks_sha256 digest (written by an older version of the tool, or the field "
                         "was removed): rerun that shard with this version")
    if stored != checks_digest(document.get("checks", [])):
        raise MergeError(f"{name}: its checks do not match their checks_sha256 digest (checks were deleted, changed "
                         "or relabelled after the run wrote the file): rerun that shard instead of editing it")


_SAME_RUN = (("profile", "the hypothesis profile (--profile)"),
             ("hypothesis_seed", "the hypothesis seed (pass the same --seed to every shard)"))


def _check_key(check: dict[str, Any]) -> tuple[str, str]:
    return check["backend"], check["test_id"]


def merge_runs(documents: list[dict[str, Any]], names: list[str], *, allow_partial: bool = False) -> dict[str, Any]:
    """One document from the results of several machines (shards of one run), or :class:`MergeError`.

    Refuses files whose code differs (``run.revision.source_sha256``), whose
    profile or seed differ, whose copy of a backend is another library version,
    or that both hold one check: a merged document must read as one run, or a
    report built from it would show a column no machine ran.  Known-deviation
    drift records are the exception: every shard finds the same drift, so one
    copy of each identical record is kept.  With shards recorded, a missing
    shard is refused too, unless ``allow_partial``.
    """
    if not documents:
        raise MergeError("nothing to merge (give two or more results files)")
    revisions = {}
    for doc, name in zip(documents, names, strict=True):
        rev = (doc["run"].get("revision") or {}).get("source_sha256")
        if not rev:
            raise MergeError(f"{name}: no code revision recorded in run.revision (rerun it with this version of "
                             "the tool, which records one)")
        revisions.setdefault(rev, []).append(name)
    if len(revisions) > 1:
        parts = "; ".join(f"{rev[:12]}: {', '.join(files)}" for rev, files in revisions.items())
        raise MergeError(f"the files ran different code ({parts}): rerun every shard from one commit")
    first = documents[0]["run"]
    for key, what in _SAME_RUN:
        values = {json.dumps(d["run"].get(key)) for d in documents}
        if len(values) > 1:
            raise MergeError(f"the files differ in {what}: {', '.join(sorted(values))}")
    _check_shards(documents, names, allow_partial)

    header = {k: v for k, v in first.items() if k not in ("shard", "duration_s", "resume")}
    header["id"] = "merged-" + hashlib.sha256("".join(sorted(d["run"].get("id", "") for d in documents))
                                                  .encode()).hexdigest()[:12]
    header["merged_from"] = [{"file": name, "id": d["run"].get("id"), "shard": d["run"].get("shard"),
                              "platform": d["run"].get("platform"), "duration_s": d["run"].get("duration_s")}
                             for d, name in zip(documents, names, strict=True)]
    durations = [d["run"].get("duration_s") for d in documents if isinstance(d["run"].get("duration_s"), (int, float))]
    header["duration_s"] = max(durations) if durations else None
    out = new_document(header)
    owner: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for doc, name in zip(documents, names, strict=True):
        if doc.get("interrupted"):
            out["interrupted"] = True
            out["interrupted_reason"] = out["interrupted_reason"] or f"{name}: {doc.get('interrupted_reason', '')}"
        for backend, env in doc.get("backends", {}).items():
            _merge_backend(out["backends"], backend, env, name)
        for check in doc.get("checks", []):
            key = _check_key(check)
            if key in owner:
                other, seen = owner[key]
                if check.get("spec") == "manifest" and seen == check:
                    continue
                raise MergeError(f"{other} and {name} both hold check {key[1]} of backend {key[0]}: each check must "
                                 "come from one shard (did two jobs run the same --shard, or one file go in twice?)")
            owner[key] = (name, check)
            out["checks"].append(check)
        out["claims"].extend(doc.get("claims", []))
        out["articles"].extend(doc.get("articles", []))
        out["documents"].extend(doc.get("documents", []))
    return out


def _check_shards(documents: list[dict[str, Any]], names: list[str], allow_partial: bool) -> None:
    """Each run's shards once, all of them, split the same way; a run is one set of backends.

    A CI matrix runs each backend's shards as separate jobs (``--backend jax --shard 1/2``),
    so shard ``1/2`` of jax and shard ``1/2`` of torch are different parts: shards are
    counted per set of backends.
    """
    runs: dict[tuple[str, ...], list[tuple[str | None, str]]] = {}
    for d, name in zip(documents, names, strict=True):
        key = tuple(sorted((d["run"].get("options") or {}).get("backends") or d.get("backends", {})))
        runs.setdefault(key, []).append((d["run"].get("shard"), name))
    for backends, shards in runs.items():
        what = "+".join(backends)
        given = [(s, n) for s, n in shards if s]
        if not given:
            if len(shards) > 1:
                names_ = ", ".join(n for _, n in shards)
                raise MergeError(f"{names_}: each ran all of {what}, so they hold the same checks (merge shards "
                                 "of one run; compare separate runs as report columns instead)")
            continue
        if len(given) < len(shards):
            plain = [n for s, n in shards if not s]
            raise MergeError(f"{', '.join(plain)}: not a shard, while other files of {what} are (merge one run's "
                             "shards)")
        counts = {s.split("/")[1] for s, _ in given}
        if len(counts) > 1:
            raise MergeError(f"the files of {what} split the battery differently (--shard K/N with N in "
                             f"{sorted(counts)}): give every job the same N")
        seen: dict[str, str] = {}
        for s, name in given:
            if s in seen:
                raise MergeError(f"{seen[s]} and {name} are both shard {s} of {what} (each shard once)")
            seen[s] = name
        count = int(counts.pop())
        missing = [f"{k}/{count}" for k in range(1, count + 1) if f"{k}/{count}" not in seen]
        if missing and not allow_partial:
            raise MergeError(f"shard(s) {', '.join(missing)} of {what} missing: their checks would be absent from "
                             "the report (add their files, or --allow-partial to merge what there is)")


def _merge_backend(backends: dict[str, Any], name: str, env: dict[str, Any], source: str) -> None:
    """One backend's environment across shards: one library version, every process's trouble."""
    if name not in backends:
        backends[name] = {**env, "sources": [source]}
        return
    have = backends[name]
    if have.get("version") != env.get("version"):
        raise MergeError(f"{', '.join(have['sources'])} ran {name} {have.get('version')}, {source} ran "
                         f"{name} {env.get('version')}: one document holds one version of each library (merge each "
                         "version's shards apart; the report shows each merged file as a column)")
    have["sources"].append(source)
    a, b = have.get("process") or {}, env.get("process") or {}
    causes = [c for c in (a.get("cause"), b.get("cause")) if c]
    codes = [c for c in (a.get("returncode"), b.get("returncode")) if c is not None]
    have["process"] = {"returncode": max(codes, key=lambda c: (c not in (0, 1, 5), c)) if codes else None,
                       "cause": "; ".join(dict.fromkeys(causes)),
                       "restarts": int(a.get("restarts", 0)) + int(b.get("restarts", 0))}
