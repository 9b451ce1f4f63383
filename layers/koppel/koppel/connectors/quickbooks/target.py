"""QuickBooks Online as a target: customers, invoices and credit memos, payment status read back, purchases (bills,
vendor credits and their files, purchase.py), and what a person does with a booked invoice (void, delete, send,
PDF, open it). README.md in this folder has the API facts.

Exactly once: every create carries the ledger's request id as ``requestid`` (QuickBooks answers a repeat with the
first answer), and every post is preceded by a look-up by DocNumber (deliver's ``find_booking``), so a booking made
by hand, or committed before an answer was lost, is linked and never posted twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote as url_quote

from pydantic import Field

from koppel.connectors.kit import VendorReply, load_settings, parse_reply
from koppel.connectors.quickbooks import mapping
from koppel.connectors.quickbooks.changes import read_changes
from koppel.connectors.quickbooks.client import QuickbooksClient, fault_code
from koppel.connectors.quickbooks.purchase import PurchaseBooks
from koppel.connectors.quickbooks.settings import MAX_DISPLAY_NAME, SYSTEM, VENDOR, QuickbooksSettings
from koppel.errors import PermanentError
from koppel.model import ExternalRef, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.booking import Booking
    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Party, PaymentState

log = logging.getLogger(__name__)
DUPLICATE_NAME, STALE = "6240", "5010"
_IN_CHUNK = 50


class _Ref(VendorReply):
    value: str = ""


class _Customer(VendorReply):
    Id: str
    SyncToken: str = "0"
    DisplayName: str = ""
    Active: bool = True
    PrimaryEmailAddr: dict[str, Any] | None = None
    SalesTermRef: _Ref | None = None


class _Form(VendorReply):
    Id: str
    SyncToken: str = "0"
    DocNumber: str = ""
    TotalAmt: Decimal = Decimal(0)
    Balance: Decimal = Decimal(0)
    DueDate: str = ""
    PrivateNote: str = ""
    CurrencyRef: _Ref = Field(default_factory=_Ref)


class QuickbooksTarget(PurchaseBooks):
    """Target protocol and its capabilities for one QuickBooks Online company (purchases: purchase.py)."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: QuickbooksSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self.client = QuickbooksClient(ctx, settings)

    # -- customers ------------------------------------------------------------------------------------------------
    def find_party(self, party: Party) -> ExternalRef | None:
        """A customer by e-mail, then by DisplayName, inactive ones included (made active again to be used)."""
        email = (party.email or "").strip()
        if email:
            rows = self._customers(f"PrimaryEmailAddr = {mapping.quote(email)}")
            rows = [r for r in rows if _email(r).casefold() == email.casefold()]
            if rows:
                return self._usable(min(rows, key=lambda r: not r.Active))
        found = self._customer_named(party.name)
        return self._usable(found) if found else None

    def create_party(self, party: Party) -> ExternalRef:
        """A new customer. A DisplayName QuickBooks holds already (6240: a vendor's, an employee's, or an inactive
        customer's) links that customer, or books this one as "Name (customer)"."""
        try:
            return self._create_customer(party, party.name)
        except PermanentError as error:
            if fault_code(error.vendor_message) != DUPLICATE_NAME:
                raise
        existing = self._customer_named(party.name)
        if existing is not None:
            return self._usable(existing)
        other = f"{party.name.strip()[: MAX_DISPLAY_NAME - 11]} (customer)"
        log.warning("%s holds %r as a vendor or employee: the customer is created as %r", VENDOR, party.name, other)
        try:
            return self._create_customer(party, other)
        except PermanentError as error:
            found = self._customer_named(other) if fault_code(error.vendor_message) == DUPLICATE_NAME else None
            if found is None:
                raise
            return self._usable(found)

    def update_party(self, ref: ExternalRef, party: Party) -> None:
        """A customer changed in the source: a sparse update of what differs, when ``update_customers`` says so.
        A stale SyncToken (5010: changed in QuickBooks meanwhile) is read again once."""
        if not self.settings.update_customers:
            log.info("%s customer %s is left as it is (update_customers is off)", VENDOR, ref.id)
            return
        for attempt in (1, 2):
            current = self.client.call("GET", f"/customer/{url_quote(ref.id, safe='')}").get("Customer") or {}
            changes = mapping.differs(current, mapping.customer_body(party))
            if not changes:
                return
            body = {**changes, "Id": ref.id, "SyncToken": current.get("SyncToken", "0"), "sparse": True}
            try:
                self.client.call("POST", "/customer", body=body)
                return
            except PermanentError as error:
                if attempt == 2 or fault_code(error.vendor_message) != STALE:
                    raise

    def _create_customer(self, party: Party, display_name: str) -> ExternalRef:
        body = mapping.customer_body(party, display_name)
        created = self.client.create("Customer", body, str(uuid.uuid4()))
        customer = parse_reply(_Customer, created.get("Customer"), "POST /customer", VENDOR)
        return ExternalRef(system=SYSTEM, id=customer.Id, number=customer.DisplayName)

    def _customer_named(self, name: str) -> _Customer | None:
        wanted = name.strip()
        rows = self._customers(f"DisplayName = {mapping.quote(wanted)}")
        rows = [r for r in rows if r.DisplayName.strip().casefold() == wanted.casefold()]
        return min(rows, key=lambda r: not r.Active) if rows else None

    def _customers(self, condition: str) -> list[_Customer]:
        # Inactive customers are left out of a query that does not name Active; their names still collide (6240).
        # QuickBooks' query language, not SQL: every value in ``condition`` went through mapping.quote
        query = f"SELECT * FROM Customer WHERE {condition} AND Active IN (true, false)"  # nosec B608
        found = self.client.query(query)
        return [parse_reply(_Customer, row, "the customer query", VENDOR) for row in found.get("Customer") or []]

    def _usable(self, customer: _Customer) -> ExternalRef:
        if not customer.Active:
            log.warning(
                "%s customer %s (%s) was inactive: made active to book on", VENDOR, customer.Id, customer.DisplayName
            )
            body = {"Id": customer.Id, "SyncToken": customer.SyncToken, "Active": True, "sparse": True}
            self.client.call("POST", "/customer", body=body)
        return ExternalRef(system=SYSTEM, id=customer.Id, number=customer.DisplayName)

    # -- documents --------------------------------------------------------------------------------------------------
    def find_booking(self, booking: Booking) -> ExternalRef | None:
        entity = mapping.entity_of(booking)
        forms = self._forms(entity, [mapping.doc_number(booking.document.number)])
        return self._ref(entity, forms[0]) if forms else None

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        """Create the Invoice or CreditMemo with ``requestid``; its TotalAmt must be the source's total."""
        entity = mapping.entity_of(booking)
        has_terms = booking.document.due_days is None and self._has_terms(party.id)
        body = mapping.sales_form(booking, party.id, self.settings, customer_has_terms=has_terms)
        answer = self.client.create(entity, body, request_id)
        form = parse_reply(_Form, answer.get(entity), f"POST /{entity.lower()}", VENDOR)
        expected = mapping.expected_total(booking)
        if form.TotalAmt != expected:
            raise PermanentError(
                f"{VENDOR} booked {entity} {form.DocNumber} (id {form.Id}) with total {form.TotalAmt} where the source "
                f"says {expected} (difference {form.TotalAmt - expected:+}): void it in {VENDOR} and report this",
                vendor_message=f"TotalAmt {form.TotalAmt}",
            )
        return self._ref(entity, form)

    def _has_terms(self, customer_id: str) -> bool:
        data = self.client.call("GET", f"/customer/{url_quote(customer_id, safe='')}").get("Customer")
        customer = parse_reply(_Customer, data, "GET /customer", VENDOR)
        return bool(customer.SalesTermRef and customer.SalesTermRef.value)

    def _forms(self, entity: str, numbers: list[str]) -> list[_Form]:
        found: list[_Form] = []
        for start in range(0, len(numbers), _IN_CHUNK):
            chunk = numbers[start : start + _IN_CHUNK]
            listed = ", ".join(mapping.quote(n) for n in chunk)
            # QuickBooks' query language, not SQL: the entity is ours, every number went through mapping.quote
            query = f"SELECT * FROM {entity} WHERE DocNumber IN ({listed}) MAXRESULTS 1000"  # nosec B608
            answer = self.client.query(query)
            rows = [parse_reply(_Form, row, f"the {entity} query", VENDOR) for row in answer.get(entity) or []]
            found += [row for row in rows if row.DocNumber in chunk]  # re-checked: an ignored filter books nothing
        return found

    def _ref(self, entity: str, form: _Form) -> ExternalRef:
        return ExternalRef(system=SYSTEM, id=form.Id, number=form.DocNumber, url=self._link(entity, form.Id))

    # -- payment status ---------------------------------------------------------------------------------------------
    def payment_status(self, invoice_numbers: list[str]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """Every open invoice read by its DocNumber, 50 to a query; one no longer found is deleted."""
        forms = {
            form.DocNumber: form for form in self._forms("Invoice", [mapping.doc_number(n) for n in invoice_numbers])
        }
        now = self._ctx.clock()
        for number in invoice_numbers:
            yield number, self._status(forms.get(mapping.doc_number(number)), number, now)

    def payment_changes(self, since: datetime) -> dict[str, PaymentStatus] | None:
        """Only the invoices changed since ``since`` (change data capture, changes.py), by their QuickBooks id."""
        now = self._ctx.clock()
        changed = read_changes(self.client, since, now)
        if changed is None:
            return None
        forms = [parse_reply(_Form, row, "the change data capture answer", VENDOR) for row in changed.invoices]
        statuses = {ident: self._status(None, "", now) for ident in changed.deleted}
        return statuses | {form.Id: self._status(form, form.DocNumber, now) for form in forms}

    def _status(self, form: _Form | None, number: str, now: datetime) -> PaymentStatus:
        """Open, partially paid, paid (Balance), overdue (DueDate passed with a balance), voided, or deleted."""
        home = self.settings.home_currency or "EUR"
        if form is None:
            return PaymentStatus(
                document_number=number, status="deleted", amount_open=Decimal(0), currency=home, updated_at=now
            )
        state = _state(form, now.date().isoformat())
        return PaymentStatus(
            document_number=number, status=state, amount_open=Decimal(0) if state == "voided" else form.Balance,
            currency=form.CurrencyRef.value or home, updated_at=now,
            due_date=date.fromisoformat(form.DueDate[:10]) if form.DueDate else None,
        )  # fmt: skip

    # -- invoice actions --------------------------------------------------------------------------------------------
    def void_invoice(self, ref: ExternalRef) -> None:
        form = self._read("Invoice", ref.id)
        self.client.create("Invoice", {"Id": form.Id, "SyncToken": form.SyncToken}, _action_id("void", form), "void")

    def delete_invoice(self, ref: ExternalRef) -> None:
        form = self._read("Invoice", ref.id)
        body = {"Id": form.Id, "SyncToken": form.SyncToken}
        self.client.create("Invoice", body, _action_id("delete", form), "delete")

    def send_invoice(self, ref: ExternalRef, email: str | None = None) -> None:
        params = {"sendTo": email} if email else None
        self.client.call("POST", f"/invoice/{url_quote(ref.id, safe='')}/send", params=params)

    def invoice_pdf(self, ref: ExternalRef) -> bytes:
        return self.client.pdf(f"/invoice/{url_quote(ref.id, safe='')}/pdf")

    def invoice_link(self, ref: ExternalRef) -> str:
        return self._link("Invoice", ref.id)

    def _link(self, entity: str, ident: str) -> str:
        page = "creditmemo" if entity == "CreditMemo" else "invoice"
        return self.settings.page_link(page, ident)

    def _read(self, entity: str, ident: str) -> _Form:
        data = self.client.call("GET", f"/{entity.lower()}/{url_quote(ident, safe='')}").get(entity)
        return parse_reply(_Form, data, f"GET /{entity.lower()}", VENDOR)

    # -- the company ------------------------------------------------------------------------------------------------
    def after_connect(self) -> dict[str, Any]:
        """Once the grant is stored (and on every target sync): tax codes by rate, Items, terms, home currency."""
        from koppel.connectors.quickbooks.chart import read_company

        return read_company(self)


def _email(customer: _Customer) -> str:
    return str((customer.PrimaryEmailAddr or {}).get("Address") or "").strip()


def _state(form: _Form, today: str) -> PaymentState:
    if form.PrivateNote.strip().casefold().startswith("voided"):
        return "voided"  # a recorded void answer keeps TotalAmt and Balance; only the note says it (README.md)
    if form.Balance <= 0:
        return "paid"
    if form.DueDate and form.DueDate < today:
        return "overdue"
    return "partially_paid" if form.Balance < form.TotalAmt else "open"


def _action_id(action: str, form: _Form) -> str:
    """The same action on the same version of an invoice is one request, however often it is clicked."""
    return f"koppel-{action}-{form.Id}-{form.SyncToken}"


def build_target(ctx: ConnectorContext) -> QuickbooksTarget:
    return QuickbooksTarget(ctx, load_settings(QuickbooksSettings, ctx.settings, VENDOR))
