"""A purchase paid when it was bought (a supplier's till receipt paid by card or cash) is paid in QuickBooks too, so
its Bill does not stay open with the supplier: one ``BillPayment`` per payment, linked to the Bill. README.md in
this folder has the API facts.

Exactly once: the Bill's ``Balance`` (what is still open) is read before paying; the payments that what was paid
already covers are skipped in their order, and only the rest is paid, never more than the balance. Each create
carries a request id of the bill and the payment's place, so a create whose answer was lost is answered again, not
booked twice. A credit note's refund at the counter (a VendorCredit) is not booked: the bank feed matches it.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.kit import VendorReply, parse_reply
from koppel.connectors.quickbooks.settings import VENDOR
from koppel.errors import MappingError, PermanentError
from koppel.money import ZERO

if TYPE_CHECKING:
    from koppel.booking import Booking
    from koppel.connectors.quickbooks.client import QuickbooksClient
    from koppel.connectors.quickbooks.settings import QuickbooksSettings
    from koppel.model import Payment

log = logging.getLogger(__name__)
MAX_NOTE = 4000


class _BillPayment(VendorReply):
    Id: str
    TotalAmt: Decimal = Decimal(0)


def payments_due(booking: Booking, total: Decimal, balance: Decimal) -> list[tuple[int, Payment, Decimal]]:
    """``(place, payment, amount still to pay)`` of the payments what was paid already (``total - balance``) does
    not cover, in their order."""
    covered = max(total - balance, ZERO)
    due = []
    for place, payment in enumerate(booking.document.payments, start=1):
        taken = min(covered, payment.amount)
        covered -= taken
        if payment.amount - taken > 0:
            due.append((place, payment, payment.amount - taken))
    return due


def bill_payment_body(
    booking: Booking, vendor_id: str, bill_id: str, payment: Payment, amount: Decimal, s: QuickbooksSettings
) -> dict[str, Any]:
    """The BillPayment of one payment: drawn on the card account (``CreditCard``) or a bank account (``Check``)."""
    doc = booking.document
    how = payment.description or payment.method
    body: dict[str, Any] = {
        "VendorRef": {"value": vendor_id},
        "TxnDate": payment.paid_on.isoformat(),
        "CurrencyRef": {"value": doc.currency},
        "TotalAmt": amount,
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]}],
        "PrivateNote": f"Paid by {how} when bought: {doc.party.name}'s {doc.number} (booked by Koppel)"[:MAX_NOTE],
    }
    if payment.method == "card" and s.purchase_card_account_id:
        return {**body, "PayType": "CreditCard",
                "CreditCardPayment": {"CCAccountRef": {"value": s.purchase_card_account_id}}}  # fmt: skip
    account = (s.purchase_cash_account_id if payment.method == "cash" else "") or s.purchase_payment_account_id
    if not account:
        raise MappingError(
            f"{doc.party.name}'s {doc.number} was paid when it was bought, and no {VENDOR} bank account is set to pay "
            "it from: set purchase_payment_account_id (a Bank account's id), then deliver it again (its bill is "
            "booked already and is found, not booked twice)"
        )
    # Not a cheque to print: the money left when the purchase was made
    return {**body, "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": account}, "PrintStatus": "NotSet"}}  # fmt: skip


def pay_bill(
    client: QuickbooksClient, settings: QuickbooksSettings, booking: Booking, bill: tuple[str, str, Decimal, Decimal]
) -> None:
    """Pay what the document's payments still owe on the Bill ``(id, vendor id, TotalAmt, Balance)``."""
    bill_id, vendor_id, total, balance = bill
    for place, payment, amount in payments_due(booking, total, balance):
        body = bill_payment_body(booking, vendor_id, bill_id, payment, amount, settings)
        answer = client.create("BillPayment", body, f"koppel-billpayment-{bill_id}-{place}")
        paid = parse_reply(_BillPayment, answer.get("BillPayment"), "POST /billpayment", VENDOR)
        if paid.TotalAmt != amount:
            raise PermanentError(
                f"{VENDOR} booked bill payment {paid.Id} of {paid.TotalAmt} where {amount} was paid on "
                f"{booking.document.number}: delete it in {VENDOR} and report this",
                vendor_message=f"TotalAmt {paid.TotalAmt}",
            )
        log.info("%s bill %s paid %s (%s) by bill payment %s", VENDOR, bill_id, amount, payment.method, paid.Id)
