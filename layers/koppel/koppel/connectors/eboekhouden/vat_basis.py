"""The amounts e-Boekhouden.nl is sent, chosen so that its own VAT computation gives the booking's VAT to the cent.

e-Boekhouden computes the VAT of each mutation row itself from its ``vatCode`` (rounded per row, half-up), from
amounts excl. VAT (``inExVat`` EX) or incl. VAT (IN). The Booking is already balanced (koppel.booking), so this
module picks the basis under which that per-row computation reproduces the booking's total and VAT per rate: the
document's own basis first, the other one second; then either basis with a few cents of a row split off into rows
of their own; when nothing does (several ledgers at one rate whose rounding differs), IN, which keeps the total
exact and can move at most a cent of VAT between rates' rows. Sales and purchases use it alike, each with the
rates of its own VAT codes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.eboekhouden.settings import VAT_RATES, VENDOR, InExVat
from koppel.errors import PermanentError
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.booking import Booking


def predicted_totals(
    rows: list[dict[str, Any]], basis: InExVat, rates: Mapping[str, Decimal] = VAT_RATES
) -> tuple[Decimal, Decimal]:
    """(total incl. VAT, VAT) as e-Boekhouden computes them from these rows: VAT per row, rounded half-up."""
    total = vat = ZERO
    for row in rows:
        row_vat = _vat(row["amount"], rates.get(row["vatCode"], ZERO), basis)
        vat += row_vat
        total += row["amount"] if basis == "IN" else row["amount"] + row_vat
    return total, vat


def exact_rows(
    rows: list[dict[str, Any]],
    own: InExVat,
    total: Decimal,
    vat_by_rate: Mapping[Decimal, Decimal],
    rates: Mapping[str, Decimal] = VAT_RATES,
) -> tuple[InExVat, list[dict[str, Any]]]:
    """The basis and wire rows (``ledgerId``, ``vatCode``, ``amount``, ``description``) for ``rows`` that carry
    both ``net`` and ``gross``, under which e-Boekhouden books ``total`` and, per rate of ``rates``, the VAT of
    ``vat_by_rate`` (the sum alone is not enough: per-row rounding can move a cent from one rate to another)."""
    want = Want(total, vat_by_rate, rates)
    other: InExVat = "EX" if own == "IN" else "IN"
    for basis in (own, other):
        wired = [_wire_row(r, basis) for r in rows]
        if want.met(wired, basis):
            return basis, wired
    for basis in (own, other):
        split = _split_for_vat(want, [_wire_row(r, basis) for r in rows], basis)
        if split is not None:
            return basis, split
    return "IN", [_wire_row(r, "IN") for r in rows]


class Want:
    """What e-Boekhouden must end up booking: the total, and the VAT of each rate its codes compute."""

    def __init__(self, total: Decimal, vat_by_rate: Mapping[Decimal, Decimal], rates: Mapping[str, Decimal]) -> None:
        self.total = total
        self.rates = rates
        self.vat = {rate: vat_by_rate.get(rate, ZERO) for rate in rates.values()}

    def met(self, rows: list[dict[str, Any]], basis: InExVat) -> bool:
        if predicted_totals(rows, basis, self.rates) != (self.total, sum(self.vat.values(), ZERO)):
            return False
        return all(self.missing(code, rows, basis) == 0 for code in self.rates)

    def missing(self, code: str, rows: list[dict[str, Any]], basis: InExVat) -> Decimal:
        ours = [r for r in rows if r["vatCode"] == code]
        return self.vat[self.rates[code]] - predicted_totals(ours, basis, self.rates)[1]


def check_balance(
    body: dict[str, Any], booking: Booking, rates: Mapping[str, Decimal] = VAT_RATES, total: Decimal | None = None
) -> None:
    """A last guard before sending: what e-Boekhouden will compute must equal the booking's total."""
    wanted = booking.total if total is None else total
    booked, _ = predicted_totals(body["rows"], body["inExVat"], rates)
    if booked != wanted:
        raise PermanentError(
            f"Koppel bug: the mutation for {booking.document.number} would book {booked} where the document totals "
            f"{wanted}; nothing was sent to {VENDOR}"
        )


def _vat(amount: Decimal, rate: Decimal, basis: InExVat) -> Decimal:
    return cents(amount * rate / (100 + rate)) if basis == "IN" else cents(amount * rate / 100)


def _wire_row(row: dict[str, Any], basis: InExVat) -> dict[str, Any]:
    return {
        "ledgerId": row["ledgerId"],
        "vatCode": row["vatCode"],
        "amount": row["gross"] if basis == "IN" else row["net"],
        "description": row["description"],
    }


def _split_for_vat(want: Want, rows: list[dict[str, Any]], basis: InExVat) -> list[dict[str, Any]] | None:
    """Per rate, move a few cents of the largest row into small rows of their own (same ledger and code) so that
    the per-row rounding adds up to the booking's VAT of that rate; None when a few small rows cannot do it."""
    rows = list(rows)
    for code, rate in want.rates.items():
        missing = want.missing(code, rows, basis)
        if missing == 0:
            continue
        largest = max((r for r in rows if r["vatCode"] == code), key=lambda r: abs(r["amount"]), default=None)
        parts = _split(largest["amount"], rate, basis, missing) if largest else None
        if largest is None or parts is None:
            return None
        at = rows.index(largest)
        rows[at : at + 1] = [{**largest, "amount": part} for part in parts]
    return rows if want.met(rows, basis) else None


def _split(amount: Decimal, rate: Decimal, basis: InExVat, missing: Decimal) -> list[Decimal] | None:
    """``amount`` as one large and a few equal small amounts whose rounded VAT adds up to ``missing`` more than
    ``amount``'s own (hand-written: a search over at most 5 × 199 candidates, each a few multiplications)."""
    sign = Decimal(1) if amount >= 0 else Decimal(-1)
    target = _vat(amount, rate, basis) + missing
    for count in range(1, 6):
        for k in range(1, 200):
            small = sign * Decimal(k) / 100
            large = amount - count * small
            if large * sign > 0 and _vat(large, rate, basis) + count * _vat(small, rate, basis) == target:
                return [large, *([small] * count)]
    return None
