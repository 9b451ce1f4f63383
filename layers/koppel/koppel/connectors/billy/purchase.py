"""Billy's purchase side (``contract.PurchaseTarget``, ``AttachmentTarget``, ``PurchaseStatusReader``): a supplier's
invoice or credit note becomes a bill of the supplier's contact, drafted, checked against the booking to the cent
and approved; the original file is uploaded and attached to it once; what is still to be paid is read back.

Exactly once: Billy takes no idempotency key and does not keep a supplier's invoice number unique (one number may
come from two suppliers), so a bill is looked up by the supplier's contact and ``suppliersInvoiceNo`` first
[V: both are documented bill filters]; a draft found there (a crash between creating and approving) is checked
and approved, never created again. An attachment is looked up on the bill by its file name before uploading.

A purchase that arrives paid (a supplier's till receipt paid by card or cash) is paid in Billy once its bill is
approved: a bank payment (``cashSide: credit``) of at most the balance Billy holds open (payments.py); a retry that
finds the bill approved and open pays it there, one that finds it paid pays nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel.connectors.billy import payments
from koppel.connectors.billy import purchase_mapping as bills
from koppel.connectors.billy.client import first_saved
from koppel.connectors.billy.settings import SYSTEM, VENDOR
from koppel.errors import PermanentError
from koppel.model import ExternalRef

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from koppel.booking import Booking
    from koppel.connectors.billy.client import BillyClient
    from koppel.connectors.billy.settings import BillySettings
    from koppel.connectors.contract import AttachedFile, ConnectorContext
    from koppel.model import Party, PaymentStatus

LINES = "bill.lines:embed"
ATTACHED = "bill.attachments:embed,attachment.file:embed"


class BillyPurchases:
    """The purchase half of ``BillyTarget``."""

    client: BillyClient
    settings: BillySettings
    _ctx: ConnectorContext

    # -- suppliers ------------------------------------------------------------------------------------------------
    def find_supplier(self, party: Party) -> ExternalRef | None:
        """By VAT number, then KvK (CVR) number — both as Billy's one ``registrationNo`` — then by exact name; a
        contact that is not archived first. Billy documents no filter on these, so the contacts are listed. A
        customer found this way is made a supplier too (Billy books bills only for suppliers [I])."""
        contacts = self.client.list_all("contacts")
        contacts.sort(key=lambda contact: bool(contact.get("isArchived")))
        keys = (
            ("registrationNo", bills.registration(party.vat_number)),
            ("registrationNo", bills.registration(party.coc_number)),
            ("name", party.name.strip().casefold()),
        )
        for field, wanted in keys:
            for contact in contacts:
                held = str(contact.get(field) or "")
                if wanted and wanted == (bills.registration(held) if field != "name" else held.strip().casefold()):
                    if not contact.get("isSupplier"):
                        self.client.write("PUT", "contacts", {"isSupplier": True}, str(contact["id"]))
                    return _contact_ref(contact)
        return None

    def create_supplier(self, party: Party) -> ExternalRef:
        answer = self.client.write("POST", "contacts", bills.supplier_body(party, self.settings))
        return _contact_ref(first_saved(answer, "contacts", "POST /v2/contacts"))

    # -- bills ----------------------------------------------------------------------------------------------------
    def find_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        """The bill of this supplier under its invoice number; a draft of it is checked and approved first."""
        bill = self._bill(supplier.id, booking.document.number)
        if bill is None:
            return None
        if bill.get("state") == "draft":
            return self._approve_bill(
                booking, bills.choose_layout(booking, self.settings), bill, bill.get("lines") or []
            )
        if bill.get("state") == "approved":  # a crash before or during its payment: paid now, at most its balance
            payments.settle(self.client, booking, str(bill["id"]), payments.BILL)
        return _bill_ref(bill)

    def post_purchase(self, booking: Booking, supplier: ExternalRef, request_id: str) -> ExternalRef:
        """The bill drafted, checked against the booking, then approved. ``request_id`` is not sent (Billy takes
        no idempotency key): the look-up by supplier and invoice number is the guard."""
        bills.refuse_foreign_vat(booking, self.settings)
        layout = bills.choose_layout(booking, self.settings)
        body = bills.bill_body(booking, layout, supplier.id, self.settings, self._credited_bill(booking, supplier.id))
        answer = self.client.write("POST", "bills", body)
        bill = first_saved(answer, "bills", "POST /v2/bills")
        lines = [line for line in answer.get("billLines") or [] if line.get("billId") == bill["id"]]
        if len(lines) != len(layout.lines):  # Billy answers only what changed: read the lines it holds
            lines = (self.client.get_one("bills", str(bill["id"]), LINES) or {}).get("lines") or lines
        return self._approve_bill(booking, layout, bill, lines)

    def _approve_bill(
        self, booking: Booking, layout: bills.BillLayout, bill: dict[str, Any], lines: list[dict[str, Any]]
    ) -> ExternalRef:
        found = bills.differences(booking, layout, bill, lines)
        if found:
            raise PermanentError(
                f"{VENDOR} computed bill {bill.get('suppliersInvoiceNo')} of "
                f"{bill.get('contactName') or 'the supplier'} (id {bill['id']}) differently from the booking: "
                f"{'; '.join(found)}. It is left as a draft, not approved: check the purchase tax rates of its "
                f"lines in {VENDOR}, delete the draft, then replay",
                vendor_message="; ".join(found),
            )
        approved = self.client.approve("bills", bill)
        payments.settle(self.client, booking, str(bill["id"]), payments.BILL)  # paid at the counter: paid in Billy
        return _bill_ref(approved)

    def _credited_bill(self, booking: Booking, contact_id: str) -> str | None:
        """The bill a supplier's credit note credits, when the document names it and Billy holds it."""
        doc = booking.document
        if doc.doc_type != "credit_note" or not doc.reference:
            return None
        bill = self._bill(contact_id, doc.reference)
        return str(bill["id"]) if bill is not None and bill.get("type") != "creditNote" else None

    def _bill(self, contact_id: str, number: str) -> dict[str, Any] | None:
        found = self.client.list_all("bills", {"contactId": contact_id, "suppliersInvoiceNo": number, "include": LINES})
        rows = [  # re-checked: a filter Billy ignored must not link another supplier's bill
            row for row in found
            if str(row.get("contactId")) == contact_id and str(row.get("suppliersInvoiceNo") or "") == number
            and row.get("state") != "voided"
        ]  # fmt: skip
        return rows[0] if rows else None

    # -- what is still to be paid -----------------------------------------------------------------------------------
    def purchase_status(self, purchases: Sequence[ExternalRef]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """Each bill read by its id: ``balance``, ``isPaid`` and ``dueDate`` [V bill fields]; None when it is paid,
        ``deleted`` when Billy no longer has it. A bill is paid in Billy by a bank payment on ``bill:<id>``."""
        now = self._ctx.clock()
        for ref in purchases:
            bill = self.client.get_one("bills", ref.id)
            status = payments.status_of(
                bill, ref.number or ref.id, now.date(), self.settings.organization_currency, now
            )
            yield ref.id, None if status.status == "paid" else status

    # -- the original file ----------------------------------------------------------------------------------------
    def attach(self, ref: ExternalRef, file: AttachedFile) -> None:
        """Upload the file (``POST /v2/files``, raw, ``X-Filename``) and attach it to the bill (``POST
        /v2/attachments`` with ``ownerReference: bill:<id>``) [V]; a file of that name already on it is left."""
        bill = self.client.get_one("bills", ref.id, ATTACHED)
        if bill is None:
            raise PermanentError(f"{VENDOR} has no bill {ref.id} to attach {file.filename} to: it was deleted there")
        held = {str((a.get("file") or {}).get("fileName") or "") for a in bill.get("attachments") or []}
        if file.filename in held:
            return
        uploaded = first_saved(
            self.client.upload(file.filename, file.content_type, file.data), "files", "POST /v2/files"
        )
        body = {"ownerReference": f"bill:{ref.id}", "fileId": str(uploaded["id"])}
        first_saved(self.client.write("POST", "attachments", body), "attachments", "POST /v2/attachments")


def _contact_ref(contact: dict[str, Any]) -> ExternalRef:
    return ExternalRef(system=SYSTEM, id=str(contact["id"]), number=str(contact.get("name") or ""))


def _bill_ref(bill: dict[str, Any]) -> ExternalRef:
    return ExternalRef(system=SYSTEM, id=str(bill["id"]), number=str(bill.get("suppliersInvoiceNo") or ""))
