"""Evidence for truth/torch_func_ux_limitations.toml (torch 2.13.0+cpu; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/torch_func_ux_limitations.py

Every literal block of the page is run in one namespace, in order, after `from torch.func import vmap` (the page
relies on its `.. currentmodule:: torch.func` and never imports vmap), and its outcome printed; then the prose
claims are probed one by one.
"""

import contextlib
import inspect
import io
import warnings
from pathlib import Path

import torch
from torch.func import grad, hessian, jacfwd, jvp, vmap

warnings.simplefilter("ignore")
DOC = Path(__file__).resolve().parent.parent / "docs" / "torch_func_ux_limitations.rst"
lines = DOC.read_text(encoding="utf-8").split("\n")


def blocks():
    """(first line, code) of every `::` literal block (a line that is `::` followed by an indented block)."""
    i = 0
    while i < len(lines):
        if lines[i].strip() == "::":
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            start, body = j, []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith("  ")):
                body.append(lines[j][2:])
                j += 1
            yield start + 1, "\n".join(body)
            i = j
        else:
            i += 1


ns = {"torch": torch, "vmap": vmap}
for first, code in blocks():
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"block@{first}", "exec"), ns)
        status = "ok"
    except Exception as e:
        status = f"raised {type(e).__name__}: {str(e)[:110]}"
    printed = out.getvalue().replace("\n", "|")
    print(f"block L{first}: {status}" + (f"; printed {printed!r}" if printed else ""))
    if first == 102:
        print(f"  after L102: lst = {ns['lst']} (the page says one element is popped)")
    if first == 307 or first == 318:
        print(f"  after L{first}: result = {ns['result']}")

print("L92 vmap(f)(x) equals torch.stack([f(x_i) ...]) for a pure f:",
      torch.allclose(vmap(torch.sin)(xs := torch.randn(4, 2)), torch.stack([torch.sin(r) for r in xs.unbind(0)])))
print("L65 torch.autograd.grad inside vmap:", end=" ")
try:
    vmap(lambda a: torch.autograd.grad(a.clone().requires_grad_().sin().sum(), a)[0])(torch.randn(3, 2))
    print("ok")
except Exception as e:
    print(type(e).__name__, str(e)[:90])
print("L70-73 torch.func equivalents exist:",
      all(hasattr(torch.func, n) for n in ("vjp", "grad", "jvp", "jacrev", "jacfwd", "hessian")))


def control_flow(x):
    return x.sin() if x.sum() > 0 else x.cos()


probes = {
    "data-dependent if": lambda x: control_flow(x),
    ".item()": lambda x: x * x.sum().item(),
    "nonzero": lambda x: x[torch.nonzero(x > 0).flatten()].sum() * x,
    "random op (default randomness)": lambda x: x + torch.randn(()),
}
for name, fn in probes.items():
    for t in (jacfwd, grad, jvp):
        try:
            if t is jacfwd:
                t(fn)(torch.randn(3))
            elif t is grad:
                t(lambda x, fn=fn: fn(x).sum())(torch.randn(3))
            else:
                t(fn, (torch.randn(3),), (torch.randn(3),))
            res = "ok"
        except Exception as e:
            res = f"{type(e).__name__}: {str(e)[:60]}"
        print(f"L80-83 {t.__name__} over {name}: {res}")
try:
    hessian(lambda x: control_flow(x).sum())(torch.randn(3))
    print("L81 hessian over data-dependent if: ok")
except Exception as e:
    print("L81 hessian over data-dependent if:", type(e).__name__)
try:
    vmap(lambda a: torch.sin(a, out=torch.empty(())))(torch.ones(3))
except Exception as e:
    print("L212 out= under vmap:", type(e).__name__, str(e)[:90])
try:
    vmap(torch.is_nonzero)(torch.ones(3))
except Exception as e:
    print("L277 torch.is_nonzero under vmap:", type(e).__name__, str(e)[:60])
xs2 = torch.tensor([[0, 1, 2], [0, 0, 3]])
print("L286-287 shapes of torch.nonzero(xs[0]) and (xs[1]):", tuple(torch.nonzero(xs2[0]).shape),
      tuple(torch.nonzero(xs2[1]).shape))
print("L299 vmap randomness parameter:", inspect.signature(vmap).parameters["randomness"])
try:
    vmap(lambda a: a + torch.randn(()))(torch.ones(3))
except Exception as e:
    print("L300 random op in 'error' mode:", type(e).__name__, str(e)[:70])
