"""Evidence for truth/autograd_tutorial.toml (autograd 1.9.1, numpy 2.4; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/autograd_tutorial.py

The xarray example (lines 149-175) needs xarray, which the project's environment lacks; it was run apart with
xarray 2026.9.0 and pandas 3.1.1 installed into a scratch directory (PYTHONPATH=that directory): it printed
'loss: 4.121565275236794' and 'grad: [ 0.74518597 -1.30965989  0.81379677]', and the gradient by hand,
sum over time of 2 tanh(m w) (1 - tanh(m w)^2) m, is the same.
"""

import ast
from pathlib import Path

import autograd
import autograd.numpy as np
import autograd.scipy.special
import numpy as onp
import scipy.special
from autograd import elementwise_grad, grad, holomorphic_grad, jacobian
from autograd.builtins import isinstance as ag_isinstance
from autograd.extend import defvjp, primitive

DOC = Path(__file__).resolve().parent.parent / "docs" / "autograd_tutorial.md"
lines = DOC.read_text(encoding="utf-8").split("\n")
for n in (39, 279):
    try:
        ast.parse(lines[n - 1].strip())
        print(f"L{n} parses")
    except SyntaxError as e:
        print(f"L{n} SyntaxError: {e.msg}")


def taylor_sine(x):
    ans = currterm = x
    i = 0
    while np.abs(currterm) > 0.001:
        currterm = -currterm * x**2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        i += 1
    return ans


h = 1e-6
print("L38 grad(taylor_sine)(pi):", grad(taylor_sine)(np.pi), "central difference:",
      (taylor_sine(np.pi + h) - taylor_sine(np.pi - h)) / (2 * h))


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1)


inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
targets = np.array([True, True, False, True])


def training_loss(weights):
    preds = sigmoid(np.dot(inputs, weights))
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


w0 = onp.array([0.3, -0.2, 0.5])
fd = [(training_loss(w0 + h * e) - training_loss(w0 - h * e)) / (2 * h) for e in onp.eye(3)]
print("L73 grad(training_loss) vs central differences:", onp.allclose(grad(training_loss)(w0), fd, rtol=1e-6))
print("L20 grad of a vector output:", end=" ")
try:
    grad(np.sin)(np.ones(2))
except TypeError as e:
    print("TypeError:", e)
print("L100 autograd.tracer.Box:", autograd.tracer.Box.__name__)
print("L117 hessian_vector_product:", hasattr(autograd, "hessian_vector_product"))
print("L133 tuple of tuples input:", grad(lambda t: t[0] * t[1][0])((2.0, (3.0,))))
print("L135 elementwise_grad, jacobian:", elementwise_grad(np.sin)(np.zeros(2)), jacobian(np.sin)(np.zeros(2)).shape)


def assign(x):
    a = np.zeros(3)
    a[0] = x
    return np.sum(a)


for label, fn, arg in (
    ("L189 assignment A[0] = x", assign, 1.0),
    ("L192 A.dot(B)", lambda a: np.sum(a.dot(np.ones(3))), np.eye(3)),
    ("L218 np.sum([x, y]) (y = 2x)", lambda x: np.sum([x, 2.0 * x]), 1.5),
    ("L218 np.sum(np.array([x, y]))", lambda x: np.sum(np.array([x, 2.0 * x])), 1.5),
):
    try:
        print(f"{label}: gradient {grad(fn)(arg)}")
    except Exception as e:
        print(f"{label}: {type(e).__name__}: {str(e)[:80]}")


def probe(x):
    print("L194 isinstance(box, np.ndarray):", isinstance(x, np.ndarray), "; autograd.builtins.isinstance:",
          ag_isinstance(x, np.ndarray))
    return np.sum(x)


grad(probe)(np.ones(2))
print("L232 autograd.scipy.special.logsumexp has a gradient:", grad(autograd.scipy.special.logsumexp)(np.zeros(3)))


@primitive
def logsumexp(x):
    max_x = np.max(x)
    return max_x + np.log(np.sum(np.exp(x - max_x)))


def logsumexp_vjp(ans, x):
    x_shape = x.shape
    return lambda g: np.full(x_shape, g) * np.exp(x - np.full(x_shape, ans))


defvjp(logsumexp, logsumexp_vjp)
y0 = np.array([1.5, 6.7, 1e-10])
got = grad(lambda y: np.sum(logsumexp(y**2)))(y0)
fd = [(scipy.special.logsumexp((y0 + h * e) ** 2) - scipy.special.logsumexp((y0 - h * e) ** 2)) / (2 * h)
      for e in onp.eye(3)]
print("L255/L279 custom VJP gradient:", got, "central differences:", onp.round(fd, 6))
print("L308 grad of a holomorphic function (sin at 1+1j):", end=" ")
try:
    grad(np.sin)(1.0 + 1.0j)
except TypeError as e:
    print("TypeError:", e)
print("L308 holomorphic_grad(sin)(1+1j):", holomorphic_grad(np.sin)(1.0 + 1.0j), "cos(1+1j):", np.cos(1.0 + 1.0j))
z = 1.0 + 2.0j
print("L310-312 grad(|z|^2) at 1+2j:", grad(lambda z: np.abs(z) ** 2)(z), "(its conjugate is 2z, the ascent direction)")
x3 = np.arange(3.0)
print("L313-316 real-to-real through fft:", grad(lambda x: np.sum(np.real(np.fft.ifft(np.fft.fft(x))) ** 2))(x3),
      "expected", 2 * x3)
