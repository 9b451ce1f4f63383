"""`koppel replay`: once the cause is fixed, send parked or dead-lettered records through again.

A parked row goes back to PENDING (lease run out) and its event is put on the target's queue with the replay
count raised, so the deliver function treats it as a new attempt: it looks the booking up by its natural key
first and posts only when the target does not have it. Dead-lettered messages are moved back onto their queue.
Nothing is booked twice by a replay, however often it is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from koppel.model import HubEnvelope
from koppel.records import RECORD_EVENT_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from koppel.ports import DeadLetter, DeadLetters, Ledger, LedgerEntry, Publisher


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ReplayDeps:
    ledger: Ledger
    publisher: Publisher
    dead_letters: DeadLetters
    clock: Callable[[], datetime] = field(default=_utcnow)


@dataclass(frozen=True)
class Selection:
    """Which records: all of the connection's, only these event ids, and/or only those since a moment."""

    event_ids: Collection[str] = ()
    since: datetime | None = None

    def wants(self, event_id: str, moment: datetime) -> bool:
        if self.event_ids and event_id not in self.event_ids:
            return False
        return self.since is None or moment >= self.since


@dataclass(frozen=True)
class ReplayResult:
    parked: tuple[str, ...]
    dead: tuple[str, ...]


def replay(
    connection_id: str, targets: Collection[str], selection: Selection, deps: ReplayDeps, *, parked: bool, dead: bool
) -> ReplayResult:
    replayed_parked: list[str] = []
    replayed_dead: list[str] = []
    for target in targets:
        if parked:
            replayed_parked += _replay_parked(connection_id, target, selection, deps)
        if dead:
            replayed_dead += _replay_dead(connection_id, target, selection, deps)
    return ReplayResult(tuple(replayed_parked), tuple(replayed_dead))


def _replay_parked(connection_id: str, target: str, selection: Selection, deps: ReplayDeps) -> list[str]:
    done = []
    for entry in deps.ledger.entries(connection_id, "PARKED", target=target, since=selection.since):
        if not selection.wants(entry.event_id, entry.updated_at):
            continue
        is_record = entry.event_id.startswith(RECORD_EVENT_PREFIX)
        if not entry.event_json and not is_record:
            continue  # a row from before events were kept: it cannot be replayed from here
        reopened: LedgerEntry | None = deps.ledger.reopen(entry, deps.clock())
        if reopened is None:
            continue  # replayed by someone else in the meantime
        if is_record:  # a record kept alike on two sides: the next record sync reads it again and carries it
            done.append(entry.event_id)
            continue
        envelope = HubEnvelope.model_validate_json(entry.event_json)
        deps.publisher.publish(target, [envelope.event], replay=reopened.replays)
        done.append(entry.event_id)
    return done


def _replay_dead(connection_id: str, target: str, selection: Selection, deps: ReplayDeps) -> list[str]:
    chosen: list[DeadLetter] = []
    ids = []
    for letter in deps.dead_letters.list(target):
        if not letter.envelope_json:
            continue  # not a Koppel event: nothing to replay, it stays for a person to read
        event = HubEnvelope.model_validate_json(letter.envelope_json).event
        if event.connection_id == connection_id and selection.wants(event.event_id, letter.sent_at):
            chosen.append(letter)
            ids.append(event.event_id)
    deps.dead_letters.requeue(target, chosen)
    return ids
