"""Billy (billy.dk, API v2) as a target: customers become contacts, documents become invoices or credit notes whose
lines sit on products, payment status is read back, the organization's rulesets and accounts are read after
connecting, and organizations, contacts and products are kept alike with a CRM (recordside.py).

An invoice is created as a draft and approved as a second step, and only when what Billy computed reconciles with
the booking to the cent (Billy computes the VAT itself, from each product's sales-tax ruleset and the contact). A
draft that does not reconcile is left a draft, never approved, and the record is parked saying so.

Exactly once: Billy takes no idempotency key, so every booking is looked up by ``invoiceNo`` first (deliver's
``find_booking``); a draft found there (a crash between creating and approving) is reconciled and approved, and a
create refused because the number is taken links the invoice that holds it.

A document that arrives paid is paid in Billy once its invoice is approved, with a bank payment of at most the open
balance (payments.py); a retry that finds the invoice approved and open pays it there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.billy import mapping, payments, reconcile
from koppel.connectors.billy.client import BillyClient, first_saved
from koppel.connectors.billy.purchase import BillyPurchases
from koppel.connectors.billy.recordside import BillyRecordSide
from koppel.connectors.billy.settings import SYSTEM, VENDOR, BillySettings
from koppel.connectors.kit import load_settings
from koppel.errors import PermanentError
from koppel.model import ExternalRef, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.booking import Booking
    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Party

LINES = "invoice.lines:embed"


class BillyTarget(BillyRecordSide, BillyPurchases):
    """Target protocol and its capabilities for one Billy organization (one access token); purchases (bills) and
    their attachments in purchase.py."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: BillySettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self.client = BillyClient(ctx, settings)

    # -- customers ------------------------------------------------------------------------------------------------
    def find_party(self, party: Party) -> ExternalRef | None:
        """By VAT number (``registrationNo``), then by an e-mail of its contact persons, then by the customer number
        (``contactNo``), then by its exact name; a contact that is not archived first. Billy documents no filter on
        these, so the contacts are listed."""
        contacts = self.client.list_all("contacts", {"include": "contact.contactPersons:embed"})
        contacts.sort(key=lambda contact: bool(contact.get("isArchived")))
        vat = _vat(party.vat_number)
        email = (party.email or "").strip().casefold()
        name = party.name.strip().casefold()
        keys = (
            ("registrationNo", vat, lambda c: {_vat(str(c.get("registrationNo") or ""))}),
            ("e-mail", email, _emails),
            ("contactNo", party.code.strip().casefold(), lambda c: {str(c.get("contactNo") or "").strip().casefold()}),
            ("name", name, lambda c: {str(c.get("name") or "").strip().casefold()}),
        )
        for _, wanted, held in keys:
            for contact in contacts:
                if wanted and wanted in held(contact):
                    return ExternalRef(system=SYSTEM, id=str(contact["id"]), number=str(contact.get("name") or ""))
        return None

    def create_party(self, party: Party) -> ExternalRef:
        answer = self.client.write("POST", "contacts", mapping.contact_body(party, self.settings))
        contact = first_saved(answer, "contacts", "POST /v2/contacts")
        return ExternalRef(system=SYSTEM, id=str(contact["id"]), number=str(contact.get("name") or ""))

    # -- documents ------------------------------------------------------------------------------------------------
    def find_booking(self, booking: Booking) -> ExternalRef | None:
        """The invoice or credit note with this ``invoiceNo``; a draft (Koppel's own, left by a crash before it was
        approved) is reconciled and approved first, or refused and left a draft; one the document says is paid and
        Billy still holds open is paid (payments.py: a crash before or during the payment)."""
        number = mapping.invoice_number(booking.document.number, self.settings)
        invoice = self._invoice(number)
        if invoice is None:
            return None
        if invoice.get("state") == "draft":
            return self._approve(booking, mapping.choose_layout(booking), invoice, invoice.get("lines") or [])
        if invoice.get("state") == "approved":
            payments.settle(self.client, booking, str(invoice["id"]))
        return _ref(invoice)

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        """Products found by ``productNo`` or created, the invoice created as a draft, reconciled, then approved.
        Billy takes no idempotency key, so ``request_id`` is not sent: the look-up by ``invoiceNo`` is the guard."""
        layout = mapping.choose_layout(booking)
        treatment = booking.document.vat_treatment
        firsts = mapping.products_of(layout)
        rulesets = {key: mapping.ruleset_for(line, treatment, self.settings) for key, line in firsts.items()}
        products = {key: self._product(line, rulesets[key], booking) for key, line in firsts.items()}
        credited = self._credited(booking, party.id)
        body = mapping.invoice_body(booking, layout, party.id, products, self.settings, credited)
        try:
            answer = self.client.write("POST", "invoices", body)
        except PermanentError as error:
            existing = self._invoice(body["invoiceNo"]) if error.status == 422 else None
            if existing is None:
                raise
            # The number is taken (a booking committed before its answer was lost, or made by hand): link it
            return self.find_booking(booking) or _ref(existing)
        invoice = first_saved(answer, "invoices", "POST /v2/invoices")
        lines = [line for line in answer.get("invoiceLines") or [] if line.get("invoiceId") == invoice["id"]]
        if len(lines) != len(layout.lines):  # Billy answers only the lines it changed: read them all
            lines = (self.client.get_one("invoices", str(invoice["id"]), LINES) or {}).get("lines") or lines
        return self._approve(booking, layout, invoice, lines)

    def _approve(
        self, booking: Booking, layout: mapping.Layout, invoice: dict[str, Any], lines: list[dict[str, Any]]
    ) -> ExternalRef:
        found = reconcile.differences(booking, layout, invoice, lines)
        if found:
            raise PermanentError(
                f"{VENDOR} computed {invoice.get('type', 'invoice')} {invoice.get('invoiceNo')} (id {invoice['id']}) "
                f"differently from the booking: {'; '.join(found)}. It is left as a draft, not approved: check the "
                f"VAT rulesets of its products and the contact's country in {VENDOR}, delete the draft, then replay",
                vendor_message="; ".join(found),
            )
        approved = self.client.approve("invoices", invoice)
        payments.settle(self.client, booking, str(invoice["id"]))  # a paid document: paid in Billy too
        return _ref(approved)

    def _product(self, line: mapping.Planned, ruleset: str, booking: Booking) -> str:
        for product in self.client.list_all("products", {"productNo": line.product_key}):
            if product.get("productNo") == line.product_key and not product.get("isArchived"):
                return str(product["id"])
        body = mapping.product_body(line, ruleset, booking.document.currency, self.settings)
        return str(first_saved(self.client.write("POST", "products", body), "products", "POST /v2/products")["id"])

    def _credited(self, booking: Booking, contact_id: str) -> str | None:
        """The invoice a credit note credits, when the document names it (its reference) and Billy holds it."""
        doc = booking.document
        if doc.doc_type != "credit_note" or not doc.reference:
            return None
        invoice = self._invoice(mapping.invoice_number(doc.reference, self.settings))
        if invoice is None or invoice.get("type") != "invoice" or invoice.get("contactId") != contact_id:
            return None
        return str(invoice["id"])

    def _invoice(self, number: str) -> dict[str, Any] | None:
        found = self.client.list_all("invoices", {"invoiceNo": number, "include": LINES})
        rows = [row for row in found if str(row.get("invoiceNo") or "") == number]  # re-checked: an ignored filter
        return rows[0] if rows else None

    # -- payment status -------------------------------------------------------------------------------------------
    def payment_status(self, invoice_numbers: list[str]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """The approved unpaid invoices in pages (``isPaid=false``); one not among them is read by its number
        (paid, or gone)."""
        if not invoice_numbers:
            return
        rows = self.client.list_all("invoices", {"state": "approved", "isPaid": "false", "type": "invoice"})
        unpaid = {str(r.get("invoiceNo")): r for r in rows if r.get("state") == "approved" and not r.get("isPaid")}
        now = self._ctx.clock()
        for number in invoice_numbers:
            invoice = unpaid.get(number) or self._invoice(number)
            yield number, payments.status_of(invoice, number, now.date(), self.settings.organization_currency, now)

    # -- the organization -----------------------------------------------------------------------------------------
    def after_connect(self) -> dict[str, Any]:
        """Once the access token is stored (and on every target sync): the organization, its rulesets and
        accounts, as settings."""
        from koppel.connectors.billy.chart import read_organization

        return read_organization(self)


def _vat(text: str) -> str:
    return "".join(text.split()).upper()


def _emails(contact: dict[str, Any]) -> set[str]:
    persons = contact.get("contactPersons") or []
    return {str(p.get("email") or "").strip().casefold() for p in persons if isinstance(p, dict) and p.get("email")}


def _ref(invoice: dict[str, Any]) -> ExternalRef:
    return ExternalRef(system=SYSTEM, id=str(invoice["id"]), number=str(invoice.get("invoiceNo") or ""))


def build_target(ctx: ConnectorContext) -> BillyTarget:
    return BillyTarget(ctx, load_settings(BillySettings, ctx.settings, VENDOR))
