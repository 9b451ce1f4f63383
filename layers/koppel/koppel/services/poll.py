"""Scheduled polling: the primary path for sources without webhooks and the safety net behind webhooks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from koppel.errors import AuthError, InputError, KoppelError, PermanentError
from koppel.ports import LedgerEntry, NoMeter, PollJob, koppeling
from koppel.services.ingest import publish
from koppel.services.status import mark_red
from koppel.services.target_sync import TargetSyncDeps, sync_targets
from koppel.services.two_way import can_be_polled, not_written_by_koppel, reverse_ways, sync_records_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from koppel.model import Connection, HubEvent
    from koppel.ports import ConnectionStore, DuePoll, JobQueue, Ledger, Meter, PolledRecord, Publisher, Source
    from koppel.services.record_sync import RecordSyncDeps

SOURCE_STREAM = "source"
RESCHEDULE_WORKERS = 10
"""Conditional writes in flight at once: botocore keeps 10 connections per client, more would queue anyway."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollDeps:
    connections: ConnectionStore
    publisher: Publisher
    source_for: Callable[[Connection], Source]
    overlap: timedelta = timedelta(minutes=10)
    clock: Callable[[], datetime] = field(default=_utcnow)
    ledger: Ledger | None = None
    """When given, records the ledger already holds for every target are not read from the source again."""
    targets: TargetSyncDeps | None = None
    """When given, every regular poll also carries payment status back and refreshes the targets' charts."""
    meter: Meter = field(default_factory=NoMeter)
    records: RecordSyncDeps | None = None
    can_poll: Callable[[str], bool] = can_be_polled
    """Whether a system is a source Koppel polls (its descriptor): a two-way koppeling's target is read too."""
    """When given, a two-way koppeling's regular poll also keeps its records alike (when its sync is automatic)."""


@dataclass(frozen=True)
class PollResult:
    connection_id: str
    since: datetime
    until: datetime
    records: int
    enqueued: int
    watermark: datetime | None
    skipped: tuple[str, ...] = ()
    statuses: int = 0
    """Payment status changes carried back to the source."""
    target_sync_error: str = ""
    """Why reading back from a target failed this time (the source poll itself went through; the next run retries)."""
    record_sync: str = ""
    """What the record sync did ("contact: 2 created, 1 updated, …"), or why it failed this time."""


def due_jobs(connections: ConnectionStore, now: datetime) -> list[PollJob]:
    """One poll job per active connection whose interval has passed, found through the store's index (no Scan).

    Each connection's next poll is moved ``poll_interval_minutes`` past ``now`` with a conditional write, so two
    overlapping scheduler runs cannot both enqueue the same connection's job. The writes go out
    ``RESCHEDULE_WORKERS`` at a time: one after another, 10,000 due connections would outlast the function."""
    due = connections.due(now)

    def moved(poll: DuePoll) -> bool:
        return connections.reschedule(poll, now + timedelta(minutes=poll.poll_interval_minutes))

    if len(due) <= 1:
        won = [moved(poll) for poll in due]
    else:
        with ThreadPoolExecutor(max_workers=RESCHEDULE_WORKERS, thread_name_prefix="reschedule") as pool:
            won = list(pool.map(moved, due))
    return [PollJob(connection_id=poll.connection_id) for poll, ours in zip(due, won, strict=True) if ours]


def schedule_polls(connections: ConnectionStore, queue: JobQueue, now: datetime) -> list[PollJob]:
    jobs = due_jobs(connections, now)
    if jobs:
        queue.enqueue(jobs)
    return jobs


def backfill_job(connection_id: str, since: datetime, until: datetime) -> PollJob:
    if since.tzinfo is None or until.tzinfo is None:
        raise InputError("backfill dates need a time zone")
    if since >= until:
        raise InputError(f"backfill window is empty: --since {since.isoformat()} is not before {until.isoformat()}")
    return PollJob(connection_id=connection_id, since=since, until=until, is_backfill=True)


def poll_connection(job: PollJob, deps: PollDeps) -> PollResult:
    """Read one window of the source, enqueue what is bookable, and move the watermark safely.

    Regular polls read from (watermark − overlap) to now. The watermark moves only past records that were
    enqueued or that will never need booking; it stops at the first unsettled record (an order that may
    still complete), and stays where it was if publishing fails, so a failed poll repeats the same window.
    A backfill reads exactly its dated window and leaves the watermark alone.
    """
    connection = deps.connections.get(job.connection_id)
    now = deps.clock()
    if job.sync_targets_now:
        if deps.targets is None:
            return PollResult(connection.connection_id, now, now, 0, 0, None)
        statuses, sync_error = _sync(connection, deps.targets, now_=True)
        return PollResult(connection.connection_id, now, now, 0, 0, None, (), statuses, sync_error)
    if job.is_backfill:
        if job.since is None or job.until is None:
            raise InputError("a backfill job needs both since and until")
        since, until = job.since, job.until
    else:
        # A new connection starts at its own creation time: history is only read by an explicit backfill.
        watermark = deps.connections.get_watermark(connection.connection_id, SOURCE_STREAM) or connection.created_at
        since, until = watermark - deps.overlap, now
    try:
        safe_point, records, enqueued, skipped = _read_window(connection, since, until, deps)
    except AuthError as error:
        # The source refused Koppel's credentials: the connection shows red with "reconnect" and is not polled
        # again until it is reconnected (the webhook door answers 502 meanwhile; this poll is the safety net).
        mark_red(deps.connections, connection.connection_id, str(error))
        raise
    new_watermark = None
    if not job.is_backfill:
        target = max(safe_point, since + deps.overlap)
        if deps.connections.advance_watermark(connection.connection_id, SOURCE_STREAM, target):
            new_watermark = target
    statuses, sync_error = (0, "") if job.is_backfill or deps.targets is None else _sync(connection, deps.targets)
    if not job.is_backfill:
        for way in reverse_ways(connection, deps.can_poll):
            skipped += _poll_reverse(way, now, deps)
    kept_alike = "" if job.is_backfill else sync_records_now(connection, deps.records, deps.connections)
    return PollResult(
        connection.connection_id, since, until, records, enqueued, new_watermark, tuple(skipped), statuses, sync_error,
        kept_alike,
    )  # fmt: skip


def _poll_reverse(way: Connection, now: datetime, deps: PollDeps) -> list[str]:
    """One window of the target read as a source, behind its own watermark; what it skipped, in words."""
    stream = f"{SOURCE_STREAM}#{way.source}"
    watermark = deps.connections.get_watermark(way.connection_id, stream) or way.created_at
    since = watermark - deps.overlap
    safe_point, _, _, skipped = _read_window(way, since, now, deps)
    deps.connections.advance_watermark(way.connection_id, stream, max(safe_point, since + deps.overlap))
    return skipped


def _read_window(
    connection: Connection, since: datetime, until: datetime, deps: PollDeps
) -> tuple[datetime, int, int, list[str]]:
    """Publish the window's bookable records; (the watermark's safe point, records read, events queued, skipped)."""
    source = deps.source_for(connection)
    safe_point = until
    records = enqueued = 0
    skipped: list[str] = []
    for record in source.poll(since, until):
        records += 1
        if record.problem:
            _park_problem(record, connection, deps)
            skipped.append(f"{record.record_id}: {record.problem}")
            if not record.is_settled:  # its source lists it again only in this window (Billy: by approval time)
                safe_point = min(safe_point, record.changed_at)
            continue
        try:
            events = _events_of(record, connection, source, deps)
        except PermanentError as error:  # listed, but its details cannot be read: parked, the poll goes on
            _park_problem(record.model_copy(update={"problem": str(error)}), connection, deps)
            skipped.append(f"{record.record_id}: {error}")
            continue
        events, echoes = not_written_by_koppel(events, connection, deps.ledger)
        skipped += echoes
        publish(connection, events, deps.publisher)
        enqueued += len(events)
        if record.skipped_reason:
            skipped.append(f"{record.record_id}: {record.skipped_reason}")
            if not events:
                _note_not_bookable(record, connection, deps)
        if not record.is_settled:
            safe_point = min(safe_point, record.changed_at)
    return safe_point, records, enqueued, skipped


def _sync(connection: Connection, deps: TargetSyncDeps, *, now_: bool = False) -> tuple[int, str]:
    try:
        return len(sync_targets(connection, deps, now_=now_).statuses), ""
    except KoppelError as error:
        return 0, f"{type(error).__name__}: {error}"


def _events_of(record: PolledRecord, connection: Connection, source: Source, deps: PollDeps) -> list[HubEvent]:
    """The record's events that are not booked yet: a lazily polled record is read from the source only when the
    ledger does not hold it; an eagerly read one is checked against the ledger event by event."""
    if record.events or record.notice is None:
        return _unbooked(list(record.events), connection, deps)
    if deps.ledger is not None and _all_settled(record.event_ids, connection, deps.ledger):
        return []
    from koppel.connectors.contract import RecordReader  # here, not at import: the scheduler loads no connector

    if not isinstance(source, RecordReader):
        raise PermanentError(f"{connection.source} listed {record.record_id} for reading but cannot re-read a record")
    return _unbooked(source.hydrate(record.notice), connection, deps)


SOURCE_PROBLEM = "Cannot be read from the source:"


def _park_problem(record: PolledRecord, connection: Connection, deps: PollDeps) -> None:
    """A record that should be booked but cannot be read: parked (visible in `koppel status`) under the event id it
    will have, with what to correct in the source."""
    if deps.ledger is None:
        return
    now = deps.clock()
    fix = f"once it is corrected in {_title(connection.source)}, the next poll books it"
    reason = f"{SOURCE_PROBLEM} {record.problem}; {fix}"
    for target, entry in _claimed_rows(deps.ledger, record, connection, now):
        deps.ledger.mark_parked(entry, reason, now)
        deps.meter.count("Parked", koppeling(connection.source, target), reason="source")


def _title(system: str) -> str:
    """The vendor's name as people write it (Banqup, not banqup), for a sentence a person acts on."""
    from koppel import connectors  # here: only a record that cannot be read needs the vendor's name

    try:
        return connectors.load(system).title
    except InputError:  # a system with no package of its own (a test's fake source)
        return system


def _note_not_bookable(record: PolledRecord, connection: Connection, deps: PollDeps) -> None:
    """A document the source holds that is not bookable (a bank statement) is kept in the history with why, once:
    the owner sees it was read and not forgotten."""
    if deps.ledger is None:
        return
    now = deps.clock()
    for _, entry in _claimed_rows(deps.ledger, record, connection, now):
        deps.ledger.mark_skipped(entry, f"not bookable: {record.skipped_reason}", now)


def _claimed_rows(
    ledger: Ledger, record: PolledRecord, connection: Connection, now: datetime
) -> Iterator[tuple[str, LedgerEntry]]:
    """(target, row) for each of the record's event ids per target whose row this poll claims first: a row already
    there (booked, parked or noted) is left as it is."""
    for target in connection.targets:
        for event_id in record.event_ids:
            row = LedgerEntry.pending(
                connection.connection_id, target, event_id, now, now, document_number=record.record_id
            )
            claim = ledger.claim(row, now)
            if claim.is_ours:
                yield target, claim.entry


def _unreadable(row: LedgerEntry) -> bool:
    return row.state == "PARKED" and SOURCE_PROBLEM in row.reason


def _unbooked(events: list[HubEvent], connection: Connection, deps: PollDeps) -> list[HubEvent]:
    """Events the ledger does not hold as booked for every target. A record parked because it could not be read
    is reopened here, now that it can be: the deliver service then books it like any other."""
    if deps.ledger is None:
        return events
    wanted = []
    for event in events:
        rows = [deps.ledger.get(connection.connection_id, t, event.event_id) for t in connection.targets]
        if all(row is not None and row.state == "POSTED" for row in rows):
            continue
        for row in rows:
            if row is not None and _unreadable(row):
                deps.ledger.reopen(row, deps.clock())
        wanted.append(event)
    return wanted


def _all_settled(event_ids: tuple[str, ...], connection: Connection, ledger: Ledger) -> bool:
    if not event_ids:
        return False
    for target in connection.targets:
        for event_id in event_ids:
            row = ledger.get(connection.connection_id, target, event_id)
            if row is None or row.state == "PENDING" or _unreadable(row):
                return False  # an unreadable record is read again: it may have been corrected
    return True
