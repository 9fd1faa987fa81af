"""Evidence for truth/mlx_function_transforms.toml: the page's examples with `import mlx.core as mx` (run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/mlx_function_transforms.py
"""

import timeit

import mlx.core as mx

print("L20 dfdx(pi):", repr(mx.grad(mx.sin)(mx.array(mx.pi))))
print("L22 cos(pi):", repr(mx.cos(mx.array(mx.pi))))
print("L33 d2fdx2(pi/2):", repr(mx.grad(mx.grad(mx.sin))(mx.array(mx.pi / 2))))
print("L35 sin(pi/2):", repr(mx.sin(mx.array(mx.pi / 2))))


def loss_fn(w, x, y):
    return mx.mean(mx.square(w * x - y))


w, x, y = mx.array(1.0), mx.array([0.5, -0.5]), mx.array([1.5, -1.5])
print("L79 dloss_dw:", mx.grad(loss_fn)(w, x, y))
print("L85 dloss_dx:", mx.grad(loss_fn, argnums=1)(w, x, y))
# Finite differences of loss_fn (it is a quadratic: central differences are exact up to rounding).
h = 1e-2
print("FD dloss_dw:", (loss_fn(w + h, x, y) - loss_fn(w - h, x, y)) / (2 * h))
loss, dloss_dw = mx.value_and_grad(loss_fn)(w, x, y)
print("L100 loss:", loss, "L103 dloss_dw:", dloss_dw)


def loss_fn2(params, x, y):
    w, b = params["weight"], params["bias"]
    return mx.mean(mx.square(w * x + b - y))


print("L131 grads:", mx.grad(loss_fn2)({"weight": mx.array(1.0), "bias": mx.array(0.0)}, x, y))
print("L136 stop_gradient:", mx.grad(lambda a: mx.stop_gradient(a) * a)(mx.array(2.0)))
try:
    mx.vmap(lambda a: mx.linalg.qr(a, stream=mx.cpu))(mx.random.normal((2, 3, 3)))
except Exception as e:
    print("L152 an op without a vmap rule raises:", type(e).__name__, e)

xs = mx.random.uniform(shape=(4096, 100))
ys = mx.random.uniform(shape=(100, 4096))


def naive_add(xs, ys):
    return [xs[i] + ys[:, i] for i in range(xs.shape[0])]


vmap_add = mx.vmap(lambda x, y: x + y, in_axes=(0, 1))
out = vmap_add(xs, ys)
print("L172 in_axes=(0, 1) maps axis 0 of xs (shape", xs.shape, ") and axis 1 of ys (shape", ys.shape, "):",
      "result", out.shape, "equals naive_add:", mx.allclose(mx.stack(naive_add(xs, ys)), out).item())
print("L191 xs + ys.T equals it:", mx.allclose(xs + ys.T, out).item())
print("L184 naive 100x (s):", timeit.timeit(lambda: mx.eval(naive_add(xs, ys)), number=100))
print("L185 vmap 100x (s):", timeit.timeit(lambda: mx.eval(vmap_add(xs, ys)), number=100))
