"""End to end on the local stack: moto server as AWS, CCV Shop and SnelStart sandboxes on loopback, the real
handlers with real event shapes. The demo's day is played once; each test checks one thing a user would see."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from devkit.koppelingen.ccvshop_snelstart.demo import CONNECTION, Demo, DemoOutcome
from devkit.local import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e
D = Decimal


@pytest.fixture(scope="module")
def played() -> Iterator[tuple[Demo, DemoOutcome]]:
    # Given a shop connected to SnelStart on the local stack, a day of orders, their webhooks, a scheduled poll,
    # every webhook sent a second time and a backfill of the whole day
    with LocalStack() as stack, Demo(stack) as demo:
        yield demo, demo.run()


def completed(outcome: DemoOutcome) -> list[dict]:
    return [o for o in outcome.orders if o["status"] == 7 and o["paid"]]


def test_every_completed_and_paid_order_is_booked_or_parked_once(played) -> None:
    _, outcome = played
    booked = sorted(b["factuurnummer"] for b in outcome.bookings)
    parked = [e.document_number for e in outcome.parked]
    # Then each completed and paid order is in SnelStart or parked, none is missing and none is there twice
    assert sorted(booked + parked) == sorted(o["ordernumber_full"] for o in completed(outcome))
    assert outcome.duplicates == []
    assert len(booked) == len(set(booked))


def test_resent_webhooks_overlapping_polls_and_a_backfill_book_nothing_twice(played) -> None:
    demo, outcome = played
    # Then although every order arrived by two webhooks, again by two more, by the poll and by the backfill,
    # SnelStart holds one booking per order and the ledger one POSTED row per booking
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    posted = bootstrap.ledger(StoreSettings.load()).entries(CONNECTION, "POSTED")
    assert outcome.webhooks_sent >= 2 * len(completed(outcome))
    # The scheduled poll really read the shop again, and queued none of what the webhooks had booked
    assert demo.poll_reads >= 1
    assert demo.poll_enqueued == 0
    assert len(posted) == len(outcome.bookings)
    assert {row.external_id for row in posted} == {b["id"] for b in outcome.bookings}


def test_every_booking_reconciles_with_its_order_to_the_cent(played) -> None:
    _, outcome = played
    totals = {o["ordernumber_full"]: D(str(o["total_price"])) for o in outcome.orders}
    for booking in outcome.bookings:
        lines = sum((D(str(r["bedrag"])) for r in booking["boekingsregels"]), D(0))
        vat = sum((D(str(r["btwBedrag"])) for r in booking["btw"]), D(0))
        # Then factuurbedrag is the order's total_price, and lines plus VAT make it exactly
        assert D(str(booking["factuurbedrag"])) == totals[booking["factuurnummer"]]
        assert lines + vat == D(str(booking["factuurbedrag"]))


def test_mixed_vat_orders_book_high_and_low_vat_separately(played) -> None:
    _, outcome = played
    kinds = [{row["btwSoort"] for row in booking["btw"]} for booking in outcome.bookings]
    assert {"VerkopenHoog", "VerkopenLaag"} in kinds


def test_a_returning_customer_is_one_relation_whatever_the_letter_case(played) -> None:
    _, outcome = played
    emails = {o["customer"]["email"].lower() for o in completed(outcome)}
    # Then SnelStart has one Klant per customer e-mail (one customer wrote it in capitals once)
    assert len(outcome.relations) == len(emails)
    assert all(r["relatiesoort"] == ["Klant"] for r in outcome.relations)


def test_the_order_that_does_not_add_up_is_parked_with_the_difference(played) -> None:
    _, outcome = played
    (parked,) = outcome.parked
    assert "difference +0.05" in parked.reason
    assert parked.document_number not in {b["factuurnummer"] for b in outcome.bookings}


def test_an_unpaid_order_is_not_booked(played) -> None:
    _, outcome = played
    unpaid = [o["ordernumber_full"] for o in outcome.orders if not o["paid"]]
    assert unpaid
    assert not set(unpaid) & {b["factuurnummer"] for b in outcome.bookings}


def test_the_business_customer_is_created_with_vat_and_coc_numbers(played) -> None:
    _, outcome = played
    business = [r for r in outcome.relations if r.get("kvkNummer")]
    assert business
    assert all(r.get("btwNummer") for r in business)


def test_nothing_is_left_on_the_queues_or_in_a_dead_letter_queue(played) -> None:
    demo, _ = played
    assert set(demo.stack.queue_depths().values()) == {0}


def test_a_forged_webhook_is_refused_with_a_reason(played) -> None:
    demo, _ = played
    status, reason = demo.forged_answer
    assert status == 401
    assert "could not be verified" in reason
