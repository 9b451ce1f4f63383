"""QuickBooks Online's purchase side: suppliers as Vendors, a supplier's invoice as a Bill and its credit note as a
VendorCredit, and the original file attached to it (``POST /upload``). README.md in this folder has the API facts.

Exactly once, as for sales: every create carries the ledger's request id, and deliver looks the purchase up first,
by the supplier and its invoice number together (``DocNumber`` and ``VendorRef``): one number may come from two
suppliers. A file is attached once per file name: the Bill's attachments are read before uploading. A
purchase paid when it was bought has its Bill paid once it is booked or found (purchase_payment.py).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from koppel.connectors.kit import VendorReply, parse_reply
from koppel.connectors.quickbooks import purchase_mapping as buying
from koppel.connectors.quickbooks.client import fault_code
from koppel.connectors.quickbooks.mapping import doc_number, quote
from koppel.connectors.quickbooks.purchase_payment import pay_bill
from koppel.connectors.quickbooks.settings import MAX_DISPLAY_NAME, SYSTEM, VENDOR
from koppel.errors import PermanentError
from koppel.model import ExternalRef, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from koppel.booking import Booking
    from koppel.connectors.contract import AttachedFile, ConnectorContext
    from koppel.connectors.quickbooks.client import QuickbooksClient
    from koppel.connectors.quickbooks.settings import QuickbooksSettings
    from koppel.model import Party

log = logging.getLogger(__name__)
DUPLICATE_NAME = "6240"
PAGE = 1000  # QuickBooks' largest page
_PAGES = {"Bill": "bill", "VendorCredit": "vendorcredit"}


class _Vendor(VendorReply):
    Id: str
    SyncToken: str = "0"
    DisplayName: str = ""
    CompanyName: str = ""
    Active: bool = True
    Notes: str = ""
    TaxIdentifier: str = ""


class _Purchase(VendorReply):
    Id: str
    DocNumber: str = ""
    TotalAmt: Decimal = Decimal(0)
    Balance: Decimal | None = None
    VendorRef: dict[str, Any] = Field(default_factory=dict)


class PurchaseBooks:
    """``PurchaseTarget``, ``PurchaseStatusReader`` and ``AttachmentTarget`` for one company; mixed into
    ``QuickbooksTarget``."""

    client: QuickbooksClient
    settings: QuickbooksSettings
    _ctx: ConnectorContext

    # -- suppliers --------------------------------------------------------------------------------------------------
    def find_supplier(self, party: Party) -> ExternalRef | None:
        """By VAT number, then KvK, then name. QuickBooks cannot query a Vendor's TaxIdentifier (and reads it back
        masked), so every vendor is read, a page of 1000 at a time, and the numbers Koppel wrote in its Notes are
        compared; a vendor made by hand is found by its DisplayName or CompanyName."""
        vendors = self._vendors()
        for key, number in (("vat", party.vat_number), ("coc", party.coc_number)):
            wanted = buying.plain(number)
            found = [v for v in vendors if wanted and buying.vendor_numbers(v.model_dump()).get(key) == wanted]
            if found:
                return self._usable_vendor(min(found, key=lambda v: not v.Active))
        named = self._vendor_named(vendors, party.name)
        return self._usable_vendor(named) if named else None

    def create_supplier(self, party: Party) -> ExternalRef:
        """A new Vendor. A DisplayName a customer or employee holds already (6240) books it as "Name (supplier)"."""
        try:
            return self._create_vendor(party, party.name)
        except PermanentError as error:
            if fault_code(error.vendor_message) != DUPLICATE_NAME:
                raise
        existing = self._vendor_named(self._vendors(), party.name)
        if existing is not None:
            return self._usable_vendor(existing)
        other = f"{party.name.strip()[: MAX_DISPLAY_NAME - 11]} (supplier)"
        log.warning("%s holds %r as a customer or employee: the supplier is created as %r", VENDOR, party.name, other)
        return self._create_vendor(party, other)

    def _create_vendor(self, party: Party, display_name: str) -> ExternalRef:
        created = self.client.create("Vendor", buying.vendor_body(party, display_name), str(uuid.uuid4()))
        vendor = parse_reply(_Vendor, created.get("Vendor"), "POST /vendor", VENDOR)
        return ExternalRef(system=SYSTEM, id=vendor.Id, number=vendor.DisplayName)

    def _vendors(self) -> list[_Vendor]:
        found: list[_Vendor] = []
        while True:
            # QuickBooks' query language, not SQL: only numbers of our own are put in
            query = (
                "SELECT * FROM Vendor WHERE Active IN (true, false) "  # nosec B608
                f"STARTPOSITION {len(found) + 1} MAXRESULTS {PAGE}"
            )
            rows = self.client.query(query).get("Vendor") or []
            found += [parse_reply(_Vendor, row, "the vendor query", VENDOR) for row in rows]
            if len(rows) < PAGE:
                return found

    @staticmethod
    def _vendor_named(vendors: list[_Vendor], name: str) -> _Vendor | None:
        wanted = " ".join(name.split()).casefold()
        named = [
            v for v in vendors if wanted in (" ".join(n.split()).casefold() for n in (v.DisplayName, v.CompanyName))
        ]
        return min(named, key=lambda v: not v.Active) if named else None

    def _usable_vendor(self, vendor: _Vendor) -> ExternalRef:
        if not vendor.Active:
            log.warning("%s vendor %s (%s) was inactive: made active to book on", VENDOR, vendor.Id, vendor.DisplayName)
            body = {"Id": vendor.Id, "SyncToken": vendor.SyncToken, "Active": True, "sparse": True}
            self.client.call("POST", "/vendor", body=body)
        return ExternalRef(system=SYSTEM, id=vendor.Id, number=vendor.DisplayName)

    # -- purchases --------------------------------------------------------------------------------------------------
    def find_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        entity = buying.purchase_entity(booking)
        number = doc_number(booking.document.number)
        # QuickBooks' query language, not SQL: the entity is ours, both values went through quote
        keys = f"DocNumber = {quote(number)} AND VendorRef = {quote(supplier.id)}"
        query = f"SELECT * FROM {entity} WHERE {keys}"  # nosec B608
        rows = [
            parse_reply(_Purchase, row, f"the {entity} query", VENDOR)
            for row in self.client.query(query).get(entity) or []
        ]
        held = [r for r in rows if r.DocNumber == number and str(r.VendorRef.get("value")) == supplier.id]
        if not held:
            return None
        self._pay_what_was_paid(booking, entity, held[0], supplier)  # a crash may have come between bill and payment
        return self._purchase_ref(entity, held[0])

    def post_purchase(self, booking: Booking, supplier: ExternalRef, request_id: str) -> ExternalRef:
        """Create the Bill or VendorCredit with ``requestid``; its TotalAmt must be the document's total."""
        entity = buying.purchase_entity(booking)
        body = buying.purchase_form(booking, supplier.id, self.settings)
        answer = self.client.create(entity, body, request_id)
        form = parse_reply(_Purchase, answer.get(entity), f"POST /{entity.lower()}", VENDOR)
        expected = abs(booking.total)
        if form.TotalAmt != expected:
            raise PermanentError(
                f"{VENDOR} booked {entity} {form.DocNumber} (id {form.Id}) of {supplier.number} with total "
                f"{form.TotalAmt} where the document says {expected} (difference {form.TotalAmt - expected:+}): "
                f"delete it in {VENDOR} and report this",
                vendor_message=f"TotalAmt {form.TotalAmt}",
            )
        self._pay_what_was_paid(booking, entity, form, supplier)
        return self._purchase_ref(entity, form)

    def _pay_what_was_paid(self, booking: Booking, entity: str, form: _Purchase, supplier: ExternalRef) -> None:
        """A receipt paid when it was bought: its Bill paid by what is still open of it (purchase_payment.py)."""
        if entity != "Bill" or not booking.document.payments:
            return
        balance = form.TotalAmt if form.Balance is None else form.Balance
        pay_bill(self.client, self.settings, booking, (form.Id, supplier.id, form.TotalAmt, balance))

    def _purchase_ref(self, entity: str, form: _Purchase) -> ExternalRef:
        url = self.settings.page_link(_PAGES[entity], form.Id)
        return ExternalRef(system=SYSTEM, id=form.Id, number=form.DocNumber, url=url)

    # -- what is still to be paid -----------------------------------------------------------------------------------
    def purchase_status(self, purchases: Sequence[ExternalRef]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """Each booked Bill read by its id, 50 to a query: its ``Balance`` is what is still to be paid (0: paid in
        full, None); one no longer found is deleted. A VendorCredit's balance is credit left, not a debt: None."""
        from koppel.connectors.quickbooks.target import _IN_CHUNK, _Form, _state

        bills = [ref.id for ref in purchases if "/app/vendorcredit?" not in (ref.url or "")]
        found: dict[str, _Form] = {}
        for start in range(0, len(bills), _IN_CHUNK):
            listed = ", ".join(quote(ident) for ident in bills[start : start + _IN_CHUNK])
            # QuickBooks' query language, not SQL: every id went through quote
            query = f"SELECT * FROM Bill WHERE Id IN ({listed}) MAXRESULTS 1000"  # nosec B608
            rows = self.client.query(query).get("Bill") or []
            found |= {form.Id: form for form in (parse_reply(_Form, row, "the bill query", VENDOR) for row in rows)}
        now = self._ctx.clock()
        for ref in purchases:
            form = found.get(ref.id)
            if ref.id not in bills or (form is not None and form.Balance <= 0):
                yield ref.id, None
                continue
            state = _state(form, now.date().isoformat()) if form else "deleted"
            yield ref.id, PaymentStatus(
                document_number=form.DocNumber if form else ref.number or ref.id, source_id=None, status=state,
                amount_open=form.Balance if form else Decimal(0),
                currency=(form.CurrencyRef.value if form else "") or self.settings.home_currency or "EUR",
                updated_at=now, due_date=date.fromisoformat(form.DueDate[:10]) if form and form.DueDate else None,
            )  # fmt: skip

    # -- attachments ------------------------------------------------------------------------------------------------
    def attach(self, ref: ExternalRef, file: AttachedFile) -> None:
        """Upload the file onto the Bill (or VendorCredit) unless one of that name is attached already: QuickBooks
        itself would hold a second copy."""
        entity = "VendorCredit" if "/app/vendorcredit?" in (ref.url or "") else "Bill"
        condition = (
            f"AttachableRef.EntityRef.Type = {quote(entity)} AND AttachableRef.EntityRef.value = {quote(ref.id)}"
        )
        held = self.client.query(f"SELECT * FROM Attachable WHERE {condition}").get("Attachable") or []  # nosec B608
        if any(str(row.get("FileName", "")) == file.filename for row in held if isinstance(row, dict)):
            return
        meta = {
            "AttachableRef": [{"EntityRef": {"type": entity, "value": ref.id}}],
            "FileName": file.filename,
            "ContentType": file.content_type,
        }
        self.client.upload(
            {
                "file_metadata_01": (None, json.dumps(meta).encode(), "application/json"),
                "file_content_01": (file.filename, file.data, file.content_type),
            }
        )
