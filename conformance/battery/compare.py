"""Comparing pytrees of arrays: structure first, then norm-wise error figures per leaf.

NaN is never replaced: a NaN on one side only is a failure; NaN on both sides
at the same position counts as agreement (both libraries produce it where the
function is undefined).  Shapes must match exactly, without broadcasting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from conformance.battery.tolerances import Tolerance


class StructureMismatch(AssertionError):
    pass


def walk(actual: Any, expected: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield ``(path, actual_leaf, expected_leaf)``; raise naming the first structural difference."""
    where = path or "top level"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise StructureMismatch(f"at {where}: expected a dict with keys {sorted(expected)}, got {type(actual).__name__}")
        if sorted(actual) != sorted(expected):
            raise StructureMismatch(f"at {where}: expected keys {sorted(expected)}, got {sorted(actual)}")
        for k in sorted(expected):
            yield from walk(actual[k], expected[k], f"{path}[{k!r}]")
    elif isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            got = f"{type(actual).__name__} of length {len(actual)}" if isinstance(actual, (tuple, list)) else type(actual).__name__
            raise StructureMismatch(f"at {where}: expected a sequence of length {len(expected)}, got {got}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            yield from walk(a, e, f"{path}[{i}]")
    elif expected is None:
        if actual is not None:
            raise StructureMismatch(f"at {where}: expected None, got {type(actual).__name__}")
    else:
        if isinstance(actual, (dict, tuple, list)) or actual is None:
            raise StructureMismatch(f"at {where}: expected an array, got {type(actual).__name__}")
        yield path, actual, expected


@dataclasses.dataclass
class Comparison:
    ok: bool
    max_abs_err: float
    max_rel_err: float
    worst_path: str
    message: str
    tolerance_used: float = 0.0
    """max over leaves of max|a - e| / (atol + rtol max|e|): the share of the bound used; above 1 fails."""


def _components(x: np.ndarray) -> np.ndarray:
    """``x`` in float64; a complex leaf as its real and imaginary parts on a last axis of 2, so that both count
    (a cast to float64 would drop the imaginary part) and the bound is at the scale of the largest component."""
    return np.stack([x.real, x.imag], axis=-1).astype(np.float64) if x.dtype.kind == "c" else x.astype(np.float64)


def compare(actual: Any, expected: Any, tol: Tolerance, to_numpy: Callable[[Any], np.ndarray] = np.asarray) -> Comparison:
    """Compare two pytrees leaf by leaf; ``to_numpy`` converts the actual side's leaves."""
    worst = Comparison(True, 0.0, 0.0, "", "", 0.0)
    for path, a_leaf, e_leaf in walk(actual, expected):
        a, e = np.asarray(to_numpy(a_leaf)), np.asarray(e_leaf)
        where = path or "result"
        if (a.dtype.kind == "c") != (e.dtype.kind == "c"):
            return Comparison(False, float("inf"), float("inf"), path,
                              f"{where}: actual is {a.dtype}, expected {e.dtype}: complex against real", float("inf"))
        a, e = _components(a), _components(e)
        if a.shape != e.shape:
            return Comparison(False, float("inf"), float("inf"), path, f"{where}: shape {a.shape} != expected {e.shape}",
                              float("inf"))
        a_nan, e_nan = np.isnan(a), np.isnan(e)
        if (a_nan != e_nan).any():
            idx = np.argwhere(a_nan != e_nan)[0].tolist()
            return Comparison(
                False, float("nan"), float("nan"), path,
                f"{where}: NaN mismatch at index {idx}: actual {a[tuple(idx)]!r}, expected {e[tuple(idx)]!r}",
                float("inf"),
            )
        finite = ~e_nan
        diff = np.abs(a[finite] - e[finite])
        max_abs = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(e[finite]).max()) if diff.size else 0.0
        max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
        bound = tol.atol + tol.rtol * scale
        used = max_abs / bound if bound > 0 else (0.0 if max_abs == 0 else float("inf"))
        worst.tolerance_used = max(worst.tolerance_used, used)
        if max_abs > worst.max_abs_err or (max_rel > worst.max_rel_err and max_rel != float("inf")):
            worst.max_abs_err = max(worst.max_abs_err, max_abs)
            worst.max_rel_err = max(worst.max_rel_err, max_rel)
            worst.worst_path = path
        if not max_abs <= bound:
            i = int(np.argmax(np.where(finite, np.abs(a - e), -1.0)))
            idx = np.unravel_index(i, a.shape) if a.shape else ()
            return Comparison(
                False, max_abs, max_rel, path,
                f"{where}: max |actual - expected| = {max_abs:.3e} exceeds atol + rtol*max|expected| = {bound:.3e} "
                f"(rtol {tol.rtol:.1e}, max|expected| {scale:.3e}); worst at index {list(map(int, idx))}: "
                f"actual {a[idx]!r}, expected {e[idx]!r}",
                used,
            )
    return worst
