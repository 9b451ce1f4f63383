"""Billy as a polled source of documents (the Billy → CRM direction of a two-way koppeling): approved invoices and
credit notes, each booked once. README.md in this folder has the API facts; the translation is in ``document``.

Billy sends no webhooks and has no changed-since filter, and no record carries an ``updatedTime`` [V by absence,
https://www.billy.dk/api/]. But an invoice cannot change once approved [V: the only state change is draft →
approved], so the moment it is approved is the moment it becomes bookable, for good: the poll lists the invoices
approved in its window (``state=approved``, ``minApprovedTime`` / ``maxApprovedTime``, pages of up to 1,000, checked
again here) with their lines, tax rates, products and contact embedded, so one paged listing reads a whole window.
A draft is never listed. An approved invoice that cannot be read is parked under the id it has for ever
(``billy:invoice:<id>:approved``) with what to correct (its contact, in practice).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.billy.client import BillyClient
from koppel.connectors.billy.document import INCLUDE, approved_at, event_id, invoice_event, percentage
from koppel.connectors.billy.settings import SYSTEM, VENDOR, BillySettings
from koppel.connectors.kit import load_settings
from koppel.errors import InputError, KoppelError
from koppel.ports import PolledRecord

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from decimal import Decimal

    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Connection, HubEvent

POLL_INTERVAL_MINUTES = 180
"""As the CRM side of the koppeling: the two-way connection's poll reads both sides every 3 hours."""
MAX_OPEN_DAYS = 30
"""How long an approved invoice that cannot be read may hold the poll's watermark back: its contact is what gets
corrected, which does not move the invoice's ``approvedTime`` back into a later window."""
PREVIEW_SHAPE = (
    f"one Billy invoice as GET /v2/invoices/:id?include={INCLUDE} answers it: the invoice object (or "
    '{"invoice": {...}}) with "lines" (each with its "taxRate" and "product") and "contact" (with '
    '"contactPersons") embedded'
)


class BillySource:
    """``PolledSource`` for one Billy organization (one access token)."""

    name: ClassVar[str] = SYSTEM

    def __init__(self, ctx: ConnectorContext, settings: BillySettings) -> None:
        self.settings = settings
        self.client = BillyClient(ctx, settings)
        self._ctx = ctx

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """Invoices and credit notes approved in [since, until), oldest first (Billy keeps times to the second)."""
        if since.tzinfo is None or until.tzinfo is None:
            raise InputError(f"a {VENDOR} poll window needs time-zone aware timestamps")
        params = {
            "state": "approved", "minApprovedTime": _billy_time(since), "maxApprovedTime": _billy_time(until),
            "sortProperty": "approvedTime", "include": INCLUDE,
        }  # fmt: skip
        listed: list[tuple[datetime, str, dict[str, Any]]] = []
        for invoice in self.client.list_all("invoices", params):
            at = approved_at(invoice)  # re-checked: an ignored filter must not book a draft or another window
            if invoice.get("state") == "approved" and at is not None and since <= at < until and invoice.get("id"):
                listed.append((at, str(invoice["id"]), invoice))
        listed.sort(key=lambda item: (item[0], item[1]))
        rates = self._rates() if any(_needs_rates(invoice) for _, _, invoice in listed) else {}
        oldest_open = self._ctx.clock() - timedelta(days=MAX_OPEN_DAYS)
        for at, ident, invoice in listed:
            try:
                event = invoice_event(invoice, rates, self._ctx.connection)
            except (KoppelError, ValueError) as error:  # ValueError: a value the canonical model refuses
                yield PolledRecord(
                    record_id=ident, changed_at=at, problem=_first_line(error), event_ids=(event_id(invoice),),
                    is_settled=at < oldest_open,
                )  # fmt: skip
                continue
            yield PolledRecord(record_id=ident, changed_at=at, events=(event,))

    def _rates(self) -> dict[str, Decimal]:
        """The organization's tax rates, id → percentage: for a line whose tax rate Billy did not embed."""
        return {
            str(rate["id"]): percentage(rate["rate"])
            for rate in self.client.list_all("taxRates")
            if rate.get("id") and rate.get("rate") is not None
        }


def _needs_rates(invoice: Mapping[str, Any]) -> bool:
    lines = [line for line in invoice.get("lines") or [] if isinstance(line, dict)]
    return any(line.get("taxRateId") and not isinstance(line.get("taxRate"), dict) for line in lines)


def _billy_time(moment: datetime) -> str:
    """A filter time as Billy writes one (``2025-06-02 12:00:00``, UTC [I]), to the second: ``approvedTime`` has no
    fraction, and the window is checked again on what comes back."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:500]


def build_source(ctx: ConnectorContext) -> BillySource:
    """Credentials (secrets): ``access_token`` (Billy: Settings > Access tokens), the same as the target's."""
    return BillySource(ctx, load_settings(BillySettings, ctx.settings, VENDOR))


def preview_events(record: Mapping[str, Any], connection: Connection) -> list[HubEvent]:
    """``koppel preview``: one invoice file (``PREVIEW_SHAPE``) as its event; a draft, or what cannot be booked,
    is refused with the reason."""
    wrapped = record.get("invoice") if isinstance(record, Mapping) else None
    invoice = wrapped if isinstance(wrapped, dict) else record
    if not isinstance(invoice, Mapping) or not isinstance(invoice.get("lines"), list):
        raise InputError(f"a {VENDOR} preview file is {PREVIEW_SHAPE}")
    return [invoice_event(invoice, {}, connection)]
