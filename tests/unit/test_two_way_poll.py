"""A two-way koppeling's poll (services/poll.py with services/two_way.py): the target's documents go to the source,
and what Koppel itself wrote into either system is not sent back (no echo), with fakes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger, MemoryPublisher
from koppel.errors import RetryableError
from koppel.model import DocumentEvent, RecordSyncSettings
from koppel.ports import PolledRecord, PollJob
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.poll import PollDeps, poll_connection
from tests.fakes import T0, FakeBooks, FakeShop, a_connection, a_document

NOW = T0 + timedelta(hours=1)


def _written_in_the_books(number: str, total: str = "55.85", minutes: int = 30) -> PolledRecord:
    """An approved invoice the accounting package lists, as its source connector reads it."""
    from decimal import Decimal

    event = DocumentEvent(
        event_id=f"fakebooks:invoice:{number}:approved", tenant_id="bakkerij-jansen", connection_id="demo-shop",
        source="fakebooks", occurred_at=T0, kind="invoice.created",
        payload=a_document(number).model_copy(update={"total": Decimal(total)}),
    )  # fmt: skip
    return PolledRecord(record_id=number, changed_at=T0 + timedelta(minutes=minutes), events=(event,))


@pytest.fixture
def world() -> dict[str, Any]:
    connection = a_connection(targets=("fakebooks",), records=RecordSyncSettings())
    store, ledger, publisher = MemoryConnectionStore([connection]), MemoryLedger(), MemoryPublisher()
    shop, books_source = FakeShop(), FakeShop()
    deps = PollDeps(
        connections=store, publisher=publisher, ledger=ledger, clock=lambda: NOW, can_poll=lambda system: True,
        source_for=lambda c: shop if c.source == "fakeshop" else books_source,
    )  # fmt: skip
    return {"connection": connection, "store": store, "ledger": ledger, "publisher": publisher, "shop": shop,
            "books": books_source, "deps": deps}  # fmt: skip


def _poll(world: dict[str, Any]) -> dict[str, list[str]]:
    poll_connection(PollJob(connection_id="demo-shop"), world["deps"])
    return {queue: [e.event_id for e in events] for queue, events in world["publisher"].sent.items()}


def test_the_targets_own_documents_go_to_the_source_when_the_koppeling_runs_both_ways(world: dict[str, Any]) -> None:
    # Given an invoice made in the accounting package
    world["books"].records = [_written_in_the_books("B-7")]
    # When the two-way connection is polled, then it goes to the source's queue (the CRM's)
    assert _poll(world) == {"fakeshop": ["fakebooks:invoice:B-7:approved"]}


def test_one_way_does_not_read_the_target(world: dict[str, Any]) -> None:
    world["books"].records = [_written_in_the_books("B-7")]
    settings = RecordSyncSettings(direction="to_target")
    world["store"].put(world["connection"].model_copy(update={"records": settings}))
    assert _poll(world) == {}
    assert world["books"].polled_windows == []


def test_a_document_koppel_wrote_into_the_target_is_not_sent_back_even_when_its_answer_was_lost(
    world: dict[str, Any],
) -> None:
    # Given a CRM invoice Koppel books into the accounting package, which commits it but never answers
    books = FakeBooks(fail_next_post=RetryableError("no answer"), commit_then_fail=True)
    event = DocumentEvent(
        event_id="fakeshop:invoice:INV1:final", tenant_id="bakkerij-jansen", connection_id="demo-shop",
        source="fakeshop", occurred_at=T0, kind="invoice.created", payload=a_document("INV1"),
    )  # fmt: skip
    deps = DeliverDeps(target=books, target_name="fakebooks", ledger=world["ledger"], remember_written=True)
    with pytest.raises(RetryableError):
        deliver(event, deps)
    # When the accounting package is polled and lists it (approved), then it is not sent back to the CRM
    world["books"].records = [_written_in_the_books("INV1")]
    assert _poll(world) == {}
    # And a document of the accounting package that only shares the number (another total) is no echo
    world["books"].records = [_written_in_the_books("INV1", total="99.00", minutes=55)]
    assert _poll(world) == {"fakeshop": ["fakebooks:invoice:INV1:approved"]}
