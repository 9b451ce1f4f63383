"""The Billy sandbox's purchase side over real HTTP: bills from suppliers, their lines on expense accounts and
purchase tax rates, files and the attachments that tie them to a bill."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from devkit.sandboxes.billy.sandbox import BillySandbox
from koppel import wire

TOKEN = "purchases-sandbox-token"
D = Decimal


@pytest.fixture(scope="module")
def running_sandbox():
    sandbox = BillySandbox(seed=5)
    sandbox.start()
    sandbox.add_organization("Indkøb ApS", token=TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running_sandbox: BillySandbox) -> BillySandbox:
    running_sandbox.reset()
    running_sandbox.store.clock = lambda: datetime.now(UTC)
    return running_sandbox


def call(sandbox: BillySandbox, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    headers = {"X-Access-Token": TOKEN, "Content-Type": "application/json"}
    raw = wire.dumps(body) if body is not None else None
    return requests.request(method, sandbox.base_url + path, data=raw, params=params, headers=headers, timeout=5)


def data(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def supplier(sandbox: BillySandbox, name: str = "Kontorland A/S") -> dict[str, Any]:
    return sandbox.add_contact(name, "DK", isSupplier=True, isCustomer=False, registrationNo="DK12345678")


def bill_body(sandbox: BillySandbox, contact_id: str, **extra: Any) -> dict[str, Any]:
    account = sandbox.find("accounts", accountNo=3610)["id"]
    rate = sandbox.find("taxRates", abbreviation="K25")["id"]
    return {
        "bill": {
            "contactId": contact_id, "entryDate": "2026-11-20", "dueDate": "2026-12-20", "currencyId": "DKK",
            "suppliersInvoiceNo": "F-1001", "taxMode": "excl", "state": "draft",
            "lines": [
                {"accountId": account, "taxRateId": rate, "description": "Papir", "amount": 100},
                {"accountId": account, "taxRateId": rate, "description": "Toner", "amount": D("33.33")},
            ],
            **extra,
        }
    }  # fmt: skip


def test_a_draft_bill_holds_billys_vat_and_is_approved_once(sandbox: BillySandbox) -> None:
    # Given a supplier  When a bill of two lines at 25 % is posted as a draft
    contact = supplier(sandbox)
    created = call(sandbox, "POST", "/v2/bills", bill_body(sandbox, contact["id"]))

    # Then Billy answers the bill and its lines with the VAT it computed per line (33.33 × 25 % = 8.33)
    assert created.status_code == 200, created.text
    answer = data(created)
    [bill] = answer["bills"]
    assert [line["tax"] for line in answer["billLines"]] == [D(25), D("8.33")]
    assert (bill["amount"], bill["tax"], bill["grossAmount"], bill["state"]) == (D("133.33"), D("33.33"),
                                                                                  D("166.66"), "draft")  # fmt: skip
    assert (bill["dueDate"], bill["suppliersInvoiceNo"], bill["isPaid"]) == ("2026-12-20", "F-1001", False)

    # When it is approved, and approved again
    approved = call(sandbox, "PUT", f"/v2/bills/{bill['id']}", {"bill": {"state": "approved"}})
    again = call(sandbox, "PUT", f"/v2/bills/{bill['id']}", {"bill": {"state": "draft"}})

    # Then it is approved once, and can't go back
    assert data(approved)["bills"][0]["state"] == "approved"
    assert again.status_code == 422
    assert "draft to approved" in data(again)["errorMessage"]


def test_bills_are_found_by_supplier_and_their_invoice_number(sandbox: BillySandbox) -> None:
    # Given two suppliers that both sent an F-1001
    first, second = supplier(sandbox), supplier(sandbox, "Papirhuset ApS")
    for contact in (first, second):
        assert call(sandbox, "POST", "/v2/bills", bill_body(sandbox, contact["id"])).status_code == 200

    # When the bills are listed by the supplier's invoice number, and by that and the contact
    both = data(call(sandbox, "GET", "/v2/bills", suppliersInvoiceNo="F-1001"))["bills"]
    one = data(call(sandbox, "GET", "/v2/bills", suppliersInvoiceNo="F-1001", contactId=second["id"]))["bills"]

    # Then the number is not unique in Billy, and the contact tells them apart
    assert len(both) == 2
    assert [bill["contactName"] for bill in one] == ["Papirhuset ApS"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"entryDate": None}, "entryDate"),
        ({"taxMode": "gross"}, "taxMode"),
    ],
)
def test_a_bill_billy_cannot_take_is_refused_with_its_field(
    sandbox: BillySandbox, change: dict[str, Any], field: str
) -> None:
    # Given a bill with one thing wrong  When it is posted
    body = bill_body(sandbox, supplier(sandbox)["id"])
    body["bill"].update(change)
    refused = call(sandbox, "POST", "/v2/bills", body)

    # Then Billy refuses it in its 422 shape, naming the field, and saves nothing
    assert refused.status_code == 422
    assert field in data(refused)["validationErrors"]["bill"]["attributes"]
    assert sandbox.records("bills") == []


def test_a_line_needs_a_purchase_tax_rate_and_a_customer_is_no_supplier(sandbox: BillySandbox) -> None:
    # Given a bill whose line names a sales tax rate, and a bill for a contact that is only a customer
    body = bill_body(sandbox, supplier(sandbox)["id"])
    body["bill"]["lines"][0]["taxRateId"] = sandbox.find("taxRates", abbreviation="S25")["id"]
    customer = sandbox.add_contact("Kunde ApS", "DK")

    # When both are posted
    sales_rate = call(sandbox, "POST", "/v2/bills", body)
    for_customer = call(sandbox, "POST", "/v2/bills", bill_body(sandbox, customer["id"]))

    # Then both are refused, saying why
    assert data(sales_rate)["validationErrors"]["bill"]["attributes"] == {"taxRateId": "Not a purchase tax rate."}
    assert data(for_customer)["validationErrors"]["bill"]["attributes"] == {
        "contactId": "The contact is not a supplier."
    }


def test_a_file_is_uploaded_raw_and_attached_to_a_bill(sandbox: BillySandbox) -> None:
    # Given a bill
    bill = data(call(sandbox, "POST", "/v2/bills", bill_body(sandbox, supplier(sandbox)["id"])))["bills"][0]

    # When a PDF is uploaded as the raw body and attached to the bill
    headers = {"X-Access-Token": TOKEN, "X-Filename": "F-1001.pdf", "Content-Type": "application/pdf"}
    pdf = b"%PDF-1.4 F-1001\n%%EOF"
    uploaded = requests.post(f"{sandbox.base_url}/v2/files", data=pdf, headers=headers, timeout=5)
    [file] = data(uploaded)["files"]
    body = {"attachment": {"ownerReference": f"bill:{bill['id']}", "fileId": file["id"]}}
    attached = call(sandbox, "POST", "/v2/attachments", body)

    # Then the bill lists it with its file name
    assert (file["fileName"], file["isPdf"], file["fileSize"]) == ("F-1001.pdf", True, len(pdf))
    assert attached.status_code == 200, attached.text
    read = data(call(sandbox, "GET", f"/v2/bills/{bill['id']}", include="bill.attachments:embed,attachment.file:embed"))
    assert [a["file"]["fileName"] for a in read["bill"]["attachments"]] == ["F-1001.pdf"]


def test_an_upload_without_a_file_name_or_an_attachment_without_an_owner_is_refused(sandbox: BillySandbox) -> None:
    # Given no X-Filename, and an attachment naming a bill that does not exist
    nameless = requests.post(f"{sandbox.base_url}/v2/files", data=b"%PDF", headers={"X-Access-Token": TOKEN}, timeout=5)
    orphan = call(sandbox, "POST", "/v2/attachments", {"attachment": {"ownerReference": "bill:nope", "fileId": "x"}})

    # Then both are refused, and nothing is kept
    assert (nameless.status_code, orphan.status_code) == (400, 422)
    assert sandbox.records("files") == [] and sandbox.records("attachments") == []
