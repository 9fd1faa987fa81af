"""Evidence for truth/torch_func_whirlwind_tour.toml (torch 2.13.0+cpu; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/torch_func_whirlwind_tour.py
"""

import ast
from pathlib import Path

import torch
from torch.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap

DOC = Path(__file__).resolve().parent.parent / "docs" / "torch_func_whirlwind_tour.rst"
lines = DOC.read_text(encoding="utf-8").split("\n")
torch.manual_seed(0)
x = torch.randn([], dtype=torch.float64)
print("L52 grad(sin) == cos:", torch.allclose(grad(torch.sin)(x), x.cos()))
print("L56 grad(grad(sin)) == -sin:", torch.allclose(grad(grad(torch.sin))(x), -x.sin()))


def model(weights, feature_vec):
    return feature_vec.dot(weights).relu()


def compute_loss(weights, example, target):
    return ((model(weights, example) - target) ** 2).mean()


weights = torch.randn(5, requires_grad=True)
examples, targets = torch.randn(3, 5), torch.randn(3)
batched = vmap(lambda e: model(weights, e))(examples)
print("L86 vmap(model) equals the loop over examples:",
      torch.allclose(batched, torch.stack([model(weights, e) for e in examples])))
examples, targets = torch.randn(3, 5), torch.randn(3)
per_sample = vmap(grad(compute_loss), in_dims=(None, 0, 0))(weights, examples, targets)
loop = torch.stack([torch.autograd.grad(compute_loss(weights, examples[i], targets[i]), weights)[0] for i in range(3)])
print("L108 per-sample grads equal the loop of torch.autograd.grad:", torch.allclose(per_sample, loop))
inputs, cot = torch.randn(3), torch.randn(3)
print("L124 vjp(sin) == cot * cos:", torch.allclose(vjp(torch.sin, inputs)[1](cot)[0], cot * inputs.cos()))
a, b = torch.randn(5), torch.randn(5)
print("L139 jvp of x*y along (1, 1) == x + y:",
      torch.allclose(jvp(lambda x, y: x * y, (a, b), (torch.ones(5), torch.ones(5)))[1], a + b))
print("L130 jvp returns values, not a function:", type(jvp(torch.sin, (a,), (a,))).__name__)
xb = torch.randn(64, 5)
jb = vmap(jacrev(torch.sin))(xb)
print("L162 vmap(jacrev(sin)) equals the loop of diag(cos(row)):",
      torch.allclose(jb, torch.stack([torch.diag(r.cos()) for r in xb])))
print("L163 vmap(jacrev(sin)) shape:", tuple(jb.shape))
print("L172 jacfwd(sin) == diag(cos):", torch.allclose(jacfwd(torch.sin)(a), torch.diag(a.cos())))
for first, last in ((180, 185), (191, 197)):
    block = "\n".join(line[4:] for line in lines[first - 1:last])
    ns = {"torch": torch, "jacrev": jacrev, "jacfwd": jacfwd, "hessian": hessian}
    exec(block, ns)
    f = next(s for s in ast.parse(block).body if isinstance(s, ast.FunctionDef))
    dead = [ast.unparse(s) for s in f.body[1:]]
    print(f"L{first}-{last}: after the block, names defined: {sorted(k for k in ns if not k.startswith('__'))};"
          f" statements after `return` inside f (never run): {dead}")
print("L188 hessian == jacfwd(jacrev):", torch.allclose(hessian(lambda x: x.sin().sum())(a), torch.diag(-a.sin())))
