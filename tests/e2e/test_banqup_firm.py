"""End to end on the local stack: the demo's fifth part played once (an accounting firm's two clients in Banqup,
one booking into SnelStart and QuickBooks Online, one into Billy); each test checks one thing the firm or its
clients would see in their packages or in Banqup."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from devkit.koppelingen.banqup import scenarios
from devkit.koppelingen.banqup.demo import (
    CONNECTIONS,
    ENV,
    JANSEN_QUICKBOOKS,
    JANSEN_SNELSTART,
    NORDISK_BILLY,
    FirmDemo,
    FirmOutcome,
)
from devkit.local import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e
D = Decimal
Played = tuple[FirmDemo, FirmOutcome]


@pytest.fixture(scope="module")
def played() -> Iterator[Played]:
    with LocalStack(env_overrides=ENV) as stack, FirmDemo(stack) as demo:
        yield demo, demo.run()


def _planned(demo: FirmDemo) -> dict[str, scenarios.Planned]:
    documents = [*scenarios.dutch_documents(demo.today), *scenarios.danish_documents(demo.today)]
    return {p.number: p for p in [*documents, scenarios.before_activation(demo.today)] if p.bookable}


def test_each_integration_holds_its_clients_documents_once_and_no_bank_statement(played: Played) -> None:
    _, outcome = played
    # Then SnelStart and QuickBooks hold Bakkerij Jansen's bookable documents, Billy Nordisk Design's, each once
    for connection in CONNECTIONS:
        assert outcome.holdings[connection].numbers() == outcome.expected[connection], connection
    # And the bank statement is in none of them, and nothing was parked
    assert all(row.state != "PARKED" for rows in outcome.history.values() for row in rows)


def test_every_booking_has_the_documents_total_and_net_to_the_cent_and_its_original(played: Played) -> None:
    demo, outcome = played
    planned = _planned(demo)
    for connection, holding in outcome.holdings.items():
        for held in holding.documents:
            # Then each total and its net over every rate are the document's own, a credit note negative
            want = planned[held.number]
            assert (held.total, held.currency) == (want.total, want.currency), (connection, held.number)
            assert sum(net for net, _ in held.per_rate.values()) == sum(want.net.values()), (connection, held.number)
            # And every purchase carries its original, once
            if held.kind != "sales invoice":
                assert held.attachments == (want.filename,), (connection, held.number)


def test_a_document_from_before_the_integrations_is_booked_only_by_the_backfill(played: Played) -> None:
    _, outcome = played
    # Then no integration held last week's bill after the polls, and after `koppel backfill` only SnelStart does
    assert outcome.before_backfill == []
    assert [c for c, h in outcome.holdings.items() if outcome.early in h.numbers()] == [JANSEN_SNELSTART]


def test_a_scan_without_its_due_date_is_booked_with_a_note_for_review(played: Played) -> None:
    _, outcome = played
    for connection, target in ((JANSEN_SNELSTART, "snelstart"), (JANSEN_QUICKBOOKS, "quickbooks")):
        [row] = [r for r in outcome.history[connection] if r.document_number == "VN-88213" and r.target == target]
        assert row.state == "POSTED"
        assert "review: The due date is missing: check the payment terms on the PDF." in row.reason.split("; ")


def test_a_bill_paid_in_billy_is_marked_paid_in_banqup_once(played: Played) -> None:
    demo, outcome = played
    # Then Billy shows the bill paid, and Banqup got one mark-as-paid for its file, of the whole amount
    paid = {h.number: h.state for h in outcome.holdings[NORDISK_BILLY].documents}
    assert paid[scenarios.danish_documents(demo.today)[0].number] == "paid"
    [mark] = outcome.paid
    assert (mark["fileId"], mark["action"], D(str(mark["body"]["amount"]))) == (
        outcome.paid_file, "mark-as-paid", D("4747.50")
    )  # fmt: skip
