from __future__ import annotations

from datetime import timedelta

import pytest

from koppel.adapters.memory import MemoryLedger
from koppel.errors import RetryableError
from koppel.model import Party, PartyEvent
from koppel.services.deliver import DeliverDeps, deliver
from tests.fakes import T0, FakeBooks, a_timeout_after_commit, a_validation_error, an_event


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(books: FakeBooks, clock: Clock) -> DeliverDeps:
    return DeliverDeps(target=books, target_name="fakebooks", ledger=MemoryLedger(), clock=clock)


def test_an_order_is_booked_and_the_ledger_remembers_it(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given a completed order of a new customer
    # When it is delivered
    result = deliver(an_event("1001"), deps)
    # Then the customer is created, the booking posted once, and the ledger row is POSTED with the target's id
    assert result.outcome == "posted"
    assert books.posted_numbers == ["1001"]
    assert len(books.relations) == 1
    assert result.entry.state == "POSTED"
    assert result.entry.external_id.startswith("vb-")


def test_a_resent_event_books_nothing(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given an order that was booked
    deliver(an_event("1001"), deps)
    # When the same event arrives again (re-sent webhook, overlapping poll)
    again = deliver(an_event("1001"), deps)
    # Then nothing is posted a second time
    assert again.outcome == "already_posted"
    assert books.posted_numbers == ["1001"]


def test_a_crash_after_the_post_is_resolved_by_looking_the_booking_up(
    deps: DeliverDeps, books: FakeBooks, clock: Clock
) -> None:
    # Given the vendor committed the booking but the answer never came back (timeout after commit)
    books.fail_next_post, books.commit_then_fail = a_timeout_after_commit(), True
    with pytest.raises(RetryableError):
        deliver(an_event("1001"), deps)
    books.commit_then_fail = False
    # When the message is retried
    clock.now += timedelta(seconds=30)
    retried = deliver(an_event("1001"), deps)
    # Then the booking is found by its invoice number and linked, not posted again
    assert retried.outcome == "found_in_target"
    assert books.posted_numbers == ["1001"]
    assert retried.entry.state == "POSTED"
    assert retried.entry.attempts == 2


def test_a_worker_that_died_mid_post_leaves_a_row_another_resolves_after_its_lease(
    deps: DeliverDeps, books: FakeBooks, clock: Clock
) -> None:
    # Given a PENDING row whose worker died after the vendor committed (the ledger was never updated)
    ledger = deps.ledger
    event = an_event("1001")
    first = deliver(event, deps)
    row = ledger.get(event.connection_id, "fakebooks", event.event_id)
    assert row is not None
    ledger.rows[(event.connection_id, "fakebooks", event.event_id)] = row.model_copy(  # type: ignore[attr-defined]
        update={"state": "PENDING", "lease_until": clock.now + timedelta(seconds=180)}
    )
    # When another copy arrives while the lease still runs
    # Then it is sent back to the queue for later
    with pytest.raises(RetryableError, match="another worker"):
        deliver(event, deps)
    # And when it arrives after the lease ran out, the booking is found and linked, not posted again
    clock.now += timedelta(seconds=181)
    resolved = deliver(event, deps)
    assert first.outcome == "posted"
    assert resolved.outcome == "found_in_target"
    assert books.posted_numbers == ["1001"]


def test_a_validation_error_parks_the_record_with_the_vendors_message(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given the target refuses the booking as invalid
    books.fail_next_post = a_validation_error()
    # When it is delivered
    result = deliver(an_event("1001"), deps)
    # Then it is parked (not retried) with the vendor's own words, and a re-send does not post it either
    assert result.outcome == "parked"
    assert "grootboek 8000 bestaat niet" in result.entry.reason
    assert deliver(an_event("1001"), deps).outcome == "parked_earlier"
    assert books.posted_numbers == []


def test_an_order_that_does_not_add_up_is_parked_naming_the_difference(deps: DeliverDeps, books: FakeBooks) -> None:
    from decimal import Decimal

    # Given an order whose total is 5 cents off its own lines
    # When it is delivered
    result = deliver(an_event("1002", total=Decimal("55.90")), deps)
    # Then nothing is posted and the reason names the difference
    assert result.outcome == "parked"
    assert "difference +0.05" in result.reason
    assert books.calls == []


def test_a_retryable_failure_lets_the_next_attempt_in_at_once(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given the vendor answers 503 before doing anything
    books.fail_next_post = RetryableError("fakebooks answered 503")
    with pytest.raises(RetryableError):
        deliver(an_event("1001"), deps)
    # When the message comes back (no lease wait: the failing worker released it)
    result = deliver(an_event("1001"), deps)
    # Then it is booked once
    assert result.outcome == "posted"
    assert books.posted_numbers == ["1001"]


def test_a_returning_customer_is_linked_not_created_again(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given a customer's first order was booked
    deliver(an_event("1001", email="J.Jansen@Example.nl"), deps)
    books.calls.clear()
    # When a second order comes with the e-mail in other letter case
    deliver(an_event("1002", email="j.jansen@example.nl"), deps)
    # Then the remembered link is used: no look-up, no new relation
    assert len(books.relations) == 1
    assert "find_party" not in books.calls
    assert "create_party" not in books.calls


def test_an_existing_relation_in_the_target_is_found_by_email(deps: DeliverDeps, books: FakeBooks) -> None:
    from koppel.model import Party

    # Given the customer already exists in the administration (made by hand)
    books.relations["rel-by-hand"] = Party(name="Jan Jansen", email="J.JANSEN@example.nl")
    # When their first order is delivered
    deliver(an_event("1001"), deps)
    # Then the existing relation is used
    assert len(books.relations) == 1


def test_two_orders_of_one_new_customer_at_once_make_one_relation(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given another worker is creating this new customer's relation right now
    key = "party:email:j.jansen@example.nl"
    assert deps.ledger.reserve_link("demo-shop", "fakebooks", key, T0 + timedelta(seconds=60), T0)
    # When this worker delivers the customer's second order
    # Then it waits for the other's link rather than creating a second relation
    with pytest.raises(RetryableError, match="being created by another worker"):
        deliver(an_event("1002"), deps)
    assert books.relations == {}


def test_a_creator_that_died_does_not_block_the_customer_forever(
    deps: DeliverDeps, books: FakeBooks, clock: Clock
) -> None:
    # Given a worker reserved the customer and died before it created the relation
    key = "party:email:j.jansen@example.nl"
    deps.ledger.reserve_link("demo-shop", "fakebooks", key, T0 + timedelta(seconds=60), T0)
    # When the reservation has run out
    clock.now = T0 + timedelta(seconds=61)
    result = deliver(an_event("1002"), deps)
    # Then the order is booked with one new relation
    assert result.outcome == "posted"
    assert len(books.relations) == 1


def a_customer_change(name: str, event_id: str) -> PartyEvent:
    return PartyEvent(
        event_id=event_id,
        tenant_id="tenant-1",
        connection_id="shop-1",
        source="fakeshop",
        occurred_at=T0,
        kind="party.updated",
        payload=Party(source_id="7", code="D1001", name=name, email="info@jansen.nl"),
    )


def test_a_new_customer_is_created_once_and_a_later_change_updates_it(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given a customer created in the source, then renamed there
    first = a_customer_change("Bakkerij Jansen", "fakeshop:partner:7:1")
    renamed = a_customer_change("Bakkerij Jansen & Zn", "fakeshop:partner:7:2")

    # When both changes are delivered, the first one twice (a re-polled window)
    outcomes = [deliver(first, deps).outcome, deliver(first, deps).outcome, deliver(renamed, deps).outcome]

    # Then one relation exists, created once and updated after, and it carries the new name
    assert outcomes == ["party_created", "party_updated", "party_updated"]
    assert books.calls.count("create_party") == 1
    assert [party.name for party in books.relations.values()] == ["Bakkerij Jansen & Zn"]


def test_an_invoice_after_the_customer_sync_books_on_the_same_relation(deps: DeliverDeps, books: FakeBooks) -> None:
    # Given a customer synced before its first invoice, with the same customer code
    deliver(a_customer_change("Bakkerij Jansen", "fakeshop:partner:7:1"), deps)

    # When an invoice of that customer is delivered
    result = deliver(an_event("1001", party=Party(code="D1001", name="Bakkerij Jansen", email="info@jansen.nl")), deps)

    # Then it is booked on the relation that exists, and no second relation is created
    assert result.outcome == "posted"
    assert len(books.relations) == 1
