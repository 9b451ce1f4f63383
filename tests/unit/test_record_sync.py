"""Two-way record sync (services/record_sync.py) between two fake sides: a CRM with a change feed and an accounting
package that can only list everything, as Simply CRM and Billy are."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.adapters.memory_records import MemoryRecordLinks
from koppel.errors import PermanentError
from koppel.model import RecordSyncSettings
from koppel.records import RECORD_FIELDS, RecordChanges, SyncRecord, lookup_keys
from koppel.services.record_sync import RecordSyncDeps, SyncSummary, sync_records
from tests.fakes import T0, a_connection

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Side:
    """A system's records of every kind; ``feed``: it says what changed since a moment (else it lists all)."""

    def __init__(self, name: str, clock: Clock, *, feed: bool, shout: tuple[str, ...] = ()) -> None:
        self.name, self.clock, self.feed = name, clock, feed
        self.shout = shout
        """Fields this side stores in capitals (its own spelling of what it is given)."""
        self.rows: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, Any] = {}
        self.writes: list[tuple[str, str, dict[str, str]]] = []
        self.refuse: str = ""
        self._next = 1

    # -- a person at work on this side -----------------------------------------------------------------------------
    def add(self, kind: str = "contact", **fields: str) -> str:
        ident = f"{self.name[0]}{self._next}"
        self._next += 1
        self.rows[ident] = {"kind": kind, "fields": dict(fields), "at": self.clock.now}
        return ident

    def edit(self, ident: str, **fields: str) -> None:
        self.rows[ident]["fields"].update(fields)
        self.rows[ident]["at"] = self.clock.now

    def delete(self, ident: str) -> None:
        self.deleted[ident] = self.rows.pop(ident)
        self.deleted[ident]["at"] = self.clock.now

    def of(self, kind: str) -> list[SyncRecord]:
        return [self._record(ident) for ident, row in self.rows.items() if row["kind"] == kind]

    # -- RecordSide ------------------------------------------------------------------------------------------------
    def record_fields(self, kind: Any) -> frozenset[str]:
        return frozenset(RECORD_FIELDS[kind])

    def changed_records(self, kind: Any, since: datetime | None) -> RecordChanges:
        if not self.feed:
            return RecordChanges(records=self.of(kind), complete=True)
        fresh = [self._record(i) for i, row in self.rows.items() if row["kind"] == kind and _after(row, since)]
        gone = [i for i, row in self.deleted.items() if row["kind"] == kind and _after(row, since)]
        return RecordChanges(records=fresh, deleted=gone, until=self.clock.now)

    def read_record(self, kind: Any, ident: str) -> SyncRecord | None:
        return self._record(ident) if ident in self.rows else None

    def find_record(self, kind: Any, record: SyncRecord) -> SyncRecord | None:
        for name, value in lookup_keys(record):
            for mine in self.of(kind):
                if (mine.value(name) if name != "name" else mine.value("last_name")) == value.split(" ")[-1]:
                    return mine
        return None

    def create_record(self, kind: Any, fields: Mapping[str, str]) -> SyncRecord:
        self._check()
        ident = self.add(kind, **self._spelled(fields))
        self.writes.append(("create", ident, dict(fields)))
        return self._record(ident)

    def update_record(self, kind: Any, ident: str, fields: Mapping[str, str]) -> SyncRecord:
        self._check()
        self.edit(ident, **self._spelled(fields))
        self.writes.append(("update", ident, dict(fields)))
        return self._record(ident)

    def _check(self) -> None:
        if self.refuse:
            raise PermanentError(self.refuse, vendor_message=self.refuse)

    def _spelled(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {name: value.upper() if name in self.shout else value for name, value in fields.items()}

    def _record(self, ident: str) -> SyncRecord:
        row = self.rows[ident]
        return SyncRecord(kind=row["kind"], ident=ident, fields=row["fields"], changed_at=row["at"])


def _after(row: dict[str, Any], since: datetime | None) -> bool:
    return since is None or row["at"] >= since


@pytest.fixture
def world() -> dict[str, Any]:
    clock = Clock()
    crm, books = Side("simplycrm", clock, feed=True), Side("billy", clock, feed=False, shout=("city",))
    connection = a_connection(source="simplycrm", targets=("billy",), records=RecordSyncSettings())
    ledger = MemoryLedger()
    deps = RecordSyncDeps(
        connections=MemoryConnectionStore([connection]), links=MemoryRecordLinks(), ledger=ledger,
        side_for=lambda c, system: crm if system == "simplycrm" else books,
        titles={"simplycrm": "Simply CRM", "billy": "Billy"}.get, clock=clock,  # type: ignore[arg-type]
    )  # fmt: skip
    return {"crm": crm, "books": books, "deps": deps, "connection": connection, "clock": clock, "ledger": ledger}


def _run(world: dict[str, Any], **settings: Any) -> SyncSummary:
    world["clock"].now += timedelta(minutes=10)
    connection = world["connection"]
    if settings:
        connection = connection.model_copy(update={"records": RecordSyncSettings(**settings)})
    return sync_records(connection, world["deps"], kinds=("contact",))


def test_a_new_contact_is_created_on_the_other_side_once_and_koppels_own_write_is_no_new_change(world: Any) -> None:
    # Given a contact entered in the CRM
    crm, books = world["crm"], world["books"]
    crm.add(first_name="Eva", last_name="de Vries", email="Eva@Example.NL", city="Utrecht")
    # When the sync runs, then Billy has it (Billy writes its city in capitals, its own spelling)
    assert _run(world).kinds["contact"].created == 1
    [made] = books.of("contact")
    assert made.fields == {"first_name": "Eva", "last_name": "de Vries", "email": "eva@example.nl", "city": "UTRECHT"}
    # When the sync runs again and again, then nothing is written anywhere: Koppel's own write does not echo
    for _ in range(3):
        summary = _run(world).kinds["contact"]
        assert (summary.created, summary.updated) == (0, 0)
    assert [kind for kind, _, _ in crm.writes + books.writes] == ["create"]


def test_a_record_on_both_sides_is_linked_by_its_email_not_duplicated(world: Any) -> None:
    crm, books = world["crm"], world["books"]
    # Given the same person in both systems, Billy knowing her phone, the CRM her city, and both a different name
    crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl", city="Utrecht")
    books.add(first_name="E.", last_name="de Vries", email="EVA@example.nl", phone="+31 30 123")
    # When the sync runs (the CRM has priority)
    summary = _run(world).kinds["contact"]
    # Then they are linked, each empty field filled from the other, and the name taken from the CRM, with both noted
    assert (summary.created, summary.linked, summary.updated) == (0, 1, 0)
    assert [r.fields["phone"] for r in crm.of("contact")] == ["+31 30 123"]
    [held] = books.of("contact")
    assert (held.value("city"), held.value("first_name"), held.value("phone")) == ("UTRECHT", "Eva", "+31 30 123")
    assert summary.conflicts == ["Eva de Vries: first_name: Simply CRM 'Eva', Billy 'E.'; Simply CRM won"]


def test_only_the_field_a_person_changed_goes_to_the_other_side(world: Any) -> None:
    crm, books = world["crm"], world["books"]
    ident = crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    _run(world)
    # When a bookkeeper changes her phone number in Billy
    [held] = books.of("contact")
    books.edit(held.ident, phone="+31 6 1234")
    # Then only the phone goes to the CRM
    assert _run(world).kinds["contact"].updated == 1
    assert crm.writes[-1] == ("update", ident, {"phone": "+31 6 1234"})


def test_both_sides_changed_the_priority_side_wins_the_field_and_other_fields_both_go_across(world: Any) -> None:
    crm, books = world["crm"], world["books"]
    ident = crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl", phone="1")
    _run(world)
    [held] = books.of("contact")
    # When both sides change the phone, the CRM also her city, and Billy her mobile number
    crm.edit(ident, phone="2-crm", city="Zeist")
    books.edit(held.ident, phone="2-billy", mobile="06")
    # Then Billy (priority here) wins the phone, with both values recorded; the city and mobile go across
    summary = _run(world, priority="target").kinds["contact"]
    assert summary.conflicts == ["Eva de Vries: phone: Simply CRM '2-crm', Billy '2-billy'; Billy won"]
    assert crm.read_record("contact", ident).only(["phone", "mobile"]) == {"phone": "2-billy", "mobile": "06"}  # type: ignore[union-attr]
    assert books.read_record("contact", held.ident).value("city") == "ZEIST"  # type: ignore[union-attr]


def test_one_way_carries_only_the_sources_changes(world: Any) -> None:
    crm, books = world["crm"], world["books"]
    ident = crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    _run(world, direction="to_target")
    [held] = books.of("contact")
    # When Billy's copy changes, then the CRM is not told (Simply CRM → Billy only)
    books.edit(held.ident, phone="123")
    _run(world, direction="to_target")
    assert "phone" not in crm.read_record("contact", ident).fields  # type: ignore[union-attr]
    # And a person added in Billy is not created in the CRM
    books.add(first_name="Jan", last_name="Smit", email="jan@example.nl")
    _run(world, direction="to_target")
    assert len(crm.of("contact")) == 1


def test_a_deletion_is_reported_and_not_carried_over(world: Any) -> None:
    crm, books = world["crm"], world["books"]
    ident = crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    _run(world)
    # When she is deleted in the CRM
    crm.delete(ident)
    summary = _run(world).kinds["contact"]
    # Then Billy keeps her, and the history says so
    assert len(books.of("contact")) == 1
    assert summary.deleted == ["Eva de Vries: deleted in Simply CRM; kept in Billy (deletions are reported)"]
    # And a later change in Billy is not carried to the deleted record, nor makes a new one
    [held] = books.of("contact")
    books.edit(held.ident, phone="5")
    _run(world)
    assert crm.of("contact") == [] and crm.writes == []


def test_a_refusal_parks_the_record_with_the_vendors_words_and_a_replay_carries_it(world: Any) -> None:
    crm, books, ledger = world["crm"], world["books"], world["ledger"]
    books.refuse = "Validation failed: countryId is required"
    crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    # When Billy refuses the new contact, then it is parked with Billy's words
    summary = _run(world).kinds["contact"]
    assert summary.failed == ["Eva de Vries: Validation failed: countryId is required"]
    [parked] = ledger.entries("demo-shop", "PARKED")
    assert parked.reason == "Validation failed: countryId is required"
    # When the cause is fixed and the record replayed, then the next run creates it once
    books.refuse = ""
    ledger.reopen(parked, world["clock"].now)
    assert _run(world).kinds["contact"].created == 1
    assert len(books.of("contact")) == 1
    assert [e.state for e in ledger.entries("demo-shop")] == ["POSTED"]


def test_a_second_run_while_one_holds_the_turn_does_nothing(world: Any) -> None:
    deps, connection = world["deps"], world["connection"]
    assert deps.links.take_turn(connection.connection_id, world["clock"].now + timedelta(hours=1), world["clock"].now)
    world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    assert _run(world).busy
    assert world["books"].of("contact") == []


class NothingNew:
    """The source's invoices: none changed."""

    def poll(self, since: datetime, until: datetime) -> Any:
        return iter(())


def _poll(world: dict[str, Any], records: RecordSyncSettings) -> Any:
    from koppel.ports import PollJob
    from koppel.services.poll import PollDeps, poll_connection

    deps = world["deps"]
    deps.connections.put(world["connection"].model_copy(update={"records": records}))
    world["clock"].now += timedelta(minutes=10)
    poll = PollDeps(
        connections=deps.connections, publisher=None, source_for=lambda c: NothingNew(),  # type: ignore[arg-type]
        records=deps, clock=world["clock"],
    )  # fmt: skip
    return poll_connection(PollJob(connection_id="demo-shop"), poll)


def test_the_scheduled_poll_keeps_records_alike_only_when_the_sync_is_automatic(world: Any) -> None:
    world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    # Given a manual sync, when the schedule polls, then nothing is carried
    assert _poll(world, RecordSyncSettings(automatic=False)).record_sync == ""
    assert world["books"].of("contact") == []
    # Given an automatic sync, when the schedule polls, then the contact is created and the poll says so
    result = _poll(world, RecordSyncSettings(kinds=("contact",)))
    assert result.record_sync == "contact: 1 created"
    assert len(world["books"].of("contact")) == 1


def test_refused_credentials_during_the_record_sync_turn_the_connection_red(world: Any) -> None:
    from koppel.errors import AuthError

    world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")

    def refused(kind: Any, since: Any) -> Any:
        raise AuthError("Billy refused the access token: check it in Billy's settings, then reconnect")

    world["books"].changed_records = refused
    result = _poll(world, RecordSyncSettings(kinds=("contact",)))
    assert result.record_sync.startswith("AuthError: Billy refused the access token")
    assert world["deps"].connections.get("demo-shop").status == "error"


def test_a_replayed_record_is_reopened_for_the_next_sync_not_sent_to_a_queue(world: Any) -> None:
    from koppel.services.replay import ReplayDeps, Selection, replay

    books, ledger = world["books"], world["ledger"]
    books.refuse = "Validation failed: countryId is required"
    world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    _run(world)
    books.refuse = ""
    # When the parked record is replayed
    published: list[Any] = []
    deps = ReplayDeps(ledger=ledger, publisher=type("P", (), {"publish": lambda *a, **k: published.append(a)})(),
                      dead_letters=None, clock=world["clock"])  # type: ignore[arg-type]  # fmt: skip
    result = replay("demo-shop", ("billy",), Selection(), deps, parked=True, dead=False)
    # Then it is reopened, nothing goes to a queue, and the next sync creates it
    assert len(result.parked) == 1 and published == []
    assert _run(world).kinds["contact"].created == 1


def test_the_sync_button_on_one_record_says_what_it_did_and_then_that_it_is_in_sync(world: Any) -> None:
    from koppel.services.record_sync import sync_one

    crm, books, deps, connection = world["crm"], world["books"], world["deps"], world["connection"]
    ident = crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    # When a person presses "Sync with Billy" on the new contact
    first = sync_one(connection, deps, "contact", "simplycrm", ident)
    # Then it is created in Billy and the button says so, with Billy's id
    [made] = books.of("contact")
    assert (first.state, first.words, first.other_id) == ("synced", "created in Billy", made.ident)
    # When it is pressed again, then it says the record is in sync
    assert sync_one(connection, deps, "contact", "simplycrm", ident).state == "in sync"
    # When Billy changed her phone meanwhile, then the button on the CRM's record fetches it
    books.edit(made.ident, phone="+31 6 1")
    world["clock"].now += timedelta(minutes=1)
    fetched = sync_one(connection, deps, "contact", "simplycrm", ident)
    assert (fetched.state, fetched.words) == ("synced", "updated in Simply CRM: phone")
    assert crm.read_record("contact", ident).value("phone") == "+31 6 1"  # type: ignore[union-attr]


def test_the_sync_button_on_a_refused_record_says_why(world: Any) -> None:
    from koppel.services.record_sync import sync_one

    world["books"].refuse = "Validation failed: countryId is required"
    ident = world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    said = sync_one(world["connection"], world["deps"], "contact", "simplycrm", ident)
    assert (said.state, said.words) == ("failed", "Validation failed: countryId is required")
    # And pressing again (nothing fixed) says it was refused before, and what to do
    again = sync_one(world["connection"], world["deps"], "contact", "simplycrm", ident)
    assert again.state == "waiting" and "refused before" in again.words and "replay" in again.words


def test_a_customer_whose_create_failed_is_created_at_the_next_run_not_minutes_later(world: Any) -> None:
    from koppel.errors import RetryableError

    crm, books = world["crm"], world["books"]
    crm.add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    original = books.create_record
    failures = [RetryableError("Billy answered 503")]

    def failing_once(kind: Any, fields: Any) -> Any:
        if failures:
            raise failures.pop()
        return original(kind, fields)

    books.create_record = failing_once
    # When Billy fails the create once, then the next run (a minute later) creates her, once
    assert _run(world).kinds["contact"].failed
    world["clock"].now -= timedelta(minutes=9)  # the next run comes a minute later, within the reservation's lease
    assert _run(world).kinds["contact"].created == 1
    assert len(books.of("contact")) == 1


def test_a_quiet_sync_counts_each_linked_pair_once_as_unchanged(world: Any) -> None:
    # Given two contacts kept alike on both sides
    world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    world["crm"].add(first_name="Jan", last_name="Smit", email="jan@example.nl")
    _run(world)
    # When nothing changed, then the summary says two unchanged (not four: one per pair, not per side)
    summary = _run(world).kinds["contact"]
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 2)
