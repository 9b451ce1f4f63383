"""The Billy sandbox over real HTTP on 127.0.0.1: what a Simply CRM ↔ Billy connector would notice."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.sandboxes.billy.sandbox import BillySandbox
from devkit.sandboxes.billy.wire import BillyError

# Billy's documentation examples and a live product record, kept in tests/fixtures/billy (see SOURCE.txt there).
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "billy"
TOKEN = "0f3c1d2e4b5a69788796a5b4c3d2e1f0a1b2c3d4"


@pytest.fixture(scope="module")
def running_sandbox():
    sandbox = BillySandbox(seed=7)
    sandbox.start()
    sandbox.add_organization("Koppel Demo ApS", token=TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running_sandbox: BillySandbox) -> BillySandbox:
    running_sandbox.reset()  # one server for the module, a clean company per test
    running_sandbox.store.clock = lambda: datetime.now(UTC)
    return running_sandbox


def call(sandbox: BillySandbox, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    headers = {"X-Access-Token": TOKEN}
    return requests.request(method, sandbox.base_url + path, json=body, params=params, headers=headers, timeout=5)


def data(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(), parse_float=Decimal)


def danish_customer(sandbox: BillySandbox, country: str = "DK", kind: str = "company") -> dict[str, Any]:
    return sandbox.add_contact("Jensen ApS", country, type=kind, persons=[("Ole Jensen", "ole@jensen.dk")])


def capes(sandbox: BillySandbox) -> dict[str, Any]:
    return sandbox.add_product("Bat capes", {"DKK": "100"}, productNo="CAPE-1")


def draft(sandbox: BillySandbox, contact_id: str, product_id: str, **extra: Any) -> requests.Response:
    line = {"productId": product_id, "quantity": 2, "unitPrice": 100}
    body = {"invoice": {"contactId": contact_id, "entryDate": "2026-11-20", "lines": [line], **extra}}
    return call(sandbox, "POST", "/v2/invoices", body)


def approved_invoice(sandbox: BillySandbox) -> dict[str, Any]:
    contact, product = danish_customer(sandbox), capes(sandbox)
    line = {"productId": product["id"], "quantity": 2, "unitPrice": 100}
    return sandbox.add_invoice(contact["id"], [line], approve=True)


# -- auth and the organization --------------------------------------------------------------------------------------
def test_a_missing_or_unknown_token_is_refused_with_401_in_billys_error_shape(sandbox: BillySandbox) -> None:
    # Given no token, and then a token Billy never issued
    missing = requests.get(sandbox.base_url + "/v2/organization", timeout=5)
    wrong = requests.get(sandbox.base_url + "/v2/contacts", headers={"X-Access-Token": "nope"}, timeout=5)

    # Then both are 401 with errorCode and errorMessage
    for response in (missing, wrong):
        assert response.status_code == 401
        assert data(response)["errorCode"] == "AUTHENTICATION_REQUIRED"
        assert data(response)["errorMessage"]


def test_a_token_checks_out_against_its_one_organization_and_user(sandbox: BillySandbox) -> None:
    # When the connector checks its token
    organization = data(call(sandbox, "GET", "/v2/organization"))["organization"]
    user = data(call(sandbox, "GET", "/v2/user"))["user"]

    # Then it sees its company (Danish, in DKK, prices excluding VAT by default) and the owner
    assert organization["id"] == sandbox.organization(TOKEN).id
    assert (organization["countryId"], organization["baseCurrencyId"]) == ("DK", "DKK")
    assert organization["defaultTaxMode"] == "excl"
    assert user["id"] == organization["ownerUserId"]
    # And a second company has its own token and sees none of the first one's contacts
    other = sandbox.add_organization("Anden ApS")
    sandbox.add_contact("Only in the first", org=TOKEN)
    headers = {"X-Access-Token": other.token}
    listed = requests.get(sandbox.base_url + "/v2/contacts", headers=headers, timeout=5)
    assert data(listed)["contacts"] == []


# -- contacts and products ------------------------------------------------------------------------------------------
def test_a_contact_is_posted_wrapped_and_every_changed_record_comes_back(sandbox: BillySandbox) -> None:
    # When a contact with a contact person is created, wrapped in its singular name
    contact = {
        "name": "Jensen ApS",
        "countryId": "DK",
        "registrationNo": "DK12345678",
        "contactPersons": [{"name": "Ole Jensen", "email": "ole@jensen.dk", "isPrimary": True}],
        "_clientId": "c1",
    }
    response = call(sandbox, "POST", "/v2/contacts", {"contact": contact})

    # Then the answer holds the contact and its person by plural name; the e-mail lives on the person
    body = data(response)
    assert response.status_code == 200
    assert body["contacts"][0]["registrationNo"] == "DK12345678"
    assert body["contacts"][0]["_clientId"] == "c1"
    assert body["contactPersons"][0]["email"] == "ole@jensen.dk"
    assert body["contactPersons"][0]["contactId"] == body["contacts"][0]["id"]
    # And GET of one record answers under the singular name
    one = data(call(sandbox, "GET", f"/v2/contacts/{body['contacts'][0]['id']}"))
    assert one["contact"]["name"] == "Jensen ApS"


def test_the_documented_product_with_prices_is_accepted_and_looks_like_a_live_record(sandbox: BillySandbox) -> None:
    # Given the docs' product example (its one missing comma added) with real ids
    text = (SAMPLES / "docs.product.create.request.with-prices.invalid-json-fragment.txt").read_text()
    text = text.split("\n", 1)[1].replace('"SALES TAX RULESET ID"\n', '"SALES TAX RULESET ID",\n')
    org = sandbox.organization(TOKEN)
    text = text.replace("YOUR ORGANIZATION ID", org.id).replace(
        "REVENUE ACCOUNT ID", org.record["defaultSalesAccountId"]
    )
    text = text.replace("SALES TAX RULESET ID", org.record["defaultSalesTaxRulesetId"])

    # When it is posted
    response = requests.post(sandbox.base_url + "/v2/products", data=text, headers={"X-Access-Token": TOKEN}, timeout=5)

    # Then the product has exactly the keys of a live product record and its prices are separate records
    body = data(response)
    assert response.status_code == 200
    assert set(body["products"][0]) == set(sample("product.get.record.json"))
    prices = {(p["currencyId"], p["unitPrice"]) for p in body["productPrices"]}
    assert prices == {("USD", 14000), ("EUR", 10000)}
    # And the prices come with the product only when asked for
    product_id = body["products"][0]["id"]
    assert "prices" not in data(call(sandbox, "GET", f"/v2/products/{product_id}"))["product"]
    embedded = data(call(sandbox, "GET", f"/v2/products/{product_id}", include="product.prices:embed"))
    assert len(embedded["product"]["prices"]) == 2


def test_a_contact_with_an_invalid_person_is_not_saved_at_all(sandbox: BillySandbox) -> None:
    # When one embedded person has neither name nor e-mail
    contact = {"name": "Half ApS", "countryId": "DK", "contactPersons": [{"name": "A"}, {"isPrimary": True}]}
    response = call(sandbox, "POST", "/v2/contacts", {"contact": contact})

    # Then Billy refuses the whole request (embedded saves are atomic) and nothing was stored
    assert response.status_code == 422
    assert sandbox.everything(TOKEN) == {}


# -- invoices -------------------------------------------------------------------------------------------------------
def test_an_invoice_comes_back_with_its_lines_and_the_vat_billy_computed(sandbox: BillySandbox) -> None:
    # Given a Danish company and a product under the default (Danish VAT) ruleset
    contact, product = danish_customer(sandbox), capes(sandbox)

    # When a draft with one line of 2 × 100 and a 10 % discount is posted
    line = {"productId": product["id"], "quantity": 2, "unitPrice": 100, "discountMode": "percent", "discountValue": 10}
    body = {"invoice": {"contactId": contact["id"], "entryDate": "2026-11-20", "currencyId": "DKK", "lines": [line]}}
    answer = data(call(sandbox, "POST", "/v2/invoices", body))

    # Then invoices and invoiceLines come back, with net amount, 25 % VAT, gross amount and balance
    invoice, saved_line = answer["invoices"][0], answer["invoiceLines"][0]
    assert (saved_line["amount"], saved_line["tax"]) == (180, 45)
    assert saved_line["taxRateId"] == sandbox.find("taxRates", TOKEN, abbreviation="S25")["id"]
    assert (invoice["amount"], invoice["tax"], invoice["grossAmount"]) == (180, 45, 225)
    assert (invoice["state"], invoice["balance"], invoice["isPaid"]) == ("draft", 225, False)
    assert invoice["invoiceNo"] == "1"  # assigned at creation from the company's number model
    assert invoice["dueDate"] == "2026-11-28"  # entry date + the company's 8 days net


def test_approval_is_a_separate_update_and_the_only_state_change(sandbox: BillySandbox) -> None:
    # Given a draft invoice
    contact, product = danish_customer(sandbox), capes(sandbox)
    invoice_id = data(draft(sandbox, contact["id"], product["id"]))["invoices"][0]["id"]

    # When it is approved with a separate PUT
    approved = call(sandbox, "PUT", f"/v2/invoices/{invoice_id}", {"invoice": {"state": "approved"}})

    # Then the changed invoice comes back approved, with its approval time
    invoice = data(approved)["invoices"][0]
    assert (invoice["state"], invoice["balance"]) == ("approved", 250)
    assert invoice["approvedTime"] is not None
    assert "invoiceLines" not in data(approved)  # the lines did not change
    # And it cannot go back to draft, nor change its lines
    back = call(sandbox, "PUT", f"/v2/invoices/{invoice_id}", {"invoice": {"state": "draft"}})
    assert back.status_code == 422
    assert data(back)["validationErrors"]["invoice"]["attributes"] == {"state": "Invalid state change."}
    assert call(sandbox, "PUT", f"/v2/invoices/{invoice_id}", {"invoice": {"contactMessage": "Tak!"}}).ok


def test_the_documented_bank_payment_pays_the_invoice(sandbox: BillySandbox) -> None:
    # Given an approved invoice of 250 and Billy's documented payment body with real ids
    invoice = approved_invoice(sandbox)
    org = sandbox.organization(TOKEN)
    request = sample("docs.bankPayment.create.request.json")
    payment = request["bankPayment"]
    payment |= {"organizationId": org.id, "cashAccountId": org.record["defaultInvoiceBankAccountId"]}
    payment["associations"][0]["subjectReference"] = f"invoice:{invoice['id']}"

    # When 100 is paid first, then the rest
    payment["cashAmount"] = 100
    first = data(call(sandbox, "POST", "/v2/bankPayments", request))
    payment["cashAmount"] = 150
    second = data(call(sandbox, "POST", "/v2/bankPayments", request))

    # Then the answers carry the payment, its association and the invoice with balance and isPaid moved
    assert first["invoices"][0]["balance"] == 150
    assert first["invoices"][0]["isPaid"] is False
    assert first["balanceModifiers"][0]["subjectReference"] == f"invoice:{invoice['id']}"
    assert (second["invoices"][0]["balance"], second["invoices"][0]["isPaid"]) == (0, True)
    assert second["bankPayments"][0]["cashSide"] == "debit"
    # And the paid filter finds it
    assert [i["id"] for i in data(call(sandbox, "GET", "/v2/invoices", isPaid="true"))["invoices"]] == [invoice["id"]]


def test_voiding_a_payment_opens_the_invoice_again(sandbox: BillySandbox) -> None:
    invoice = approved_invoice(sandbox)
    payment = sandbox.register_payment(invoice["id"])

    voided = data(call(sandbox, "PUT", f"/v2/bankPayments/{payment['id']}", {"bankPayment": {"isVoided": True}}))

    assert (voided["invoices"][0]["balance"], voided["invoices"][0]["isPaid"]) == (250, False)
    again = call(sandbox, "PUT", f"/v2/bankPayments/{payment['id']}", {"bankPayment": {"isVoided": False}})
    assert again.status_code == 422


def test_an_overpayment_goes_to_the_contacts_balance_unless_configured_to_be_refused(sandbox: BillySandbox) -> None:
    # Given an approved invoice of 250
    invoice = approved_invoice(sandbox)

    # When 300 is registered
    payment = sandbox.register_payment(invoice["id"], "300")

    # Then the invoice is paid and 50 is on the contact's balance, as Billy documents
    assert sandbox.record("invoices", invoice["id"], TOKEN)["isPaid"] is True
    posting = sandbox.records("contactBalancePostings", TOKEN)[0]
    assert (posting["amount"], posting["originatorReference"]) == (50, f"bankPayment:{payment['id']}")
    # And with the other reading switched on, an overpayment is refused with 422
    other = approved_invoice(sandbox)
    sandbox.configure({"overpayment": "refuse"})
    with pytest.raises(BillyError) as refused:
        sandbox.register_payment(other["id"], "300")
    assert refused.value.status == 422


def test_a_credit_note_credits_its_invoice(sandbox: BillySandbox) -> None:
    # Given an approved invoice of 250
    invoice = approved_invoice(sandbox)

    # When a credit note for one of the two capes is approved for it
    line = {"productId": invoice_line_product(sandbox, invoice["id"]), "quantity": 1, "unitPrice": 100}
    body = {
        "invoice": {
            "type": "creditNote",
            "creditedInvoiceId": invoice["id"],
            "contactId": invoice["contactId"],
            "entryDate": "2026-11-22",
            "state": "approved",
            "lines": [line],
        }
    }
    answer = data(call(sandbox, "POST", "/v2/invoices", body))

    # Then the credit note (positive amounts) and the invoice it credits both come back, the invoice owing 125
    by_type = {i["type"]: i for i in answer["invoices"]}
    assert (by_type["creditNote"]["grossAmount"], by_type["creditNote"]["balance"]) == (125, 0)
    assert by_type["invoice"]["balance"] == 125
    credit_notes = data(call(sandbox, "GET", "/v2/invoices", creditedInvoiceId=invoice["id"]))["invoices"]
    assert [c["type"] for c in credit_notes] == ["creditNote"]


def invoice_line_product(sandbox: BillySandbox, invoice_id: str) -> str:
    return next(line["productId"] for line in sandbox.records("invoiceLines", TOKEN) if line["invoiceId"] == invoice_id)


def test_deletes_answer_with_deleted_records_as_documented(sandbox: BillySandbox) -> None:
    # When an unknown invoice is deleted: 200 and exactly the docs' answer (DELETE is idempotent)
    unknown = call(sandbox, "DELETE", "/v2/invoices/1234")
    assert unknown.status_code == 200
    assert data(unknown) == sample("docs.delete.response.deletedRecords.json")

    # When a draft is deleted, its lines go with it
    contact, product = danish_customer(sandbox), capes(sandbox)
    created = data(draft(sandbox, contact["id"], product["id"]))
    deleted = data(call(sandbox, "DELETE", f"/v2/invoices/{created['invoices'][0]['id']}"))
    assert deleted["meta"]["deletedRecords"] == {
        "invoiceLines": [created["invoiceLines"][0]["id"]],
        "invoices": [created["invoices"][0]["id"]],
    }
    # And an approved invoice cannot be deleted
    approved = approved_invoice(sandbox)
    assert call(sandbox, "DELETE", f"/v2/invoices/{approved['id']}").status_code == 422


# -- validation -----------------------------------------------------------------------------------------------------
def test_refusals_are_422_with_an_error_message_and_the_fields_at_fault(sandbox: BillySandbox) -> None:
    contact, product = danish_customer(sandbox), capes(sandbox)
    line = {"productId": product["id"], "unitPrice": 100}

    # Missing required fields, named per field under the record's _clientId
    missing = call(sandbox, "POST", "/v2/contacts", {"contact": {"_clientId": "new-1", "type": "person"}})
    assert missing.status_code == 422
    assert set(data(missing)["validationErrors"]["new-1"]["attributes"]) == {"name", "countryId"}
    # An unknown contact
    unknown = call(
        sandbox, "POST", "/v2/invoices", {"invoice": {"contactId": "nope", "entryDate": "2026-11-20", "lines": [line]}}
    )
    assert data(unknown)["validationErrors"]["invoice"]["attributes"] == {"contactId": "Unknown contact."}
    # An invoice without lines
    no_lines = call(
        sandbox, "POST", "/v2/invoices", {"invoice": {"contactId": contact["id"], "entryDate": "2026-11-20"}}
    )
    assert "lines" in data(no_lines)["validationErrors"]["invoice"]["attributes"]
    # A duplicate invoice number
    assert draft(sandbox, contact["id"], product["id"], invoiceNo="2026-001").ok
    duplicate = draft(sandbox, contact["id"], product["id"], invoiceNo="2026-001")
    assert duplicate.status_code == 422
    assert "invoiceNo" in data(duplicate)["validationErrors"]["invoice"]["attributes"]
    # Approving a draft whose last line was deleted
    created = data(draft(sandbox, contact["id"], product["id"]))
    call(sandbox, "DELETE", f"/v2/invoiceLines/{created['invoiceLines'][0]['id']}")
    empty = call(sandbox, "PUT", f"/v2/invoices/{created['invoices'][0]['id']}", {"invoice": {"state": "approved"}})
    assert empty.status_code == 422
    assert data(empty)["errorMessage"] == "An invoice without lines can't be approved."
    # A payment on a draft, and an unknown record
    pay = sandbox.organization(TOKEN).record["defaultInvoiceBankAccountId"]
    payment = {
        "entryDate": "2026-11-21",
        "cashAmount": 1,
        "cashSide": "debit",
        "cashAccountId": pay,
        "associations": [{"subjectReference": f"invoice:{created['invoices'][0]['id']}"}],
    }
    assert call(sandbox, "POST", "/v2/bankPayments", {"bankPayment": payment}).status_code == 422
    assert call(sandbox, "GET", "/v2/invoices/nope").status_code == 404


# -- reading: include, paging, filters ------------------------------------------------------------------------------
def test_include_embeds_or_sideloads_as_asked(sandbox: BillySandbox) -> None:
    # Given an invoice for a contact with a person
    invoice = approved_invoice(sandbox)

    # When lines are embedded, the contact sideloaded and the contact's persons embedded in it
    include = "invoice.lines:embed,invoice.contact:sideload,contact.contactPersons:embed"
    body = data(call(sandbox, "GET", "/v2/invoices", include=include))

    # Then the invoice carries its lines, the contact comes once under "contacts" with its persons inside
    assert body["invoices"][0]["lines"][0]["invoiceId"] == invoice["id"]
    assert body["invoices"][0]["contactId"] == body["contacts"][0]["id"]
    assert body["contacts"][0]["contactPersons"][0]["email"] == "ole@jensen.dk"
    # And a sideloaded has-many gives the child ids in "<name>Ids" and the children in their own root key
    sideloaded = data(call(sandbox, "GET", f"/v2/invoices/{invoice['id']}", include="invoice.lines"))
    assert sideloaded["invoice"]["linesIds"] == [sideloaded["invoiceLines"][0]["id"]]
    # And a relationship Billy does not have is refused
    assert call(sandbox, "GET", "/v2/invoices", include="invoice.persons").status_code == 400


def test_lists_page_with_the_documented_meta_paging(sandbox: BillySandbox) -> None:
    # Given five contacts
    for number in range(5):
        sandbox.add_contact(f"Kunde {number}")

    # When the middle page of three is read
    body = data(call(sandbox, "GET", "/v2/contacts", page=2, pageSize=2))

    # Then meta.paging has the same keys as the docs' example and the links lead on
    docs = (SAMPLES / "docs.conventions.examples.elided-fragments.txt").read_text().replace("&amp;", "&")
    block = re.search(r"=== meta.paging.*?===\n(\{.*?\n    \})\n", docs, re.S).group(1)
    documented = json.loads(block.replace("[...]", "[]"))  # the docs elide the records
    paging = body["meta"]["paging"]
    assert set(paging) == set(documented["meta"]["paging"])
    assert (paging["page"], paging["pageCount"], paging["pageSize"], paging["total"]) == (2, 3, 2, 5)
    assert [c["name"] for c in body["contacts"]] == ["Kunde 2", "Kunde 3"]
    following = requests.get(paging["nextUrl"], headers={"X-Access-Token": TOKEN}, timeout=5)
    assert [c["name"] for c in data(following)["contacts"]] == ["Kunde 4"]
    assert call(sandbox, "GET", "/v2/contacts", pageSize=1001).status_code == 400


def test_invoices_filter_on_the_documented_parameters_and_there_is_no_updated_since(sandbox: BillySandbox) -> None:
    # Given a paid, an unpaid and a draft invoice for two contacts
    paid = approved_invoice(sandbox)
    sandbox.register_payment(paid["id"])
    other = sandbox.add_contact("Hansen A/S", persons=[("Bo", "bo@hansen.dk")])
    product_id = invoice_line_product(sandbox, paid["id"])
    line = [{"productId": product_id, "unitPrice": 10}]
    unpaid = sandbox.add_invoice(other["id"], line, approve=True, entry_date="2026-10-01")
    sandbox.add_invoice(other["id"], line)

    def ids(**params: Any) -> list[str]:
        return [i["id"] for i in data(call(sandbox, "GET", "/v2/invoices", **params))["invoices"]]

    assert ids(isPaid="false", state="approved") == [unpaid["id"]]
    assert ids(contactId=paid["contactId"]) == [paid["id"]]
    assert ids(maxEntryDate="2026-10-31") == [unpaid["id"]]
    assert ids(entryDatePeriod="month:2026-10") == [unpaid["id"]]
    assert len(ids(minApprovedTime="2000-01-01 00:00:00")) == 2
    assert ids(sortProperty="invoiceNo", sortDirection="DESC", state="approved") == [unpaid["id"], paid["id"]]
    # And an updatedSince parameter is not Billy's: it filters nothing, and records carry no updatedTime
    assert len(ids(updatedSince="2099-01-01T00:00:00")) == 3
    assert "updatedTime" not in data(call(sandbox, "GET", f"/v2/invoices/{paid['id']}"))["invoice"]


# -- VAT ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("country", "kind", "abbreviation", "tax"),
    [
        ("DK", "company", "S25", 50),
        ("DE", "company", "EUV", 0),
        ("DE", "person", "S25", 50),
        ("US", "company", "EKS", 0),
    ],
)
def test_a_lines_vat_follows_the_products_ruleset_and_the_contact(
    sandbox: BillySandbox, country: str, kind: str, abbreviation: str, tax: int
) -> None:
    # Given a contact in a country, a company or a private person
    contact, product = danish_customer(sandbox, country, kind), capes(sandbox)

    # When a line of 2 × 100 is invoiced
    line = data(draft(sandbox, contact["id"], product["id"]))["invoiceLines"][0]

    # Then Danish VAT, EU reverse charge or export decides the rate
    assert line["taxRateId"] == sandbox.find("taxRates", TOKEN, abbreviation=abbreviation)["id"]
    assert line["tax"] == tax


def test_a_lines_own_tax_rate_is_ignored_used_or_refused_as_configured(sandbox: BillySandbox) -> None:
    # Given a Danish customer and the export rate named on the line
    contact, product = danish_customer(sandbox), capes(sandbox)
    export = sandbox.find("taxRates", TOKEN, abbreviation="EKS")["id"]
    body = {
        "invoice": {
            "contactId": contact["id"],
            "entryDate": "2026-11-20",
            "lines": [{"productId": product["id"], "unitPrice": 100, "taxRateId": export}],
        }
    }

    # By default it is read-only, as documented: the ruleset decides (25 %)
    assert data(call(sandbox, "POST", "/v2/invoices", body))["invoiceLines"][0]["tax"] == 25
    # Accepted, the line keeps the export rate
    sandbox.configure({"line_tax_rate": "accept"})
    accepted = data(call(sandbox, "POST", "/v2/invoices", body))["invoiceLines"][0]
    assert (accepted["taxRateId"], accepted["tax"]) == (export, 0)
    # Refused, it is a 422 on taxRateId
    sandbox.configure({"line_tax_rate": "refuse"})
    refused = call(sandbox, "POST", "/v2/invoices", body)
    assert data(refused)["validationErrors"]["invoice"]["attributes"] == {"taxRateId": "Read-only."}


def test_prices_including_vat_split_into_net_and_vat_and_rounding_is_per_line_unless_configured(
    sandbox: BillySandbox,
) -> None:
    contact, product = danish_customer(sandbox), capes(sandbox)
    incl = data(draft(sandbox, contact["id"], product["id"], taxMode="incl"))["invoices"][0]
    assert (incl["amount"], incl["tax"], incl["grossAmount"]) == (160, 40, 200)  # 2 × 100 incl. 25 %

    # Three lines of 0.10: 0.025 VAT each rounds to 0.03 per line, 0.075 to 0.08 over the invoice
    lines = [{"productId": product["id"], "unitPrice": Decimal("0.10")}] * 3
    per_line = sandbox.add_invoice(contact["id"], lines)
    sandbox.configure({"vat_rounding": "invoice"})
    per_invoice = sandbox.add_invoice(contact["id"], lines)
    assert (per_line["tax"], per_invoice["tax"]) == (Decimal("0.09"), Decimal("0.08"))


# -- helpers and control routes -------------------------------------------------------------------------------------
def test_control_routes_seed_change_pay_and_read_back(sandbox: BillySandbox) -> None:
    control = sandbox.base_url + "/_sandbox/"
    # Given a contact and product seeded over HTTP, and an approved invoice for them
    seeded = requests.post(
        control + "seed",
        json={
            "token": TOKEN,
            "contacts": [{"name": "Jensen ApS", "countryId": "DK", "contactPersons": [{"email": "ole@jensen.dk"}]}],
            "products": [
                {"name": "Bat capes", "productNo": "CAPE-1", "prices": [{"unitPrice": 100, "currencyId": "DKK"}]}
            ],
        },
        timeout=5,
    ).json()
    contact_id, product_id = seeded["contacts"][0]["id"], seeded["products"][0]["id"]
    invoice = requests.post(
        control + "seed",
        json={
            "invoices": [
                {
                    "contactId": contact_id,
                    "entryDate": "2026-11-20",
                    "state": "approved",
                    "lines": [{"productId": product_id, "unitPrice": 100}],
                }
            ]
        },
        timeout=5,
    ).json()["invoices"][0]

    # When a bookkeeper renames the contact in Billy and a customer pays
    changed = requests.post(
        control + "change",
        json={"resource": "contacts", "id": contact_id, "changes": {"name": "Jensen & Co ApS"}},
        timeout=5,
    )
    paid = requests.post(control + "payments", json={"invoiceId": invoice["id"]}, timeout=5)

    # Then the API shows both, and the records route reads everything back
    assert changed.json()["contacts"][0]["name"] == "Jensen & Co ApS"
    assert paid.json()["bankPayments"][0]["cashAmount"] == 125
    assert data(call(sandbox, "GET", f"/v2/invoices/{invoice['id']}"))["invoice"]["isPaid"] is True
    everything = requests.get(control + "records", params={"token": TOKEN}, timeout=5).json()
    assert {"contacts", "contactPersons", "products", "productPrices", "invoices", "bankPayments"} <= set(everything)
    # And a refused change comes back in Billy's shape
    refused = requests.post(
        control + "change", json={"resource": "contacts", "id": contact_id, "changes": {"countryId": "XX"}}, timeout=5
    )
    assert (refused.status_code, refused.json()["errorCode"]) == (422, "VALIDATION_ERROR")


def test_an_updated_time_can_be_switched_on_to_try_a_changed_since_strategy(sandbox: BillySandbox) -> None:
    # Given the what-if option (Billy itself has no updatedTime) and a contact made at 9:00
    requests.post(sandbox.base_url + "/_sandbox/config", json={"updated_time": True}, timeout=5)
    sandbox.store.clock = lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    contact = danish_customer(sandbox)

    # When a person changes its phone number at 9:05
    sandbox.store.clock = lambda: datetime(2026, 11, 24, 9, 5, tzinfo=UTC)
    sandbox.change_by_person("contacts", contact["id"], phone="+45 12 34 56 78")

    # Then its updatedTime moved
    after = data(call(sandbox, "GET", f"/v2/contacts/{contact['id']}"))["contact"]
    assert (after["phone"], after["updatedTime"]) == ("+45 12 34 56 78", "2026-11-24T09:05:00")


def test_invoice_emails_are_recorded_not_sent(sandbox: BillySandbox) -> None:
    invoice = approved_invoice(sandbox)
    person = sandbox.records("contactPersons", TOKEN)[0]
    email = {"contactPersonId": person["id"], "emailSubject": "Faktura", "emailBody": "Hermed faktura."}

    answer = data(call(sandbox, "POST", f"/v2/invoices/{invoice['id']}/emails", {"email": email}))

    assert answer["invoices"][0]["sentState"] == "sent"
    assert sandbox.sent_emails[0]["to"] == "ole@jensen.dk"


# -- faults ---------------------------------------------------------------------------------------------------------
def test_faults_answer_in_billys_shape_and_are_reproducible(sandbox: BillySandbox) -> None:
    # A queued throttle: 429 with Retry-After and Billy's error body
    sandbox.faults.queue("throttle")
    throttled = call(sandbox, "GET", "/v2/contacts")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "1")
    assert data(throttled)["errorCode"] == "TOO_MANY_REQUESTS"
    # An outage: 503
    sandbox.faults.queue("error")
    assert call(sandbox, "GET", "/v2/contacts").status_code == 503

    # The same seed gives the same faults
    def run() -> list[int]:
        requests.post(sandbox.base_url + "/_sandbox/faults", json={"seed": 3, "error_rate": 0.5}, timeout=5)
        return [call(sandbox, "GET", "/v2/contacts").status_code for _ in range(8)]

    assert run() == run()
    assert 503 in run()


def test_numbers_can_wait_for_approval_and_a_foreign_payment_needs_its_exchange_rate(sandbox: BillySandbox) -> None:
    # Given numbers assigned only at approval, and a draft in EUR
    sandbox.configure({"invoice_no_on": "approve"})
    contact, product = danish_customer(sandbox, "DE"), capes(sandbox)
    created = data(draft(sandbox, contact["id"], product["id"], currencyId="EUR"))["invoices"][0]
    assert created["invoiceNo"] is None
    approved = call(sandbox, "PUT", f"/v2/invoices/{created['id']}", {"invoice": {"state": "approved"}})
    assert data(approved)["invoices"][0]["invoiceNo"] == "1"

    # When it is paid into the DKK bank account: without a rate it is refused, with one it pays 200 EUR
    bank = sandbox.organization(TOKEN).record["defaultInvoiceBankAccountId"]
    payment = {
        "entryDate": "2026-11-21",
        "cashAmount": 1492,
        "cashSide": "debit",
        "cashAccountId": bank,
        "associations": [{"subjectReference": f"invoice:{created['id']}"}],
    }
    refused = call(sandbox, "POST", "/v2/bankPayments", {"bankPayment": payment})
    assert data(refused)["validationErrors"]["bankPayment"]["attributes"] == {"cashExchangeRate": "Required."}
    payment["cashExchangeRate"] = "7.46"
    paid = data(call(sandbox, "POST", "/v2/bankPayments", {"bankPayment": payment}))
    assert (paid["invoices"][0]["balance"], paid["invoices"][0]["isPaid"]) == (0, True)
