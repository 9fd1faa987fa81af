"""Evidence for truth/torch_func_migrating.toml (torch 2.13.0+cpu; run from the repo root).

    .nox/tests/bin/python benchmarks/devset/evidence/torch_func_migrating.py
"""

import inspect
import warnings

import functorch
import torch
import torch.func

torch.manual_seed(0)
names = ["vmap", "grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "functionalize"]
print("L30-37 torch.func has:", all(hasattr(torch.func, n) for n in names), "; torch.vmap:", hasattr(torch, "vmap"))
print("L24 functorch.grad forwards to torch.func:", "apis.grad(func, argnums, has_aux)" in inspect.getsource(functorch.grad))
print("L65 torch.func.functional_call, stack_module_state:", hasattr(torch.func, "functional_call"),
      hasattr(torch.func, "stack_module_state"))
print("L139 jacrev argnums default:", inspect.signature(torch.func.jacrev).parameters["argnums"].default)

inputs, targets = torch.randn(64, 3), torch.randn(64, 3)
model = torch.nn.Linear(3, 3)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fmodel, params = functorch.make_functional(model)
    old = functorch.grad(lambda p: torch.nn.functional.mse_loss(fmodel(p, inputs), targets))(params)
print("L92/L98 functorch warns:", sorted({f"{w.category.__name__}: {str(w.message)[:95]}" for w in caught}))
named = dict(model.named_parameters())
print("L144 named_parameters() does not copy:", named["weight"] is model.weight)
new = torch.func.grad(lambda p: torch.nn.functional.mse_loss(torch.func.functional_call(model, p, (inputs,)),
                                                             targets))(named)
loss = torch.nn.functional.mse_loss(model(inputs), targets)
ref = torch.autograd.grad(loss, [model.weight, model.bias])
print("L98 functorch.grad equals torch.autograd.grad:", all(torch.allclose(a, b) for a, b in zip(old, ref)))
print("L114 torch.func.grad equals torch.autograd.grad:",
      torch.allclose(new["weight"], ref[0]) and torch.allclose(new["bias"], ref[1]))
jac_old = functorch.jacrev(fmodel)(params, inputs)
jac_new = torch.func.jacrev(lambda p, x: torch.func.functional_call(model, p, x), argnums=0)(named, (inputs,))
print("L127/L141 jacobians agree (weight, bias):", torch.allclose(jac_old[0], jac_new["weight"]),
      torch.allclose(jac_old[1], jac_new["bias"]), tuple(jac_new["weight"].shape))
# d(out[n, i])/d(bias[j]) = delta_ij: the bias Jacobian is the identity for every sample
print("L141 bias Jacobian is the identity per sample:", torch.allclose(jac_new["bias"], torch.eye(3).expand(64, 3, 3)))

models = [torch.nn.Linear(3, 3) for _ in range(5)]
data = torch.randn(64, 3)
loop = torch.stack([m(data) for m in models])
fm, p, b = functorch.combine_state_for_ensemble(models)
out_old = functorch.vmap(fm, (0, 0, None))(p, b, data)
params_s, buffers_s = torch.func.stack_module_state(models)
print("L160 stack_module_state returns two dicts:", type(params_s).__name__, type(buffers_s).__name__)
base = torch.nn.Linear(3, 3).to("meta")
out_new = torch.vmap(lambda p, b, d: torch.func.functional_call(base, (p, b), (d,)), (0, 0, None))(params_s, buffers_s,
                                                                                                  data)
print("L178/L198 ensembles equal the loop over models:", torch.allclose(out_old, loop), torch.allclose(out_new, loop),
      tuple(out_new.shape))
