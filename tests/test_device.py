"""``--device``: checked before anything runs, passed to every shard, recorded per check and in reproducers.

No GPU is needed: the CPU is named explicitly (``--device cpu`` must change no status), and a device
this machine lacks (``cuda`` on a CPU-only torch, ``gpu`` for JAX, anything for the NumPy reference)
is the path a wrong machine takes.  What only a GPU can show is in ``benchmarks/gpu_column.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.base import DeviceUnavailable, load_backend
from conformance.run import preflight
from conformance.run.runner import ShardOptions, pytest_command, reproducer_command

ROOT = Path(__file__).resolve().parents[1]
SELECTION = "jvp_value and sin_sum"


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


# -- the adapters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["numpy", "autograd"])
def test_cpu_only_libraries_take_cpu_and_refuse_anything_else(name: str) -> None:
    backend = load_backend(name)
    backend.use_device("cpu")
    assert backend.device == "cpu"
    with pytest.raises(DeviceUnavailable) as caught:
        backend.use_device("cuda")
    message = str(caught.value)
    assert f"backend {name!r}" in message and "'cuda'" in message and "its devices: cpu" in message
    assert "pass --device" in message and caught.value.available == ["cpu"]


def test_torch_places_its_tensors_on_the_chosen_device() -> None:
    backend = load_backend("torch")
    backend.setup()
    for bad, why in (("cuda", "not compiled with CUDA"), ("gpu", "Expected one of")):
        with pytest.raises(DeviceUnavailable, match=why) as caught:
            backend.use_device(bad)
        assert caught.value.available[0] == "cpu"
    backend.use_device("cpu:0")
    x = backend.asarray(np.ones(3), "float32")
    assert str(x.device) == "cpu" and backend.device == "cpu:0"


def test_jax_takes_platform_names_and_indices() -> None:
    backend = load_backend("jax")
    backend.setup()
    with pytest.raises(DeviceUnavailable, match="gpu"):
        backend.use_device("gpu")
    with pytest.raises(DeviceUnavailable, match="numbered from 0"):
        backend.use_device("cpu:7")
    backend.use_device("cpu")
    assert backend.device == "cpu" and backend.available_devices()[0] == "cpu:0"
    x = backend.asarray(np.ones(3), "float32")
    assert {d.platform for d in x.devices()} == {"cpu"}


def test_mlx_names_its_devices_cpu_and_gpu() -> None:
    pytest.importorskip("mlx.core")
    backend = load_backend("mlx")
    backend.setup()
    with pytest.raises(DeviceUnavailable, match="MLX names its devices cpu and gpu"):
        backend.use_device("cuda")
    backend.use_device("cpu")
    assert backend.device.startswith("cpu") and backend.conventions.dtypes == ("float32", "float64")


# -- the command line ------------------------------------------------------------------------------

def test_the_device_travels_in_every_shard_command_and_reproducer(tmp_path: Path) -> None:
    opts = ShardOptions(device="cuda:1")
    assert "--device=cuda:1" in pytest_command("torch", "float32", tmp_path / "log", opts)
    assert "--device" not in " ".join(pytest_command("torch", "float32", tmp_path / "log", ShardOptions()))
    args = shlex.split(reproducer_command("torch", "test_x[torch-float32-f]", profile="ci", seed=None, manifests=[],
                                          check_timeout=120, device="cuda:1"))
    assert "--device=cuda:1" in args
    assert not any("device" in a for a in shlex.split(reproducer_command(
        "torch", "test_x[torch-float32-f]", profile="ci", seed=None, manifests=[], check_timeout=120)))


def test_no_device_asks_nothing() -> None:
    """Without --device nothing is spawned: the default path is today's."""
    assert preflight.device(argparse.Namespace(device=None, resume=None, backends=["torch"]), ["torch"]) == []


def test_a_device_the_libraries_lack_stops_the_run_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = _cli("run", "--backend", "torch", "--backend", "jax", "--backend", "numpy", "--device", "cuda",
                "-k", SELECTION, "--out", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "[battery]" not in proc.stdout and not out.exists()  # no shard started
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("--device cuda:")]
    assert len(lines) == 3, proc.stderr  # once per backend, not once per shard or check
    for name in ("torch", "jax", "numpy"):
        [line] = [ln for ln in lines if f"backend {name!r}" in ln]
        assert "no device 'cuda'" in line and "its devices: cpu" in line and "pass --device" in line
    assert "nothing was run" in proc.stderr


def test_a_shard_started_by_hand_refuses_a_missing_device_with_the_message() -> None:
    """A reproducer pasted on a machine without the device: pytest's usage error, not an error per check."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "conformance.run.plugin", "conformance/run/battery_tests.py",
                           "--backend", "numpy", "--device", "gpu", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "backend 'numpy' has no device 'gpu'" in proc.stderr


def _statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {c["test_id"]: c["status"] for c in doc["checks"]}


def test_device_cpu_changes_no_status_and_is_recorded_per_check_and_in_reproducers(tmp_path: Path) -> None:
    # JvpScaled is torch.func with a 1 % wrong jvp: the torch adapter's device path, and a failure to reproduce.
    backends = ["--backend", "jax", "--backend", "tests.broken_backends:JvpScaled"]
    docs = {}
    for label, extra in (("default", []), ("cpu", ["--device", "cpu"])):
        out = tmp_path / f"{label}.json"
        proc = _cli("run", *backends, "-k", SELECTION, "--out", str(out), *extra)
        assert proc.returncode == 1, proc.stdout + proc.stderr  # the planted fault fails, nothing else
        docs[label] = json.loads(out.read_text())
    default, cpu = docs["default"], docs["cpu"]
    assert _statuses(cpu) == _statuses(default) and len(_statuses(cpu)) == 4
    assert set(_statuses(cpu).values()) == {"pass", "fail"}
    assert cpu["run"]["options"]["device"] == "cpu" and default["run"]["options"]["device"] is None
    assert {c["device"] for c in cpu["checks"]} == {"cpu"}
    assert {env["device"] for env in cpu["backends"].values()} == {"cpu"}
    failing = [c for c in cpu["checks"] if c["status"] == "fail"]
    assert failing and all("--device=cpu" in shlex.split(c["reproducer"].splitlines()[0]) for c in failing)
    assert all("--device" not in c["reproducer"] for c in default["checks"] if c["status"] == "fail")


def test_resume_takes_the_runs_own_device(tmp_path: Path) -> None:
    proc = _cli("run", "--resume", str(tmp_path), "--device", "cpu")
    assert proc.returncode == 2 and "drop --device" in proc.stderr, proc.stderr
    saved = {"settings": {"device": "cuda", "backends": ["numpy"]}, "header": {}}
    (tmp_path / "run.json").write_text(json.dumps(saved))
    asked = preflight.device(argparse.Namespace(device=None, resume=tmp_path, backends=None), ["torch"])
    assert len(asked) == 1 and "backend 'numpy' has no device 'cuda'" in asked[0]  # the saved run's device
