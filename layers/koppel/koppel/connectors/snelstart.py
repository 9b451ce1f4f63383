"""SnelStart (B2B API v2) as a target: customers become relaties, documents become verkoopboekingen.

Docs: https://b2bapi-developer.snelstart.nl/ (authenticatie, oauth, foutcodes-v2); spec:
vendor-specs/snelstart/snelstart-b2b-api-v2.openapi.yaml. The pure mapping lives in snelstart_mapping.

Every API call carries a bearer token (``grant_type=clientkey`` with the administratie's koppelsleutel) and Koppel's
partner subscription key. Assumptions the public docs leave open, each handled both ways where it can be:
- The OData property names in ``$filter`` (``Email``, ``factuurnummer``) are not in the spec; every answer is
  re-checked locally, so a filter SnelStart ignored can never make an unrelated record look like a hit.
- The spec gives 400 no body schema; SnelStart answers a JSON list of ``{"errorCode", "message"}`` (sometimes
  with ``details`` or ``modelState``), its API gateway ``{"statusCode", "message"}``; anything else is shown as text.
- POST /verkoopboekingen takes no idempotency key: exactly-once rests on find_booking (factuurnummer) before any
  re-post, which the deliver service does for every PENDING outbox row.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, Field

from koppel import wire
from koppel.connectors.connector_kit import SharedTokens, StatusNote, VendorReply, parse_reply
from koppel.connectors.connector_kit import load_settings as load_connector_settings
from koppel.connectors.snelstart_mapping import (
    VENDOR,
    SnelstartSettings,
    describe_error,
    invoice_number,
    parse_activation,
    to_verkoopboeking,
)
from koppel.connectors.snelstart_mapping import activation_url as mapping_activation_url
from koppel.errors import AuthError, InputError, MappingError, PermanentError
from koppel.http import RateLimiter, json_body, send, shared_limits
from koppel.model import ExternalRef

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from koppel.booking import Booking
    from koppel.connectors import ConnectorContext
    from koppel.model import Party

__all__ = [
    "SnelstartSettings",
    "SnelstartTarget",
    "activation_url",
    "after_connect",
    "build_target",
    "describe_error",
    "parse_activation",
    "sync_countries",
    "sync_ledgers",
    "to_verkoopboeking",
]

SYSTEM = "snelstart"
DUPLICATE_INVOICE = "BOE-0021"
_PAGE = 500
_MAX_PAGES = 200


class _SnelstartToken(VendorReply):
    access_token: str = Field(min_length=1)
    expires_in: int = 3599


class _SnelstartRef(VendorReply):
    id: str


class _SnelstartRelatie(VendorReply):
    id: str
    relatiecode: int | None = None
    email: str | None = None
    relatiesoort: list[str] = Field(default_factory=list)
    nonactief: bool | None = False


class _SnelstartFactuur(VendorReply):
    id: str | None = None
    factuurnummer: str
    verkoopBoeking: _SnelstartRef | None = None


class _SnelstartLand(VendorReply):
    id: str
    landcodeISO: str | None = None


class _SnelstartGrootboek(VendorReply):
    id: str
    nummer: int | None = None


W = TypeVar("W", bound=BaseModel)


def _parse(model: type[W], data: Any, what: str) -> W:
    return parse_reply(model, data, what, VENDOR)


def _parse_list(model: type[W], data: Any, what: str) -> list[W]:
    if not isinstance(data, list):
        raise PermanentError(f"{VENDOR} answered {what} with {type(data).__name__} where a list was expected")
    return [_parse(model, row, what) for row in data]


def _odata_string(value: str) -> str:
    """An OData string literal: quotes doubled, per the OData URL conventions."""
    return "'" + value.replace("'", "''") + "'"


class _ErrorNote(StatusNote):
    """Also remembers the OAuth error code: ``invalid_grant`` (reconnect) is a decision only this connector makes."""

    def __init__(self) -> None:
        super().__init__(describe_error)
        self.code = ""

    def describe(self, response: requests.Response) -> str:
        try:
            data = json.loads(response.text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            self.code = str(data.get("error") or "")
        return super().describe(response)


class _Koppelsleutel:
    """Swaps the administratie's koppelsleutel for a bearer token (OAuth ``grant_type=clientkey``)."""

    def __init__(self, ctx: ConnectorContext, settings: SnelstartSettings) -> None:
        self._ctx = ctx
        self._settings = settings

    def exchange(self) -> tuple[str, int]:
        token = self._fetch()
        return token.access_token, token.expires_in

    def _fetch(self) -> _SnelstartToken:
        key = self._ctx.secrets.get("koppelsleutel", "")
        if not key:
            raise AuthError(
                f"no koppelsleutel is stored for this connection: connect {VENDOR} (activate the koppeling)"
            )
        note = _ErrorNote()
        try:
            response = send(
                self._ctx.session,
                "POST",
                self._settings.auth_url,
                vendor=VENDOR,
                describe_error=note.describe,
                data={"grant_type": "clientkey", "clientkey": key},
                headers={"Accept": "application/json"},
            )
        except (PermanentError, AuthError) as error:
            if note.code in ("invalid_grant", "invalid_client"):
                raise AuthError(f"the koppelsleutel was revoked or regenerated: reconnect {VENDOR}") from error
            raise
        return _parse(_SnelstartToken, json_body(response), f"POST {self._settings.auth_url}")


class SnelstartTarget:
    """Target protocol for one SnelStart administratie (one koppelsleutel)."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: SnelstartSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._tokens = SharedTokens(ctx, SYSTEM, _Koppelsleutel(ctx, settings).exchange)
        self._subscription_key: str | None = None
        limits = [(settings.rate_limit_per_second, 1.0), (settings.rate_limit_per_minute, 60.0)]
        self._limiter = RateLimiter(shared_limits(limits, ctx.workers))

    def find_party(self, party: Party) -> ExternalRef | None:
        """A relatie with the party's e-mail (case-insensitive), preferring an active Klant; None without e-mail."""
        email = (party.email or "").strip()
        if not email:
            return None
        data = self.call("GET", "/relaties", params={"$filter": f"Email eq {_odata_string(email)}"})
        rows = [r for r in _parse_list(_SnelstartRelatie, data, "GET /relaties") if _same_email(r.email, email)]
        if not rows:
            return None
        best = min(rows, key=lambda r: ("Klant" not in r.relatiesoort, bool(r.nonactief)))
        return _relatie_ref(best)

    def create_party(self, party: Party) -> ExternalRef:
        data = self.call("POST", "/relaties", body=self._relatie_body(party))
        return _relatie_ref(_parse(_SnelstartRelatie, data, "POST /relaties"))

    def find_booking(self, booking: Booking) -> ExternalRef | None:
        number = invoice_number(booking.document.number, self.settings)
        data = self.call("GET", "/verkoopfacturen", params={"$filter": f"factuurnummer eq {_odata_string(number)}"})
        rows = [r for r in _parse_list(_SnelstartFactuur, data, "GET /verkoopfacturen") if r.factuurnummer == number]
        if not rows:
            return None
        # A factuur made from a verkooporder may lack the booking link: its own id still identifies it.
        found = rows[0]
        ref_id = found.verkoopBoeking.id if found.verkoopBoeking else found.id
        if not ref_id:
            raise PermanentError(f"{VENDOR} lists factuur {number} without an id")
        return ExternalRef(system=SYSTEM, id=ref_id, number=number)

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        """POST the verkoopboeking. SnelStart has no idempotency key, so ``request_id`` is not sent: the outbox
        calls find_booking before any second attempt."""
        body = to_verkoopboeking(booking, party.id, self.settings)
        try:
            data = self.call("POST", "/verkoopboekingen", body=body)
        except PermanentError as error:
            # The live API is reported to refuse a known invoice number (BOE-0021 "Het factuurnummer bestaat al"):
            # then it is booked already, by us before a lost answer or by hand, and the existing one is linked.
            if DUPLICATE_INVOICE not in error.vendor_message and DUPLICATE_INVOICE not in str(error):
                raise
            existing = self.find_booking(booking)
            if existing is None:
                raise
            return existing
        created = _parse(_SnelstartRef, data, "POST /verkoopboekingen")
        return ExternalRef(system=SYSTEM, id=created.id, number=body["factuurnummer"])

    def fetch_all(self, path: str) -> list[Any]:
        """Every row of an OData list endpoint, paged with $top/$skip until an empty page."""
        rows: list[Any] = []
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page = self.call("GET", path, params={"$top": _PAGE, "$skip": len(rows)})
            if not isinstance(page, list) or not page:
                break
            fresh = [r for r in page if not (isinstance(r, dict) and r.get("id") in seen)]
            if not fresh:
                break  # the server ignored $skip: stop instead of looping forever
            seen.update(str(r.get("id")) for r in fresh if isinstance(r, dict))
            rows.extend(fresh)
        return rows

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One API call with bearer + subscription key; a 401 renews the token and tries once more."""
        url = self.settings.api_base.rstrip("/") + path
        return self._tokens.call_renewing(partial(self._send, method, url, params, body), _ErrorNote)

    def _send(self, method: str, url: str, params: dict[str, Any] | None, body: object, note: _ErrorNote) -> Any:
        headers = {
            "Authorization": f"Bearer {self._tokens.current()}",
            "Ocp-Apim-Subscription-Key": self._partner_key(),
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = wire.dumps(body).encode()
        self._limiter.acquire()
        response = send(
            self._ctx.session,
            method,
            url,
            vendor=VENDOR,
            describe_error=note.describe,
            params=params,
            data=data,
            headers=headers,
        )
        return json_body(response) if response.content else None

    def _partner_key(self) -> str:
        if self._subscription_key is None:
            key = self._ctx.partner_secret().get("subscription_key", "")
            if not key:
                raise InputError(
                    f"Koppel's {VENDOR} partner secret has no subscription_key (the Ocp-Apim-Subscription-Key from "
                    "the B2B API developer portal): add it to the partner secret"
                )
            self._subscription_key = key
        return self._subscription_key

    def _relatie_body(self, party: Party) -> dict[str, Any]:
        address = party.billing_address
        vestiging: dict[str, Any] = {
            "contactpersoon": party.contact_name,
            "straat": address.street,
            "postcode": address.postcode,
            "plaats": address.city,
        }
        if address.country_code:
            vestiging["land"] = {"id": self._land_id(address.country_code)}
        body: dict[str, Any] = {
            "relatiesoort": ["Klant"],
            "naam": party.name[:50],
            "vestigingsAdres": {k: v for k, v in vestiging.items() if v},
            # Invoices go to the billing address, which webshops know as the customer's only address.
            "correspondentieAdres": {k: v for k, v in vestiging.items() if v},
            "email": party.email,
            "telefoon": party.phone,
            "mobieleTelefoon": party.mobile,
            "btwNummer": party.vat_number,
            "kvkNummer": party.coc_number.strip()[:12].strip(),
            "iban": party.iban,
            "krediettermijn": self.settings.payment_term_days,
        }
        # Empty fields are left out: SnelStart validates what it is given (an empty iban is not an IBAN).
        return {k: v for k, v in body.items() if v not in (None, "", {})}

    def _land_id(self, iso_code: str) -> str:
        """The land id from the countries synced at connect time; a placeholder that spells the code before that
        (as a preview against an empty administratie shows), so deliver itself never reads /landen."""
        code = iso_code.upper()
        if not self.settings.country_ids:
            return f"00000000-0000-0000-0000-{code.encode().hex():0>12}"
        try:
            return self.settings.country_ids[code]
        except KeyError:
            raise MappingError(
                f"{VENDOR} knows no country with ISO code {code}: correct the customer's country in the source"
            ) from None


def _same_email(found: str | None, wanted: str) -> bool:
    return (found or "").strip().casefold() == wanted.casefold()


def _relatie_ref(relatie: _SnelstartRelatie) -> ExternalRef:
    number = str(relatie.relatiecode) if relatie.relatiecode is not None else None
    return ExternalRef(system=SYSTEM, id=relatie.id, number=number)


def sync_ledgers(target: SnelstartTarget) -> dict[str, str]:
    """The administratie's chart as {ledger number: grootboek id}, for the connect step (deliver never reads it)."""
    rows = _parse_list(_SnelstartGrootboek, target.fetch_all("/grootboeken"), "GET /grootboeken")
    return {str(row.nummer): row.id for row in rows if row.nummer is not None}


def sync_countries(target: SnelstartTarget) -> dict[str, str]:
    """The administratie's countries as {ISO code: land id}, for the connect step."""
    landen = _parse_list(_SnelstartLand, target.fetch_all("/landen"), "GET /landen")
    return {land.landcodeISO.upper(): land.id for land in landen if land.landcodeISO}


def after_connect(target: SnelstartTarget) -> dict[str, Any]:
    """Once the koppelsleutel is stored: the chart of accounts and the countries, as settings for deliver."""
    return {"ledger_ids": sync_ledgers(target), "country_ids": sync_countries(target)}


def activation_url(
    success_url: str, reference_key: str, partner: Mapping[str, str], settings: Mapping[str, Any]
) -> str:
    """The SnelStart page where the user activates Koppel for an administratie (Koppel's app short name)."""
    app = partner.get("app_short_name", "")
    if not app:
        raise InputError(f"Koppel's {VENDOR} partner secret has no app_short_name: add it to the partner secret")
    return mapping_activation_url(app, success_url, reference_key, base=load_settings(settings).activation_base)


def load_settings(settings: Any) -> SnelstartSettings:
    return load_connector_settings(SnelstartSettings, settings, VENDOR)


def build_target(ctx: ConnectorContext) -> SnelstartTarget:
    return SnelstartTarget(ctx, load_settings(ctx.settings))
