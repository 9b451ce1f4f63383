"""Payment status from a target's change feed (QuickBooks' change data capture): services/target_sync.py with fakes.

The feed answers only what changed since a moment; an invoice it leaves out is unchanged, never paid."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.model import PaymentStatus
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.target_sync import TargetSyncDeps, sync_targets
from tests.fakes import T0, FakeBooks, a_connection, an_event
from tests.unit.test_target_sync import Clock, Queue, Source


class ChangingBooks:
    """Books with a change feed: each change is stamped with the moment it happened."""

    name = "fakebooks"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.invoices: dict[str, tuple[str, PaymentStatus | None, datetime]] = {}  # id -> (number, status, changed)
        self.full_reads = 0
        self.feed_reads: list[datetime] = []
        self.feed_answers = True

    def change(self, ident: str, status: str, amount_open: str, due: date | None = None) -> None:
        number = self.invoices[ident][0]
        changed = PaymentStatus(
            document_number=number, status=status, amount_open=Decimal(amount_open), currency="EUR",
            updated_at=self.clock.now, due_date=due,
        )  # fmt: skip
        self.invoices[ident] = (number, changed, self.clock.now)

    def payment_status(self, numbers: list[str]) -> Any:
        self.full_reads += 1
        by_number = {number: status for number, status, _ in self.invoices.values()}
        for number in numbers:
            yield number, by_number.get(number)

    def payment_changes(self, since: datetime) -> dict[str, PaymentStatus] | None:
        self.feed_reads.append(since)
        if not self.feed_answers:
            return None
        return {ident: s for ident, (_, s, at) in self.invoices.items() if at >= since and s is not None}


@pytest.fixture
def world() -> dict[str, Any]:
    connection, clock = a_connection(), Clock()
    store, ledger, books, queue = MemoryConnectionStore([connection]), MemoryLedger(), ChangingBooks(clock), Queue()
    # Given one invoice booked, wholly open and due today (2 November)
    invoice = an_event("1001", connection)  # 55.85 in all
    booked = deliver(
        invoice,
        DeliverDeps(target=FakeBooks(), target_name="fakebooks", ledger=ledger, clock=clock),
    )
    ident = booked.entry.external_id if booked.entry else ""
    books.invoices[ident] = ("1001", None, T0)
    clock.now = T0 - timedelta(hours=1)
    books.change(ident, "open", str(invoice.payload.total), due=date(2026, 11, 2))
    clock.now = T0
    deps = TargetSyncDeps(
        connections=store, ledger=ledger, publisher=queue, target_for=lambda c, t: books,
        writes_back=lambda system: True, clock=clock, every=timedelta(minutes=5),
    )  # fmt: skip
    return {"connection": connection, "store": store, "ledger": ledger, "books": books, "queue": queue,
            "deps": deps, "clock": clock, "id": ident}  # fmt: skip


def _run(world: dict[str, Any], minutes: int = 5) -> list[tuple[str, str]]:
    world["clock"].now += timedelta(minutes=minutes)
    before = len(world["queue"].sent)
    sync_targets(world["store"].get(world["connection"].connection_id), world["deps"])
    return [(e.payload.status, str(e.payload.amount_open)) for _, e in world["queue"].sent[before:]]


def test_after_one_full_read_only_what_changed_is_read(world: dict[str, Any]) -> None:
    books = world["books"]
    # When target sync runs for the first time, then every open invoice is read once
    assert _run(world) == []
    assert (books.full_reads, books.feed_reads) == (1, [])

    # When the customer pays part of it, then the next run reads only the changes, since a moment before the last
    books.change(world["id"], "partially_paid", "21.00")
    assert _run(world) == [("partially_paid", "21.00")]
    assert books.full_reads == 1
    assert books.feed_reads == [T0 + timedelta(minutes=5) - timedelta(minutes=5)]


def test_an_invoice_the_feed_leaves_out_is_unchanged_not_paid(world: dict[str, Any]) -> None:
    # Given the first full read is done
    _run(world)
    # When the feed has nothing to say about the invoice for an hour, then nothing at all goes to the source
    for _ in range(12):
        assert _run(world) == []
    assert world["books"].full_reads == 1


def test_an_unchanged_invoice_becomes_overdue_by_the_calendar_once(world: dict[str, Any]) -> None:
    # Given the first full read noted the due date (today)
    _run(world)
    # When midnight passes without any change in the books, then the source hears it is overdue, once
    assert _run(world, minutes=15 * 60) == [("overdue", "55.85")]
    assert world["books"].full_reads == 1
    assert _run(world) == []


def test_a_deleted_invoice_is_reported_deleted(world: dict[str, Any]) -> None:
    _run(world)
    # When the invoice is deleted in the books (the feed names its id only)
    world["books"].change(world["id"], "deleted", "0")
    # Then the source hears it was deleted
    assert _run(world) == [("deleted", "0")]


def test_a_feed_that_cannot_say_falls_back_to_reading_every_open_invoice(world: dict[str, Any]) -> None:
    _run(world)
    books = world["books"]
    # Given the feed cannot answer (too far back, or more changed than one answer holds)
    books.feed_answers = False
    books.change(world["id"], "paid", "0")
    # When target sync runs, then every open invoice is read, and the payment goes to the source
    assert _run(world) == [("paid", "0")]
    assert books.full_reads == 2


def test_every_open_invoice_is_still_read_once_a_day(world: dict[str, Any]) -> None:
    _run(world)
    # When a day has passed, then the next run reads every open invoice (the feed's gaps close daily)
    _run(world, minutes=24 * 60)
    assert world["books"].full_reads == 2


def test_a_change_held_back_behind_one_in_flight_is_read_again_later(world: dict[str, Any]) -> None:
    books, ledger, clock = world["books"], world["ledger"], world["clock"]
    _run(world)
    # Given a part payment went to the source and is not yet written back
    books.change(world["id"], "partially_paid", "21.00")
    assert _run(world) == [("partially_paid", "21.00")]
    first = world["queue"].sent[-1][1]
    # When the rest is paid meanwhile, then nothing more is sent yet
    books.change(world["id"], "paid", "0")
    assert _run(world) == []
    # When the source took the first change an hour later, then the payment in full still follows: the held-back
    # change was read again, not left behind the feed's watermark
    deliver(first, DeliverDeps(target=Source(), target_name="fakeshop", ledger=ledger, clock=clock))
    assert _run(world, minutes=60) == [("paid", "0")]
