"""Which checks the fast ``ci`` profile runs: a cover of the battery, not its whole cross product.

The ``thorough`` profile runs every spec x function x dtype x variant.  The gate does not need all of
them on every commit to notice a regression: a library's bugs live in one operation's derivative rule
or in one shape class, so what must run on every commit is every function through every transform it
applies to (and through every aspect of one that a spec checks apart, such as a Hessian's mixed
partials), every spec in both dtypes, and every variant (in_dims choice, batch size, argnums) of
every spec.  :func:`cover` keeps, in the battery's own order, each check that is the first to cover
one of those keys; the rest run in ``thorough``.  Checks without random inputs get no exception:
``jit_agrees`` compiles with torch.compile, and kept whole it was half of torch's ci time.

The selection is computed on the whole collected battery, before a resume's and a shard's
selection, so it is the same on every machine.  Naming checks turns it off: with ``-k`` every
matching check runs, and a check named by node id (a reproducer) is collected alone and so runs.
``--checks all`` runs the whole product under any profile, ``--checks cover`` the cover.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MODES = ("cover", "all")
DEFAULT_FOR_PROFILE = {"ci": "cover"}
"""Profiles not listed run every check."""


def mode_for(profile: str | None, asked: str | None, keyword: str = "") -> str:
    """The selection mode: what ``--checks`` asked for; else ``all`` when ``-k`` picks checks (whoever
    names checks wants them run); else the profile's default."""
    if asked:
        if asked not in MODES:
            raise ValueError(f"--checks must be one of {MODES}, not {asked!r}")
        return asked
    if keyword:
        return "all"
    return DEFAULT_FOR_PROFILE.get(profile or "", "all")


def keys(case: Any) -> list[tuple[str, ...]]:
    """What one check covers (see the module docstring)."""
    spec, variant = case.spec, case.variant.label if case.variant else ""
    return [
        ("spec-dtype", spec.id, case.dtype),
        ("function-transform", spec.transform, spec.aspect, case.entry.name),
        ("spec-variant", spec.id, variant),
    ]


def cover(cases: Iterable[Any]) -> set[str]:
    """Test ids of the checks the ``cover`` mode keeps, in the given (registry) order."""
    seen: set[tuple[str, ...]] = set()
    kept: set[str] = set()
    for case in cases:
        new = [k for k in keys(case) if k not in seen]
        if new:
            kept.add(case.test_id)
            seen.update(new)
    return kept
