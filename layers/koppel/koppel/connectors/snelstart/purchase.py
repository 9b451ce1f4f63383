"""SnelStart as a purchase target: suppliers become relaties of the soort Leverancier, a supplier's invoice an
inkoopboeking, its original file a document on that booking, and what is still to be paid is read from the
inkoopfacturen SnelStart derives from the bookings.

Assumptions the public docs leave open (README.md, [I]):
- the OData names ``BtwNummer``, ``KvkNummer`` and ``Naam`` in ``$filter``: every answer is re-checked locally;
- an inkoopboeking carries no payment term: its due date follows the supplier's krediettermijn, which a supplier
  Koppel creates gets from ``supplier_payment_term_days``;
- a purchase paid when it was bought is paid by a kas- or bankboeking on it (purchase_payment), exactly once by
  reading what is still open of a purchase found again;
- POST /inkoopboekingen takes no idempotency key: find_purchase (supplier + factuurnummer) runs before a re-post,
  and a BOE-0021 refusal ("Het factuurnummer bestaat al") links the booking already there.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime  # noqa: TC003 (pydantic reads the annotations at runtime)
from decimal import Decimal  # noqa: TC003
from typing import TYPE_CHECKING

from pydantic import Field

from koppel.connectors.kit import VendorReply, load_settings
from koppel.connectors.snelstart.client import SYSTEM, odata_string, parse, parse_list
from koppel.connectors.snelstart.purchase_mapping import supplier_invoice_number, to_inkoopboeking
from koppel.connectors.snelstart.purchase_payment import PurchasePayments
from koppel.connectors.snelstart.settings import VENDOR, SnelstartSettings
from koppel.connectors.snelstart.target import DUPLICATE_INVOICE, SnelstartTarget
from koppel.errors import PermanentError
from koppel.model import ExternalRef, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from koppel.booking import Booking
    from koppel.connectors.contract import AttachedFile, ConnectorContext
    from koppel.model import Party

DOCUMENTS = "/documenten/Inkoopboekingen"
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


class _Ref(VendorReply):
    id: str


class _Leverancier(VendorReply):
    id: str
    relatiecode: int | None = None
    naam: str | None = None
    btwNummer: str | None = None
    kvkNummer: str | None = None
    relatiesoort: list[str] = Field(default_factory=list)
    nonactief: bool | None = False


class _Inkoopboeking(VendorReply):
    id: str
    factuurnummer: str | None = None


class _Bijlage(VendorReply):
    fileName: str | None = None


class _Inkoopfactuur(VendorReply):
    factuurnummer: str
    factuurBedrag: Decimal | None = None
    openstaandSaldo: Decimal | None = None
    vervalDatum: datetime | None = None
    inkoopBoeking: _Ref | None = None


def _code(value: str | None) -> str:
    """A VAT or KvK number as SnelStart may spell it (spaces, dots, lower case) reduced to what identifies it."""
    return _NOT_ALNUM.sub("", (value or "").lower())


def _name(value: str | None) -> str:
    return " ".join((value or "").casefold().split())


class SnelstartPurchaseTarget(SnelstartTarget):
    """SnelstartTarget plus purchases, their payments made when they were bought, their original files and their
    payment status."""

    def __init__(self, ctx: ConnectorContext, settings: SnelstartSettings) -> None:
        super().__init__(ctx, settings)
        self._payments = PurchasePayments(self.call, self.fetch_all, settings)

    def find_supplier(self, party: Party) -> ExternalRef | None:
        """A relatie by VAT number, then KvK number, then name; an active Leverancier is preferred over a Klant."""
        lookups: list[tuple[str, str, Callable[[_Leverancier], str]]] = [
            ("BtwNummer", party.vat_number.strip(), lambda r: _code(r.btwNummer)),
            ("KvkNummer", party.coc_number.strip()[:12].strip(), lambda r: _code(r.kvkNummer)),
            ("Naam", party.name.strip()[:50], lambda r: _name(r.naam)),
        ]
        for field, value, key in lookups:
            if not value:
                continue
            wanted = _name(value) if field == "Naam" else _code(value)
            data = self.call("GET", "/relaties", params={"$filter": f"{field} eq {odata_string(value)}"})
            rows = [r for r in parse_list(_Leverancier, data, "GET /relaties") if key(r) == wanted]
            if rows:
                best = min(rows, key=lambda r: ("Leverancier" not in r.relatiesoort, bool(r.nonactief)))
                return ExternalRef(system=SYSTEM, id=best.id, number=_number(best.relatiecode))
        return None

    def create_supplier(self, party: Party) -> ExternalRef:
        # SnelStart derives a purchase's due date from the supplier's krediettermijn: the invoice's own term first.
        term = party.payment_term_days
        term = self.settings.supplier_payment_term_days if term is None else term
        body = self._relatie_body(party, "Leverancier", term)
        created = parse(_Leverancier, self.call("POST", "/relaties", body=body), "POST /relaties")
        return ExternalRef(system=SYSTEM, id=created.id, number=_number(created.relatiecode))

    def find_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        """The supplier's own bookings, read for its invoice number: the natural key is the pair. A purchase found
        again (deliver repeats after a crash) is paid for what the document says was paid and SnelStart does not
        show yet (purchase_payment)."""
        found = self._booked_purchase(booking, supplier)
        if found is not None:
            self._payments.settle(booking, found, fresh=False)
        return found

    def _booked_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        number = supplier_invoice_number(booking.document)
        path = f"/relaties/{supplier.id}/inkoopboekingen"
        rows = [
            r for r in parse_list(_Inkoopboeking, self.call("GET", path), f"GET {path}") if r.factuurnummer == number
        ]
        return ExternalRef(system=SYSTEM, id=rows[0].id, number=number) if rows else None

    def post_purchase(self, booking: Booking, supplier: ExternalRef, request_id: str) -> ExternalRef:
        """POST the inkoopboeking (SnelStart takes no idempotency key, so ``request_id`` is not sent)."""
        body = to_inkoopboeking(booking, supplier.id, self.settings)
        try:
            data = self.call("POST", "/inkoopboekingen", body=body)
        except PermanentError as error:
            if DUPLICATE_INVOICE not in f"{error.vendor_message} {error}":
                raise
            existing = self.find_purchase(booking, supplier)
            if existing is None:
                raise
            return existing
        created = parse(_Ref, data, "POST /inkoopboekingen")
        ref = ExternalRef(system=SYSTEM, id=created.id, number=body["factuurnummer"])
        self._payments.settle(booking, ref, fresh=True)
        return ref

    def attach(self, ref: ExternalRef, file: AttachedFile) -> None:
        """Upload the file as a document of the booking, unless the booking holds one of that name already."""
        path = f"{DOCUMENTS}/{ref.id}"
        held = parse_list(_Bijlage, self.call("GET", path), f"GET {path}")
        if any(document.fileName == file.filename for document in held):
            return
        body = {"content": base64.b64encode(file.data).decode("ascii"), "fileName": file.filename,
                "parentIdentifier": ref.id}  # fmt: skip
        parse(_Ref, self.call("POST", DOCUMENTS, body=body), f"POST {DOCUMENTS}")

    def purchase_status(self, purchases: Sequence[ExternalRef]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """What is open of each booked purchase, from the inkoopfacturen read once (paged); a booking without its
        inkoopfactuur is gone (deleted)."""
        if not purchases:
            return
        rows = parse_list(_Inkoopfactuur, self.fetch_all("/inkoopfacturen"), "GET /inkoopfacturen")
        by_booking = {row.inkoopBoeking.id.lower(): row for row in rows if row.inkoopBoeking}
        now = self._ctx.clock()
        for ref in purchases:
            factuur = by_booking.get(ref.id.lower())
            if factuur is None:
                yield ref.id, _status(ref.number or ref.id, "deleted", None, None, now)
            elif not factuur.openstaandSaldo:
                yield ref.id, None
            else:
                due = factuur.vervalDatum.date() if factuur.vervalDatum else None
                state = "overdue" if due and due < now.date() else "open"
                if state == "open" and factuur.openstaandSaldo != factuur.factuurBedrag:
                    state = "partially_paid"
                yield ref.id, _status(factuur.factuurnummer, state, factuur.openstaandSaldo, due, now)


def _status(number: str, state: str, amount_open: Decimal | None, due: date | None, now: datetime) -> PaymentStatus:
    return PaymentStatus.model_validate(
        {
            "document_number": number,
            "status": state,
            "amount_open": amount_open if amount_open is not None else 0,
            "currency": "EUR",
            "updated_at": now,
            "due_date": due,
        }
    )


def _number(relatiecode: int | None) -> str | None:
    return str(relatiecode) if relatiecode is not None else None


def build_target(ctx: ConnectorContext) -> SnelstartPurchaseTarget:
    return SnelstartPurchaseTarget(ctx, load_settings(SnelstartSettings, ctx.settings, VENDOR))
