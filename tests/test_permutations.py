"""Permutation rows draw permutations that are not their own inverse, so a reverse rule that applies the
permutation instead of its inverse fails the gate.

The pullback of y = x[p] scatters the cotangent back by p (it gathers by p's inverse).  Gathering by p is
the same thing when p is an involution (the identity, swaps), so such a fault passes every check that draws
one.  sort's permutation is drawn with its input (``Entry.construct`` spreads the values and orders them by a
non-involution); roll's shift of 1 on 4 entries and permute_dims' (2, 0, 1) are fixed cycles of length 4
and 3.  flip is an involution whatever is drawn, so the fault cannot exist there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from conformance.battery import strategies
from conformance.battery.functions import FUNCTIONS, FUNCTIONS_TABLE, involution

torch = pytest.importorskip("torch")

from backends.numpy_reference import NumpyReference  # noqa: E402
from backends.torch_func import TorchFunc  # noqa: E402
from tests.library_faults import _Namespace  # noqa: E402
from tests.test_planted_faults import gate_cases, run_case  # noqa: E402


class _SortGathers(torch.autograd.Function):
    """sort whose reverse rule gathers the cotangent by the sorting permutation instead of scattering it."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Any) -> Any:
        return torch.sort(x, dim=-1).values

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        idx = torch.argsort(inputs[0], dim=-1, stable=True)
        ctx.save_for_backward(idx)
        ctx.save_for_forward(idx)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (idx,) = ctx.saved_tensors
        return g.gather(-1, idx)  # right: torch.zeros_like(g).scatter(-1, idx, g)

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        (idx,) = ctx.saved_tensors
        return t.gather(-1, idx)


class _RollSameShift(torch.autograd.Function):
    """roll whose reverse rule rolls the cotangent forward again (by +shift, not -shift)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Any, shift: int) -> Any:
        return torch.roll(x, shift, -1)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.shift = inputs[1]

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, None]:
        return torch.roll(g, ctx.shift, -1), None  # right: -ctx.shift

    @staticmethod
    def jvp(ctx: Any, t: Any, _: Any) -> Any:
        return torch.roll(t, ctx.shift, -1)


class _PermuteSamePerm(torch.autograd.Function):
    """permute_dims whose reverse rule permutes the cotangent by the axes again, then restores the input's shape."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Any, axes: tuple[int, ...]) -> Any:
        return x.permute(axes)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.axes, ctx.shape = inputs[1], inputs[0].shape

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, None]:
        return g.permute(ctx.axes).reshape(ctx.shape), None  # right: g.permute(argsort(axes))

    @staticmethod
    def jvp(ctx: Any, t: Any, _: Any) -> Any:
        return t.permute(ctx.axes)


def _sort(x: Any) -> Any:
    return _SortGathers.apply(x)


def _roll(x: Any, shift: int, axis: int | None = None) -> Any:
    return _RollSameShift.apply(x, shift)


def _permute(x: Any, axes: tuple[int, ...]) -> Any:
    return _PermuteSamePerm.apply(x, tuple(axes))


def _fault(name: str, op: str, fn: Any) -> type:
    def xp(self: Any) -> Any:
        return _Namespace(TorchFunc.xp.fget(self), {op: fn})  # type: ignore[attr-defined]

    return type(name, (TorchFunc,), {"name": f"lib-{name}", "xp": property(xp), "op": op})


FAULTS = [_fault("SortReverseGathers", "sort", _sort), _fault("RollReverseSameShift", "roll", _roll),
          _fault("PermuteDimsReverseSamePerm", "permute_dims", _permute)]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__)
def test_the_gate_catches_the_permutation_in_place_of_its_inverse(fault: type) -> None:
    backend, unbroken, reference = fault(), TorchFunc(), NumpyReference()
    backend.setup()
    unbroken.setup()
    row = f"fn_{fault.op}"
    family = [c for c in gate_cases(backend) if c.spec.entries is FUNCTIONS]
    outcomes = {c.test_id: run_case(c, backend, reference)[0] for c in family if c.entry.name == row}
    failing = sorted(t for t, s in outcomes.items() if s == "fail")
    assert failing, outcomes
    assert set(outcomes.values()) <= {"pass", "fail", "skip"}, outcomes
    assert {run_case(c, unbroken, reference)[0] for c in family if c.test_id in failing} == {"pass"}


def test_on_an_involution_the_fault_is_invisible() -> None:
    """Why the draws matter: sorted by a swap, the gathering rule gives the right gradient."""
    x = torch.tensor([2.0, 1.0, 3.0, 4.0], dtype=torch.float64, requires_grad=True)  # argsort (1, 0, 2, 3): a swap
    w = torch.tensor([1.0, -0.5, 1.5, -1.0], dtype=torch.float64)
    (wrong,) = torch.autograd.grad((_sort(x) * w).sum(), x)
    (right,) = torch.autograd.grad((torch.sort(x).values * w).sum(), x)
    assert torch.equal(wrong, right)
    y = torch.tensor([2.0, 3.0, 1.0, 4.0], dtype=torch.float64, requires_grad=True)  # argsort (2, 0, 1, 3): a cycle
    (wrong,) = torch.autograd.grad((_sort(y) * w).sum(), y)
    (right,) = torch.autograd.grad((torch.sort(y).values * w).sum(), y)
    assert not torch.equal(wrong, right)


@pytest.mark.parametrize("name", ["fn_sort", "fn_argsort"])
def test_sort_rows_never_draw_an_involution(name: str) -> None:
    entry = FUNCTIONS_TABLE[name].entry
    orders = []

    @settings(settings.get_profile("ci"), derandomize=False)
    @given(data=st.data())
    def draw(data: Any) -> None:
        (x,) = data.draw(strategies.inputs(entry, "float32"))
        orders.append(np.argsort(x, kind="stable"))

    for s in range(50):
        seed(s)(draw)()
    assert orders and not any(involution(p) for p in orders)
    assert len({tuple(p) for p in orders}) > 6, "the permutations vary with the draw"


def test_the_fixed_permutations_are_cycles_not_involutions() -> None:
    import array_api_compat.numpy as xp

    from conformance.battery import functions

    assert not involution(np.asarray(functions._roll(xp, np.arange(4))))  # a 4-cycle
    cube = np.arange(12).reshape(2, 3, 2)
    assert np.array_equal(functions._permute_dims(xp, cube), cube.transpose(2, 0, 1))
    assert not involution(np.array([2, 0, 1]))  # a 3-cycle of axes
    assert involution(np.asarray(functions._flip(xp, np.arange(3)[None, :]))[0]), "flip: an involution by nature"
