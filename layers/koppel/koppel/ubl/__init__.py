"""UBL 2.1 (Peppol BIS Billing 3.0 / EN 16931) Invoice and CreditNote documents as Koppel's canonical document.

``read_ubl`` reads one document for the administration on one side of it (``ours``: "buyer" books a purchase,
"seller" a sale), checks its EN 16931 sums to the cent and that the booking balances, or refuses it: InputError for
bytes that are not a safe UBL 2.1 document, MappingError for a VAT category Koppel cannot book,
UnbalancedDocumentError for sums that do not hold. Vendor-neutral: any source that receives UBL uses it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from koppel.booking import plan_booking
from koppel.model import Line, Payment, SalesDocument
from koppel.ubl.lines import read_allowances_charges, read_lines
from koppel.ubl.parse import parse_document
from koppel.ubl.party import buyer_country, payee_iban, read_party, seller_country
from koppel.ubl.reconcile import TaxTotal, Totals, reconcile

if TYPE_CHECKING:
    from datetime import date

    from koppel.model import Party
    from koppel.ubl.lines import Taxed
    from koppel.ubl.parse import Node

__all__ = ["read_ubl"]

CREDIT_NOTE_TYPE = "381"
NOTE_LIMIT = 200


def read_ubl(data: bytes, *, ours: Literal["buyer", "seller"], source_id: str) -> SalesDocument:
    """The document as a canonical purchase (``ours="buyer"``) or sale (``ours="seller"``), reconciled to the cent."""
    root = parse_document(data)
    credit = root.name == "CreditNote" or root.text("cbc:InvoiceTypeCode") == CREDIT_NOTE_TYPE
    sign = Decimal(-1) if credit else Decimal(1)
    number = root.required_text("cbc:ID")
    issue_date = root.required_date("cbc:IssueDate")
    currency = root.required_text("cbc:DocumentCurrencyCode").upper()
    supplier = root.required("cac:AccountingSupplierParty/cac:Party")
    customer = root.required("cac:AccountingCustomerParty/cac:Party")

    lines, stated_lines = read_lines(root, sign=sign)
    extra, allowances, charges = read_allowances_charges(root, sign=sign)
    tax = TaxTotal.read(root, currency)
    totals = Totals.read(root)
    reconcile(number, stated_lines, allowances, charges, tax, totals)

    purchase = ours == "buyer"
    rounding = _rounding_line(totals.rounding, sign)
    due_days, review = _due_days(root, issue_date)
    doc = SalesDocument(
        doc_type="credit_note" if credit else "invoice",
        direction="purchase" if purchase else "sales",
        source_id=source_id,
        number=number,
        issue_date=issue_date,
        due_days=due_days,
        currency=currency,
        prices_include_vat=False,
        party=_with_term(read_party(supplier, iban=payee_iban(root)), due_days) if purchase else read_party(customer),
        lines=(*lines, *extra, *rounding),
        total=sign * (totals.tax_inclusive + totals.rounding),
        total_vat=sign * tax.amount,
        description=_note(root),
        reference=root.text("cbc:BuyerReference") or root.text("cac:OrderReference/cbc:ID"),
        payments=_prepaid(totals.prepaid, sign, issue_date),
        vat_country=_vat_country(supplier, customer, stated_lines) if purchase else None,
        review=review,
    )
    plan_booking(doc)  # raises UnbalancedDocumentError when the canonical document would not book to the cent
    return doc


def _rounding_line(rounding: Decimal, sign: Decimal) -> tuple[Line, ...]:
    if rounding == 0:
        return ()
    amount = sign * rounding
    return (
        Line(
            kind="rounding", description="Rounding", unit_price=amount, amount=amount, vat_rate=Decimal(0),
            vat_category="outside_scope",
        ),
    )  # fmt: skip


def _prepaid(prepaid: Decimal, sign: Decimal, issue_date: date) -> tuple[Payment, ...]:
    if prepaid <= 0:
        return ()
    return (Payment(method="other", amount=sign * prepaid, paid_on=issue_date, description="Prepaid"),)


def _with_term(supplier: Party, due_days: int | None) -> Party:
    """The supplier's invoice states its term: a supplier created from it gets that term as its own."""
    return supplier.model_copy(update={"payment_term_days": due_days}) if due_days is not None else supplier


def _due_days(root: Node, issue_date: date) -> tuple[int | None, tuple[str, ...]]:
    """Days from issue to due date: cbc:DueDate on an Invoice, cac:PaymentMeans/cbc:PaymentDueDate on a CreditNote."""
    path = "cbc:DueDate" if root.name == "Invoice" else "cac:PaymentMeans/cbc:PaymentDueDate"
    due = root.iso_date(path)
    if due is None:
        return None, ()
    if due < issue_date:
        return None, (f"The due date {due} is before the issue date {issue_date}: no due date was booked.",)
    return (due - issue_date).days, ()


def _note(root: Node) -> str:
    """The first line of the first cbc:Note, short (a note can hold a whole letter)."""
    note = root.text("cbc:Note").splitlines()
    return note[0].strip()[:NOTE_LIMIT] if note else ""


def _vat_country(supplier: Node, customer: Node, lines: list[Taxed]) -> str | None:
    """The seller's country when it charges VAT (a line in category S above 0 %) and is not the buyer's: foreign VAT
    the buyer cannot deduct. Unknown countries on either side: None (the administration's own)."""
    charges_vat = any(line.code == "S" and line.rate > 0 for line in lines)
    seller, buyer = seller_country(supplier), buyer_country(customer)
    return seller if charges_vat and seller and buyer and seller != buyer else None
