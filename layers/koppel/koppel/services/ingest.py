"""Webhook in → verified, hydrated, normalized events on every target queue of the connection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from koppel.errors import AuthError, InputError, NotFoundError, PermanentError, RetryableError, SignatureError
from koppel.inbound import digest
from koppel.ports import NoMeter, koppeling

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from koppel.connectors.contract import WebhookSource
    from koppel.model import Connection, HubEvent
    from koppel.ports import ConnectionStore, Meter, Publisher, ReplayCache, Source

UNVERIFIED = "the webhook's sender could not be verified for this address: check the address and the webhook key"
"""One answer for an unknown connection, another source's address and a wrong signature: a caller cannot tell
which connection ids exist. The precise reason goes to the log, for the operator."""
UNVERIFIED_SENDER = "unverified"
_CONNECTION_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class IngestDeps:
    connections: ConnectionStore
    publisher: Publisher
    source_for: Callable[[Connection], Source]
    replays: ReplayCache
    replay_window: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = field(default=_utcnow)
    meter: Meter = field(default_factory=NoMeter)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    event_ids: tuple[str, ...]
    note: str = ""


def ingest_webhook(
    source_name: str, connection_id: str, headers: Mapping[str, str], body: bytes, url: str, deps: IngestDeps
) -> IngestResult:
    """Verify the sender, re-read the record, and enqueue what is to be booked.

    Raises InputError (and subclasses) for anything the sender should be told about: unverified sender,
    malformed body, a record the source does not know. Nothing is enqueued then. A body already handled within
    the replay window is answered without reading the source or queueing anything again.

    Counted per koppeling of the connection: WebhookAccepted, WebhookRefused. A sender that could not be verified
    is counted under ``unverified``: anyone can send one, so it is attributed to no koppeling.
    """
    try:
        connection, source = _verified(source_name, connection_id, headers, body, url, deps)
    except InputError:
        deps.meter.count("WebhookRefused", UNVERIFIED_SENDER)
        raise
    pairs = [koppeling(connection.source, target) for target in connection.targets]
    try:
        result = _receive(connection, source, body, deps)
    except InputError:
        for pair in pairs:
            deps.meter.count("WebhookRefused", pair)
        raise
    for pair in pairs:
        deps.meter.count("WebhookAccepted", pair)
    return result


def _receive(connection: Connection, source: WebhookSource, body: bytes, deps: IngestDeps) -> IngestResult:
    source_name = connection.source
    notice = source.parse_webhook(body)
    if connection.status != "active":
        # Nothing is lost: the watermark has not moved, so the first poll after resuming reads this record.
        return IngestResult(0, (), note=f"connection is {connection.status}; the record is read when it resumes")
    body_digest = digest(body)
    now = deps.clock()
    until = now + deps.replay_window
    if not deps.replays.first_sighting(connection.connection_id, body_digest, until, now):
        refusal = deps.replays.refusal_of(connection.connection_id, body_digest)
        if refusal:
            raise InputError(refusal, status=422)  # the first answer again, without asking the source again
        return IngestResult(0, (), note="already received: this webhook was handled before, nothing is queued again")
    try:
        events = source.hydrate(notice)
        publish(connection, events, deps.publisher)
    except (RetryableError, AuthError):
        deps.replays.forget(connection.connection_id, body_digest)  # the sender's retry must get through
        raise
    except PermanentError as error:
        reason = f"{source_name} could not give {notice.entity} {notice.record_id}: {error}; nothing was queued"
        deps.replays.note_refusal(connection.connection_id, body_digest, reason, until)
        raise InputError(reason, status=422) from error
    note = "" if events else f"{notice.entity} {notice.record_id} is not ready to book yet"
    return IngestResult(len(events), tuple(e.event_id for e in events), note)


def _verified(
    source_name: str, connection_id: str, headers: Mapping[str, str], body: bytes, url: str, deps: IngestDeps
) -> tuple[Connection, WebhookSource]:
    if not _CONNECTION_ID.fullmatch(connection_id):
        raise SignatureError(UNVERIFIED)
    try:
        connection = deps.connections.get(connection_id)
    except NotFoundError as error:
        raise SignatureError(UNVERIFIED) from error
    if connection.source != source_name:
        raise SignatureError(UNVERIFIED) from NotFoundError(f"{connection_id} takes no webhooks from {source_name}")
    from koppel.connectors.contract import WebhookSource  # here, not at import: the scheduler loads no connector

    try:
        source = deps.source_for(connection)  # a connection with broken settings cannot verify anything either
        if not isinstance(source, WebhookSource):
            raise InputError(f"{source_name} is polled, it sends no webhooks to Koppel")
        source.verify_webhook(headers, body, url)
    except InputError as error:
        raise SignatureError(UNVERIFIED) from error
    return connection, source


def publish(connection: Connection, events: Sequence[HubEvent], publisher: Publisher) -> None:
    """Fan out to the queue of every target the connection names: the connection is the routing table."""
    if not events:
        return
    for target in connection.targets:
        publisher.publish(target, events)
