"""The reference's results, computed once per run and shared by every backend's shard.

Every library backend is judged on the same inputs for the same check (a check draws from its id without the
backend's name: :attr:`conformance.battery.specs.core.Case.draw_id`), and the NumPy reference's answer to
``hessian(sum(w * f))(x)`` does not depend on which library is being judged.  Recomputing it per backend was about
a tenth of the gate's CPU time (five library backends, each paying the reference's finite differences and
complex steps again), and more under the thorough profile, whose examples are many.

What is shared is keyed by what determines it, never by position: the check without its backend (spec, dtype,
function row, variant), a label that the call site gives for the quantity (``"grad argnums=(0, 1)"``), and the
inputs' dtypes, shapes and bytes.  Only call sites whose reference quantity is fixed by those take part
(:meth:`conformance.battery.specs.core.Ctx.shared_reference`); a quantity that depends on a backend's declarations is
computed afresh.

The runner gives its shards one folder per run (:data:`conformance.contract.REFERENCE_CACHE_ENV`, inside the
run's ``.partial/<id>/``, removed with the logs); without it (the in-process API, a reproducer) nothing is shared
and every value is computed.  Entries are written to a temporary name and renamed, so a shard killed mid-write
leaves no half entry, and two shards computing the same entry at once both write the same value.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backends import pytree
from conformance.contract import REFERENCE_CACHE_ENV


def folder() -> Path | None:
    """This process's shared folder, or None when the run shares nothing."""
    where = os.environ.get(REFERENCE_CACHE_ENV, "")
    return Path(where) if where else None


def key(check: str, label: str, inputs: Any) -> str:
    """A digest of everything the shared value depends on: the check without its backend, the quantity's label,
    and every input leaf's dtype, shape and bytes (in the tree's order, with its structure)."""
    digest = hashlib.sha256(f"{check}\0{label}\0".encode())
    leaves, treedef = pytree.flatten(inputs)
    digest.update(repr(treedef).encode())
    for leaf in leaves:
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def shared(check: str, label: str, inputs: Any, compute: Callable[[], Any]) -> Any:
    """The value of ``compute()``, read from the run's folder when a shard already computed it, else computed
    and written there.  A value that raises is not stored (every shard then raises the same way)."""
    where = folder()
    if where is None:
        return compute()
    path = where / key(check, label, inputs)
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # written by this run's own shards, in its own folder
    except (FileNotFoundError, EOFError, pickle.UnpicklingError):
        pass
    value = pytree.tree_map(np.asarray, compute(), pairing="insertion")  # as a reader would get it
    where.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return value
