"""One record synced on request (a person pressed "Sync" on it), as one kind's run would carry it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from koppel.records import SyncRecord, changed
from koppel.services.record_outcomes import Outcome

if TYPE_CHECKING:
    from koppel.records import Side
    from koppel.services.record_run import KindRun


def run_one(run: KindRun, side: Side, ident: str) -> Outcome:
    """Sync one record now (a person pressed "Sync" on it): what changed on either side since the last sync."""
    if not run.names:
        return Outcome("failed", f"no {run.kind} fields are synced between these systems")
    other = run.other(side)
    record = run.sides[side].read_record(run.kind, ident)
    if record is None:
        return Outcome("failed", f"{run.deps.titles(side)} has no {run.kind} {ident}")
    ident = record.ident  # as the side names it (a CRM may read "4x02" as its 4x2): links are kept by that
    link = run.deps.links.link_of(run.connection.connection_id, run.kind, side, ident)
    changes: dict[Side, dict[str, SyncRecord]] = {side: {}, other: {}}
    if link is not None:
        run.links.update(dict.fromkeys(link.ids.items(), link))
        there = run.sides[other].read_record(run.kind, link.ids[other])
        if there is not None and changed(there.fields, link.seen.get(other, {}), run.names):
            changes[other][there.ident] = there
    if link is None or changed(record.fields, link.seen.get(side, {}), run.names):
        changes[side][ident] = record
    if not changes[side] and not changes[other]:
        return Outcome("in sync", "nothing changed since the last sync", link.ids[other] if link else "")
    first = side if changes[side] else other
    run.carry(first, next(iter(changes[first].values())), changes)
    return run.outcome
