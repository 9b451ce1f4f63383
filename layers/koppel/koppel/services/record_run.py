"""One kind of record in one run of the two-way sync (services/record_sync.py has the whole story)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from koppel.errors import AuthError, InputError, KoppelError, RetryableError
from koppel.model import ExternalRef
from koppel.ports import NOT_FOLLOWED, LedgerEntry
from koppel.records import (
    RECORD_EVENT_PREFIX,
    RECORD_FIELDS,
    RecordLink,
    SyncRecord,
    changed,
    customer_key,
    fingerprint,
    full_name,
    merge,
)
from koppel.services.record_deletions import report_deletions
from koppel.services.record_outcomes import KindSummary, Outcome

if TYPE_CHECKING:
    from koppel.connectors.contract import RecordSide
    from koppel.model import Connection
    from koppel.records import RecordChanges, RecordKind, Side
    from koppel.services.record_outcomes import Progress
    from koppel.services.record_sync import RecordSyncDeps

LEASE = timedelta(minutes=5)


class KindRun:
    def __init__(
        self,
        connection: Connection,
        kind: RecordKind,
        sides: dict[Side, RecordSide],
        deps: RecordSyncDeps,
        progress: Progress | None,
    ) -> None:
        settings = connection.records
        assert settings is not None
        self.connection, self.kind, self.sides, self.deps = connection, kind, sides, deps
        self.progress = progress or (lambda kind, done, total: None)
        source, target = connection.source, connection.targets[0]
        self.priority = source if settings.priority == "source" else target
        self.writable = {"both": (source, target), "to_target": (target,), "to_source": (source,)}[settings.direction]
        held = [side.record_fields(kind) for side in sides.values()]
        self.names = [name for name in RECORD_FIELDS[kind] if all(name in fields for fields in held)]
        self.summary = KindSummary()
        self.links: dict[tuple[Side, str], RecordLink] = {}
        self.outcome = Outcome("in sync", "")
        self.handled: set[tuple[Side, str]] = set()
        """Records this run has carried (either side of a link it saved): what was read of them before is stale."""

    def other(self, side: Side) -> Side:
        return next(system for system in self.sides if system != side)

    # -- the run ---------------------------------------------------------------------------------------------------
    def run(self) -> KindSummary:
        if not self.names:
            return self.summary
        cid = self.connection.connection_id
        for link in self.deps.links.links(cid, self.kind):
            self.links.update(dict.fromkeys(link.ids.items(), link))
        linked_before = set(self.links)  # a listing read before this run linked a record cannot show it
        started = self.deps.clock()
        reads = {side: self._read(side) for side in self.sides}
        changes = {side: self._changed(side, read) for side, read in reads.items()}
        for side, ident, record in self._reopened():
            changes[side].setdefault(ident, record)
        total, done = sum(len(found) for found in changes.values()), 0
        for side, found in changes.items():
            for ident, record in found.items():
                done += 1
                if (side, ident) not in self.handled:  # read before this run wrote it: what was read is stale
                    self.carry(side, record, changes)
                self.progress(self.kind, done, total)
        for side, read in reads.items():
            report_deletions(self, side, read, linked_before)
            if read.until is not None:
                self.deps.connections.advance_watermark(cid, self._stream(side), read.until)
        if not any(read.until for read in reads.values()):
            self.deps.connections.advance_watermark(cid, f"records#{self.kind}", started)
        # Unchanged: each linked pair once (not once per side) that this run did not carry
        pairs = {tuple(sorted(link.ids.items())) for link in self.links.values()}
        self.summary.unchanged += sum(1 for pair in pairs if not self.handled.intersection(pair))
        return self.summary

    def _stream(self, side: Side) -> str:
        return f"records#{self.kind}#{side}"

    def _read(self, side: Side) -> RecordChanges:
        since = self.deps.connections.get_watermark(self.connection.connection_id, self._stream(side))
        return self.sides[side].changed_records(self.kind, since)

    def _changed(self, side: Side, read: RecordChanges) -> dict[str, SyncRecord]:
        """The records that differ from what Koppel saw there last (or are not linked yet)."""
        found = {}
        for record in read.records:
            link = self.links.get((side, record.ident))
            if link is None or changed(record.fields, link.seen.get(side, {}), self.names):
                found[record.ident] = record
        return found

    def _reopened(self) -> list[tuple[Side, str, SyncRecord]]:
        """Changes whose row is PENDING with its lease run out (replayed, or a run that died): read them again."""
        found = []
        now = self.deps.clock()
        prefix = f"{RECORD_EVENT_PREFIX}{self.kind}:"
        for entry in self.deps.ledger.entries(self.connection.connection_id, "PENDING"):
            if not entry.event_id.startswith(prefix) or entry.lease_until > now:
                continue
            side, ident = entry.event_id[len(prefix) :].rsplit(":", 2)[:2]
            record = self.sides[side].read_record(self.kind, ident) if side in self.sides else None
            if record is None:
                self._supersede(entry, "the record is gone from where it changed: nothing left to carry")
                continue
            if self._event_id(side, record) != entry.event_id:  # it changed again: the newer version goes instead
                self._supersede(entry, "superseded by a later change of the same record")
            found.append((side, record.ident, record))
        return found

    def _supersede(self, entry: LedgerEntry, why: str) -> None:
        """Close a change that will never be carried as it was (taken over from the run that left it)."""
        now = self.deps.clock()
        claim = self.deps.ledger.claim(entry.model_copy(update={"lease_until": now + LEASE}), now)
        if claim.is_ours:
            other = ExternalRef(system=entry.target, id="", number=entry.party_name or entry.document_number)
            self.close(claim.entry, other, why)

    def _event_id(self, side: Side, record: SyncRecord) -> str:
        return f"{RECORD_EVENT_PREFIX}{self.kind}:{side}:{record.ident}:{fingerprint(record.only(self.names))}"

    # -- one change ------------------------------------------------------------------------------------------------
    def carry(self, side: Side, record: SyncRecord, changes: dict[Side, dict[str, SyncRecord]]) -> None:
        other = self.other(side)
        link = self.links.get((side, record.ident))
        other_record = changes[other].get(link.ids[other]) if link else None
        self.handled.add((side, record.ident))
        entry = self.claim(side, record, other)
        if entry is None:
            self.outcome = Outcome("waiting", self._held(side, record, other))
            return
        try:
            note, ref = self._linked(link, side, record, other_record) if link else self._unlinked(side, record)
        except AuthError:
            self.deps.ledger.release(entry, "the credentials were refused", self.deps.clock())
            raise
        except RetryableError as error:
            self.deps.ledger.release(entry, str(error), self.deps.clock())
            self.summary.failed.append(f"{self.label(record)}: {error} (tried again on the next run)")
            self.outcome = Outcome("failed", f"{error} (tried again on the next run)")
        except KoppelError as error:
            self.deps.ledger.mark_parked(entry, str(error), self.deps.clock())
            self.summary.failed.append(f"{self.label(record)}: {error}")
            self.outcome = Outcome("failed", str(error))
        else:
            self.close(entry, ref, note)
            self.outcome = Outcome("synced", note, ref.id)

    def _held(self, side: Side, record: SyncRecord, other: Side) -> str:
        """Why a change was not taken up: done before, parked before, or another worker on it now."""
        event_id = self._event_id(side, record)
        row = self.deps.ledger.get(self.connection.connection_id, other, event_id)
        if row is None or row.state == "PENDING":
            return "another sync is carrying this change right now"
        if row.state == "PARKED":
            return f"this change was refused before: {row.reason} (fix it, then replay)"
        return row.reason or "this change was carried before"

    def claim(self, side: Side, record: SyncRecord, other: Side) -> LedgerEntry | None:
        now = self.deps.clock()
        event_id = self._event_id(side, record)
        row = LedgerEntry.pending(
            self.connection.connection_id, other, event_id, now, now + LEASE,
            document_number=record.ident, party_name=self.label(record),
        )  # fmt: skip
        claim = self.deps.ledger.claim(row, now)
        return claim.entry if claim.is_ours else None

    def close(self, entry: LedgerEntry, ref: ExternalRef, note: str) -> None:
        now = self.deps.clock()
        posted = self.deps.ledger.mark_posted(entry, ref, now, note=note)
        self.deps.ledger.note_payment(posted, NOT_FOLLOWED, now)  # a record has no payment: the row may expire

    def _linked(
        self, link: RecordLink, side: Side, record: SyncRecord, other_record: SyncRecord | None
    ) -> tuple[str, ExternalRef]:
        other = self.other(side)
        now = {
            side: record.only(self.names),
            other: other_record.only(self.names) if other_record else link.seen[other],
        }
        result = merge(now, link.seen, self.names, priority=self.priority, writable=self._writable(link))
        seen = self._write(link.ids, result.writes, now)
        self.save(link.model_copy(update={"seen": seen, "updated_at": self.deps.clock()}))
        notes = [f"updated in {self.deps.titles(s)}: {', '.join(sorted(f))}" for s, f in result.writes.items()]
        notes += [f"conflict on {conflict.describe(self._titles())}" for conflict in result.conflicts]
        self.summary.updated += bool(result.writes)
        self.summary.unchanged += not result.writes
        self.summary.conflicts += [f"{self.label(record)}: {c.describe(self._titles())}" for c in result.conflicts]
        blocked = [s for s in link.deleted if s in now and s != side]
        notes += [f"deleted in {self.deps.titles(s)}: not carried there" for s in blocked]
        return "; ".join(notes) or "no field to change", self.ref(other, link.ids[other], record)

    def _unlinked(self, side: Side, record: SyncRecord) -> tuple[str, ExternalRef]:
        other = self.other(side)
        if other not in self.writable:
            return f"not carried to {self.deps.titles(other)} (direction)", self.ref(other, "", record)
        found = self.sides[other].find_record(self.kind, record)
        if found is not None and (other, found.ident) in self.links:
            raise InputError(
                f"{self.deps.titles(other)} holds it as {found.ident}, which is linked to another record: "
                "merge the two in one of the systems, then replay"
            )
        if found is None:
            found = self._reserved(other, record)
        if found is None:
            created = self._create(other, record)
            seen = {side: record.only(self.names), other: created.only(self.names)}
            self.save(self._new_link({side: record.ident, other: created.ident}, seen))
            self.summary.created += 1
            return f"created in {self.deps.titles(other)}", self.ref(other, created.ident, created)
        now = {side: record.only(self.names), other: found.only(self.names)}
        ids = {side: record.ident, other: found.ident}
        result = merge(now, {}, self.names, priority=self.priority, writable=self.writable)
        self.save(self._new_link(ids, self._write(ids, result.writes, now)))
        self.summary.linked += 1
        self.summary.conflicts += [f"{self.label(record)}: {c.describe(self._titles())}" for c in result.conflicts]
        notes = [f"linked to {self.deps.titles(other)} {found.ident} by its natural key"]
        notes += [f"differed on {conflict.describe(self._titles())}" for conflict in result.conflicts]
        return "; ".join(notes), self.ref(other, found.ident, found)

    def _reserved(self, other: Side, record: SyncRecord) -> SyncRecord | None:
        """A customer (organization or contact) is created under a reservation a booking of the same customer also
        takes (records.customer_key): the one that wins creates it; this one then finds it, or waits for it."""
        if self.kind == "product":
            return None
        cid, key, now = self.connection.connection_id, customer_key(record.ident), self.deps.clock()
        made = self.deps.ledger.get_link(cid, other, key)
        if made is None and self.deps.ledger.reserve_link(cid, other, key, now + LEASE, now):
            return None
        there = self.sides[other].read_record(self.kind, made) if made else None
        if there is None:
            raise RetryableError(f"{self.deps.titles(other)} is making this customer for a booking right now")
        return there

    def _create(self, other: Side, record: SyncRecord) -> SyncRecord:
        """Create it (a customer under the reservation ``_reserved`` took, filled with its id, or given up when the
        create failed, so that the retry may reserve again at once)."""
        cid, key = self.connection.connection_id, customer_key(record.ident)
        try:
            created = self.sides[other].create_record(self.kind, record.only(self.names))
        except Exception:
            if self.kind != "product":
                self.deps.ledger.release_link(cid, other, key)
            raise
        if self.kind != "product":
            self.deps.ledger.put_link(cid, other, key, created.ident)
        return created

    def _writable(self, link: RecordLink) -> tuple[Side, ...]:
        return tuple(side for side in self.writable if side not in link.deleted)

    def _write(
        self, ids: dict[Side, str], writes: dict[Side, dict[str, str]], now: dict[Side, dict[str, str]]
    ) -> dict[Side, dict[str, str]]:
        """Write each side's fields; what each side holds afterwards, as it answered (its own spelling)."""
        seen = dict(now)
        for side, fields in writes.items():
            seen[side] = self.sides[side].update_record(self.kind, ids[side], fields).only(self.names)
        return seen

    def _new_link(self, ids: dict[Side, str], seen: dict[Side, dict[str, str]]) -> RecordLink:
        return RecordLink(
            connection_id=self.connection.connection_id, kind=self.kind, ids=ids, seen=seen,
            updated_at=self.deps.clock(),
        )  # fmt: skip

    def save(self, link: RecordLink) -> None:
        if not self.deps.links.save(link):
            raise RetryableError("another run changed this record's link at the same time")
        stored = link.model_copy(update={"version": link.version + 1})
        self.links.update(dict.fromkeys(link.ids.items(), stored))
        self.handled |= set(link.ids.items())

    # -- words -----------------------------------------------------------------------------------------------------
    def _titles(self) -> dict[Side, str]:
        return {side: self.deps.titles(side) for side in self.sides}

    def label(self, record: SyncRecord) -> str:
        return record.label or full_name(record) or f"{self.kind} {record.ident}"

    def ref(self, system: Side, ident: str, record: SyncRecord) -> ExternalRef:
        return ExternalRef(system=system, id=ident, number=self.label(record))
