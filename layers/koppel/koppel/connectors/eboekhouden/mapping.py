"""Pure translations between Koppel and e-Boekhouden.nl's REST API (api.e-boekhouden.nl/v1): mutation and relation
bodies and VAT codes. No HTTP here; ``client`` does the calls and ``target`` puts them together.

Field names follow the REST models (CreateMutation, CreateMutationRow, CreateRelation) as the SDKs generated from
the vendor's swagger give them (README.md in this folder). A sales document is booked as an "invoice sent" mutation
(type 2): the debtors ledger (1300) on the header against one row per booked line on its revenue ledger with its
VAT code. Money paid at the till is booked with it as "invoice payment received" mutations (type 3), so a till
sale never stays open.

The amounts are sent on the basis under which e-Boekhouden's own per-row VAT gives the booking's VAT to the cent
(``vat_basis``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from koppel.connectors.eboekhouden.settings import (
    DOMESTIC_CODES,
    INVOICE_SENT,
    MAX_INVOICE_NUMBER,
    MAX_RELATION_CODE,
    MAX_TEXT,
    PAYMENT_RECEIVED,
    VENDOR,
    EboekhoudenSettings,
    InExVat,
)
from koppel.connectors.eboekhouden.vat_basis import exact_rows
from koppel.connectors.kit import describe
from koppel.errors import MappingError
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    from koppel.booking import BookedLine, Booking
    from koppel.model import Party, Payment, SalesDocument


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
                f"{percent(rate)} % VAT: correct the VAT in the source, or book it as a domestic sale"
            )
        return {"intra_eu": settings.intra_eu_vat_code, "export": "BU_EU_VERK", "reverse_charge": "VERL_VERK"}[
            doc.vat_treatment
        ]
    if doc.vat_treatment != "domestic":
        raise MappingError(
            f"document {doc.number} is an EU distance sale (OSS) at the buyer's rate, which the {VENDOR} mapping "
            "does not book: book it by hand in e-Boekhouden (AFST_VERK)"
        )
    code = DOMESTIC_CODES.get(rate)
    if code is None:
        raise MappingError(
            f"document {doc.number} has VAT rate {percent(rate)} %, which {VENDOR} books only as 21 %, 9 % or 0 %: "
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
    basis, wire_rows = exact_rows(rows, own_basis(doc), booking.total, vat_by_rate(booking))
    header = Header(INVOICE_SENT, ledger_id(settings.debtors, settings), relation_id, number)
    return invoice_body(header, doc, description(doc, settings), basis, wire_rows, settings)


class Header(NamedTuple):
    """What a mutation's header says beyond the document: its type, ledger, relation and invoice number."""

    kind: int
    ledger_id: int
    relation_id: int
    number: str


def invoice_body(
    header: Header,
    doc: SalesDocument,
    text: str,
    basis: InExVat,
    rows: list[dict[str, Any]],
    settings: EboekhoudenSettings,
) -> dict[str, Any]:
    """An invoice mutation (sent or received): its due date as the document's term, else the default term."""
    body: dict[str, Any] = {
        "type": header.kind,
        "date": doc.issue_date.isoformat(),
        "description": text[:MAX_TEXT],
        "ledgerId": header.ledger_id,
        "relationId": header.relation_id,
        "invoiceNumber": header.number,
        "termOfPayment": doc.due_days if doc.due_days is not None else settings.payment_term_days,
        "inExVat": basis,
        "rows": rows,
    }
    if doc.reference:
        body["paymentReference"] = doc.reference[:50]
    return body


def payment_mutation(
    doc: SalesDocument, payment: Payment, relation_id: int, settings: EboekhoudenSettings
) -> dict[str, Any]:
    """The POST /v1/mutation body (type 3, invoice payment received) for money taken at the till."""
    number = invoice_number(doc.number, settings)
    money = money_ledger(payment, f"document {doc.number}", settings.payment_ledgers, "payment_ledgers")
    header = Header(PAYMENT_RECEIVED, ledger_id(money, settings), relation_id, number)
    return settlement_body(header, payment, payment.amount, ledger_id(settings.debtors, settings))


def money_ledger(payment: Payment, what: str, ledgers: dict[str, str], setting: str) -> str:
    """The ledger code the money of ``payment`` moved on, by its method; a MappingError names the setting."""
    try:
        return ledgers[payment.method]
    except KeyError:
        raise MappingError(
            f"{what} was paid by {payment.method}, which has no ledger in the {VENDOR} setting {setting}: add one, "
            f'e.g. {{"{payment.method}": "1100"}}'
        ) from None


def settlement_body(header: Header, payment: Payment, amount: Decimal, open_items_ledger: int) -> dict[str, Any]:
    """An invoice payment (received, type 3, or sent, type 4): the money ledger on the header, one row that pays
    the invoice ``header.number`` of the relation from the debtors or creditors ledger."""
    text = f"{payment.description or payment.method} {header.number}"[:MAX_TEXT]
    return {
        "type": header.kind,
        "date": payment.paid_on.isoformat(),
        "description": text,
        "ledgerId": header.ledger_id,
        "relationId": header.relation_id,
        "invoiceNumber": header.number,
        "inExVat": "EX",
        "rows": [
            {
                "ledgerId": open_items_ledger,
                "vatCode": "GEEN",
                "amount": cents(amount),
                "description": text,
                "invoiceNumber": header.number,
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


def _row(line: BookedLine, doc: SalesDocument, settings: EboekhoudenSettings) -> dict[str, Any]:
    quantity = abs(line.quantity)
    text = f"{percent(quantity)} x {line.description}" if line.kind == "goods" and quantity != 1 else line.description
    return {
        "ledgerId": ledger_id(ledger_code(line, doc, settings), settings),
        "vatCode": vat_code(line.vat_rate, doc, settings),
        "net": line.net,
        "gross": line.net + line.vat,
        "description": text[:MAX_TEXT],
    }


def vat_by_rate(booking: Booking) -> dict[Decimal, Decimal]:
    totals: dict[Decimal, Decimal] = {}
    for total in booking.vat_totals:
        totals[total.rate] = totals.get(total.rate, ZERO) + total.vat
    return totals


def own_basis(doc: SalesDocument) -> InExVat:
    return "IN" if doc.prices_include_vat else "EX"


def _check_document(doc: SalesDocument) -> None:
    if doc.direction != "sales":
        raise MappingError(f"document {doc.number} is a purchase: the {VENDOR} connector books sales only")
    if doc.currency != "EUR":
        raise MappingError(f"document {doc.number} is in {doc.currency}: {VENDOR} books euros only")


def percent(value: Decimal) -> str:
    return f"{value.normalize():f}"
