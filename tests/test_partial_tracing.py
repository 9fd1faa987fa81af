"""The partial-tracing specs (conformance/battery/specs/partial.py) catch what only a constant operand's path shows.

Each fault below is a derivative rule as a library registers it (a ``torch.autograd.Function`` in the
namespace the rows call, as in tests/library_faults.py) that is right whenever every operand is traced and
wrong on the path a library takes when one is not: the exponent differentiated alone, a constant branch of
``where``, a constant exponent in forward mode.  Each is caught by a gate check of a ``partial_*`` spec, and
by no older gate check of a function that calls the operation (a check that fails on the unbroken library
too, a known deviation, does not count as catching it).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from backends.numpy_reference import NumpyReference  # noqa: E402
from backends.torch_func import TorchFunc  # noqa: E402
from conformance.battery.specs import REGISTRY  # noqa: E402
from conformance.battery.specs.partial import PARTIAL  # noqa: E402
from tests.library_faults import _Namespace  # noqa: E402
from tests.test_planted_faults import gate_cases, run_case  # noqa: E402


class _Pow(torch.autograd.Function):
    """x ** y with both rules written out; ``exponent_only`` and ``constant_exponent`` plant the faults."""

    generate_vmap_rule = True
    exponent_only_fault = False
    constant_exponent_fault = False

    @staticmethod
    def forward(a: Any, b: Any) -> Any:
        return torch.pow(a, b)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[0], inputs[1], output)
        ctx.save_for_forward(inputs[0], inputs[1], output)

    @classmethod
    def backward(cls, ctx: Any, g: Any) -> tuple[Any, Any]:
        a, b, out = ctx.saved_tensors
        ga, gb = g * b * a ** (b - 1), g * out * torch.log(a)
        if cls.exponent_only_fault and not ctx.needs_input_grad[0]:
            gb = ga  # the exponent-only path returns the base's gradient
        return ga, gb

    @classmethod
    def jvp(cls, ctx: Any, ta: Any, tb: Any) -> Any:
        a, b, out = ctx.saved_tensors
        right = ta * b * a ** (b - 1) + tb * out * torch.log(a)
        if not cls.constant_exponent_fault:
            return right
        n = torch.round(b)  # the integer-power fast path, taken for any exponent without a tangent
        return torch.where((tb == 0).all(), ta * n * a ** (n - 1), right)  # a select, not an if: vmap-safe


class _ExponentOnly(_Pow):
    exponent_only_fault = True


class _ConstantExponent(_Pow):
    constant_exponent_fault = True


class _Where(torch.autograd.Function):
    """where(c, a, b); its reverse rule, when the true branch needs no gradient (a constant), forgets the mask."""

    generate_vmap_rule = True

    @staticmethod
    def forward(c: Any, a: Any, b: Any) -> Any:
        return torch.where(c, a, b)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[None, Any, Any]:
        (c,) = ctx.saved_tensors
        zero = torch.zeros_like(g)
        ga, gb = torch.where(c, g, zero), torch.where(c, zero, g)
        if not ctx.needs_input_grad[1]:
            gb = g  # the constant branch's positions are not masked out
        return None, ga, gb

    @staticmethod
    def jvp(ctx: Any, tc: Any, ta: Any, tb: Any) -> Any:
        (c,) = ctx.saved_tensors
        return torch.where(c, ta, tb)


def _fault(name: str, op: str, fn: Any, doc: str) -> type:
    def xp(self: Any) -> Any:
        return _Namespace(TorchFunc.xp.fget(self), {op: fn})  # type: ignore[attr-defined]

    return type(name, (TorchFunc,), {"name": f"lib-{name}", "xp": property(xp), "__doc__": doc, "op": op})


PowExponentOnlyReverse = _fault("PowExponentOnlyReverse", "pow", _ExponentOnly.apply,
                                "pow's reverse rule, when the base needs no gradient, returns the base's gradient")
PowConstantExponentForward = _fault("PowConstantExponentForward", "pow", _ConstantExponent.apply,
                                    "pow's forward rule takes the integer-power path whenever the exponent has no tangent")
WhereConstantBranchReverse = _fault("WhereConstantBranchReverse", "where", _Where.apply,
                                    "where's reverse rule drops the mask when the true branch is a constant")
FAULTS = [PowExponentOnlyReverse, PowConstantExponentForward, WhereConstantBranchReverse]


def _calls(entry: Any, op: str) -> bool:
    return f"xp.{op}(" in inspect.getsource(entry.fn) or f"std:{op}" in entry.tags or entry.name == f"fn_{op}"


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__)
def test_only_the_partial_specs_catch_it(fault: type) -> None:
    backend, unbroken, reference = fault(), TorchFunc(), NumpyReference()
    backend.setup()
    unbroken.setup()
    family = [c for c in gate_cases(backend) if _calls(c.entry, fault.op)]
    caught, old_caught = [], []
    for c in family:
        status, _ = run_case(c, backend, reference)
        if status != "fail":
            assert status in ("pass", "skip"), (c.test_id, status)
            continue
        if run_case(c, unbroken, reference)[0] == "fail":
            continue  # a known deviation of torch itself (fn_hessian_joint of pow): not this fault's doing
        (caught if c.spec.id.startswith("partial_") else old_caught).append(c.test_id)
    assert caught, f"{fault.__name__} ({fault.__doc__}) passed every gate check of partial tracing"
    assert not old_caught, f"older checks catch {fault.__name__} too, so it proves nothing new: {old_caught}"


def test_every_partial_row_and_argument_is_in_the_gate() -> None:
    """pow's argnums=0 and argnums=1 both run in the gate (a variant would have dropped the second)."""
    kept = {c.test_id for c in gate_cases(TorchFunc())}
    for entry in PARTIAL:
        for k in range(entry.arity):
            for kind in ("partial_jvp_arg", "partial_jvp_closed_arg", "partial_grad_arg"):
                assert any(t.startswith(f"{kind}{k}[") and t.endswith(f"-{entry.name}]") for t in kept), (kind, k, entry.name)
    assert {"partial_grad_arg0", "partial_grad_arg1"} <= set(REGISTRY)


def test_the_closed_over_arguments_are_not_traced() -> None:
    """The closure spec passes the other arguments as plain constants: the rule sees them as needing no gradient."""
    seen: list[tuple[bool, ...]] = []

    class Probe(_Pow):
        @classmethod
        def backward(cls, ctx: Any, g: Any) -> tuple[Any, Any]:
            seen.append(tuple(ctx.needs_input_grad))
            return super().backward(ctx, g)

    x, y = torch.tensor(np.array([1.5, 2.0])), torch.tensor(np.array([0.5, 2.0]))
    torch.func.grad(lambda b: Probe.apply(x, b).sum())(y)
    assert seen == [(False, True)]
