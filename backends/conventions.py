"""What an adapter declares about its library, as data: conventions, documented errors, missing features.

Kept apart from :mod:`backends.base` (the interface an adapter implements) because these are the facts the battery
verifies by running the library: every field is checked, none is trusted.  ``backends.base`` re-exports them, so an
adapter imports everything from there.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from typing import Any


@dataclasses.dataclass(frozen=True)
class ErrorConvention:
    """What a library documents it raises in one misuse situation."""

    exception: str
    """Qualified or bare class name; matched against the MRO of the raised exception."""
    message: str = ""
    """A regular expression searched in the message; empty matches anything."""
    doc: str = ""
    """Where the library documents it."""


@dataclasses.dataclass(frozen=True)
class MissingFeature:
    """A library's own error that means "not offered", declared and reviewed in its adapter.

    A graph-compiling library raises its own error where a feature is missing, and an adapter's
    :class:`Unsupported` raised inside its trace comes back as that library's ``RuntimeError``: MindSpore's
    "bprop not defined", TensorFlow's "No gradient defined for operation", a kernel not registered for a dtype.
    Such an error becomes a skip carrying the library's message only where a declaration matches both the
    error and the check: every other exception keeps its verdict (an error), so nothing is swallowed in general.
    """

    error: str
    """A regular expression searched in ``"ExceptionType: message"`` (the type's bare class name)."""
    reason: str
    """What the library lacks, in a few words ("a derivative rule for cumprod")."""
    checks: str = "*"
    """A pattern on the check's id, ``*`` and ``?`` its only wildcards (brackets are literal, as test ids have
    them: ``fn_*[*-fn_cumprod]``): the checks the declaration covers, so a missing derivative rule of one
    function, or dict inputs to one transform, is declared for those alone."""
    link: str = ""
    """Where the library documents or tracks it."""

    def __post_init__(self) -> None:
        if re.search(self.error, "") is not None:
            raise ValueError(f"MissingFeature(error={self.error!r}) matches every error (even an empty message): "
                             "name the library's own words, e.g. r'bprop .* not defined'")

    def matches(self, exc: BaseException, check_id: str) -> bool:
        literal_brackets = self.checks.replace("[", "\0").replace("]", "[]]").replace("\0", "[[]")
        return (fnmatch.fnmatchcase(check_id, literal_brackets)
                and re.search(self.error, f"{type(exc).__name__}: {exc}") is not None)


@dataclasses.dataclass(frozen=True)
class Conventions:
    """A library's calling and return conventions, declared as data.

    The layouts are small templates over the names ``grad``, ``value`` and
    ``aux`` (see :func:`unpack`).  The battery reads native results through
    them, so every field here is verified by running the library.
    """

    grad_and_value_api: str
    """The public name, e.g. ``torch.func.grad_and_value`` or ``jax.value_and_grad``."""
    grad_and_value_layout: str
    """Layout without aux, e.g. ``(grad, value)``."""
    grad_and_value_aux_layout: str
    """Layout with ``has_aux=True``, e.g. ``(grad, (value, aux))``."""
    grad_aux_layout: str
    """Layout of ``grad(f, has_aux=True)``, e.g. ``(grad, aux)``."""
    batch_keyword: tuple[str, str]
    """Names of vmap's input/output axis keywords: ``("in_dims", "out_dims")``."""
    has_aux: frozenset[str]
    """Transforms that accept ``has_aux``."""
    jvp_primals: str
    """How jvp takes primals: ``tuple`` (torch.func, jax), ``list`` (MLX's ``mx.jvp``), ``positional``
    (autograd's ``make_jvp(f)(*primals)``, where ``Backend.jvp`` with a bare array raises Unsupported)."""
    scan_api: str
    """Public name of scan, or empty where the library has none."""
    cond_api: str
    """Public name of cond, or empty where the library has none."""
    vmap_api: str = ""
    """Public name of vmap, e.g. ``jax.vmap``; its signature must have the ``batch_keyword`` names."""
    errors: dict[str, ErrorConvention] = dataclasses.field(default_factory=dict)
    """Documented errors, keyed by situation (see ``conformance.specs.errors``)."""
    accepts: dict[str, str] = dataclasses.field(default_factory=dict)
    """Situations of ``conformance.specs.errors`` the library documents as valid usage -> where it says so.

    jax matches dict tangents to primals by key, so tangents listed in another key order are not a
    misuse there.  A situation neither in ``errors`` nor here that returns a result is a finding
    (the library silently accepted a misuse), not a skip.
    """
    dtypes: tuple[str, ...] = ("float32", "float64")
    """Float dtypes the library computes in; checks in any other dtype are skips with ``dtype_note``."""
    dtype_note: str = ""
    """Why a dtype is missing from ``dtypes`` (e.g. "no float64 on this device")."""
    unsupported: dict[str, str] = dataclasses.field(default_factory=dict)
    """Transforms the library does not offer publicly -> why (``{"vmap": "torch.autograd has no vmap"}``).

    The base class's default for a declared transform raises :class:`Unsupported` with this reason, so a
    declaration is all an adapter writes; ``conventions_api`` verifies each one by calling it.
    """
    jit_api: str = ""
    """Public name of the compiler ``Backend.jit`` uses (``torch.compile``, ``mlx.core.compile``)."""
    lacks_keywords: dict[str, str] = dataclasses.field(default_factory=dict)
    """Keyword arguments of the array namespace's functions that the library does not take -> why, keyed as the
    function table's rows name them (``Function.keywords``): ``{"sum(where=)": "torch.sum takes no mask"}``.

    A row passing one is a skip with this reason ("<library> lacks <row>: <why>"), never an error of ours;
    ``conventions_api`` verifies each by calling the row, which must raise TypeError, so a declaration cannot hide
    a keyword the library takes.  One the library rejects without a declaration errors in the row's checks.
    """

    missing_features: tuple[MissingFeature, ...] = ()
    """The library's own errors that mean a feature is missing (see :class:`MissingFeature`), in the order tried."""

    def missing_feature(self, exc: BaseException, check_id: str) -> str | None:
        """The skip reason for ``exc`` raised in check ``check_id``, where a declaration covers it; else None."""
        for declared in self.missing_features:
            if declared.matches(exc, check_id):
                said = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
                link = f"; {declared.link}" if declared.link else ""
                return f"lacks {declared.reason} ({type(exc).__name__}: {said}{link})"
        return None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["has_aux"] = sorted(self.has_aux)
        data["batch_keyword"] = list(self.batch_keyword)
        data["dtypes"] = list(self.dtypes)
        return data
