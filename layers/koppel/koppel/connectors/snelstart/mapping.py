"""Pure translations from Koppel's booking to SnelStart's wire shapes (B2B API v2): the verkoopboeking body and its
balance guard. No HTTP here; ``client`` does the calls and ``target`` puts them together.

The body follows SnelStart's OpenAPI description (POST /verkoopboekingen) and has the shape of SnelStart's own
examples on https://b2bapi-developer.snelstart.nl/oss-btw (``klant: {id}``, ``grootboek: {id}``,
``kostenplaats: null``, ``boekstuk``, ``btw: [...]``, ``factuurdatum`` "YYYY-MM-DDT00:00:00"); README.md in this
folder has the API facts. Revenue lines are excl. VAT (``bedrag``), the VAT to remit is one ``btw`` entry per
rate. The Booking is already balanced (koppel.booking): nothing here recomputes VAT, it only places each amount
on its ledger and btwSoort.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from koppel.connectors.kit import describe
from koppel.connectors.snelstart.settings import (
    BTW_REGEL,
    MAX_INVOICE_NUMBER,
    BtwSoort,
    SnelstartSettings,
)
from koppel.errors import MappingError, PermanentError
from koppel.money import ZERO

if TYPE_CHECKING:
    from decimal import Decimal

    from koppel.booking import BookedLine, Booking
    from koppel.model import SalesDocument


class IdentifierBody(TypedDict):
    id: str


class BoekingsregelBody(TypedDict):
    omschrijving: str
    grootboek: IdentifierBody
    kostenplaats: IdentifierBody | None
    bedrag: Decimal
    btwSoort: BtwSoort


class BtwRegelBody(TypedDict):
    btwSoort: str
    btwBedrag: Decimal


class VerkoopboekingBody(TypedDict):
    factuurnummer: str
    factuurdatum: str
    klant: IdentifierBody
    omschrijving: str
    factuurbedrag: Decimal
    betalingstermijn: int
    boekstuk: str
    eenmaligeIncassoMachtiging: None
    doorlopendeIncassoMachtiging: None
    boekingsregels: list[BoekingsregelBody]
    btw: list[BtwRegelBody]


def invoice_number(number: str, settings: SnelstartSettings) -> str:
    """Prefix + the source's document number, at most 25 characters (SnelStart's factuurnummer limit).

    When longer, the END is kept and the start dropped: shops number documents with a fixed lead and a running
    tail, so the end carries the digits that tell two invoices apart. find_booking looks up this same number.
    """
    full = f"{settings.invoice_number_prefix}{number.strip()}"
    if not number.strip():
        raise MappingError("the document has no number, so it cannot get a SnelStart factuurnummer")
    return full[-MAX_INVOICE_NUMBER:]


def to_verkoopboeking(booking: Booking, klant_id: str, settings: SnelstartSettings) -> VerkoopboekingBody:
    """The POST /verkoopboekingen body for a balanced Booking; raises MappingError where the mapping has no place."""
    doc = booking.document
    _check_document(doc)
    if doc.due_days is not None and doc.due_days > 999:
        raise MappingError(f"document {doc.number}: payment term {doc.due_days} days is more than SnelStart's 999")
    body: VerkoopboekingBody = {
        "factuurnummer": invoice_number(doc.number, settings),
        "factuurdatum": f"{doc.issue_date.isoformat()}T00:00:00",
        "klant": {"id": klant_id},
        "omschrijving": _description(doc, settings)[:250],
        "factuurbedrag": booking.total,
        "betalingstermijn": doc.due_days if doc.due_days is not None else settings.payment_term_days,
        "boekstuk": "",
        "eenmaligeIncassoMachtiging": None,
        "doorlopendeIncassoMachtiging": None,
        "boekingsregels": [_regel(line, doc, settings) for line in booking.lines],
        "btw": _btw(booking, settings),
    }
    _check_balance(body, doc.number)
    return body


def _check_document(doc: SalesDocument) -> None:
    if doc.direction != "sales":
        raise MappingError(f"document {doc.number} is a purchase: the SnelStart connector books sales only")
    if doc.currency != "EUR":
        raise MappingError(f"document {doc.number} is in {doc.currency}: SnelStart bookings carry euros only")
    if doc.vat_treatment not in ("domestic", "intra_eu", "export"):
        raise MappingError(
            f"document {doc.number} has VAT treatment {doc.vat_treatment!r}, which the SnelStart mapping does not "
            "book (it books domestic, intra-EU and export sales): book this document in SnelStart by hand"
        )


def _description(doc: SalesDocument, settings: SnelstartSettings) -> str:
    return describe(settings.description_template, doc)


def _percent(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


def _soort(rate: Decimal, doc: SalesDocument, settings: SnelstartSettings) -> BtwSoort:
    if doc.vat_treatment in ("intra_eu", "export"):
        if rate != 0:
            label = "an intra-EU (ICP)" if doc.vat_treatment == "intra_eu" else "an export"
            raise MappingError(
                f"document {doc.number} is {label} supply at 0 % but has a line at {_percent(rate)} % VAT: "
                "correct the VAT of the order in the source, or book it as a domestic sale"
            )
        return "Geen"
    soort = settings.btw_soort(rate)
    if soort is None:
        raise MappingError(
            f"document {doc.number} has VAT rate {_percent(rate)} %, which SnelStart cannot book as Hoog (21 %), "
            f'Laag (9 %) or Geen (0 %): configure it in the SnelStart setting extra_vat_rates, e.g. {{"6": "Laag"}} '
            "for orders from before 2019, or correct the VAT rate of the product in the source"
        )
    return soort


def _ledger(line: BookedLine, soort: BtwSoort, doc: SalesDocument, settings: SnelstartSettings) -> int:
    """The ledger number of a line by its role; every line of an ICP/export document goes on that ledger, so the
    VAT return reports the whole supply (goods, shipping, costs, discounts) under ICP or export."""
    if doc.vat_treatment == "intra_eu":
        return settings.revenue_intra_eu
    if doc.vat_treatment == "export":
        return settings.revenue_export
    revenue = {"Hoog": settings.revenue_high, "Laag": settings.revenue_low, "Geen": settings.revenue_zero}[soort]
    by_kind = {
        "goods": settings.product_group_ledgers.get(line.product_group, revenue) if line.product_group else revenue,
        "shipping": settings.shipping,
        "payment_fee": settings.payment_fee,
        "extra_cost": settings.extra_cost,
        "discount": settings.discount if settings.discounts_on_own_ledger else revenue,
        "rounding": settings.rounding if settings.rounding is not None else revenue,
    }
    return by_kind[line.kind]


def _regel(line: BookedLine, doc: SalesDocument, settings: SnelstartSettings) -> BoekingsregelBody:
    soort = _soort(line.vat_rate, doc, settings)
    quantity = abs(line.quantity)
    text = f"{_percent(quantity)} x {line.description}" if line.kind == "goods" and quantity != 1 else line.description
    return {
        "omschrijving": text[:250],
        "grootboek": {"id": settings.ledger_id(_ledger(line, soort, doc, settings))},
        "kostenplaats": None,
        "bedrag": line.net,
        "btwSoort": soort,
    }


def _btw(booking: Booking, settings: SnelstartSettings) -> list[BtwRegelBody]:
    """One entry per btwSoort with VAT to remit (two rates booked as the same soort are added up)."""
    amounts: dict[str, Decimal] = {}
    for total in booking.vat_totals:
        if total.vat == 0:
            continue
        soort = BTW_REGEL[_soort(total.rate, booking.document, settings)]
        amounts[soort] = amounts.get(soort, ZERO) + total.vat
    return [{"btwSoort": soort, "btwBedrag": amount} for soort, amount in amounts.items()]


def _check_balance(body: VerkoopboekingBody, number: str) -> None:
    booked = sum((r["bedrag"] for r in body["boekingsregels"]), ZERO) + sum((b["btwBedrag"] for b in body["btw"]), ZERO)
    if booked != body["factuurbedrag"]:
        raise PermanentError(
            f"Koppel bug: the verkoopboeking for {number} does not balance (factuurbedrag {body['factuurbedrag']}, "
            f"lines + VAT {booked}); nothing was sent to SnelStart"
        )
