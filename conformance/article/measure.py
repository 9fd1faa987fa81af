"""Timing of gradient idioms for the performance claims: medians of repeated calls, and ratios.

The timing runs in its own fresh interpreter (through the sandbox, with torch and jax pre-imported), so the
checker's process never imports torch or jax and the numbers are not disturbed by other work in this process.
Each idiom is warmed up, then timed in ``ROUNDS`` rounds of ``REPS`` calls each, call by call; a round's median is
robust to the odd slow call, and the median over rounds to a round disturbed by other work on a shared machine.
The rounds of all idioms are interleaved (round 1 of every idiom, then round 2, ...), so a slow phase of the
machine hits every idiom rather than one.  7 x 50 calls keep the ratios stable to a few percent at a fraction of
the cost of one long series.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.article import sandbox

ROUNDS = 7
REPS = 50
WARMUP = 10
IDIOMS = ("torch.autograd.grad", "torch.func.grad", "torch.func.grad_and_value", "manual", "jax.grad",
          "jax.jit(jax.grad)")

SCRIPT = r'''
import json, statistics, time
import torch, torch.func, jax, jax.numpy as jnp
REPS, ROUNDS, WARMUP = {reps}, {rounds}, {warmup}
def f(x):
    return (x * x).sum()
def one_round(call):
    out = []
    for _ in range(REPS):
        t = time.perf_counter_ns(); call(); out.append(time.perf_counter_ns() - t)
    return statistics.median(out) / 1e3
def timed_all(calls):
    for call in calls.values():
        for _ in range(WARMUP):
            call()
    rounds = {{k: [] for k in calls}}
    for _ in range(ROUNDS):
        for k, call in calls.items():
            rounds[k].append(one_round(call))
    return {{k: statistics.median(v) for k, v in rounds.items()}}
result = {{}}
for label, n in (("scalar", None), ("vector1000", 1000)):
    xt = torch.tensor(2.0) if n is None else torch.linspace(0, 1, n)
    xr = xt.clone().requires_grad_(True)
    xj = jnp.array(2.0) if n is None else jnp.linspace(0, 1, n)
    g, gv, jg, jjg = torch.func.grad(f), torch.func.grad_and_value(f), jax.grad(f), jax.jit(jax.grad(f))
    result[label] = timed_all({{
        "torch.autograd.grad": lambda: torch.autograd.grad(f(xr), xr),
        "torch.func.grad": lambda: g(xt),
        "torch.func.grad_and_value": lambda: gv(xt),
        "manual": lambda: 2 * xt,
        "jax.grad": lambda: jg(xj).block_until_ready(),
        "jax.jit(jax.grad)": lambda: jjg(xj).block_until_ready(),
    }})
print(json.dumps({{"median_us": result, "reps": REPS, "rounds": ROUNDS, "torch": torch.__version__,
                  "jax": jax.__version__}}))
'''


def run(reps: int = REPS, rounds: int = ROUNDS, timeout: float = 120.0) -> dict[str, Any]:
    """Median microseconds per call of each idiom at a scalar and a 1000-vector, with ratios to autograd.

    Returns ``{"median_us": {size: {idiom: us}}, "ratios_to_autograd": {...}, ...}`` or ``{"error": ...}``.
    """
    script = SCRIPT.format(reps=int(reps), rounds=int(rounds), warmup=WARMUP)
    res = sandbox.run_snippet(script, timeout=timeout, preimport=("torch", "jax"))
    if res.status != "ok":
        return {"error": f"{res.status}: {res.reason or res.exception}", "stderr": res.stderr[-2000:]}
    data = json.loads(res.stdout.strip().splitlines()[-1])
    data["ratios_to_autograd"] = {
        size: {k: round(v / row["torch.autograd.grad"], 3) for k, v in row.items()}
        for size, row in data["median_us"].items()
    }
    data["method"] = (f"median over {data['rounds']} interleaved rounds of the median of {data['reps']} timed calls, "
                      f"after {WARMUP} warm-up calls, one fresh process, CPU")
    return data
