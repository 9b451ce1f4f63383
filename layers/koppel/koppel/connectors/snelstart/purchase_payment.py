"""A purchase paid when it was bought (a supplier's till receipt paid by card or cash) is booked paid in SnelStart, so
it does not stay open with the supplier.

SnelStart keeps no payment on the inkoopboeking: money paid is a kasboeking (a Kas dagboek) or a bankboeking (a Bank
dagboek) whose ``inkoopboekingBoekingsRegels`` name the inkoopboeking it settles; SnelStart then lowers that
purchase's inkoopfactuur ``openstaandSaldo``. Cash goes to the cash journal, every other method to the bank journal
(settings ``cash_journal`` / ``bank_journal``, by default the administratie's first active one of that soort).
Neither booking takes a key of ours, so exactly once rests on what is still open: a purchase found again (deliver
runs again after a crash) is read first, and only the payments its inkoopfactuur does not show yet are booked.
README.md has the facts and what is [I].
"""

from __future__ import annotations

from decimal import Decimal  # noqa: TC003 (pydantic reads the annotations at runtime)
from typing import TYPE_CHECKING, Any

from koppel.connectors.kit import VendorReply
from koppel.connectors.snelstart.client import odata_string, parse, parse_list
from koppel.connectors.snelstart.settings import VENDOR
from koppel.errors import MappingError, RetryableError
from koppel.money import ZERO

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from koppel.booking import Booking
    from koppel.connectors.snelstart.settings import SnelstartSettings
    from koppel.model import ExternalRef, Payment

JOURNAL_PATHS = {"Kas": "/kasboekingen", "Bank": "/bankboekingen"}
"""Where a payment in a dagboek of that soort is booked."""


class _Ref(VendorReply):
    id: str


class _Dagboek(VendorReply):
    id: str
    nummer: int | None = None
    soort: str | None = None
    nonactief: bool | None = False


class _Openstaand(VendorReply):
    factuurBedrag: Decimal | None = None
    openstaandSaldo: Decimal | None = None
    inkoopBoeking: _Ref | None = None


def still_to_book(payments: Sequence[Payment], settled: Decimal) -> list[tuple[Payment, Decimal]]:
    """The payments (and how much of each) SnelStart does not show yet, given what it shows settled already: the
    payments are booked in their order, so the ones it covers are done; a part paid by hand is not paid twice."""
    todo = []
    for payment in payments:
        covered = settled if settled * payment.amount > 0 else ZERO
        covered = covered if abs(covered) < abs(payment.amount) else payment.amount
        settled -= covered
        if payment.amount != covered:
            todo.append((payment, payment.amount - covered))
    return todo


def to_betaling(payment: Payment, amount: Decimal, purchase: ExternalRef, dagboek_id: str, text: str) -> dict[str, Any]:
    """The kas- or bankboeking body: money paid out leaves the cash or bank (``bedragUitgegeven``) and is debited to
    the purchase (the supplier is owed less); money handed back on a credit note comes in and is credited."""
    out = amount > 0
    regel = {"boekingId": {"id": purchase.id}, "omschrijving": text[:250],
             "debet": amount if out else ZERO, "credit": ZERO if out else -amount}  # fmt: skip
    return {
        "datum": f"{payment.paid_on.isoformat()}T00:00:00",
        "omschrijving": text[:250],
        "dagboek": {"id": dagboek_id},
        "bedragUitgegeven": amount if out else ZERO,
        "bedragOntvangen": ZERO if out else -amount,
        "inkoopboekingBoekingsRegels": [regel],
    }


class PurchasePayments:
    """Books the payments of one administratie's purchases (the target's ``call`` and ``fetch_all``)."""

    def __init__(
        self, call: Callable[..., Any], fetch_all: Callable[[str], list[Any]], settings: SnelstartSettings
    ) -> None:
        self._call = call
        self._fetch_all = fetch_all
        self._settings = settings
        self._dagboeken: list[_Dagboek] | None = None

    def settle(self, booking: Booking, purchase: ExternalRef, *, fresh: bool) -> None:
        """Book the document's payments against ``purchase``; ``fresh``: just posted, so nothing is paid yet."""
        doc = booking.document
        if not doc.payments:
            return
        settled = ZERO if fresh else self._settled(purchase)
        for payment, amount in still_to_book(doc.payments, settled):
            path, dagboek_id = self._journal(payment)
            method = payment.description or payment.method
            text = f"Betaling {doc.party.name} factuur {purchase.number or doc.number} ({method})"
            parse(_Ref, self._call("POST", path, body=to_betaling(payment, amount, purchase, dagboek_id, text)),
                  f"POST {path}")  # fmt: skip

    def _settled(self, purchase: ExternalRef) -> Decimal:
        """What the purchase's inkoopfactuur shows paid: its amount less what is still open."""
        params = {"$filter": f"factuurnummer eq {odata_string(purchase.number or '')}"}
        found = _factuur_of(purchase, self._call("GET", "/inkoopfacturen", params=params))
        if found is None:  # the filter's property name is [I]: read the whole list before giving up
            found = _factuur_of(purchase, self._fetch_all("/inkoopfacturen"))
        if found is None:
            raise RetryableError(
                f"{VENDOR} lists no inkoopfactuur for inkoopboeking {purchase.number or purchase.id} yet, so Koppel "
                "cannot tell what is still to be paid; it tries again"
            )
        return (found.factuurBedrag or ZERO) - (found.openstaandSaldo or ZERO)

    def _journal(self, payment: Payment) -> tuple[str, str]:
        """The booking path and dagboek id for a payment by this method."""
        soort = "Kas" if payment.method == "cash" else "Bank"
        nummer = self._settings.cash_journal if soort == "Kas" else self._settings.bank_journal
        dagboeken = self._journals()
        if not dagboeken:  # an administratie that lists none (koppel preview's empty one): a placeholder id
            return JOURNAL_PATHS[soort], f"00000000-0000-0000-0000-{nummer or 0:012d}"
        if nummer is None:
            candidates = [d for d in dagboeken if d.soort == soort and not d.nonactief]
        else:
            candidates = [d for d in dagboeken if d.nummer == nummer]
        setting = "cash_journal" if soort == "Kas" else "bank_journal"
        if not candidates:
            wanted = f"dagboek {nummer}" if nummer is not None else f"an active {soort} dagboek"
            raise MappingError(
                f"{VENDOR} has no {wanted} to book a {payment.method} payment of a purchase in: add one in "
                f"{VENDOR} or set the {VENDOR} setting {setting} to a {soort} dagboek's number, then replay"
            )
        chosen = min(candidates, key=lambda d: d.nummer if d.nummer is not None else 0)
        if chosen.soort not in JOURNAL_PATHS:
            raise MappingError(
                f"{VENDOR} dagboek {chosen.nummer} is a {chosen.soort} dagboek, where no payment can be booked: set "
                f"the {VENDOR} setting {setting} to a Kas or Bank dagboek's number, then replay"
            )
        return JOURNAL_PATHS[chosen.soort], chosen.id

    def _journals(self) -> list[_Dagboek]:
        if self._dagboeken is None:
            self._dagboeken = parse_list(_Dagboek, self._call("GET", "/dagboeken"), "GET /dagboeken")
        return self._dagboeken


def _factuur_of(purchase: ExternalRef, data: Any) -> _Openstaand | None:
    wanted = purchase.id.lower()
    rows = parse_list(_Openstaand, data, "GET /inkoopfacturen")
    return next((r for r in rows if r.inkoopBoeking and r.inkoopBoeking.id.lower() == wanted), None)
