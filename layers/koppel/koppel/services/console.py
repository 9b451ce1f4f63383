"""What the console does for a signed-in person, through the same services as the CLI: the connections their role
opens (``koppel.access``) with their health, one connection's history, replaying parked records, pause and resume,
a dated backfill (poll jobs on the poll queue, read by poll_source as the schedule's are), bookings per hour,
a new start link and disconnecting.

Every read is by key or index (the tenants' list, ``by_tenant``, the ledger's ``by_state``): never a Scan. Nothing
here decrypts a credential.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from koppel import connectors
from koppel.access import Forbidden, Principal, not_found, visible
from koppel.errors import InputError, NotFoundError
from koppel.services import operations
from koppel.services.poll import backfill_job
from koppel.services.replay import ReplayDeps, Selection, replay
from koppel.services.status import ConnectionHealth, health, waiting_for_consent

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from koppel.model import Connection
    from koppel.ports import ConnectionStore, DeadLetter, DeadLetters, JobQueue, Ledger, LedgerState, Publisher
    from koppel.services.connect import ConnectDeps

STATE_WORDS: dict[str, LedgerState] = {
    "booked": "POSTED",
    "pending": "PENDING",
    "parked": "PARKED",
    "not-bookable": "SKIPPED",
}
WORD_OF_STATE = {state: word for word, state in STATE_WORDS.items()}
MAX_BACKFILL_DAYS = 366
OVERVIEW_READERS = 16
"""Connections whose health is read at the same time for the overview."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ConsoleDeps:
    connections: ConnectionStore
    ledger: Ledger
    dead_letters: DeadLetters
    publisher: Publisher
    jobs: JobQueue
    connect: Callable[[], ConnectDeps]
    """Built only when a start link is issued or a connection disconnected."""
    write_back_systems: frozenset[str] = frozenset()
    """Sources that take payment status back on a queue of their own (their rows replay too)."""
    clock: Callable[[], datetime] = field(default=_utcnow)


def connections_of(principal: Principal, deps: ConsoleDeps) -> list[Connection]:
    """The connections the person may see, by client then name."""
    if principal.role == "operator":
        found = [c for tenant in deps.connections.tenants() for c in deps.connections.of_tenant(tenant)]
    else:
        found = [c for c in deps.connections.of_tenant(principal.tenant) if principal.sees(c)]
    return sorted(found, key=lambda c: (c.client.casefold(), (c.name or c.connection_id).casefold(), c.connection_id))


def connection_of(principal: Principal, connection_id: str, deps: ConsoleDeps) -> Connection:
    """The connection, or the one 404 that an unseen and an unknown id both get (so ids cannot be probed)."""
    try:
        connection = deps.connections.get(connection_id)
    except NotFoundError:
        raise not_found(connection_id) from None
    return visible(principal, connection)


def view(connection: Connection, deps: ConsoleDeps, letters: Sequence[DeadLetter] = ()) -> dict[str, Any]:
    """The connection as the console shows it: who, what, and its health (``services.status``)."""
    state: ConnectionHealth = health(
        connection, deps.ledger, letters, waiting_for=waiting_for_consent(connection, deps.connections)
    )
    return {
        "connection_id": connection.connection_id,
        "name": state.name,
        "tenant": connection.tenant_id,
        "client": connection.client,
        "source": connection.source,
        "source_title": _title(connection.source),
        "targets": [{"name": t, "title": _title(t)} for t in connection.targets],
        "colour": state.colour,
        "status": state.connection_status,
        "status_reason": connection.status_reason,
        "booked": state.booked,
        "pending": state.pending,
        "parked": state.parked,
        "not_bookable": state.not_bookable,
        "dead": state.dead,
        "last_success": _iso(state.last_success),
        "last_error": state.last_error,
        "last_error_at": _iso(state.last_error_at),
        "action": _console_words(state.action, connection.connection_id),
    }


def views(connections: Sequence[Connection], deps: ConsoleDeps) -> list[dict[str, Any]]:
    """Every connection's view, read side by side: each costs a handful of index reads, and a firm with dozens of
    clients would otherwise wait for them one after another (boto3 clients are thread-safe)."""
    if len(connections) < 2:
        return [view(c, deps) for c in connections]
    with ThreadPoolExecutor(max_workers=min(OVERVIEW_READERS, len(connections))) as pool:
        return list(pool.map(lambda c: view(c, deps), connections))


def dead_letters_of(connection: Connection, deps: ConsoleDeps) -> list[DeadLetter]:
    """The DLQ messages of the connection's targets (peeked: they stay on the queue)."""
    return [letter for target in _queues_of(connection, deps) for letter in deps.dead_letters.list(target)]


def history(
    connection: Connection, deps: ConsoleDeps, *, state: str | None, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    if state is not None and state not in STATE_WORDS:
        raise InputError(f"state {state!r} is not one of {', '.join(STATE_WORDS)}")
    if not 1 <= limit <= 500:
        raise InputError(f"limit {limit}: ask for 1 to 500 records")
    rows = operations.history(
        deps.ledger, connection.connection_id, state=STATE_WORDS[state] if state else None, since=since, limit=limit
    )
    return [
        {
            "event_id": row.event_id,
            "updated_at": row.updated_at.isoformat(),
            "target": row.target,
            "target_title": _title(row.target),
            "document": row.document,
            "party": row.party,
            "total": row.total,
            "state": WORD_OF_STATE[row.state],
            "target_document": row.target_document,
            "target_link": _document_link(connection, row),
            "attempts": row.attempts,
            "replays": row.replays,
            "message": row.message,
            "payment": row.payment,
        }
        for row in rows
    ]


def retry(connection: Connection, event_ids: Sequence[str], deps: ConsoleDeps) -> list[str]:
    """Parked records (these, or all) and the connection's dead letters go through again; none is booked twice."""
    result = replay(
        connection.connection_id,
        _queues_of(connection, deps),
        Selection(event_ids=tuple(event_ids)),
        ReplayDeps(ledger=deps.ledger, publisher=deps.publisher, dead_letters=deps.dead_letters, clock=deps.clock),
        parked=True,
        dead=True,
    )
    return [*result.parked, *result.dead]


def pause(connection: Connection, reason: str, deps: ConsoleDeps) -> Connection:
    return operations.pause(deps.connections, connection.connection_id, reason)


def resume(connection: Connection, deps: ConsoleDeps) -> Connection:
    return operations.resume(deps.connections, connection.connection_id)


def backfill(connection: Connection, since: datetime, until: datetime | None, deps: ConsoleDeps) -> int:
    """One poll job per day of the window on the poll queue; poll_source reads them like the schedule's jobs and
    books only what is not booked yet. Returns the number of days queued."""
    end = until or deps.clock()
    backfill_job(connection.connection_id, since, end)  # checks the window
    if end - since > timedelta(days=MAX_BACKFILL_DAYS):
        raise InputError(f"a backfill reads at most {MAX_BACKFILL_DAYS} days at once: split the window")
    jobs = []
    cursor = since
    while cursor < end:
        step = min(end, cursor + timedelta(days=1))
        jobs.append(backfill_job(connection.connection_id, cursor, step))
        cursor = step
    deps.jobs.enqueue(jobs)
    return len(jobs)


def bookings_per_hour(connection: Connection, hours: int, deps: ConsoleDeps) -> list[dict[str, Any]]:
    """Records booked per hour over the last ``hours``, oldest first, zeros included (read through ``by_state``)."""
    if not 1 <= hours <= 168:
        raise InputError(f"hours {hours}: ask for 1 to 168 (a week)")
    now = deps.clock().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(hours=hours - 1)
    counts = dict.fromkeys((first + timedelta(hours=n) for n in range(hours)), 0)
    for row in deps.ledger.entries(connection.connection_id, "POSTED", since=first):
        hour = row.updated_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if hour in counts:
            counts[hour] += 1
    return [{"hour": hour.isoformat(), "booked": n} for hour, n in counts.items()]


def start_link(principal: Principal, connection: Connection, system: str, deps: ConsoleDeps) -> tuple[str, datetime]:
    """A new start link token for the owner of ``system`` (firm or operator), and when it stops working."""
    from koppel.services.connect import issue_start_link

    _may_manage(principal)
    connect = deps.connect()
    token = issue_start_link(connection, system, connect)
    return token, connect.clock() + connect.start_link_ttl


def disconnect(principal: Principal, connection: Connection, deps: ConsoleDeps) -> Connection:
    from koppel.services.connect import disconnect_all

    _may_manage(principal)
    reason = f"disconnected by {principal.username} in the console (connect it again to resume)"
    return disconnect_all(connection, deps.connect(), reason=reason)


def _may_manage(principal: Principal) -> None:
    if not principal.may_manage_credentials():
        raise Forbidden("only the accounting firm or an operator connects and disconnects accounts: ask them")


def _queues_of(connection: Connection, deps: ConsoleDeps) -> tuple[str, ...]:
    back = (connection.source,) if connection.source in deps.write_back_systems else ()
    return (*connection.targets, *back)


def _document_link(connection: Connection, row: operations.HistoryRow) -> str:
    if row.state != "POSTED" or not row.target_document or row.target not in connectors.available():
        return ""
    connector = connectors.load(row.target)
    if connector.document_link is None:
        return ""
    settings = connection.target_settings.get(row.target, {})
    return connector.document_link(settings, row.external_id, "purchase" if row.is_purchase else "sale")


def _console_words(action: str, connection_id: str) -> str:
    """The CLI's advice, as the console's buttons say it."""
    return (
        action.replace(f"koppel replay {connection_id} --dead", "press Retry all")
        .replace(f"koppel replay {connection_id}", "press Retry")
        .replace(f"koppel resume {connection_id}", "press Resume")
    )


def _title(system: str) -> str:
    return connectors.load(system).title if system in connectors.available() else system


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
