"""Ports are faithful: a port fails only where the article's own code fails, and never by a bug of its own.

A port re-states an article snippet for another library; its outcome is shown as evidence beside the article's.
A port that trips over its own mistake (calling an array as a function, a missing import, a typo) says nothing
about the article and is a defect of the claims file; this test runs every shipped port in the sandbox to catch it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.claims.article import evidence
from conformance.claims.article.claims import load

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "conformance" / "claims" / "article" / "claims" / "e8cb2923.toml"
OWN_BUG_TYPES = ("NameError", "SyntaxError", "ImportError", "ModuleNotFoundError", "IndentationError")
OWN_BUG_MESSAGES = re.compile(r"Expected a callable value|object is not callable|is not defined")


@pytest.mark.slow
def test_every_shipped_port_fails_only_where_the_article_fails_and_not_by_its_own_bug() -> None:
    cf = load(SHIPPED)
    jobs = [j for j in evidence.plan(cf, ["torch", "jax", "python"]) if j.key.variant in ("as-written", "port")]
    runs = evidence.run_jobs(jobs)
    problems = []
    for snip in cf.snippets.values():
        article = runs.get(evidence.RunKey(snip.id, snip.target, "as-written"))
        for backend in snip.ports:
            port = runs[evidence.RunKey(snip.id, backend, "port")]
            exc = port.exception or {}
            if port.status != "ok" and article is not None and article.status == "ok":
                problems.append(f"{snip.id} [{backend}]: the article's code runs but the port fails ({exc})")
            if exc.get("type", "").split(".")[-1] in OWN_BUG_TYPES or OWN_BUG_MESSAGES.search(exc.get("message", "")):
                problems.append(f"{snip.id} [{backend}]: the port fails by its own bug: {exc['type']}: "
                                f"{exc['message'][:120]}")
    assert not problems, "\n".join(problems)


def test_the_own_bug_rule_flags_the_old_vmap_port() -> None:
    """The port the shipped file used to have: jax.grad(y)(x) calls an array, a bug of the port, not the article."""
    old = "Expected a callable value, got [0.0000000e+00 1.0203040e-02]"
    assert OWN_BUG_MESSAGES.search(old)
    assert not OWN_BUG_MESSAGES.search("Gradient only defined for scalar-output functions. Output had shape: (100,).")
