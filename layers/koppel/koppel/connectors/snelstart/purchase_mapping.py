"""Pure translation of a purchase Booking into SnelStart's inkoopboeking body (B2B API v2, POST /inkoopboekingen).

Cost lines are excl. VAT (``bedrag``), deductible VAT is one ``btw`` entry per kind (InkopenHoog, InkopenLaag).
A line's VAT category picks its ledger: reverse-charged lines go to the "btw verlegd" ledger with a zero
``InkopenVerlegd`` entry that marks them; intra-EU acquisitions and imports go to ledgers whose function tells
SnelStart to self-assess the VAT, so their lines leave ``btwSoort`` out (the spec allows that on any ledger but a
"costs, every rate" or "suspense" one). Another country's VAT is refused unless a ledger for it is set. Nothing
here recomputes VAT: the Booking (koppel.booking) is already balanced. README.md has the API facts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict

from koppel.connectors.kit import describe
from koppel.connectors.snelstart.settings import (
    BTW_INKOOP,
    BTW_VERLEGD,
    MAX_INVOICE_NUMBER,
    BtwSoort,
    SnelstartSettings,
)
from koppel.errors import MappingError, PermanentError
from koppel.money import ZERO

if TYPE_CHECKING:
    from decimal import Decimal

    from koppel.booking import BookedLine, Booking
    from koppel.connectors.snelstart.mapping import IdentifierBody
    from koppel.model import SalesDocument, VatCategory


class InkoopregelBody(TypedDict):
    omschrijving: str
    grootboek: IdentifierBody
    bedrag: Decimal
    btwSoort: NotRequired[BtwSoort]


class InkoopBtwBody(TypedDict):
    btwSoort: str
    btwBedrag: Decimal


class InkoopboekingBody(TypedDict):
    factuurnummer: str
    factuurdatum: str
    leverancier: IdentifierBody
    omschrijving: str
    factuurbedrag: Decimal
    boekingsregels: list[InkoopregelBody]
    btw: list[InkoopBtwBody]


_WITHOUT_VAT: frozenset[VatCategory] = frozenset({"zero_rated", "exempt", "outside_scope"})
_BY_TREATMENT: dict[str, VatCategory] = {
    "domestic": "standard",
    "intra_eu": "intra_eu",
    "export": "export",
    "reverse_charge": "reverse_charge",
}


def supplier_invoice_number(doc: SalesDocument) -> str:
    """The supplier's own number, at most 25 characters (the end kept: it tells two invoices apart)."""
    number = doc.number.strip()
    if not number:
        raise MappingError(f"{doc.party.name}'s invoice has no number, so SnelStart cannot book it")
    return number[-MAX_INVOICE_NUMBER:]


def to_inkoopboeking(booking: Booking, leverancier_id: str, settings: SnelstartSettings) -> InkoopboekingBody:
    """The POST /inkoopboekingen body for a balanced purchase Booking; MappingError where the mapping has no place."""
    doc = booking.document
    _check_document(doc, booking, settings)
    foreign = doc.vat_country is not None and doc.vat_country != "NL"
    regels = [_foreign_regel(line, settings) if foreign else _regel(line, doc, settings) for line in booking.lines]
    if foreign:
        regels += _foreign_vat(booking, settings)
    body: InkoopboekingBody = {
        "factuurnummer": supplier_invoice_number(doc),
        "factuurdatum": f"{doc.issue_date.isoformat()}T00:00:00",
        "leverancier": {"id": leverancier_id},
        "omschrijving": describe(settings.purchase_description_template, doc)[:250],
        "factuurbedrag": booking.total,
        "boekingsregels": regels,
        "btw": [] if foreign else _btw(booking, settings),
    }
    _check_balance(body, doc.number)
    return body


def _check_document(doc: SalesDocument, booking: Booking, settings: SnelstartSettings) -> None:
    if doc.direction != "purchase":
        raise MappingError(f"document {doc.number} is a sale: SnelStart books it as a verkoopboeking")
    if doc.currency != "EUR":
        raise MappingError(f"document {doc.number} is in {doc.currency}: SnelStart bookings carry euros only")
    if doc.vat_country not in (None, "NL") and settings.foreign_vat_ledger is None:
        rates = ", ".join(f"{t.rate.normalize():f} %" for t in booking.vat_totals if t.vat != 0) or "0 %"
        raise MappingError(
            f"document {doc.number} charges {doc.vat_country} VAT ({rates}), which the default mapping cannot place: "
            "map a ledger for foreign VAT (SnelStart setting foreign_vat_ledger) or book it in SnelStart by hand"
        )


def _category(line: BookedLine, doc: SalesDocument) -> VatCategory:
    if line.vat_category is not None:
        return line.vat_category
    if doc.vat_treatment not in _BY_TREATMENT:
        raise MappingError(
            f"document {doc.number} has VAT treatment {doc.vat_treatment!r}, which a purchase cannot have: "
            "book it in SnelStart by hand"
        )
    return _BY_TREATMENT[doc.vat_treatment]


def _regel(line: BookedLine, doc: SalesDocument, settings: SnelstartSettings) -> InkoopregelBody:
    category = _category(line, doc)
    if category != "standard" and line.vat != 0:
        raise MappingError(
            f"document {doc.number}: line {line.description!r} is {category.replace('_', ' ')} but carries "
            f"{line.vat} VAT: correct the invoice's VAT in the source"
        )
    regel: InkoopregelBody = {
        "omschrijving": line.description[:250],
        "grootboek": {"id": settings.ledger_id(_ledger(line, category, doc, settings))},
        "bedrag": line.net,
    }
    if category not in ("intra_eu", "export"):
        regel["btwSoort"] = _soort(line, category, doc, settings)
    return regel


def _soort(line: BookedLine, category: VatCategory, doc: SalesDocument, settings: SnelstartSettings) -> BtwSoort:
    if category in _WITHOUT_VAT or category == "reverse_charge":
        return "Geen"
    soort = settings.btw_soort(line.vat_rate)
    if soort is None:
        raise MappingError(
            f"document {doc.number} has a line at {line.vat_rate.normalize():f} % VAT, which SnelStart cannot book as "
            'Hoog (21 %), Laag (9 %) or Geen (0 %): configure it in the SnelStart setting extra_vat_rates, e.g. {"6": '
            '"Laag"}, or book the invoice by hand'
        )
    return soort


def _ledger(line: BookedLine, category: VatCategory, doc: SalesDocument, settings: SnelstartSettings) -> int:
    by_category = {"reverse_charge": settings.cost_reverse_charge, "intra_eu": settings.cost_intra_eu,
                   "export": settings.cost_import}  # fmt: skip
    if category in by_category:
        return by_category[category]
    by_soort = {"Hoog": settings.cost_high, "Laag": settings.cost_low, "Geen": settings.cost_zero}
    default = by_soort[_soort(line, category, doc, settings)]
    return settings.cost_group_ledgers.get(line.product_group, default) if line.product_group else default


def _foreign_regel(line: BookedLine, settings: SnelstartSettings) -> InkoopregelBody:
    """A line of a foreign-VAT invoice: its net is a cost without Dutch VAT."""
    ledger = settings.cost_group_ledgers.get(line.product_group, settings.cost_zero)
    return {"omschrijving": line.description[:250], "grootboek": {"id": settings.ledger_id(ledger)},
            "bedrag": line.net, "btwSoort": "Geen"}  # fmt: skip


def _foreign_vat(booking: Booking, settings: SnelstartSettings) -> list[InkoopregelBody]:
    """The foreign VAT itself, per rate, on the ledger set for it (a cost: it cannot be reclaimed here)."""
    assert settings.foreign_vat_ledger is not None  # _check_document refused the document otherwise
    country = booking.document.vat_country
    return [
        {"omschrijving": f"{country} btw {total.rate.normalize():f} % (niet aftrekbaar)",
         "grootboek": {"id": settings.ledger_id(settings.foreign_vat_ledger)}, "bedrag": total.vat, "btwSoort": "Geen"}
        for total in booking.vat_totals
        if total.vat != 0
    ]  # fmt: skip


def _btw(booking: Booking, settings: SnelstartSettings) -> list[InkoopBtwBody]:
    """Deductible VAT per kind; a reverse-charged booking also carries InkopenVerlegd (its VAT on the invoice: 0)."""
    amounts: dict[str, Decimal] = {}
    treatment = _BY_TREATMENT.get(booking.document.vat_treatment)
    for total in booking.vat_totals:
        if (total.category or treatment) == "reverse_charge":
            amounts[BTW_VERLEGD] = amounts.get(BTW_VERLEGD, ZERO) + total.vat
            continue
        if total.vat == 0:
            continue
        soort = settings.btw_soort(total.rate)
        if soort not in BTW_INKOOP:
            raise MappingError(f"document {booking.document.number}: VAT at {total.rate} % has no SnelStart kind")
        kind = BTW_INKOOP[soort]
        amounts[kind] = amounts.get(kind, ZERO) + total.vat
    return [{"btwSoort": soort, "btwBedrag": amount} for soort, amount in amounts.items()]


def _check_balance(body: InkoopboekingBody, number: str) -> None:
    booked = sum((r["bedrag"] for r in body["boekingsregels"]), ZERO) + sum((b["btwBedrag"] for b in body["btw"]), ZERO)
    if booked != body["factuurbedrag"]:
        raise PermanentError(
            f"Koppel bug: the inkoopboeking for {number} does not balance (factuurbedrag {body['factuurbedrag']}, "
            f"lines + VAT {booked}); nothing was sent to SnelStart"
        )
