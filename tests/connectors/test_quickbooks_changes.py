"""QuickBooks' change data capture as Koppel reads it: only the invoices changed since a moment, against the sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from koppel.booking import plan_booking
from tests.connectors.test_quickbooks import KORST, MIXED, Company, company, server  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from koppel.connectors.quickbooks import QuickbooksTarget
    from koppel.model import ExternalRef


def _book(target: QuickbooksTarget, *numbers: str) -> dict[str, ExternalRef]:
    party = target.create_party(KORST)
    return {n: target.post_booking(plan_booking(MIXED.model_copy(update={"number": n})), party, n) for n in numbers}


def test_only_the_invoices_changed_since_a_moment_come_back_deleted_ones_by_id(company: Company) -> None:  # noqa: F811
    # Given three invoices booked a moment ago
    target = company.target()
    refs = _book(target, "C-1", "C-2", "C-3")
    time.sleep(2)  # QuickBooks stamps changes to the second
    since = datetime.now(UTC) - timedelta(seconds=1)

    # When one is paid in part and another deleted in QuickBooks
    company.sandbox.record_payment(company.realm, refs["C-2"].id, "10.00")
    target.delete_invoice(refs["C-3"])

    # Then the change feed names exactly those two, by id: the untouched one is left out (unchanged, not paid)
    changes = target.payment_changes(since)
    assert changes is not None
    assert {ident: status.status for ident, status in changes.items()} == {
        refs["C-2"].id: "partially_paid",
        refs["C-3"].id: "deleted",
    }
    assert str(changes[refs["C-2"].id].amount_open) == "55.44"
    # And it was one call that asked for invoices and payments together
    [cdc] = [r for r in company.sandbox.received if r["path"].endswith("/cdc")]
    assert cdc["args"]["entities"] == "Invoice,Payment"


def test_a_moment_further_back_than_quickbooks_reaches_asks_for_a_full_read(company: Company) -> None:  # noqa: F811
    # Given a last read 30 days ago (QuickBooks answers change data capture 30 days back at most)
    target = company.target()
    # When the changes since then are asked, then the feed says it cannot tell, without asking QuickBooks
    assert target.payment_changes(datetime.now(UTC) - timedelta(days=30)) is None
    assert not [r for r in company.sandbox.received if r["path"].endswith("/cdc")]
