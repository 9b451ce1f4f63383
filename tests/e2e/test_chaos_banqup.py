"""Chaos on the local stack for the fifth koppeling: a small seeded run of `make chaos KOPPELING=banqup_<target>` for
each of its four targets, played once per target; each test checks one promise.

An accounting firm's clients' Banqup documents (UBL and scanned invoices, credit notes, receipts, bank statements,
sales invoices, unreadable scans, foreign VAT) are booked into each client's own books exactly once and to the cent
(total, net and VAT per rate), the original attached once where the target takes files, or parked or skipped with
why; and what is paid in the target shows in Banqup, marked once. Meanwhile the target fails, throttles, answers
slowly and times out after storing; Banqup fails and throttles, its tokens expire mid-poll and its download
addresses lapse; the poll publishes documents twice, and deliver workers die between the commit and the ledger.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from devkit.koppelingen.banqup.chaos_report import BanqupChaosReport

pytestmark = pytest.mark.e2e

SEED = 7
DOCUMENTS = {"snelstart": 30, "eboekhouden": 30, "quickbooks": 12, "billy": 30}
"""Per target: QuickBooks books a purchase in about a second (its client keeps Intuit's 10 requests a second per
company), so its run is smaller to stay near the others' time."""


@pytest.fixture(scope="module", params=sorted(DOCUMENTS))
def report(request: pytest.FixtureRequest) -> BanqupChaosReport:
    # Given seeded documents in three client spaces, each connected to its own books in the target, placed in one
    # batch through every fault the harness injects, two deliver workers, and a payment wave once they are booked
    chaos = importlib.import_module(f"devkit.koppelingen.banqup_{request.param}.chaos")
    size = DOCUMENTS[request.param]
    report: BanqupChaosReport = chaos.run_chaos(chaos.CONFIG(size=size, seed=SEED, workers=2, batch_size=size))
    return report


def test_faults_of_every_kind_were_injected(report: BanqupChaosReport) -> None:
    # Then the run really was chaotic: the target's and Banqup's faults happened, and the pipeline retried
    banqup = ("Banqup 503", "Banqup 429", "tokens expired", "download addresses expired", "published twice")
    assert sum(count for kind, count in report.faults.items() if kind.startswith(report.target)) > 0
    assert sum(report.faults[kind] for kind in banqup) > 0
    assert sum(report.retries.values()) > 0


def test_every_bookable_document_is_booked_exactly_once(report: BanqupChaosReport) -> None:
    # Then each client's books hold every invoice, credit note, readable scan, receipt and sales invoice once
    assert report.expected > report.sent // 2
    assert report.duplicates == []
    assert report.lost == []
    assert report.unexpected == []
    assert report.booked == report.expected
    assert report.pending == []
    assert report.drained
    assert report.dead_lettered == 0


def test_every_booking_reconciles_to_the_cent(report: BanqupChaosReport) -> None:
    # Then each booking's total, and its net and VAT per rate, are the document's as Banqup holds it
    assert report.off_by_a_cent == []


def test_unreadable_and_refused_documents_are_parked_with_the_reason(report: BanqupChaosReport) -> None:
    # Then a scan read without a required field, and a supplier charging German VAT, are parked saying why
    assert report.not_parked == []
    for reason, numbers in report.parked.items():
        assert reason.strip() and reason != "(no reason given)", numbers


def test_not_bookable_documents_are_in_the_history_as_skipped(report: BanqupChaosReport) -> None:
    # Then every bank statement and other document is in Koppel's history as SKIPPED, saying why
    assert report.outcomes.get("skipped", 0) > 0
    assert report.not_skipped == []


def test_originals_are_attached_once_where_the_target_takes_files(report: BanqupChaosReport) -> None:
    # Then each purchase booked in SnelStart, QuickBooks or Billy carries its original once
    assert report.attachments_wrong == []


def test_payments_in_the_target_are_marked_in_banqup_once(report: BanqupChaosReport) -> None:
    # Then every purchase paid in the target, in full or in part, shows that amount as paid in Banqup, marked once
    assert report.payment_wave.get("paid in full", 0) + report.payment_wave.get("paid in part", 0) > 0
    assert report.payments_wrong == []
    assert report.payments["marked once"] == report.payments["paid in the target"]
