"""One rule for printed numbers: the tolerance table's value bound plus each side's printed rounding."""

from __future__ import annotations

import pytest

from conformance.battery.tolerances import tolerance
from conformance.claims import printed_numbers


@pytest.mark.parametrize(("token", "half_unit"), [("0.5403", 5e-5), ("2", 0.0), ("6.", 0.0), ("1.5e-3", 5e-5),
                                                  ("-12.25", 5e-3), ("nan", 0.0)])
def test_a_printed_number_stands_for_half_a_unit_of_its_last_digit(token: str, half_unit: float) -> None:
    assert printed_numbers.resolution(token) == pytest.approx(half_unit)


@pytest.mark.parametrize(("got", "want", "agree"), [
    ("0.5403", 0.5403023058681398, True),   # cos(1) printed to 4 digits
    ("0.5404", 0.5403023058681398, False),  # a unit off in the last digit
    ("2", "2.0", True), ("2", "3", False),
    ("nan", "nan", True), ("inf", "-inf", False),
    (4.0, 4.0 * (1 + tolerance("float32", "value").rtol / 2), True),  # computed values: the float32 bound alone
    (4.0, 4.0 * (1 + 10 * tolerance("float32", "value").rtol), False),
])
def test_numbers_agree_within_the_value_bound_and_their_printed_rounding(got: str | float, want: str | float,
                                                                          agree: bool) -> None:
    assert printed_numbers.agree(got, want) is agree
