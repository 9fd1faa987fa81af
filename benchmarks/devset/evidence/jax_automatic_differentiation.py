"""Evidence for truth/jax_automatic_differentiation.toml (jax 0.10.2, CPU; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/jax_automatic_differentiation.py

Runs the page's cells as written (float32), then checks each derivative against central differences of the
page's own function in float64.
"""

import jax
import jax.numpy as jnp
import numpy as np
from _myst import run_cells

ns = run_cells("jax_automatic_differentiation.md")
jax.config.update("jax_enable_x64", True)
h = 1e-5


def cd(f, x, d):
    return (f(x + h * d) - f(x - h * d)) / (2 * h)


t = jnp.tanh
d1 = lambda x: cd(t, x, 1.0)  # noqa: E731
d2 = lambda x: (d1(x + 1e-3) - d1(x - 1e-3)) / 2e-3  # noqa: E731
print("L44 grad(tanh)(2):", float(jax.grad(t)(2.0)), "1 - tanh(2)^2:", float(1 - jnp.tanh(2.0) ** 2))
print("L52 grad^2(tanh)(2):", float(jax.grad(jax.grad(t))(2.0)), "central differences:", float(d2(2.0)))
print("L53 grad^3(tanh)(2):", float(jax.grad(jax.grad(jax.grad(t)))(2.0)), "by hand -2 sech^2 (1 - 3 tanh^2):",
      float(-2 / jnp.cosh(2.0) ** 2 * (1 - 3 * jnp.tanh(2.0) ** 2)))
f = ns["f"]
print("L89-92 f', f'', f''', f'''' at 1 by hand:", 3 + 4 - 3, 6 + 4, 6, 0)

inputs = jnp.asarray(np.asarray(ns["inputs"]), jnp.float64)
targets = jnp.asarray(np.asarray(ns["targets"]))
W = jnp.asarray(np.asarray(ns["W"]), jnp.float64)
b = jnp.asarray(np.asarray(ns["b"]), jnp.float64)


def loss(W, b):
    preds = 0.5 * (jnp.tanh((jnp.dot(inputs, W) + b) / 2) + 1)
    return -jnp.sum(jnp.log(preds * targets + (1 - preds) * (1 - targets)))


fd_W = np.array([cd(lambda w: loss(w, b), W, e) for e in np.eye(3)])
fd_b = cd(lambda v: loss(W, v), b, 1.0)
gW, gb = jax.grad(loss, (0, 1))(W, b)
print("L143-L155 W_grad (float64) vs central differences:", np.allclose(gW, fd_W, rtol=1e-6), gW)
print("L151 b_grad (float64) vs central differences:", np.allclose(gb, fd_b, rtol=1e-6), float(gb))
print("L143 the page's float32 W_grad equals the float64 one:", np.allclose(np.asarray(ns["W_grad"]), gW, rtol=1e-5))
print("L193 value_and_grad value equals loss:", float(ns["loss_value"]) == float(ns["loss"](ns["W"], ns["b"])))
