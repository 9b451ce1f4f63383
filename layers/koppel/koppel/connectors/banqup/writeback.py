"""Banqup as the target of payment status carried back from the accounting package (its write-back queue): a
purchase invoice gets Banqup's mark-as-paid task with the amount paid since (a part is allowed, never more than is
open), a sales invoice its payment status. The file is read first and written only where Banqup differs from the
books, so a repeat finds nothing left to do. README.md in this folder tags the routes [V]/[I]."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.banqup.fields import SOURCE, VENDOR, BanqupFile
from koppel.errors import PermanentError
from koppel.model import ExternalRef
from koppel.money import cents

if TYPE_CHECKING:
    from koppel.connectors.banqup.client import BanqupClient
    from koppel.model import PaymentStatus

GONE = ("voided", "cancelled", "deleted")
ZERO = Decimal("0.00")


class BanqupWriteBack:
    """``PaymentStatusWriter``: the books' payment status onto the Banqup file (``status.source_id``)."""

    name: ClassVar[str] = SOURCE

    def __init__(self, client: BanqupClient) -> None:
        self.client = client

    def apply_payment_status(self, status: PaymentStatus) -> ExternalRef:
        if not status.source_id:
            raise PermanentError(f"payment status for {status.document_number} names no {VENDOR} file")
        file = self.client.file(status.source_id)
        ref = ExternalRef(system=SOURCE, id=file.id, number=status.document_number)
        if file.category != "INVOICE" or status.status in GONE:
            return ref  # Banqup tracks payment of invoices only; a booking undone in the books leaves Banqup as is
        paid = self._paid_in_books(file, status)
        if file.folder == "PURCHASES":
            self._mark_paid(file, paid, status)
        else:
            self._sales_status(file, paid, status)
        return ref

    def _paid_in_books(self, file: BanqupFile, status: PaymentStatus) -> Decimal | None:
        """What the books show as paid of the file's amount due; None when Banqup knows no amount due."""
        if file.payableAmount is None:
            if status.status == "paid" or cents(status.amount_open) <= 0:
                return None
            raise PermanentError(
                f"{VENDOR} knows no amount due for {status.document_number}, so its part payment cannot be carried "
                f"back: mark it in {VENDOR} by hand"
            )
        return max(cents(file.payableAmount) - max(cents(status.amount_open), ZERO), ZERO)

    def _mark_paid(self, file: BanqupFile, paid: Decimal | None, status: PaymentStatus) -> None:
        on = {"paymentDate": status.updated_at.date().isoformat()}
        if paid is None:  # paid in full, of an amount Banqup does not know: one mark without an amount
            if file.paymentStatus != "FULLY_PAID":
                self.client.task(file.id, "mark-as-paid", on)
            return
        held = cents(file.paidAmount)
        if paid < held:  # a payment was undone in the books: start again from unpaid, as Banqup allows
            self.client.task(file.id, "mark-as-unpaid", {})
            held = ZERO
        payable = cents(file.payableAmount or ZERO)
        amount = min(paid - held, payable - held)
        if amount > 0:
            self.client.task(file.id, "mark-as-paid", {"amount": amount, **on})

    def _sales_status(self, file: BanqupFile, paid: Decimal | None, status: PaymentStatus) -> None:
        body: dict[str, Any]
        if paid is None or paid >= cents(file.payableAmount or ZERO):
            body = {"paymentStatus": "FULLY_PAID"}
        elif paid > 0:
            body = {"paymentStatus": "PARTIALLY_PAID", "amount": paid}
        else:
            body = {"paymentStatus": "UNPAID"}
        same = body["paymentStatus"] == file.paymentStatus
        if same and (body["paymentStatus"] != "PARTIALLY_PAID" or cents(file.paidAmount) == paid):
            return
        self.client.payment_status(file.id, body)
