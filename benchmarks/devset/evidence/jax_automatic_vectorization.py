"""Evidence for truth/jax_automatic_vectorization.toml (jax 0.10.2, CPU; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/jax_automatic_vectorization.py
"""

import jax
import jax.numpy as jnp
from _myst import run_cells

ns = run_cells("jax_automatic_vectorization.md")
xs, ws, w = ns["xs"], ns["ws"], ns["w"]
loop = ns["manually_batched_convolve"](xs, ws)
print("L59/L62 the loop over the batch equals convolve per row:",
      all(bool(jnp.allclose(loop[i], ns["convolve"](xs[i], ws[i]))) for i in range(2)))
print("L75 manually vectorized equals the loop:", bool(jnp.allclose(ns["manually_vectorized_convolve"](xs, ws), loop)))
print("L87 vmap equals the loop:", bool(jnp.allclose(ns["auto_batch_convolve"](xs, ws), loop)))
print("L100 in_axes=1, out_axes=1 equals the loop, transposed:",
      bool(jnp.allclose(ns["auto_batch_convolve_v2"](ns["xst"], ns["wst"]), loop.T)))
print("L108 in_axes=[0, None] equals convolving each row with w:",
      bool(jnp.allclose(ns["batch_convolve_v3"](xs, w), jnp.stack([ns["convolve"](r, w) for r in xs]))))
print("L118 jit(vmap) equals the loop:", bool(jnp.allclose(ns["jitted_batch_convolve"](xs, ws), loop)))
print("L113 vmap(jit) works too:", bool(jnp.allclose(jax.vmap(jax.jit(ns["convolve"]))(xs, ws), loop)))
pts = jax.random.normal(jax.random.key(1), (4, 3))
D = ns["pairwise"](lambda a, b: jnp.linalg.norm(a - b), pts)
print("L132 pairwise(dist, xs) is M x M with D[i, j] = dist(x_i, x_j):", D.shape,
      bool(jnp.allclose(D[1, 2], jnp.linalg.norm(pts[1] - pts[2]))))
