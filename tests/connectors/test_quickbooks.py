"""QuickBooks Online target: golden Invoice and Customer bodies (pure), webhook signatures and notices, and the
conversation with a real QuickbooksSandbox over HTTP (customers, exactly-once bookings, totals to the cent, the
grant, throttles, payment status, invoice actions, the chart read after connecting)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.quickbooks import QuickbooksOAuth, QuickbooksTarget, build_target, parse_notices
from koppel.connectors.quickbooks import verify_signature as verify
from koppel.connectors.quickbooks.client import describe_error
from koppel.connectors.quickbooks.mapping import customer_body, qty_and_price, sales_form
from koppel.connectors.quickbooks.settings import QuickbooksSettings
from koppel.errors import AuthError, InputError, MappingError, PermanentError, RetryableError, SignatureError
from koppel.http import session_for
from koppel.model import Address, Discount, DocumentEvent, Line, Party, SalesDocument
from koppel.ports import CachedToken
from koppel.preview import preview
from koppel.services.deliver import DeliverDeps, deliver

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

D = Decimal
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLIENT = ("koppel-app", "koppel-secret")
JAVA = ("b5771f19b12ddb4bcdb9f08bdc50bc63878a", "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q=")
DOTNET = ("00faeec4-08d0-4996-bb37-698ae19f0149", "6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM=")
UK = QuickbooksSettings(
    tax_codes={"20": "2", "5": "3", "0": "4"},
    tax_code_rates={"2": {"1": "20"}, "3": {"3": "5"}, "4": {"5": "0"}},
    item_id="1",
    home_currency="GBP",
)
KORST = Party(
    source_id="7",
    name="Bakkerij De Korst",
    email="Info@Korst.example",
    is_business=True,
    vat_number="GB123456789",
    billing_address=Address(street="1 High Street", postcode="SW1A 1AA", city="London", country_code="GB"),
)


def _line(text: str, amount: str, rate: int, quantity: int = 1, kind: str = "goods") -> Line:
    return Line(kind=kind, description=text, quantity=D(quantity), unit_price=D(amount) / quantity, amount=D(amount),
                vat_rate=D(rate))  # fmt: skip


def _doc(number: str, lines: list[Line], total: str, **fields: Any) -> SalesDocument:
    values: dict[str, Any] = {"source_id": number, "number": number, "issue_date": date(2026, 11, 20),
                              "currency": "GBP", "prices_include_vat": False, "party": KORST, "lines": tuple(lines),
                              "total": D(total), **fields}  # fmt: skip
    return SalesDocument.model_validate(values)


MIXED = _doc("PD-1001", [_line("Bread", "37.05", 20, quantity=3), _line("Juice", "19.98", 5, quantity=2)], "65.44")
DISCOUNTED = _doc(
    "PD-1002",
    [_line("Cake", "120.00", 20), _line("Tea", "105.00", 5)],
    "202.50",
    prices_include_vat=True,
    discounts=(Discount(description="Spring", code="SPRING", amount=D("22.50")),),
)
# Incl. VAT: 1.05 holds 0.18 VAT at 20 % (net 0.87, 20 % of it 0.17), 1.15 holds 0.05 at 5 % (1.10 x 5 % = 0.06)
STRESS = _doc("PD-1003", [_line("Card", "1.05", 20), _line("Seeds", "1.15", 5)], "2.20", prices_include_vat=True)
CREDIT = _doc("PD-1004", [_line("Bread", "-37.05", 20, quantity=3), _line("Juice", "-19.98", 5, quantity=2)], "-65.44",
              doc_type="credit_note")  # fmt: skip


# -- pure: the bodies -------------------------------------------------------------------------------------------------
def test_a_mixed_rate_invoice_translates_to_the_golden_invoice_json() -> None:
    # Given a document at 20 % and 5 %, excl. VAT, When it is translated
    body = sales_form(plan_booking(MIXED), "58", UK)
    # Then it is exactly QuickBooks' Invoice, net lines with their codes, QuickBooks left to compute the tax
    assert body == {
        "CustomerRef": {"value": "58"},
        "DocNumber": "PD-1001",
        "TxnDate": "2026-11-20",
        "CurrencyRef": {"value": "GBP"},
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": D("37.05"), "Description": "Bread",
             "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": D(3), "UnitPrice": D("12.35"),
                                     "TaxCodeRef": {"value": "2"}}},
            {"DetailType": "SalesItemLineDetail", "Amount": D("19.98"), "Description": "Juice",
             "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": D(2), "UnitPrice": D("9.99"),
                                     "TaxCodeRef": {"value": "3"}}},
        ],
        "PrivateNote": "Booked by Koppel from PD-1001",
        "DueDate": "2026-12-04",
        "BillEmail": {"Address": "Info@Korst.example"},
    }  # fmt: skip


def test_a_discount_is_taken_off_the_lines_of_its_rate_and_named_on_a_description_line() -> None:
    # Given 22.50 off an order incl. VAT of 120.00 at 20 % and 105.00 at 5 % (12.00 and 10.50 gross, 10.00 net each)
    body = sales_form(plan_booking(DISCOUNTED), "58", UK, customer_has_terms=True)
    # Then each rate's net is its goods after discount, the discount is named, and no DueDate overrides the terms
    amounts = [line["Amount"] for line in body["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert amounts == [D("90.00"), D("90.00")]
    assert body["Line"][-1] == {
        "DetailType": "DescriptionOnly",
        "Description": "Korting SPRING: 10.00 at 20 %; Korting SPRING: 10.00 at 5 %",
        "DescriptionLineDetail": {},
    }
    assert "DueDate" not in body and "TxnTaxDetail" not in body


def test_vat_quickbooks_would_round_otherwise_is_stated_in_txn_tax_detail() -> None:
    # Given prices incl. VAT whose VAT on the gross is a cent off QuickBooks' tax on the net, at both rates
    body = sales_form(plan_booking(STRESS), "58", UK)
    # Then the source's VAT per rate is stated, so TotalAmt becomes the source's total
    detail = body["TxnTaxDetail"]
    stated = {line["TaxLineDetail"]["TaxRateRef"]["value"]: line["Amount"] for line in detail["TaxLine"]}
    assert stated == {"1": D("0.18"), "3": D("0.05")}
    assert detail["TotalTax"] == D("0.23")


def test_a_credit_note_is_a_credit_memo_with_positive_amounts() -> None:
    body = sales_form(plan_booking(CREDIT), "58", UK)
    assert [line["Amount"] for line in body["Line"]] == [D("37.05"), D("19.98")]
    assert body["Line"][0]["SalesItemLineDetail"]["Qty"] == D(3) and "DueDate" not in body


@pytest.mark.parametrize(
    ("net", "quantity", "kept"),
    [
        ("37.05", "3", True),
        ("10.00", "3", False),
        ("0.01", "7", False),
        ("-19.98", "2", True),
        ("5.00", "0.333", False),
        ("12.34", "8", True),
        ("1.00", "128", True),
        ("1.00", "0.0000001", True),
        ("0.01", "1.5", False),
    ],
)
def test_amount_is_qty_times_unit_price_exactly(net: str, quantity: str, kept: bool) -> None:
    qty, price = qty_and_price(D(net), D(quantity))
    assert qty * price == D(net)
    assert (qty == D(quantity)) is kept
    assert -price.as_tuple().exponent <= 7  # type: ignore[operator]


def test_a_discounted_line_keeps_its_quantity_with_a_unit_price_of_more_decimals_than_cents() -> None:
    # Given 8 mugs at 1.60 (12.80) with 0.46 off at their rate: 12.34 net, 1.5425 a mug
    mugs = _doc("PD-1005", [_line("Mug", "12.80", 20, quantity=8)], "14.81",
                discounts=(Discount(description="Loyal", amount=D("0.46")),))  # fmt: skip
    # When it is translated
    body = sales_form(plan_booking(mugs), "58", UK)
    # Then the invoice shows 8 mugs at 1.5425, whose product is the net exactly
    detail = body["Line"][0]["SalesItemLineDetail"]
    assert (body["Line"][0]["Amount"], detail["Qty"], detail["UnitPrice"]) == (D("12.34"), D(8), D("1.5425"))
    assert body["Line"][0]["Description"] == "Mug"


def test_a_line_whose_net_no_unit_price_of_seven_decimals_divides_shows_its_quantity_in_the_description() -> None:
    # Given 3 pots at 10.00 with 0.01 off: 29.99 net, 9.99666… a pot (no UnitPrice of 7 decimals gives it exactly)
    pots = _doc("PD-1006", [_line("Pot", "30.00", 20, quantity=3)], "35.99",
                discounts=(Discount(description="Loyal", amount=D("0.01")),))  # fmt: skip
    # When it is translated
    line = sales_form(plan_booking(pots), "58", UK)["Line"][0]
    # Then it is booked as 1 × the net, and the description still says there were 3
    assert (line["Amount"], line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"]) == (
        D("29.99"), D(1), D("29.99"))  # fmt: skip
    assert line["Description"] == "Pot (quantity 3)"


def test_a_rate_without_a_tax_code_and_an_unmapped_eu_sale_are_refused_with_what_to_map() -> None:
    eu = _doc("PD-9", [_line("Bike", "500.00", 0)], "500.00", vat_treatment="intra_eu")
    with pytest.raises(MappingError, match=r"treatment_tax_codes"):
        sales_form(plan_booking(eu), "58", UK)
    dutch = _doc("PD-10", [_line("Bike", "100.00", 21)], "121.00")
    with pytest.raises(MappingError, match=r"VAT rate 21 %, which has no QuickBooks Online tax code"):
        sales_form(plan_booking(dutch), "58", UK)


def test_a_party_translates_to_the_golden_customer() -> None:
    assert customer_body(KORST) == {
        "DisplayName": "Bakkerij De Korst",
        "CompanyName": "Bakkerij De Korst",
        "PrimaryEmailAddr": {"Address": "Info@Korst.example"},
        "BillAddr": {"Line1": "1 High Street", "City": "London", "PostalCode": "SW1A 1AA", "Country": "GB",
                     "CountryCode": "GB"},
        "PrimaryTaxIdentifier": "GB123456789",
    }  # fmt: skip
    person = customer_body(Party(name="Hans Müller", email="hans@example.com"))
    assert (person["GivenName"], person["FamilyName"]) == ("Hans", "Müller")


def test_wrong_settings_are_refused_with_a_sentence() -> None:
    ctx = ConnectorContext(connection=_connection(), settings={"tax_codes": {"twenty": "2"}}, secrets={},
                           session=session_for())  # fmt: skip
    with pytest.raises(InputError, match=r"QuickBooks Online settings of this connection are wrong: tax_codes"):
        build_target(ctx)


# -- pure: webhooks and faults --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "vector"), [("webhook.classic.java-sdk.json", JAVA), ("webhook.classic.json", DOTNET)]
)
def test_intuits_signed_vectors_verify_and_a_changed_byte_does_not(name: str, vector: tuple[str, str]) -> None:
    body = (FIXTURES / "quickbooks" / name).read_bytes()
    verify({"Intuit-Signature": vector[1]}, body, vector[0])
    with pytest.raises(SignatureError):
        verify({"intuit-signature": vector[1]}, body + b" ", vector[0])
    with pytest.raises(SignatureError):
        verify({}, body, vector[0])


def test_notices_are_read_from_the_classic_and_the_cloudevents_format() -> None:
    classic = parse_notices((FIXTURES / "quickbooks" / "webhook.classic.json").read_bytes())
    assert [(n.realm_id, n.entity, n.entity_id, n.operation) for n in classic] == [
        ("1269959970", "Vendor", "40", "Update"),
        ("1269959970", "Customer", "43", "Create"),
    ]
    [cloud] = parse_notices((FIXTURES / "quickbooks" / "webhook.cloudevents.json").read_bytes())
    assert (cloud.realm_id, cloud.entity, cloud.entity_id, cloud.operation) == ("310687", "Class", "1234", "Create")
    with pytest.raises(InputError):
        parse_notices(b'{"hello": 1}')


def test_a_fault_is_described_in_quickbooks_words_in_either_letter_case() -> None:
    upper = {"Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "Detail": "Taken", "code": "6240"}]}}
    lower = {
        "fault": {"error": [{"message": "message=AuthenticationFailed", "detail": "Token expired", "code": "3200"}]}
    }
    assert describe_error(_response(400, upper)) == "6240 Duplicate Name Exists Error: Taken"
    assert describe_error(_response(401, lower)) == "3200 message=AuthenticationFailed: Token expired"


def test_a_void_is_read_from_its_note_as_the_recorded_answer_keeps_the_amounts() -> None:
    # Given QuickBooks' recorded answer of a void: PrivateNote "Voided", TotalAmt and Balance still 50.00
    from koppel.connectors.quickbooks.target import _Form, _state

    voided = _Form(Id="1", TotalAmt=D("50.00"), Balance=D("50.00"), PrivateNote="Voided", DueDate="2020-01-01")
    # Then it reads as voided, not as overdue
    assert _state(voided, "2026-12-01") == "voided"


# -- against the sandbox ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[QuickbooksSandbox]:
    sandbox = QuickbooksSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


class Company:
    """A fresh company (UK unless ``vat_codes`` say otherwise), connected: its realm, the grant in a store, and a
    target built after the chart sync."""

    def __init__(
        self, sandbox: QuickbooksSandbox, vat_codes: Any = None, currency: str = "GBP", **settings: Any
    ) -> None:
        self.sandbox = sandbox
        self.realm = sandbox.add_company("Koppel Test Ltd", currency=currency, vat_codes=vat_codes)
        sandbox.add_client(*CLIENT)
        self.store = MemoryConnectionStore()
        answer = sandbox.issue_tokens(self.realm, CLIENT[0])
        now = datetime.now(UTC)
        grant = CachedToken(value=answer["access_token"], expires_at=now + timedelta(hours=1), version=1,
                            refresh_token=answer["refresh_token"], refreshed_at=now)  # fmt: skip
        self.store.put_token("qb", "quickbooks", grant)
        base = sandbox.base_url
        self.settings = {"base_url": base, "token_url": f"{base}/oauth2/v1/tokens/bearer", "app_url": base, **settings}
        self.settings.update(self.target().after_connect())

    def target(self) -> QuickbooksTarget:
        ctx = ConnectorContext(connection=_connection(), settings=self.settings, secrets={"realm_id": self.realm},
                               session=session_for(retries=0, timeout=(0.5, 0.5)), store=self.store,
                               partner_secret=lambda: {"client_id": CLIENT[0], "client_secret": CLIENT[1]})  # fmt: skip
        return build_target(ctx)

    def posted(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"], parse_float=D) for r in self.sandbox.received if r["method"] == "POST"
                and re.search(r"/(invoice|creditmemo)$", r["path"]) and not r["args"].get("operation")]  # fmt: skip


@pytest.fixture
def company(server: QuickbooksSandbox) -> Company:
    server.reset()
    server.set_rate_limit(None, None)
    return Company(server)


def test_the_chart_is_read_after_connecting(company: Company) -> None:
    # Then each rate has its one plain code, the EU goods code is recognised, and the company's currency is known
    assert company.settings["tax_codes"] == {"20": "2", "5": "3", "0": "4"}
    assert company.settings["treatment_tax_codes"] == {"intra_eu": "6"}
    assert (company.settings["item_id"], company.settings["home_currency"]) == ("1", "GBP")
    # And the console's editor offers the sales Items, expense Accounts and TaxCodes by name
    chart = company.settings["chart"]
    assert chart["items"]["1"] and chart["tax_codes"]["6"]
    assert company.settings["expense_account_id"] in chart["ledgers"]
    assert company.settings["purchase_payment_account_id"] not in chart["ledgers"]  # a bank account is no cost


def test_a_customer_is_found_by_email_then_by_name_inactive_ones_included(company: Company) -> None:
    by_mail = company.sandbox.add_customer(company.realm, "De Korst (shop)", "info@korst.example")
    assert company.target().find_party(KORST).id == by_mail["Id"]  # type: ignore[union-attr]
    other = Party(name="Bakkerij Het Anker", email="nobody@anker.example")
    named = company.sandbox.add_customer(company.realm, "Bakkerij Het Anker", Active=False)
    found = company.target().find_party(other)
    assert found is not None and found.id == named["Id"]
    assert company.sandbox.entity(company.realm, "Customer", named["Id"])["Active"] is True


def test_a_name_a_vendor_holds_makes_a_customer_named_so(company: Company) -> None:
    company.sandbox.add_vendor(company.realm, "Bakkerij De Korst")
    ref = company.target().create_party(KORST)
    assert ref.number == "Bakkerij De Korst (customer)"
    assert company.sandbox.entity(company.realm, "Customer", ref.id)["PrimaryEmailAddr"]["Address"] == KORST.email


def test_a_request_id_seen_before_books_nothing_new(company: Company) -> None:
    target = company.target()
    party = target.create_party(KORST)
    first = target.post_booking(plan_booking(MIXED), party, "req-1")
    again = target.post_booking(plan_booking(MIXED), party, "req-1")
    assert first == again and len(company.sandbox.invoices(company.realm)) == 1


def test_a_create_committed_before_the_answer_was_lost_is_linked_not_posted_again(company: Company) -> None:
    # Given QuickBooks commits the invoice and then hangs past Koppel's timeout
    ledger, event = MemoryLedger(), _event(MIXED)
    faults = company.sandbox.faults
    faults.hang_seconds, faults.applies_to = 1.0, (f"/v3/company/{company.realm}/invoice",)
    faults.queue("commit_then_hang")
    with pytest.raises(RetryableError, match="in time"):
        deliver(event, DeliverDeps(target=company.target(), target_name="quickbooks", ledger=ledger))
    # When the queue delivers it again  Then the committed invoice is linked, once
    retried = deliver(event, DeliverDeps(target=company.target(), target_name="quickbooks", ledger=ledger))
    assert retried.outcome == "found_in_target" and len(company.sandbox.invoices(company.realm)) == 1


@pytest.mark.parametrize("doc", [MIXED, DISCOUNTED, STRESS, CREDIT], ids=["mixed", "discount", "stress", "credit"])
def test_the_booked_total_is_the_source_total_and_every_line_is_exact_with_a_tax_code(
    company: Company, doc: SalesDocument
) -> None:
    result = deliver(_event(doc), DeliverDeps(target=company.target(), target_name="quickbooks", ledger=MemoryLedger()))
    assert result.outcome == "posted", result.reason
    entity = "CreditMemo" if doc.doc_type == "credit_note" else "Invoice"
    [held] = company.sandbox.entities(company.realm, entity)
    assert held["TotalAmt"] == abs(doc.total)
    [body] = company.posted()
    for line in (ln for ln in body["Line"] if ln["DetailType"] == "SalesItemLineDetail"):
        detail = line["SalesItemLineDetail"]
        assert detail["Qty"] * detail["UnitPrice"] == line["Amount"] and detail["TaxCodeRef"]["value"]
    raw = [r["body"] for r in company.sandbox.received if r["method"] == "POST" and r["path"].endswith(entity.lower())]
    assert raw and all(re.fullmatch(r"-?\d+(\.\d{1,2})?", n) for n in _numbers(raw[0]))


def test_a_refused_token_is_renewed_once_and_a_dead_grant_says_reconnect(company: Company) -> None:
    target = company.target()
    with company.sandbox._lock:
        company.sandbox.oauth.access.clear()
    assert target.find_booking(plan_booking(MIXED)) is None
    company.sandbox.disconnect(company.realm)
    with pytest.raises(AuthError, match=r"invalid_grant\): reconnect QuickBooks Online"):
        company.target().find_booking(plan_booking(MIXED))


@pytest.mark.parametrize("style", ["429", "403", "html"])
def test_a_throttle_in_any_shape_is_retryable_after_a_minute(company: Company, style: str) -> None:
    target = company.target()
    company.sandbox.set_rate_limit(1, None, style)
    target.find_booking(plan_booking(MIXED))
    with pytest.raises(RetryableError) as raised:
        company.target().find_booking(plan_booking(MIXED))
    assert raised.value.retry_after == 60


def test_a_validation_fault_parks_with_quickbooks_code_and_words(company: Company) -> None:
    target = company.target()
    party = target.create_party(KORST)
    with company.sandbox._lock:
        company.sandbox.company(company.realm).table("Item")["1"]["Active"] = False
    with pytest.raises(PermanentError, match=r"2500 Invalid Reference Id"):
        target.post_booking(plan_booking(MIXED), party, "req-9")


def test_payment_status_reads_open_partial_paid_overdue_voided_and_deleted(company: Company) -> None:
    target = company.target()
    party = target.create_party(KORST)
    old = MIXED.model_copy(update={"issue_date": date.today() - timedelta(days=40), "due_days": 14})
    docs = {n: MIXED.model_copy(update={"number": n}) for n in ("A-1", "A-2", "A-3", "A-5", "A-6")}
    docs["A-4"] = old.model_copy(update={"number": "A-4"})
    refs = {n: target.post_booking(plan_booking(d), party, f"r-{n}") for n, d in docs.items()}
    realm = company.realm
    company.sandbox.record_payment(realm, refs["A-2"].id, "10.00")
    company.sandbox.record_payment(realm, refs["A-3"].id, "65.44")
    target.void_invoice(refs["A-5"])
    target.delete_invoice(refs["A-6"])
    statuses = {number: status for number, status in target.payment_status(sorted(docs)) if status}
    found = {number: status.status for number, status in statuses.items()}
    assert found == {"A-1": "open", "A-2": "partially_paid", "A-3": "paid", "A-4": "overdue", "A-5": "voided",
                     "A-6": "deleted"}  # fmt: skip
    # And the due date QuickBooks holds comes with each status (the deal panel shows it)
    assert statuses["A-4"].due_date == old.issue_date + timedelta(days=14)


def test_a_booked_invoice_can_be_sent_rendered_and_opened(company: Company) -> None:
    target = company.target()
    ref = target.post_booking(plan_booking(MIXED), target.create_party(KORST), "req-2")
    target.send_invoice(ref, "books@korst.example")
    held = company.sandbox.entity(company.realm, "Invoice", ref.id)
    assert (held["EmailStatus"], held["BillEmail"]["Address"]) == ("EmailSent", "books@korst.example")
    assert target.invoice_pdf(ref).startswith(b"%PDF")
    assert target.invoice_link(ref) == f"{company.sandbox.base_url}/app/invoice?txnId={ref.id}"


def test_a_customer_changed_in_the_source_is_updated_only_when_the_setting_says_so(company: Company) -> None:
    ref = company.target().create_party(KORST)
    moved = KORST.model_copy(update={"phone": "+44 20 7946 0000"})
    company.target().update_party(ref, moved)
    assert "PrimaryPhone" not in company.sandbox.entity(company.realm, "Customer", ref.id)
    company.settings["update_customers"] = True
    company.target().update_party(ref, moved)
    held = company.sandbox.entity(company.realm, "Customer", ref.id)
    assert held["PrimaryPhone"] == {"FreeFormNumber": "+44 20 7946 0000"} and held["DisplayName"] == KORST.name


def test_a_change_made_in_quickbooks_meanwhile_is_read_again_once(company: Company) -> None:
    # Given updates are on, and the customer changes in QuickBooks between Koppel's read and its write (5010)
    company.settings["update_customers"] = True
    target = company.target()
    ref = target.create_party(KORST)
    inner = target.client.call

    def racing(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method == "POST" and path == "/customer" and not racing.done:  # type: ignore[attr-defined]
            racing.done = True  # type: ignore[attr-defined]
            with company.sandbox._lock:
                customer = company.sandbox.company(company.realm).get("Customer", ref.id)
                company.sandbox.company(company.realm).touch("Customer", customer, datetime.now(UTC))
        return inner(method, path, **kwargs)

    racing.done = False  # type: ignore[attr-defined]
    target.client.call = racing  # type: ignore[method-assign]
    # When the source's change is applied  Then the stale write is read again once and goes through
    target.update_party(ref, KORST.model_copy(update={"phone": "+44 20 7946 0001"}))
    held = company.sandbox.entity(company.realm, "Customer", ref.id)
    assert held["PrimaryPhone"] == {"FreeFormNumber": "+44 20 7946 0001"}


def test_a_name_with_quotes_is_looked_up_and_created_once(company: Company) -> None:
    party = Party(name="O'Brien's Bakery", email="")
    target = company.target()
    assert target.find_party(party) is None
    created = target.create_party(party)
    found = company.target().find_party(party)
    assert found is not None and found.id == created.id


def test_the_consent_trade_gives_the_grant_and_the_realm(server: QuickbooksSandbox) -> None:
    server.reset()
    realm = server.add_company("Consent Ltd")
    server.add_client(*CLIENT, ("https://koppel.example/cb",))
    partner = {"client_id": CLIENT[0], "client_secret": CLIENT[1], "authorize_url": f"{server.base_url}/connect/oauth2",
               "token_url": f"{server.base_url}/oauth2/v1/tokens/bearer"}  # fmt: skip
    flow = QuickbooksOAuth()
    url = flow.authorize_url(state="s" * 40, redirect_uri="https://koppel.example/cb", partner=partner)
    assert "scope=com.intuit.quickbooks.accounting" in url and "state=" + "s" * 40 in url
    back = session_for().get(url, allow_redirects=False).headers["Location"]
    query = dict(pair.split("=", 1) for pair in back.split("?", 1)[1].split("&"))
    granted = flow.exchange(code=query["code"], redirect_uri="https://koppel.example/cb", query=query, partner=partner)
    assert (granted.account, granted.account_id, granted.expires_in) == ({"realm_id": realm}, realm, 3600)


def test_koppel_preview_books_a_ccv_shop_order_into_an_empty_company() -> None:
    record = json.loads((FIXTURES / "ccvshop" / "preview_order.json").read_text(), parse_float=D)
    requests_sent = preview("ccvshop", "quickbooks", record)
    [invoice] = [r for r in requests_sent if r["method"] == "POST" and "/invoice" in r["path"]]
    assert invoice["body"]["GlobalTaxCalculation"] == "TaxExcluded"


def test_koppel_preview_of_the_pipedrive_deal_keeps_the_discounted_quantity() -> None:
    # Given the preview deal: 2 heat pumps at 6495 with 7.5 % off (12015.75 net), 16 hours at 85
    record = json.loads((FIXTURES / "pipedrive" / "preview_deal.json").read_text(), parse_float=D)
    # When it is previewed into an empty company
    [invoice] = [r for r in preview("pipedrive", "quickbooks", record) if r["path"].split("?")[0].endswith("/invoice")]
    # Then the invoice shows 2 × 6007.875 and 16 × 85, each exactly its amount
    shown = [(line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"], line["Amount"])
             for line in invoice["body"]["Line"]]  # fmt: skip
    assert shown == [(D(2), D("6007.875"), D("12015.75")), (D(16), D(85), D("1360.00"))]


# -- helpers ----------------------------------------------------------------------------------------------------------
def _connection() -> Any:
    from koppel.model import Connection

    return Connection(connection_id="qb", tenant_id="t", source="pipedrive", targets=("quickbooks",),
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


def _event(doc: SalesDocument) -> DocumentEvent:
    kind = "credit_note.created" if doc.doc_type == "credit_note" else "invoice.created"
    return DocumentEvent(event_id=f"qb:{doc.number}", tenant_id="t", connection_id="qb", source="pipedrive",
                         occurred_at=datetime(2026, 11, 20, tzinfo=UTC), kind=kind, payload=doc)  # fmt: skip


def _numbers(body: str) -> list[str]:
    found: list[str] = []
    json.loads(body, parse_float=lambda t: found.append(t) or t, parse_int=lambda t: found.append(t) or t)
    return found


def _response(status: int, body: Any) -> requests.Response:
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


def test_a_signed_notice_names_the_realms_whose_invoices_or_payments_changed() -> None:
    import base64
    import hashlib
    import hmac
    import json

    from koppel.connectors.quickbooks import CONNECTOR

    notices = CONNECTOR.change_notices
    assert notices is not None
    # Given Intuit's own signed body, which names a vendor and a customer changed: no status to read back
    body = (FIXTURES / "quickbooks" / "webhook.classic.json").read_bytes()
    assert notices.changed_accounts({"intuit-signature": DOTNET[1]}, body, {"webhook_verifier_token": DOTNET[0]}) == ()
    # When an invoice of one realm and a payment of another changed, in Intuit's format, signed
    changed = {"eventNotifications": [
        {"realmId": realm, "dataChangeEvent": {"entities": [
            {"name": entity, "id": "7", "operation": "Update", "lastUpdated": "2026-12-03T10:00:00.000Z"}]}}
        for realm, entity in (("9130", "Invoice"), ("4620", "Payment"), ("5555", "Customer"))
    ]}  # fmt: skip
    raw = json.dumps(changed).encode()
    signature = base64.b64encode(hmac.new(b"verifier", raw, hashlib.sha256).digest()).decode()
    # Then exactly those realms are named; with another token, nothing is
    assert notices.changed_accounts({"intuit-signature": signature}, raw, {"webhook_verifier_token": "verifier"}) == (
        "4620",
        "9130",
    )
    with pytest.raises(SignatureError):
        notices.changed_accounts({"intuit-signature": signature}, raw, {"webhook_verifier_token": "other"})
