"""Every source reads a record into the same event id every time, parks what it cannot read under the id it will
have, never lets the watermark pass a record that was not enqueued, and says what to do when its credentials are
refused."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from koppel.adapters.memory import MemoryLedger, MemoryPublisher
from koppel.connectors.contract import RecordReader, WebhookSource
from koppel.errors import AuthError, RetryableError
from koppel.ports import PollJob
from koppel.services.poll import SOURCE_STREAM, PollDeps, poll_connection
from koppel.services.status import health

if TYPE_CHECKING:
    from collections.abc import Sequence

    from koppel.model import Connection, HubEvent
    from tests.conformance.harness import SourceHarness


def _read(source: SourceHarness, connection: Connection, record_id: str) -> list[HubEvent]:
    """The record's events as a poll gives them (read from the source when the poll only lists the record)."""
    reader = source.source(connection)
    now = datetime.now(UTC)
    for record in reader.poll(now - timedelta(hours=1), now):
        if record.record_id != record_id:
            continue
        if record.events:
            return list(record.events)
        assert record.notice is not None and isinstance(reader, RecordReader)
        events = reader.hydrate(record.notice)
        assert tuple(e.event_id for e in events) == record.event_ids  # what the poll announced is what it reads
        return events
    raise AssertionError(f"{source.name} did not list {record_id}")


class _Publisher(MemoryPublisher):
    """A queue that takes ``accept`` events and then fails (SQS down halfway through a poll)."""

    def __init__(self, accept: int | None = None) -> None:
        super().__init__()
        self.accept = accept

    def publish(self, target: str, events: Sequence[HubEvent], *, replay: int = 0) -> None:
        if self.accept is not None and len(self.sent.get(target, [])) + len(events) > self.accept:
            raise RetryableError("the target queue did not take the message")
        super().publish(target, events, replay=replay)

    def event_ids(self) -> list[str]:
        return [e.event_id for events in self.sent.values() for e in events]


def _deps(source: SourceHarness, connection: Connection, publisher: MemoryPublisher, ledger: MemoryLedger) -> PollDeps:
    source.store.put(connection)
    return PollDeps(connections=source.store, publisher=publisher, source_for=source.source, ledger=ledger)


def test_the_same_record_always_gives_the_same_event_id(source: SourceHarness) -> None:
    # Given a record to book
    connection = source.connection()
    record_id = source.add_bookable()

    # When it is read twice, and again after a change that does not touch what is booked
    first = _read(source, connection, record_id)
    second = _read(source, connection, record_id)
    source.change_unimportant(record_id)
    third = _read(source, connection, record_id)

    # Then every read gives the same event id, so the ledger books it once whichever read arrives
    assert len(first) == 1
    assert first == second
    assert [e.event_id for e in third] == [e.event_id for e in first]
    # And so does the record read for the vendor's webhook about it, where the vendor sends webhooks
    webhook = source.webhook(record_id)
    if webhook is not None:
        headers, body, address = webhook
        reader = source.source(connection)
        assert isinstance(reader, WebhookSource)
        reader.verify_webhook(headers, body, address)
        assert [e.event_id for e in reader.hydrate(reader.parse_webhook(body))] == [e.event_id for e in first]


def test_an_unreadable_record_is_parked_under_the_id_it_will_have(source: SourceHarness) -> None:
    # Given a record that should be booked but cannot be read into Koppel's model
    connection = source.connection()
    record_id = source.add_unreadable()
    ledger = MemoryLedger()

    # When the source is polled
    poll_connection(PollJob(connection_id=connection.connection_id), _deps(source, connection, _Publisher(), ledger))

    # Then it is parked, visible with what to correct in the source
    [parked] = ledger.entries(connection.connection_id, "PARKED")
    assert parked.document_number == record_id
    assert re.search("cannot be read", parked.reason, re.IGNORECASE), parked.reason

    # And once corrected in the source, the next poll enqueues it under the very id it was parked under
    source.repair(record_id)
    publisher = _Publisher()
    poll_connection(PollJob(connection_id=connection.connection_id), _deps(source, connection, publisher, ledger))
    assert publisher.event_ids() == [parked.event_id]


def test_the_watermark_never_passes_a_record_that_was_not_enqueued(source: SourceHarness) -> None:
    # Given two records to book, and a queue that fails after taking the first
    connection = source.connection()
    source.add_bookable()
    source.add_bookable()
    job = PollJob(connection_id=connection.connection_id)
    failing = _Publisher(accept=1)

    # When the source is polled
    with pytest.raises(RetryableError):
        poll_connection(job, _deps(source, connection, failing, MemoryLedger()))

    # Then the watermark did not move past the record that was not enqueued
    assert len(failing.event_ids()) == 1
    assert source.store.get_watermark(connection.connection_id, SOURCE_STREAM) is None

    # And the next poll enqueues it
    publisher = _Publisher()
    result = poll_connection(job, _deps(source, connection, publisher, MemoryLedger()))
    assert len(set(publisher.event_ids())) == 2
    assert set(failing.event_ids()) < set(publisher.event_ids())
    assert result.watermark is not None


def test_refused_credentials_are_an_auth_error_that_says_what_to_do(source: SourceHarness) -> None:
    # Given a source whose stored credentials the vendor no longer accepts
    connection = source.connection()
    source.add_bookable()
    source.refuse_credentials()

    # When it is polled  Then the error is about the credentials, and tells the person to reconnect
    with pytest.raises(AuthError, match=re.compile("reconnect", re.IGNORECASE)):
        list(source.source(connection).poll(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)))


def test_refused_credentials_turn_the_connection_red_with_what_to_do(source: SourceHarness) -> None:
    # Given a source whose stored credentials the vendor no longer accepts
    connection = source.connection()
    ledger = MemoryLedger()
    deps = _deps(source, connection, _Publisher(), ledger)
    source.refuse_credentials()

    # When the scheduled poll runs
    with suppress(AuthError):
        poll_connection(PollJob(connection_id=connection.connection_id), deps)

    # Then `koppel status` shows the connection red, with reconnecting as the action
    shown = health(source.store.get(connection.connection_id), ledger, [])
    assert shown.colour == "red"
    assert re.search("reconnect", shown.action, re.IGNORECASE), shown.action
