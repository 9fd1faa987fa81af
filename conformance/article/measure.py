"""Timing of gradient idioms for the performance claims: medians of repeated calls, and ratios.

The timing runs in its own fresh interpreter (through the sandbox, with torch and jax pre-imported), so the
checker's process never imports torch or jax and the numbers are not disturbed by other work in this process.
Each idiom is warmed up, then timed call by call; the median is robust to the odd slow call on a shared machine.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.article import sandbox

IDIOMS = ("torch.autograd.grad", "torch.func.grad", "torch.func.grad_and_value", "manual", "jax.grad",
          "jax.jit(jax.grad)")

SCRIPT = r'''
import json, statistics, time
import torch, torch.func, jax, jax.numpy as jnp
REPS = {reps}
def f(x):
    return (x * x).sum()
def timed(call):
    for _ in range(20):
        call()
    out = []
    for _ in range(REPS):
        t = time.perf_counter_ns(); call(); out.append(time.perf_counter_ns() - t)
    return statistics.median(out) / 1e3
result = {{}}
for label, n in (("scalar", None), ("vector1000", 1000)):
    xt = torch.tensor(2.0) if n is None else torch.linspace(0, 1, n)
    xr = xt.clone().requires_grad_(True)
    xj = jnp.array(2.0) if n is None else jnp.linspace(0, 1, n)
    g, gv, jg, jjg = torch.func.grad(f), torch.func.grad_and_value(f), jax.grad(f), jax.jit(jax.grad(f))
    result[label] = {{
        "torch.autograd.grad": timed(lambda: torch.autograd.grad(f(xr), xr)),
        "torch.func.grad": timed(lambda: g(xt)),
        "torch.func.grad_and_value": timed(lambda: gv(xt)),
        "manual": timed(lambda: 2 * xt),
        "jax.grad": timed(lambda: jg(xj).block_until_ready()),
        "jax.jit(jax.grad)": timed(lambda: jjg(xj).block_until_ready()),
    }}
print(json.dumps({{"median_us": result, "reps": REPS, "torch": torch.__version__, "jax": jax.__version__}}))
'''


def run(reps: int = 300, timeout: float = 120.0) -> dict[str, Any]:
    """Median microseconds per call of each idiom at a scalar and a 1000-vector, with ratios to autograd.

    Returns ``{"median_us": {size: {idiom: us}}, "ratios_to_autograd": {...}, ...}`` or ``{"error": ...}``.
    """
    res = sandbox.run_snippet(SCRIPT.format(reps=int(reps)), timeout=timeout, preimport=("torch", "jax"))
    if res.status != "ok":
        return {"error": f"{res.status}: {res.reason or res.exception}", "stderr": res.stderr[-2000:]}
    data = json.loads(res.stdout.strip().splitlines()[-1])
    data["ratios_to_autograd"] = {
        size: {k: round(v / row["torch.autograd.grad"], 3) for k, v in row.items()}
        for size, row in data["median_us"].items()
    }
    data["method"] = f"median of {data['reps']} timed calls after 20 warm-up calls, one fresh process, CPU"
    return data
