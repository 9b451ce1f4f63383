"""The source's own screens (Pipedrive's app extensions): a button that books a record now, a panel that shows its
invoices with their status, and actions on those invoices, all found from the vendor account that signed the request.

Every request is verified first (the vendor signs it with Koppel's app secret) and names only the vendor account;
the account's link (``ConnectionStore.connections_of_account``) gives the connection, read by key. A record booked
from the button goes the same way as a webhook's: onto the targets' queues, under its deterministic event id, so a
second press, a won-deal webhook and a poll all collapse onto one invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from koppel.errors import InputError, NotFoundError, PermanentError
from koppel.model import PAYMENT_STATE_WORDS, ExternalRef
from koppel.services.ingest import publish

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from koppel.connectors.contract import AppExtension, ExtensionRequest, InvoiceActions, PanelInvoice
    from koppel.model import Connection
    from koppel.ports import ConnectionStore, Ledger, LedgerEntry, Publisher, Source

ACTIONS = ("void", "delete", "send", "pdf")
FINAL = ("Voided", "Cancelled", "Deleted")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppDeps:
    connections: ConnectionStore
    ledger: Ledger
    publisher: Publisher
    source_for: Callable[[Connection], Source]
    target_for: Callable[[Connection, str], object]
    extension_for: Callable[[str], AppExtension]
    """The source's app extension; NotFoundError for a vendor without one."""
    partner_secret: Callable[[str], Mapping[str, str]]
    """Koppel's app credentials at the vendor, whose secret signs the vendor's requests."""
    clock: Callable[[], datetime] = field(default=_utcnow)


@dataclass(frozen=True)
class Queued:
    connection: Connection
    event_ids: tuple[str, ...]
    already_booked: tuple[str, ...]


def _request(source: str, query: Mapping[str, str], deps: AppDeps) -> tuple[AppExtension, ExtensionRequest, Connection]:
    extension = deps.extension_for(source)
    request = extension.read_request(query, deps.partner_secret(source), deps.clock())
    linked = deps.connections.connections_of_account(source, request.account_id)
    connections = [deps.connections.get(connection_id) for connection_id in linked]
    active = [c for c in connections if c.status == "active"]
    if not active:
        state = f"is {connections[0].status}" if connections else "has no Koppel connection"
        raise NotFoundError(f"this {source} account {state}: connect it in Koppel first (koppel connections activate)")
    return extension, request, active[0]


def book_now(source: str, query: Mapping[str, str], deps: AppDeps) -> Queued:
    """The button: read each selected record from the source and queue it for every target, once."""
    from koppel.connectors.contract import RecordReader  # here, not at import: the scheduler loads no connector

    extension, request, connection = _request(source, query, deps)
    if not request.record_ids:
        raise InputError(f"the {source} request selected no record to invoice")
    reader = deps.source_for(connection)
    if not isinstance(reader, RecordReader):
        raise NotFoundError(f"{source} records cannot be read one by one")
    queued: list[str] = []
    booked: list[str] = []
    for record_id in request.record_ids:
        if all(_booked(connection, event_id, deps) for event_id in extension.event_ids(record_id)):
            booked.append(record_id)
            continue
        events = reader.hydrate(extension.notice(record_id))
        if not events:
            raise PermanentError(f"{source} record {record_id} is not ready to invoice yet")
        publish(connection, events, deps.publisher)
        queued += [event.event_id for event in events]
    return Queued(connection, tuple(queued), tuple(booked))


def panel(source: str, query: Mapping[str, str], deps: AppDeps) -> dict[str, object]:
    """The panel: every invoice of the selected records, in every target, with its status in words."""
    from koppel.connectors.contract import InvoiceActions

    extension, request, connection = _request(source, query, deps)
    books = {target: deps.target_for(connection, target) for target in connection.targets}
    invoices: list[PanelInvoice] = []
    for row in _rows(extension, request, connection, deps):
        actions = books[row.target]
        invoices.append(_shown(row, actions if isinstance(actions, InvoiceActions) else None))
    return extension.panel(invoices)


def act(source: str, action: str, query: Mapping[str, str], deps: AppDeps) -> bytes | None:
    """Void, delete, send or download one booked invoice of the selected record; the PDF's bytes for ``pdf``."""
    from koppel.connectors.contract import InvoiceActions

    if action not in ACTIONS:
        raise NotFoundError(f"no invoice action {action!r}; actions: {', '.join(ACTIONS)}")
    extension, request, connection = _request(source, query, deps)
    for row in _rows(extension, request, connection, deps):
        if row.state != "POSTED":
            continue
        books = deps.target_for(connection, row.target)
        if not isinstance(books, InvoiceActions):
            raise NotFoundError(f"{row.target} takes no {action} from Koppel: do it in {row.target} itself")
        return _perform(books, action, _ref(row))
    raise NotFoundError(f"the selected {source} record has no booked invoice to {action}")


def _rows(
    extension: AppExtension, request: ExtensionRequest, connection: Connection, deps: AppDeps
) -> Iterator[LedgerEntry]:
    """The ledger rows of the selected records, target by target (read by key: one row per event and target)."""
    for target in connection.targets:
        for record_id in request.record_ids:
            for event_id in extension.event_ids(record_id):
                row = deps.ledger.get(connection.connection_id, target, event_id)
                if row is not None:
                    yield row


def _ref(row: LedgerEntry) -> ExternalRef:
    return ExternalRef(system=row.target, id=row.external_id, number=row.external_number or None)


def _perform(books: InvoiceActions, action: str, ref: ExternalRef) -> bytes | None:
    if action == "pdf":
        return books.invoice_pdf(ref)
    {"void": books.void_invoice, "delete": books.delete_invoice, "send": books.send_invoice}[action](ref)
    return None


def _booked(connection: Connection, event_id: str, deps: AppDeps) -> bool:
    rows = [deps.ledger.get(connection.connection_id, target, event_id) for target in connection.targets]
    return all(row is not None and row.state == "POSTED" for row in rows)


def _shown(row: LedgerEntry, books: InvoiceActions | None) -> PanelInvoice:
    from koppel.connectors.contract import PanelInvoice

    state, _, open_amount = row.payment.partition(" ")  # "partially_paid 21.00", as target sync notes it
    if row.state == "PARKED":
        status = "Needs attention"
    elif row.state == "PENDING":
        status = "Pending"
    else:
        status = PAYMENT_STATE_WORDS.get(state, "Open")  # type: ignore[call-overload]
    currency = row.total.split(" ", 1)[0]
    can_act = row.state == "POSTED" and status not in FINAL and books is not None
    return PanelInvoice(
        number=row.external_number or row.document_number,
        status=status,
        total=row.total,
        reason=row.reason if row.state == "PARKED" else "",
        amount_open=f"{currency} {open_amount}" if row.state == "POSTED" and state in PAYMENT_STATE_WORDS else "",
        due_date=row.due_date,
        link=books.invoice_link(_ref(row)) if can_act and books is not None else "",
        actions=ACTIONS if can_act else (),
    )
