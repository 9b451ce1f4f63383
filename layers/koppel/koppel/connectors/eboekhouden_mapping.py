"""Pure translations between Koppel and e-Boekhouden.nl's REST API (api.e-boekhouden.nl/v1): mutation and relation
bodies, VAT codes, error bodies. No HTTP here; eboekhouden.py does the calls.

Field names follow the REST models (CreateMutation, CreateMutationRow, CreateRelation) as VENDORS.md §7a and the
generated SDKs give them. A sales document is booked as an "invoice sent" mutation (type 2): the debtors ledger
(1300) on the header against one row per booked line on its revenue ledger with its VAT code. Money paid at the
till is booked with it as "invoice payment received" mutations (type 3), so a till sale never stays open.

e-Boekhouden computes the VAT of each row itself from its ``vatCode`` (rounded per row), from amounts excl. VAT
(``inExVat`` EX) or incl. VAT (IN). The Booking is already balanced (koppel.booking), so this module picks the basis
under which e-Boekhouden's own per-row computation reproduces the booking's total and VAT to the cent: the
document's own basis first, the other one second; when neither does (several ledgers at one rate whose per-row
rounding differs), IN, which keeps the total exact and can move at most a cent of VAT between rates' rows.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from koppel.connectors.connector_kit import DescriptionTemplate, describe
from koppel.errors import MappingError, PermanentError
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    import requests

    from koppel.booking import BookedLine, Booking
    from koppel.model import Party, Payment, SalesDocument

VENDOR = "e-Boekhouden.nl"
INVOICE_SENT = 2
PAYMENT_RECEIVED = 3
MAX_INVOICE_NUMBER = 50
MAX_RELATION_CODE = 15
MAX_TEXT = 50
"""Descriptions are cut to 50 characters: no public source gives the limit, so the shortest one seen is assumed."""
InExVat = Literal["IN", "EX"]

VAT_RATES: dict[str, Decimal] = {"HOOG_VERK_21": Decimal(21), "LAAG_VERK_9": Decimal(9)}
"""The rate e-Boekhouden applies per sales VAT code; every other sales code books 0 % VAT in the row."""
_DOMESTIC_CODES = {Decimal(21): "HOOG_VERK_21", Decimal(9): "LAAG_VERK_9", Decimal(0): "GEEN"}


class EboekhoudenSettings(BaseModel):
    """One connection's e-Boekhouden mapping, by ledger code; the defaults are e-Boekhouden's standard chart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = "https://api.e-boekhouden.nl"
    source: str = Field(default="Koppel", pattern=r"^[A-Za-z0-9]{1,10}$")
    """The integration code e-Boekhouden asks for when a session is opened (at most 10 letters or digits)."""
    debtors: str = "1300"
    revenue_high: str = "8000"
    revenue_low: str = "8010"
    revenue_zero: str = "8020"
    revenue_intra_eu: str = "8030"
    revenue_export: str = "8040"
    shipping: str | None = None
    payment_fee: str | None = None
    extra_cost: str | None = None
    """Ledgers for shipping, payment fees and extra costs; None books them on the revenue ledger of their rate
    (e-Boekhouden's standard chart has no ledger of their own for them)."""
    discount: str = "8090"
    discounts_on_own_ledger: bool = True
    rounding: str | None = None
    product_group_ledgers: dict[str, str] = Field(default_factory=dict)
    """Product group → revenue ledger code for goods of that group (domestic documents)."""
    payment_ledgers: dict[str, str] = Field(
        default_factory=lambda: {"cash": "1000", "card": "1100", "bank": "1100", "voucher": "1100", "other": "1100"}
    )
    """Payment method → the ledger the money arrives on: the till's cash on 1000 Kas, PIN and the rest on 1100."""
    intra_eu_vat_code: Literal["BI_EU_VERK", "BI_EU_VERK_D"] = "BI_EU_VERK"
    """ICP goods (BI_EU_VERK) or services (BI_EU_VERK_D) for intra-EU supplies at 0 %."""
    ledger_ids: dict[str, int] = Field(default_factory=dict)
    """Ledger code → e-Boekhouden's ledger id, synced from the administration (connect, and every chart sync)."""
    payment_term_days: int = Field(default=14, ge=0, le=999)
    description_template: DescriptionTemplate = "Factuur {number}"
    invoice_number_prefix: str = Field(default="", max_length=MAX_INVOICE_NUMBER - 1)
    rate_limit_per_second: int = Field(default=0, ge=0)
    rate_limit_per_minute: int = Field(default=0, ge=0)
    """Client-side limits (0 = none): e-Boekhouden publishes none."""


def invoice_number(number: str, settings: EboekhoudenSettings) -> str:
    """Prefix + the source's number. e-Boekhouden wants it to end with a digit and to be at most 50 long."""
    full = f"{settings.invoice_number_prefix}{number.strip()}"
    if not number.strip():
        raise MappingError(f"the document has no number, so it cannot get an {VENDOR} invoice number")
    if not full[-1].isdigit():
        raise MappingError(
            f"document {number}: {VENDOR} needs an invoice number that ends with a digit; "
            "number the documents in the source so that they end with their sequence number"
        )
    return full[-MAX_INVOICE_NUMBER:]


def vat_code(rate: Decimal, doc: SalesDocument, settings: EboekhoudenSettings) -> str:
    """The sales VAT code of a row, by the document's VAT treatment and the line's rate."""
    if doc.vat_treatment in ("intra_eu", "export", "reverse_charge"):
        if rate != 0:
            raise MappingError(
                f"document {doc.number} is a {doc.vat_treatment.replace('_', '-')} sale but has a line at "
                f"{_percent(rate)} % VAT: correct the VAT in the source, or book it as a domestic sale"
            )
        return {"intra_eu": settings.intra_eu_vat_code, "export": "BU_EU_VERK", "reverse_charge": "VERL_VERK"}[
            doc.vat_treatment
        ]
    if doc.vat_treatment != "domestic":
        raise MappingError(
            f"document {doc.number} is an EU distance sale (OSS) at the buyer's rate, which the {VENDOR} mapping "
            "does not book: book it by hand in e-Boekhouden (AFST_VERK)"
        )
    code = _DOMESTIC_CODES.get(rate)
    if code is None:
        raise MappingError(
            f"document {doc.number} has VAT rate {_percent(rate)} %, which {VENDOR} books only as 21 %, 9 % or 0 %: "
            "correct the VAT rate of the product in the source"
        )
    return code


def ledger_code(line: BookedLine, doc: SalesDocument, settings: EboekhoudenSettings) -> str:
    """The ledger of a line by its role; every line of an ICP or export sale goes on that ledger."""
    if doc.vat_treatment == "intra_eu":
        return settings.revenue_intra_eu
    if doc.vat_treatment == "export":
        return settings.revenue_export
    revenue = {Decimal(21): settings.revenue_high, Decimal(9): settings.revenue_low}.get(
        line.vat_rate, settings.revenue_zero
    )
    by_kind = {
        "goods": settings.product_group_ledgers.get(line.product_group, revenue),
        "shipping": settings.shipping or revenue,
        "payment_fee": settings.payment_fee or revenue,
        "extra_cost": settings.extra_cost or revenue,
        "discount": settings.discount if settings.discounts_on_own_ledger else revenue,
        "rounding": settings.rounding or revenue,
    }
    return by_kind[line.kind]


def ledger_id(code: str, settings: EboekhoudenSettings) -> int:
    try:
        return settings.ledger_ids[code]
    except KeyError:
        raise MappingError(
            f"ledger {code} does not exist in the {VENDOR} administration: add it in e-Boekhouden "
            "(Beheer > Inrichting > Grootboekrekeningen) or map to another ledger; the next chart sync picks it up"
        ) from None


def invoice_mutation(booking: Booking, relation_id: int, settings: EboekhoudenSettings) -> dict[str, Any]:
    """The POST /v1/mutation body (type 2, invoice sent) for a balanced Booking."""
    doc = booking.document
    _check_document(doc)
    number = invoice_number(doc.number, settings)
    rows = [_row(line, doc, settings) for line in booking.lines]
    basis, wire_rows = _exact_rows(booking, rows)
    body: dict[str, Any] = {
        "type": INVOICE_SENT,
        "date": doc.issue_date.isoformat(),
        "description": description(doc, settings)[:MAX_TEXT],
        "ledgerId": ledger_id(settings.debtors, settings),
        "relationId": relation_id,
        "invoiceNumber": number,
        "termOfPayment": doc.due_days if doc.due_days is not None else settings.payment_term_days,
        "inExVat": basis,
        "rows": wire_rows,
    }
    if doc.reference:
        body["paymentReference"] = doc.reference[:50]
    return body


def payment_mutation(
    doc: SalesDocument, payment: Payment, relation_id: int, settings: EboekhoudenSettings
) -> dict[str, Any]:
    """The POST /v1/mutation body (type 3, invoice payment received) for money taken at the till."""
    number = invoice_number(doc.number, settings)
    text = f"{payment.description or payment.method} {number}"[:MAX_TEXT]
    try:
        money_ledger = settings.payment_ledgers[payment.method]
    except KeyError:
        raise MappingError(
            f"document {doc.number} was paid by {payment.method}, which has no ledger in the {VENDOR} setting "
            f'payment_ledgers: add one, e.g. {{"{payment.method}": "1100"}}'
        ) from None
    return {
        "type": PAYMENT_RECEIVED,
        "date": payment.paid_on.isoformat(),
        "description": text,
        "ledgerId": ledger_id(money_ledger, settings),
        "relationId": relation_id,
        "invoiceNumber": number,
        "inExVat": "EX",
        "rows": [
            {
                "ledgerId": ledger_id(settings.debtors, settings),
                "vatCode": "GEEN",
                "amount": cents(payment.amount),
                "description": text,
                "invoiceNumber": number,
            }
        ],
    }


def relation_body(party: Party, settings: EboekhoudenSettings) -> dict[str, Any]:
    """CreateRelation / the PATCH of one: a business (B) or a private person (P); empty fields left out."""
    address = party.billing_address
    body: dict[str, Any] = {
        "type": "B" if party.is_business else "P",
        "code": party.code[:MAX_RELATION_CODE],
        "name": party.name[:100],
        "contact": party.contact_name[:150],
        "address": address.street[:150],
        "postalCode": address.postcode[:50],
        "city": address.city[:50],
        "country": address.country_code or "",
        "phoneNumber": party.phone[:50],
        "mobilePhoneNumber": party.mobile[:50],
        "emailAddress": (party.email or "")[:150],
        "vatNumber": party.vat_number[:50],
        "companyRegistrationNumber": party.coc_number[:50],
        "iban": party.iban[:50],
        "termOfPayment": settings.payment_term_days,
    }
    return {key: value for key, value in body.items() if value not in ("", None)}


def description(doc: SalesDocument, settings: EboekhoudenSettings) -> str:
    return describe(settings.description_template, doc)


def predicted_totals(rows: list[dict[str, Any]], basis: InExVat) -> tuple[Decimal, Decimal]:
    """(total incl. VAT, VAT) as e-Boekhouden computes them from these rows: VAT per row, rounded half-up."""
    total = vat = ZERO
    for row in rows:
        rate = VAT_RATES.get(row["vatCode"], ZERO)
        amount: Decimal = row["amount"]
        row_vat = cents(amount * rate / (100 + rate)) if basis == "IN" else cents(amount * rate / 100)
        vat += row_vat
        total += amount if basis == "IN" else amount + row_vat
    return total, vat


def _row(line: BookedLine, doc: SalesDocument, settings: EboekhoudenSettings) -> dict[str, Any]:
    quantity = abs(line.quantity)
    text = f"{_percent(quantity)} x {line.description}" if line.kind == "goods" and quantity != 1 else line.description
    return {
        "ledgerId": ledger_id(ledger_code(line, doc, settings), settings),
        "vatCode": vat_code(line.vat_rate, doc, settings),
        "net": line.net,
        "gross": line.net + line.vat,
        "description": text[:MAX_TEXT],
    }


def _wire_row(row: dict[str, Any], basis: InExVat) -> dict[str, Any]:
    return {
        "ledgerId": row["ledgerId"],
        "vatCode": row["vatCode"],
        "amount": row["gross"] if basis == "IN" else row["net"],
        "description": row["description"],
    }


def _exact_rows(booking: Booking, rows: list[dict[str, Any]]) -> tuple[InExVat, list[dict[str, Any]]]:
    """Rows under which e-Boekhouden's own per-row VAT gives the booking's total and VAT to the cent: the document's
    basis, else the other one; else (a document mixing price-included and excluded taxes, whose lines Odoo rounds
    each its own way) the document's basis with a few cents of a row split off until each rate's VAT is exact."""
    own: InExVat = "IN" if booking.document.prices_include_vat else "EX"
    other: InExVat = "EX" if own == "IN" else "IN"
    for basis in (own, other):
        wired = [_wire_row(r, basis) for r in rows]
        if predicted_totals(wired, basis) == (booking.total, booking.vat_total):
            return basis, wired
    for basis in (own, other):
        split = _split_for_vat(booking, [_wire_row(r, basis) for r in rows], basis)
        if split is not None:
            return basis, split
    return "IN", [_wire_row(r, "IN") for r in rows]


def _split_for_vat(booking: Booking, rows: list[dict[str, Any]], basis: InExVat) -> list[dict[str, Any]] | None:
    """Per rate, move a few cents of the largest row into small rows of their own (same ledger and code) so that
    the per-row rounding adds up to the booking's VAT of that rate; None when a few small rows cannot do it."""
    rows = list(rows)
    for code, rate in VAT_RATES.items():
        want = sum((t.vat for t in booking.vat_totals if t.rate == rate), ZERO)
        ours = [r for r in rows if r["vatCode"] == code]
        missing = want - predicted_totals(ours, basis)[1]
        if missing == 0:
            continue
        largest = max(ours, key=lambda r: abs(r["amount"]), default=None)
        parts = _split(largest["amount"], rate, basis, missing) if largest else None
        if largest is None or parts is None:
            return None
        at = rows.index(largest)
        rows[at : at + 1] = [{**largest, "amount": part} for part in parts]
    if predicted_totals(rows, basis) != (booking.total, booking.vat_total):
        return None
    return rows


def _split(amount: Decimal, rate: Decimal, basis: InExVat, missing: Decimal) -> list[Decimal] | None:
    """``amount`` as one large and a few equal small amounts whose rounded VAT adds up to ``missing`` more than
    ``amount``'s own (hand-written: a search over at most 5 × 199 candidates, each a few multiplications)."""

    def vat(value: Decimal) -> Decimal:
        return cents(value * rate / (100 + rate)) if basis == "IN" else cents(value * rate / 100)

    sign = Decimal(1) if amount >= 0 else Decimal(-1)
    target = vat(amount) + missing
    for count in range(1, 6):
        for k in range(1, 200):
            small = sign * Decimal(k) / 100
            large = amount - count * small
            if large * sign > 0 and vat(large) + count * vat(small) == target:
                return [large, *([small] * count)]
    return None


def _check_document(doc: SalesDocument) -> None:
    if doc.direction != "sales":
        raise MappingError(f"document {doc.number} is a purchase: the {VENDOR} connector books sales only")
    if doc.currency != "EUR":
        raise MappingError(f"document {doc.number} is in {doc.currency}: {VENDOR} books euros only")


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}"


def describe_error(response: requests.Response) -> str:
    """e-Boekhouden's own words for a failed call: ``{"code", "message", "title", "status"}`` as one sentence."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    if isinstance(data, dict) and (data.get("message") or data.get("code")):
        code = str(data.get("code") or "")
        message = str(data.get("message") or data.get("title") or "")
        return f"{code}: {message}" if code else message
    text = " ".join(response.text.split())
    return text[:500] if text else response.reason or "no message"


def error_code(message: str) -> str:
    """The vendor code at the start of a described error (``MUTA_915: ...`` → ``MUTA_915``)."""
    found = re.match(r"^([A-Z_]+_\d{3})\b", message)
    return found.group(1) if found else ""


def check_balance(body: dict[str, Any], booking: Booking) -> None:
    """A last guard before sending: what e-Boekhouden will compute must equal the booking's total."""
    total, _ = predicted_totals(body["rows"], body["inExVat"])
    if total != booking.total:
        raise PermanentError(
            f"Koppel bug: the mutation for {booking.document.number} would book {total} where the document totals "
            f"{booking.total}; nothing was sent to {VENDOR}"
        )
