"""Chaos on the local stack for the second koppeling: a small seeded run of
`make chaos KOPPELING=bizzcloud_eboekhouden`, played once; each test checks one promise.

Every posted invoice, credit invoice and paid till sale in Bizzcloud is booked in e-Boekhouden exactly once and to
the cent, or parked with a reason a person can act on, and what is paid in e-Boekhouden shows in Bizzcloud, while
e-Boekhouden fails, throttles, answers slowly and times out after storing a mutation, Bizzcloud fails and throttles
the polls and the write-backs, and deliver workers die between the POST and the ledger update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devkit.koppelingen.bizzcloud_eboekhouden.chaos import BizzcloudChaosConfig, run_chaos

if TYPE_CHECKING:
    from devkit.koppelingen.bizzcloud_eboekhouden.report import BizzcloudChaosReport

pytestmark = pytest.mark.e2e

DOCUMENTS = 120
SEED = 7


@pytest.fixture(scope="module")
def report() -> BizzcloudChaosReport:
    # Given 120 seeded Bizzcloud documents (invoices at 21/9/0 %, EU and export sales, credit invoices, till sales
    # in cash and by PIN, invoiced till sales, drafts posted or cancelled later), polled in three batches through
    # every fault the harness injects, with two e-Boekhouden deliver workers and a payment wave after the first batch
    return run_chaos(BizzcloudChaosConfig(size=DOCUMENTS, seed=SEED, workers=2, batch_size=40))


def test_faults_of_every_kind_were_injected(report: BizzcloudChaosReport) -> None:
    # Then the run really was chaotic: each kind of fault happened, and the pipeline had to retry
    assert {kind: count for kind, count in report.faults.items() if count == 0} == {}
    assert report.retries["worker crashes"] > 0
    assert report.retries["deliver batch item failures"] > 0
    assert report.payment_wave.get("paid in full", 0) > 0
    assert report.payment_wave.get("paid in part", 0) > 0


def test_no_document_is_booked_twice(report: BizzcloudChaosReport) -> None:
    # Then e-Boekhouden holds every invoice number at most once, by its own count and by ours
    assert report.duplicates == []
    assert report.counted_twice == []


def test_no_bookable_document_is_lost(report: BizzcloudChaosReport) -> None:
    # Then every posted (credit) invoice and paid till sale is booked or parked, drafts and cancelled ones are not,
    # and nothing is left half done
    assert report.expected > DOCUMENTS // 2
    assert report.lost == []
    assert report.unexpected == []
    parked = report.parked.items()
    parked_bookings = sum(len(numbers) for reason, numbers in parked if reason.startswith("eboekhouden:"))
    assert report.invoice_mutations + parked_bookings == report.expected
    assert report.pending == []
    assert report.drained
    assert report.dead_lettered == 0


def test_every_parked_document_says_why(report: BizzcloudChaosReport) -> None:
    # Then a person can act on each parked document (or write-back): it carries a reason
    for reason, numbers in report.parked.items():
        assert reason.split(": ", 1)[-1].strip() not in ("", "(no reason given)"), numbers


def test_every_booking_equals_bizzclouds_total_to_the_cent(report: BizzcloudChaosReport) -> None:
    # Then e-Boekhouden's computed total of each booking is Bizzcloud's amount_total (credit invoices negative)
    assert report.total_mismatches == []


def test_every_booking_carries_bizzclouds_vat_to_the_cent(report: BizzcloudChaosReport) -> None:
    # Then e-Boekhouden's computed VAT of each booking is Bizzcloud's amount_tax
    assert report.vat_mismatches == []


def test_till_sales_are_settled(report: BizzcloudChaosReport) -> None:
    # Then the payments booked with each till sale (cash net of change, PIN) add up to its total
    assert report.unsettled_till_sales == []


def test_payment_status_in_bizzcloud_agrees_with_eboekhouden(report: BizzcloudChaosReport) -> None:
    # Then after the final sync, an invoice paid in e-Boekhouden has nothing left open in Bizzcloud, and one paid in
    # part has exactly e-Boekhouden's open amount as its residual
    assert report.payment_disagreements == []
