"""Payment status back from the accounting package, and the chart re-read: services/target_sync.py with fakes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.model import ExternalRef, PaymentStatus, PaymentStatusEvent
from koppel.ports import NOT_FOLLOWED
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.target_sync import TargetSyncDeps, sync_targets
from tests.fakes import T0, FakeBooks, a_connection, an_event


class OpenItems:
    """A target whose books say how much of each invoice is open (absent: paid in full)."""

    name = "fakebooks"
    total = Decimal("121.00")

    def __init__(self) -> None:
        self.open: dict[str, Decimal] = {}
        self.chart = {"ledger_ids": {"8000": "g-8000"}}

    def after_connect(self) -> dict[str, Any]:
        """The chart of accounts, read again on every sync."""
        return self.chart

    def payment_status(self, numbers: list[str]) -> Any:
        for number in numbers:
            amount = self.open.get(number)
            if amount is None:
                yield number, None
                continue
            state = "open" if amount == self.total else "partially_paid"
            yield (
                number,
                PaymentStatus(document_number=number, status=state, amount_open=amount, currency="EUR", updated_at=T0),
            )


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, PaymentStatusEvent]] = []

    def publish(self, target: str, events: Any, *, replay: int = 0) -> None:
        self.sent += [(target, event) for event in events]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def world() -> dict[str, Any]:
    connection = a_connection()
    store, ledger, books, queue, clock = (
        MemoryConnectionStore([connection]),
        MemoryLedger(),
        OpenItems(),
        Queue(),
        Clock(),
    )
    # Given one invoice booked in the accounting package, open there
    deliver(
        an_event("1001", connection),
        DeliverDeps(target=FakeBooks(), target_name="fakebooks", ledger=ledger, clock=clock),
    )
    books.open["1001"] = Decimal("121.00")
    deps = TargetSyncDeps(
        connections=store, ledger=ledger, publisher=queue, target_for=lambda c, t: books,
        writes_back=lambda system: True, clock=clock,
        every=timedelta(minutes=5),
    )  # fmt: skip
    return {
        "connection": connection,
        "store": store,
        "ledger": ledger,
        "books": books,
        "queue": queue,
        "deps": deps,
        "clock": clock,
    }


def _run(world: dict[str, Any], minutes: int = 5) -> list[tuple[str, PaymentStatusEvent]]:
    world["clock"].now += timedelta(minutes=minutes)
    before = len(world["queue"].sent)
    sync_targets(world["store"].get(world["connection"].connection_id), world["deps"])
    return world["queue"].sent[before:]


def test_nothing_is_sent_while_an_invoice_stays_as_open_as_it_was_booked(world: dict[str, Any]) -> None:
    # Given the invoice is still wholly open in the accounting package, then the source is told nothing
    world["books"].open["1001"] = Decimal("121.00")
    assert _run(world) == []


def test_a_part_payment_then_the_rest_go_back_to_the_source_one_change_at_a_time(world: dict[str, Any]) -> None:
    # When the customer pays 100 of 121, then one status change goes to the source's write-back queue
    world["books"].open["1001"] = Decimal("21.00")
    [(system, first)] = _run(world)
    assert system == world["connection"].source
    assert (first.payload.status, first.payload.amount_open) == ("partially_paid", Decimal("21.00"))

    # When the rest is paid before the source took the first change, then nothing more is sent yet
    del world["books"].open["1001"]
    assert _run(world) == []

    # When the source took it (the write-back was delivered), then the payment in full follows, once
    write_back = DeliverDeps(
        target=Source(), target_name=world["connection"].source, ledger=world["ledger"], clock=world["clock"]
    )
    assert deliver(first, write_back).outcome == "posted"
    [(_, paid)] = _run(world)
    assert (paid.payload.status, paid.payload.amount_open) == ("paid", Decimal("0"))
    assert _run(world) == []


def test_it_runs_at_most_once_per_interval_and_re_reads_the_chart(world: dict[str, Any]) -> None:
    world["books"].open["1001"] = Decimal("21.00")
    assert len(_run(world)) == 1
    world["books"].open["1001"] = Decimal("11.00")
    assert _run(world, minutes=1) == []  # within the interval: not read at all
    # And the chart read from the accounting package is in the connection's settings
    settings = world["store"].get(world["connection"].connection_id).target_settings["fakebooks"]
    assert settings["ledger_ids"] == {"8000": "g-8000"}


class Source:
    """The source's write-back: records what it was told."""

    name = "fakeshop"

    def __init__(self) -> None:
        self.applied: list[PaymentStatus] = []

    def apply_payment_status(self, status: PaymentStatus) -> ExternalRef:
        self.applied.append(status)
        return ExternalRef(system=self.name, id=status.source_id or "")


def test_a_booked_invoice_whose_payment_nothing_follows_is_closed_and_not_read_again(world: dict[str, Any]) -> None:
    # Given a source that takes no payment status back
    world["deps"].writes_back = lambda system: False
    connection_id = world["connection"].connection_id

    # When target sync runs
    assert _run(world) == []

    # Then the booked row is closed ("not followed"): it leaves the open items, and may expire
    [row] = world["ledger"].entries(connection_id, "POSTED")
    assert (row.payment, row.is_closed) == (NOT_FOLLOWED, True)
    assert world["ledger"].open_items(connection_id, "fakebooks") == []


def test_an_invoice_paid_in_full_leaves_the_open_items(world: dict[str, Any]) -> None:
    # Given the invoice was paid in full in the accounting package
    del world["books"].open["1001"]
    connection_id = world["connection"].connection_id

    # When target sync carries that back
    [(_, paid)] = _run(world)

    # Then the row is closed: the next runs do not read it again
    assert paid.payload.status == "paid"
    assert world["ledger"].open_items(connection_id, "fakebooks") == []
    [row] = world["ledger"].entries(connection_id, "POSTED", target="fakebooks")
    assert row.is_closed


def test_a_payment_status_written_back_to_the_source_is_closed_at_once(world: dict[str, Any]) -> None:
    # Given the invoice was paid in full, and target sync queued that for the source
    del world["books"].open["1001"]
    [(_, paid)] = _run(world)
    source, ledger = Source(), world["ledger"]

    # When the source's write-back consumer delivers it
    result = deliver(paid, DeliverDeps(target=source, target_name="fakeshop", ledger=ledger, clock=world["clock"]))

    # Then the source was told once, and its ledger row is closed: nothing follows it, so it expires
    assert result.outcome == "posted" and [s.status for s in source.applied] == ["paid"]
    [row] = ledger.entries(world["connection"].connection_id, "POSTED", target="fakeshop")
    assert row.is_closed
    assert ledger.open_items(world["connection"].connection_id, "fakeshop") == []


def test_a_change_whose_written_back_row_expired_does_not_hold_the_next_one_back(world: dict[str, Any]) -> None:
    # Given a part payment carried back long ago, whose closed write-back row has since expired (it is gone)
    world["books"].open["1001"] = Decimal("21.00")
    [(_, first)] = _run(world)
    assert first.payload.status == "partially_paid"

    # When the rest is paid a year later, then the payment in full goes to the source
    del world["books"].open["1001"]
    [(_, paid)] = _run(world, minutes=365 * 24 * 60)
    assert paid.payload.status == "paid"


def test_the_due_date_the_target_states_is_kept_for_the_panel_without_telling_the_source(world: dict[str, Any]) -> None:
    # Given the accounting package states when the open invoice falls due (its customer's terms set it)
    from datetime import date

    books = world["books"]
    plain = books.payment_status

    def with_due_date(numbers: list[str]) -> Any:
        for number, status in plain(numbers):
            yield number, status.model_copy(update={"due_date": date(2026, 12, 17)}) if status else None

    books.payment_status = with_due_date
    # When target sync reads the invoice back, still wholly open
    assert _run(world) == []
    # Then its row keeps the due date (the panel shows it), and nothing was carried back to the source
    [row] = world["ledger"].entries(world["connection"].connection_id, "POSTED", target="fakebooks")
    assert row.due_date == "2026-12-17"
