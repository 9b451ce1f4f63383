"""e-Boekhouden.nl (REST API, api.e-boekhouden.nl/v1) as a target: customers become relations, documents become
"invoice sent" mutations, money taken at the till "invoice payment received" mutations. The pure mapping lives
in eboekhouden_mapping; VENDORS.md §7a has the API facts.

A session token comes from the administration's API token (``POST /v1/session`` with Koppel's source code) and is
sent raw in ``Authorization``; it is shared by the workers through the connection store and renewed after a 401.
Assumptions the public docs leave open, each handled both ways:
- Whether a second mutation with a known invoice number is refused: every booking is looked up by invoice number
  before it is posted, and a refusal that names the number links the existing mutation.
- The relation list carries only id, type and code: a relation found by e-mail is read once to confirm the e-mail.
- The e-mail filter's case sensitivity: the confirmation above compares case-insensitively.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, Field

from koppel import wire
from koppel.connectors.connector_kit import SharedTokens, StatusNote, VendorReply, parse_reply
from koppel.connectors.connector_kit import load_settings as load_connector_settings
from koppel.connectors.eboekhouden_mapping import (
    INVOICE_SENT,
    PAYMENT_RECEIVED,
    VENDOR,
    EboekhoudenSettings,
    check_balance,
    describe_error,
    invoice_mutation,
    invoice_number,
    payment_mutation,
    relation_body,
)
from koppel.errors import AuthError, PermanentError
from koppel.http import RateLimiter, json_body, send, shared_limits
from koppel.model import ExternalRef, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.booking import Booking
    from koppel.connectors import ConnectorContext
    from koppel.model import Party

__all__ = ["EboekhoudenSettings", "EboekhoudenTarget", "after_connect", "build_target", "sync_ledgers"]

SYSTEM = "eboekhouden"
W = TypeVar("W", bound=BaseModel)
_PAGE = 500
_MAX_PAGES = 200


class _Session(VendorReply):
    token: str = Field(min_length=1)
    expiresIn: int = 3600


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


def _parse(model: type[W], data: Any, what: str) -> W:
    return parse_reply(model, data, what, VENDOR)


class EboekhoudenTarget:
    """Target protocol for one e-Boekhouden administration (one API token)."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: EboekhoudenSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._sessions = SharedTokens(ctx, SYSTEM, self._open_session)
        limits = [(settings.rate_limit_per_second, 1.0), (settings.rate_limit_per_minute, 60.0)]
        self._limiter = RateLimiter(shared_limits(limits, ctx.workers))

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
            relation = _parse(_Relation, self.call("GET", f"/v1/relation/{item.id}"), "GET /v1/relation/{id}")
            if (relation.emailAddress or "").strip().casefold() == email.casefold():
                return ExternalRef(system=SYSTEM, id=str(relation.id), number=relation.code)
        return None

    def create_party(self, party: Party) -> ExternalRef:
        created = self.call("POST", "/v1/relation", body=relation_body(party, self.settings))
        relation = _parse(_RelationItem, created, "POST /v1/relation")
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
        outstanding = {item.invoiceNumber: item for item in (_parse(_Outstanding, r, "GET outstanding") for r in rows)}
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
        return [_parse(_Ledger, row, "GET /v1/ledger") for row in self.fetch_all("/v1/ledger")]

    # -- plumbing -----------------------------------------------------------------------------------------------
    def _relations(self, params: dict[str, str]) -> list[_RelationItem]:
        page = self.call("GET", "/v1/relation", params={**params, "limit": 100})
        return [_parse(_RelationItem, row, "GET /v1/relation") for row in _items(page)]

    def _mutation(self, number: str, kind: int) -> _MutationItem | None:
        rows = self._mutations(number, kind)
        return rows[0] if rows else None

    def _payments(self, number: str) -> list[_MutationItem]:
        return self._mutations(number, PAYMENT_RECEIVED)

    def _mutations(self, number: str, kind: int) -> list[_MutationItem]:
        page = self.call("GET", "/v1/mutation", params={"invoiceNumber": number, "type": kind, "limit": 100})
        rows = [_parse(_MutationItem, row, "GET /v1/mutation") for row in _items(page)]
        # Re-checked here: a filter the API ignored must never make another invoice look booked.
        return [row for row in rows if row.invoiceNumber == number and row.type == kind]

    def _post_mutation(self, body: dict[str, Any]) -> int:
        try:
            return _parse(_Created, self.call("POST", "/v1/mutation", body=body), "POST /v1/mutation").id
        except PermanentError as error:
            # A refusal of a known invoice number means it is booked already (by us before a lost answer, or by
            # hand): link the existing one. Anything else is the vendor's own reason to park the record.
            existing = self._mutation(body["invoiceNumber"], body["type"]) if body["type"] == INVOICE_SENT else None
            if existing is None or body["invoiceNumber"] not in str(error):
                raise
            return existing.id

    def fetch_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        rows: list[Any] = []
        for _ in range(_MAX_PAGES):
            page = self.call("GET", path, params={**(params or {}), "limit": _PAGE, "offset": len(rows)})
            items = _items(page)
            rows.extend(items)
            total = page.get("count") if isinstance(page, dict) else None
            if not items or len(items) < _PAGE or (isinstance(total, int) and len(rows) >= total):
                break
        return rows

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One API call with the session token; a 401 opens a new session and tries once more."""
        attempt = partial(self._send, method, path, params, body)
        return self._sessions.call_renewing(attempt, lambda: StatusNote(describe_error))

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: object, note: StatusNote) -> Any:
        headers = {"Authorization": self._sessions.current(), "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = wire.dumps(body).encode()
        self._limiter.acquire()
        response = send(
            self._ctx.session,
            method,
            self.settings.api_base.rstrip("/") + path,
            vendor=VENDOR,
            describe_error=note.describe,
            params=params,
            data=data,
            headers=headers,
        )
        return json_body(response) if response.content.strip() else None

    def _open_session(self) -> tuple[str, int]:
        api_token = self._ctx.secrets.get("api_token", "")
        if not api_token:
            raise AuthError(
                f"no API token is stored for this connection: connect {VENDOR} with the token from "
                "Beheer > Inrichting > Instellingen > Koppelingen > API"
            )
        url = self.settings.api_base.rstrip("/") + "/v1/session"
        try:
            response = send(
                self._ctx.session,
                "POST",
                url,
                vendor=VENDOR,
                describe_error=describe_error,
                data=json.dumps({"accessToken": api_token, "source": self.settings.source}).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except (PermanentError, AuthError) as error:
            if "API_SESSION_004" in str(error) or "API_SESSION_003" in str(error):
                raise AuthError(f"{VENDOR} no longer accepts the API token: reconnect {VENDOR}") from error
            raise
        session = _parse(_Session, json_body(response), "POST /v1/session")
        return session.token, session.expiresIn


def _items(page: Any) -> list[Any]:
    if isinstance(page, dict) and isinstance(page.get("items"), list):
        return list(page["items"])
    raise PermanentError(f"{VENDOR} answered a list call without its items: {str(page)[:200]}")


def sync_ledgers(target: EboekhoudenTarget) -> dict[str, int]:
    """The administration's chart as {ledger code: ledger id}: deliver maps codes to ids without reading it."""
    return {ledger.code: ledger.id for ledger in target.ledgers()}


def after_connect(target: EboekhoudenTarget) -> dict[str, Any]:
    """Once the API token is stored: the chart of accounts, as settings for deliver."""
    return {"ledger_ids": sync_ledgers(target)}


def load_settings(settings: Any) -> EboekhoudenSettings:
    return load_connector_settings(EboekhoudenSettings, settings, VENDOR)


def build_target(ctx: ConnectorContext) -> EboekhoudenTarget:
    return EboekhoudenTarget(ctx, load_settings(ctx.settings))


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
    codes.update(defaults.payment_ledgers.values())
    return {"ledger_ids": {code: int(code) for code in sorted(codes)}}
