from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryJobQueue, MemoryPublisher
from koppel.errors import InputError, RetryableError
from koppel.ports import PolledRecord, PollJob
from koppel.services.poll import SOURCE_STREAM, PollDeps, backfill_job, poll_connection, schedule_polls
from tests.fakes import T0, FakeShop, a_connection, an_event

NOW = T0 + timedelta(hours=1)


def record(number: str, minutes: int, *, settled: bool = True, bookable: bool = True) -> PolledRecord:
    return PolledRecord(
        record_id=number,
        changed_at=T0 + timedelta(minutes=minutes),
        events=(an_event(number),) if bookable else (),
        is_settled=settled,
        skipped_reason="" if bookable else "not paid yet",
    )


@pytest.fixture
def shop() -> FakeShop:
    return FakeShop()


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore([a_connection()])


def deps_for(store: MemoryConnectionStore, shop: FakeShop, publisher: object | None = None) -> PollDeps:
    return PollDeps(
        connections=store,
        publisher=publisher or MemoryPublisher(),  # type: ignore[arg-type]
        source_for=lambda _: shop,
        overlap=timedelta(minutes=10),
        clock=lambda: NOW,
    )


def test_first_poll_starts_at_the_connection_not_at_the_beginning_of_history(store, shop) -> None:
    # Given a connection made at T0 and a shop with orders from before and after
    shop.records = [record("old", -60 * 24), record("1001", 5)]
    publisher = MemoryPublisher()
    # When it is polled for the first time
    result = poll_connection(_regular(), deps_for(store, shop, publisher))
    # Then only orders since the connection (minus the overlap) are read: history needs an explicit backfill
    assert shop.polled_windows[0][0] == T0 - timedelta(minutes=10)
    assert [e.payload.number for e in publisher.sent["fakebooks"]] == ["1001"]
    assert result.watermark == NOW


def test_watermark_stops_at_the_first_order_that_may_still_complete(store, shop) -> None:
    # Given an order still waiting for payment between two booked ones
    shop.records = [record("1001", 5), record("1002", 10, settled=False, bookable=False), record("1003", 20)]
    # When the shop is polled
    result = poll_connection(_regular(), deps_for(store, shop))
    # Then the watermark stops at the unpaid order, so the next poll reads it again
    assert result.watermark == T0 + timedelta(minutes=10)
    assert result.skipped == ("1002: not paid yet",)


def test_a_failed_publish_leaves_the_watermark_so_the_same_window_is_read_again(store, shop) -> None:
    # Given the queue refuses messages
    class RefusingPublisher:
        def publish(self, target, events):  # type: ignore[no-untyped-def]
            raise RetryableError("queue refused 1 message")

    shop.records = [record("1001", 5)]
    # When the poll runs, it fails
    with pytest.raises(RetryableError):
        poll_connection(_regular(), deps_for(store, shop, RefusingPublisher()))
    # Then the watermark did not move
    assert store.get_watermark("demo-shop", SOURCE_STREAM) is None


def test_backfill_reads_its_dated_window_and_leaves_the_watermark(store, shop) -> None:
    # Given a shop with orders from last month
    shop.records = [record("900", -60 * 24 * 20)]
    publisher = MemoryPublisher()
    since = T0 - timedelta(days=30)
    # When history is backfilled explicitly
    result = poll_connection(backfill_job("demo-shop", since, T0), deps_for(store, shop, publisher))
    # Then exactly that window is read, and the live watermark is untouched
    assert shop.polled_windows == [(since, T0)]
    assert result.enqueued == 1
    assert store.get_watermark("demo-shop", SOURCE_STREAM) is None


def test_backfill_window_must_make_sense() -> None:
    with pytest.raises(InputError, match="window is empty"):
        backfill_job("demo-shop", NOW, T0)


def test_scheduler_enqueues_each_due_connection_once(store) -> None:
    # Given an active and a paused connection
    store.put(a_connection(connection_id="paused-shop", status="paused"))
    queue = MemoryJobQueue()
    # When the schedule fires twice within the poll interval
    schedule_polls(store, queue, NOW)
    schedule_polls(store, queue, NOW + timedelta(minutes=1))
    # Then only the active one got a job, once
    assert [j.connection_id for j in queue.jobs] == ["demo-shop"]
    # And when the interval has passed it gets the next one
    schedule_polls(store, queue, NOW + timedelta(minutes=5))
    assert len(queue.jobs) == 2


def test_a_paused_connection_is_not_polled_and_is_due_at_once_when_resumed(store) -> None:
    # Given the active connection was polled, then paused
    queue = MemoryJobQueue()
    schedule_polls(store, queue, NOW)
    active = store.get("demo-shop")
    store.put(active.model_copy(update={"status": "paused"}))

    # When the schedule fires after its interval, then it is not polled
    schedule_polls(store, queue, NOW + timedelta(minutes=10))
    assert len(queue.jobs) == 1

    # When it is resumed, then the next tick polls it
    store.put(active)
    schedule_polls(store, queue, NOW + timedelta(minutes=11))
    assert [j.connection_id for j in queue.jobs] == ["demo-shop", "demo-shop"]


def _regular():  # type: ignore[no-untyped-def]
    from koppel.ports import PollJob

    return PollJob(connection_id="demo-shop")


def test_a_poll_over_booked_orders_reads_nothing_more_from_the_source(store, shop) -> None:
    from koppel.adapters.memory import MemoryLedger
    from koppel.ports import LedgerEntry, WebhookNotice

    # Given two bookable orders listed by the poll, the first already booked, the second not
    ledger = MemoryLedger()
    ledger.claim(
        LedgerEntry(connection_id="demo-shop", target="fakebooks", event_id="fakeshop:order:1001:completed",
                    state="POSTED", request_id="r", lease_until=T0, updated_at=T0),
        T0,
    )  # fmt: skip
    shop.webhook_events = {"1001": [an_event("1001")], "1002": [an_event("1002")]}
    hydrated: list[str] = []
    real_hydrate = shop.hydrate

    def counting_hydrate(notice):  # type: ignore[no-untyped-def]
        hydrated.append(notice.record_id)
        return real_hydrate(notice)

    shop.hydrate = counting_hydrate  # type: ignore[method-assign]
    shop.records = [
        PolledRecord(record_id=n, changed_at=T0 + timedelta(minutes=i), event_ids=(f"fakeshop:order:{n}:completed",),
                     notice=WebhookNotice(entity="order", record_id=n))
        for i, n in enumerate(("1001", "1002"), start=1)
    ]  # fmt: skip
    publisher = MemoryPublisher()
    deps = deps_for(store, shop, publisher)
    deps.ledger = ledger
    # When the shop is polled
    result = poll_connection(_regular(), deps)
    # Then only the unbooked order was read again and enqueued
    assert hydrated == ["1002"]
    assert [e.payload.number for e in publisher.sent["fakebooks"]] == ["1002"]
    assert result.enqueued == 1


def test_a_record_that_cannot_be_read_is_parked_visibly_and_booked_once_corrected() -> None:
    # Given a polled source whose invoice cannot be read into the model (two taxes on one line)
    from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
    from koppel.ports import PolledRecord
    from koppel.services.poll import PollDeps, PollJob, poll_connection
    from tests.fakes import T0, a_connection, an_event

    connection = a_connection()
    store, ledger, published = MemoryConnectionStore([connection]), MemoryLedger(), []
    event = an_event("INV-7", connection)
    broken = PolledRecord(
        record_id="move:7", changed_at=T0, problem="line 'Fiets' carries several taxes", event_ids=(event.event_id,)
    )

    class Source:
        record = broken

        def poll(self, since, until):  # type: ignore[no-untyped-def]
            yield self.record

    class Publisher:
        def publish(self, target, events, *, replay=0):  # type: ignore[no-untyped-def]
            published.extend(events)

    source = Source()
    deps = PollDeps(
        connections=store, publisher=Publisher(), source_for=lambda c: source, ledger=ledger, clock=lambda: T0
    )

    # When it is polled, then nothing is published and a parked row says what to correct, where
    poll_connection(PollJob(connection_id=connection.connection_id), deps)
    [row] = ledger.entries(connection.connection_id, "PARKED")
    assert published == []
    assert "several taxes" in row.reason and "once it is corrected in" in row.reason

    # When it was corrected in the source and is polled again, then its event is published and the row reopened
    source.record = PolledRecord(record_id="move:7", changed_at=T0, events=(event,))
    poll_connection(PollJob(connection_id=connection.connection_id), deps)
    assert published == [event]
    assert ledger.get(connection.connection_id, row.target, event.event_id).state == "PENDING"  # type: ignore[union-attr]


class SlowStore(MemoryConnectionStore):
    """A store whose conditional write takes a round trip: two writes must be in flight at once to pass the
    barrier, so a scheduler that writes one after another fails here rather than times out on AWS."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.barrier = threading.Barrier(2, timeout=5)

    def reschedule(self, due, next_at) -> bool:
        self.barrier.wait()
        return super().reschedule(due, next_at)


def test_the_scheduler_moves_due_connections_in_parallel_and_each_once() -> None:
    # Given four connections due at once, behind a store that only answers two writes in flight together
    store = SlowStore([a_connection(connection_id=f"shop-{i}") for i in range(4)])
    queue = MemoryJobQueue()

    # When the scheduler runs, then every due connection gets one job (the writes overlapped, or the barrier broke)
    jobs = schedule_polls(store, queue, T0 + timedelta(minutes=1))
    assert sorted(j.connection_id for j in jobs) == [f"shop-{i}" for i in range(4)]
    # And a second run in the same minute finds none due
    assert schedule_polls(store, queue, T0 + timedelta(minutes=1)) == []


def test_a_listed_record_that_cannot_be_read_is_parked_and_the_poll_goes_on(store, shop) -> None:
    # Given the shop lists two orders lazily (read only when booking needs them), and answers 404 for the first
    from koppel.adapters.memory import MemoryLedger
    from koppel.ports import WebhookNotice

    connection = store.get("demo-shop")
    gone, fine = an_event("1001", connection), an_event("1002", connection)
    shop.records = [
        PolledRecord(
            record_id=r, changed_at=T0, event_ids=(e.event_id,), notice=WebhookNotice(entity="order", record_id=r)
        )
        for r, e in (("1001", gone), ("1002", fine))
    ]
    shop.webhook_events = {"1001": [gone], "1002": [fine]}
    shop.missing = {"1001"}
    ledger, publisher = MemoryLedger(), MemoryPublisher()
    deps = PollDeps(connections=store, publisher=publisher, source_for=lambda c: shop, ledger=ledger, clock=lambda: NOW)

    # When the poll runs, then the readable order is queued and the other parked with the shop's answer
    result = poll_connection(PollJob(connection_id="demo-shop"), deps)
    assert [e.event_id for e in publisher.sent["fakebooks"]] == [fine.event_id]
    [parked] = ledger.entries("demo-shop", "PARKED")
    assert parked.event_id == gone.event_id and "404" in parked.reason
    assert result.watermark is not None

    # When the order is corrected in the shop (which lists it again as changed), then it is queued, its row reopened
    shop.missing = set()
    shop.records = [shop.records[0].model_copy(update={"changed_at": NOW - timedelta(minutes=1)})]
    poll_connection(PollJob(connection_id="demo-shop"), deps)
    assert gone.event_id in [e.event_id for e in publisher.sent["fakebooks"]]
    assert ledger.get("demo-shop", parked.target, gone.event_id).state == "PENDING"  # type: ignore[union-attr]


def test_an_unreadable_record_its_source_lists_only_by_a_fixed_time_holds_the_watermark(store, shop) -> None:
    # Given a record that cannot be read yet, which its source will list again only in this window (Billy lists an
    # invoice by its approval time, which a corrected contact does not move)
    unreadable = record("1001", 20).model_copy(
        update={"problem": "the contact's country is unknown", "is_settled": False}
    )
    shop.records = [unreadable, record("1002", 40)]
    # When the source is polled, then the watermark stays at it: the next poll reads it again, corrected or not
    poll_connection(PollJob(connection_id="demo-shop"), deps_for(store, shop))
    assert store.get_watermark("demo-shop", SOURCE_STREAM) == T0 + timedelta(minutes=20)


def test_a_document_that_is_not_bookable_is_in_the_history_with_why_once(store, shop) -> None:
    # Given the source holds a bank statement next to an order
    from koppel.adapters.memory import MemoryLedger

    connection = store.get("demo-shop")
    order = an_event("1002", connection)
    statement = PolledRecord(
        record_id="stmt-7", changed_at=T0, event_ids=("shop:file:stmt-7",),
        skipped_reason="a bank statement, which is not bookable; it stays in the source",
    )  # fmt: skip
    shop.records = [statement, PolledRecord(record_id="1002", changed_at=T0, events=(order,))]
    ledger, publisher = MemoryLedger(), MemoryPublisher()
    deps = PollDeps(connections=store, publisher=publisher, source_for=lambda c: shop, ledger=ledger, clock=lambda: NOW)

    # When the poll runs twice over the same window
    result = poll_connection(PollJob(connection_id="demo-shop"), deps)
    poll_connection(PollJob(connection_id="demo-shop", since=T0 - timedelta(minutes=1), until=NOW), deps)

    # Then the order is queued, and the statement is in the history once, not bookable, saying why
    assert [e.event_id for e in publisher.sent["fakebooks"]] == [order.event_id]
    [held] = ledger.entries("demo-shop", "SKIPPED")
    assert held.event_id == "shop:file:stmt-7" and "bank statement" in held.reason
    assert any("stmt-7" in line for line in result.skipped)
