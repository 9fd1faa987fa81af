"""Stored outputs compared with a reason: representation only, last digits, value, random stream; complex numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.claims.documents import compare, random_streams, registry

FIX = Path(__file__).resolve().parent / "fixtures" / "docs"

JAX_SEEDED = ["import jax\nimport jax.numpy as jnp\n\nkey = jax.random.PRNGKey(0)", "jax.random.normal(key, (2, 3))"]
OLD_STREAM = ("Array([[ 0.18784384, -1.2833426 ,  0.6494181 ],\n"
              "       [ 1.2490594 ,  0.24447003, -0.11744965]], dtype=float32)")
NEW_STREAM = ("Array([[ 1.6226422 ,  2.0252647 , -0.43359444],\n"
              "       [-0.07861735,  0.1760909 , -0.97208923]], dtype=float32)")


@pytest.mark.parametrize(("stated", "printed", "named"), [
    ("Array(0.84147096, dtype=float32, weak_type=True)", "Array(0.84147096, dtype=float32)",
     "`weak_type=True` stated, not printed now"),
    ("Array(0.84147096, dtype=float32)", "Array(0.84147096, dtype=float32, weak_type=True)",
     "`weak_type=True` printed now, not stated"),
    ("DeviceArray([0.5403023, 1.       ], dtype=float32)", "Array([0.5403023, 1.       ], dtype=float32)",
     "`DeviceArray(` stated, `Array(` printed now"),
    ("array([0.5403023, 1.       ], dtype=float32)", "array([0.5403023, 1.       ])", "`dtype=float32` stated"),
    ("tensor(3., grad_fn=<MulBackward0>)", "tensor(3.)", "`grad_fn=<...>` stated"),
    ("tensor([1.5000, 2.0000], requires_grad=True)", "tensor([1.5000, 2.0000])", "`requires_grad=True` stated"),
    ("tensor([1.5000, 2.0000], device='cuda:0')", "tensor([1.5000, 2.0000])", "`device=...` stated"),
    ("tensor(0.5403)", "0.5403", "`tensor(...)` stated, not printed now"),
    ("0.5", "np.float64(0.5)", "`np.float64(...)` printed now, not stated"),
    ("Array([ 1.6226422 ,  2.0252647 ], dtype=float32)", "Array([1.6226422, 2.0252647], dtype=float32)",
     "whitespace/line wrapping"),
    ("Array([ 1.6226422 ,  2.0252647 , -0.43359444], dtype=float32)",
     "Array([ 1.6226422 ,  2.0252647 ,\n       -0.43359444], dtype=float32)", "whitespace/line wrapping"),
])
def test_a_repr_difference_is_a_match_with_a_note(stated: str, printed: str, named: str) -> None:
    result = compare.compare(stated, printed)
    assert result.match is True and result.outcome == "representation"
    assert result.reasons == ("representation",)
    assert named in result.detail and "the numbers agree" in result.detail
    assert any(named in r for r in result.representation)


def test_representation_and_a_value_difference_are_both_said() -> None:
    result = compare.compare("Array(0.84147096, dtype=float32, weak_type=True)", "Array(0.9, dtype=float32)")
    assert result.match is False and result.reasons == ("value", "representation")
    assert "stated 0.84147096, got 0.9" in result.detail and "`weak_type=True` stated" in result.detail


def test_another_dtype_is_not_a_representation_difference() -> None:
    result = compare.compare("Array([1., 2.], dtype=float32)", "Array([1., 2.], dtype=float64)")
    assert result.match is False and result.outcome == "structure"
    assert result.detail == "dtype differs: stated float32, printed now float64"


def test_a_structure_difference_names_the_representation_differences_too() -> None:
    result = compare.compare("(Array([4., 5.], dtype=float32, weak_type=True), 8.0)", "(Array([4., 5.], dtype=float32), 8.0, 1)")
    assert result.outcome == "structure" and not result.match
    assert "(besides representation: `weak_type=True` stated, not printed now)" in result.detail


@pytest.mark.parametrize(("text", "values"), [
    ("1.+2.j", [1.0, 2.0]),
    ("(1-2j)", [1.0, -2.0]),
    ("(1.0000001-0.5j)", [1.0000001, -0.5]),
    ("-2j", [0.0, -2.0]),
    ("np.complex64(1.0000001-0.5j)", [1.0000001, -0.5]),
    ("array([nan+infj])", [float("nan"), float("inf")]),
    ("tensor([[1.0000e-08+2.j]])", [1e-8, 2.0]),
    ("Array([1.+2.j , 3.-0.5j], dtype=complex64)", [1.0, 2.0, 3.0, -0.5]),
])
def test_complex_numbers_are_read_as_two_numbers(text: str, values: list[float]) -> None:
    parsed = compare.parse(text)
    assert [n.part for n in parsed.numbers] == ["real", "imaginary"] * (len(values) // 2)
    assert [n.value for n in parsed.numbers] == pytest.approx(values, nan_ok=True)
    assert "#j" in parsed.skeleton and not any(ch.isdigit() for ch in parsed.skeleton.replace("complex64", ""))


@pytest.mark.parametrize(("stated", "printed"), [
    # JAX: the imaginary part's last float32 digit (the case; it was reported as "structure differs")
    ("Array([ 1.        +0.j        ,  0.5403023 +0.84147096j,\n       -0.41614684+0.90929747j], dtype=complex64)",
     "Array([ 1.        +0.j        ,  0.5403023 +0.84147096j,\n       -0.41614684+0.9092974j ], dtype=complex64)"),
    ("array([1.       +2.j        , 1.0000001-0.49999997j])", "array([1.       +2.j        , 1.0000001-0.50000006j])"),
    ("np.complex64(1.0000001-0.49999997j)", "np.complex64(1.0000001-0.50000006j)"),  # numpy 2's scalar repr
    ("(1.0000001-0.49999997j)", "(1.0000001-0.50000006j)"),  # Python
])
def test_complex_last_digits_are_a_match_in_the_imaginary_part(stated: str, printed: str) -> None:
    result = compare.compare(stated, printed)
    assert result.match is True and result.outcome == "last-digits"
    assert "the imaginary part of element" in result.detail and "ulp of float32" in result.detail


@pytest.mark.parametrize(("stated", "printed", "where"), [
    ("tensor([1.+2.0000j, 3.-0.5000j])", "tensor([1.+2.0000j, 3.-0.6000j])", "the imaginary part of element 2"),
    ("(1-2j)", "(1+2j)", "the imaginary part of element 1"),  # the sign of the imaginary part is a value
    ("Array([1.+2.j , 3.-0.5j], dtype=complex64)", "Array([1.5+2.j , 3.-0.5j], dtype=complex64)",
     "the real part of element 1"),
])
def test_complex_values_that_differ_say_which_part(stated: str, printed: str, where: str) -> None:
    result = compare.compare(stated, printed)
    assert result.match is False and result.outcome == "value"
    assert f"the largest difference is at {where}" in result.detail


def test_a_last_float32_digit_is_counted_in_ulps() -> None:
    result = compare.compare("Array(0.84147096, dtype=float32)", "Array(0.84147102, dtype=float32)")
    assert result.match is True and result.outcome == "last-digits" and result.ulps == pytest.approx(1.0, abs=0.05)
    assert result.detail.startswith("last digits: 1 of 1 numbers differ within the tolerance; the largest "
                                    "difference, 1.0 ulp of float32, is at element 1: stated 0.84147096, got 0.84147102")


def test_a_real_value_difference_gives_the_largest_difference_and_where() -> None:
    stated = "tensor([[1.0000, 0.5403],\n        [0.2000, 0.3000]])"
    printed = "tensor([[1.0000, 0.5403],\n        [0.2000, 0.3500]])"
    source = "import torch\ntorch.manual_seed(0)\nx = torch.rand(2, 2)\nprint(x.round(decimals=1) + 0 * x)"
    result = compare.compare(stated, printed, source)
    assert result.match is False and result.outcome == "value" and not result.hint  # 1 of 4: no stream change
    assert result.detail == ("value: 1 of 4 numbers differ beyond the tolerance; the largest difference is at "
                             "element 4 (line 2): stated 0.3000, got 0.3500 (|diff| 0.05 > 0.000108, relative 0.17)")
    assert result.max_abs_err == pytest.approx(0.05) and result.differing == 1 and result.numbers == 4


def test_jax_numbers_that_differ_wholesale_after_a_key_hint_at_the_random_stream() -> None:
    result = compare.compare(OLD_STREAM, NEW_STREAM, JAX_SEEDED)
    assert result.match is False and result.outcome == "random-stream"
    assert result.reasons == ("random-stream", "value")
    assert "random stream changed (e.g. jax_threefry_partitionable default in newer JAX" in result.hint
    assert "a hint, not a certainty" in result.detail and "6 of 6 numbers differ" in result.detail
    assert "`jax.random.normal(key, (2, 3))`" in result.hint
    plain = compare.compare(OLD_STREAM, NEW_STREAM)  # without the code: a value difference, no guess
    assert plain.outcome == "value" and not plain.hint


@pytest.mark.parametrize(("source", "stated", "printed", "library"), [
    (["import torch\ntorch.manual_seed(0)", "x = torch.rand(3)\nprint(x)"],
     "tensor([0.4963, 0.7682, 0.0885])", "tensor([0.8823, 0.9150, 0.3829])", "PyTorch promises the same numbers"),
    (["import numpy as np\nrng = np.random.default_rng(0)", "print(rng.random(3))"],
     "[0.63696169 0.26978671 0.04097352]", "[0.5488135  0.71518937 0.60276338]", "NEP 19"),
    (["from jax import random\nkey = random.PRNGKey(42)", "x = random.normal(key, (3,))", "x.sum()"],
     "Array(-1.2307012, dtype=float32)", "Array(0.6718197, dtype=float32)", "jax_threefry_partitionable"),
])
def test_a_seeded_stream_upstream_is_named(source: list[str], stated: str, printed: str, library: str) -> None:
    result = compare.compare(stated, printed, source)
    assert result.outcome == "random-stream" and library in result.hint and "seeded random draw" in result.hint


def test_unseeded_draws_are_named_as_such() -> None:
    result = compare.compare("tensor([0.4963, 0.7682])", "tensor([0.1172, 0.3921])",
                             ["import torch", "x = torch.randn(2)\nx"])
    assert result.outcome == "random-stream" and "drawn without a seed (`x = torch.randn(2)`)" in result.hint


def test_a_cell_that_reads_no_random_name_gets_no_hint() -> None:
    # the notebook draws from a key, but this cell's output does not depend on it
    source = [*JAX_SEEDED[:1], "x = jax.random.normal(key, (3,))\ny = 2.0\nx = y", "jax.grad(lambda t: t ** 3)(x)"]
    assert random_streams.random_use(source) is None
    result = compare.compare("Array(13., dtype=float32, weak_type=True)", "Array(12., dtype=float32, weak_type=True)",
                             source)
    assert result.outcome == "value" and not result.hint


def test_random_names_are_followed_through_functions_and_aliases() -> None:
    cells = ["import numpy as np\nnp.random.seed(0)", "def predict(v):\n    return v @ W\nW = np.random.randn(3, 3)",
             "predict(np.ones(3))"]
    use = random_streams.random_use(cells)
    assert use is not None and use.library == "numpy" and use.seeded and use.code == "W = np.random.randn(3, 3)"
    use = random_streams.random_use(["import jax.random as jr", "k = jr.key(1)  # a key", "jr.normal(k, (3,))"])
    assert use is not None and use.library == "jax" and use.code == "jr.normal(k, (3,))"
    assert random_streams.random_use(['s = "jax.random.normal"  # jax.random', "print(s)"]) is None


def test_the_stored_outputs_of_a_stale_jax_notebook_each_get_their_reason() -> None:
    (doc,) = registry.read(str(FIX / "compare_stale_jax.ipynb"))
    now = {  # what jax 0.10.2 prints for each cell
        1: NEW_STREAM,
        2: "1.8927144",
        3: "Array(0.84147096, dtype=float32, weak_type=True)",
        4: "Array(0.5403023, dtype=float32, weak_type=True)",
        5: "Array([ 1.        +0.j        ,  0.5403023 +0.84147096j,\n"
           "       -0.41614684+0.9092974j ], dtype=complex64)",
        6: "Array(11., dtype=float32, weak_type=True)",
    }
    outcomes = {}
    for index, cell in enumerate(doc.cells):
        for exp in cell.expected:
            result = compare.compare(exp.text, now[index], [c.source for c in doc.cells[:index + 1]])
            outcomes[index] = (result.match, result.outcome)
            json.dumps(result.evidence(), allow_nan=False)
    assert outcomes == {1: (False, "random-stream"), 2: (False, "random-stream"), 3: (True, "representation"),
                        4: (True, "representation"), 5: (True, "last-digits"), 6: (False, "value")}


def test_evidence_is_json_without_nan_or_infinity() -> None:
    result = compare.compare("tensor([nan, 1.])", "tensor([2., 1.])")
    assert result.outcome == "value" and result.max_abs_err is None
    assert json.loads(json.dumps(result.evidence(), allow_nan=False)) == {
        "outcome": "value", "reasons": ["value"], "differing": 1, "numbers": 2}


def test_exceptions_keep_the_reason_of_their_message() -> None:
    tb = "Traceback (most recent call last):\n  ...\nValueError: expected 3 dims, got Array(2., dtype=float32, weak_type=True)"
    result = compare.compare_exception(tb, "ValueError", "expected 3 dims, got Array(2., dtype=float32)")
    assert result.match and result.how == "exception" and result.outcome == "representation"
    other = compare.compare_exception(tb, "TypeError", "expected 3 dims")
    assert not other.match and other.outcome == "exception"
