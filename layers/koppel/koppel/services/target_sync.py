"""What comes back from the accounting package on every scheduled run: payment status, and the chart of accounts.

Payment status: for each booked invoice not known to be paid, the target's open amount is read (e-Boekhouden's
outstanding items); a change is published as a payment.status_changed event on the source's write-back queue,
whose deliver function marks the invoice paid (or partly) in the source, exactly once through the ledger.
The chart: the target's after-connect step runs again, so a ledger added or renamed in the accounting package is
in the connection's mapping on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.model import DocumentEvent, ExternalRef, HubEnvelope, PaymentStatus, PaymentStatusEvent
from koppel.money import ZERO, cents
from koppel.ports import NOT_FOLLOWED, SETTLED_AT_BOOKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from koppel.connectors.contract import PaymentStatusReader
    from koppel.model import Connection
    from koppel.ports import ConnectionStore, Ledger, LedgerEntry, Publisher

SYNC_STREAM = "target_sync"
CHANGES_STREAM = "payment_changes"
FULL_READ_STREAM = "payment_full_read"
CHANGES_OVERLAP = timedelta(minutes=5)
"""Each change feed read starts this much before the last one did: a change committed while it ran, or a clock a
little apart from the target's, is read again rather than missed (a repeat changes nothing)."""
FULL_READ_EVERY = timedelta(days=1)
IN_FLIGHT_AT_MOST = timedelta(days=18)
"""A queued message lives at most 4 days on its queue and 14 on the dead-letter queue (the template's retention)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class TargetSyncDeps:
    connections: ConnectionStore
    ledger: Ledger
    publisher: Publisher
    target_for: Callable[[Connection, str], Any]
    """The connection's target connector (with its credentials) by name."""
    writes_back: Callable[[str], bool]
    """Whether a system takes payment status back (has a write-back queue and connector)."""
    clock: Callable[[], datetime] = field(default=_utcnow)
    every: timedelta = timedelta(minutes=5)
    """How often per connection: sources are polled every minute, payments and charts change more slowly."""


@dataclass(frozen=True)
class SyncResult:
    statuses: tuple[PaymentStatusEvent, ...] = ()
    settings_changed: tuple[str, ...] = ()


def sync_targets(connection: Connection, deps: TargetSyncDeps, *, now_: bool = False) -> SyncResult:
    """Once per ``every`` per connection (a conditional write on its own watermark decides, so overlapping polls
    do it once), or ``now_`` when a target said its records changed: the targets' charts, then the payment status
    of what was booked."""
    now = deps.clock()
    last = deps.connections.get_watermark(connection.connection_id, SYNC_STREAM)
    if not now_ and last is not None and now - last < deps.every:
        return SyncResult()
    if not deps.connections.advance_watermark(connection.connection_id, SYNC_STREAM, now):
        return SyncResult()
    statuses: list[PaymentStatusEvent] = []
    changed: list[str] = []
    for target in connection.targets:
        connector = deps.target_for(connection, target)  # once: its credentials are decrypted to build it
        if _refresh(connection, target, connector, deps):
            changed.append(target)
            connection = deps.connections.get(connection.connection_id)
        statuses += _payment_statuses(connection, target, connector, deps)
    return SyncResult(tuple(statuses), tuple(changed))


def _refresh(connection: Connection, target: str, connector: Any, deps: TargetSyncDeps) -> bool:
    synced = after_connect(connector)
    current = connection.target_settings.get(target, {})
    if not synced or all(current.get(key) == value for key, value in synced.items()):
        return False
    settings = {**current, **synced}
    updated = connection.model_copy(update={"target_settings": {**connection.target_settings, target: settings}})
    deps.connections.put(updated)
    return True


def _payment_statuses(
    connection: Connection, target: str, reader: Any, deps: TargetSyncDeps
) -> list[PaymentStatusEvent]:
    from koppel.connectors.contract import PaymentStatusReader, PurchaseStatusReader  # the scheduler loads none

    now = deps.clock()
    sales, purchases = _followed_documents(connection, target, deps, now)
    # A row nothing will follow is closed (noted "not followed"), so it leaves the open items (read through the
    # ledger's index) for good and expires after the retention.
    writes_back = deps.writes_back(connection.source)
    for rows, followed in (
        (sales, isinstance(reader, PaymentStatusReader)),
        (purchases, isinstance(reader, PurchaseStatusReader)),
    ):
        if not (writes_back and followed):
            for entry, _ in rows.values():
                deps.ledger.note_payment(entry, NOT_FOLLOWED, now)
            rows.clear()
    events: list[PaymentStatusEvent] = []
    if sales:
        read = _read_statuses(connection, target, reader, sales, deps)
        sent, held_back = _send_changes(connection, target, read.statuses, sales, deps)
        events += sent
        # Read up to here: a held-back change is read again next time (a change feed would not repeat it otherwise).
        if not held_back:
            for stream in read.read_up_to:
                deps.connections.advance_watermark(connection.connection_id, f"{stream}#{target}", read.started)
    if purchases:
        refs = [ExternalRef(system=target, id=key, number=entry.external_number) for key, (entry, _) in
                purchases.items()]  # fmt: skip
        events += _send_changes(connection, target, reader.purchase_status(refs), purchases, deps)[0]
    return events


def _send_changes(
    connection: Connection,
    target: str,
    statuses: Iterable[tuple[str, PaymentStatus | None]],
    open_rows: dict[str, tuple[LedgerEntry, DocumentEvent]],
    deps: TargetSyncDeps,
) -> tuple[list[PaymentStatusEvent], bool]:
    """Publish each status that changed since it was last carried back; whether one had to wait for an older one."""
    now = deps.clock()
    events, held_back = [], False
    for key, known in statuses:
        entry, event = open_rows[key]
        doc = event.payload
        # Gone from the open items: paid in full.
        status = known or PaymentStatus(
            document_number=doc.number, status="paid", amount_open=ZERO, currency=doc.currency, updated_at=now
        )
        label = f"{status.status} {cents(status.amount_open)}"
        due = status.due_date.isoformat() if status.due_date else ""
        if label == entry.payment or (not entry.payment and status.status == "open"):
            if due and due != entry.due_date:  # shown in the source's panel; nothing to carry back for it
                deps.ledger.note_payment(entry, entry.payment, now, due_date=due)
            continue  # nothing new since it was booked or last carried back
        if entry.payment and not _carried_back(connection, entry, target, doc.source_id, deps):
            held_back = True  # one change at a time per invoice: the next run sends this one
            continue
        update = PaymentStatusEvent(
            event_id=_status_event_id(target, doc.source_id, label),
            tenant_id=connection.tenant_id,
            connection_id=connection.connection_id,
            source=target,
            occurred_at=now,
            kind="payment.status_changed",
            payload=status.model_copy(update={"document_number": doc.number, "source_id": doc.source_id}),
        )
        deps.publisher.publish(connection.source, [update])
        deps.ledger.note_payment(entry, label, now, due_date=due)
        events.append(update)
    return events, held_back


Followed = dict[str, tuple["LedgerEntry", DocumentEvent]]


def _followed_documents(
    connection: Connection, target: str, deps: TargetSyncDeps, now: datetime
) -> tuple[Followed, Followed]:
    """The booked invoices whose payment is still followed: sales by the target's number, purchases by the target's
    id (a supplier's number repeats across suppliers); the rest are closed."""
    sales: Followed = {}
    purchases: Followed = {}
    for entry in deps.ledger.open_items(connection.connection_id, target):
        event = HubEnvelope.model_validate_json(entry.event_json).event if entry.event_json else None
        if not entry.external_number or not isinstance(event, DocumentEvent) or event.payload.doc_type != "invoice":
            deps.ledger.note_payment(entry, NOT_FOLLOWED, now)
            continue
        if _settled_at_booking(event):
            deps.ledger.note_payment(entry, SETTLED_AT_BOOKING, now)
            continue
        if event.payload.direction == "purchase":
            purchases[entry.external_id] = (entry, event)
        else:
            sales[entry.external_number] = (entry, event)
    return sales, purchases


@dataclass(frozen=True)
class _Read:
    statuses: Iterable[tuple[str, PaymentStatus | None]]
    started: datetime
    read_up_to: tuple[str, ...]
    """The watermarks this read moves to ``started`` once its changes are sent."""


def _read_statuses(
    connection: Connection,
    target: str,
    reader: PaymentStatusReader,
    open_rows: dict[str, tuple[LedgerEntry, DocumentEvent]],
    deps: TargetSyncDeps,
) -> _Read:
    """From the target's change feed when it has one (only what changed since the last read, overlapping by a few
    minutes), else every open invoice. Every open invoice is still read once a day and whenever the feed cannot say:
    the feed's gaps (a deleted payment names no invoice) are closed at least daily."""
    from koppel.connectors.contract import PaymentChangeFeed

    started = deps.clock()
    since = deps.connections.get_watermark(connection.connection_id, f"{CHANGES_STREAM}#{target}")
    full = deps.connections.get_watermark(connection.connection_id, f"{FULL_READ_STREAM}#{target}")
    if isinstance(reader, PaymentChangeFeed) and since and full and started - full < FULL_READ_EVERY:
        changes = reader.payment_changes(since - CHANGES_OVERLAP)
        if changes is not None:
            return _Read(_from_changes(changes, open_rows, started), started, (CHANGES_STREAM,))
    return _Read(reader.payment_status(list(open_rows)), started, (CHANGES_STREAM, FULL_READ_STREAM))


def _from_changes(
    changes: dict[str, PaymentStatus], open_rows: dict[str, tuple[LedgerEntry, DocumentEvent]], now: datetime
) -> Iterator[tuple[str, PaymentStatus]]:
    """The changed open invoices; and one left unchanged that has fallen due since, as overdue: an invoice becomes
    overdue by the calendar, without any change the feed would report."""
    for number, (entry, event) in open_rows.items():
        changed = changes.get(entry.external_id)
        if changed is not None:
            yield number, changed
            continue
        state, _, amount = (entry.payment or f"open {cents(event.payload.total)}").partition(" ")
        if state in ("open", "partially_paid") and entry.due_date and entry.due_date < now.date().isoformat():
            yield number, PaymentStatus(
                document_number=number, status="overdue", amount_open=Decimal(amount), currency=event.payload.currency,
                updated_at=now, due_date=date.fromisoformat(entry.due_date),
            )  # fmt: skip


def _status_event_id(target: str, source_id: str, label: str) -> str:
    return f"{target}:payment:{source_id}:{label.replace(' ', ':')}"


def _carried_back(
    connection: Connection, entry: LedgerEntry, target: str, source_id: str, deps: TargetSyncDeps
) -> bool:
    """Whether the source took the last change sent for this invoice: two changes of one invoice in flight at once
    could each register the same payment, so a newer one waits until the older one is written back. A change sent
    longer ago than a message can live in the queues is no longer in flight: its row was written back and has
    expired after the retention (or it was dead-lettered, which an alarm reports), so the next may go."""
    previous = deps.ledger.get(
        connection.connection_id, connection.source, _status_event_id(target, source_id, entry.payment)
    )
    if previous is None:
        return deps.clock() - entry.updated_at > IN_FLIGHT_AT_MOST
    return previous.state != "PENDING"


def _settled_at_booking(event: DocumentEvent) -> bool:
    doc = event.payload
    if doc.direction == "purchase" and doc.is_paid:
        return True  # a receipt: paid when it was handed over
    return bool(doc.payments) and cents(sum((p.amount for p in doc.payments), ZERO)) == cents(doc.total)


def after_connect(target: object) -> dict[str, Any]:
    """A target's after-connect step (its chart of accounts, as settings); {} for a target without one."""
    from koppel.connectors.contract import ChartSync  # here, not at import: the scheduler loads no connector code

    return target.after_connect() if isinstance(target, ChartSync) else {}
