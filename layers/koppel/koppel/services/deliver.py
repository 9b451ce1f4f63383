"""Deliver one event to one target, exactly once.

The ledger row is an outbox: PENDING (with our request id and a lease) before anything is sent,
POSTED (with the target's id) after. A row found PENDING after its lease ran out belongs to a worker
that died between the POST and the ledger update; whoever takes it over looks the document up in the
target by its natural key before posting, so a crash, a timeout after the vendor committed, a re-sent
webhook or an overlapping poll never books twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeVar

from koppel.booking import plan_booking
from koppel.errors import PermanentError, RetryableError, park_reason
from koppel.model import DocumentEvent, ExternalRef, HubEnvelope, Party, PartyEvent, PaymentStatusEvent
from koppel.money import cents
from koppel.ports import WRITTEN_BACK, LedgerEntry, NoMeter, koppeling
from koppel.records import WRITTEN, customer_key, written_mark

if TYPE_CHECKING:
    from collections.abc import Callable

    from koppel.model import HubEvent
    from koppel.ports import FileStore, Ledger, Meter, Target


E = TypeVar("E", DocumentEvent, PaymentStatusEvent)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DeliverDeps:
    target: Target
    target_name: str
    ledger: Ledger
    lease: timedelta = timedelta(seconds=180)
    clock: Callable[[], datetime] = field(default=_utcnow)
    meter: Meter = field(default_factory=NoMeter)
    files: FileStore | None = None
    """Where the documents' original files are kept (their claim checks); None: nothing is attached."""
    remember_written: bool = False
    """A two-way koppeling: each document written into the target is remembered by its number (the source's before
    it is written, and the target's own once it answers), so the poll that reads the target does not take it for a
    new document and send it back (records.WRITTEN)."""


Outcome = Literal[
    "posted", "found_in_target", "already_posted", "parked", "parked_earlier", "party_created", "party_updated"
]


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    entry: LedgerEntry | None
    """The outbox row of a document; None for a customer update, which has none."""
    reason: str = ""
    ref: ExternalRef | None = None

    @property
    def state(self) -> str:
        return self.entry.state if self.entry else "SYNCED"


def deliver(event: HubEvent, deps: DeliverDeps, *, received_at: datetime | None = None) -> DeliveryResult:
    """Book one event in the target. Raises RetryableError/AuthError to have the message retried.

    ``received_at`` is when Koppel received the record (its webhook, or the poll that read it): the booking's
    latency is measured from there."""
    if isinstance(event, PartyEvent):
        return sync_party(event, deps)
    if isinstance(event, PaymentStatusEvent):
        return _through_outbox(event, _status_row(event, deps), deps, _write_back, received_at)
    return _through_outbox(event, _pending_row(event, deps), deps, _book, received_at)


def _through_outbox(
    event: E,
    row: LedgerEntry,
    deps: DeliverDeps,
    act: Callable[[E, LedgerEntry, DeliverDeps], DeliveryResult],
    received_at: datetime | None,
) -> DeliveryResult:
    """Claim the event's ledger row, act once, and record the outcome: posted, parked, or released for a retry."""
    now = deps.clock()
    claim = deps.ledger.claim(row, now)
    entry = claim.entry
    if not claim.is_ours:
        return _not_ours(entry, now)
    pair = koppeling(event.source, deps.target_name)
    try:
        result = act(event, entry, deps)
    except PermanentError as error:
        parked = deps.ledger.mark_parked(entry, str(error), deps.clock())
        deps.meter.count("Parked", pair, reason=park_reason(error))
        return DeliveryResult("parked", parked, str(error))
    except Exception as error:
        # Retryable, auth or unexpected: keep the row PENDING but let the next attempt in at once.
        deps.ledger.release(entry, f"{type(error).__name__}: {error}", deps.clock())
        deps.meter.count("Retried", pair)
        raise
    deps.meter.count("Booked", pair)  # posted now, or found in the target and linked: the row is POSTED either way
    if received_at is not None:
        deps.meter.latency("BookingLatency", pair, (deps.clock() - received_at).total_seconds())
    return result


def _pending_row(event: DocumentEvent, deps: DeliverDeps) -> LedgerEntry:
    doc = event.payload
    return _row(event, deps, doc.number, doc.party.name, f"{doc.currency} {cents(doc.total)}")


def _status_row(event: PaymentStatusEvent, deps: DeliverDeps) -> LedgerEntry:
    status = event.payload
    total = f"{status.status} {status.currency} {cents(status.amount_open)} open"
    return _row(event, deps, status.document_number, "", total, payment=WRITTEN_BACK)


def _row(
    event: HubEvent, deps: DeliverDeps, number: str, party_name: str, total: str, payment: str = ""
) -> LedgerEntry:
    """The outbox row; ``payment`` WRITTEN_BACK makes a posted write-back row expire after the retention."""
    now = deps.clock()
    return LedgerEntry.pending(
        event.connection_id, deps.target_name, event.event_id, now, now + deps.lease,
        document_number=number, party_name=party_name, total=total, payment=payment,
        event_json=HubEnvelope(event=event).model_dump_json(),
    )  # fmt: skip


def _write_back(event: PaymentStatusEvent, entry: LedgerEntry, deps: DeliverDeps) -> DeliveryResult:
    """A payment status from the accounting package, carried to the source's document."""
    from koppel.connectors.contract import PaymentStatusWriter  # here, not at import: the scheduler loads none

    if not isinstance(deps.target, PaymentStatusWriter):
        raise PermanentError(f"{deps.target_name} does not take payment status back")
    ref = deps.target.apply_payment_status(event.payload)
    return DeliveryResult("posted", deps.ledger.mark_posted(entry, ref, deps.clock()), ref=ref)


def _not_ours(entry: LedgerEntry, now: datetime) -> DeliveryResult:
    if entry.state == "POSTED":
        return DeliveryResult("already_posted", entry)
    if entry.state == "PARKED":
        return DeliveryResult("parked_earlier", entry, entry.reason)
    wait = max(1.0, (entry.lease_until - now).total_seconds())
    raise RetryableError(f"event {entry.event_id} is being delivered by another worker", retry_after=wait)


def _book(event: DocumentEvent, entry: LedgerEntry, deps: DeliverDeps) -> DeliveryResult:
    if event.payload.direction == "purchase":
        from koppel.services.purchase import book_purchase  # here: the sales path never loads it

        return book_purchase(event, entry, deps)
    booking = plan_booking(event.payload)
    _remember_written(event, event.payload.number, deps)  # before: a target may hold it before it answers
    existing = deps.target.find_booking(booking)
    if existing is not None:
        _remember_written(event, existing.number, deps)
        return DeliveryResult("found_in_target", deps.ledger.mark_posted(entry, existing, deps.clock()))
    party, _ = ensure_party(event.connection_id, booking.document.party, deps)
    ref = deps.target.post_booking(booking, party, entry.request_id)
    _remember_written(event, ref.number, deps)
    return DeliveryResult("posted", deps.ledger.mark_posted(entry, ref, deps.clock()))


def _remember_written(event: DocumentEvent, number: str | None, deps: DeliverDeps) -> None:
    if deps.remember_written and number:
        doc = event.payload
        key = f"{deps.target_name}:{number}"
        deps.ledger.put_link(event.connection_id, WRITTEN, key, written_mark(doc.currency, doc.total))


def _record_key(party: Party, deps: DeliverDeps) -> str | None:
    """On a two-way koppeling the record sync may be creating the same customer: both reserve its source id."""
    return customer_key(party.source_id) if deps.remember_written and party.source_id else None


def party_key(party: Party) -> str | None:
    if party.code:
        return f"party:code:{party.code.strip().lower()}"
    if party.email:
        return f"party:email:{party.email.strip().lower()}"
    if party.source_id:
        return f"party:source:{party.source_id}"
    return None


def sync_party(event: PartyEvent, deps: DeliverDeps) -> DeliveryResult:
    """A customer created or changed in the source: created in the target once, else brought up to date there.
    No outbox row: creating goes through the same reserved link as an invoice's new customer, and an update
    writes the same fields again when it is repeated."""
    ref, created = ensure_party(event.connection_id, event.payload, deps)
    if created:
        return DeliveryResult("party_created", None, ref=ref)
    from koppel.connectors.contract import PartyUpdater  # here, not at import: the scheduler loads no connector

    if not isinstance(deps.target, PartyUpdater):
        raise PermanentError(f"{deps.target_name} does not update customers: change {event.payload.name!r} there")
    deps.target.update_party(ref, event.payload)
    return DeliveryResult("party_updated", None, ref=ref)


def ensure_party(connection_id: str, party: Party, deps: DeliverDeps) -> tuple[ExternalRef, bool]:
    """The customer's id in the target: the remembered link, else a look-up (code, e-mail), else a new relation.
    Returns the reference and whether it was created now."""
    keys = [key for key in (party_key(party), _record_key(party, deps)) if key is not None]
    target = deps.target
    return ensure_linked(
        connection_id, keys, lambda: target.find_party(party), lambda: target.create_party(party), party.name, deps
    )


def ensure_linked(
    connection_id: str,
    keys: list[str],
    find: Callable[[], ExternalRef | None],
    create: Callable[[], ExternalRef],
    name: str,
    deps: DeliverDeps,
) -> tuple[ExternalRef, bool]:
    """A customer's or supplier's id in the target: the remembered link under any of ``keys``, else ``find``, else
    ``create`` under a reservation of every key, so two documents of one new party make one relation."""
    keys = list(dict.fromkeys(keys))
    for key in keys:
        linked = deps.ledger.get_link(connection_id, deps.target_name, key)
        if linked is not None:
            return ExternalRef(system=deps.target_name, id=linked), False
    found = find()
    if found is None:
        now = deps.clock()
        for key in keys:
            if not deps.ledger.reserve_link(connection_id, deps.target_name, key, now + deps.lease, now):
                # Another document of this new party (or the record sync) is creating it right now: wait for its link.
                raise RetryableError(f"{name!r} is being created by another worker", retry_after=2)
    try:
        ref = found or create()
    except Exception:
        for key in keys:  # the retry may reserve again at once (a create that did commit is found)
            deps.ledger.release_link(connection_id, deps.target_name, key)
        raise
    for key in keys:
        deps.ledger.put_link(connection_id, deps.target_name, key, ref.id)
    return ref, found is None
