"""Webhook in → verified, hydrated, normalized events on every target queue of the connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from koppel.errors import NotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from koppel.model import Connection, HubEvent
    from koppel.ports import ConnectionStore, Publisher, Source


@dataclass
class IngestDeps:
    connections: ConnectionStore
    publisher: Publisher
    source_for: Callable[[Connection], Source]


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    event_ids: tuple[str, ...]
    note: str = ""


def ingest_webhook(
    source_name: str, connection_id: str, headers: Mapping[str, str], body: bytes, url: str, deps: IngestDeps
) -> IngestResult:
    """Verify the sender, re-read the record, and enqueue what is to be booked.

    Raises InputError (and subclasses) for anything the sender should be told about: unknown connection,
    bad signature, malformed body. Nothing is enqueued then.
    """
    connection = deps.connections.get(connection_id)
    if connection.source != source_name:
        raise NotFoundError(f"connection {connection_id!r} does not take webhooks from {source_name!r}")
    source = deps.source_for(connection)
    source.verify_webhook(headers, body, url)
    notice = source.parse_webhook(body)
    if connection.status != "active":
        # Nothing is lost: the watermark has not moved, so the first poll after resuming reads this record.
        return IngestResult(0, (), note=f"connection is {connection.status}; the record is read when it resumes")
    events = source.hydrate(notice)
    publish(connection, events, deps.publisher)
    note = "" if events else f"{notice.entity} {notice.record_id} is not ready to book yet"
    return IngestResult(len(events), tuple(e.event_id for e in events), note)


def publish(connection: Connection, events: Sequence[HubEvent], publisher: Publisher) -> None:
    """Fan out to the queue of every target the connection names: the connection is the routing table."""
    if not events:
        return
    for target in connection.targets:
        publisher.publish(target, events)
