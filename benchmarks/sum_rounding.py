"""How far float32 jvps of a long sum land from the float64 NumPy reference (the tolerance policy's figures).

    python benchmarks/sum_rounding.py [N ...]        (default: 2048 16384 65536)

For ``f(x) = sum(sin(x))`` (the catalog's ``sin_sum``) over N float32 entries, 20 draws each of two kinds:
``random`` (x in [-2, 2], tangents in [-1, 1], the battery's domains) and ``cancelling`` (the same domains,
the second half repeating the first half's terms negated, so the exact jvp is 0).  For torch and JAX it
prints the absolute error in float32 eps, the relative error (to |expected|) in eps, and the share of
the unscaled and the size-scaled ``first`` bound used (above 1 fails).  Quoted in ``conformance/battery/tolerances.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.jax_api import JaxApi
from backends.numpy_reference import NumpyReference
from backends.torch_func import TorchFunc
from conformance.battery.catalog import CATALOG
from conformance.battery.tolerances import BASE_SIZE, EPS, tolerance

DRAWS = 20


def draw(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "random":
        x, t = rng.uniform(-2, 2, n), rng.uniform(-1, 1, n)
    else:
        h = n // 2  # drawn as tests/test_tolerance_scaling.py draws them
        x1, t1, order = rng.uniform(-2, 2, h), rng.uniform(-1, 1, h), rng.permutation(h)
        x, t = np.concatenate([x1, x1[order]]), np.concatenate([t1, -t1[order]])
    return tuple(np.asarray(a, np.float32).astype(np.float64) for a in (x, t))  # type: ignore[return-value]


def main(sizes: list[int]) -> None:
    entry = next(e for e in CATALOG if e.name == "sin_sum")
    ref = NumpyReference()
    libraries = [TorchFunc(), JaxApi()]
    for b in libraries:
        b.setup()
    eps = EPS["float32"]
    for n in sizes:
        for kind in ("random", "cancelling"):
            for b in libraries:
                rows = []
                for seed in range(DRAWS):
                    x, t = draw(kind, n, seed)
                    _, got = b.jvp(entry.bind(b.xp), (b.asarray(x, "float32"),), (b.asarray(t, "float32"),))
                    _, want = ref.jvp(entry.bind(ref.xp), (ref.asarray(x, "float64"),), (ref.asarray(t, "float64"),))
                    want = float(np.asarray(want))
                    err = abs(float(b.to_numpy(got)) - want)
                    used = [err / (tol.atol + tol.rtol * abs(want))
                            for tol in (tolerance("float32", "first", "complex_step", size=s) for s in (BASE_SIZE, n))]
                    rows.append((err / eps, err / eps / max(abs(want), 1e-300), *used))
                a = np.array(rows)
                print(f"n={n:<7} {kind:<10} {b.name:<6} abs err eps: median {np.median(a[:, 0]):6.1f} max {a[:, 0].max():6.1f}"
                      f" | rel err eps: median {np.median(a[:, 1]):8.2g} | unscaled bound used: max {a[:, 2].max():.2f}"
                      f" ({int((a[:, 2] > 1).sum())}/{DRAWS} fail) | scaled: max {a[:, 3].max():.3f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2048, 16384, 65536])
