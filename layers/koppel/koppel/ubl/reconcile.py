"""The EN 16931 sums, checked to the cent on the amounts as the document states them, before anything is booked.

Each check names its business rule (BR-CO-10 …) and both figures, so a person can take it to the supplier.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from koppel.errors import InputError, UnbalancedDocumentError
from koppel.money import CENT, ZERO, cents
from koppel.ubl.lines import tax_category

if TYPE_CHECKING:
    from decimal import Decimal

    from koppel.ubl.lines import Taxed
    from koppel.ubl.parse import Node


@dataclass(frozen=True)
class Totals:
    """cac:LegalMonetaryTotal, the optional amounts as 0."""

    line_extension: Decimal
    tax_exclusive: Decimal
    tax_inclusive: Decimal
    allowances: Decimal
    charges: Decimal
    prepaid: Decimal
    rounding: Decimal
    payable: Decimal

    @classmethod
    def read(cls, root: Node) -> Totals:
        total = root.required("cac:LegalMonetaryTotal")
        return cls(
            line_extension=total.required_amount("cbc:LineExtensionAmount"),
            tax_exclusive=total.required_amount("cbc:TaxExclusiveAmount"),
            tax_inclusive=total.required_amount("cbc:TaxInclusiveAmount"),
            allowances=total.amount("cbc:AllowanceTotalAmount") or ZERO,
            charges=total.amount("cbc:ChargeTotalAmount") or ZERO,
            prepaid=total.amount("cbc:PrepaidAmount") or ZERO,
            rounding=total.amount("cbc:PayableRoundingAmount") or ZERO,
            payable=total.required_amount("cbc:PayableAmount"),
        )


@dataclass(frozen=True)
class TaxTotal:
    """The cac:TaxTotal in the document currency: its amount and its subtotals per (category code, rate)."""

    amount: Decimal
    subtotals: tuple[tuple[str, Decimal, Decimal, Decimal], ...]
    """(code, rate, taxable amount, tax amount)"""

    @classmethod
    def read(cls, root: Node, currency: str) -> TaxTotal:
        """The one in the document currency; a second one in the tax currency (cbc:TaxCurrencyCode) is left out."""
        candidates = [
            node for node in root.all("cac:TaxTotal") if node.required("cbc:TaxAmount").attribute("currencyID") in {
                currency, ""}
        ]  # fmt: skip
        if not candidates:
            raise InputError(f"UBL document: no cac:TaxTotal/cbc:TaxAmount in the document currency {currency}")
        chosen = max(candidates, key=lambda node: len(node.all("cac:TaxSubtotal")))
        subtotals = []
        for sub in chosen.all("cac:TaxSubtotal"):
            code, rate = tax_category(sub.required("cac:TaxCategory"))
            subtotals.append(
                (code, rate, sub.required_amount("cbc:TaxableAmount"), sub.required_amount("cbc:TaxAmount"))
            )
        return cls(amount=chosen.required_amount("cbc:TaxAmount"), subtotals=tuple(subtotals))


def reconcile(
    number: str, lines: list[Taxed], allowances: list[Taxed], charges: list[Taxed], tax: TaxTotal, totals: Totals
) -> None:
    """Raise UnbalancedDocumentError naming the first EN 16931 sum that does not hold."""
    _equal(number, "BR-CO-10: Σ line net amounts = LineExtensionAmount", _sum(lines), totals.line_extension)
    _equal(number, "BR-CO-11: Σ allowances = AllowanceTotalAmount", _sum(allowances), totals.allowances)
    _equal(number, "BR-CO-12: Σ charges = ChargeTotalAmount", _sum(charges), totals.charges)
    _equal(
        number,
        "BR-CO-13: LineExtensionAmount − AllowanceTotalAmount + ChargeTotalAmount = TaxExclusiveAmount",
        totals.line_extension - totals.allowances + totals.charges,
        totals.tax_exclusive,
    )
    _check_subtotals(number, lines, allowances, charges, tax)
    _equal(number, "BR-CO-14: Σ TaxSubtotal/TaxAmount = TaxTotal/TaxAmount", sum((s[3] for s in tax.subtotals), ZERO),
           tax.amount)  # fmt: skip
    _equal(
        number,
        "BR-CO-15: TaxExclusiveAmount + TaxTotal/TaxAmount = TaxInclusiveAmount",
        totals.tax_exclusive + tax.amount,
        totals.tax_inclusive,
    )
    _equal(
        number,
        "BR-CO-16: TaxInclusiveAmount − PrepaidAmount + PayableRoundingAmount = PayableAmount",
        totals.tax_inclusive - totals.prepaid + totals.rounding,
        totals.payable,
    )


def _check_subtotals(
    number: str, lines: list[Taxed], allowances: list[Taxed], charges: list[Taxed], tax: TaxTotal
) -> None:
    """Per VAT category and rate: the taxable amount its lines, allowances and charges make, and the VAT on it."""
    bases: dict[tuple[str, Decimal], Decimal] = defaultdict(lambda: ZERO)
    for item in (*lines, *charges):
        bases[item.code, item.rate] += item.amount
    for item in allowances:
        bases[item.code, item.rate] -= item.amount
    stated = {(code, rate) for code, rate, _, _ in tax.subtotals}
    missing = sorted(set(bases) - stated)
    if missing:
        code, rate = missing[0]
        raise UnbalancedDocumentError(
            f"document {number} does not add up: its lines at VAT category {code} {rate} % ({cents(bases[code, rate])})"
            " have no cac:TaxSubtotal",
            difference=cents(bases[code, rate]),
        )
    for code, rate, taxable, amount in tax.subtotals:
        label = f"VAT category {code} {rate.normalize():f} %"
        _equal(number, f"BR-CO-18/BR-{code}-08: TaxableAmount of {label} = its lines + charges − allowances",
               bases[code, rate], taxable)  # fmt: skip
        expected = cents(taxable * rate / 100)
        if abs(cents(amount) - expected) > CENT:
            raise UnbalancedDocumentError(
                f"document {number} does not add up (BR-CO-17: TaxAmount of {label} = TaxableAmount × rate): it "
                f"states {cents(amount)}, {cents(taxable)} × {rate.normalize():f} % is {expected} "
                f"(difference {cents(amount) - expected:+})",
                difference=cents(amount) - expected,
            )


def _equal(number: str, rule: str, computed: Decimal, stated: Decimal) -> None:
    if cents(computed) != cents(stated):
        difference = cents(stated) - cents(computed)
        raise UnbalancedDocumentError(
            f"document {number} does not add up ({rule}): it states {cents(stated)}, its parts make "
            f"{cents(computed)} (difference {difference:+})",
            difference=difference,
        )


def _sum(items: list[Taxed]) -> Decimal:
    return sum((item.amount for item in items), ZERO)
