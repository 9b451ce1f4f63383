"""In-memory implementations of the ports: used by `koppel preview` and as the fakes of the unit tests.

They keep the same contracts as the DynamoDB adapters (conditional claim, forward-only watermark,
versioned tokens), so a service tested against them behaves the same on AWS.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING

from koppel.errors import NotFoundError, PermanentError
from koppel.files import claim_check
from koppel.ports import (
    NEVER_POLLED,
    CachedToken,
    Claim,
    DuePoll,
    Grant,
    GrantPurpose,
    LedgerEntry,
    LedgerState,
    PollJob,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from koppel.model import Connection, DocumentRef, ExternalRef, HubEvent
    from koppel.ports import CountName, LatencyName, ParkReason


class MemoryConnectionStore:
    def __init__(self, connections: Sequence[Connection] = ()) -> None:
        self.connections = {c.connection_id: c for c in connections}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.watermarks: dict[tuple[str, str], datetime] = {}
        self.tokens: dict[tuple[str, str], CachedToken] = {}
        self.accounts: dict[tuple[str, str], set[str]] = {}
        self.next_polls: dict[str, datetime] = {}
        """Next scheduled poll per connection; an active connection not in here is due at once."""
        self._lock = threading.Lock()

    def get(self, connection_id: str) -> Connection:
        try:
            return self.connections[connection_id]
        except KeyError:
            raise NotFoundError(f"no connection {connection_id!r}: see `koppel connections list`") from None

    def put(self, connection: Connection) -> None:
        self.connections[connection.connection_id] = connection
        if connection.status != "active":  # like the index: a paused connection's next poll is forgotten
            self.next_polls.pop(connection.connection_id, None)

    def all(self) -> list[Connection]:
        return sorted(self.connections.values(), key=lambda c: c.connection_id)

    def of_tenant(self, tenant_id: str) -> list[Connection]:
        return [c for c in self.all() if c.tenant_id == tenant_id]

    def tenants(self) -> list[str]:
        return sorted({c.tenant_id for c in self.connections.values()})

    def due(self, now: datetime) -> list[DuePoll]:
        polls = [
            DuePoll(
                connection_id=c.connection_id,
                due_at=self.next_polls.get(c.connection_id, NEVER_POLLED),
                poll_interval_minutes=c.poll_interval_minutes,
            )
            for c in self.connections.values()
            if c.status == "active"
        ]
        return sorted((p for p in polls if p.due_at <= now), key=lambda p: (p.due_at, p.connection_id))

    def reschedule(self, due: DuePoll, next_at: datetime) -> bool:
        with self._lock:
            connection = self.connections.get(due.connection_id)
            if connection is None or connection.status != "active":
                return False
            if self.next_polls.get(due.connection_id, NEVER_POLLED) != due.due_at:
                return False
            self.next_polls[due.connection_id] = next_at
            return True

    def get_secrets(self, connection_id: str, system: str) -> dict[str, str]:
        return dict(self.secrets.get((connection_id, system), {}))

    def put_secrets(self, connection_id: str, system: str, secrets: Mapping[str, str]) -> None:
        self.secrets[(connection_id, system)] = dict(secrets)

    def holds_credentials(self, connection_id: str, system: str) -> bool:
        return bool(self.secrets.get((connection_id, system))) or (connection_id, system) in self.tokens

    def delete_secrets(self, connection_id: str, system: str) -> None:
        self.secrets.pop((connection_id, system), None)
        self.tokens.pop((connection_id, system), None)

    def link_account(self, system: str, account_id: str, connection_id: str) -> None:
        self.accounts.setdefault((system, account_id), set()).add(connection_id)

    def connections_of_account(self, system: str, account_id: str) -> list[str]:
        return sorted(self.accounts.get((system, account_id), set()))

    def get_watermark(self, connection_id: str, stream: str) -> datetime | None:
        return self.watermarks.get((connection_id, stream))

    def advance_watermark(self, connection_id: str, stream: str, to: datetime) -> bool:
        with self._lock:
            current = self.watermarks.get((connection_id, stream))
            if current is not None and current >= to:
                return False
            self.watermarks[(connection_id, stream)] = to
            return True

    def get_token(self, connection_id: str, system: str) -> CachedToken | None:
        return self.tokens.get((connection_id, system))

    def put_token(self, connection_id: str, system: str, token: CachedToken) -> bool:
        with self._lock:
            current = self.tokens.get((connection_id, system))
            if (current.version if current else 0) + 1 != token.version:
                return False
            self.tokens[(connection_id, system)] = token
            return True


class MemoryGrantStore:
    def __init__(self) -> None:
        self.grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, token_digest: str, grant: Grant) -> None:
        self.grants[token_digest] = grant

    def redeem(self, token_digest: str, purpose: GrantPurpose, now: datetime) -> Grant | None:
        with self._lock:
            grant = self.find(token_digest, purpose, now)
            if grant is not None:
                del self.grants[token_digest]
            return grant

    def find(self, token_digest: str, purpose: GrantPurpose, now: datetime) -> Grant | None:
        grant = self.grants.get(token_digest)
        if grant is None or grant.purpose != purpose or (grant.expires_at is not None and grant.expires_at <= now):
            return None
        return grant

    def revoke(self, token_digest: str) -> None:
        self.grants.pop(token_digest, None)


class MemoryReplayCache:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], datetime] = {}
        self.refusals: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def first_sighting(self, connection_id: str, body_digest: str, until: datetime, now: datetime) -> bool:
        with self._lock:
            expiry = self.seen.get((connection_id, body_digest))
            if expiry is not None and expiry > now:
                return False
            self.seen[(connection_id, body_digest)] = until
            return True

    def forget(self, connection_id: str, body_digest: str) -> None:
        self.seen.pop((connection_id, body_digest), None)
        self.refusals.pop((connection_id, body_digest), None)

    def note_refusal(self, connection_id: str, body_digest: str, reason: str, until: datetime) -> None:
        self.seen[(connection_id, body_digest)] = until
        self.refusals[(connection_id, body_digest)] = reason

    def refusal_of(self, connection_id: str, body_digest: str) -> str:
        return self.refusals.get((connection_id, body_digest), "")


class MemoryLedger:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], LedgerEntry] = {}
        self.links: dict[tuple[str, str, str], str] = {}
        self.reservations: dict[tuple[str, str, str], datetime] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(entry: LedgerEntry) -> tuple[str, str, str]:
        return (entry.connection_id, entry.target, entry.event_id)

    def claim(self, entry: LedgerEntry, now: datetime) -> Claim:
        with self._lock:
            existing = self.rows.get(self._key(entry))
            if existing is None:
                self.rows[self._key(entry)] = entry
                return Claim(entry=entry, is_ours=True)
            if existing.state == "PENDING" and existing.lease_until <= now:
                taken = existing.model_copy(
                    update={
                        "request_id": entry.request_id,
                        "lease_until": entry.lease_until,
                        "attempts": existing.attempts + 1,
                        "updated_at": now,
                    }
                )
                self.rows[self._key(entry)] = taken
                return Claim(entry=taken, is_ours=True)
            return Claim(entry=existing, is_ours=False)

    def _update(self, entry: LedgerEntry, now: datetime, **changes: object) -> LedgerEntry:
        with self._lock:
            current = self.rows.get(self._key(entry))
            if current is None or current.request_id != entry.request_id:
                # Another worker took the row over: its outcome stands, ours is not written.
                return current or entry
            updated = current.model_copy(update={**changes, "updated_at": now})
            self.rows[self._key(entry)] = updated
            return updated

    def mark_posted(self, entry: LedgerEntry, ref: ExternalRef, now: datetime, *, note: str = "") -> LedgerEntry:
        return self._update(
            entry, now, state="POSTED", external_id=ref.id, external_number=ref.number or "", reason=note
        )

    def mark_skipped(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        return self._update(entry, now, state="SKIPPED", reason=reason)

    def mark_parked(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        return self._update(entry, now, state="PARKED", reason=reason)

    def release(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        return self._update(entry, now, lease_until=now, reason=reason)

    def note_payment(self, entry: LedgerEntry, payment: str, now: datetime, *, due_date: str = "") -> LedgerEntry:
        return self._update(entry, now, payment=payment, due_date=due_date or entry.due_date)

    def reopen(self, entry: LedgerEntry, now: datetime) -> LedgerEntry | None:
        with self._lock:
            current = self.rows.get(self._key(entry))
            if current is None or current.state != "PARKED":
                return None
            reopened = current.model_copy(
                update={"state": "PENDING", "lease_until": now, "replays": current.replays + 1, "updated_at": now}
            )
            self.rows[self._key(entry)] = reopened
            return reopened

    def get(self, connection_id: str, target: str, event_id: str) -> LedgerEntry | None:
        return self.rows.get((connection_id, target, event_id))

    def entries(
        self,
        connection_id: str,
        state: LedgerState | None = None,
        *,
        target: str | None = None,
        since: datetime | None = None,
    ) -> list[LedgerEntry]:
        return [
            row
            for (conn, _, _), row in sorted(self.rows.items())
            if conn == connection_id
            and (state is None or row.state == state)
            and (target is None or row.target == target)
            and (since is None or row.updated_at >= since)
        ]

    def open_items(self, connection_id: str, target: str) -> list[LedgerEntry]:
        return [row for row in self.entries(connection_id, "POSTED", target=target) if not row.is_closed]

    def count(self, connection_id: str, state: LedgerState) -> int:
        return len(self.entries(connection_id, state))

    def latest(self, connection_id: str, state: LedgerState, target: str) -> LedgerEntry | None:
        return max(self.entries(connection_id, state, target=target), key=lambda r: r.updated_at, default=None)

    def get_link(self, connection_id: str, target: str, natural_key: str) -> str | None:
        return self.links.get((connection_id, target, natural_key))

    def put_link(self, connection_id: str, target: str, natural_key: str, external_id: str) -> None:
        self.links[(connection_id, target, natural_key)] = external_id

    def reserve_link(self, connection_id: str, target: str, natural_key: str, until: datetime, now: datetime) -> bool:
        key = (connection_id, target, natural_key)
        with self._lock:
            if key in self.links or self.reservations.get(key, now) > now:
                return False
            self.reservations[key] = until
            return True

    def release_link(self, connection_id: str, target: str, natural_key: str) -> None:
        with self._lock:
            self.reservations.pop((connection_id, target, natural_key), None)


class MemoryPublisher:
    def __init__(self) -> None:
        self.sent: dict[str, list[HubEvent]] = {}
        self.replays: dict[str, list[int]] = {}

    def publish(self, target: str, events: Sequence[HubEvent], *, replay: int = 0) -> None:
        self.sent.setdefault(target, []).extend(events)
        self.replays.setdefault(target, []).extend(replay for _ in events)


class MemoryJobQueue:
    def __init__(self) -> None:
        self.jobs: list[PollJob] = []

    def enqueue(self, jobs: Sequence[PollJob]) -> None:
        self.jobs.extend(jobs)


class MemoryRedelivery:
    """Records what a consumer asked of its queue: (queue, receipt handle, seconds) delays and dead letters."""

    def __init__(self, *, has_dead_letter_queue: bool = True) -> None:
        self.delays: list[tuple[str, str, int]] = []
        self.dead_letters: list[tuple[str, str]] = []
        self._has_dlq = has_dead_letter_queue

    def retry_later(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        self.delays.append((queue_arn, receipt_handle, seconds))

    def dead_letter(self, body: str, reason: str) -> bool:
        if self._has_dlq:
            self.dead_letters.append((body, reason))
        return self._has_dlq


class MemoryMeter:
    """The Meter port in memory: what was counted, per (name, koppeling, reason), and every latency measured."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str | None], int] = {}
        self.latencies: dict[tuple[str, str], list[float]] = {}

    def count(self, name: CountName, koppeling: str, n: int = 1, *, reason: ParkReason | None = None) -> None:
        key = (name, koppeling, reason)
        self.counts[key] = self.counts.get(key, 0) + n

    def latency(self, name: LatencyName, koppeling: str, seconds: float) -> None:
        self.latencies.setdefault((name, koppeling), []).append(seconds)

    def total(self, name: CountName) -> int:
        """The count of ``name`` over every koppeling and reason."""
        return sum(n for (counted, _, _), n in self.counts.items() if counted == name)


class MemoryFileStore:
    """Files kept in a dict by their claim check's key: the S3 bucket of the tests and previews."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, connection_id: str, filename: str, content_type: str, data: bytes) -> DocumentRef:
        ref = claim_check("memory", connection_id, filename, content_type, data)
        self.objects[ref.key] = data
        return ref

    def read(self, ref: DocumentRef) -> bytes:
        data = self.objects.get(ref.key)
        if data is None or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise PermanentError(f"the file {ref.filename!r} is no longer kept: read it from the source again")
        return data
