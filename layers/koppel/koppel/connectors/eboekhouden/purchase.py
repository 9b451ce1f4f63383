"""Purchases in e-Boekhouden.nl: a supplier's invoice booked as an "invoice received" mutation (type 1) under the
supplier's relation, exactly once; a receipt paid when it was handed over is paid with it ("invoice payment sent",
type 4), for what is still open of it. The pure translation is in ``purchase_mapping``; README.md has the API facts.

Assumptions the public docs leave open, each handled both ways:
- Whether MUT_019 ("invoice number already exists") holds per supplier or for the whole administration: every
  purchase is looked up by invoice number AND relation before it is posted; when e-Boekhouden refuses the
  supplier's own number because another supplier's invoice holds it, it is booked under the number keyed to the
  supplier (``purchase_mapping.purchase_numbers``), which the look-up tries too.
- The relation list has no filter on VAT or KvK number and names only id, type and code: a supplier is found by
  reading the relations once per target (their details are kept for the next supplier).
"""

from __future__ import annotations

import re
from decimal import Decimal  # noqa: TC003 (pydantic reads the annotations at runtime)
from typing import TYPE_CHECKING, ClassVar

from koppel.connectors.eboekhouden.client import SYSTEM, parse
from koppel.connectors.eboekhouden.mapping import relation_body
from koppel.connectors.eboekhouden.purchase_mapping import (
    payment_sent_mutation,
    payments_due,
    purchase_mutation,
    purchase_numbers,
)
from koppel.connectors.eboekhouden.settings import INVOICE_RECEIVED, VENDOR, EboekhoudenSettings
from koppel.connectors.eboekhouden.target import EboekhoudenTarget, is_duplicate_invoice
from koppel.connectors.kit import VendorReply, load_settings
from koppel.errors import PermanentError
from koppel.model import ExternalRef, PaymentStatus
from koppel.money import ZERO

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from koppel.booking import Booking
    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Party, Payment, PaymentState

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


class _RelationDetails(VendorReply):
    id: int
    code: str | None = None
    name: str = ""
    vatNumber: str | None = None
    companyRegistrationNumber: str | None = None


class _OpenPurchase(VendorReply):
    mutationId: int
    invoiceNumber: str | None = None
    totalAmount: Decimal
    outstandingAmount: Decimal


class _MutationDetails(VendorReply):
    id: int
    type: int
    relationId: int | None = None
    invoiceNumber: str | None = None


class EboekhoudenBooks(EboekhoudenTarget):
    """The e-Boekhouden target with the purchase side: suppliers (relations) and invoices received."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: EboekhoudenSettings) -> None:
        super().__init__(ctx, settings)
        self._known: dict[int, _RelationDetails] | None = None

    # -- suppliers ----------------------------------------------------------------------------------------------
    def find_supplier(self, party: Party) -> ExternalRef | None:
        """By VAT number, then KvK number, then name (each compared without spaces, dots or case)."""
        relations = list(self._relations_read().values())
        for wanted, key_of in (
            (_plain(party.vat_number), _vat_of),
            (_plain(party.coc_number), _coc_of),
            (_name(party.name), _name_of),
        ):
            found = next((r for r in relations if wanted and key_of(r) == wanted), None)
            if found is not None:
                return ExternalRef(system=SYSTEM, id=str(found.id), number=found.code)
        return None

    def create_supplier(self, party: Party) -> ExternalRef:
        """A new relation with the supplier's VAT and KvK number, IBAN, address and e-mail."""
        body = relation_body(party, self.settings)
        created = parse(_RelationDetails, self.call("POST", "/v1/relation", body=body), "POST /v1/relation")
        if self._known is not None:
            self._known[created.id] = _RelationDetails.model_validate({**body, **created.model_dump()})
        return ExternalRef(system=SYSTEM, id=str(created.id), number=created.code)

    # -- invoices received --------------------------------------------------------------------------------------
    def find_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        """The invoice received from this supplier under its invoice number, in either form it may be booked; a
        receipt paid when it was handed over only once its payment is booked too (post_purchase finishes it)."""
        found = self._booked_purchase(booking, int(supplier.id))
        if found is None or not self._unpaid(found, booking, int(supplier.id)):
            return found
        return None

    def post_purchase(self, booking: Booking, supplier: ExternalRef, request_id: str) -> ExternalRef:
        """POST the invoice received under the supplier's own number; when e-Boekhouden says another invoice holds
        it (MUT_019) and that one is not this supplier's, under the number keyed to the supplier. e-Boekhouden
        takes no idempotency key, so ``request_id`` is not sent: find_purchase is the guard."""
        relation_id = int(supplier.id)
        if booking.document.payments:
            # find_purchase ran just before: the purchase can only be there already when its payment was not.
            found = self._booked_purchase(booking, relation_id)
            if found is not None:
                self._pay(booking, found, relation_id, self._unpaid(found, booking, relation_id))
                return found
        ref, posted = self._post_purchase(booking, relation_id)
        if posted:
            # Nothing of it is paid yet: the open items are not read (they might not list it yet).
            due = payments_due(booking.document.payments, ZERO, booking.total)
        else:
            due = self._unpaid(ref, booking, relation_id)
        self._pay(booking, ref, relation_id, due)
        return ref

    def _post_purchase(self, booking: Booking, relation_id: int) -> tuple[ExternalRef, bool]:
        """The purchase posted (True), or linked where e-Boekhouden holds it already under this supplier (False)."""
        numbers = purchase_numbers(booking.document.number, relation_id)
        for number in numbers:
            body = purchase_mutation(booking, relation_id, number, self.settings)
            try:
                return ExternalRef(system=SYSTEM, id=str(self._post_mutation(body)), number=number), True
            except PermanentError as error:
                if not is_duplicate_invoice(error):
                    raise
                # Booked already (a lost answer, or by hand) under this supplier: link it. Else the next form.
                found = self._purchase_of(number, relation_id)
                if found is not None:
                    return found, False
        raise PermanentError(
            f"{VENDOR} refused every invoice number tried for the supplier's invoice {booking.document.number} "
            f"({', '.join(numbers)}) as already used by another relation: book it by hand under a number of your own"
        )

    # -- what is still to be paid -------------------------------------------------------------------------------
    def purchase_status(self, purchases: Sequence[ExternalRef]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """From the creditors' outstanding list (credDeb=C), read whole once, by mutation id (the vendor advises it
        over the invoice number). A purchase missing from it is paid, unless the mutation itself is gone."""
        if not purchases:
            return
        rows = self.fetch_all("/v1/mutation/invoice/outstanding", {"credDeb": "C"})
        still_open = {item.mutationId: item for item in (parse(_OpenPurchase, r, "GET outstanding") for r in rows)}
        for ref in purchases:
            item = still_open.get(int(ref.id))
            if item is None:
                yield ref.id, None if self._mutation_exists(ref.id) else self._status(ref, "deleted", ZERO)
                continue
            state: PaymentState = "partially_paid" if item.outstandingAmount != item.totalAmount else "open"
            yield ref.id, self._status(ref, state, item.outstandingAmount, item.invoiceNumber)

    def _status(
        self, ref: ExternalRef, state: PaymentState, amount_open: Decimal, number: str | None = None
    ) -> PaymentStatus:
        return PaymentStatus(
            document_number=ref.number or number or ref.id,
            status=state,
            amount_open=amount_open,
            currency="EUR",
            updated_at=self._ctx.clock(),
        )

    def _mutation_exists(self, ident: str) -> bool:
        try:
            self.call("GET", f"/v1/mutation/{ident}")
        except PermanentError as error:
            if error.status == 404:
                return False
            raise
        return True

    # -- paid when it was handed over ---------------------------------------------------------------------------
    def _unpaid(self, ref: ExternalRef, booking: Booking, relation_id: int) -> list[tuple[Payment, Decimal]]:
        """What of the document's payments is not booked yet, from what the open items say is paid of it. One that
        is not listed there is paid in full (by Koppel before a crash, or by hand)."""
        if not booking.document.payments:
            return []
        params = {"credDeb": "C", "invoiceNumber": ref.number or booking.document.number}
        rows = self.fetch_all("/v1/mutation/invoice/outstanding", params)
        items = (parse(_OpenPurchase, r, "GET outstanding") for r in rows)
        # By mutation id: the filter is by number, which another supplier's invoice may share.
        item = next((item for item in items if item.mutationId == int(ref.id)), None)
        if item is None:
            return []
        paid = item.totalAmount - item.outstandingAmount
        return payments_due(booking.document.payments, paid, item.outstandingAmount)

    def _pay(self, booking: Booking, ref: ExternalRef, relation_id: int, due: list[tuple[Payment, Decimal]]) -> None:
        number = ref.number or booking.document.number
        for payment, amount in due:
            body = payment_sent_mutation(booking.document, payment, amount, relation_id, number, self.settings)
            self._post_mutation(body)

    # -- plumbing -----------------------------------------------------------------------------------------------
    def _booked_purchase(self, booking: Booking, relation_id: int) -> ExternalRef | None:
        for number in purchase_numbers(booking.document.number, relation_id):
            found = self._purchase_of(number, relation_id)
            if found is not None:
                return found
        return None

    def _purchase_of(self, number: str, relation_id: int) -> ExternalRef | None:
        for item in self._mutations(number, INVOICE_RECEIVED):
            held = parse(_MutationDetails, self.call("GET", f"/v1/mutation/{item.id}"), "GET /v1/mutation/{id}")
            if held.relationId == relation_id:
                return ExternalRef(system=SYSTEM, id=str(held.id), number=number)
        return None

    def _relations_read(self) -> dict[int, _RelationDetails]:
        """Every relation with its details, read once per target: the list names only id, type and code."""
        if self._known is None:
            known = {}
            for row in self.fetch_all("/v1/relation"):
                ident = parse(_RelationDetails, {"name": "", **row}, "GET /v1/relation").id
                details = self.call("GET", f"/v1/relation/{ident}")
                known[ident] = parse(_RelationDetails, details, "GET /v1/relation/{id}")
            self._known = known
        return self._known


def _plain(value: str | None) -> str:
    return _NOT_ALNUM.sub("", (value or "").lower())


def _name(value: str | None) -> str:
    return " ".join((value or "").casefold().split())


def _vat_of(relation: _RelationDetails) -> str:
    return _plain(relation.vatNumber)


def _coc_of(relation: _RelationDetails) -> str:
    return _plain(relation.companyRegistrationNumber)


def _name_of(relation: _RelationDetails) -> str:
    return _name(relation.name)


def build_target(ctx: ConnectorContext) -> EboekhoudenBooks:
    return EboekhoudenBooks(ctx, load_settings(EboekhoudenSettings, ctx.settings, VENDOR))
