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

from typing import Any

from conformance.claims.article import idiom_timing, sandbox

ROUNDS = 7
REPS = 50
WARMUP = 10
IDIOMS = ("torch.autograd.grad", "torch.func.grad", "torch.func.grad_and_value", "manual", "jax.grad",
          "jax.jit(jax.grad)")



def run(reps: int = REPS, rounds: int = ROUNDS, timeout: float = 120.0) -> dict[str, Any]:
    """Median microseconds per call of each idiom at a scalar and a 1000-vector, with ratios to autograd.

    Returns ``{"median_us": {size: {idiom: us}}, "ratios_to_autograd": {...}, ...}`` or ``{"error": ...}``.
    """
    script = ("from conformance.claims.article import idiom_timing\n"
              f"idiom_timing.main({int(reps)}, {int(rounds)}, {WARMUP}, globals().pop('__report__'))\n")
    res = sandbox.run_snippet(script, timeout=timeout, preimport=("torch", "jax", "conformance.claims.article.idiom_timing"),
                              records=(idiom_timing.RECORD,))
    if res.status != "ok":
        return {"error": f"{res.status}: {res.reason or res.exception}", "stderr": res.stderr[-2000:]}
    sent = [r for r in res.records if r.get("type") == idiom_timing.RECORD]
    if len(sent) != 1:
        return {"error": f"the timing run sent {len(sent)} result records, not one", "stderr": res.stderr[-2000:]}
    data = {k: v for k, v in sent[0].items() if k != "type"}
    data["ratios_to_autograd"] = {
        size: {k: round(v / row["torch.autograd.grad"], 3) for k, v in row.items()}
        for size, row in data["median_us"].items()
    }
    data["method"] = (f"median over {data['rounds']} interleaved rounds of the median of {data['reps']} timed calls, "
                      f"after {WARMUP} warm-up calls, one fresh process, CPU")
    return data
