"""The sandbox's half of the article's performance claims: each gradient idiom timed in one fresh process.

A real module run inside the sandbox (``measure.run`` writes the call): interleaved rounds of timed calls after a
warm-up, the median of each round's medians per idiom, sent as one ``timing`` record on the report channel.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

RECORD = "timing"
"""The record type the medians travel in."""


def _f(x: Any) -> Any:
    return (x * x).sum()


def _one_round(call: Callable[[], Any], reps: int) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter_ns()
        call()
        out.append(time.perf_counter_ns() - t)
    return statistics.median(out) / 1e3


def timed_all(calls: dict[str, Callable[[], Any]], reps: int, rounds: int, warmup: int) -> dict[str, float]:
    """Median microseconds per call of each idiom: rounds interleave the idioms, so drift hits them alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    seen: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(rounds):
        for k, call in calls.items():
            seen[k].append(_one_round(call, reps))
    return {k: statistics.median(v) for k, v in seen.items()}


def idioms(n: int | None) -> dict[str, Callable[[], Any]]:
    """The timed calls at a scalar (``n`` None) or an ``n``-vector: one gradient of ``sum(x * x)`` each."""
    import jax
    import jax.numpy as jnp
    import torch
    import torch.func

    xt = torch.tensor(2.0) if n is None else torch.linspace(0, 1, n)
    xr = xt.clone().requires_grad_(True)
    xj = jnp.array(2.0) if n is None else jnp.linspace(0, 1, n)
    g, gv, jg, jjg = torch.func.grad(_f), torch.func.grad_and_value(_f), jax.grad(_f), jax.jit(jax.grad(_f))
    return {
        "torch.autograd.grad": lambda: torch.autograd.grad(_f(xr), xr),
        "torch.func.grad": lambda: g(xt),
        "torch.func.grad_and_value": lambda: gv(xt),
        "manual": lambda: 2 * xt,
        "jax.grad": lambda: jg(xj).block_until_ready(),
        "jax.jit(jax.grad)": lambda: jjg(xj).block_until_ready(),
    }


def main(reps: int, rounds: int, warmup: int, report: Callable[[dict[str, Any]], None]) -> None:
    import jax
    import torch

    result = {label: timed_all(idioms(n), reps, rounds, warmup) for label, n in (("scalar", None),
                                                                               ("vector1000", 1000))}
    report({"type": RECORD, "median_us": result, "reps": reps, "rounds": rounds, "torch": torch.__version__,
            "jax": jax.__version__})
