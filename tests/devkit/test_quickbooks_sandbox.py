"""The QuickBooks Online sandbox, driven over real HTTP on 127.0.0.1 the way a connector would drive QuickBooks."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from devkit.sandboxes.quickbooks.webhooks import sign, verify
from devkit.sandboxes.quickbooks.wire import dumps  # Decimal amounts as JSON numbers, as the connector sends them

if TYPE_CHECKING:
    from collections.abc import Iterator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quickbooks"  # the vendor's own samples
CLIENT_ID, CLIENT_SECRET = "koppel-app", "koppel-secret"
REDIRECT = "https://koppel.example/oauth/quickbooks"
# Intuit's own test vectors (see tests/fixtures/quickbooks/SOURCE.txt)
JAVA_TOKEN, JAVA_SIGNATURE = "b5771f19b12ddb4bcdb9f08bdc50bc63878a", "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="
DOTNET_TOKEN, DOTNET_SIGNATURE = "00faeec4-08d0-4996-bb37-698ae19f0149", "6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM="


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0  # 2026-05-28

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[QuickbooksSandbox]:
    """One server for the module; every test gets it reset."""
    sandbox = QuickbooksSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(server: QuickbooksSandbox, clock: Clock) -> QuickbooksSandbox:
    server.reset()
    server.clock = clock
    server.add_client(CLIENT_ID, CLIENT_SECRET, (REDIRECT,))
    return server


@pytest.fixture
def realm(sandbox: QuickbooksSandbox) -> str:
    return sandbox.add_company("Koppel Test Ltd")


def sample(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


class Api:
    """What a connector holds: the company's base URL and a bearer token."""

    def __init__(self, sandbox: QuickbooksSandbox, realm: str, token: str | None = None) -> None:
        self.base = f"{sandbox.base_url}/v3/company/{realm}"
        self.session = requests.Session()
        token = token or sandbox.issue_tokens(realm)["access_token"]
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def post(self, entity: str, body: Any, **params: str) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        params = {"minorversion": "75", **params}
        return self.session.post(f"{self.base}/{entity}", data=dumps(body), params=params, headers=headers, timeout=5)

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.base}/{path}", params={"minorversion": "75", **params}, timeout=5)

    def query(self, text: str) -> requests.Response:
        return self.get("query", query=text)


def consent(sandbox: QuickbooksSandbox, state: str = "csrf-123") -> requests.Response:
    """The user clicks Connect to QuickBooks and consents (the sandbox's page redirects at once)."""
    return requests.get(
        f"{sandbox.base_url}/connect/oauth2",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": "com.intuit.quickbooks.accounting",
            "state": state,
            "response_type": "code",
        },
        allow_redirects=False,
        timeout=5,
    )


def connect(sandbox: QuickbooksSandbox) -> tuple[str, dict[str, Any]]:
    """Consent, then the app swaps the code for tokens. Returns (realmId, tokens)."""
    redirect = consent(sandbox)
    assert redirect.status_code == 302
    back = urlparse(redirect.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    params = {k: v[0] for k, v in parse_qs(back.query).items()}
    assert params["state"] == "csrf-123"
    tokens = requests.post(
        f"{sandbox.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT},
        auth=(CLIENT_ID, CLIENT_SECRET),
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert tokens.status_code == 200, tokens.text
    return params["realmId"], tokens.json()


def refresh(sandbox: QuickbooksSandbox, token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )


def line(item: str, qty: str, price: str, amount: str, tax_code: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item}, "Qty": Decimal(qty), "UnitPrice": Decimal(price)}
    if tax_code:
        detail["TaxCodeRef"] = {"value": tax_code}
    return {"DetailType": "SalesItemLineDetail", "Amount": Decimal(amount), "SalesItemLineDetail": detail}


def invoice(customer_id: str, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"CustomerRef": {"value": customer_id}, "GlobalTaxCalculation": "TaxExcluded", "Line": list(lines), **fields}


def first_error(response: requests.Response) -> dict[str, Any]:
    error: dict[str, Any] = decimal_json(response)["Fault"]["Error"][0]
    return error


# -- OAuth ------------------------------------------------------------------------------------------------------------
def test_consent_redirects_with_code_and_realm_and_the_code_buys_tokens_shaped_like_intuits(
    sandbox: QuickbooksSandbox, realm: str
) -> None:
    # Given a company and a registered app
    # When the user consents and the app swaps the code at the token endpoint
    realm_id, tokens = connect(sandbox)

    # Then the redirect names the company, and the tokens carry the keys of Intuit's own token answer
    assert realm_id == realm
    expected = set(sample("oauth.token.response.json")) - {"id_token"}  # id_token only with the openid scope
    assert set(tokens) == expected
    assert tokens["expires_in"] == 3600
    assert tokens["token_type"] == "bearer"
    # and the access token opens the company's API
    assert (
        Api(sandbox, realm, tokens["access_token"]).get(f"companyinfo/{realm}").json()["CompanyInfo"]["Country"] == "GB"
    )


def test_a_code_is_good_for_one_exchange_and_errors_have_intuits_error_shape(
    sandbox: QuickbooksSandbox, realm: str
) -> None:
    # Given a code already swapped once
    redirect = consent(sandbox, "s")
    code = parse_qs(urlparse(redirect.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    url = f"{sandbox.base_url}/oauth2/v1/tokens/bearer"
    assert requests.post(url, data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=5).status_code == 200

    # When it is swapped again, or with a wrong client secret
    again = requests.post(url, data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=5)
    wrong = requests.post(url, data=form, auth=(CLIENT_ID, "not-the-secret"), timeout=5)

    # Then invalid_grant (400) and invalid_client (401), in the shape of Intuit's error answer
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert set(again.json()) == set(sample("oauth.token.error.response.json"))


def test_refresh_rotates_the_refresh_token_and_the_previous_one_then_answers_invalid_grant(
    sandbox: QuickbooksSandbox, realm: str, clock: Clock
) -> None:
    # Given tokens from the consent flow
    _, tokens = connect(sandbox)
    first = tokens["refresh_token"]

    # When the app refreshes
    clock.now += 3000
    rotated = refresh(sandbox, first)

    # Then it gets a new refresh token (and a new access token)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    assert set(rotated.json()) == set(sample("oauth.refresh.response.json")) - {"id_token"}

    # When the old one is used again (a second worker, a lost write)
    clock.now += 1
    reused = refresh(sandbox, first)

    # Then Intuit's invalid_grant, the new one still works, and the sandbox counts every presentation
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert refresh(sandbox, second).status_code == 200
    assert sandbox.refresh_uses(first) == 2
    assert sandbox.refresh_uses(second) == 1


def test_a_grace_period_keeps_the_previous_refresh_token_valid_for_a_while(
    server: QuickbooksSandbox, clock: Clock
) -> None:
    # Given a sandbox whose superseded refresh tokens stay valid for 60 seconds
    lenient = QuickbooksSandbox(clock=clock, refresh_grace=60)
    lenient.add_client(CLIENT_ID, CLIENT_SECRET, (REDIRECT,))
    lenient.add_company("Lenient Ltd")
    lenient.start()
    try:
        _, tokens = connect(lenient)
        assert refresh(lenient, tokens["refresh_token"]).status_code == 200

        # When the old token comes back within the grace, and after it
        clock.now += 30
        within = refresh(lenient, tokens["refresh_token"])
        clock.now += 31
        after = refresh(lenient, tokens["refresh_token"])
    finally:
        lenient.stop()

    # Then it works within the grace and not after
    assert within.status_code == 200
    assert after.status_code == 400


def test_an_expired_or_unknown_access_token_gets_401_authentication_failed(
    sandbox: QuickbooksSandbox, realm: str, clock: Clock
) -> None:
    # Given an access token
    api = Api(sandbox, realm)
    assert api.get(f"companyinfo/{realm}").status_code == 200

    # When its hour is over
    clock.now += 3601
    expired = api.get(f"companyinfo/{realm}")

    # Then 401 with QuickBooks' AuthenticationFailed fault (code 3200)
    assert expired.status_code == 401
    error = expired.json()["fault"]["error"][0]
    assert error["code"] == "3200"
    assert "errorCode=003200; statusCode=401" in error["message"]
    # and an unknown token gets the same
    assert Api(sandbox, realm, "not-a-token").get(f"companyinfo/{realm}").status_code == 401


def test_a_token_of_another_company_is_refused_with_403(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given a token for one company and another company
    other = sandbox.add_company("Other Ltd")

    # When the token is used on the other company
    token = sandbox.issue_tokens(realm)["access_token"]
    answer = Api(sandbox, other, token).get(f"companyinfo/{other}")

    # Then 403 ApplicationAuthorizationFailed
    assert answer.status_code == 403
    assert first_error(answer)["code"] == "3100"


def test_revoking_disconnects_the_app_from_the_company(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given tokens from the consent flow
    _, tokens = connect(sandbox)

    # When the app revokes its refresh token (the user disconnects)
    revoked = requests.post(
        f"{sandbox.base_url}/v2/oauth2/tokens/revoke",
        json={"token": tokens["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )

    # Then neither the refresh token nor the access token works any more
    assert revoked.status_code == 200
    assert refresh(sandbox, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert Api(sandbox, realm, tokens["access_token"]).get(f"companyinfo/{realm}").status_code == 401


def test_the_401_fault_can_come_in_either_letter_case(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given the sandbox set to the capitalised Fault/Error shape most clients parse
    requests.post(f"{sandbox.base_url}/_sandbox/settings", json={"auth_fault_case": "upper"}, timeout=5)

    # When an unknown token is used
    answer = Api(sandbox, realm, "not-a-token").get(f"companyinfo/{realm}")

    # Then the same 3200 fault in the Fault/Error shape
    assert answer.status_code == 401
    assert answer.json()["Fault"]["type"] == "AUTHENTICATION"
    assert first_error(answer)["code"] == "3200"


# -- names ------------------------------------------------------------------------------------------------------------
def test_a_customer_named_like_a_vendor_is_refused_with_6240_duplicate_name(
    sandbox: QuickbooksSandbox, realm: str
) -> None:
    # Given a vendor called "Bakkerij De Korst"
    sandbox.add_vendor(realm, "Bakkerij De Korst")
    api = Api(sandbox, realm)

    # When the connector creates a customer of the same name
    answer = api.post("customer", {"DisplayName": "Bakkerij De Korst", "PrimaryEmailAddr": {"Address": "a@b.nl"}})

    # Then QuickBooks' duplicate-name fault, in the shape of the recorded one
    assert answer.status_code == 400
    body = decimal_json(answer)
    recorded = sample("taxservice.error.duplicate.json")
    assert set(body) == set(recorded)
    assert set(body["Fault"]["Error"][0]) == set(recorded["Fault"]["Error"][0])
    assert body["Fault"]["type"] == "ValidationFault"
    error = body["Fault"]["Error"][0]
    assert (error["code"], error["Message"]) == ("6240", "Duplicate Name Exists Error")
    assert "Another vendor is already using this name" in error["Detail"]
    # and a different name is created with Id, SyncToken 0 and MetaData
    created = api.post("customer", {"DisplayName": "Bakkerij De Korst BV"}).json()["Customer"]
    assert created["SyncToken"] == "0"
    assert set(created["MetaData"]) == {"CreateTime", "LastUpdatedTime"}


def test_customers_are_found_by_email_by_display_name_and_by_ids(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given three customers
    korst = sandbox.add_customer(realm, "Bakkerij De Korst", "info@korst.nl")
    sandbox.add_customer(realm, "Amy's Bird Sanctuary", "birds@intuit.com")
    third = sandbox.add_customer(realm, "Cafe Noord")
    api = Api(sandbox, realm)

    # When the connector looks them up
    by_email = api.query("select * from Customer where PrimaryEmailAddr = 'info@korst.nl'").json()
    by_name = api.query("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'").json()
    by_ids = api.query(f"SELECT * FROM Customer WHERE Id IN ('{korst['Id']}', '{third['Id']}') MAXRESULTS 10").json()
    count = api.query("SELECT COUNT(*) FROM Customer").json()
    nobody = api.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody'").json()

    # Then each finds what it names, wrapped as QuickBooks wraps a query answer
    assert [c["DisplayName"] for c in by_email["QueryResponse"]["Customer"]] == ["Bakkerij De Korst"]
    assert by_email["QueryResponse"]["startPosition"] == 1
    assert "time" in by_email
    assert [c["DisplayName"] for c in by_name["QueryResponse"]["Customer"]] == ["Amy's Bird Sanctuary"]
    assert {c["Id"] for c in by_ids["QueryResponse"]["Customer"]} == {korst["Id"], third["Id"]}
    assert count["QueryResponse"] == {"totalCount": 3}
    assert nobody["QueryResponse"] == {}
    # and a customer made inactive is only found when the query asks for inactive ones too
    api.post("customer", {"Id": third["Id"], "SyncToken": third["SyncToken"], "sparse": True, "Active": False})
    hidden = api.query("SELECT * FROM Customer WHERE DisplayName = 'Cafe Noord'").json()["QueryResponse"]
    shown = api.query("SELECT * FROM Customer WHERE DisplayName = 'Cafe Noord' AND Active IN (true, false)").json()
    assert hidden == {}
    assert [c["Active"] for c in shown["QueryResponse"]["Customer"]] == [False]


def test_paging_and_changed_since_queries(sandbox: QuickbooksSandbox, realm: str, clock: Clock) -> None:
    # Given five customers, the last two created an hour later
    for n in range(3):
        sandbox.add_customer(realm, f"Early {n}")
    since = datetime.fromtimestamp(clock.now + 1800, UTC).isoformat()  # between the two groups
    clock.now += 3600
    for n in range(2):
        sandbox.add_customer(realm, f"Late {n}")
    api = Api(sandbox, realm)

    # When the connector pages through all and asks what changed
    page = api.query("SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 2").json()["QueryResponse"]
    late = api.query(f"SELECT * FROM Customer WHERE Metadata.LastUpdatedTime > '{since}'").json()["QueryResponse"]

    # Then the page has the second and third, and the change query finds the late ones
    assert [c["DisplayName"] for c in page["Customer"]] == ["Early 1", "Early 2"]
    assert (page["startPosition"], page["maxResults"]) == (2, 2)
    assert [c["DisplayName"] for c in late["Customer"]] == ["Late 0", "Late 1"]


@pytest.mark.parametrize(
    ("text", "code", "detail"),
    [
        ("SELECT * FROM Customer WHERE", "4000", "QueryParserError: Encountered"),
        ("SELECT * FROM Customer WHERE DisplayName = 'x' OR Id = '1'", "4000", "QueryParserError: Encountered"),
        (
            "SELECT * FROM Customer WHERE NoSuchField = 'x'",
            "4001",
            "Property NoSuchField not found for Entity Customer",
        ),
        ("SELECT * FROM Customer STARTPOSITION 0", "4001", "value 0 is too small. Min allowed value is 1"),
        ("SELECT * FROM Customer MAXRESULTS 1001", "4001", "Max allowed value is 1000"),
    ],
)
def test_a_query_outside_the_language_gets_quickbooks_query_faults(
    sandbox: QuickbooksSandbox, realm: str, text: str, code: str, detail: str
) -> None:
    # When the connector sends a query QuickBooks would not parse or validate
    answer = Api(sandbox, realm).query(text)

    # Then 400 with the parser (4000) or validation (4001) fault
    assert answer.status_code == 400
    error = first_error(answer)
    assert error["code"] == code
    assert detail in error["Detail"]


def test_the_company_tells_its_country_currency_and_vat_codes(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given a new UK company
    api = Api(sandbox, realm)

    # When the connector reads its preferences and looks up a VAT code by name
    preferences = api.query("SELECT * FROM Preferences").json()["QueryResponse"]["Preferences"][0]
    codes = api.query("SELECT * FROM TaxCode WHERE Name = '20.0% S'").json()["QueryResponse"]["TaxCode"]
    rate_id = codes[0]["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
    rate = decimal_json(api.get(f"taxrate/{rate_id}"))["TaxRate"]

    # Then a GBP company without multicurrency, whose standard code carries the 20 % sales rate
    assert preferences["CurrencyPrefs"] == {"HomeCurrency": {"value": "GBP"}, "MultiCurrencyEnabled": False}
    assert api.get(f"companyinfo/{realm}").json()["CompanyInfo"]["Country"] == "GB"
    assert rate["RateValue"] == 20
    # and tax codes cannot be written through the entity endpoint
    assert api.post("taxcode", {"Name": "My own 21 %"}).status_code == 400


# -- invoices ----------------------------------------------------------------------------------------------------------
def test_an_invoice_line_whose_amount_is_not_qty_times_price_is_refused(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given a customer and the standard VAT code
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard = sandbox.tax_code_id(realm, "20.0% S")
    api = Api(sandbox, realm)

    # When a line says 3 × 33.33 = 100.00 (it is 99.99)
    answer = api.post("invoice", invoice(customer["Id"], line("1", "3", "33.33", "100.00", standard)))

    # Then QuickBooks' amount fault 6070, and nothing is booked
    assert answer.status_code == 400
    error = first_error(answer)
    assert error["code"] == "6070"
    assert "Amount is not equal to UnitPrice * Qty" in error["Detail"]
    assert sandbox.invoices(realm) == []
    # while a half cent rounds up as QuickBooks rounds: 1.5 × 0.33 = 0.495 → 0.50
    assert api.post("invoice", invoice(customer["Id"], line("1", "1.5", "0.33", "0.50", standard))).status_code == 200


def test_a_unit_price_of_more_decimals_than_cents_is_kept_to_seven_and_checked_like_any_other(
    sandbox: QuickbooksSandbox, realm: str
) -> None:
    # Given a customer and the standard VAT code
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard = sandbox.tax_code_id(realm, "20.0% S")
    api = Api(sandbox, realm)

    # When lines carry 8 × 1.5425 = 12.34, a price of nine decimals, and a Qty without a price
    bare = {
        "DetailType": "SalesItemLineDetail",
        "Amount": Decimal("10.00"),
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": Decimal(3), "TaxCodeRef": {"value": standard}},
    }
    answer = api.post("invoice", invoice(customer["Id"], line("1", "8", "1.5425", "12.34", standard),
                                         line("1", "1000000", "0.000000049", "0.00", standard), bare))  # fmt: skip

    # Then QuickBooks' seven decimals are kept: 1.5425, 0.0000000 (its 0.049 cent rounds away), 3.3333333
    assert answer.status_code == 200
    prices = [row["SalesItemLineDetail"]["UnitPrice"] for row in decimal_json(answer)["Invoice"]["Line"][:3]]
    assert prices == [Decimal("1.5425"), Decimal(0), Decimal("3.3333333")]
    # and Amount is checked against the kept price: 1000000 × 0.0000000 is 0.00, so 0.05 is refused
    refused = api.post("invoice", invoice(customer["Id"], line("1", "1000000", "0.000000049", "0.05", standard)))
    assert first_error(refused)["code"] == "6070"
    assert refused.status_code == 400


def test_an_invoice_without_a_tax_code_or_without_global_tax_calculation_gets_6000(
    sandbox: QuickbooksSandbox, realm: str
) -> None:
    # Given a customer in a UK (non-US) company
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard = sandbox.tax_code_id(realm, "20.0% S")
    api = Api(sandbox, realm)

    # When a line has no TaxCodeRef, or the invoice no GlobalTaxCalculation
    no_code = api.post("invoice", invoice(customer["Id"], line("1", "1", "10", "10", None)))
    body = invoice(customer["Id"], line("1", "1", "10", "10", standard))
    del body["GlobalTaxCalculation"]
    no_mode = api.post("invoice", body)

    # Then both are refused with the business validation error 6000 in QuickBooks' words
    for answer in (no_code, no_mode):
        assert answer.status_code == 400
        error = first_error(answer)
        assert error["code"] == "6000"
        assert error["Message"] == "A business validation error has occurred while processing your request"
        assert "VAT rate" in error["Detail"]
    assert sandbox.invoices(realm) == []


def test_invoice_totals_are_computed_per_tax_code_to_the_cent(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given a customer and the 20 %, 5 % and 0 % codes
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard, reduced, zero = (sandbox.tax_code_id(realm, n) for n in ("20.0% S", "5.0% R", "0.0% Z"))
    api = Api(sandbox, realm)

    # When the connector books three lines, a 10 % discount and the Net 14 term, without a DueDate
    body = invoice(
        customer["Id"],
        line("1", "3", "12.35", "37.05", standard),
        line("2", "2", "9.99", "19.98", reduced),
        line("2", "1", "4.50", "4.50", zero),
        {
            "DetailType": "DiscountLineDetail",
            "Amount": 0,
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
        },
        DocNumber="PD-1001",
        TxnDate="2026-05-01",
        SalesTermRef={"value": "2"},
    )
    answer = api.post("invoice", body)

    # Then QuickBooks' totals: subtotal 61.53, discount 6.15 spread over the codes before tax, tax per code
    assert answer.status_code == 200, answer.text
    booked = decimal_json(answer)["Invoice"]
    assert [ln["DetailType"] for ln in booked["Line"]] == [
        "SalesItemLineDetail",
        "SalesItemLineDetail",
        "SalesItemLineDetail",
        "SubTotalLineDetail",
        "DiscountLineDetail",
    ]
    assert booked["Line"][3]["Amount"] == Decimal("61.53")
    assert booked["Line"][4]["Amount"] == Decimal("6.15")
    taxes = {t["TaxLineDetail"]["TaxPercent"]: t for t in booked["TxnTaxDetail"]["TaxLine"]}
    # 37.05 - 3.70 = 33.35 × 20 % = 6.67; 19.98 - 2.00 = 17.98 × 5 % = 0.899 → 0.90; zero-rated 0.00
    assert taxes[Decimal(20)]["TaxLineDetail"]["NetAmountTaxable"] == Decimal("33.35")
    assert taxes[Decimal(20)]["Amount"] == Decimal("6.67")
    assert taxes[Decimal(5)]["Amount"] == Decimal("0.90")
    assert taxes[Decimal(0)]["Amount"] == Decimal("0.00")
    assert booked["TxnTaxDetail"]["TotalTax"] == Decimal("7.57")
    assert booked["TotalAmt"] == Decimal("62.95")  # 61.53 - 6.15 + 7.57
    assert booked["Balance"] == booked["TotalAmt"]
    assert booked["DueDate"] == "2026-05-15"
    # and the request as received kept its exact decimals
    assert '"UnitPrice": 12.35' in sandbox.received[-1]["body"]


def test_tax_inclusive_adds_gross_line_amounts_and_not_applicable_has_no_tax(
    sandbox: QuickbooksSandbox, realm: str
) -> None:
    # Given a customer and the standard code
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard = sandbox.tax_code_id(realm, "20.0% S")
    api = Api(sandbox, realm)

    # When one invoice is TaxInclusive and another NotApplicable (no tax codes)
    inclusive = api.post(
        "invoice",
        invoice(customer["Id"], line("1", "2", "41.65", "83.30", standard), GlobalTaxCalculation="TaxInclusive"),
    )
    untaxed = api.post(
        "invoice", invoice(customer["Id"], line("1", "1", "10", "10", None), GlobalTaxCalculation="NotApplicable")
    )

    # Then the inclusive one shows each line's gross, and the other has no tax
    booked = decimal_json(inclusive)["Invoice"]
    assert booked["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == Decimal("99.96")
    assert (booked["TxnTaxDetail"]["TotalTax"], booked["TotalAmt"]) == (Decimal("16.66"), Decimal("99.96"))
    plain = decimal_json(untaxed)["Invoice"]
    assert (plain["TxnTaxDetail"]["TotalTax"], plain["TotalAmt"]) == (0, Decimal(10))


def test_a_credit_memo_is_booked_with_its_remaining_credit(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given a customer with an invoice of 120.00
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard = sandbox.tax_code_id(realm, "20.0% S")
    api = Api(sandbox, realm)
    api.post("invoice", invoice(customer["Id"], line("1", "1", "100", "100", standard)))

    # When a credit memo of 24.00 is booked
    answer = api.post("creditmemo", invoice(customer["Id"], line("1", "1", "20", "20", standard)))

    # Then it carries its total as remaining credit and lowers what the customer owes
    memo = decimal_json(answer)["CreditMemo"]
    assert (memo["TotalAmt"], memo["RemainingCredit"]) == (Decimal("24.00"), Decimal("24.00"))
    assert sandbox.entity(realm, "Customer", customer["Id"])["Balance"] == Decimal("96.00")


def test_a_create_repeated_with_the_same_requestid_is_booked_once(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given an invoice create that the connector sends with a requestid
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    body = invoice(
        customer["Id"], line("1", "1", "100", "100", sandbox.tax_code_id(realm, "20.0% S")), DocNumber="PD-7"
    )
    api = Api(sandbox, realm)
    first = api.post("invoice", body, requestid="deal-7-attempt")

    # When the answer was lost and the connector sends the same request again
    second = api.post("invoice", body, requestid="deal-7-attempt")

    # Then the same answer, byte for byte, and one invoice (which a DocNumber query finds)
    assert second.status_code == first.status_code == 200
    assert second.text == first.text
    assert len(sandbox.invoices(realm)) == 1
    found = api.query("SELECT * FROM Invoice WHERE DocNumber = 'PD-7'").json()["QueryResponse"]["Invoice"]
    assert [i["Id"] for i in found] == [first.json()["Invoice"]["Id"]]
    # while a new requestid books again (QuickBooks has no other guard on invoices)
    assert api.post("invoice", body, requestid="another").status_code == 200
    assert sandbox.duplicates(realm) == ["PD-7"]


def test_a_sparse_update_with_a_stale_sync_token_gets_5010(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given a customer changed once already (SyncToken 1)
    api = Api(sandbox, realm)
    customer = api.post("customer", {"DisplayName": "Bakkerij De Korst"}).json()["Customer"]
    updated = api.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"})
    assert updated.json()["Customer"]["SyncToken"] == "1"

    # When another writer still holds SyncToken 0
    stale = api.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "second"})

    # Then Stale Object Error 5010, and the first change stands; the sparse update kept the other fields
    assert stale.status_code == 400
    assert first_error(stale)["code"] == "5010"
    now = api.get(f"customer/{customer['Id']}").json()["Customer"]
    assert (now["Notes"], now["DisplayName"], now["SyncToken"]) == ("first", "Bakkerij De Korst", "1")


def test_void_zeroes_an_invoice_and_delete_removes_it(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given two invoices
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    standard = sandbox.tax_code_id(realm, "20.0% S")
    api = Api(sandbox, realm)
    one, two = (
        api.post("invoice", invoice(customer["Id"], line("1", "1", "50", "50", standard))).json()["Invoice"]
        for _ in range(2)
    )

    # When one is voided and the other deleted
    voided = api.post("invoice", {"Id": one["Id"], "SyncToken": one["SyncToken"]}, operation="void")
    deleted = api.post("invoice", {"Id": two["Id"], "SyncToken": two["SyncToken"]}, operation="delete")

    # Then the voided one stays with zero amounts and the note "Voided"; the deleted one is gone
    kept = decimal_json(voided)["Invoice"]
    assert (kept["TotalAmt"], kept["Balance"], kept["PrivateNote"]) == (0, 0, "Voided")
    assert all(ln["Amount"] == 0 for ln in kept["Line"])
    assert kept["SyncToken"] == "1"
    assert deleted.json()["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": two["Id"]}
    missing = api.get(f"invoice/{two['Id']}")
    assert (missing.status_code, first_error(missing)["code"]) == (400, "610")
    # and a customer cannot be deleted, only made inactive
    refused = api.post("customer", {"Id": customer["Id"], "SyncToken": customer["SyncToken"]}, operation="delete")
    assert refused.status_code == 400


def test_a_payment_lowers_the_balance_until_the_invoice_is_paid(sandbox: QuickbooksSandbox, realm: str) -> None:
    # Given an invoice of 120.00 (100 + 20 % VAT)
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    api = Api(sandbox, realm)
    booked = api.post(
        "invoice", invoice(customer["Id"], line("1", "1", "100", "100", sandbox.tax_code_id(realm, "20.0% S")))
    )
    invoice_id = booked.json()["Invoice"]["Id"]

    # When the customer pays 20.01 and then the rest
    sandbox.record_payment(realm, invoice_id, "20.01")
    part = sandbox.entity(realm, "Invoice", invoice_id)
    payment = sandbox.record_payment(realm, invoice_id, "99.99")

    # Then the balance falls to 99.99 and then to 0, and the invoice links its payments
    assert part["Balance"] == Decimal("99.99")
    paid = decimal_json(api.get(f"invoice/{invoice_id}"))["Invoice"]
    assert paid["Balance"] == 0
    assert {"TxnId": payment["Id"], "TxnType": "Payment"} in paid["LinkedTxn"]
    # and a full update of the paid invoice keeps its payment links and its zero balance
    body = invoice(customer["Id"], line("1", "1", "100", "100", sandbox.tax_code_id(realm, "20.0% S")))
    updated = api.post("invoice", {**body, "Id": invoice_id, "SyncToken": paid["SyncToken"], "PrivateNote": "paid"})
    assert decimal_json(updated)["Invoice"]["Balance"] == 0
    assert len(updated.json()["Invoice"]["LinkedTxn"]) == 2
    # and a payment for more than is open is refused
    more = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": Decimal(1),
        "Line": [{"Amount": Decimal(1), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
    }
    assert api.post("payment", more).status_code == 400


# -- change data capture -----------------------------------------------------------------------------------------------
def test_cdc_reports_what_changed_since_a_time_including_deletions(
    sandbox: QuickbooksSandbox, realm: str, clock: Clock
) -> None:
    # Given an old customer, and an hour later a new customer and an invoice created and deleted
    sandbox.add_customer(realm, "Old Customer")
    clock.now += 3600
    since = datetime.fromtimestamp(clock.now - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    new = sandbox.add_customer(realm, "New Customer")
    api = Api(sandbox, realm)
    created = api.post("invoice", invoice(new["Id"], line("1", "1", "10", "10", sandbox.tax_code_id(realm, "Exempt"))))
    gone = created.json()["Invoice"]
    clock.now += 5
    sandbox.delete(realm, "Invoice", gone["Id"])

    # When the connector asks CDC what changed in the last minute
    answer = api.get("cdc", entities="Invoice,Payment,Customer", changedSince=since)

    # Then the new customer and the deleted invoice (status Deleted), in the recorded CDC shape
    assert answer.status_code == 200
    body = decimal_json(answer)
    assert set(body) == set(sample("cdc.response.deposit.json"))
    invoices, payments, customers = body["CDCResponse"][0]["QueryResponse"]
    assert [c["DisplayName"] for c in customers["Customer"]] == ["New Customer"]
    assert invoices["Invoice"] == [
        {"domain": "QBO", "status": "Deleted", "Id": gone["Id"], "MetaData": invoices["Invoice"][0]["MetaData"]}
    ]
    assert payments == {}
    # and a look-back beyond 30 days is refused
    old = datetime.fromtimestamp(clock.now - 31 * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.get("cdc", entities="Invoice", changedSince=old).status_code == 400


# -- limits ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("style", "status", "content_type"), [("429", 429, "json"), ("403", 403, "json"), ("html", 429, "html")]
)
def test_the_eleventh_request_in_one_second_is_throttled(
    sandbox: QuickbooksSandbox, realm: str, style: str, status: int, content_type: str
) -> None:
    # Given QuickBooks' limit of 10 requests a second per company, throttled in the given style
    sandbox.set_rate_limit(per_second=10, per_minute=500, style=style)
    api = Api(sandbox, realm)

    # When the connector sends 11 requests in the same second
    answers = [api.get(f"companyinfo/{realm}") for _ in range(11)]

    # Then ten pass and the eleventh is throttled
    assert [a.status_code for a in answers[:10]] == [200] * 10
    throttled = answers[10]
    assert throttled.status_code == status
    assert content_type in throttled.headers["Content-Type"]
    if content_type == "json":
        error = first_error(throttled)
        assert error["code"] == "3001"
        assert f"ThrottleExceeded; errorCode=003001; statusCode={status}" in error["Message"]


def test_the_minute_limit_holds_across_seconds(sandbox: QuickbooksSandbox, realm: str, clock: Clock) -> None:
    # Given a limit of 5 a minute
    sandbox.set_rate_limit(per_second=10, per_minute=5)
    api = Api(sandbox, realm)

    # When six requests come one a second, and one more a minute after the first
    answers = []
    for _ in range(6):
        answers.append(api.get(f"companyinfo/{realm}").status_code)
        clock.now += 1
    clock.now += 55

    # Then the sixth is throttled, and the window frees up again
    assert answers == [200, 200, 200, 200, 200, 429]
    assert api.get(f"companyinfo/{realm}").status_code == 200


# -- webhooks ----------------------------------------------------------------------------------------------------------
def test_the_webhook_signature_matches_intuits_test_vectors() -> None:
    # Given Intuit's SDK test payloads, byte for byte, and their verifier tokens
    java_body = (FIXTURES / "webhook.classic.java-sdk.json").read_bytes()
    dotnet_body = (FIXTURES / "webhook.classic.json").read_bytes()

    # When the sandbox signs them
    # Then it writes the signatures Intuit's SDK tests expect
    assert sign(JAVA_TOKEN, java_body) == JAVA_SIGNATURE
    assert sign(DOTNET_TOKEN, dotnet_body) == DOTNET_SIGNATURE
    assert verify(JAVA_TOKEN, java_body, JAVA_SIGNATURE)
    assert not verify(JAVA_TOKEN, dotnet_body, JAVA_SIGNATURE)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    http = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}/quickbooks/webhook"
    http.shutdown()
    http.server_close()


@pytest.mark.parametrize("format_", ["classic", "cloudevents"])
def test_changes_arrive_as_one_signed_webhook_batch_in_either_format(
    sandbox: QuickbooksSandbox, realm: str, receiver: str, format_: str
) -> None:
    # Given an app that registered a webhook endpoint and a verifier token
    sandbox.set_webhook(receiver, "verifier-123", format=format_)
    customer = sandbox.add_customer(realm, "Bakkerij De Korst")
    api = Api(sandbox, realm)
    created = api.post(
        "invoice", invoice(customer["Id"], line("1", "1", "10", "10", sandbox.tax_code_id(realm, "Exempt")))
    )
    booked = created.json()["Invoice"]
    api.post("invoice", {"Id": booked["Id"], "SyncToken": booked["SyncToken"]}, operation="void")

    # When the sandbox delivers what is pending
    assert _Receiver.received == []  # nothing leaves before the test says so
    sandbox.deliver_webhooks()

    # Then one POST, signed over its raw body, in the format asked for, with each change
    assert len(_Receiver.received) == 1
    headers, raw = _Receiver.received[0]
    assert verify("verifier-123", raw, headers["intuit-signature"])
    body = json.loads(raw)
    if format_ == "classic":
        recorded = sample("webhook.classic.json")
        assert set(body) == set(recorded)
        notification = body["eventNotifications"][0]
        assert set(notification) == set(recorded["eventNotifications"][0])
        assert notification["realmId"] == realm
        changes = [(e["name"], e["operation"]) for e in notification["dataChangeEvent"]["entities"]]
        assert set(notification["dataChangeEvent"]["entities"][0]) == {"name", "id", "operation", "lastUpdated"}
    else:
        recorded_event = sample("webhook.cloudevents.json")[0]
        assert isinstance(body, list)
        assert set(body[0]) == set(recorded_event)
        assert {e["intuitaccountid"] for e in body} == {realm}
        changes = [(e["type"].split(".")[1], e["type"].split(".")[2]) for e in body]
    expected = {
        "classic": [("Customer", "Create"), ("Invoice", "Create"), ("Invoice", "Void")],
        "cloudevents": [("customer", "created"), ("invoice", "created"), ("invoice", "voided")],
    }[format_]
    assert changes == expected
    # and nothing is pending afterwards
    assert sandbox.pending_webhook() is None
