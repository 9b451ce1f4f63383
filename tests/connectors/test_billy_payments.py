"""Billy target, a document that arrives paid: one bank payment of what Billy still holds open on the approved invoice
(a refund on a credit note), exactly once across retries, against a real BillySandbox over HTTP on loopback."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.billy.sandbox import BillySandbox
from koppel.booking import plan_booking
from koppel.errors import RetryableError
from koppel.model import Payment
from tests.connectors.test_billy import CREDIT, INVOICE, NOW, TOKEN, _deliver, _invoices, _target

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.model import SalesDocument

D = Decimal
PAID_ON = date(2026, 11, 21)


@pytest.fixture(scope="module")
def running() -> Iterator[BillySandbox]:
    sandbox = BillySandbox(seed=5)
    sandbox.start()
    sandbox.add_organization("Koppel Betaling ApS", token=TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def billy(running: BillySandbox) -> Iterator[BillySandbox]:
    running.reset()
    running.store.clock = lambda: NOW
    yield running
    _payment_accounts(running, enabled=True)  # reference data outlives reset: put the bank accounts back


def _payment_accounts(billy: BillySandbox, *, enabled: bool) -> None:
    with billy.lock:
        for account in billy.organization(None).table("accounts").values():
            if account["accountNo"] in (5820, 5830):
                account["isPaymentEnabled"] = enabled


def _paid(doc: SalesDocument, *amounts: str, is_paid: bool = True, on: date = PAID_ON) -> SalesDocument:
    payments = tuple(Payment(method="bank", amount=D(amount), paid_on=on) for amount in amounts)
    return doc.model_copy(update={"is_paid": is_paid, "payments": payments})


def _payments(billy: BillySandbox) -> list[dict[str, Any]]:
    return billy.records("bankPayments")


def test_a_paid_invoice_is_booked_and_paid_once_into_the_bank(billy: BillySandbox) -> None:
    # Given an invoice of 287.50 its source says was paid by bank on 21 November
    doc = _paid(INVOICE, "287.50")
    # When deliver books it, and the queue delivers it again
    first = _deliver(_target(billy), doc)
    again = _deliver(_target(billy), doc)
    # Then Billy holds it approved and paid: one bank payment of 287.50 on the bank account, dated the payment's date
    assert (first.outcome, again.outcome) == ("posted", "found_in_target"), first.reason
    [invoice] = _invoices(billy, "F-1001")
    assert (invoice["state"], invoice["balance"], invoice["isPaid"]) == ("approved", D(0), True)
    [payment] = _payments(billy)
    assert (payment["cashAmount"], payment["cashSide"], payment["entryDate"]) == (D("287.50"), "debit", PAID_ON)
    assert payment["cashAccountId"] == billy.find("accounts", accountNo=5820)["id"]


def test_is_paid_without_payments_pays_the_balance_on_the_issue_date(billy: BillySandbox) -> None:
    # Given an invoice marked paid with no payments listed (a CRM invoice whose status is Paid)
    # When deliver books it
    result = _deliver(_target(billy), _paid(INVOICE))
    # Then the whole balance is paid, dated the document's issue date
    assert result.outcome == "posted", result.reason
    [payment] = _payments(billy)
    assert (payment["cashAmount"], payment["entryDate"]) == (D("287.50"), INVOICE.issue_date)
    assert _invoices(billy, "F-1001")[0]["isPaid"] is True


def test_a_paid_credit_note_is_paid_back_from_the_bank(billy: BillySandbox) -> None:
    # Given a credit note of -125.00 that credits no invoice in Billy, refunded by bank
    doc = _paid(CREDIT.model_copy(update={"reference": ""}), "-125.00")
    # When deliver books it
    result = _deliver(_target(billy), doc)
    # Then Billy holds it approved and settled: one withdrawal (credit side) of 125.00
    assert result.outcome == "posted", result.reason
    [credit] = _invoices(billy, "K-1001")
    assert (credit["type"], credit["balance"], credit["isPaid"]) == ("creditNote", D(0), True)
    [payment] = _payments(billy)
    assert (payment["cashAmount"], payment["cashSide"]) == (D("125.00"), "credit")


def test_a_paid_credit_note_its_invoice_already_settles_is_not_paid_again(billy: BillySandbox) -> None:
    # Given the invoice F-1001 booked and open, and a paid credit note that credits it
    target = _target(billy)
    assert _deliver(target, INVOICE).outcome == "posted"
    # When the credit note is delivered
    result = _deliver(target, _paid(CREDIT, "-125.00"))
    # Then approving it settled it against the invoice: its balance is 0, and no money leaves the bank
    assert result.outcome == "posted", result.reason
    assert _invoices(billy, "K-1001")[0]["balance"] == D(0)
    assert _payments(billy) == []


def test_a_payment_billy_committed_before_hanging_is_not_paid_again_on_the_retry(billy: BillySandbox) -> None:
    # Given Billy stores the bank payment and then never answers (the worker times out)
    target = _target(billy)
    doc = _paid(INVOICE, "287.50")
    booking, party = plan_booking(doc), target.create_party(doc.party)
    billy.faults.hang_seconds, billy.faults.applies_to = 2.0, ("/v2/bankPayments",)
    billy.faults.queue("commit_then_hang")
    with pytest.raises(RetryableError, match="in time"):
        target.post_booking(booking, party, "request-1")
    # When the queue delivers it again
    retried = _deliver(_target(billy), doc)
    # Then the invoice is found, its balance read as 0, and it is paid once
    assert retried.outcome == "found_in_target", retried.reason
    assert [p["cashAmount"] for p in _payments(billy)] == [D("287.50")]
    assert _invoices(billy, "F-1001")[0]["isPaid"] is True


def test_an_invoice_booked_before_its_payment_was_sent_is_paid_on_the_retry(billy: BillySandbox) -> None:
    # Given the invoice was approved in Billy but the worker stopped before paying it
    assert _deliver(_target(billy), INVOICE).outcome == "posted"
    # When the document, paid, is delivered again
    result = _deliver(_target(billy), _paid(INVOICE, "287.50"))
    # Then the approved unpaid invoice is found and paid
    assert result.outcome == "found_in_target", result.reason
    assert [p["cashAmount"] for p in _payments(billy)] == [D("287.50")]


def test_partial_payments_are_registered_up_to_what_was_paid_and_only_the_new_part_later(billy: BillySandbox) -> None:
    # Given an invoice of 287.50 of which 100.00 is paid
    result = _deliver(_target(billy), _paid(INVOICE, "60.00", "40.00", is_paid=False))
    # Then one bank payment of 100.00, and 187.50 stays open
    assert result.outcome == "posted", result.reason
    assert [p["cashAmount"] for p in _payments(billy)] == [D("100.00")]
    assert _invoices(billy, "F-1001")[0]["balance"] == D("187.50")
    # When it is delivered again unchanged, and then with a further 50.00
    _deliver(_target(billy), _paid(INVOICE, "60.00", "40.00", is_paid=False))
    _deliver(_target(billy), _paid(INVOICE, "60.00", "40.00", "50.00", is_paid=False))
    # Then only the new 50.00 is added: 137.50 stays open
    assert [p["cashAmount"] for p in _payments(billy)] == [D("100.00"), D("50.00")]
    assert _invoices(billy, "F-1001")[0]["balance"] == D("137.50")


def test_a_euro_invoice_is_paid_into_the_euro_bank_account(billy: BillySandbox) -> None:
    # Given a paid invoice in EUR, the organization's cash account in DKK and a payment-enabled account in EUR
    doc = _paid(INVOICE.model_copy(update={"currency": "EUR"}), "287.50")
    # When deliver books it
    result = _deliver(_target(billy), doc)
    # Then it is paid into the EUR account, at rate 1 (no exchange rate is needed)
    assert result.outcome == "posted", result.reason
    [payment] = _payments(billy)
    assert payment["cashAccountId"] == billy.find("accounts", accountNo=5830)["id"]
    assert (payment["cashAmount"], payment["cashExchangeRate"]) == (D("287.50"), D(1))


def test_a_paid_invoice_in_a_currency_no_bank_account_holds_is_parked_booked_but_unpaid(billy: BillySandbox) -> None:
    # Given a paid invoice in USD, and no payment-enabled account in USD
    doc = _paid(INVOICE.model_copy(update={"currency": "USD"}), "287.50")
    # When deliver books it
    result = _deliver(_target(billy), doc)
    # Then it is parked saying Billy needs the exchange rate, and the invoice stays approved and open
    assert result.outcome == "parked"
    assert re.search(r"in USD and the cash account in DKK.*cashExchangeRate", result.reason), result.reason
    [invoice] = _invoices(billy, "F-1001")
    assert (invoice["state"], invoice["isPaid"], _payments(billy)) == ("approved", False, [])


def test_a_paid_invoice_without_a_cash_account_is_parked_saying_to_connect_a_bank_account(billy: BillySandbox) -> None:
    # Given an organization without any account that takes payments
    _payment_accounts(billy, enabled=False)
    target = _target(billy)
    assert target.settings.cash_account_id == ""
    # When a paid invoice is delivered
    result = _deliver(target, _paid(INVOICE, "287.50"))
    # Then it is parked saying to connect a bank account; the invoice is booked and approved, unpaid
    assert result.outcome == "parked"
    assert "connect a bank account in Billy" in result.reason
    assert "booked and approved but not paid" in result.reason
    [invoice] = _invoices(billy, "F-1001")
    assert (invoice["state"], invoice["isPaid"]) == ("approved", False)


def test_a_payment_billy_refuses_parks_with_billys_words_and_the_invoice_stays_booked(billy: BillySandbox) -> None:
    # Given the connection's cash account stops taking payments in Billy after it was read
    target = _target(billy)
    _payment_accounts(billy, enabled=False)
    # When a paid invoice is delivered
    result = _deliver(target, _paid(INVOICE, "287.50"))
    # Then it is parked with Billy's own words, saying the invoice stays booked
    assert result.outcome == "parked"
    assert "The cash account must have isPaymentEnabled." in result.reason, result.reason
    assert "stays booked and approved" in result.reason
    assert _invoices(billy, "F-1001")[0]["state"] == "approved"
