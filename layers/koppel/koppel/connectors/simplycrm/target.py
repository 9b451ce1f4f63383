"""Simply CRM as a booking target (the other side's invoices and credit notes written into the CRM) that also takes
payment status back onto its own invoices (``SimplyCrmWriteBack``). README.md in this folder has the API facts.

Numbering: vtiger numbers an invoice itself (``invoice_no``, read-only), so the other system's number is kept in the
``number_field`` setting: ``subject`` (stock) holds ``<number_prefix><number>`` (``Billy 2026-0005``), a custom field
the bare number. A document is looked up there before it is posted (deliver's ``find_booking``).

Exactly once: vtiger takes no idempotency key. An invoice is created with the status ``Created`` (not final: the
Simply CRM source books none in it), reconciled with the booking to the cent, and only then given its final status
(``invoice_status``, or the credit status). One found by its number still ``Created`` (a crash between the two
steps) is reconciled and finished; one that does not reconcile is left ``Created`` and the record parked saying so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.simplycrm import invoicing
from koppel.connectors.simplycrm.fields import VENDOR, text
from koppel.connectors.simplycrm.mapping import SOURCE
from koppel.connectors.simplycrm.records import SimplyCrmRecords, quoted
from koppel.connectors.simplycrm.writeback import SimplyCrmWriteBack
from koppel.errors import MappingError, PermanentError
from koppel.model import ExternalRef
from koppel.money import cents
from koppel.records import SyncRecord, full_name, lookup_keys

if TYPE_CHECKING:
    from koppel.booking import Booking
    from koppel.connectors.simplycrm.client import SimplyCrmClient
    from koppel.connectors.simplycrm.settings import SimplyCrmSettings
    from koppel.model import Party
    from koppel.records import RecordKind

DRAFT = "Created"
"""Stock vtiger's invoice status for one not yet final [V, sandbox schema; vtiger 7 picklist data]."""
TEXT_TYPES = frozenset({"string", "text"})


class SimplyCrmTarget(SimplyCrmWriteBack):
    """``BookingTarget`` and ``PaymentStatusWriter`` for one CRM (one user's access key)."""

    name: ClassVar[str] = SOURCE

    def __init__(self, client: SimplyCrmClient, settings: SimplyCrmSettings, source_title: str) -> None:
        super().__init__(client, settings)
        self.records = SimplyCrmRecords(client, settings)
        prefix = settings.number_prefix
        self.prefix = f"{source_title} " if prefix is None else prefix
        self._number_checked = False

    # -- customers ----------------------------------------------------------------------------------------------------
    @property
    def _kind(self) -> RecordKind:
        return "organization" if self.settings.customer_module == "Accounts" else "contact"

    def find_party(self, party: Party) -> ExternalRef | None:
        """By VAT or registration number (organizations, where the mapping holds them), e-mail, then exact name."""
        record = _record(self._kind, party)
        found = self.records.find_record(self._kind, record)
        if found is None and lookup_keys(record)[:1] != [("name", full_name(record))]:
            by_name = {key: value for key, value in record.fields.items() if key in ("name", "first_name", "last_name")}
            found = self.records.find_record(self._kind, record.model_copy(update={"fields": by_name}))
        return ExternalRef(system=SOURCE, id=found.ident, number=found.label) if found else None

    def create_party(self, party: Party) -> ExternalRef:
        """With the mapping's fields (standard or custom), owned by the connected user."""
        record = _record(self._kind, party)
        created = self.records.create_record(self._kind, record.only(self.records.record_fields(self._kind)))
        return ExternalRef(system=SOURCE, id=created.ident, number=created.label)

    # -- documents ----------------------------------------------------------------------------------------------------
    def number_value(self, number: str) -> str:
        return f"{self.prefix}{number}" if self.settings.number_field == "subject" else number

    def find_booking(self, booking: Booking) -> ExternalRef | None:
        """The invoice holding the document's number; one left ``Created`` is reconciled and finished first. A
        document Simply CRM cannot hold is refused here, before deliver writes its customer."""
        planned = invoicing.plan(booking)
        self._final_status(booking)
        field = self._number_field()
        value = self.number_value(booking.document.number)
        # vtiger's query language, not SQL: the module is ours, the field is one ``describe`` lists (checked above)
        # and the value went through ``quoted``
        rows = self.client.query(f"SELECT * FROM Invoice WHERE {field} = {quoted(value)}")  # nosec B608
        row = next((row for row in rows if text(row, field) == value), None)
        if row is None:
            return None
        if text(row, "invoicestatus") == DRAFT:
            invoice = self.client.retrieve(text(row, "id")) or row
            return self._finish(booking, planned, invoice)
        return _ref(row)

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        """Products found or created, the invoice created ``Created``, reconciled, then given its final status.
        vtiger takes no idempotency key: ``request_id`` is not sent, the look-up by number is the guard."""
        doc = booking.document
        planned = invoicing.plan(booking)
        self._final_status(booking)  # refused before anything is written
        element: dict[str, Any] = {
            "subject": f"{self.prefix}{doc.number}"[:100], self._number_field(): self.number_value(doc.number),
            "invoicestatus": DRAFT, "invoicedate": doc.issue_date.isoformat(), "hdnTaxType": planned.tax_type,
            "assigned_user_id": self.client.user_id(), **self._customer(party), **self._address(doc.party),
            **self._currency(doc.currency),
        }  # fmt: skip
        if doc.due_days is not None:
            element["duedate"] = (doc.issue_date + timedelta(days=doc.due_days)).isoformat()
        if planned.adjustment:
            element["txtAdjustment"] = str(planned.adjustment)
        if doc.description:
            element["description"] = doc.description
        products = {line.key: self._product(line) for line in planned.lines}
        element["LineItems"] = invoicing.line_items(planned, products)
        invoice = self.client.create("Invoice", element)
        if not isinstance(invoice.get("LineItems"), list):
            invoice = self.client.retrieve(text(invoice, "id")) or invoice
        return self._finish(booking, planned, invoice)

    def _finish(self, booking: Booking, planned: invoicing.Plan, invoice: dict[str, Any]) -> ExternalRef:
        found = invoicing.differences(booking, planned, invoice)
        if found:
            raise PermanentError(
                f"{VENDOR} computed invoice {text(invoice, 'invoice_no')} (id {text(invoice, 'id')}) for document "
                f"{booking.document.number} differently from the booking: {'; '.join(found)}. It is left in "
                f"{VENDOR} with status {DRAFT}, not final: check it there, delete it, then replay",
                vendor_message="; ".join(found),
            )
        final = self._final_status(booking)
        if text(invoice, "invoicestatus") != final:
            invoice = {**invoice, **self.client.revise({"id": text(invoice, "id"), "invoicestatus": final})}
        return _ref(invoice)

    def _final_status(self, booking: Booking) -> str:
        if booking.document.doc_type != "credit_note":
            return self.settings.invoice_status
        if not self.settings.credit_statuses:
            raise MappingError(f"credit note {booking.document.number}: no credit_statuses are set for {VENDOR}")
        return self.settings.credit_statuses[0]

    def _number_field(self) -> str:
        """The number field, checked once against ``describe``: it exists and can be written with text."""
        field = self.settings.number_field
        if not self._number_checked:
            fields = {str(f.get("name")): f for f in self.client.describe("Invoice").get("fields") or []}
            spec = fields.get(field)
            kind = spec.get("type") if spec else None
            type_name = str(kind.get("name") if isinstance(kind, dict) else kind or "")
            if spec is None or spec.get("editable") is False or type_name not in TEXT_TYPES:
                raise MappingError(
                    f"number_field {field} is no text field of {VENDOR}'s invoices that can be written: use subject, "
                    "or add a text field (Settings > Module Layouts & Fields > Invoice) and name its cf_NNN"
                )
            self._number_checked = True
        return field

    def _customer(self, party: ExternalRef) -> dict[str, str]:
        """vtiger requires an organization on every invoice: a contact's own, else one of the contact's name."""
        if self.settings.customer_module == "Accounts":
            return {"account_id": party.id}
        contact = self.client.retrieve(party.id) or {}
        account = text(contact, "account_id")
        if not account:
            name = " ".join(filter(None, (text(contact, "firstname"), text(contact, "lastname")))) or party.id
            wanted = SyncRecord(kind="organization", ident="", fields={"name": name})
            found = self.records.find_record("organization", wanted)
            account = found.ident if found else self.records.create_record("organization", {"name": name}).ident
        return {"contact_id": party.id, "account_id": account}

    @staticmethod
    def _address(party: Party) -> dict[str, str]:
        """Billing and shipping address are mandatory in vtiger: the party's street, else its name [I]."""
        address = party.billing_address
        street = address.street or party.name
        fields = {"street": street, "code": address.postcode, "city": address.city}
        fields["country"] = address.country_code or ""
        return {f"{side}_{key}": value for side in ("bill", "ship") for key, value in fields.items() if value}

    def _currency(self, currency: str) -> dict[str, str]:
        """Nothing for the CRM's base currency; another currency by its Currency record (Settings > Currencies)."""
        if currency == self.settings.currency:
            return {}
        # vtiger's query language, not SQL: a fixed module and field; the ISO code went through ``quoted``
        select = f"SELECT * FROM Currency WHERE currency_code = {quoted(currency)}"  # nosec B608
        try:
            row = next(self.client.query(select), None)
        except PermanentError as error:
            raise MappingError(f"{VENDOR} could not say whether it has currency {currency}: {error}") from error
        if row is None:
            raise MappingError(
                f"the document is in {currency} and {VENDOR}'s base currency is {self.settings.currency}: add "
                f"{currency} in {VENDOR} (Settings > Currencies), or set currency to {currency} if it is the base"
            )
        return {"currency_id": text(row, "id")}

    def _product(self, line: invoicing.Planned) -> str:
        """By product number (``product_no``, which record sync links), then Part Number, then exact name; else
        created with the SKU as its Part Number."""
        keys = [("product_no", line.sku), (invoicing.PART_NUMBER, line.sku)] if line.sku else []
        for field, value in [*keys, ("productname", line.product_name)]:
            # vtiger's query language, not SQL: fixed module and fields; the value went through ``quoted``
            query = f"SELECT * FROM Products WHERE {field} = {quoted(value)}"  # nosec B608
            row = next((r for r in self.client.query(query) if text(r, field).casefold() == value.casefold()), None)
            if row is not None:
                return text(row, "id")
        element = {"productname": line.product_name, "assigned_user_id": self.client.user_id()}
        element |= {invoicing.PART_NUMBER: line.sku} if line.sku else {}
        element["unit_price"] = str(cents(line.listprice))
        return text(self.client.create("Products", element), "id")


def _record(kind: RecordKind, party: Party) -> SyncRecord:
    """The party in canonical fields."""
    address = party.billing_address
    fields = {
        "email": party.email or "", "phone": party.phone, "street": address.street, "postcode": address.postcode,
        "city": address.city, "country_code": address.country_code or "",
    }  # fmt: skip
    if kind == "organization":
        fields |= {"name": party.name, "vat_number": party.vat_number, "registration_number": party.coc_number}
    elif party.is_business:
        fields |= {"last_name": party.name, "mobile": party.mobile}
    else:
        first, _, last = party.name.rpartition(" ")
        fields |= {"first_name": first, "last_name": last or party.name, "mobile": party.mobile}
    return SyncRecord(kind=kind, ident="", fields=fields)


def _ref(invoice: dict[str, Any]) -> ExternalRef:
    return ExternalRef(system=SOURCE, id=text(invoice, "id"), number=text(invoice, "invoice_no") or None)
