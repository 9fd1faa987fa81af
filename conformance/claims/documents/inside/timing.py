"""The document's own timings: measured with interception off, and recorded for the host.

Why: a tutorial that times two transforms (``torch.utils.benchmark.Timer``, Python's ``timeit``) must time what the
author timed, not our wrappers; and what it then prints about the comparison ("... percent improvement with
jacrev") can only be judged against the numbers its run measured.  So while a timer runs, the interceptor counts
as busy (every wrapped transform passes straight through), and each measurement is kept: the statement timed,
the median seconds per call, the spread, how many runs.  The ``speed`` claim kind reads them on the host.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

MAX = 50
"""Measurements kept per cell."""


def _measurement(m: Any, stmt: str) -> dict[str, Any]:
    try:
        return {"stmt": str(stmt)[:500], "median_s": float(m.median), "iqr_s": float(m.iqr), "runs": len(m.times)}
    except Exception:
        return {"stmt": str(stmt)[:500], "median_s": float("nan"), "iqr_s": float("nan"), "runs": 0}


def install(hook: Any, kept: list[dict[str, Any]]) -> None:
    """Patch the timers of the libraries already imported: torch.utils.benchmark's Timer, Python's timeit."""
    if "torch" in sys.modules:
        try:
            import torch.utils.benchmark as bench
        except Exception:
            bench = None
        if bench is not None:
            for name in ("timeit", "blocked_autorange", "adaptive_autorange"):
                original = getattr(bench.Timer, name, None)
                if original is not None:
                    setattr(bench.Timer, name, _torch_method(original, hook, kept))
    import timeit

    timeit.Timer.timeit = _plain_method(timeit.Timer.timeit, hook, kept)  # type: ignore[method-assign]


def _torch_method(original: Callable[..., Any], hook: Any, kept: list[dict[str, Any]]) -> Callable[..., Any]:
    @functools.wraps(original)
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = hook.top_level()  # a timer run by another timer (Timer.timeit by blocked_autorange) is its part
        m = hook.inside(original, self, *args, **kwargs)
        if outer and len(kept) < MAX:
            stmt = getattr(getattr(m, "task_spec", None), "stmt", "") or getattr(self, "_stmt", "")
            kept.append(_measurement(m, stmt))
        return m

    return timed


def _plain_method(original: Callable[..., Any], hook: Any, kept: list[dict[str, Any]]) -> Callable[..., Any]:
    @functools.wraps(original)
    def timed(self: Any, number: int = 1000000) -> float:
        outer = hook.top_level()  # torch's Timer measures through timeit.Timer: that is its measurement
        total = hook.inside(original, self, number)
        if outer and len(kept) < MAX:
            src = getattr(self, "src", "") or ""
            kept.append({"stmt": str(src)[:500], "median_s": float(total) / max(1, int(number)), "iqr_s": 0.0,
                         "runs": 1})
        return total

    return timed
