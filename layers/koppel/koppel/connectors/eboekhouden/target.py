"""e-Boekhouden.nl (REST API, api.e-boekhouden.nl/v1) as a target: customers become relations, documents become
"invoice sent" mutations, money taken at the till "invoice payment received" mutations. The calls are in
``client``, the pure mapping in ``mapping``; README.md in this folder has the API facts.

Assumptions the public docs leave open, each handled both ways:
- A second mutation with a known invoice number is refused with MUT_019 (verified): every booking is looked up by
  invoice number before it is posted, and a MUT_019 refusal links the existing mutation.
- The relation list carries only id, type and code: a relation found by e-mail is read once to confirm the e-mail.
- The e-mail filter's case sensitivity: the confirmation above compares case-insensitively.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.eboekhouden.client import SYSTEM, EboekhoudenClient, error_code, items, parse
from koppel.connectors.eboekhouden.mapping import (
    invoice_mutation,
    invoice_number,
    payment_mutation,
    relation_body,
)
from koppel.connectors.eboekhouden.settings import INVOICE_SENT, PAYMENT_RECEIVED, EboekhoudenSettings
from koppel.connectors.eboekhouden.vat_basis import check_balance
from koppel.connectors.kit import VendorReply
from koppel.errors import PermanentError
from koppel.model import ExternalRef, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.booking import Booking
    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Party


DUPLICATE_INVOICE = "MUT_019"


class _Created(VendorReply):
    id: int


class _RelationItem(VendorReply):
    id: int
    code: str | None = None


class _Relation(VendorReply):
    id: int
    code: str | None = None
    emailAddress: str | None = None


class _MutationItem(VendorReply):
    id: int
    type: int
    invoiceNumber: str | None = None


class _Ledger(VendorReply):
    id: int
    code: str
    description: str = ""
    category: str = ""


class _Outstanding(VendorReply):
    invoiceNumber: str
    totalAmount: Any
    paidAmount: Any = None
    outstandingAmount: Any


class EboekhoudenTarget:
    """Target protocol for one e-Boekhouden administration (one API token)."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: EboekhoudenSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._client = EboekhoudenClient(ctx, settings)

    # -- customers ----------------------------------------------------------------------------------------------
    def find_party(self, party: Party) -> ExternalRef | None:
        """By the customer's code first (the number the business uses in both systems), else by e-mail."""
        if party.code:
            for item in self._relations({"code": party.code}):
                if (item.code or "") == party.code:
                    return ExternalRef(system=SYSTEM, id=str(item.id), number=item.code)
        email = (party.email or "").strip()
        if not email:
            return None
        for item in self._relations({"email": email}):
            relation = parse(_Relation, self.call("GET", f"/v1/relation/{item.id}"), "GET /v1/relation/{id}")
            if (relation.emailAddress or "").strip().casefold() == email.casefold():
                return ExternalRef(system=SYSTEM, id=str(relation.id), number=relation.code)
        return None

    def create_party(self, party: Party) -> ExternalRef:
        created = self.call("POST", "/v1/relation", body=relation_body(party, self.settings))
        relation = parse(_RelationItem, created, "POST /v1/relation")
        return ExternalRef(system=SYSTEM, id=str(relation.id), number=relation.code)

    def update_party(self, ref: ExternalRef, party: Party) -> None:
        """A customer changed in the source: PATCH the relation (its code stays what e-Boekhouden has)."""
        body = relation_body(party, self.settings)
        body.pop("code", None)
        self.call("PATCH", f"/v1/relation/{ref.id}", body=body)

    # -- documents ----------------------------------------------------------------------------------------------
    def find_booking(self, booking: Booking) -> ExternalRef | None:
        """The invoice mutation by invoice number, but only when the till payments booked with it are there too:
        a booking whose payments are missing is finished by post_booking, which skips what exists."""
        number = invoice_number(booking.document.number, self.settings)
        invoice = self._mutation(number, INVOICE_SENT)
        payments = booking.document.payments
        if invoice is None or (payments and len(self._payments(number)) < len(payments)):
            return None
        return ExternalRef(system=SYSTEM, id=str(invoice.id), number=number)

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        """POST the invoice mutation, then its till payments, each only if e-Boekhouden does not hold it yet.
        e-Boekhouden takes no idempotency key, so ``request_id`` is not sent: the look-ups are the guard."""
        doc = booking.document
        relation_id = int(party.id)
        body = invoice_mutation(booking, relation_id, self.settings)
        check_balance(body, booking)
        number = body["invoiceNumber"]
        # find_booking ran just before: the invoice can only be there already when its till payments were not.
        invoice = self._mutation(number, INVOICE_SENT) if doc.payments else None
        invoice_id = invoice.id if invoice else self._post_mutation(body)
        already_paid = len(self._payments(number)) if doc.payments else 0
        for payment in doc.payments[already_paid:]:
            self._post_mutation(payment_mutation(doc, payment, relation_id, self.settings))
        return ExternalRef(system=SYSTEM, id=str(invoice_id), number=number)

    def payment_status(self, invoice_numbers: list[str]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """Open amounts from the outstanding-items list, read whole once (paged), not per invoice; a booked invoice
        missing from it is paid (None here)."""
        if not invoice_numbers:
            return
        rows = self.fetch_all("/v1/mutation/invoice/outstanding", {"credDeb": "D"})
        outstanding = {item.invoiceNumber: item for item in (parse(_Outstanding, r, "GET outstanding") for r in rows)}
        for number in invoice_numbers:
            item = outstanding.get(number)
            if item is None:
                yield number, None
                continue
            state = "partially_paid" if item.outstandingAmount != item.totalAmount else "open"
            yield (
                number,
                PaymentStatus(
                    document_number=number,
                    status=state,
                    amount_open=item.outstandingAmount,
                    currency="EUR",
                    updated_at=self._ctx.clock(),
                ),
            )

    # -- the chart of accounts ----------------------------------------------------------------------------------
    def ledgers(self) -> list[_Ledger]:
        return [parse(_Ledger, row, "GET /v1/ledger") for row in self.fetch_all("/v1/ledger")]

    def after_connect(self) -> dict[str, Any]:
        """Once the API token is stored (and on every target sync): the chart of accounts, as settings."""
        return after_connect(self)

    # -- plumbing -----------------------------------------------------------------------------------------------
    def fetch_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return self._client.fetch_all(path, params)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One API call with the session token; a 401 opens a new session and tries once more."""
        return self._client.call(method, path, params=params, body=body)

    def _relations(self, params: dict[str, str]) -> list[_RelationItem]:
        page = self.call("GET", "/v1/relation", params={**params, "limit": 100})
        return [parse(_RelationItem, row, "GET /v1/relation") for row in items(page)]

    def _mutation(self, number: str, kind: int) -> _MutationItem | None:
        rows = self._mutations(number, kind)
        return rows[0] if rows else None

    def _payments(self, number: str) -> list[_MutationItem]:
        return self._mutations(number, PAYMENT_RECEIVED)

    def _mutations(self, number: str, kind: int) -> list[_MutationItem]:
        page = self.call("GET", "/v1/mutation", params={"invoiceNumber": number, "type": kind, "limit": 100})
        rows = [parse(_MutationItem, row, "GET /v1/mutation") for row in items(page)]
        # Re-checked here: a filter the API ignored must never make another invoice look booked.
        return [row for row in rows if row.invoiceNumber == number and row.type == kind]

    def _post_mutation(self, body: dict[str, Any]) -> int:
        try:
            return parse(_Created, self.call("POST", "/v1/mutation", body=body), "POST /v1/mutation").id
        except PermanentError as error:
            # MUT_019 "Invoice number already exists" (README: verified): it is booked already, by us before a lost
            # answer or by hand, so the existing mutation is found by its invoice number and linked, never posted
            # again. Any other refusal (a field's MUT_0xx/MUTA_0xx/MUT_1xx) is the vendor's reason to park.
            if body["type"] != INVOICE_SENT or not is_duplicate_invoice(error):
                raise
            existing = self._mutation(body["invoiceNumber"], body["type"])
            if existing is None:
                raise
            return existing.id


def is_duplicate_invoice(error: PermanentError) -> bool:
    return DUPLICATE_INVOICE in (error_code(error.vendor_message), error_code(str(error)))


def sync_ledgers(target: EboekhoudenTarget) -> dict[str, int]:
    """The administration's chart as {ledger code: ledger id}: deliver maps codes to ids without reading it."""
    return {ledger.code: ledger.id for ledger in target.ledgers()}


def after_connect(target: EboekhoudenTarget) -> dict[str, Any]:
    """Once the API token is stored: the chart of accounts, as settings for deliver."""
    return {"ledger_ids": sync_ledgers(target)}


# -- `koppel preview`: an empty administration --------------------------------------------------------------------
PREVIEW_CREDENTIAL_PATHS = ("/v1/session",)


def preview_answer(method: str, path: str, body: Any, new_id: int) -> tuple[Any, int] | None:
    """How a brand-new administration answers: a session, empty lists, and ids for what is created."""
    if path == "/v1/session":
        return {"token": "preview-session", "expiresIn": 3600}, 200
    if method == "GET":
        return {"items": [], "count": 0}, 200
    if method == "POST" and path == "/v1/relation":
        return {"id": new_id, "code": (body or {}).get("code") or f"R{new_id:04d}"}, 201
    if method == "POST":
        return {"id": new_id}, 201
    return None


def preview_settings() -> dict[str, Any]:
    """The default mapping. A preview reads no administration, so each ledger's id is shown as its code."""
    defaults = EboekhoudenSettings()
    codes = {
        value
        for name, value in defaults.model_dump().items()
        if isinstance(value, str) and value.isdigit() and name not in ("source",)
    }
    codes.update(defaults.payment_ledgers.values(), defaults.purchase_payment_ledgers.values())
    return {"ledger_ids": {code: int(code) for code in sorted(codes)}}
