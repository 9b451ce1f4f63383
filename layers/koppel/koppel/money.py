"""Rounding and allocation of money: the one place where cents are decided."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    """Round half up (away from zero for halves, so credit notes mirror invoices) to whole cents. Zero is never
    negative: 0 % VAT on a credit line is 0.00, not -0.00, in every request a target sends."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + ZERO


def vat_from_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """VAT contained in a price including VAT: gross × rate / (100 + rate), rounded to cents."""
    return cents(gross * rate / (HUNDRED + rate))


def vat_from_net(net: Decimal, rate: Decimal) -> Decimal:
    """VAT on top of a price excluding VAT: net × rate / 100, rounded to cents."""
    return cents(net * rate / HUNDRED)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` (whole cents) over ``weights`` in proportion, so that the parts add up exactly.

    Largest-remainder method: every part is first rounded toward zero to cents, then the cents that are
    left go one by one to the parts with the largest remainders (earliest first on a tie), so the
    result is deterministic and never off by a cent in total.
    """
    if cents(total) != total:
        raise ValueError(f"can only allocate whole cents, got {total}")
    if not weights:
        raise ValueError("cannot allocate over nothing")
    weight_sum = sum(weights, ZERO)
    if weight_sum == 0:
        raise ValueError("cannot allocate over weights that add up to zero")
    sign = Decimal(1) if total >= 0 else Decimal(-1)
    magnitude = abs(total)
    exact = [magnitude * w / weight_sum for w in weights]
    parts = [e.quantize(CENT, rounding="ROUND_DOWN") for e in exact]
    left_cents = int((magnitude - sum(parts, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:left_cents]:
        parts[i] += CENT
    return [sign * p for p in parts]
