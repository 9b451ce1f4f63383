"""A document that arrives paid (a till sale settled on the spot, an invoice its source marks paid, a supplier's
till receipt paid by card or cash at the counter) is paid in Billy too: a bank payment on the approved invoice or
bill, from or into a payment-enabled account (``cash_account_id``; a bill ``purchase_cash_account_id`` if set).

``POST /v2/bankPayments`` ``{"bankPayment": {entryDate, cashAmount, cashSide, cashAccountId, associations:
[{"subjectReference": "invoice:<id>" | "bill:<id>"}]}}``; ``cashSide`` ``debit`` is a deposit (an invoice; a
supplier's credit note [I]), ``credit`` a withdrawal (a bill; a credit note paid back) [V
https://www.billy.dk/api/ "Posting a payment for an invoice"]; ``cashAmount`` is in the cash account's currency and
``cashExchangeRate`` must be set when that differs from the subject's [V bankPayments]. Billy does not refuse an
overpayment: the excess goes to the contact's balance [V], so Koppel never sends more than the ``balance`` Billy
answers just before. A bank payment carries no text or key of ours [V: its properties], so exactly once rests on
that balance: a retry reads it again and 0 means done.

- Paid in full (``is_paid``, or ``payments`` adding up to the total): one bank payment of the open balance, dated
  the last payment's date (or the document's issue date).
- Paid in part (``payments`` short of the total, ``is_paid`` false): the payments carry no identity of their own,
  so what the document says was paid is compared with the bank payments Billy holds on the subject (its
  ``balanceModifiers`` of a ``bankPayment:``): the difference, never more than the balance, is one bank payment
  dated the last payment's date. A second delivery with a further payment adds only the new part.
- The cash account is in another currency than the document: a payment-enabled account in the document's currency
  is used instead; without one the document is parked (it carries no exchange rate, and Billy needs one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from koppel.connectors.billy.reconcile import money
from koppel.connectors.billy.settings import VENDOR
from koppel.errors import PermanentError
from koppel.model import PaymentStatus
from koppel.money import ZERO

if TYPE_CHECKING:
    from koppel.booking import Booking
    from koppel.connectors.billy.client import BillyClient
    from koppel.model import PaymentState, SalesDocument

NO_CASH_ACCOUNT = (
    "connect a bank account in Billy (Settings > Bank accounts, one that takes payments), then sync the connection "
    "again so Koppel reads it (cash_account_id), and replay"
)


@dataclass(frozen=True)
class Subject:
    """What a bank payment pays: a sales invoice (money in) or a supplier's bill (money out)."""

    kind: Literal["invoice", "bill"]
    number_field: str
    money_in: str
    """The ``type`` whose payment is a deposit (``debit``): an invoice, or a supplier's credit note [I]."""

    def describe(self, record: dict[str, Any], ident: str) -> str:
        kind = record.get("type") or self.kind
        if self.kind == "bill":
            kind = "supplier's credit note" if kind == "creditNote" else "bill"
            return (
                f"{kind} {record.get(self.number_field)} of {record.get('contactName') or 'the supplier'} (id {ident})"
            )
        return f"{kind} {record.get(self.number_field)} (id {ident})"


INVOICE = Subject("invoice", "invoiceNo", "invoice")
BILL = Subject("bill", "suppliersInvoiceNo", "creditNote")


def wanted(doc: SalesDocument) -> tuple[bool, Decimal]:
    """(paid in full, what the payments add up to, as a positive amount)."""
    paid = abs(sum((payment.amount for payment in doc.payments), ZERO))
    return doc.is_paid or (bool(doc.payments) and paid >= abs(doc.total)), paid


def entry_date(doc: SalesDocument) -> date:
    return max((payment.paid_on for payment in doc.payments), default=doc.issue_date)


def settle(client: BillyClient, booking: Booking, ident: str, subject: Subject = INVOICE) -> None:
    """Pays what the document says was paid and Billy still holds open on the approved invoice (or bill); nothing
    when the document is unpaid or the balance is already 0."""
    doc = booking.document
    full, paid = wanted(doc)
    if not full and paid <= 0:
        return
    record = client.get_one(f"{subject.kind}s", ident, f"{subject.kind}.balanceModifiers:embed")
    if record is None or record.get("state") != "approved":
        return
    balance = money(record.get("balance"))
    if record.get("isPaid") is True or balance <= 0:
        return
    amount = balance if full else min(balance, paid - _held(record))
    if amount <= 0:
        return
    what = subject.describe(record, ident)
    chosen = client.settings.cash_account_id
    if subject is BILL:
        chosen = client.settings.purchase_cash_account_id or chosen
    account = _cash_account(client, chosen, str(record.get("currencyId") or doc.currency), what)
    body = {
        "entryDate": entry_date(doc).isoformat(),
        "cashAmount": amount,
        "cashSide": "debit" if record.get("type", subject.kind) == subject.money_in else "credit",
        "cashAccountId": account,
        "associations": [{"subjectReference": f"{subject.kind}:{ident}"}],
    }
    try:
        client.write("POST", "bankPayments", body)
    except PermanentError as error:
        raise PermanentError(
            f"{VENDOR} refused the payment of {amount} on {what}: {error}. The {what} stays booked and approved, "
            f"unpaid: register the payment in {VENDOR} by hand, or correct the cause and replay",
            status=error.status,
            vendor_message=error.vendor_message or str(error),
        ) from error


def _held(invoice: dict[str, Any]) -> Decimal:
    """What bank payments already paid on the invoice or bill (voided ones not)."""
    modifiers = invoice.get("balanceModifiers") or []
    return sum(
        (
            money(m.get("amount"))
            for m in modifiers
            if isinstance(m, dict)
            and str(m.get("modifierReference") or "").startswith("bankPayment:")
            and not m.get("isVoided")
        ),
        ZERO,
    )


def _cash_account(client: BillyClient, chosen: str, currency: str, what: str) -> str:
    """The chosen cash account when it is in the subject's currency, else a payment-enabled account that is;
    parked when there is none (the document carries no exchange rate for ``cashExchangeRate``)."""
    if not chosen:
        raise PermanentError(
            f"{what} is booked and approved but not paid: {VENDOR} has no cash account: {NO_CASH_ACCOUNT}"
        )
    accounts = client.list_all("accounts")
    usable = [a for a in accounts if a.get("isPaymentEnabled") and not a.get("isArchived")]
    mine = next((a for a in usable if str(a.get("id")) == chosen), None)
    base = client.settings.organization_currency
    if str((mine or {}).get("currencyId") or base) == currency:
        return chosen
    same = [a for a in usable if str(a.get("currencyId") or base) == currency]
    if same:
        return str(same[0]["id"])
    held_in = str((mine or {}).get("currencyId") or base)
    raise PermanentError(
        f"{what} is booked and approved but not paid: it is in {currency} and the cash account in {held_in}; "
        f"{VENDOR} needs the exchange rate of such a payment (cashExchangeRate) and the document does not carry it. "
        f"Add a bank account in {currency} in {VENDOR} and replay, or register the payment in {VENDOR} by hand"
    )


def status_of(invoice: dict[str, Any] | None, number: str, today: date, currency: str, now: Any) -> PaymentStatus:
    """What is open of an invoice or a bill as Billy holds it (None: it is gone); a bill's gross is amount + tax."""
    if invoice is None:
        return PaymentStatus(
            document_number=number, status="deleted", amount_open=Decimal(0), currency=currency, updated_at=now
        )
    balance = money(invoice.get("balance"))
    gross = money(invoice.get("grossAmount", money(invoice.get("amount")) + money(invoice.get("tax"))))
    due = date.fromisoformat(str(invoice["dueDate"])[:10]) if invoice.get("dueDate") else None
    state: PaymentState
    if invoice.get("isPaid") or balance <= 0:
        state, balance = "paid", Decimal(0)
    elif due is not None and due < today:
        state = "overdue"
    else:
        state = "partially_paid" if balance < gross else "open"
    return PaymentStatus(
        document_number=number, status=state, amount_open=balance, updated_at=now, due_date=due,
        currency=str(invoice.get("currencyId") or currency),
    )  # fmt: skip
