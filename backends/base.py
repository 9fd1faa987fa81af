"""The adapter interface every backend implements, and the conventions record.

A backend adapter wraps one library's function transforms behind one small
interface so that the battery can be written once.  Adapters return each
library's *native* structures (``torch.func.grad_and_value`` really returns
``(grad, (value, aux))``; ``jax.value_and_grad`` returns ``((value, aux),
grad)``); the layouts are declared as data in :class:`Conventions`, and the
battery unpacks native results with those declarations.  A wrong declaration
therefore makes value checks fail instead of being silently papered over.

Adapters know nothing of specs.  A third-party library plugs in by writing a
subclass of :class:`Backend` and naming it as ``module:attr`` (or through the
``transform_conformance.backends`` entry point group).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

# Re-exported: adapters import the declarations and the shipped backends' names from here.
from backends.conventions import ComplexConvention, Conventions, ErrorConvention, Holomorphic, MissingFeature  # noqa: F401
from conformance.contract import BUILTIN_BACKENDS as BUILTIN  # noqa: F401
from conformance.contract import KNOWN_BACKENDS

Array = Any
"""A backend's native array type (torch.Tensor, jax.Array, numpy.ndarray)."""

Fn = Callable[..., Any]


class Unsupported(Exception):
    """Raised by an adapter for a transform its library does not offer publicly.

    The message says why (for instance "torch has no public scan").  The battery
    records such checks as ``skip`` with that reason; it is never counted as a pass.
    """


class DeviceUnavailable(ValueError):
    """The run asked for a device (``--device``) that this library does not have on this machine.

    Raised by :meth:`Backend.use_device` before any check runs, so a run on the wrong machine stops at once
    with one message (exit 2) instead of erroring in every check.  The message names the backend, the device
    asked for, the devices it has here, and the fix.
    """

    def __init__(self, backend: str, asked: str, available: Sequence[str], why: str = "") -> None:
        self.backend, self.asked, self.available = backend, asked, list(available)
        because = f" ({why})" if why else ""
        super().__init__(
            f"backend {backend!r} has no device {asked!r} here{because}; its devices: {', '.join(available) or 'none'} "
            f"(pass --device with one of those, or leave {backend!r} out of a run on {asked!r})"
        )


class LayoutMismatch(AssertionError):
    """A native result does not have the structure its conventions declare."""


def _parse_layout(layout: str) -> Any:
    """Parse ``"(grad, (value, aux))"`` into nested tuples of names."""
    tokens = layout.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()
    pos = 0

    def parse() -> Any:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok != "(":
            return tok
        items = []
        while tokens[pos] != ")":
            if tokens[pos] == ",":
                pos += 1
                continue
            items.append(parse())
        pos += 1
        return tuple(items)

    tree = parse()
    if pos != len(tokens):
        raise ValueError(f"malformed layout {layout!r}")
    return tree


def unpack(layout: str, native: Any) -> dict[str, Any]:
    """Read a native result through a declared layout.

    >>> unpack("(grad, (value, aux))", (1, (2, 3)))
    {'grad': 1, 'value': 2, 'aux': 3}

    Raises :class:`LayoutMismatch` naming the layout and the actual structure
    where a tuple position is missing or of the wrong length.
    """
    if not layout.strip():
        raise ValueError("the adapter declares no layout for this result (Conventions.grad_and_value_layout, "
                         "grad_and_value_aux_layout or grad_aux_layout is empty): declare the library's, e.g. "
                         "'(grad, value)'")
    out: dict[str, Any] = {}

    def walk(pattern: Any, obj: Any, path: str) -> None:
        if isinstance(pattern, str):
            out[pattern] = obj
            return
        if not isinstance(obj, (tuple, list)) or len(obj) != len(pattern):
            kind = f"{type(obj).__name__} of length {len(obj)}" if isinstance(obj, (tuple, list)) else type(obj).__name__
            raise LayoutMismatch(
                f"declared layout {layout!r} expects a {len(pattern)}-tuple at {path or 'top level'}, got {kind}"
            )
        for i, (p, o) in enumerate(zip(pattern, obj)):
            walk(p, o, f"{path}[{i}]")

    walk(_parse_layout(layout), native, "")
    return out


class Backend:
    """One library's transforms behind one interface.

    Subclasses set the class attributes and implement the methods.  Every
    transform method takes and returns the library's native objects; the
    argument conventions below are the battery's, and each adapter maps them
    onto its library (``in_dims`` to ``in_axes``, say).  A method whose library
    offers no public equivalent raises :class:`Unsupported` with the reason;
    declaring the transform in ``conventions.unsupported`` is enough, the
    default methods here raise it.  The battery records every Unsupported,
    from wherever it comes during a check, as a skip with that reason.
    """

    name: ClassVar[str]
    library: ClassVar[str]
    conventions: ClassVar[Conventions]
    is_reference: ClassVar[bool] = False
    """True only for the oracle; the battery compares every other backend with it."""
    everyday: ClassVar[dict[str, str | Callable[..., Any]]] = {}
    """Functions outside the array API standard that the library offers under its own name, mapped from the
    battery's names of them (``logsumexp``, ``softmax``, ``log_softmax``, ``sigmoid``, ``frexp``, ``ldexp``,
    ``top_k``; their calls are fixed in ``conformance.battery.everyday.SIGNATURES``) to the library's public dotted
    path (``"jax.nn.logsumexp"``, called as is) or to a small callable that adapts the call to it (torch's
    ``dim`` for ``axis``, ``torch.topk``'s values of its ``(values, indices)``).  Data, as the conventions: a
    mapping calls the library's function and never builds one the library lacks out of other operations; a
    name left out is a skip that says what was looked for."""

    # -- environment ---------------------------------------------------------
    @property
    def version(self) -> str:
        """The installed release of the library (its distribution is named ``library``); override where the
        distribution has another name, or where the release is only known at run time."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.library)
        except PackageNotFoundError:
            raise NotImplementedError(f"{type(self).__name__}: no installed distribution is named "
                                      f"{self.library!r}; override Backend.version") from None

    @property
    def device(self) -> str:
        """Where arrays live; this default serves libraries that compute on the CPU only (see use_device)."""
        return "cpu"

    @property
    def xp(self) -> Any:
        """The array API namespace the catalog's functions use: array-api-compat's, or one built with
        :class:`backends.namespace.MappedNamespace`.  A class attribute (``xp = MappedNamespace(...)``) will do."""
        raise NotImplementedError

    def environment(self) -> dict[str, Any]:
        """Facts about the library for the results header."""
        return {
            "backend": self.name,
            "library": self.library,
            "version": self.version,
            "device": self.device,
            "conventions": self.conventions.to_json(),
        }

    # -- conversion ----------------------------------------------------------
    def asarray(self, value: np.ndarray | float | int, dtype: str) -> Array:
        """A native array holding ``value`` with dtype ``float32``/``float64``/``int64``."""
        raise NotImplementedError

    def to_numpy(self, x: Array) -> np.ndarray:
        raise NotImplementedError

    def as_strided_view(self, value: np.ndarray, dtype: str) -> Array:
        """Like :meth:`asarray`, but a non-contiguous view (strided, or transposed) of a larger buffer.

        Libraries whose arrays expose a memory layout (torch, NumPy) run kernels on views; a kernel or a
        derivative rule that assumes contiguous memory is right on every freshly made array and wrong on
        a view, so the battery also passes views.  The default says the library has no such arrays.
        """
        raise Unsupported(f"{self.library} arrays have no user-visible memory layout (no strided views)")

    def setup(self) -> None:
        """Called once before the battery runs (enable float64, pick a device)."""

    def use_device(self, name: str) -> None:
        """Compute on device ``name`` (``--device``): every array ``asarray`` makes, and what is built from it.

        Called once, after :meth:`setup`, only when a run names a device; without it each library keeps its
        own default.  The one hook an adapter overrides to support devices: it must either place its arrays
        there and make :attr:`device` report it, or raise :class:`DeviceUnavailable` listing what it has.
        This default serves the libraries that compute on the CPU only (the NumPy reference, autograd).
        """
        if name != "cpu":
            raise DeviceUnavailable(self.name, name, ["cpu"], f"{self.library} computes on the CPU only")

    # -- transforms ----------------------------------------------------------
    def refuse(self, transform: str) -> Unsupported:
        """The :class:`Unsupported` for ``transform``: its declared reason, or NotImplementedError's job.

        An adapter writes ``raise self.refuse("vmap")``; a transform that is neither implemented nor
        declared unsupported is a bug in the adapter, so it raises NotImplementedError instead of skipping.
        """
        reason = self.conventions.unsupported.get(transform)
        if reason is None:
            raise NotImplementedError(
                f"{type(self).__name__}.{transform} is not implemented and not declared in conventions.unsupported"
            )
        return Unsupported(reason)

    def grad(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        raise self.refuse("grad")

    def grad_and_value(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        """The library's combined transform, native return layout."""
        raise self.refuse("grad_and_value")

    def vjp(self, f: Fn, *primals: Array, has_aux: bool = False) -> tuple[Any, ...]:
        """``(out, vjp_fn)`` or ``(out, vjp_fn, aux)``; ``vjp_fn(cotangent)`` returns a tuple, one per primal."""
        raise self.refuse("vjp")

    def jvp(self, f: Fn, primals: Sequence[Array], tangents: Sequence[Array], has_aux: bool = False) -> tuple[Any, ...]:
        """``(out, tangent_out)`` or ``(out, tangent_out, aux)``.

        ``primals``/``tangents`` are passed through unchanged: a library that
        requires tuples must get the chance to reject a bare array.
        """
        raise self.refuse("jvp")

    def jacrev(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        raise self.refuse("jacrev")

    def jacfwd(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        raise self.refuse("jacfwd")

    def hessian(self, f: Fn, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Fn:
        """``has_aux`` is passed to the library only when True, so a library without it raises TypeError."""
        raise self.refuse("hessian")

    def vmap(self, f: Fn, in_dims: Any = 0, out_dims: Any = 0) -> Fn:
        """``in_dims``: an int, ``None`` or a tuple (one per positional argument, pytrees allowed)."""
        raise self.refuse("vmap")

    def scan(self, f: Fn, init: Any, xs: Any) -> tuple[Any, Any]:
        """``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``; returns ``(carry, ys)``."""
        raise self.refuse("scan")

    def cond(self, pred: Any, true_fn: Fn, false_fn: Fn, operands: tuple[Any, ...]) -> Any:
        """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``; ``pred`` is a native 0-d bool array."""
        raise self.refuse("cond")

    def jit(self, f: Fn) -> Fn:
        """The library's compiler, where it has one; the battery checks jit(T(f)) == T(f)."""
        reason = self.conventions.unsupported.get("jit", f"{self.library} has no jit the battery checks")
        raise Unsupported(reason)

    def jit_description(self) -> str:
        """What ``jit`` compiles with (``torch.compile(backend='aot_eager')``), recorded in each jit check."""
        return self.conventions.jit_api



ENTRY_POINT_GROUP = "transform_conformance.backends"


def resolve_backend_target(spec: str) -> str:
    """``module:attr`` for a built-in name, an entry point name, or ``module:attr`` itself.

    Imports nothing, so the runner can reject a bad name before it spawns a process;
    raises ``LookupError`` naming what is known where nothing matches.
    """
    from importlib.metadata import entry_points
    from importlib.util import find_spec

    if spec in KNOWN_BACKENDS:
        return KNOWN_BACKENDS[spec]
    if ":" not in spec:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == spec:
                return ep.value
        known = sorted(KNOWN_BACKENDS) + sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise LookupError(f"unknown backend {spec!r}: use one of {known}, or 'module:attr' naming a Backend subclass")
    module_name = spec.partition(":")[0]
    try:
        found = find_spec(module_name)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise LookupError(f"backend {spec!r}: no module {module_name!r} on the path (run from the folder that holds it)")
    return spec


def load_backend(spec: str) -> Backend:
    """Instantiate a backend from a built-in name, an entry point name, or ``module:attr``."""
    import importlib

    module_name, _, attr = resolve_backend_target(spec).partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    backend = obj() if isinstance(obj, type) else obj
    if not isinstance(backend, Backend):
        raise TypeError(f"{spec!r} resolved to {obj!r}, which is not a backends.base.Backend")
    return backend


def strided_copy(value: np.ndarray, make: Any) -> Any:
    """``value`` as every other entry of the last axis of a buffer twice as long: a non-contiguous view.

    ``make(buffer)`` turns the NumPy buffer into the library's array; it must keep the view's strides.
    """
    value = np.asarray(value)
    if value.ndim == 0:
        raise Unsupported("a 0-d array has no layout to vary")
    buffer = np.zeros((*value.shape[:-1], 2 * value.shape[-1]), dtype=value.dtype)
    buffer[..., ::2] = value
    return make(buffer)


def argnums_tuple(argnums: int | tuple[int, ...]) -> tuple[int, ...]:
    """``argnums`` as a tuple, for adapters that loop over the differentiated arguments."""
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def has_aux_keyword(has_aux: bool) -> dict[str, bool]:
    """``{"has_aux": True}`` only when asked, for a library call that takes no ``has_aux``: passed through, the
    library answers the unknown keyword (TypeError) itself, and the battery records its refusal, not ours."""
    return {"has_aux": True} if has_aux else {}
