"""The Banqup sandbox over real HTTP on 127.0.0.1: what a Banqup → accounting connector would notice."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.sandboxes.banqup.sandbox import BanqupSandbox

# The vendor's recipe example (tests/fixtures/banqup) and two official UBL invoices (tests/fixtures/ubl).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
UBL = (FIXTURES / "ubl" / "base-example.xml").read_bytes()  # PayableAmount 1656.25 EUR
UBL_S = (FIXTURES / "ubl" / "Vat-category-S.xml").read_bytes()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FILES = "/datastore/documents/transaction/v1/spaces/{}/files"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def running_sandbox():
    clock = Clock()
    sandbox = BanqupSandbox(clock=clock)
    sandbox.start()
    firm = sandbox.add_firm("Boekhoudkantoor Koppel", client_id="koppel-app", client_secret="s3cret-value")
    sandbox.add_space(firm, "Bakkerij Jansen BV")
    sandbox.add_space(firm, "Garage De Vries", whitelisted=False)
    other = sandbox.add_firm("Another firm", client_id="other-app", client_secret="other-secret")
    sandbox.add_space(other, "Somebody else's client")
    yield sandbox, clock
    sandbox.stop()


@pytest.fixture
def sandbox(running_sandbox: tuple[BanqupSandbox, Clock]) -> BanqupSandbox:
    box, _ = running_sandbox
    box.reset()  # one server for the module: firms and spaces kept, documents and tokens dropped per test
    for space in box.spaces.values():
        box.whitelist(space.id, space.name != "Garage De Vries")
    return box


@pytest.fixture
def clock(running_sandbox: tuple[BanqupSandbox, Clock]) -> Clock:
    return running_sandbox[1]


def space_id(sandbox: BanqupSandbox, name: str) -> str:
    return next(s.id for s in sandbox.spaces.values() if s.name == name)


def get_token(sandbox: BanqupSandbox, client_id: str = "koppel-app", secret: str = "s3cret-value") -> requests.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return requests.post(sandbox.base_url + "/oauth2/client_credential/gettoken", data=form, timeout=5)


def call(sandbox: BanqupSandbox, method: str, path: str, body: Any = None, token: str | None = None, **params: Any):
    token = token or get_token(sandbox).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return requests.request(method, sandbox.base_url + path, json=body, params=params, headers=headers, timeout=5)


def control(sandbox: BanqupSandbox, method: str, action: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{sandbox.base_url}/_sandbox/{action}", json=body, timeout=5)


def seed_pdf(sandbox: BanqupSandbox, space: str, **fields: Any) -> dict[str, Any]:
    """A PDF placed in the space over the control route, as if scanned into Banqup."""
    body = {"spaceId": space, "contentBase64": base64.b64encode(PDF).decode(), **fields}
    return control(sandbox, "POST", "documents", body).json()


# -- auth -----------------------------------------------------------------------------------------------------------
def test_client_credentials_give_a_bearer_token_that_lists_the_firms_whitelisted_spaces(sandbox: BanqupSandbox):
    # Given the firm's client id and secret, When it asks for a token and then for its spaces
    token = get_token(sandbox)
    spaces = call(sandbox, "GET", "/entitystore/v1/spaces", token=token.json()["access_token"])

    # Then the token is a 5-minute Bearer token and only the whitelisted space of its own is listed
    assert token.status_code == 200
    assert token.json()["token_type"] == "Bearer" and token.json()["expires_in"] == 300
    assert spaces.status_code == 200
    assert spaces.json() == {
        "spaces": [{"id": space_id(sandbox, "Bakkerij Jansen BV"), "name": "Bakkerij Jansen BV", "type": "BUSINESS"}]
    }


def test_wrong_credentials_or_tokens_are_refused_with_401(sandbox: BanqupSandbox):
    # Given a wrong secret, an unknown client, no token and a made-up token
    wrong_secret, unknown = get_token(sandbox, secret="nope"), get_token(sandbox, client_id="who")
    no_token = requests.get(sandbox.base_url + "/entitystore/v1/spaces", timeout=5)
    made_up = call(sandbox, "GET", "/entitystore/v1/spaces", token="made-up")

    # Then all are 401: invalid_client at the token route, an invalid access token at the API
    assert wrong_secret.status_code == unknown.status_code == 401
    assert wrong_secret.json()["ErrorCode"] == unknown.json()["ErrorCode"] == "invalid_client"
    for response in (no_token, made_up):
        assert response.status_code == 401
        assert response.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"


def test_a_token_expires_after_its_lifetime_and_a_new_one_works(sandbox: BanqupSandbox, clock: Clock):
    # Given a token lifetime of 60 s set over the control route, and a token
    assert control(sandbox, "POST", "token-lifetime", {"seconds": 60}).json() == {"tokenLifetime": 60}
    token = get_token(sandbox).json()
    assert token["expires_in"] == 60

    # When 61 seconds pass
    clock.now += 61
    expired = call(sandbox, "GET", "/entitystore/v1/spaces", token=token["access_token"])

    # Then the old token answers 401 "expired", and a fresh token works
    assert expired.status_code == 401
    assert expired.json()["fault"]["faultstring"] == "Access Token expired"
    assert call(sandbox, "GET", "/entitystore/v1/spaces").status_code == 200


# -- whitelisting ---------------------------------------------------------------------------------------------------
def test_a_space_that_did_not_whitelist_the_app_is_invisible_until_it_does(sandbox: BanqupSandbox):
    # Given a client space of the firm that has not whitelisted the app, and a space of another firm
    garage, foreign = space_id(sandbox, "Garage De Vries"), space_id(sandbox, "Somebody else's client")

    # Then it is not listed and its files are refused (403); another firm's space does not exist for us (404)
    listed = call(sandbox, "GET", "/entitystore/v1/spaces").json()["spaces"]
    assert garage not in [s["id"] for s in listed]
    assert call(sandbox, "GET", FILES.format(garage)).status_code == 403
    assert call(sandbox, "GET", FILES.format(foreign)).status_code == 404

    # When the legal representative whitelists the app, Then the space appears
    assert control(sandbox, "POST", "whitelist", {"spaceId": garage, "whitelisted": True}).status_code == 200
    assert garage in [s["id"] for s in call(sandbox, "GET", "/entitystore/v1/spaces").json()["spaces"]]
    assert call(sandbox, "GET", FILES.format(garage)).status_code == 200


# -- files and signed URLs ------------------------------------------------------------------------------------------
def upload_ubl(sandbox: BanqupSandbox) -> tuple[str, dict[str, Any]]:
    space = space_id(sandbox, "Bakkerij Jansen BV")
    body = json.loads((FIXTURES / "banqup" / "docs.files.create.request.json").read_text())
    body["fileSize"] = len(UBL)
    created = call(sandbox, "POST", FILES.format(space), body)
    assert created.status_code == 201, created.text
    put = requests.put(created.json()["uploadUrl"], data=UBL, headers={"Content-Type": "application/xml"}, timeout=5)
    assert put.status_code == 200, put.text
    return space, created.json()


def test_the_recipes_upload_then_download_round_trips_the_bytes_through_signed_urls(sandbox: BanqupSandbox):
    # Given the recipe's create-file body, When Koppel creates the file, PUTs the UBL and reads the file back
    space, created = upload_ubl(sandbox)
    file = call(sandbox, "GET", f"{FILES.format(space)}/{created['id']}").json()
    download = requests.get(file["downloadUrl"], timeout=5)

    # Then the file was awaiting its upload, is now uploaded with the invoice's amount due, and the bytes are equal
    assert created["status"] == "AWAITING_UPLOAD" and created["creatorType"] == "application"
    assert created["metadata"] == {"folder": "PURCHASES", "documentCategory": "INVOICE"}
    assert file["status"] == "UPLOADED" and file["fileSize"] == len(UBL)
    assert file["payableAmount"] == "1656.25" and file["paymentStatus"] == "UNPAID"
    assert download.status_code == 200 and download.content == UBL
    assert download.headers["Content-Type"].startswith("application/xml")


def test_a_tampered_reused_or_expired_signed_url_is_refused(sandbox: BanqupSandbox, clock: Clock):
    # Given an uploaded file's download URL
    space, created = upload_ubl(sandbox)
    url = call(sandbox, "GET", f"{FILES.format(space)}/{created['id']}").json()["downloadUrl"]

    # When the signature is changed, the upload URL is used to download, or the URL has expired
    tampered = requests.get(url[:-4] + ("0000" if not url.endswith("0000") else "1111"), timeout=5)
    wrong_method = requests.get(created["uploadUrl"], timeout=5)
    clock.now += 3601
    expired = requests.get(url, timeout=5)

    # Then storage refuses each with 403 and a GCS-like XML error
    assert tampered.status_code == wrong_method.status_code == expired.status_code == 403
    assert b"SignatureDoesNotMatch" in tampered.content and b"SignatureDoesNotMatch" in wrong_method.content
    assert b"ExpiredToken" in expired.content


def test_documents_are_listed_in_pages_and_filtered_by_creation_time(sandbox: BanqupSandbox):
    # Given five documents created a day apart, of several categories
    space = space_id(sandbox, "Bakkerij Jansen BV")
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    kinds = [("PURCHASES", "INVOICE"), ("PURCHASES", "RECEIPT"), ("SALES", "INVOICE"), ("PURCHASES", "BANK_STATEMENT")]
    kinds.append(("PURCHASES", "CREDIT_NOTE"))
    for day, (folder, category) in enumerate(kinds):
        content = UBL_S if category == "INVOICE" else PDF
        sandbox.add_document(space, content, folder=folder, category=category, created_at=start + timedelta(days=day))

    # When Koppel pages through them two at a time, and asks only for those after the second day
    pages = [call(sandbox, "GET", FILES.format(space), page=n, size=2).json() for n in range(3)]
    after = call(sandbox, "GET", FILES.format(space), createdAfter="2026-11-02T09:00:00Z").json()
    purchases = call(sandbox, "GET", FILES.format(space), folder="PURCHASES", documentCategory="INVOICE").json()

    # Then the pages hold 2, 2 and 1 in creation order, and the filters leave the others out
    assert [len(p["content"]) for p in pages] == [2, 2, 1]
    assert pages[0]["page"] == {"number": 0, "size": 2, "totalElements": 5, "totalPages": 3}
    created = [d["createdAt"] for p in pages for d in p["content"]]
    assert created == sorted(created) and created[0] == "2026-11-01T09:00:00Z"
    assert [d["metadata"]["documentCategory"] for d in after["content"]] == ["INVOICE", "BANK_STATEMENT", "CREDIT_NOTE"]
    assert purchases["page"]["totalElements"] == 1 and purchases["content"][0]["payableAmount"] == "8550"
    assert call(sandbox, "GET", FILES.format(space), size=500).status_code == 400


# -- tasks and payment status ---------------------------------------------------------------------------------------
def test_a_purchase_invoice_is_marked_paid_in_parts_and_the_sandbox_records_it(sandbox: BanqupSandbox):
    # Given a received purchase invoice of 1656.25 EUR
    space = space_id(sandbox, "Bakkerij Jansen BV")
    file_id = sandbox.add_document(space, UBL)["id"]
    task = f"{FILES.format(space)}/{file_id}/tasks/mark-as-paid"

    # When Koppel marks 1000 paid, then tries 700 (above the open balance), then pays the rest
    partial = call(sandbox, "POST", task, {"amount": "1000.00", "paymentDate": "2026-11-20"})
    too_much = call(sandbox, "POST", task, {"amount": "700.00"})
    rest = call(sandbox, "POST", task, {"paymentDate": "2026-11-21"})

    # Then the invoice goes partially then fully paid, the overpayment is refused, and both marks are recorded
    assert partial.json()["paymentStatus"] == "PARTIALLY_PAID" and partial.json()["paidAmount"] == "1000.00"
    assert too_much.status_code == 400
    assert rest.json()["paymentStatus"] == "FULLY_PAID" and rest.json()["paidAmount"] == "1656.25"
    changes = control(sandbox, "GET", "changes").json()["changes"]
    assert [(c["fileId"], c["action"]) for c in changes] == [(file_id, "mark-as-paid")] * 2
    assert sandbox.paid_marks()[0]["body"] == {"amount": "1000.00", "paymentDate": "2026-11-20"}


def test_sales_invoices_take_a_payment_status_and_no_purchase_tasks(sandbox: BanqupSandbox):
    # Given a sales invoice PDF seeded over the control route
    space = space_id(sandbox, "Bakkerij Jansen BV")
    seeded = seed_pdf(sandbox, space, folder="SALES", payableAmount="121")
    file_path = f"{FILES.format(space)}/{seeded['id']}"

    # When Koppel sets it paid, and tries a purchase task on it
    paid = call(sandbox, "PUT", f"{file_path}/payment-status", {"paymentStatus": "FULLY_PAID"})
    task = call(sandbox, "POST", f"{file_path}/tasks/approve")

    # Then it is fully paid and the task is refused
    assert seeded["contentType"] == "application/pdf" and seeded["status"] == "UPLOADED"
    assert paid.status_code == 200 and paid.json()["paymentStatus"] == "FULLY_PAID"
    assert task.status_code == 400 and task.json()["code"] == "INVALID_ACTION"


# -- faults ---------------------------------------------------------------------------------------------------------
def test_faults_come_in_the_gateways_shape_and_are_reproducible_from_a_seed(sandbox: BanqupSandbox):
    # Given one forced throttle
    sandbox.faults.queue("throttle")
    throttled = get_token(sandbox)

    # Then it is 429 with Retry-After in the gateway's fault shape, and the next call works
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.json()["fault"]["detail"]["errorcode"] == "policies.ratelimit.SpikeArrestViolation"
    token = get_token(sandbox).json()["access_token"]

    # When half the calls fail under a seed, twice with the same seed
    runs = []
    for _ in range(2):
        assert control(sandbox, "POST", "faults", {"seed": 42, "error_rate": 0.5}).status_code == 200
        runs.append([call(sandbox, "GET", "/entitystore/v1/spaces", token=token).status_code for _ in range(12)])

    # Then both runs fail the same calls with 503, and the storage URLs are never faulted
    assert runs[0] == runs[1] and set(runs[0]) == {200, 503}
    file = sandbox.add_document(space_id(sandbox, "Bakkerij Jansen BV"), PDF)
    assert all(requests.get(file["downloadUrl"], timeout=5).status_code == 200 for _ in range(5))


# -- control --------------------------------------------------------------------------------------------------------
def test_a_firm_and_its_spaces_are_set_up_over_the_control_routes(sandbox: BanqupSandbox):
    # Given a new firm and two client spaces made over HTTP, one not whitelisted
    firm = control(sandbox, "POST", "firms", {"name": "Kantoor West", "clientId": "west-app"}).json()
    shown = control(sandbox, "POST", "spaces", {"clientId": "west-app", "name": "Visible BV"}).json()
    hidden = control(sandbox, "POST", "spaces", {"clientId": "west-app", "name": "Hidden BV", "whitelisted": False})
    refused = control(sandbox, "POST", "spaces", {"clientId": "nobody", "name": "Orphan BV"})

    # When the firm's app logs in with the secret it was given
    token = get_token(sandbox, "west-app", firm["clientSecret"]).json()["access_token"]
    spaces = call(sandbox, "GET", "/entitystore/v1/spaces", token=token).json()["spaces"]

    # Then only the whitelisted space is listed, and a space for an unknown client is refused
    assert hidden.json()["whitelisted"] is False
    assert spaces == [{"id": shown["id"], "name": "Visible BV", "type": "BUSINESS"}]
    assert refused.status_code == 400


# -- the Document Processor [I] -------------------------------------------------------------------------------------
def test_a_scanned_pdf_is_processed_then_shows_its_extracted_fields_and_amount_due(sandbox: BanqupSandbox):
    # Given a scanned PDF seeded while the Document Processor is still reading it
    space = space_id(sandbox, "Bakkerij Jansen BV")
    seeded = seed_pdf(sandbox, space, processingStatus="IN_PROGRESS")
    fields = {"invoiceNumber": "F-7", "totalAmount": "60.50", "vatBreakdown": [{"rate": "21"}]}

    # When it finishes with the fields it read, and then a status the processor does not have is set
    done = control(sandbox, "POST", "extraction", {"fileId": seeded["id"], "extraction": fields}).json()
    wrong = control(sandbox, "POST", "extraction", {"fileId": seeded["id"], "processingStatus": "MAYBE"})
    file = call(sandbox, "GET", f"{FILES.format(space)}/{seeded['id']}").json()

    # Then it was in progress without fields, is done with them and owes its total; the wrong status is refused
    assert (seeded["processingStatus"], seeded["extraction"], done["processingStatus"]) == ("IN_PROGRESS", None, "DONE")
    assert file["extraction"] == fields and (file["payableAmount"], file["paymentStatus"]) == ("60.50", "UNPAID")
    assert wrong.status_code == 400
