"""QuickBooks Online pays a purchase that was paid when it was bought (a till receipt paid by PIN or cash): the
golden BillPayment body (pure), and over HTTP against a real QuickbooksSandbox the one payment deliver books, a
repeat that finds the bill paid and pays nothing, and a bill left open by a crash (or paid partly by hand) paid only
what is still open."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES
from koppel.adapters.memory import MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors.quickbooks.purchase_payment import bill_payment_body
from koppel.connectors.quickbooks.settings import QuickbooksSettings
from koppel.model import Payment
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.purchases import ISSUED, RECEIPT, PurchaseCase
from tests.connectors.test_quickbooks import Company, server  # noqa: F401  (the module's sandbox, a fixture)

if TYPE_CHECKING:
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
    from koppel.services.deliver import DeliveryResult

D = Decimal
BANK = QuickbooksSettings(purchase_payment_account_id="3", expense_account_id="7")
PIN = RECEIPT.document.payments[0]


@pytest.fixture
def company(server: QuickbooksSandbox) -> Company:  # noqa: F811  (the imported fixture)
    server.reset()
    server.set_rate_limit(None, None)
    return Company(server, DUTCH_VAT_CODES, "EUR")


def _deliver(company: Company, case: PurchaseCase = RECEIPT) -> DeliveryResult:
    deps = DeliverDeps(target=company.target(), target_name="quickbooks", ledger=MemoryLedger())
    return deliver(case.event(), deps)


def _payments_posted(company: Company) -> list[dict[str, Any]]:
    return [json.loads(r["body"], parse_float=D) for r in company.sandbox.received
            if r["method"] == "POST" and r["path"].endswith("/billpayment")]  # fmt: skip


# -- pure: the body ----------------------------------------------------------------------------------------------------
def test_a_receipt_paid_by_pin_is_paid_from_the_bank_account_by_the_golden_bill_payment() -> None:
    # Given a till receipt of 48.40 paid by PIN, booked as bill 130 of vendor 58
    # When its payment is translated
    body = bill_payment_body(plan_booking(RECEIPT.document), "58", "130", PIN, D("48.40"), BANK)

    # Then it is exactly QuickBooks' BillPayment: the bill paid in full from the bank, not a cheque to print
    assert body == {
        "VendorRef": {"value": "58"},
        "TxnDate": "2026-11-20",
        "CurrencyRef": {"value": "EUR"},
        "TotalAmt": D("48.40"),
        "Line": [{"Amount": D("48.40"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Bill"}]}],
        "PrivateNote": "Paid by PIN when bought: Groothandel Van Dijk BV's BON-7731 (booked by Koppel)",
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": "3"}, "PrintStatus": "NotSet"},
    }


def test_cash_is_paid_from_the_cash_account_and_a_card_from_a_mapped_credit_card_account() -> None:
    # Given a cash account and a credit card account mapped besides the bank
    mapped = BANK.model_copy(update={"purchase_cash_account_id": "11", "purchase_card_account_id": "12"})
    cash = Payment(method="cash", amount=D("48.40"), paid_on=ISSUED)
    booking = plan_booking(RECEIPT.document)

    # When a cash payment and a card payment are translated, with and without those accounts
    paid = {
        name: {k: v for k, v in bill_payment_body(booking, "58", "130", payment, D("48.40"), s).items()
               if k in ("PayType", "CheckPayment", "CreditCardPayment")}
        for name, payment, s in (("cash", cash, mapped), ("card", PIN, mapped), ("cash, unmapped", cash, BANK))
    }  # fmt: skip

    # Then each leaves its own account; unmapped, cash leaves the bank
    assert paid == {
        "cash": {"PayType": "Check", "CheckPayment": {"BankAccountRef": {"value": "11"}, "PrintStatus": "NotSet"}},
        "card": {"PayType": "CreditCard", "CreditCardPayment": {"CCAccountRef": {"value": "12"}}},
        "cash, unmapped": {"PayType": "Check",
                           "CheckPayment": {"BankAccountRef": {"value": "3"}, "PrintStatus": "NotSet"}},
    }  # fmt: skip


# -- over HTTP ------------------------------------------------------------------------------------------------------
def test_the_bank_account_to_pay_from_is_read_after_connecting(company: Company) -> None:
    # Then the company's checking account is where paid purchases are paid from; no cash or card account is guessed
    assert (company.settings["purchase_payment_account_id"], company.settings["purchase_cash_account_id"],
            company.settings["purchase_card_account_id"]) == ("3", "", "")  # fmt: skip


def test_a_paid_receipt_is_paid_once_and_a_repeat_finds_it_paid(company: Company) -> None:
    # Given a till receipt of 48.40 paid by PIN, delivered once
    first = _deliver(company)

    # When it is delivered again after a lost ledger row
    again = _deliver(company)

    # Then QuickBooks holds one bill payment of 48.40 from the bank account, the bill has nothing open, and the
    # repeat found the bill and paid nothing
    assert (first.outcome, again.outcome) == ("posted", "found_in_target"), (first.reason, again.reason)
    assert first.ref is not None and again.ref is not None and again.ref.id == first.ref.id
    [payment] = company.sandbox.entities(company.realm, "BillPayment")
    assert (payment["TotalAmt"], payment["PayType"], payment["CheckPayment"]["BankAccountRef"]["value"]) == (
        D("48.40"), "Check", "3",
    )  # fmt: skip
    assert len(_payments_posted(company)) == 1
    assert company.sandbox.entity(company.realm, "Bill", first.ref.id)["Balance"] == 0
    assert dict(company.target().purchase_status([first.ref])) == {first.ref.id: None}


def test_a_bill_left_open_is_paid_when_delivered_again_and_only_what_is_still_open(company: Company) -> None:
    # Given the receipt's bill booked while no bank account was set (parked, saying what to set), then paid 20.00
    # of by hand
    company.settings = {**company.settings, "purchase_payment_account_id": ""}
    parked = _deliver(company)
    [bill] = company.sandbox.entities(company.realm, "Bill")
    company.sandbox.pay_bill(company.realm, bill["Id"], "20.00")

    # When the bank account is set and the receipt delivered again
    company.settings = {**company.settings, "purchase_payment_account_id": "3"}
    again = _deliver(company)

    # Then the bill is found, not booked twice, and paid the 28.40 still open
    assert parked.outcome == "parked" and "set purchase_payment_account_id" in parked.reason, parked.reason
    assert again.outcome == "found_in_target", again.reason
    assert len(company.sandbox.entities(company.realm, "Bill")) == 1
    assert [p["TotalAmt"] for p in _payments_posted(company)] == [D("28.40")]
    assert company.sandbox.entity(company.realm, "Bill", bill["Id"])["Balance"] == 0


def test_an_unpaid_invoice_is_left_open(company: Company) -> None:
    # Given a supplier's invoice with no payments
    unpaid = RECEIPT.document.model_copy(update={"payments": (), "is_paid": False})

    # When it is delivered
    result = _deliver(company, PurchaseCase("unpaid", unpaid, RECEIPT.total, RECEIPT.net, RECEIPT.vat))

    # Then no payment is booked and the bill stays open for its total
    assert result.outcome == "posted" and result.ref is not None
    assert _payments_posted(company) == []
    [(_, status)] = list(company.target().purchase_status([result.ref]))
    assert status is not None and status.amount_open == D("48.40")
