"""Where a document defines a derivative rule of its own and says that the rule is not the derivative on purpose.

Why: a transform's result is checked against finite differences of the document's function, and a custom rule
that disagrees with them is usually a bug (the battery plants exactly that).  But pages also teach rules that
change the gradient deliberately: gradient clipping with ``jax.custom_vjp``, straight-through estimators, gradient
reversal.  There the disagreement is the lesson, not a finding, and only the page's own words can tell the two
apart.  So a false derivative verdict becomes ``unverifiable`` when an earlier or the same cell defines a custom
rule (``custom_vjp``, ``custom_jvp``, ``defvjp``/``defjvp``, ``torch.autograd.Function``, MLX's
``custom_function``) and the prose or comments near that definition (:data:`NEAR` lines) use one of the words of
:data:`DELIBERATE`; the reason quotes them.  A rule with no such words stays a finding.
"""

from __future__ import annotations

import re

from conformance.claims.documents.kinds import prose
from conformance.claims.documents.model import Document

RULES = re.compile(r"custom_vjp|custom_jvp|\bdefvjp\b|\bdefjvp\b|autograd\.Function\b|custom_function\b")
DELIBERATE = re.compile(
    r"\bclip(?:s|ped|ping)?\b|straight[- ]through|\bsurrogate\b|gradient reversal|revers(?:e|es|ing) the gradient"
    r"|\bdeliberately\b|\bon purpose\b|\bintentionally\b|not the (?:true|actual|real|exact) (?:gradient|derivative)",
    re.IGNORECASE)
NEAR = 20
"""Lines around a rule's definition whose prose and comments are read for the page's intent."""


def definitions(doc: Document, upto: int) -> list[int]:
    """Document lines where cells up to ``upto`` define a derivative rule of their own."""
    lines = []
    for cell in doc.cells[:upto + 1]:
        if cell.assumed:
            continue
        for k, text in enumerate(cell.code.splitlines()):
            if RULES.search(text):
                lines.append(cell.line + k)
    return lines


def deliberate_rule(doc: Document, cell: int) -> str:
    """The page's words saying a rule it defines (before or in ``cell``) changes the gradient on purpose, with
    where they are; empty when there is no such rule or no such words."""
    defined = definitions(doc, cell)
    if not defined:
        return ""
    texts = [(b.line_at(m.start()), m.group(0)) for b in prose.blocks(doc) for m in DELIBERATE.finditer(b.text)]
    for c in doc.cells[:cell + 1]:
        for k, line in enumerate(c.code.splitlines()):
            at = line.find("#")
            if at >= 0:
                texts += [(c.line + k, m.group(0)) for m in DELIBERATE.finditer(line[at:])]
    for where, word in sorted(texts):
        near = [d for d in defined if abs(d - where) <= NEAR]
        if near:
            return (f"the page defines its own derivative rule at line {near[0]} and says near it, at line {where}, "
                    f"that it changes the gradient ('{word}')")
    return ""
