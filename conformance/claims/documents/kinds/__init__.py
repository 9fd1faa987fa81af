"""Claim kinds beyond the three built into ``verdicts.judge``, registered by a decorator, judged in one call.

A kind is one module in this package with a function registered by :func:`claim_kind`::

    @claim_kind("names", rule="true when the dotted name resolves in the installed library; ...")
    def names(doc: Document, result: SessionResult, context: Context) -> list[dict]:
        ...

It returns claims of exactly the shape ``verdicts._claim`` builds (``id, kind, cell, line, verdict, reason, rule,
evidence``; build them with :func:`claim`), so the results file, the console summary and the report read them as
they read ``runs``/``shows``/``derivative-correct``.  :func:`judge_registered` runs every registered kind on one
document; ``verdicts.judge`` calls it in one line.  A kind that fails on a document costs that kind only: its claims
become one ``unverifiable`` claim naming the failure, and the other kinds and the built-in claims stand.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable
from typing import Any

from conformance.claims.documents.model import Document
from conformance.claims.documents.session import SessionResult
from conformance.contract import checked_verdict

BUILT_IN = ("runs", "shows", "derivative-correct", "asserts")
"""The kinds ``verdicts.judge`` makes itself: no registered kind may take their names."""


@dataclasses.dataclass
class Context:
    """What a kind may need besides the document and its session: limits, cancellation, a cache shared across
    the documents of one run (guarded by ``lock``: ``check-doc --jobs`` judges documents in threads)."""

    timeout: float = 60.0
    """Seconds a kind's own sandboxed work (an API probe) may take per document."""
    cancel: threading.Event | None = None
    """Set: sandboxed work a kind starts is killed at once (``check-doc`` sets its event on Ctrl-C)."""
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


KindFn = Callable[[Document, SessionResult, Context], list[dict[str, Any]]]
ProbeFn = Callable[[Document], dict[int, list[str]]]
"""``probes(doc) -> {cell index: [expression]}``: values a kind needs to see after a cell (``inside.peek``)."""


@dataclasses.dataclass(frozen=True)
class ClaimKind:
    name: str
    rule: str
    """The written rule from evidence to verdict, stored with every claim of the kind (``claim["rule"]``)."""
    fn: KindFn
    probes: ProbeFn | None = None
    """What the kind asks the session to evaluate after a cell, before the document runs; its claims then read
    the answers in the cell records' ``probes``."""


KINDS: dict[str, ClaimKind] = {}


def claim_kind(name: str, *, rule: str, probes: ProbeFn | None = None) -> Callable[[KindFn], KindFn]:
    """Register ``fn(doc, result, context) -> [claim]`` as the claim kind ``name`` with its written ``rule`` (and
    the ``probes`` it needs evaluated in the session)."""
    if name in BUILT_IN:
        raise ValueError(f"claim kind {name!r} is built into verdicts.judge")
    if not rule.strip():
        raise ValueError(f"claim kind {name!r} needs a written rule")

    def register(fn: KindFn) -> KindFn:
        if name in KINDS and KINDS[name].fn is not fn:
            raise ValueError(f"two claim kinds named {name!r}: {KINDS[name].fn.__module__} and {fn.__module__}")
        KINDS[name] = ClaimKind(name, rule, fn, probes)
        return fn

    return register


def claim(kind: str, *, cell: int, line: int, verdict: str, reason: str, evidence: dict[str, Any],
          id: str | None = None) -> dict[str, Any]:
    """A claim as ``verdicts._claim`` shapes it; ``id`` defaults to ``KIND@LINE#CELL`` as there."""
    return {"id": id or f"{kind}@{line}#{cell}", "kind": kind, "cell": cell, "line": line, "verdict": checked_verdict(verdict),
            "reason": reason, "rule": KINDS[kind].rule, "evidence": evidence}


_NOT_KINDS = {"prose", "mentions", "name_probe"}
"""Modules of this package that register no kind (shared helpers)."""


def load() -> dict[str, ClaimKind]:
    """Import every kind module of this package (each registers itself) and return the registry."""
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_KINDS:
            importlib.import_module(f"{__name__}.{info.name}")
    return KINDS


def probes_for(doc: Document) -> dict[int, list[str]]:
    """Every registered kind's probes for ``doc``, merged by cell (an expression asked twice is evaluated once).
    A kind whose probe finder fails asks for nothing: its claims then say the values were not seen."""
    merged: dict[int, list[str]] = {}
    for kind in load().values():
        if kind.probes is None:
            continue
        try:
            asked = kind.probes(doc)
        except Exception:
            continue
        for index, exprs in asked.items():
            merged.setdefault(index, [])
            merged[index] += [e for e in exprs if e not in merged[index]]
    return merged


DEFAULT_CONTEXT = Context()
"""The context of a caller that passes none: one cache for the whole process (the installed libraries do not
change while it runs)."""


def judge_registered(doc: Document, result: SessionResult, context: Context | None = None, *,
                     kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The claims of every registered kind (or of ``kinds``) on ``doc``, in registration order.

    A kind that raises yields one ``unverifiable`` claim saying so; ``IsolationUnavailable`` (the machine has no
    sandbox) and ``KeyboardInterrupt`` are not the document's fault and propagate, as they do from a session.
    """
    from conformance.claims.article.sandbox import IsolationUnavailable

    registry = load()
    context = context or DEFAULT_CONTEXT
    wanted = list(registry) if kinds is None else list(kinds)
    unknown = [k for k in wanted if k not in registry]
    if unknown:
        raise ValueError(f"unknown claim kind(s) {', '.join(unknown)} (registered: {', '.join(registry)})")
    claims: list[dict[str, Any]] = []
    for name in wanted:
        try:
            claims.extend(registry[name].fn(doc, result, context))
        except IsolationUnavailable:
            raise
        except Exception as exc:  # one kind's bug must not cost the document's other claims
            claims.append(claim(name, cell=-1, line=0, verdict="unverifiable",
                                reason=f"the checker failed on this kind: {type(exc).__name__}: {exc}",
                                evidence={"error": f"{type(exc).__name__}: {exc}"}, id=f"{name}@0"))
    return claims
