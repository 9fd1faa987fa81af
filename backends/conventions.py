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


INDEX_BOUNDS = {
    "error": "raises, outside transforms and under vmap (NumPy, torch): the standard's in-bounds-only indexing",
    "clamp": "a negative index counts from the end, then is clipped into [0, n-1]; the derivative goes where it read",
    "fill": "NaN for inexact dtypes, and no derivative (jax.numpy.take's default mode)",
    "wrap": "the index modulo n, value and derivative (numpy.take(mode='wrap'))",
    "unchecked": "no bounds checking: undefined values (MLX), so nothing beyond the bounds is checked",
}
"""The words ``Conventions.index_bounds`` takes; ``conformance.battery.index_bounds`` defines what each one gives."""
INDEXING_OPERATIONS = ("take", "take_along_axis", "getitem")


COMPLEX_GRADS: dict[str, str] = {
    "conjugate": "dL/dx + i dL/dy = 2 dL/d(conj z), twice the conjugate Wirtinger derivative (the ascent direction)",
    "wirtinger": "dL/dx - i dL/dy = 2 dL/dz, twice the Wirtinger derivative: the conjugate of 'conjugate'",
}
"""What ``grad`` returns for a real-valued ``L(z)`` of complex ``z = x + i y``: the vocabulary of
:attr:`ComplexConvention.grad`."""

COMPLEX_VJPS: dict[str, str] = {
    "adjoint": "c -> J^H c, the adjoint under <a, b> = Re(conj(a) b): c conj(f'(z)) for a holomorphic f",
    "transpose": "c -> J^T c, the transpose under <a, b> = Re(a b): c f'(z) for a holomorphic f",
}
"""What ``vjp``'s pullback does to a cotangent ``c`` of a complex output: the vocabulary of
:attr:`ComplexConvention.vjp`.  Either fixes grad, which is the pullback of 1: adjoint gives 'conjugate'."""

HOLOMORPHIC_RETURNS: dict[str, str] = {"derivative": "f'(z)", "conjugate": "conj(f'(z))"}
"""What a holomorphic grad, Jacobian or Hessian returns (f'(z) standing for f''(z) in a Hessian): the vocabulary of
:attr:`Holomorphic.returns`."""


@dataclasses.dataclass(frozen=True)
class Holomorphic:
    """How a library is asked for the derivative of a holomorphic function (complex outputs), and what it gives."""

    returns: str
    """A key of :data:`HOLOMORPHIC_RETURNS`: ``derivative`` (f'(z)) or ``conjugate`` (conj(f'(z)))."""
    api: str = ""
    """The public function that asks for it (``jax.jacrev``, ``autograd.holomorphic_grad``), called as
    ``api(f, argnums)`` (positionally: autograd's is ``argnum``) plus ``keyword=True``; empty: the adapter's own
    transform, as is, with ``argnums``."""
    keyword: str = ""
    """A keyword the call sets to True (JAX's ``holomorphic``); empty: none."""

    def __post_init__(self) -> None:
        if self.returns not in HOLOMORPHIC_RETURNS:
            raise ValueError(f"Holomorphic(returns={self.returns!r}): one of {sorted(HOLOMORPHIC_RETURNS)}")


@dataclasses.dataclass(frozen=True)
class ComplexConvention:
    """A library's complex-number convention (``conformance.battery.specs.complex`` checks each field against the
    reference's Wirtinger derivatives, so a wrong declaration fails)."""

    grad: str = ""
    """A key of :data:`COMPLEX_GRADS`; empty: the library takes no complex inputs, and every complex check skips
    with ``note``."""
    vjp: str = ""
    """A key of :data:`COMPLEX_VJPS`."""
    holomorphic: dict[str, Holomorphic] = dataclasses.field(default_factory=dict)
    """``grad``, ``jacrev``, ``jacfwd``, ``hessian`` -> how the derivative of a holomorphic f is asked for (the
    Hessian: f''(z), JAX's ``jax.hessian(f, holomorphic=True)``); one left out skips."""
    unsupported: dict[str, str] = dataclasses.field(default_factory=dict)
    """What the library refuses on complex inputs -> why: a transform of a real-valued function (``"jacrev"``,
    ``"hessian"``) or ``"holomorphic <transform>"`` (``"holomorphic hessian"``).  ``complex_declared_unsupported``
    runs each and fails unless it raises."""
    dtypes: tuple[str, ...] = ("complex64", "complex128")
    """Complex dtypes the library computes in."""
    note: str = ""
    """Why complex numbers, or a complex dtype, are missing."""
    doc: str = ""
    """Where the library documents its convention."""

    def __post_init__(self) -> None:
        if (self.grad and self.grad not in COMPLEX_GRADS) or (self.vjp and self.vjp not in COMPLEX_VJPS):
            raise ValueError(f"ComplexConvention(grad={self.grad!r}, vjp={self.vjp!r}): grad one of "
                             f"{sorted(COMPLEX_GRADS)}, vjp one of {sorted(COMPLEX_VJPS)}")


NO_COMPLEX = ComplexConvention(dtypes=(), note="the adapter declares no complex convention (Conventions.complex)")


@dataclasses.dataclass(frozen=True)
class Conventions:
    """A library's calling and return conventions, declared as data.

    The layouts are small templates over the names ``grad``, ``value`` and
    ``aux`` (see :func:`unpack`).  The battery reads native results through
    them, so every field here is verified by running the library.
    """

    grad_and_value_api: str = ""
    """The public name, e.g. ``torch.func.grad_and_value`` or ``jax.value_and_grad``; empty where the library has
    none (then declare ``grad_and_value`` in ``unsupported``)."""
    grad_and_value_layout: str = ""
    """Layout without aux, e.g. ``(grad, value)``.  Left empty, a library that offers grad_and_value errors in its
    checks, asking for it: a layout is never guessed."""
    grad_and_value_aux_layout: str = ""
    """Layout with ``has_aux=True``, e.g. ``(grad, (value, aux))`` (empty: undeclared, as above)."""
    grad_aux_layout: str = ""
    """Layout of ``grad(f, has_aux=True)``, e.g. ``(grad, aux)`` (empty: undeclared, as above)."""
    batch_keyword: tuple[str, str] = ("", "")
    """Names of vmap's input/output axis keywords: ``("in_dims", "out_dims")``; empty where vmap takes none."""
    has_aux: frozenset[str] = frozenset()
    """Transforms that accept ``has_aux``."""
    jvp_primals: str = "tuple"
    """How jvp takes primals: ``tuple`` (torch.func, jax), ``list`` (MLX's ``mx.jvp``), ``positional``
    (autograd's ``make_jvp(f)(*primals)``, where ``Backend.jvp`` with a bare array raises Unsupported)."""
    scan_api: str = ""
    """Public name of scan, or empty where the library has none."""
    cond_api: str = ""
    """Public name of cond, or empty where the library has none."""
    vmap_api: str = ""
    """Public name of vmap, e.g. ``jax.vmap``; its signature must have the ``batch_keyword`` names."""
    errors: dict[str, ErrorConvention] = dataclasses.field(default_factory=dict)
    """Documented errors, keyed by situation (see ``conformance.battery.specs.errors``)."""
    accepts: dict[str, str] = dataclasses.field(default_factory=dict)
    """Situations of ``conformance.battery.specs.errors`` the library documents as valid usage -> where it says so.

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
    complex: ComplexConvention = NO_COMPLEX
    """How the library differentiates complex numbers (see :class:`ComplexConvention`); by default it declares
    none, and the complex checks skip."""
    index_bounds: dict[str, str] = dataclasses.field(default_factory=dict)
    """What an index beyond the bounds does, per operation of ``INDEXING_OPERATIONS`` (``take``,
    ``take_along_axis``, ``getitem``: ``x[i]`` with an integer array or a traced scalar) -> a word of
    ``INDEX_BOUNDS`` (``{"take": "fill", "getitem": "clamp"}`` for JAX).  An operation left out is ``"error"``, the
    standard's; the indexing specs check the library against the word it declares (in-bounds edges everywhere)."""

    def __post_init__(self) -> None:
        for op, word in self.index_bounds.items():
            if op not in INDEXING_OPERATIONS or word not in INDEX_BOUNDS:
                raise ValueError(f"index_bounds {op!r}: {word!r} is not an operation of {INDEXING_OPERATIONS} "
                                 f"mapped to one of {sorted(INDEX_BOUNDS)}")

    def index_bound(self, op: str) -> str:
        """The declared word for ``op`` (``"error"``, the standard's, where the adapter declares none)."""
        return self.index_bounds.get(op, "error")

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
