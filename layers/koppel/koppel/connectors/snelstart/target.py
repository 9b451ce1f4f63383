"""SnelStart (B2B API v2) as a target: customers become relaties, documents become verkoopboekingen.

The calls (bearer from the koppelsleutel, subscription key, paging, errors) are in ``client``, the pure mapping in
``mapping``; README.md in this folder has the API facts. Assumptions the public docs leave open, each handled both
ways where it can be:
- The OData property names in ``$filter`` (``Email``, ``factuurnummer``) are not in the spec; every answer is
  re-checked locally, so a filter SnelStart ignored can never make an unrelated record look like a hit.
- POST /verkoopboekingen takes no idempotency key: exactly-once rests on find_booking (factuurnummer) before any
  re-post, which the deliver service does for every PENDING outbox row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from koppel.connectors.kit import VendorReply
from koppel.connectors.snelstart.client import SYSTEM, SnelstartClient, odata_string, parse, parse_list
from koppel.connectors.snelstart.mapping import invoice_number, to_verkoopboeking
from koppel.connectors.snelstart.settings import VENDOR, SnelstartSettings
from koppel.errors import MappingError, PermanentError
from koppel.model import ExternalRef

if TYPE_CHECKING:
    from koppel.booking import Booking
    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Party

DUPLICATE_INVOICE = "BOE-0021"


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


class SnelstartTarget:
    """Target protocol for one SnelStart administratie (one koppelsleutel)."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: SnelstartSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._client = SnelstartClient(ctx, settings)

    def find_party(self, party: Party) -> ExternalRef | None:
        """A relatie with the party's e-mail (case-insensitive), preferring an active Klant; None without e-mail."""
        email = (party.email or "").strip()
        if not email:
            return None
        data = self.call("GET", "/relaties", params={"$filter": f"Email eq {odata_string(email)}"})
        rows = [r for r in parse_list(_SnelstartRelatie, data, "GET /relaties") if _same_email(r.email, email)]
        if not rows:
            return None
        best = min(rows, key=lambda r: ("Klant" not in r.relatiesoort, bool(r.nonactief)))
        return _relatie_ref(best)

    def create_party(self, party: Party) -> ExternalRef:
        data = self.call("POST", "/relaties", body=self._relatie_body(party))
        return _relatie_ref(parse(_SnelstartRelatie, data, "POST /relaties"))

    def find_booking(self, booking: Booking) -> ExternalRef | None:
        number = invoice_number(booking.document.number, self.settings)
        data = self.call("GET", "/verkoopfacturen", params={"$filter": f"factuurnummer eq {odata_string(number)}"})
        rows = [r for r in parse_list(_SnelstartFactuur, data, "GET /verkoopfacturen") if r.factuurnummer == number]
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
        created = parse(_SnelstartRef, data, "POST /verkoopboekingen")
        return ExternalRef(system=SYSTEM, id=created.id, number=body["factuurnummer"])

    def fetch_all(self, path: str) -> list[Any]:
        """Every row of an OData list endpoint, paged with $top/$skip until an empty page."""
        return self._client.fetch_all(path)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One API call with bearer + subscription key; a 401 renews the token and tries once more."""
        return self._client.call(method, path, params=params, body=body)

    def after_connect(self) -> dict[str, Any]:
        """Once the koppelsleutel is stored: the chart of accounts and the countries, as settings for deliver."""
        return after_connect(self)

    def _relatie_body(self, party: Party, soort: str = "Klant", term: int | None = None) -> dict[str, Any]:
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
            "relatiesoort": [soort],
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
            "krediettermijn": self.settings.payment_term_days if term is None else term,
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
    rows = parse_list(_SnelstartGrootboek, target.fetch_all("/grootboeken"), "GET /grootboeken")
    return {str(row.nummer): row.id for row in rows if row.nummer is not None}


def sync_countries(target: SnelstartTarget) -> dict[str, str]:
    """The administratie's countries as {ISO code: land id}, for the connect step."""
    landen = parse_list(_SnelstartLand, target.fetch_all("/landen"), "GET /landen")
    return {land.landcodeISO.upper(): land.id for land in landen if land.landcodeISO}


def after_connect(target: SnelstartTarget) -> dict[str, Any]:
    """Once the koppelsleutel is stored: the chart of accounts and the countries, as settings for deliver."""
    return {"ledger_ids": sync_ledgers(target), "country_ids": sync_countries(target)}
