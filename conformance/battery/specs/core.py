"""What a spec is, the registry, and the context a spec runs in.

A spec is a small declared unit with a stable id: which transform it covers,
which catalog entries it applies to, and a ``check(ctx)`` that raises
:class:`CheckFailed` with a self-explaining message.  Specs talk to backends
only through :class:`backends.base.Backend` and compare with the NumPy
reference through :meth:`Ctx.expect_close`, one comparison function and one
tolerance table for all.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from hypothesis.errors import HypothesisException

from backends import pytree
from backends.base import Backend, LayoutMismatch, Unsupported
from conformance.battery import strategies
from conformance.battery.catalog import CATALOG, Entry
from conformance.battery.compare import StructureMismatch, compare
from conformance.battery.namespace_contract import lacked_name
from conformance.battery.tolerances import Tolerance, tolerance
from conformance.run import reference_cache

DTYPES = ("float32", "float64")


class CheckFailed(AssertionError):
    """A conformance failure; the message explains it without opening the test."""


FAILURES: tuple[type[BaseException], ...] = (CheckFailed, LayoutMismatch, StructureMismatch)
"""The battery's own verdicts of non-conformance.  Any other exception, an AssertionError raised inside
a library included, is an error: the check could not reach a verdict."""


class Skip(Exception):
    """The check does not apply on this backend (never counted as a pass)."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """An extra parameter of a spec (e.g. one in_dims choice), shown in the test id."""

    label: str
    value: Any


@dataclasses.dataclass(frozen=True)
class Spec:
    id: str
    transform: str
    doc: str
    check: Callable[[Ctx], None]
    applies: Callable[[Entry], bool]
    dtypes: tuple[str, ...] = DTYPES
    uses_reference: bool = True
    """Compares with the NumPy reference, so it is not generated for the reference itself."""
    random_inputs: bool = True
    """Draws inputs with hypothesis; a deterministic spec runs once."""
    variants: Callable[[Entry], list[Variant]] | None = None
    entries: tuple[Entry, ...] = CATALOG
    """Which part of the catalog it draws functions from (scan specs use the scan bodies)."""
    aspect: str = ""
    """What part of the transform the spec checks when two specs check one transform of one function
    differently (``fn_hessian_joint``: the mixed partials, beside ``fn_hessian``'s first argument): the
    gate's cover keeps each function once per transform and aspect (:func:`conformance.battery.coverage.keys`)."""


REGISTRY: dict[str, Spec] = {}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def spec(
    id: str,
    transform: str,
    applies: Callable[[Entry], bool] = lambda e: True,
    **options: Any,
) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
    """Register ``check`` as spec ``id``; its docstring is the spec's documentation."""

    def register(check: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        if not _ID.match(id) or id in REGISTRY:
            raise ValueError(f"spec id {id!r} is malformed or registered twice")
        REGISTRY[id] = Spec(id, transform, (check.__doc__ or "").strip(), check, applies, **options)
        return check

    return register


@dataclasses.dataclass(frozen=True)
class Case:
    """One generated check: spec x backend x dtype x entry (x variant)."""

    spec: Spec
    backend: str
    dtype: str
    entry: Entry
    variant: Variant | None = None

    def _parts(self) -> list[str]:
        """What names the check apart from its spec and backend: dtype, function row, variant."""
        return [self.dtype, self.entry.name] + ([self.variant.label] if self.variant is not None else [])

    @property
    def param_id(self) -> str:
        return "-".join([self.backend, *self._parts()])

    @property
    def test_id(self) -> str:
        return f"{self.spec.id}[{self.param_id}]"

    @property
    def draw_id(self) -> str:
        """The check without its backend (``fn_grad[float64-fn_sin]``): what its draws are seeded by, so that every
        backend is judged on the same inputs (and the reference's answers are shared: ``reference_cache``)."""
        return f"{self.spec.id}[{'-'.join(self._parts())}]"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis prints the case in a failure report: its id, not every field of the spec and entry
        (that dump was unreadable, and printing it cost about a tenth of a second per failing check)."""
        printer.text(f"Case({self.test_id!r})")


def cases(backend: Backend, specs: Iterable[Spec] | None = None) -> list[Case]:
    """Every check the battery generates for ``backend``, in registry order."""
    out = []
    for s in specs if specs is not None else REGISTRY.values():
        if s.uses_reference and backend.is_reference:
            continue
        for dtype in s.dtypes:
            for e in s.entries:
                if not s.applies(e):
                    continue
                variants = s.variants(e) if s.variants else [None]
                out.extend(Case(s, backend.name, dtype, e, v) for v in variants)
    return out


@dataclasses.dataclass
class Figures:
    """The worst error figures over all comparisons of one check (all hypothesis examples)."""

    max_abs_err: float | None = None
    max_rel_err: float | None = None
    tolerance: Tolerance | None = None
    tolerance_used: float | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, abs_err: float, rel_err: float, tol: Tolerance, used: float = 0.0) -> None:
        if self.tolerance_used is None or used > self.tolerance_used:
            self.tolerance_used = used
        if self.max_abs_err is None or abs_err > self.max_abs_err:
            self.max_abs_err = abs_err
        if self.max_rel_err is None or rel_err > self.max_rel_err:
            self.max_rel_err = rel_err
            self.tolerance = tol
        if self.tolerance is None:
            self.tolerance = tol


class Ctx:
    """Everything one check needs: the backend, the reference, the dtype, the entry, the draws."""

    def __init__(
        self,
        backend: Backend,
        reference: Backend,
        case: Case,
        data: Any | None,
        figures: Figures,
    ) -> None:
        self.backend = backend
        self.reference = reference
        self.case = case
        self.dtype = case.dtype
        self.entry = case.entry
        self.variant = case.variant.value if case.variant else None
        self._data = data
        self.figures = figures
        self.f = case.entry.bind(backend.xp)
        self.f_ref = case.entry.bind(reference.xp)
        # One Ctx per hypothesis example: after a failure, hypothesis replays the failing example last,
        # so these are the inputs of the failure.
        self.figures.details["inputs"] = {}
        self._largest_leaf = 1

    # -- inputs ------------------------------------------------------------------
    def draw(self, strategy: Any, label: str) -> Any:
        if self._data is None:
            raise RuntimeError(f"spec {self.case.spec.id} draws inputs but is declared random_inputs=False")
        value = self._data.draw(strategy, label=label)
        self.record_input(label, value)
        return value

    def record_input(self, label: str, value: Any) -> None:
        """Keep an input in the check's record (JSON-ready), and its largest leaf for :meth:`drawn_size`."""
        leaves, treedef = pytree.flatten(value)
        self.figures.details["inputs"][label] = pytree.unflatten(treedef, [np.asarray(leaf).tolist() for leaf in leaves])
        self._largest_leaf = max([self._largest_leaf, *(int(np.size(leaf)) for leaf in leaves)])

    def draw_inputs(self) -> tuple[Any, ...]:
        return self.draw(strategies.inputs(self.entry, self.dtype), label="args")

    def draw_like(self, tree: Any, label: str) -> Any:
        return self.draw(strategies.like(tree, self.dtype), label=label)

    def draw_cotangent(self, args: Any, label: str = "cotangent") -> Any:
        """A cotangent shaped like ``f``'s output, the shape taken from the reference's evaluation.

        Never from the backend's output: what a check draws must not depend on what the library
        returned, or a wrong output shape would change the draws (and hypothesis's replay) too.
        """
        return self.draw_like(self.f_ref(*self.ref(args)), label)

    def native(self, tree: Any, dtype: str | None = None) -> Any:
        """NumPy (pytree) -> the backend's arrays in the dtype under test."""
        return tree_map(lambda leaf: self.backend.asarray(leaf, dtype or self.dtype), tree)

    def ref(self, tree: Any) -> Any:
        """NumPy (pytree) -> the reference's arrays, always float64."""
        return tree_map(lambda leaf: self.reference.asarray(leaf, "float64"), tree)

    def numpy(self, tree: Any) -> Any:
        """The backend's (pytree of) arrays -> NumPy."""
        return tree_map(self.backend.to_numpy, tree)

    # -- expectations --------------------------------------------------------------
    def reference_method(self, order: int) -> str:
        return self.reference.method_for(self.f_ref, order)  # type: ignore[attr-defined]

    def drawn_size(self) -> int:
        """The element count of the largest leaf drawn in this example (1 when nothing was drawn).

        The tolerance policy's problem size (:func:`conformance.battery.tolerances.size_factor`): how many terms a
        result can reduce over.  Taken from the inputs, not from the expected tree, because the length of a
        reduction is a property of what is reduced: the jvp of ``sum(sin(x))`` over 2048 entries is one
        number (its expected tree has size 1, and would never scale), while the Hessian of a 4-vector has 16
        entries that each reduce over at most 4 terms.  Every draw counts (arguments, tangents, cotangents:
        ``<J v, u>`` reduces over u's length), each at its own size: vmap draws its samples one by one, so a
        batch axis, which reduces nothing, is not counted.  A check on fixed inputs (jit) records them through
        :meth:`record_input` too, so they count alike; one that records none keeps the unscaled bound.
        """
        return self._largest_leaf

    def expect_close(self, actual: Any, expected: Any, kind: str, what: str, order: int | None = None,
                     size: int | None = None) -> None:
        """Compare a backend result with an expected NumPy tree under the tolerance policy.

        ``order`` (0, 1, 2) names the derivative order when the expected value
        comes from the reference, so that its method's error bound is added.
        ``size`` (terms reduced over) defaults to :meth:`drawn_size`.
        """
        if order is None and self.backend.is_reference:
            # Inside the reference both routes are numerical approximations: allow its method's error.
            order = 2 if kind == "second" else 1 if kind == "identity" else 0
        method = self.reference_method(order) if order is not None else None
        tol = tolerance(self.dtype, kind, method, size=size if size is not None else self.drawn_size())
        try:
            result = compare(actual, tree_map(np.asarray, expected), tol, self.backend.to_numpy)
        except StructureMismatch as exc:
            raise CheckFailed(f"{what}: wrong structure {exc}") from None
        self.figures.add(result.max_abs_err, result.max_rel_err, tol, result.tolerance_used)
        if not result.ok:
            side = "NumPy reference" if order is not None else "same quantity computed by another route"
            raise CheckFailed(f"{what} [{self.backend.name}, {self.dtype}] disagrees with the {side}: {result.message}")

    def shared_reference(self, label: str, inputs: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, the reference's value of the quantity ``label`` at ``inputs``, shared with the other
        backends' shards of this run (:mod:`conformance.run.reference_cache`).  Only for a quantity that the check
        (without its backend), the label and the inputs determine: never one that reads the backend's
        declarations.  Inside the reference's own shard nothing is shared (its two routes are what it checks)."""
        if self.backend.is_reference:
            return compute()
        return reference_cache.shared(self.case.draw_id, label, inputs, compute)

    def against_reference(self, transform: str, kind: str, order: int, what: str, **options: Any) -> None:
        """Draw inputs, apply ``transform`` on the backend and on the reference, compare under the policy."""
        args = self.draw_inputs()
        got = getattr(self.backend, transform)(self.f, **options)(*self.native(args))
        want = self.shared_reference(f"{transform} {sorted(options.items())}", args,
                                     lambda: getattr(self.reference, transform)(self.f_ref, **options)(*self.ref(args)))
        self.expect_close(got, want, kind, what, order=order)

    def expect_jvp(self, f: Callable[..., Any], f_ref: Callable[..., Any], primals: tuple[Any, ...],
                   tangents: tuple[Any, ...], what: str) -> None:
        """jvp of ``f`` on the backend and of ``f_ref`` on the reference at drawn ``primals`` and ``tangents``:
        both outputs compared under the policy, named ``what[0]`` (the value) and ``what[1]`` (the tangent).
        The reference's side is shared across backends where ``f_ref`` is the check's own row (a closure built
        by the spec may differ per backend, so it is computed afresh)."""
        out, tangent_out = self.backend.jvp(f, self.native(primals), self.native(tangents))

        def reference_jvp() -> Any:
            return self.reference.jvp(f_ref, self.ref(primals), self.ref(tangents))

        ref_out, ref_tangent = (self.shared_reference("jvp", (primals, tangents), reference_jvp)
                                if f_ref is self.f_ref else reference_jvp())
        self.expect_close(out, ref_out, "value", f"{what}[0]", order=0)
        self.expect_close(tangent_out, ref_tangent, "first", f"{what}[1]", order=1)

    def expect_dtype(self, tree: Any, what: str) -> None:
        for path, leaf in leaves(tree):
            got = str(np.asarray(self.backend.to_numpy(leaf)).dtype)
            if got != self.dtype:
                raise CheckFailed(
                    f"{what} [{self.backend.name}]: output{path} has dtype {got}, expected {self.dtype} "
                    f"(the input dtype must be preserved)"
                )

    def require_has_aux(self, transform: str) -> None:
        """Skip unless the backend declares ``has_aux`` for ``transform``: never pass a keyword it lacks."""
        if transform not in self.backend.conventions.has_aux:
            raise Skip(
                f"{self.backend.name} declares no has_aux for {transform} (conventions.has_aux = "
                f"{sorted(self.backend.conventions.has_aux)}); has_aux_support checks that it rejects the keyword"
            )

    def unsupported(self, call: Callable[[], Any]) -> Any:
        """Run ``call``; an adapter's Unsupported becomes a recorded skip with its reason."""
        try:
            return call()
        except Unsupported as exc:
            raise Skip(str(exc)) from None


def run_check(ctx: Ctx) -> None:
    """Run one check; what the backend does not offer becomes a :class:`Skip` with the reason.

    This is the one place that decides it, so no spec has to remember: a dtype outside the backend's
    declared ``Conventions.dtypes`` skips before anything runs, and :class:`Unsupported` raised anywhere
    during the check (an adapter method, a transform nested in another, a conversion) is a skip, never
    an error, and so is a library's own error that its adapter declares as a missing feature of this check
    (``Conventions.missing_features``), and so is a name of the namespace contract that the backend's namespace
    lacks (:func:`conformance.battery.namespace_contract.lacked_name`).  Everything else (a wrong value, a library exception) keeps its verdict.
    """
    conv = ctx.backend.conventions
    if ctx.dtype.startswith("complex") and ctx.dtype not in conv.complex.dtypes:
        if conv.unsupported.get(ctx.case.spec.transform):  # a transform not offered: that is the reason, as elsewhere
            raise Skip(conv.unsupported[ctx.case.spec.transform])
        note = f": {conv.complex.note}" if conv.complex.note else ""
        raise Skip(f"{ctx.backend.name} declares complex dtypes {list(conv.complex.dtypes)}, not {ctx.dtype}{note}")
    if ctx.dtype not in conv.dtypes + conv.complex.dtypes:
        note = f": {conv.dtype_note}" if conv.dtype_note else ""
        raise Skip(f"{ctx.backend.name} declares dtypes {list(conv.dtypes)}, not {ctx.dtype}{note}")
    try:
        ctx.case.spec.check(ctx)
    except Unsupported as exc:
        raise Skip(str(exc)) from None
    except (CheckFailed, Skip, HypothesisException):
        raise
    except Exception as exc:
        # A library's own "not implemented" error, where its adapter declares it for this check (MissingFeature).
        if (reason := conv.missing_feature(exc, ctx.case.test_id)) is not None:
            raise Skip(f"{ctx.backend.library} {reason}") from None
        # A name of the namespace contract that the backend's namespace lacks, reached outside the function rows.
        if (name := lacked_name(ctx.backend.xp, exc)) is not None:
            raise Skip(f"{ctx.backend.library} lacks {name}: its array namespace has no {name} "
                       "(nor another name of it)") from None
        raise


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """Map over the leaves, keeping dict insertion order: what a library receives is what it was given
    (torch pairs dict pytrees by insertion order)."""
    return pytree.tree_map(fn, tree, pairing="insertion")


def leaves(tree: Any) -> list[tuple[str, Any]]:
    """``(path, leaf)`` pairs, dicts by key (:data:`backends.pytree.PAIRING`), so two trees pair leaf by leaf."""
    return pytree.leaves_with_paths(tree)


def stack(samples: list[Any], dims: Any = 0) -> Any:
    """Stack same-structured NumPy pytrees along ``dims`` (an int, or a prefix tree of ints/None).

    A leaf whose dim is None is unbatched and keeps the first sample's value.
    """
    flat = [pytree.flatten(s, "insertion")[0] for s in samples]
    treedef = pytree.flatten(samples[0], "insertion")[1]
    axes = pytree.prefix_leaves(dims, samples[0], "stack dims", "insertion")
    return pytree.unflatten(treedef, [
        flat[0][i] if axis is None else np.stack([leaves[i] for leaves in flat], axis=axis)
        for i, axis in enumerate(axes)
    ])
