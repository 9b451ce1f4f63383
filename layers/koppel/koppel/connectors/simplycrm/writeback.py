"""Simply CRM as the target of payment status carried back from the accounting package (its write-back queue):
an invoice paid in full gets the ``paid_status`` (Paid); a credit invoice keeps its status (it is what marks it). A
partial payment is noted in the Invoice's ``received`` and ``balance`` fields where the CRM has them (vtiger 6 and
later [I]); without them nothing is written for it. The invoice is read first and written only when something
differs, so a repeat changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from koppel.connectors.simplycrm.fields import VENDOR, decimal, text, webservice_id
from koppel.connectors.simplycrm.mapping import SOURCE
from koppel.errors import PermanentError
from koppel.model import ExternalRef
from koppel.money import cents

if TYPE_CHECKING:
    from koppel.connectors.simplycrm.client import SimplyCrmClient
    from koppel.connectors.simplycrm.settings import SimplyCrmSettings
    from koppel.model import PaymentStatus

PAYMENT_FIELDS = ("received", "balance")


class SimplyCrmWriteBack:
    """``PaymentStatusWriter``: the payment status onto the Simply CRM invoice."""

    name: ClassVar[str] = SOURCE

    def __init__(self, client: SimplyCrmClient, settings: SimplyCrmSettings) -> None:
        self.client = client
        self.settings = settings

    def apply_payment_status(self, status: PaymentStatus) -> ExternalRef:
        ident = webservice_id(status.source_id)
        if not ident:
            raise PermanentError(f"payment status for {status.document_number} names no {VENDOR} invoice id")
        invoice = self.client.retrieve(ident)
        if invoice is None:
            raise PermanentError(f"invoice {status.document_number} no longer exists in {VENDOR}: nothing to mark paid")
        ref = ExternalRef(system=SOURCE, id=ident, number=text(invoice, "invoice_no") or status.document_number)
        if text(invoice, "invoicestatus") in self.settings.credit_statuses:
            return ref  # its status is what makes it a credit note: Paid would turn it into an invoice
        if status.status == "paid":
            if text(invoice, "invoicestatus") != self.settings.paid_status:
                self.client.revise({"id": ident, "invoicestatus": self.settings.paid_status})
            return ref
        if status.status == "partially_paid" and self._has_payment_fields():
            where = f"invoice {ref.number}"
            left = cents(status.amount_open)
            received = cents(decimal(invoice, "hdnGrandTotal", where)) - left
            held = (cents(decimal(invoice, "received", where)), cents(decimal(invoice, "balance", where)))
            if held != (received, left):
                self.client.revise({"id": ident, "received": str(received), "balance": str(left)})
        return ref

    def _has_payment_fields(self) -> bool:
        fields = {str(f.get("name")): f for f in self.client.describe("Invoice").get("fields") or []}
        return all(name in fields and fields[name].get("editable") is not False for name in PAYMENT_FIELDS)
