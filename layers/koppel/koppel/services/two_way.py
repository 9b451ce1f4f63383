"""What a two-way koppeling (Simply CRM ↔ Billy) adds to the scheduled poll: the target read as a source too (its
documents go to the source), nothing Koppel wrote itself sent back (no echo), and the records kept alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from koppel.errors import AuthError, KoppelError
from koppel.model import DocumentEvent
from koppel.records import WRITTEN, written_mark
from koppel.services.record_sync import describe_summary, sync_records
from koppel.services.status import mark_red

if TYPE_CHECKING:
    from collections.abc import Callable

    from koppel.model import Connection, HubEvent
    from koppel.ports import ConnectionStore, Ledger
    from koppel.services.record_sync import RecordSyncDeps


def can_be_polled(system: str) -> bool:
    from koppel import connectors  # here, not at import: the scheduler loads no connector

    return connectors.load(system).can("polled_source")


def reverse_ways(connection: Connection, can_poll: Callable[[str], bool] = can_be_polled) -> list[Connection]:
    """A two-way koppeling whose documents also go from its target to its source (Billy's invoices into Simply CRM):
    the target read as a source, as a view of the connection with the roles swapped (same id, same ledger)."""
    settings = connection.records
    if settings is None or settings.direction == "to_target":
        return []
    target = connection.targets[0]
    if not can_poll(target):
        return []
    swapped = {
        "source": target, "targets": (connection.source,),
        "source_settings": dict(connection.target_settings.get(target, {})),
        "target_settings": {connection.source: dict(connection.source_settings)},
    }  # fmt: skip
    return [connection.model_copy(update=swapped)]


def not_written_by_koppel(
    events: list[HubEvent], connection: Connection, ledger: Ledger | None
) -> tuple[list[HubEvent], list[str]]:
    """On a two-way koppeling, a document Koppel itself wrote into the system it now reads (its number and total
    remembered by deliver, records.WRITTEN) is no new document: sending it back would book it twice (an echo)."""
    if connection.records is None or ledger is None:
        return events, []
    kept, echoes = [], []
    for event in events:
        if isinstance(event, DocumentEvent):
            doc = event.payload
            mark = ledger.get_link(connection.connection_id, WRITTEN, f"{connection.source}:{doc.number}")
            if mark == written_mark(doc.currency, doc.total):
                echoes.append(f"{doc.number}: written by Koppel from {connection.targets[0]}, not sent back")
                continue
        kept.append(event)
    return kept, echoes


def sync_records_now(connection: Connection, deps: RecordSyncDeps | None, connections: ConnectionStore) -> str:
    """A two-way koppeling with an automatic sync keeps its records alike on every regular poll."""
    if deps is None or connection.records is None or not connection.records.automatic:
        return ""
    try:
        summary = sync_records(connection, deps)
    except AuthError as error:
        mark_red(connections, connection.connection_id, str(error))
        return f"AuthError: {error}"
    except KoppelError as error:
        return f"{type(error).__name__}: {error}"
    return describe_summary(summary)
