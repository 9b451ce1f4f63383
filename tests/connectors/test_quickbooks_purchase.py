"""QuickBooks Online's purchase side: the golden Bill and Vendor bodies (pure), foreign VAT refused or booked as a
cost, and the conversation with a real QuickbooksSandbox over HTTP (the purchase chart read after connecting, the
supplier look-up order, the vendor's refusals parked in its own words, files attached once)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES
from koppel.adapters.memory import MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors.contract import AttachedFile
from koppel.connectors.quickbooks.purchase_mapping import purchase_form, vendor_body
from koppel.connectors.quickbooks.settings import QuickbooksSettings
from koppel.errors import MappingError, PermanentError
from koppel.model import DocumentEvent, Line, Party, SalesDocument
from koppel.preview import preview
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.purchases import VAN_DIJK
from tests.connectors.test_quickbooks import Company, server  # noqa: F401  (the module's sandbox, a fixture)

if TYPE_CHECKING:
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox

D = Decimal
CLIENT = ("koppel-app", "koppel-secret")
UBL = Path(__file__).resolve().parents[1] / "fixtures" / "ubl"
DUTCH = QuickbooksSettings(
    purchase_tax_codes={"21": "2", "9": "3", "0": "4"},
    purchase_tax_code_rates={"2": {"2": "21"}, "3": {"4": "9"}, "4": {"6": "0"}, "8": {"14": "21", "16": "-21"}},
    purchase_category_tax_codes={"reverse_charge": "8", "intra_eu": "6", "exempt": "5"},
    expense_account_id="7",
    cost_group_accounts={"Kantoor": "8"},
)


def _line(text: str, amount: str, rate: int, category: Any = "standard", group: str = "") -> Line:
    return Line(description=text, unit_price=D(amount), amount=D(amount), vat_rate=D(rate), vat_category=category,
                product_group=group)  # fmt: skip


def _purchase(number: str, lines: list[Line], total: str, party: Party = VAN_DIJK, **fields: Any) -> SalesDocument:
    return SalesDocument.model_validate(
        {"direction": "purchase", "source_id": number, "number": number, "issue_date": date(2026, 11, 20),
         "due_days": 30, "currency": "EUR", "prices_include_vat": False, "party": party, "lines": tuple(lines),
         "total": D(total), **fields}
    )  # fmt: skip


TWO_RATES = _purchase(
    "F-1001", [_line("Kantoorartikelen", "100.00", 21, group="Kantoor"), _line("Koffie", "50.00", 9)], "175.50"
)
GERMAN_VAT = _purchase("F-1003", [_line("Messestand Köln", "100.00", 19)], "119.00", vat_country="DE")


# -- pure: the bodies -------------------------------------------------------------------------------------------------
def test_a_two_rate_purchase_translates_to_the_golden_bill_json() -> None:
    # Given a supplier's invoice of 100.00 office supplies at 21 % and 50.00 coffee at 9 %, due in 30 days
    # When it is translated
    body = purchase_form(plan_booking(TWO_RATES), "41", DUTCH)

    # Then it is exactly QuickBooks' Bill: net lines on their cost accounts and purchase codes, QuickBooks taxing them
    assert body == {
        "VendorRef": {"value": "41"},
        "DocNumber": "F-1001",
        "TxnDate": "2026-11-20",
        "CurrencyRef": {"value": "EUR"},
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": [
            {"DetailType": "AccountBasedExpenseLineDetail", "Amount": D("100.00"), "Description": "Kantoorartikelen",
             "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "8"}, "TaxCodeRef": {"value": "2"}}},
            {"DetailType": "AccountBasedExpenseLineDetail", "Amount": D("50.00"), "Description": "Koffie",
             "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}, "TaxCodeRef": {"value": "3"}}},
        ],
        "PrivateNote": "Booked by Koppel from Groothandel Van Dijk BV's F-1001",
        "DueDate": "2026-12-20",
    }  # fmt: skip


def test_a_credit_note_is_a_vendor_credit_with_positive_amounts_and_reverse_charge_goes_to_its_own_code() -> None:
    # Given a credit of 40.00 at 21 % and a reverse-charged subcontractor's invoice
    credit = _purchase("C-0042", [_line("Retour", "-40.00", 21)], "-48.40", doc_type="credit_note")
    verlegd = _purchase("2026-077", [_line("Metselwerk", "1000.00", 0, "reverse_charge")], "1000.00")

    # When both are translated
    credit_body = purchase_form(plan_booking(credit), "41", DUTCH)
    verlegd_body = purchase_form(plan_booking(verlegd), "41", DUTCH)

    # Then the credit is booked positive without a due date, and the reverse charge on the company's RC code
    assert [line["Amount"] for line in credit_body["Line"]] == [D("40.00")] and "DueDate" not in credit_body
    assert verlegd_body["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "8"}
    assert "TxnTaxDetail" not in verlegd_body  # its two rates cancel: QuickBooks' own tax is the invoice's 0


def test_foreign_vat_is_refused_by_default_and_booked_as_a_cost_where_a_ledger_is_mapped() -> None:
    # Given a German supplier's invoice charging 19 % German VAT
    booking = plan_booking(GERMAN_VAT)

    # When it is translated with the default mapping, Then it is refused naming the country, the VAT and what to do
    with pytest.raises(MappingError, match=r"F-1003 .*charges DE VAT \(19 %\).*map a ledger for foreign VAT"):
        purchase_form(booking, "41", DUTCH)

    # When a ledger for foreign VAT is mapped, Then the VAT is a cost line of its own and nothing is deductible
    mapped = DUTCH.model_copy(update={"foreign_vat_account_id": "8", "purchase_category_tax_codes": {
        **DUTCH.purchase_category_tax_codes, "outside_scope": "9"}})  # fmt: skip
    body = purchase_form(booking, "41", mapped)
    booked = [(line["Amount"], line["AccountBasedExpenseLineDetail"]["TaxCodeRef"]["value"]) for line in body["Line"]]
    assert booked == [(D("100.00"), "9"), (D("19.00"), "9")]
    assert body["Line"][1]["Description"] == "DE VAT 19 % (not deductible)"


def test_a_supplier_translates_to_the_golden_vendor_with_its_numbers_in_notes() -> None:
    assert vendor_body(VAN_DIJK) == {
        "DisplayName": "Groothandel Van Dijk BV",
        "CompanyName": "Groothandel Van Dijk BV",
        "PrimaryEmailAddr": {"Address": "facturen@vandijk.example"},
        "BillAddr": {"Line1": "Industrieweg 4", "City": "Utrecht", "PostalCode": "3542 AD", "Country": "NL",
                     "CountryCode": "NL"},
        "TaxIdentifier": "NL001234567B01",
        "Notes": "VAT number: NL001234567B01\nKvK: 12345678\nIBAN: NL91ABNA0417164300",
    }  # fmt: skip


# -- against the sandbox ----------------------------------------------------------------------------------------------
@pytest.fixture
def company(server: QuickbooksSandbox) -> Company:  # noqa: F811  (the imported fixture)
    server.reset()
    server.set_rate_limit(None, None)
    return Company(server, DUTCH_VAT_CODES, "EUR")


def test_the_purchase_chart_is_read_after_connecting(company: Company) -> None:
    # Then each rate has its one purchase code, the self-assessing and exempt codes are recognised by name, and
    # purchases go to the company's "Purchases" cost account
    assert company.settings["purchase_tax_codes"] == {"21": "2", "9": "3", "0": "4"}
    assert company.settings["purchase_category_tax_codes"] == {
        "reverse_charge": "8", "intra_eu": "6", "export": "7", "exempt": "5"
    }  # fmt: skip
    assert company.settings["purchase_tax_code_rates"]["8"] == {"14": "21", "16": "-21"}
    assert company.settings["expense_account_id"] == "7"


def test_a_supplier_is_found_by_vat_number_then_kvk_then_name(company: Company) -> None:
    # Given three vendors: one holding Van Dijk's VAT number, one its KvK number, one its name
    add = company.sandbox.add_vendor
    by_vat = add(company.realm, "VD Groothandel", Notes="VAT number: NL 0012.34567.B01")["Id"]
    by_coc = add(company.realm, "Van Dijk (KvK)", Notes="KvK: 12345678")["Id"]
    by_name = add(company.realm, "groothandel van dijk bv", Active=False)["Id"]
    target = company.target()

    # When the supplier is looked up with all its numbers, without its VAT number, and with neither
    found = [target.find_supplier(party) for party in (
        VAN_DIJK, VAN_DIJK.model_copy(update={"vat_number": ""}),
        VAN_DIJK.model_copy(update={"vat_number": "", "coc_number": ""}),
    )]  # fmt: skip

    # Then the VAT number wins, then the KvK number, then the name (an inactive vendor made active to book on)
    assert [ref.id if ref else None for ref in found] == [by_vat, by_coc, by_name]
    assert company.sandbox.entity(company.realm, "Vendor", by_name)["Active"] is True


def test_a_supplier_whose_name_a_customer_holds_is_created_as_supplier_and_found_again_by_vat(company: Company) -> None:
    # Given a customer of the same name
    company.sandbox.add_customer(company.realm, "Groothandel Van Dijk BV")
    target = company.target()

    # When the supplier is created, and looked up again (its VAT number only readable from the Notes written)
    created = target.create_supplier(VAN_DIJK)
    again = target.find_supplier(VAN_DIJK.model_copy(update={"name": "Van Dijk Groothandel B.V.", "coc_number": ""}))

    # Then it is a vendor named so, found again by its VAT number although QuickBooks masks its TaxIdentifier
    assert created.number == "Groothandel Van Dijk BV (supplier)"
    assert again is not None and again.id == created.id


def test_a_refusal_of_quickbooks_parks_the_purchase_with_its_code_and_words(company: Company) -> None:
    # Given the company's cost account made inactive after connecting
    with company.sandbox._lock:
        company.sandbox.company(company.realm).table("Account")["8"]["Active"] = False
    event = DocumentEvent(
        event_id="qb:F-1001",
        tenant_id="t",
        connection_id="qb",
        source="banqup",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        kind="invoice.created",
        payload=TWO_RATES,
    )
    settings = {**company.settings, "cost_group_accounts": {"Kantoor": "8"}}
    company.settings = settings

    # When the purchase is delivered
    result = deliver(event, DeliverDeps(target=company.target(), target_name="quickbooks", ledger=MemoryLedger()))

    # Then it is parked in QuickBooks' own words, and no bill is booked
    assert result.outcome == "parked"
    assert "2500 Invalid Reference Id" in result.reason and "Account" in result.reason
    assert company.sandbox.entities(company.realm, "Bill") == []


def test_a_file_is_attached_once_and_a_refused_file_is_refused_in_quickbooks_words(company: Company) -> None:
    # Given a booked bill
    target = company.target()
    supplier = target.create_supplier(VAN_DIJK)
    ref = target.post_purchase(plan_booking(TWO_RATES), supplier, "req-1")

    # When its PDF is attached twice, and a program file once
    pdf = AttachedFile("F-1001.pdf", "application/pdf", b"%PDF-1.4\n%%EOF")
    target.attach(ref, pdf)
    target.attach(ref, pdf)
    with pytest.raises(PermanentError, match=r"2170 Invalid Enumeration: Unsupported content type"):
        target.attach(ref, AttachedFile("setup.exe", "application/x-msdownload", b"MZ"))

    # Then the bill holds the PDF once
    assert [row["FileName"] for row in company.sandbox.entities(company.realm, "Attachable")] == ["F-1001.pdf"]


def test_what_is_still_to_be_paid_of_booked_purchases_is_read_back(company: Company) -> None:
    # Given four bills of 175.50: one fell due in 2020, one falls due in 2099 and was paid 75.50 of, one was paid in
    # full and one was deleted
    target = company.target()
    supplier = target.create_supplier(VAN_DIJK)
    issued = [date(2020, 1, 1), date(2099, 1, 1), date(2026, 11, 20), date(2026, 11, 20)]
    refs = [target.post_purchase(plan_booking(TWO_RATES.model_copy(update={"number": f"F-{n}", "issue_date": day})),
                                 supplier, f"r{n}") for n, day in enumerate(issued)]  # fmt: skip
    company.sandbox.pay_bill(company.realm, refs[1].id, "75.50")
    company.sandbox.pay_bill(company.realm, refs[2].id, "175.50")
    company.sandbox.delete(company.realm, "Bill", refs[3].id)

    # When their status is read
    statuses = dict(target.purchase_status(refs))

    # Then the first is overdue in full, the second partly paid, the third needs nothing, the fourth is deleted
    seen = {ident: (s.status, s.amount_open, s.due_date) if s else None for ident, s in statuses.items()}
    assert seen == {
        refs[0].id: ("overdue", D("175.50"), date(2020, 1, 31)),
        refs[1].id: ("partially_paid", D("100.00"), date(2099, 1, 31)),
        refs[2].id: None,
        refs[3].id: ("deleted", D(0), None),
    }


def test_koppel_preview_books_a_banqup_purchase_into_an_empty_company() -> None:
    # Given a subcontractor's UBL invoice with VAT reverse-charged
    record = {"filename": "reverse-charge-ae.xml", "content": (UBL / "reverse-charge-ae.xml").read_bytes()}

    # When it is previewed into an empty company
    sent = preview("banqup", "quickbooks", record)

    # Then the vendor list is read (empty), the supplier created, the bill booked and the original uploaded
    paths = [(r["method"], r["path"].split("?")[0].rsplit("/", 1)[-1]) for r in sent]
    assert paths == [("GET", "query"), ("POST", "vendor"), ("GET", "query"), ("POST", "bill"), ("GET", "query"),
                     ("POST", "upload")]  # fmt: skip
    bill = sent[3]["body"]
    assert bill["Line"][0]["AccountBasedExpenseLineDetail"] == {
        "AccountRef": {"value": "7"},
        "TaxCodeRef": {"value": "8"},
    }
    assert sent[5]["body"]["file"].startswith("multipart/form-data")
