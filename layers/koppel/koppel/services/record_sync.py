"""Two-way record sync: organizations, contacts and products kept alike between a source and its target.

Each run, per kind: each side says what changed since its watermark (or lists everything, when it has no change
feed); a record whose synced fields still equal what Koppel last saw there has not changed (Koppel's own write is
no new change, so nothing echoes back). A changed record that is linked goes to the other side field by field; one
changed on both sides is merged (``records.merge``: the priority side wins a conflict, both values recorded). An
unlinked record is first looked for on the other side by its natural keys and linked, else created. A deletion is
reported in the history and never carried over.

Every change is a ledger row (``record:<kind>:<side>:<id>:<fingerprint>``), claimed before anything is written:
its history (created, updated, linked, conflicts, deleted) for the console and ``koppel status``; a failure parks
it with the vendor's words and ``koppel replay`` reopens it, which the next run reads again. One run per connection
at a time (``RecordLinks.take_turn``), so a scheduled run and one a person started never create a record twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from koppel.errors import InputError
from koppel.services.record_one import run_one
from koppel.services.record_outcomes import KindSummary, Outcome, Progress
from koppel.services.record_run import KindRun

if TYPE_CHECKING:
    from collections.abc import Callable

    from koppel.connectors.contract import RecordSide
    from koppel.model import Connection
    from koppel.ports import ConnectionStore, Ledger, RecordLinks
    from koppel.records import RecordKind

TURN = timedelta(minutes=15)
"""How long a run may hold the connection's turn: longer than a run takes (a Lambda stops at 15 minutes)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RecordSyncDeps:
    connections: ConnectionStore
    links: RecordLinks
    ledger: Ledger
    side_for: Callable[[Connection, str], object]
    """The connection's connector for a system (source or target), built with its credentials."""
    titles: Callable[[str], str] = str
    """How a person reads a system's name (``Simply CRM``), in the history."""
    clock: Callable[[], datetime] = field(default=_utcnow)


@dataclass
class SyncSummary:
    kinds: dict[str, KindSummary] = field(default_factory=dict)
    busy: bool = False
    """Another run held the connection's turn: nothing was done."""


def sync_records(
    connection: Connection,
    deps: RecordSyncDeps,
    kinds: tuple[RecordKind, ...] | None = None,
    progress: Progress | None = None,
) -> SyncSummary:
    """One run over ``kinds`` (default: the connection's), in the order organizations, contacts, products."""
    settings = connection.records
    if settings is None:
        raise InputError(f"connection {connection.connection_id} does not sync records both ways (no record settings)")
    now = deps.clock()
    if not deps.links.take_turn(connection.connection_id, now + TURN, now):
        return SyncSummary(busy=True)
    try:
        sides = {system: _side(connection, system, deps) for system in (connection.source, connection.targets[0])}
        summary = SyncSummary()
        for kind in kinds or settings.kinds:
            summary.kinds[kind] = KindRun(connection, kind, sides, deps, progress).run()
        return summary
    finally:
        deps.links.end_turn(connection.connection_id)


def sync_one(connection: Connection, deps: RecordSyncDeps, kind: RecordKind, side: str, ident: str) -> Outcome:
    """One record now, both ways as the connection's settings say (its "Sync" button): in sync, synced, or why not."""
    if connection.records is None:
        raise InputError(f"connection {connection.connection_id} does not sync records both ways (no record settings)")
    if kind not in connection.records.kinds:
        return Outcome("failed", f"{kind}s are not synced on this connection")
    now = deps.clock()
    if not deps.links.take_turn(connection.connection_id, now + TURN, now):
        return Outcome("waiting", "a sync of this connection is running: press again in a minute")
    try:
        sides = {system: _side(connection, system, deps) for system in (connection.source, connection.targets[0])}
        if side not in sides:
            raise InputError(f"{side} is neither side of connection {connection.connection_id}")
        return run_one(KindRun(connection, kind, sides, deps, None), side, ident)
    finally:
        deps.links.end_turn(connection.connection_id)


def _side(connection: Connection, system: str, deps: RecordSyncDeps) -> RecordSide:
    from koppel.connectors.contract import RecordSide  # here, not at import: the scheduler loads no connector

    side = deps.side_for(connection, system)
    if not isinstance(side, RecordSide):
        raise InputError(f"{deps.titles(system)} keeps no records in sync with another system")
    return side


def describe_summary(summary: SyncSummary) -> str:
    """One line for a log or a person: what each kind's run did."""
    if summary.busy:
        return "another sync of this connection was running: nothing done"
    parts = []
    for kind, done in summary.kinds.items():
        counts = {
            "created": done.created, "linked": done.linked, "updated": done.updated,
            "conflicts": len(done.conflicts), "deleted": len(done.deleted), "failed": len(done.failed),
        }  # fmt: skip
        said = ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "nothing changed"
        parts.append(f"{kind}: {said}")
    return "; ".join(parts)
