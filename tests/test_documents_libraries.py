"""Every library the document checker intercepts catches a planted wrong derivative, and passes an honest one.

One document per library, each with a custom derivative rule written wrong on purpose (the library computes what
its rule says, so only the host's finite differences can tell) next to the same call done right.  A library whose
installer stopped intercepting (a renamed transform, a module the wrapper misses) makes its claims vanish, and the
test fails on the missing claim, not only on a wrong verdict.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from conformance.claims.documents import cli, registry

TWICE = """
        class Twice(torch.autograd.Function):
            @staticmethod
            def forward(x):
                return torch.sin(x)

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * g * torch.cos(x)  # wrong: twice the derivative
"""
"""A torch rule written wrong on purpose: the library computes what it says, only finite differences can tell."""

DOCS = {
    "torch": """
        import torch
        from torch.func import grad
"""
    + TWICE + """

        x = torch.tensor([0.3, 0.7])
        right = grad(lambda v: torch.sin(v).sum())(x)
        wrong = grad(lambda v: Twice.apply(v).sum())(x)
        """,
    "functorch": """
        import torch
        import functorch

        x = torch.tensor([0.3, 0.7])
        right = functorch.grad(lambda v: torch.sin(v).sum())(x)
        wrong = functorch.grad(lambda v: (v.detach() * v).sum())(x)
        """,
    "jax": """
        import jax
        import jax.numpy as jnp

        @jax.custom_jvp
        def f(x):
            return jnp.sin(x)

        f.defjvp(lambda p, t: (jnp.sin(p[0]), 2 * jnp.cos(p[0]) * t[0]))  # wrong: twice the derivative
        x = jnp.array([0.3, 0.7])
        right = jax.grad(lambda v: jnp.sum(jnp.sin(v)))(x)
        wrong = jax.grad(lambda v: jnp.sum(f(v)))(x)
        """,
    "mlx": """
        import mlx.core as mx

        @mx.custom_function
        def f(x):
            return mx.sin(x)

        @f.vjp
        def f_vjp(primals, cotangent, output):
            return 2 * cotangent * mx.cos(primals)  # wrong: twice the derivative

        x = mx.array([0.3, 0.7])
        right = mx.grad(lambda v: mx.sum(mx.sin(v)))(x)
        wrong = mx.grad(lambda v: mx.sum(f(v)))(x)
        """,
    "autograd": """
        import autograd.numpy as anp
        from autograd import grad
        from autograd.extend import defvjp, primitive

        @primitive
        def f(x):
            return anp.sin(x)

        defvjp(f, lambda ans, x: lambda g: 2 * g * anp.cos(x))  # wrong: twice the derivative
        x = anp.array([0.3, 0.7])
        right = grad(lambda v: anp.sum(anp.sin(v)))(x)
        wrong = grad(lambda v: anp.sum(f(v)))(x)
        """,
}
NEEDS = {"functorch": "functorch", "mlx": "mlx.core"}


def _available(name: str) -> bool:
    module = NEEDS.get(name, name)
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("library", sorted(DOCS))
def test_a_planted_wrong_derivative_is_false_and_the_honest_one_true(library: str, tmp_path: Path) -> None:
    if not _available(library):
        pytest.skip(f"{library} is not installed here")
    code = textwrap.dedent(DOCS[library]).strip()
    path = tmp_path / f"{library}.md"
    path.write_text(f"# {library}\n\n```python\n{code}\n```\n", encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    right = next(i for i, t in enumerate(lines, 1) if t.startswith("right ="))
    wrong = next(i for i, t in enumerate(lines, 1) if t.startswith("wrong ="))
    [result] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    claims = {c["line"]: c for c in result["claims"] if c["kind"] == "derivative-correct"}
    assert result["status"] == "ok", result["reason"]
    assert claims.get(right, {}).get("verdict") == "true", (library, claims.get(right))
    verdict = claims.get(wrong, {}).get("verdict")
    # A function that stops gradients on purpose is reported, not blamed (the functorch case).
    assert verdict == "false" or (verdict == "unverifiable" and "stops gradients" in claims[wrong]["reason"]), (
        library, claims.get(wrong))
    assert "disagrees" in claims[wrong]["reason"], claims[wrong]["reason"]


NESTED = {
    "torch": """
        import torch
        from torch.func import grad, vmap
"""
    + TWICE + """

            @staticmethod
            def vmap(info, in_dims, x):
                return Twice.apply(x), in_dims[0]

        xs = torch.tensor([[0.3, 0.7], [0.1, 0.2], [0.5, 0.9]])
        wrong = vmap(grad(lambda v: Twice.apply(v).sum()))(xs)
        """,
    "jax": """
        import jax
        import jax.numpy as jnp

        @jax.custom_jvp
        def f(x):
            return jnp.sin(x)

        f.defjvp(lambda p, t: (jnp.sin(p[0]), 2 * jnp.cos(p[0]) * t[0]))  # wrong: twice the derivative
        xs = jnp.array([[0.3, 0.7], [0.1, 0.2], [0.5, 0.9]])
        wrong = jax.jit(jax.vmap(jax.grad(lambda v: jnp.sum(f(v)))))(xs)
        """,
}


@pytest.mark.parametrize("library", sorted(NESTED))
def test_a_wrong_derivative_inside_vmap_and_jit_is_caught_at_one_example(library: str, tmp_path: Path) -> None:
    """vmap's loop identity holds for a wrong grad (the loop runs the same wrong grad), and jit hides the call's
    numbers from an inner wrapper: only checking the inner transform at one example of the batch, at the compiled
    call's concrete inputs, finds it."""
    code = textwrap.dedent(NESTED[library]).strip()
    path = tmp_path / f"nested_{library}.md"
    path.write_text(f"# nested\n\n```python\n{code}\n```\n", encoding="utf-8")
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if t.startswith("wrong ="))
    [result] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    claims = [c for c in result["claims"] if c["kind"] == "derivative-correct" and c["line"] == line]
    loop = [c for c in claims if "example 0" not in c["reason"]]
    inner = [c for c in claims if "example 0" in c["reason"]]
    assert [c["verdict"] for c in loop] == ["true"], claims  # the loop identity cannot see it
    assert [c["verdict"] for c in inner] == ["false"], claims


def test_vmap_with_randomness_is_not_held_to_the_loop(tmp_path: Path) -> None:
    """torch.func's UX page: ``vmap(add_noise, randomness="different")`` draws per example on purpose; a loop over
    the batch draws other numbers, so the loop identity says nothing (it was a false 'disagrees')."""
    code = ("import torch\nfrom torch.func import vmap\n\ndef add_noise(x):\n    return x + torch.randn(())\n\n"
            "x = torch.ones(3)\nresult = vmap(add_noise, randomness='different')(x)\n"
            "same = vmap(add_noise, randomness='same')(x)\nplain = vmap(torch.sin)(x)\n")
    path = tmp_path / "random.md"
    path.write_text(f"# r\n\n```python\n{code}```\n", encoding="utf-8")
    [result] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    verdicts = {c["line"]: c for c in result["claims"] if c["kind"] == "derivative-correct"}
    assert verdicts[11]["verdict"] == "unverifiable" and "randomness='different'" in verdicts[11]["reason"]
    assert verdicts[12]["verdict"] == "unverifiable" and verdicts[13]["verdict"] == "true"


CLIPPED = """
# Gradient clipping

A custom VJP can clip the gradient on the way back, so what grad returns is deliberately not the derivative.

```python
import jax
import jax.numpy as jnp

@jax.custom_vjp
def clip_gradient(x):
    return x

def clip_fwd(x):
    return x, None

def clip_bwd(res, g):
    return (jnp.clip(g, -0.5, 0.5),)

clip_gradient.defvjp(clip_fwd, clip_bwd)
clipped = jax.grad(lambda x: jnp.sum(3.0 * clip_gradient(x)))(jnp.array([1.0, 2.0]))
```
"""


def test_a_rule_the_page_says_clips_the_gradient_is_not_a_finding(tmp_path: Path) -> None:
    """JAX's own pages teach gradient clipping with custom_vjp: the disagreement with finite differences is the
    lesson.  The same rule on a page that says nothing of the kind stays false (the planted faults above)."""
    path = tmp_path / "clip.md"
    path.write_text(CLIPPED, encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    [claim] = [c for c in rec["claims"] if c["kind"] == "derivative-correct"]
    assert claim["verdict"] == "unverifiable" and "changes the gradient" in claim["reason"], claim
    plain = CLIPPED.replace("# Gradient clipping", "# Custom rules").replace(
        "clip the gradient on the way back, so what grad returns is deliberately not the derivative",
        "compute the gradient")
    path.write_text(plain, encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    [claim] = [c for c in rec["claims"] if c["kind"] == "derivative-correct"]
    assert claim["verdict"] == "false", claim


def test_a_registered_pytree_of_parameters_is_differentiated_leaf_by_leaf(tmp_path: Path) -> None:
    """Pages keep parameters in registered containers (a dataclass JAX knows, flax's structs): their leaves are
    found through jax.tree_util, so the gradient is checked instead of being 'no input to differentiate'."""
    code = textwrap.dedent("""
        import dataclasses
        import jax
        import jax.numpy as jnp

        @jax.tree_util.register_dataclass
        @dataclasses.dataclass
        class Params:
            w: jax.Array
            b: jax.Array

        def loss(p, x):
            return jnp.sum(jnp.tanh(x @ p.w + p.b))

        g = jax.grad(loss)(Params(jnp.ones((3, 2)) * 0.1, jnp.zeros(2)), jnp.arange(3.0))
        """).strip()
    path = tmp_path / "pytree.md"
    path.write_text(f"# p\n\n```python\n{code}\n```\n", encoding="utf-8")
    [rec] = cli.check(registry.read(str(path)), timeout=120, jobs=1, run_skipped=False)
    [claim] = [c for c in rec["claims"] if c["kind"] == "derivative-correct"]
    assert claim["verdict"] == "true" and claim["evidence"]["size"] == 8, claim
