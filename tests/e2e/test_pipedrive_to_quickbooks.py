"""End to end on the local stack for the third koppeling: moto server as AWS, Pipedrive and QuickBooks Online
sandboxes on loopback, the real handlers with real event shapes. The demo's story is played once (both OAuth
consents, the button, a second press, a won deal, a deal with nobody to invoice, payments back onto the deal, the
panel and its actions, an access token expiring); each test checks one thing a salesperson or bookkeeper would see."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from devkit.koppelingen.pipedrive_quickbooks.demo import CONNECTION, FAST_CLOCK, PipedriveDemo, reconciled
from devkit.local import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

    from devkit.koppelingen.pipedrive_quickbooks.demo import PipedriveOutcome

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def played() -> Iterator[tuple[PipedriveDemo, PipedriveOutcome]]:
    # Given Koppel's app credentials in the partner secrets, a connection whose owner consented to QuickBooks and
    # Pipedrive through the local HTTP API, and the sales team's day as the demo plays it
    with LocalStack(env_overrides=FAST_CLOCK) as stack, PipedriveDemo(stack) as demo:
        yield demo, demo.run()


def test_both_consents_make_the_connection_active_with_the_realm_and_company_linked(played) -> None:
    demo, outcome = played
    store = demo.store()
    # Then both owners' consents came back through GET /connect/<system>/callback and the connection is active
    assert outcome.consents == ["quickbooks", "pipedrive"]
    assert store.get(CONNECTION).status == "active"
    # And the QuickBooks company and the Pipedrive company are the ones the vendors named
    assert store.get_secrets(CONNECTION, "quickbooks")["realm_id"] == "9130000000004242"
    assert store.connections_of_account("quickbooks", "9130000000004242") == [CONNECTION]
    assert store.connections_of_account("pipedrive", "13472") == [CONNECTION]


def test_every_deal_with_someone_to_invoice_has_exactly_one_invoice(played) -> None:
    _, outcome = played
    # Then QuickBooks holds one invoice per invoiced deal (the button's, the won deal's and the one only the poll
    # found), none twice
    assert sorted(invoice["DocNumber"] for invoice in outcome.invoices) == sorted(outcome.expected)
    assert len(outcome.invoices) == 3
    assert outcome.duplicates == []


def test_every_invoice_equals_its_deal_per_vat_rate_to_the_cent(played) -> None:
    _, outcome = played
    # Then each invoice's lines per tax code, its VAT per rate and its total are the deal's, to the cent
    assert reconciled(outcome) == []
    button = next(invoice for invoice in outcome.invoices if invoice["DocNumber"] == min(outcome.expected))
    assert button["TotalAmt"] == Decimal("16312.74")  # 13375.75 at 21 % + 2808.91 VAT, 117.50 at 9 % + 10.58 VAT


def test_a_second_press_books_no_second_invoice(played) -> None:
    _, outcome = played
    # Then pressing Create invoice again says the deal has its invoice, and QuickBooks got none more
    assert outcome.second_press["status"] == 202
    assert outcome.second_press["queued"] == []
    assert outcome.second_press["new_invoices"] == 0
    assert "already has its invoice" in outcome.second_press["message"]


def test_a_deal_with_neither_person_nor_organization_is_refused_with_its_reason(played) -> None:
    _, outcome = played
    # Then the button answers 422 naming what to correct in Pipedrive, and nothing is booked for that deal
    assert outcome.refused["status"] == 422
    assert "has no person and no organization" in outcome.refused["error"]
    assert f"PD-{outcome.refused['deal']}" not in {invoice["DocNumber"] for invoice in outcome.invoices}


def test_payments_in_quickbooks_show_on_the_deal(played) -> None:
    _, outcome = played
    # Then the deal's "Invoice status" field said Partially paid with what was open, then Paid
    partly, paid = outcome.statuses
    assert " · Partially paid · EUR " in partly and partly.endswith(" open")
    assert " · Paid · " in paid


def test_the_panel_lists_the_invoice_with_status_and_link_and_its_actions_work(played) -> None:
    _, outcome = played
    # Then the deal's panel shows the invoice with its status, amount and a link into QuickBooks
    [row] = outcome.panel["data"]
    assert row["status"]["label"] == "Paid"
    assert row["amount"] == {"code": "EUR", "value": "16312.74"}
    assert "/app/invoice?txnId=" in row["invoice"]["value"]
    # And sending it from the panel e-mailed it in QuickBooks
    assert outcome.sent == "EmailSent"


def test_an_expired_access_token_is_renewed_once_and_no_refresh_token_is_used_twice(played) -> None:
    demo, outcome = played
    # Then each access token that expired at the vendor (QuickBooks' met by the deliver function, the poll's target
    # sync and the panel's action; Pipedrive's by the webhook door, the poll and the write-back) took exactly one
    # refresh, no refresh token was presented twice, and the rotated one is the one stored
    renewed = ["QuickBooks", "Pipedrive", "QuickBooks", "Pipedrive", "Pipedrive", "QuickBooks"]
    assert [system for system, _ in outcome.renewals] == renewed
    assert all(refreshes == 1 for _, refreshes in outcome.renewals)
    assert outcome.refreshes == 3
    assert outcome.refresh_tokens_used_twice == []
    assert demo.quickbooks.refresh_uses(demo.grant_before.refresh_token or "") == 1
    assert demo.grant().refresh_token != demo.grant_before.refresh_token


def test_nothing_is_parked_or_left_pending(played) -> None:
    demo, outcome = played
    # Then the refused deal was refused at the button, not parked, and no booking is half done
    assert outcome.parked == []
    assert demo.ledger().entries(CONNECTION, "PENDING") == []
