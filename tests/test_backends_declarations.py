"""The shipped adapters' declarations are checked against the libraries, and wrong ones are caught.

Each new backend is loaded by its built-in name; a declaration that drifts from the library (a vmap
keyword it lacks, through a C-extension callable with no signature) fails ``conventions_api``.
"""

from __future__ import annotations

import dataclasses

import pytest

from backends.base import load_backend
from backends.numpy_reference import NumpyReference
from conformance.battery.specs import REGISTRY, cases
from tests.test_planted_faults import run_case


@pytest.mark.parametrize(
    ("name", "cls", "module"),
    [("torch_autograd", "TorchAutograd", "torch"), ("mlx", "MlxApi", "mlx.core"), ("autograd", "AutogradApi", "autograd")],
)
def test_new_backends_load_by_name(name: str, cls: str, module: str) -> None:
    pytest.importorskip(module)
    backend = load_backend(name)
    assert type(backend).__name__ == cls and backend.name == name
    conv = backend.conventions
    assert set(conv.unsupported) <= {"grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
                                     "scan", "cond", "jit"}, conv.unsupported


def _conventions_api(backend: object) -> tuple[str, str]:
    (case,) = cases(backend, [REGISTRY["conventions_api"]])  # type: ignore[arg-type]
    return run_case(case, backend, NumpyReference())  # type: ignore[arg-type]


def test_mlx_vmap_keywords_are_checked_without_a_signature() -> None:
    """nanobind's mx.vmap has no inspect.signature; the keywords are checked by calling it."""
    pytest.importorskip("mlx.core")
    from backends.mlx_api import MlxApi

    assert _conventions_api(MlxApi()) == ("pass", "")

    class WrongKeywords(MlxApi):
        name = "mlx-wrong-keywords"
        conventions = dataclasses.replace(MlxApi.conventions, batch_keyword=("in_dims", "out_dims"))

    status, message = _conventions_api(WrongKeywords())
    assert status == "fail" and "in_dims" in message and "out_dims" in message, message


def test_torch_compile_backend_follows_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from backends.torch_func import TorchFunc

    backend = TorchFunc()
    assert backend.compile_backend() == "aot_eager"  # the ci profile (tests run under hypothesis's default)
    monkeypatch.setenv("TRANSFORM_CONFORMANCE_TORCH_COMPILE", "inductor")
    assert backend.jit_description() == "torch.compile(backend='inductor', fullgraph=True)"
