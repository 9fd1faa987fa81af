"""The account of a document's transform calls, inside the sandbox: which to check, and when.

Why: measured on real tutorials, 2,525 of 2,537 derivative claims were repeats of the same five calls inside
``Timer.timeit(500)`` loops, and the document's own timings came out 4-10x slower, because every call was checked
(finite differences: dozens of evaluations of the function) while the document was timing it.  Now:

- a call is *counted* at once, cheaply: its key is the transform, the call site, the function object, the
  transform's options and a fingerprint of the inputs (types, shapes, dtypes, and the values: all bytes of a small
  input, a strided sample and the sum of a large one).  A key seen before is a repeat: counted, not checked again;
- at most :data:`CAP` distinct calls are checked per call site (a loop over many inputs costs three checks);
- a call to check has its inputs and result copied (so later in-place updates cannot change them) and its check
  *queued*; the queue runs when the cell has finished, outside anything the document times.  Before its check, the
  transform is recomputed at the copied inputs: when the function's state moved since the call (a parameter it
  closes over was updated later in the cell), the recomputed result is the one checked, and the record says so.

Each cell's record carries ``transform_calls``: calls, distinct, checked, over_cap; each derivative record its
``calls`` (how many identical calls it stands for), so a reader sees "2,537 calls, 12 distinct, 12 checked".
"""

from __future__ import annotations

import functools
import sys
import types
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

CAP = 3
"""Distinct calls checked per call site (transform, cell, line)."""
NESTING = 4
"""Rounds of checks a cell's drain runs: a check may queue the transform nested in the one it checks."""
_SMALL = 4096
"""Inputs up to this many elements are fingerprinted by all their bytes; larger ones by a sample and their sum."""
_SAMPLE = 1024
_WIDE = 256
"""Containers longer than this are fingerprinted by identity: walking them on every call would cost the document."""


def _lib_tensor(x: Any) -> str:
    t, j = sys.modules.get("torch"), sys.modules.get("jax")
    if t is not None and isinstance(x, t.Tensor):
        return "torch"
    if j is not None and isinstance(x, j.Array):
        return "jax"
    return "numpy" if isinstance(x, np.ndarray) else ""


def _digest(x: Any, lib: str) -> Any:
    """A cheap summary of an array's values: every byte of a small one, a sample and the sum of a large one."""
    if lib == "torch":
        flat = x.detach().reshape(-1)
        n = flat.numel()
        part = flat if n <= _SMALL else flat[:: n // _SAMPLE + 1]
        try:
            values = part.cpu().numpy()
        except TypeError:  # bfloat16 and other dtypes numpy does not have
            values = part.cpu().float().numpy()
        return hash(values.tobytes()) if n <= _SMALL else (hash(values.tobytes()), float(flat.sum()))
    flat = x.reshape(-1)
    n = int(flat.size)
    if n <= _SMALL:
        return hash(np.asarray(flat).tobytes())
    return hash(np.asarray(flat[:: n // _SAMPLE + 1]).tobytes()), float(np.asarray(flat.sum()))


def fingerprint(tree: Any, depth: int = 0) -> Any:
    """A hashable summary of a call's arguments: equal for identical calls, cheap for large inputs."""
    if depth > 20 or (isinstance(tree, (tuple, list, dict)) and len(tree) > _WIDE):
        return ("opaque", type(tree).__name__, id(tree))
    if isinstance(tree, (tuple, list)):
        return (type(tree).__name__, tuple(fingerprint(x, depth + 1) for x in tree))
    if isinstance(tree, dict):
        return ("dict", tuple((repr(k)[:100], fingerprint(v, depth + 1)) for k, v in sorted(tree.items(), key=repr)))
    if isinstance(tree, (bool, int, float, complex, str, bytes, type(None))):
        return (type(tree).__name__, repr(tree)[:200])
    lib = _lib_tensor(tree)
    if lib:
        try:
            return (lib, tuple(tree.shape), str(tree.dtype), _digest(tree, lib))
        except Exception:  # a tracer or a wrapped tensor: no values to read
            return (lib, "opaque", id(tree))
    return (type(tree).__name__, id(tree))


def snapshot(tree: Any, depth: int = 0) -> Any:
    """A copy of a call's arguments or result whose arrays later in-place updates cannot change."""
    if depth > 20:
        return tree
    if isinstance(tree, (tuple, list)):
        items = [snapshot(x, depth + 1) for x in tree]
        return type(tree)(*items) if hasattr(type(tree), "_fields") else type(tree)(items)
    if isinstance(tree, dict):
        out = dict(tree)
        for k, v in tree.items():
            out[k] = snapshot(v, depth + 1)
        return out
    lib = _lib_tensor(tree)
    if lib == "torch":
        try:
            copy = tree.detach().clone()
            return copy.requires_grad_(True) if tree.requires_grad and copy.is_floating_point() else copy
        except Exception:
            return tree
    if lib == "numpy":
        return tree.copy()
    return tree  # jax arrays are immutable; other objects are passed as they are


def function_identity(f: Any) -> Any:
    """What makes two functions the same function: for a Python function its code, closure and defaults (a loop
    writing ``jax.grad(lambda v: ...)`` makes a new, identical function each time), else the object itself."""
    if isinstance(f, types.FunctionType):
        cells = []
        for cell in f.__closure__ or ():
            try:
                cells.append(fingerprint(cell.cell_contents, 18))
            except ValueError:  # an empty cell (a name not yet bound)
                cells.append(None)
        return ("function", id(f.__code__), tuple(cells), fingerprint(f.__defaults__, 18))
    if isinstance(f, functools.partial):
        return ("partial", function_identity(f.func), fingerprint((f.args, f.keywords), 18))
    return ("object", id(f))


def key(name: str, site: tuple[Any, Any], f: Any, options: Any, inputs: Any) -> tuple[Any, ...]:
    """What makes two calls the same call: transform, site, function, the transform's options, the inputs."""
    return (name, site, function_identity(f), repr(options)[:500], fingerprint(inputs))


class Ledger:
    """Counts calls per cell, remembers keys for the session, queues the checks to run after the cell."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[Any, ...]] = Counter()
        self.per_site: Counter[tuple[Any, ...]] = Counter()
        self.queue: list[tuple[tuple[Any, ...], Callable[[int], bool]]] = []
        self.counts = self._zero()

    @staticmethod
    def _zero() -> dict[str, int]:
        return {"calls": 0, "distinct": 0, "checked": 0, "over_cap": 0}

    def begin(self) -> None:
        """A new cell: its counts start at zero (the keys seen stay: a repeat in a later cell is still a repeat)."""
        self.counts = self._zero()

    def admit(self, k: tuple[Any, ...], capped: bool = True) -> bool:
        """Count one call; True when it is new and its site is under the cap (queue its check then)."""
        self.counts["calls"] += 1
        self.calls[k] += 1
        if self.calls[k] > 1:
            return False
        self.counts["distinct"] += 1
        site = k[:2]
        if capped and self.per_site[site] >= CAP:
            self.counts["over_cap"] += 1
            return False
        self.per_site[site] += 1
        return True

    def defer(self, k: tuple[Any, ...], job: Callable[[int], bool]) -> None:
        """Queue ``job(calls)`` to run when the cell has finished: it checks the call (``calls`` is how many
        identical calls it stands for), sends or has the host make its record, and says whether the host checked
        it."""
        self.queue.append((k, job))

    def drain(self) -> None:
        """Run the queued jobs in call order, counting those the host checked; a job may queue more (a transform
        nested in the one it checks), and those run next, a few rounds at most."""
        for _ in range(NESTING):
            queue, self.queue = self.queue, []
            for k, job in queue:
                if job(self.calls[k]):
                    self.counts["checked"] += 1
            if not self.queue:
                return
        self.queue = []


def save_rng() -> tuple[Any, ...]:
    """The random streams a check's evaluations of the function could move (Python's, numpy's, torch's)."""
    import random

    t = sys.modules.get("torch")
    return random.getstate(), np.random.get_state(), t.random.get_rng_state() if t is not None else None


def restore_rng(saved: tuple[Any, ...]) -> None:
    """Put the document's random streams back as :func:`save_rng` found them."""
    import random

    random.setstate(saved[0])
    np.random.set_state(saved[1])
    t = sys.modules.get("torch")
    if t is not None and saved[2] is not None:
        t.random.set_rng_state(saved[2])


def same_values(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Whether two results agree to within rounding noise (a GPU's reductions need not repeat bit for bit)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return False
        scale = max(1.0, float(np.max(np.abs(y)))) if y.size else 1.0
        if y.size and not float(np.max(np.abs(x - y))) <= 1e-5 * scale:
            return False
    return True
