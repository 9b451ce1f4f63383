from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koppel.money import allocate, cents, vat_from_gross, vat_from_net

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.005", "0.01"), ("0.004", "0.00"), ("-0.005", "-0.01"), ("2.675", "2.68"), ("1.0049999", "1.00")],
)
def test_cents_rounds_half_up_and_mirrors_for_credit_notes(value: str, expected: str) -> None:
    # Given an amount on a half cent (or just below it)
    # When it is rounded to cents
    # Then halves go away from zero, so a credit note is the exact mirror of its invoice
    assert cents(D(value)) == D(expected)


def test_vat_contained_in_a_gross_price() -> None:
    # Given € 121.00 including 21 % VAT and € 10.90 including 9 %
    # When the VAT inside is computed
    # Then it is € 21.00 and € 0.90
    assert vat_from_gross(D("121.00"), D(21)) == D("21.00")
    assert vat_from_gross(D("10.90"), D(9)) == D("0.90")


def test_vat_on_a_net_price_rounds_once() -> None:
    # Given a net amount whose VAT falls on a half cent
    # When VAT at 21 % is computed
    # Then it rounds half up: 0.125 → 0.13
    assert vat_from_net(D("0.60"), D(21)) == D("0.13")


def test_allocate_splits_a_discount_without_losing_a_cent() -> None:
    # Given a € 10.00 discount over three equal shares
    # When it is allocated
    # Then the parts are 3.34 / 3.33 / 3.33: the earliest largest remainder takes the spare cent
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]


def test_allocate_negative_total_mirrors_positive() -> None:
    assert allocate(D("-10.00"), [D(1), D(1), D(1)]) == [D("-3.34"), D("-3.33"), D("-3.33")]


def test_allocate_refuses_fractions_of_a_cent_and_empty_weights() -> None:
    with pytest.raises(ValueError, match="whole cents"):
        allocate(D("1.001"), [D(1)])
    with pytest.raises(ValueError, match="add up to zero"):
        allocate(D("1.00"), [D(0), D(0)])


@given(
    total=st.decimals(min_value=D("-10000"), max_value=D("10000"), places=2),
    weights=st.lists(st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2), min_size=1, max_size=8),
)
def test_allocate_always_adds_up_exactly(total: Decimal, weights: list[Decimal]) -> None:
    # Given any amount in cents and any positive weights
    parts = allocate(total, weights)
    # Then the parts add up to the amount exactly and each is in whole cents
    assert sum(parts) == total
    assert all(cents(p) == p for p in parts)


def test_zero_vat_on_a_credit_line_is_never_written_as_minus_zero() -> None:
    # Given a credit line at 0 %, when its VAT is worked out, then it reads 0.00, the way a target must receive it
    assert str(vat_from_net(Decimal("-40.00"), Decimal(0))) == "0.00"
    assert str(cents(Decimal("-0.004"))) == "0.00"
