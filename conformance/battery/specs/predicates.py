"""Which catalog entries a spec applies to, named once so every spec reads the same way."""

from __future__ import annotations

from conformance.battery.catalog import Entry


def plain(e: Entry) -> bool:
    """No aux output, and not a non-smooth function (those get the kink specs)."""
    return not e.has_aux and "nonsmooth" not in e.tags


def scalar(e: Entry) -> bool:
    return plain(e) and e.scalar_output


def single_array(e: Entry) -> bool:
    return e.arity == 1 and e.args[0].kind == "array"


def analytic_scalar(e: Entry) -> bool:
    return scalar(e) and e.analytic


def multi_arg(e: Entry) -> bool:
    return plain(e) and "multi_arg" in e.tags


def probe(e: Entry) -> bool:
    """One representative per shape class (see the catalog's ``probe`` tags): the specs that sweep a
    dimension on purpose (batch sizes) run on these, not on the whole catalog."""
    return "probe" in e.tags
