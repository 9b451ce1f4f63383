"""Chaos on the local stack: a small seeded run of `make chaos KOPPELING=ccvshop_snelstart`, played once; each test
checks one promise.

Every completed and paid order is booked exactly once, or parked with a reason a person can act on, and never
silently lost, while SnelStart fails, throttles, answers slowly and times out after committing, CCV Shop sends
webhooks twice, out of order, sometimes unreadable or not at all, and deliver workers die between the POST and the
ledger update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devkit.koppelingen.ccvshop_snelstart.chaos import SnelstartChaosConfig, run_chaos

if TYPE_CHECKING:
    from devkit.koppelingen.ccvshop_snelstart.report import SnelstartChaosReport as ChaosReport

pytestmark = pytest.mark.e2e

ORDERS = 250
SEED = 7


@pytest.fixture(scope="module")
def report() -> ChaosReport:
    # Given 250 seeded orders through every fault the chaos harness injects, with two deliver workers
    # and one scheduled poll halfway besides the last one
    return run_chaos(SnelstartChaosConfig(size=ORDERS, seed=SEED, workers=2, polls=1))


def test_faults_of_every_kind_were_injected(report: ChaosReport) -> None:
    # Then the run really was chaotic: each kind of fault happened, and the pipeline had to retry
    assert report.faults, "no faults were counted"
    assert {kind: count for kind, count in report.faults.items() if count == 0} == {}
    assert report.retries["worker crashes"] > 0
    assert report.retries["batch item failures"] > 0
    assert report.retries["webhooks re-sent"] > 0


def test_no_order_is_booked_twice(report: ChaosReport) -> None:
    # Then SnelStart holds every invoice number at most once
    assert report.duplicates == []


def test_no_completed_and_paid_order_is_lost(report: ChaosReport) -> None:
    # Then every order to be booked is booked or parked, and nothing else was booked
    assert report.expected > ORDERS // 2
    assert report.lost == []
    assert report.unexpected == []
    assert report.booked + report.parked_count == report.expected


def test_orders_whose_webhooks_never_arrived_are_booked_by_the_scheduled_poll(report: ChaosReport) -> None:
    # Then the poll, the safety net behind webhooks, brought in orders no webhook announced
    assert report.faults["orders without webhooks"] > 0
    assert report.by_poll_only > 0


def test_nothing_is_left_half_done(report: ChaosReport) -> None:
    # Then the queues ran empty, no message went to a dead-letter queue and no ledger row is stuck PENDING
    assert report.drained
    assert report.dead_lettered == 0
    assert report.pending == []


def test_every_parked_order_says_why(report: ChaosReport) -> None:
    # Then a person can act on each parked order: it carries a reason
    for reason, numbers in report.parked.items():
        assert reason.strip() and reason != "(no reason given)", numbers


def test_a_customer_is_created_once_even_when_snelstart_timed_out(report: ChaosReport) -> None:
    # Then a relatie whose creation timed out after SnelStart stored it is found again, not created twice
    assert report.duplicate_customers == []
