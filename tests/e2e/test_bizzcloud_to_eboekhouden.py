"""End to end on the local stack: moto server as AWS, the Bizzcloud (Odoo RPC) and e-Boekhouden sandboxes on
loopback, the real handlers with real event shapes. The demo's second koppeling is played once (a day of invoices
and till sales, polls, a payment, a renamed customer, a new ledger, a disconnect and a reconnect); each test checks
one thing a bookkeeper, a shop owner or an operator would see."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from devkit.koppelingen.bizzcloud_eboekhouden.demo import (
    CONNECTION,
    FAST_CLOCK,
    BizzcloudDemo,
    BizzcloudOutcome,
    booked_invoice_numbers,
)
from devkit.local import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e
D = Decimal
Played = tuple[BizzcloudDemo, BizzcloudOutcome]


@pytest.fixture(scope="module")
def played() -> Iterator[Played]:
    # Containers keep a connection for a minute in production; the story's minutes pass in seconds here
    with LocalStack(env_overrides=FAST_CLOCK) as stack, BizzcloudDemo(stack) as demo:
        yield demo, demo.run()


def _invoices(outcome: BizzcloudOutcome) -> dict[str, dict[str, Any]]:
    return {m["invoiceNumber"]: m for m in outcome.mutations if m["type"] == 2}


def test_every_posted_invoice_credit_invoice_and_till_sale_is_booked_exactly_once(played: Played) -> None:
    _, outcome = played
    # Then e-Boekhouden holds one invoice mutation per posted Bizzcloud document and paid till sale, the draft is
    # not booked, the invoiced till sale is booked once (through its invoice), and nothing is parked or doubled
    assert booked_invoice_numbers(outcome) == outcome.expected_invoices
    assert outcome.duplicates == []
    assert outcome.parked == []


def test_every_booking_reconciles_with_bizzcloud_to_the_cent(played: Played) -> None:
    demo, outcome = played
    # Given Bizzcloud's own totals of each posted invoice (credit invoices negative, as booked)
    booked = _invoices(outcome)
    for move in outcome.bizzcloud_invoices:
        sign = -1 if move["move_type"] == "out_refund" else 1
        mutation = booked[move["name"]]
        # Then e-Boekhouden's computed total and VAT equal Bizzcloud's amount_total and amount_tax exactly
        assert D(str(mutation["totalAmount"])) == sign * D(str(move["amount_total"])), move["name"]
        assert D(str(mutation["totalVat"])) == sign * D(str(move["amount_tax"])), move["name"]
    for order in demo.bizzcloud.records("pos.order"):
        if order["state"] != "invoiced":
            assert D(str(booked[order["name"]]["totalAmount"])) == D(str(order["amount_total"]))


def test_zero_rate_sales_abroad_are_booked_as_icp_and_export(played: Played) -> None:
    _, outcome = played
    codes = {m["invoiceNumber"]: {row["vatCode"] for row in m["rows"]} for m in outcome.mutations if m["type"] == 2}
    relations = {r["id"]: r["name"] for r in outcome.relations}
    by_customer = {relations[m["relationId"]]: codes[m["invoiceNumber"]] for m in _invoices(outcome).values()}
    # Then the German business with a VAT number is an intra-EU supply, the American customer an export
    assert by_customer["Fahrrad Müller GmbH"] == {"BI_EU_VERK"}
    assert by_customer["Smith Cycles Inc."] == {"BU_EU_VERK"}


def test_till_sales_are_booked_with_their_payment_so_they_never_stay_open(played: Played) -> None:
    demo, outcome = played
    till = [o["name"] for o in demo.bizzcloud.records("pos.order") if o["state"] != "invoiced"]
    paid = {}
    for m in outcome.mutations:
        if m["type"] == 3:
            number = m["rows"][0]["invoiceNumber"]
            paid[number] = paid.get(number, D(0)) + D(str(m["totalAmount"]))
    # Then each till sale's payments (cash net of change, PIN) add up to its total in e-Boekhouden
    for number in till:
        assert paid[number] == D(str(_invoices(outcome)[number]["totalAmount"])), number
    # And the walk-in sales are on one walk-in relation
    walk_in = [r for r in outcome.relations if r["code"] == "KASSA"]
    assert [r["name"] for r in walk_in] == ["Kassaverkoop"]


def test_a_payment_in_e_boekhouden_marks_the_invoice_paid_in_bizzcloud(played: Played) -> None:
    demo, outcome = played
    # Given Bakkerij Jansen paid its first invoice in e-Boekhouden
    paid = next(m for m in outcome.bizzcloud_invoices if m["id"] == demo.jansen_invoice)
    # Then Bizzcloud shows it paid, through one registered payment
    assert paid["payment_state"] == "paid"
    assert D(str(paid["amount_residual"])) == 0
    payments = [
        p for p in demo.bizzcloud.records("account.payment") if D(str(p["amount"])) == D(str(paid["amount_total"]))
    ]
    assert len(payments) == 1
    # And the invoices nobody paid stay open on both sides
    open_invoices = [
        m for m in outcome.bizzcloud_invoices if m["move_type"] == "out_invoice" and not m["pos_order_ids"]
    ]
    assert {m["payment_state"] for m in open_invoices if m["id"] != demo.jansen_invoice} <= {"not_paid", "reversed"}


def test_customers_appear_once_and_follow_changes_made_in_bizzcloud(played: Played) -> None:
    _, outcome = played
    names = sorted(r["name"] for r in outcome.relations)
    # Then every customer is one relation (the renamed one under its new name, by its code D1001)
    assert names == ["Bakkerij Jansen & Zn", "Fahrrad Müller GmbH", "Kassaverkoop", "Smith Cycles Inc."]
    jansen = next(r for r in outcome.relations if r["code"] == "D1001")
    assert jansen["emailAddress"] == "info@bakkerijjansen.nl"


def test_a_ledger_added_in_e_boekhouden_is_in_the_mapping_after_the_next_run(played: Played) -> None:
    _, outcome = played
    assert "8200" in outcome.ledger_codes


def test_disconnecting_forgets_the_credentials_and_reconnecting_resumes_without_double_bookings(
    played: Played,
) -> None:
    demo, outcome = played
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    store = bootstrap.connection_store(StoreSettings.load())
    # Then nothing was booked while the connection was disconnected
    assert demo.booked_while_disconnected == 0
    # And after the reconnect the connection is active, the invoice made in between is booked, and once
    assert store.get(CONNECTION).status == "active"
    assert booked_invoice_numbers(outcome).count(demo.late_invoice) == 1
    assert outcome.duplicates == []


def test_revenue_of_a_mapped_product_group_goes_to_its_ledger(played: Played) -> None:
    demo, outcome = played
    # Given product group "Diensten" was mapped to ledger 8200 (added in e-Boekhouden, then synced) before the
    # consultancy invoice made while disconnected was booked
    late = _invoices(outcome)[demo.late_invoice]
    # Then that invoice's revenue row is on ledger 8200, and the invoices booked before the mapping are not
    assert {row["ledgerId"] for row in late["rows"]} == {demo.eboekhouden.ledger_id(demo.api_token, "8200")}
    first = next(m for m in outcome.bizzcloud_invoices if m["id"] == demo.jansen_invoice)
    assert demo.eboekhouden.ledger_id(demo.api_token, "8200") not in {
        r["ledgerId"] for r in _invoices(outcome)[first["name"]]["rows"]
    }
