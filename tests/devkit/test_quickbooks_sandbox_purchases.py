"""The QuickBooks Online sandbox's purchase side over real HTTP: vendors, bills, vendor credits and attachments."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES
from devkit.sandboxes.quickbooks.wire import dumps

if TYPE_CHECKING:
    from collections.abc import Iterator

D = Decimal


@pytest.fixture(scope="module")
def server() -> Iterator[QuickbooksSandbox]:
    sandbox = QuickbooksSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


class Api:
    def __init__(self, sandbox: QuickbooksSandbox) -> None:
        self.sandbox = sandbox
        self.realm = sandbox.add_company("Inkoop BV", currency="EUR", vat_codes=DUTCH_VAT_CODES)
        token = sandbox.issue_tokens(self.realm)["access_token"]
        self.auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.base = f"{sandbox.base_url}/v3/company/{self.realm}"

    def post(self, entity: str, body: Any, **params: str) -> requests.Response:
        headers = {**self.auth, "Content-Type": "application/json"}
        return requests.post(f"{self.base}/{entity}", data=dumps(body), headers=headers, params=params, timeout=5)

    def query(self, text: str) -> dict[str, Any]:
        answer = requests.get(f"{self.base}/query", params={"query": text}, headers=self.auth, timeout=5)
        answer.raise_for_status()
        found: dict[str, Any] = json.loads(answer.text, parse_float=D)["QueryResponse"]
        return found

    def upload(self, entity: str, ident: str, name: str, data: bytes, kind: str = "application/pdf") -> Any:
        meta = {"AttachableRef": [{"EntityRef": {"type": entity, "value": ident}}], "FileName": name,
                "ContentType": kind}  # fmt: skip
        files: dict[str, tuple[str | None, bytes, str]] = {
            "file_metadata_01": (None, json.dumps(meta).encode(), "application/json"),
            "file_content_01": (name, data, kind),
        }
        return requests.post(f"{self.base}/upload", files=files, headers=self.auth, timeout=5)


@pytest.fixture
def api(server: QuickbooksSandbox) -> Api:
    server.reset()
    return Api(server)


def _bill(vendor: str, number: str = "F-1001", **extra: Any) -> dict[str, Any]:
    def line(amount: str, code: str) -> dict[str, Any]:
        detail = {"AccountRef": {"value": "7"}, "TaxCodeRef": {"value": code}}
        return {"DetailType": "AccountBasedExpenseLineDetail", "Amount": D(amount),
                "AccountBasedExpenseLineDetail": detail}  # fmt: skip

    return {
        "VendorRef": {"value": vendor},
        "DocNumber": number,
        "TxnDate": "2026-11-20",
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": [line("100.00", "2"), line("50.00", "3")],
        **extra,
    }


def test_a_bill_is_taxed_on_the_purchase_rates_of_its_codes_and_falls_due_on_the_vendors_terms(api: Api) -> None:
    # Given a vendor paying in 30 days
    vendor = api.sandbox.add_vendor(api.realm, "Groothandel Van Dijk BV", TermRef={"value": "3"})

    # When a bill of 100.00 at 21 % and 50.00 at 9 % is posted
    answer = api.post("bill", _bill(vendor["Id"]))

    # Then QuickBooks books 175.50, owes it on the payables account, due 30 days later, and the vendor's balance rises
    assert answer.status_code == 200, answer.text
    bill = json.loads(answer.text, parse_float=D)["Bill"]
    assert (bill["TotalAmt"], bill["Balance"], bill["TxnTaxDetail"]["TotalTax"]) == (
        D("175.50"),
        D("175.50"),
        D("25.5"),
    )
    assert bill["APAccountRef"]["name"] == "Trade Creditors" and bill["DueDate"] == "2026-12-20"
    assert bill["VendorRef"]["name"] == "Groothandel Van Dijk BV"
    assert api.sandbox.entity(api.realm, "Vendor", vendor["Id"])["Balance"] == D("175.50")


def test_a_self_assessing_code_puts_no_vat_on_the_bill_and_a_vendor_credit_has_no_due_date(api: Api) -> None:
    # Given a German supplier
    vendor = api.sandbox.add_vendor(api.realm, "Bürobedarf Schmidt GmbH")
    body = _bill(vendor["Id"], Line=[_bill(vendor["Id"])["Line"][0]])
    body["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] = {"value": "6"}

    # When an intra-EU acquisition (code 0.0% ECG) and a vendor credit are posted
    bill = json.loads(api.post("bill", body).text, parse_float=D)["Bill"]
    credit = json.loads(api.post("vendorcredit", {**body, "DueDate": "2026-12-01"}).text, parse_float=D)

    # Then the deductible and the self-assessed VAT cancel, and the credit carries no due date
    assert [line["Amount"] for line in bill["TxnTaxDetail"]["TaxLine"]] == [D("21.00"), D("-21.00")]
    assert bill["TotalAmt"] == D("100.00")
    assert "DueDate" not in credit["VendorCredit"]


def test_bills_are_found_by_supplier_and_number_and_refused_without_a_vendor(api: Api) -> None:
    # Given two suppliers that both sent an F-1001
    first = api.sandbox.add_vendor(api.realm, "Van Dijk")["Id"]
    second = api.sandbox.add_vendor(api.realm, "Schmidt")["Id"]
    api.post("bill", _bill(first))
    api.post("bill", _bill(second))

    # When one is asked for by number and supplier, and a bill without a vendor is posted
    found = api.query(f"SELECT * FROM Bill WHERE DocNumber = 'F-1001' AND VendorRef = '{second}'")
    refused = api.post("bill", {k: v for k, v in _bill(first).items() if k != "VendorRef"})

    # Then only the second supplier's bill is found, and the vendor-less bill is refused in QuickBooks' words
    assert [bill["VendorRef"]["value"] for bill in found["Bill"]] == [second]
    assert refused.status_code == 400
    assert json.loads(refused.text)["Fault"]["Error"][0]["code"] == "2020"


def test_a_vendors_tax_identifier_is_read_back_masked_and_its_name_is_shared_with_customers(api: Api) -> None:
    # Given a customer named Van Dijk
    api.sandbox.add_customer(api.realm, "Van Dijk")

    # When a vendor is created with a VAT number, and another under the customer's name
    created = api.post("vendor", {"DisplayName": "Van Dijk BV", "TaxIdentifier": "NL001234567B01"})
    clash = api.post("vendor", {"DisplayName": "van dijk"})

    # Then the VAT number shows only its last four characters, and the shared name is refused with 6240
    assert json.loads(created.text)["Vendor"]["TaxIdentifier"] == "XXXXXXXXXX7B01"
    assert json.loads(clash.text)["Fault"]["Error"][0]["code"] == "6240"


def test_a_file_is_attached_to_a_bill_and_read_back_by_its_reference(api: Api) -> None:
    # Given a booked bill
    vendor = api.sandbox.add_vendor(api.realm, "Van Dijk")["Id"]
    bill = json.loads(api.post("bill", _bill(vendor)).text)["Bill"]

    # When its PDF is uploaded, and a file of a type QuickBooks does not take
    taken = api.upload("Bill", bill["Id"], "F-1001.pdf", b"%PDF-1.4\n%%EOF")
    refused = api.upload("Bill", bill["Id"], "F-1001.exe", b"MZ", "application/x-msdownload")

    # Then the PDF is held on the bill, and the other is refused inside the AttachableResponse
    assert taken.status_code == 200, taken.text
    assert taken.json()["AttachableResponse"][0]["Attachable"]["FileName"] == "F-1001.pdf"
    assert refused.status_code == 400 and "Fault" in refused.json()["AttachableResponse"][0]
    ref = f"AttachableRef.EntityRef.Type = 'Bill' AND AttachableRef.EntityRef.value = '{bill['Id']}'"
    held = api.query(f"SELECT * FROM Attachable WHERE {ref}")
    assert [row["FileName"] for row in held["Attachable"]] == ["F-1001.pdf"]


def _bill_payment(vendor: str, bill: str, amount: str, **pay: Any) -> dict[str, Any]:
    how = pay or {"PayType": "Check", "CheckPayment": {"BankAccountRef": {"value": "3"}}}
    lines = [{"Amount": D(amount), "LinkedTxn": [{"TxnId": bill, "TxnType": "Bill"}]}]
    return {"VendorRef": {"value": vendor}, "TotalAmt": D(amount), "Line": lines, **how}


def test_a_bill_payment_pays_its_bill_from_a_bank_account_and_is_refused_beyond_what_is_open(api: Api) -> None:
    # Given a bill of 175.50
    vendor = api.sandbox.add_vendor(api.realm, "Van Dijk")["Id"]
    bill = json.loads(api.post("bill", _bill(vendor)).text)["Bill"]

    # When 100.00 is paid from the bank, then 100.00 again, 75.50 from an expense account, and the bill deleted
    paid = api.post("billpayment", _bill_payment(vendor, bill["Id"], "100.00"))
    too_much = api.post("billpayment", _bill_payment(vendor, bill["Id"], "100.00"))
    not_a_bank = api.post("billpayment", _bill_payment(
        vendor, bill["Id"], "75.50", PayType="Check", CheckPayment={"BankAccountRef": {"value": "8"}}))  # fmt: skip
    deleted = api.post("bill", {"Id": bill["Id"], "SyncToken": "1"}, operation="delete")

    # Then the first is booked as a check on the bank account and leaves 75.50 open on the bill, which names it;
    # the others are refused in QuickBooks' words (6000), and a paid bill is not deleted
    assert paid.status_code == 200, paid.text
    payment = json.loads(paid.text, parse_float=D)["BillPayment"]
    assert payment["CheckPayment"]["BankAccountRef"] == {"value": "3", "name": "Current"}
    held = api.query(f"SELECT * FROM Bill WHERE Id = '{bill['Id']}'")["Bill"][0]
    assert held["Balance"] == D("75.50")
    assert held["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "BillPayment"}]
    for refused in (too_much, not_a_bank, deleted):
        assert refused.status_code == 400 and json.loads(refused.text)["Fault"]["Error"][0]["code"] == "6000"
    assert api.sandbox.entity(api.realm, "Vendor", vendor)["Balance"] == D("75.50")
