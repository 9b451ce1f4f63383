"""Deletions in a two-way record sync: reported, never carried over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from koppel.records import SyncRecord

if TYPE_CHECKING:
    from koppel.records import RecordChanges, Side
    from koppel.services.record_run import KindRun


def report_deletions(run: KindRun, side: Side, read: RecordChanges, linked_before: set[tuple[Side, str]]) -> None:
    """Records deleted on ``side`` (said by its feed, or missing from a complete listing of what was linked before
    the run): noted on their link and in the history, never carried to the other side."""
    gone = set(read.deleted)
    if read.complete:
        listed = {record.ident for record in read.records}
        gone |= {ident for (s, ident) in linked_before if s == side and ident not in listed}
    for ident in sorted(gone):
        link = run.links.get((side, ident))
        if link is None or side in link.deleted:
            continue
        other = run.other(side)
        record = SyncRecord(kind=run.kind, ident=ident, fields=link.seen.get(side, {}))
        entry = run.claim(side, record.model_copy(update={"fields": {"deleted": "yes"}}), other)
        run.save(link.model_copy(update={"deleted": {**link.deleted, side: run.deps.clock().isoformat()}}))
        note = f"deleted in {run.deps.titles(side)}; kept in {run.deps.titles(other)} (deletions are reported)"
        run.summary.deleted.append(f"{run.label(record)}: {note}")
        if entry is not None:
            run.close(entry, run.ref(other, link.ids[other], record), note)
