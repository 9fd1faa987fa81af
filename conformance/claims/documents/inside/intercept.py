"""Where a document's transform call is intercepted: the wrappers the harness puts in place of the library's.

Each wrapped transform returns the library's own result unchanged.  A call made at top level (not inside another
transform, not while a check evaluates the function) is counted by the ledger; a new one under its site's cap has
its inputs copied and its check queued until the cell has finished (``inside.ledger``), so nothing the document
times pays for it.  Calls nested inside another transform (``grad(grad(f))``) pass straight through: their inputs
are tracers or wrapped tensors.

A check is a conversation with the host (``inside.probe``): the call's :class:`~probe.Question` goes out as a
``begin`` ask, the host answers with a plan, the numbers go back as an ``answer`` ask, and the host writes the
derivative record itself (``conformance.claims.documents.oracle``).  A call with nothing to check (traced values, a
recorded graph, a check that could not evaluate the function before it began) is an ``unverifiable`` record sent
from here: a verdict-free record, the only kind of derivative record the host takes from the sandbox.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

from conformance.claims.documents.inside import ledger as _ledger
from conformance.claims.documents.inside import probe, trees

STOPS = ("no_grad", "detach", "stop_gradient", "inference_mode", "requires_grad_(False)")
MOVED = ("the function's state changed between the call and its check (the cell updated something it reads): "
         "checked the transform recomputed at the call's inputs")


def stops_gradient(f: Any) -> list[str]:
    """Whether the function's own source stops gradients: the transform follows that on purpose, so its result
    is not the derivative of the function's values.  Recorded so the report can say so next to a false verdict."""
    try:
        source = inspect.getsource(f)
    except (OSError, TypeError):
        return []
    return [word for word in STOPS if word in source]


def _copy_metadata(wrapper: Any, original: Any, name: str) -> Any:
    wrapper.__wrapped__ = original
    for attr in ("__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(original, attr, name if attr != "__doc__" else None))
        except (AttributeError, TypeError):
            pass
    return wrapper


class _Delegating:
    """A compiled function with its calls watched: everything else (``.lower``, ``.trace``, attributes) is the
    library's own object's, so a document using them sees no difference."""

    def __init__(self, call: Callable[..., Any], compiled: Any) -> None:
        self._call, self.__wrapped__ = call, compiled
        for attr in ("__name__", "__qualname__", "__doc__"):
            try:
                setattr(self, attr, getattr(compiled, attr))
            except (AttributeError, TypeError):
                pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)


class Interceptor:
    """The session's interception state: which cell runs, how deep in a transform we are, the ledger."""

    def __init__(self, emit: Callable[[dict[str, Any]], None], ask: Callable[[dict[str, Any]], dict[str, Any]]):
        self._emit, self._ask = emit, ask
        self.cell: int | None = None
        self.busy = 0
        self.checking: tuple[str, Any] | None = None
        """The transform and site of the check running now (``nested`` checks inner transforms there)."""
        self.book = _ledger.Ledger()

    # ------------------------------------------------------------ bookkeeping

    def top_level(self) -> bool:
        return self.busy == 0

    def site(self) -> tuple[int | None, int | None]:
        """The document's cell and line that made the call (the innermost ``<cell N>`` frame)."""
        f = sys._getframe(1)
        while f is not None:
            name = f.f_code.co_filename
            if name.startswith("<cell "):
                return int(name[6:-1]), f.f_lineno
            f = f.f_back
        return self.cell, None

    def inside(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args)`` counted as inside a transform: the library's own internals are not the document's calls."""
        self.busy += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.busy -= 1

    def record(self, name: str, site: Any, f: Any, options: Any, inputs: Any, result: Any,
               question: Callable[[Any, Any], probe.Question], recompute: Callable[[Any], Any]) -> None:
        """Count one top-level call; when new and under its site's cap, copy it and queue its check."""
        k = _ledger.key(name, site, f, options, inputs)
        if self.book.admit(k):
            inputs, result = _ledger.snapshot(inputs), _ledger.snapshot(result)
            self.book.defer(k, lambda calls: self._check(name, site, f, lambda r: question(inputs, r), result,
                                                         lambda: recompute(inputs), calls))

    def unverifiable(self, name: str, site: Any, reason: str) -> None:
        """A call with nothing to check: one record per site and reason."""
        k = (name, site, reason)
        if self.book.admit(k, capped=False):
            self.book.defer(k, lambda calls: self._send_unverifiable(
                {"cell": site[0], "line": site[1], "transform": name}, reason, calls))

    def _send_unverifiable(self, head: dict[str, Any], reason: str, calls: int, **extra: Any) -> bool:
        rec = {"type": "derivative", **head, "status": "unverifiable", "reason": reason, **extra}
        if calls > 1:
            rec["calls"] = calls
        self._emit(rec)
        return False

    def _check(self, name: str, site: Any, f: Any, question: Callable[[Any], probe.Question], result: Any,
               recompute: Callable[[], Any], calls: int) -> bool:
        """One queued check after its cell, never disturbing the document: failures become unverifiable."""
        head: dict[str, Any] = {"cell": site[0], "line": site[1], "transform": name}
        stops = stops_gradient(f) if f is not None else []
        if stops:
            head["stops_gradient"] = stops
        self.busy += 1
        self.checking = (name, site)
        started = time.perf_counter()
        saved = _ledger.save_rng()  # the function is called many times: the document's random stream must not move
        begun = False
        try:
            fresh = recompute()
            moved = not _ledger.same_values([trees.to_numpy(x) for x in trees.flatten(fresh)[0]],
                                            [trees.to_numpy(x) for x in trees.flatten(result)[0]])
            q = question(fresh if moved else result)
            begin = {**head, **q.begin, "calls": calls, "moved": MOVED if moved else ""}
            reply = self._ask({"begin": begin})
            begun = True
            if "plan" not in reply:
                raise probe.Unverifiable(f"the host made no plan: {reply.get('error', 'no reason given')}")
            answer = q.answer(reply["plan"])
            self._ask({"answer": answer, "duration_s": round(time.perf_counter() - started, 4)})
            return True
        except probe.Unverifiable as exc:
            return self._failed(head, str(exc), begun, calls, started)
        except Exception as exc:
            return self._failed(head, f"the check could not evaluate the function: {type(exc).__name__}: "
                                      f"{str(exc)[:300]}", begun, calls, started)
        finally:
            _ledger.restore_rng(saved)
            self.busy -= 1
            self.checking = None

    def _failed(self, head: dict[str, Any], reason: str, begun: bool, calls: int, started: float) -> bool:
        duration = round(time.perf_counter() - started, 4)
        if begun:  # the host holds the open check: it writes the record
            self._ask({"answer": None, "error": reason, "duration_s": duration})
            return False
        return self._send_unverifiable(head, reason, calls, duration_s=duration)

    # ------------------------------------------------------------ wrappers

    def applied(self, name: str, transform: Callable[..., Any],
                question: Callable[..., probe.Question]) -> Callable[..., Any]:
        """For transforms used as ``T(f, ...)(*args)``: account for each top-level call of the transformed
        function; ``question(f, targs, tkw, args, kwargs, result)`` builds its check."""

        def wrapped_transform(f: Any, *targs: Any, **tkw: Any) -> Any:
            g = transform(f, *targs, **tkw)

            def call(*args: Any, **kwargs: Any) -> Any:
                if not self.top_level():
                    return g(*args, **kwargs)
                site = self.site()
                result = self.inside(g, *args, **kwargs)
                reason = trees.traced(trees.flatten(list(args))[0])
                if reason:
                    self.unverifiable(name, site, reason)
                    return result
                self.record(name, site, f, (targs, tkw), (args, kwargs), result,
                            lambda i, r: question(f, targs, tkw, i[0], i[1], r), lambda i: g(*i[0], **i[1]))
                return result

            call = _copy_metadata(call, g, name)
            # What a later vmap or jit of this function needs to check it at concrete inputs (``nested``).
            call.__conformance__ = {"name": name, "f": f, "targs": targs, "tkw": tkw, "question": question, "g": g}
            return call

        return _copy_metadata(wrapped_transform, transform, name)

    def nested(self, inner: dict[str, Any], where: str, args: Any, kwargs: dict[str, Any]) -> None:
        """Check a transform the document applied inside another one (``vmap(grad(f))``: ``grad(f)`` at one
        example of the batch), at the site of the call being checked: its inputs are concrete here, unlike when
        the outer transform ran it."""
        if self.checking is None:
            return
        outer, site = self.checking
        f, targs, tkw, question, g = inner["f"], inner["targs"], inner["tkw"], inner["question"], inner["g"]
        result = g(*args, **kwargs)
        self.record(f"{inner['name']} ({where} of {outer})", site, f, (targs, tkw), (args, kwargs), result,
                    lambda i, r: question(f, targs, tkw, i[0], i[1], r), lambda i: g(*i[0], **i[1]))

    def compiled(self, name: str, compile_: Callable[..., Any]) -> Callable[..., Any]:
        """jax.jit and its kind: a compiled transform (``jit(grad(f))``, ``jit(vmap(grad(f)))``) is checked at the
        compiled call's concrete inputs, its result the compiled one; anything else compiled passes through."""

        def wrapped_compile(f: Any, *cargs: Any, **ckw: Any) -> Any:
            j = compile_(f, *cargs, **ckw)
            inner = getattr(f, "__conformance__", None)
            if inner is None:
                return j

            def call(*args: Any, **kwargs: Any) -> Any:
                if not self.top_level():
                    return j(*args, **kwargs)
                site = self.site()
                result = self.inside(j, *args, **kwargs)
                if trees.traced(trees.flatten(list(args))[0]):
                    return result
                fi, targs, tkw, question = inner["f"], inner["targs"], inner["tkw"], inner["question"]
                self.record(f"{inner['name']} under {name}", site, fi, (targs, tkw), (args, kwargs), result,
                            lambda i, r: question(fi, targs, tkw, i[0], i[1], r), lambda i: j(*i[0], **i[1]))
                return result

            return _Delegating(call, j)

        return _copy_metadata(wrapped_compile, compile_, name)

    def vjp(self, name: str, vjp: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(f: Any, *primals: Any, **kw: Any) -> Any:
            if not self.top_level():
                return vjp(f, *primals, **kw)
            site = self.site()
            out = self.inside(vjp, f, *primals, **kw)
            pick = first(kw.get("has_aux", False))
            inner = out[1]

            def vjp_fn(*cts: Any, **ckw: Any) -> Any:
                top = self.top_level()
                res = self.inside(inner, *cts, **ckw)
                if top:
                    def question(i: Any, r: Any) -> probe.Question:
                        ct = i[1][0] if len(i[1]) == 1 else i[1]
                        fn = probe.Function(f, i[0], {}, tuple(range(len(i[0]))), pick)
                        return probe.vjp(fn, ct, trees.flatten(r)[0])

                    self.record(name, site, f, kw, (primals, cts, ckw), res, question,
                                lambda i: vjp(f, *i[0], **kw)[1](*i[1], **i[2]))
                return res

            return (out[0], vjp_fn, *out[2:])

        return _copy_metadata(wrapped, vjp, name)

    def jvp(self, name: str, jvp: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(f: Any, primals: Any, tangents: Any, *rest: Any, **kw: Any) -> Any:
            if not self.top_level():
                return jvp(f, primals, tangents, *rest, **kw)
            site = self.site()
            out = self.inside(jvp, f, primals, tangents, *rest, **kw)
            pick = first(kw.get("has_aux", False))

            def question(i: Any, r: Any) -> probe.Question:
                p = as_tuple(i[0])
                fn = probe.Function(f, p, {}, tuple(range(len(p))), pick)
                return probe.jvp(fn, trees.flatten(as_tuple(i[1]))[0], trees.flatten(r[1])[0])

            self.record(name, site, f, kw, (primals, tangents, rest), out, question,
                        lambda i: jvp(f, i[0], i[1], *i[2], **kw))
            return out

        return _copy_metadata(wrapped, jvp, name)

    def functional(self, name: str, fn: Callable[..., Any],
                   question: Callable[[probe.Function, Any, Any], probe.Question]) -> Callable[..., Any]:
        """torch.autograd.functional.*: ``(func, inputs, [v]) -> result``."""

        def wrapped(func: Any, inputs: Any, *rest: Any, **kw: Any) -> Any:
            if not self.top_level():
                return fn(func, inputs, *rest, **kw)
            site = self.site()
            out = self.inside(fn, func, inputs, *rest, **kw)

            def build(i: Any, r: Any) -> probe.Question:
                is_tuple = isinstance(i[0], tuple)
                args = i[0] if is_tuple else (i[0],)
                v = i[1][0] if i[1] else i[2].get("v")
                return question(probe.Function(func, args, {}, tuple(range(len(args))) if is_tuple else 0,
                                               lambda o: o), v, r)

            self.record(name, site, func, kw, (inputs, rest, kw), out, build, lambda i: fn(func, i[0], *i[1], **i[2]))
            return out

        return _copy_metadata(wrapped, fn, name)

    def graph_only(self, name: str, fn: Callable[..., Any], reason: str) -> Callable[..., Any]:
        """A transform of a recorded graph (torch.autograd.grad): nothing to difference, said once per site."""

        def wrapped(*args: Any, **kw: Any) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            if self.top_level() and caller.startswith("<cell "):  # the document's own call, not a library's
                self.unverifiable(name, self.site(), reason)
            return fn(*args, **kw)

        return _copy_metadata(wrapped, fn, name)


def argnums(targs: Any, tkw: dict[str, Any], pos: int = 0, default: Any = 0) -> Any:
    value = tkw.get("argnums", targs[pos] if len(targs) > pos else default)
    return tuple(value) if isinstance(value, (list, tuple)) else value


def first(has_aux: Any) -> Callable[[Any], Any]:
    return (lambda out: out[0]) if has_aux else (lambda out: out)


def as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)
