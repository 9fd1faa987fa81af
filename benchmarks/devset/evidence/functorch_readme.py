"""Evidence for truth/functorch_readme.toml (torch 2.13.0+cpu, whose wheel ships `functorch`; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/functorch_readme.py

Runs every ```py fence of the README in one namespace, in order, recording warnings, then checks values.
"""

import contextlib
import io
import re
import warnings
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parent.parent / "docs" / "functorch_readme.md"
text = DOC.read_text(encoding="utf-8")
ns: dict = {}
for m in re.finditer(r"^```py\n(.*?)^```", text, re.S | re.M):
    first = text[: m.start()].count("\n") + 2
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            exec(compile(m.group(1), f"fence@{first}", "exec"), ns)
            status = "ok"
        except Exception as e:
            status = f"raised {type(e).__name__}: {e}"
    deprecated = sorted({re.search(r"`(functorch\.\w+)`", str(w.message)).group(1) for w in caught
                         if "is deprecated as of PyTorch 2.0" in str(w.message)})
    print(f"fence L{first}: {status}" + (f"; FutureWarning: {', '.join(deprecated)} deprecated" if deprecated else ""))
    if first == 277:
        print("  printed by L282:", out.getvalue().strip().replace("\n", "\n  | "))

from functorch import grad, jacfwd, jacrev, make_functional, vmap  # noqa: E402

warnings.simplefilter("ignore")

x = torch.randn(5)
print("L66/L117 vmap(sin) equals sin:", torch.allclose(vmap(torch.sin)(x), x.sin()))
model = torch.nn.Linear(3, 3)
data, targets = torch.randn(8, 3), torch.randn(8, 3)
fmodel, params = make_functional(model)
psg = vmap(grad(lambda p, d, t: torch.mean((fmodel(p, d) - t) ** 2)), (None, 0, 0))(params, data, targets)
loop = [torch.autograd.grad(torch.mean((model(data[i]) - targets[i]) ** 2), list(model.parameters())) for i in range(8)]
print("L327 per-sample grads equal the loop:", all(torch.allclose(psg[k][i], loop[i][k]) for i in range(8) for k in (0, 1)))
print("L305 make_functional returns (functional model, params):", type(fmodel).__name__, [tuple(p.shape) for p in params])
h = torch.randn(5)
f = ns["f"]
print("L258/L259/L270 Hessians equal diag(-sin):", torch.allclose(jacrev(jacrev(f))(h), torch.diag(-h.sin())),
      torch.allclose(jacfwd(jacrev(f))(h), torch.diag(-h.sin())))
print("L338/L339 names exist:", hasattr(torch._C._functorch, "dump_tensor"),
      hasattr(torch._C._functorch, "_set_vmap_fallback_warning_enabled"))
