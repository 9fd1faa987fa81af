"""Every backend is judged on the same inputs, and the reference's answers are computed once per run.

The draws of a check are seeded by its id without the backend (``Case.draw_id``); the reference's value of a
quantity is shared between the run's shards through a folder (``conformance.run.reference_cache``), keyed by the
check, the quantity's label and the inputs' bytes.  A wrong hit would be a silent wrong verdict, so the key is
tested to change with each of them, and the layout of the shards (``runner.command.layout``) with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import conformance
from backends.numpy_reference import NumpyReference
from conformance.contract import REFERENCE_CACHE_ENV
from conformance.run import reference_cache
from conformance.run.runner import Battery, ShardOptions
from conformance.run.runner.command import BOTH_DTYPES, SHARDS, backends_per_dtype, layout, log_names, saved_per_dtype


class OtherName(NumpyReference):
    """The reference under another backend name, judged like a library, with its jvp 1 % off: a failing check
    records what it drew (a passing one keeps only its example count)."""

    name = "other_name"
    is_reference = False

    def jvp(self, f: Any, primals: Any, tangents: Any) -> Any:  # type: ignore[override]
        out, tangent = super().jvp(f, primals, tangents)
        return out, np.asarray(tangent) * 1.01 + 1e-3


class AnotherName(OtherName):
    name = "another_name"


def _inputs(result: conformance.CheckResult) -> dict[tuple[str, ...], Any]:
    """Inputs of each failed check, by the check's fields without the backend."""
    return {(r["spec"], r["dtype"], r["function"], r["variant"]): r["details"].get("inputs")
            for r in result.records if r["status"] == "fail"}


def test_two_backends_draw_the_same_inputs_for_the_same_check() -> None:
    first = _inputs(conformance.check_backend(AnotherName(), specs=["fn_jvp"], dtypes=["float64"]))
    second = _inputs(conformance.check_backend(OtherName(), specs=["fn_jvp"], dtypes=["float64"]))
    shared = sorted(set(first) & set(second))
    assert len(shared) >= 20 and all(first[t] for t in shared), shared
    assert all(first[t] == second[t] for t in shared), [t for t in shared if first[t] != second[t]]


def test_a_value_is_computed_once_per_run_and_read_by_the_next_shard(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REFERENCE_CACHE_ENV, str(tmp_path / "reference"))
    calls: list[int] = []

    def compute() -> Any:
        calls.append(1)
        return (np.arange(3.0), {"b": np.ones(2), "a": np.zeros(1)})

    x = np.array([0.5, -1.0, 2.0])
    first = reference_cache.shared("fn_grad[float64-fn_sin]", "grad", x, compute)
    again = reference_cache.shared("fn_grad[float64-fn_sin]", "grad", x.copy(), compute)
    assert len(calls) == 1
    assert list(again[1]) == ["b", "a"] and np.array_equal(again[0], first[0])
    assert not list((tmp_path / "reference").glob(".tmp-*")), "no half-written entry is left"


@pytest.mark.parametrize("change", ["check", "label", "value", "dtype", "shape", "structure"])
def test_the_key_changes_with_everything_the_value_depends_on(change: str) -> None:
    base = ("fn_grad[float64-fn_sin]", "grad argnums=0", (np.array([1.0, 2.0]),))
    check, label, inputs = base
    changed = {
        "check": ("fn_grad[float32-fn_sin]", label, inputs),
        "label": (check, "grad argnums=1", inputs),
        "value": (check, label, (np.array([1.0, 2.0000001]),)),
        "dtype": (check, label, (np.array([1.0, 2.0], dtype=np.float32),)),
        "shape": (check, label, (np.array([[1.0, 2.0]]),)),
        "structure": (check, label, [np.array([1.0, 2.0])]),
    }[change]
    assert reference_cache.key(*base) != reference_cache.key(*changed)


def test_without_a_run_folder_nothing_is_shared_and_an_error_is_never_stored(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REFERENCE_CACHE_ENV, raising=False)
    calls: list[int] = []
    for _ in range(2):
        reference_cache.shared("c", "l", np.zeros(2), lambda: calls.append(1))
    assert len(calls) == 2
    monkeypatch.setenv(REFERENCE_CACHE_ENV, str(tmp_path))

    def fails() -> Any:
        raise ValueError("outside the domain")

    for _ in range(2):
        with pytest.raises(ValueError, match="outside the domain"):
            reference_cache.shared("c", "l", np.zeros(2), fails)
    assert not list(tmp_path.iterdir())


def test_only_the_slowest_backends_run_one_process_per_dtype() -> None:
    backends = ["jax", "torch", "mlx", "numpy"]
    assert layout(backends, backends_per_dtype(2)) == {"jax": SHARDS, "torch": (BOTH_DTYPES,),
                                                       "mlx": (BOTH_DTYPES,), "numpy": (BOTH_DTYPES,)}
    four = layout(backends, backends_per_dtype(4))
    assert four["torch"] == SHARDS and four["mlx"] == (BOTH_DTYPES,)
    assert set(layout(backends, backends_per_dtype(1)).values()) == {(BOTH_DTYPES,)}
    assert set(layout(backends, backends_per_dtype(16), split=2).values()) == {SHARDS}


@pytest.mark.parametrize("saved", [{"jobs": 2, "per_dtype": 1}, {"jobs": 2}])  # the second: an older run file
def test_resuming_on_other_jobs_keeps_the_runs_shards(tmp_path: Path, saved: dict[str, int]) -> None:
    """--resume --jobs 4 of a run started on 2 jobs runs more at once, but the same shards: another layout would
    leave the finished logs unread and start their checks again."""
    backends = ["jax", "torch", "numpy"]
    settings = {"backends": backends, **saved}
    started = Battery(backends, tmp_path, ShardOptions(), jobs=2, backend_timeout=60, echo=print, resume=True)
    resumed = Battery(backends, tmp_path, ShardOptions(), jobs=4, backend_timeout=60, echo=print, resume=True,
                      per_dtype=saved_per_dtype(settings))
    assert [s.log.path.name for s in resumed.shards] == [s.log.path.name for s in started.shards]
    assert log_names(backends, saved_per_dtype(settings)) == {s.log.path.stem for s in started.shards}
