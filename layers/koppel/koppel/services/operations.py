"""What a person does with one connection, from the CLI (and the console's API later), through one service layer:
pause and resume it, and read its history record by record.

Pausing stops the schedule (a paused connection is never due) and its webhooks are answered "read when it resumes";
resuming makes it due at once, and its first poll reads from where it left off (its watermark), so nothing that
happened while it was paused is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from koppel.errors import InputError

if TYPE_CHECKING:
    from datetime import datetime

    from koppel.model import Connection
    from koppel.ports import ConnectionStore, Ledger, LedgerEntry, LedgerState


def pause(store: ConnectionStore, connection_id: str, reason: str = "") -> Connection:
    """Stop polling the connection until it is resumed; a paused one stays paused (the reason is kept)."""
    connection = store.get(connection_id)
    if connection.status == "disconnected":
        raise InputError(f"{connection_id} is disconnected: there is nothing to pause (connect it again first)")
    paused = connection.model_copy(update={"status": "paused", "status_reason": reason or "paused by a person"})
    store.put(paused)
    return paused


def resume(store: ConnectionStore, connection_id: str) -> Connection:
    """Poll the connection again, at once; only a paused connection resumes (one in error needs new credentials)."""
    connection = store.get(connection_id)
    if connection.status == "active":
        return connection
    if connection.status != "paused":
        raise InputError(
            f"{connection_id} is {connection.status}, not paused: connect it again with `koppel connections connect "
            f"{connection_id} SYSTEM …` (its credentials were refused or removed)"
        )
    resumed = connection.model_copy(update={"status": "active", "status_reason": ""})
    store.put(resumed)
    return resumed


@dataclass(frozen=True)
class HistoryRow:
    """One source record for one target, as a person reads it: what it is, where it landed, what happened."""

    updated_at: datetime
    target: str
    document: str
    party: str
    total: str
    state: LedgerState
    target_document: str
    """The target's number for it (or its id), once booked."""
    attempts: int
    replays: int
    message: str
    """The vendor's words for a parked record, why a record was not bookable, what to check on a booked one."""
    payment: str
    event_id: str
    external_id: str = ""
    """The target's own id of what was booked (its number is ``target_document``)."""
    is_purchase: bool = False


def history(
    ledger: Ledger,
    connection_id: str,
    *,
    state: LedgerState | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[HistoryRow]:
    """The connection's records, newest first, read through the ledger's state index (never a Scan)."""
    if limit < 1:
        raise InputError(f"--limit {limit}: show at least one record, e.g. --limit 50")
    rows = sorted(ledger.entries(connection_id, state, since=since), key=lambda r: r.updated_at, reverse=True)
    return [_row(entry) for entry in rows[:limit]]


def _row(entry: LedgerEntry) -> HistoryRow:
    return HistoryRow(
        updated_at=entry.updated_at,
        target=entry.target,
        document=entry.document_number,
        party=entry.party_name,
        total=entry.total,
        state=entry.state,
        target_document=entry.external_number or entry.external_id,
        attempts=entry.attempts,
        replays=entry.replays,
        message=entry.reason,
        payment=entry.payment,
        event_id=entry.event_id,
        external_id=entry.external_id,
        # The kept event is compact JSON (pydantic): a substring test spares parsing every row of a long history
        is_purchase='"direction":"purchase"' in entry.event_json,
    )
