"""The Pipedrive sandbox over real HTTP on 127.0.0.1: what a Pipedrive → QuickBooks connector would notice."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devkit.sandboxes.pipedrive import wire
from devkit.sandboxes.pipedrive.extensions import verify_hs256
from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox, ProductLine
from devkit.sandboxes.pipedrive.scenes import dutch_b2b_deal

# The recorded Pipedrive webhook and our preview file, kept in tests/fixtures/pipedrive (see SOURCE.txt there).
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "pipedrive"
CLIENT_ID, CLIENT_SECRET, REDIRECT = "koppel-app", "s3cret-of-koppel", "https://koppel.example/oauth/pipedrive"
API_TOKEN = "0123456789abcdef0123456789abcdef01234567"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Receiver:
    """A webhook endpoint on loopback that records what it gets and answers ``status``."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/pipedrive/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def running_sandbox():
    sandbox = PipedriveSandbox()
    sandbox.start()
    company = sandbox.add_company()
    sandbox.add_api_token(next(iter(company.users.values())), API_TOKEN)
    sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET, REDIRECT, jwt_secret="panel-jwt-secret")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running_sandbox: PipedriveSandbox) -> PipedriveSandbox:
    running_sandbox.reset()  # one server for the module, a clean account per test
    running_sandbox.clock = lambda: datetime.now(UTC)
    return running_sandbox


@pytest.fixture(scope="module")
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.server.shutdown()


def get(sandbox: PipedriveSandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(sandbox.base_url + path, params=params, headers={"x-api-token": API_TOKEN}, timeout=5)


def send(
    sandbox: PipedriveSandbox, method: str, path: str, body: Any, headers: dict[str, str] | None = None
) -> requests.Response:
    auth = headers or {"x-api-token": API_TOKEN}
    return requests.request(method, sandbox.base_url + path, json=body, headers=auth, timeout=5)


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def oauth_login(sandbox: PipedriveSandbox) -> dict[str, Any]:
    authorize = requests.get(
        sandbox.base_url + "/oauth/authorize",
        params={"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "xyz"},
        allow_redirects=False,
        timeout=5,
    )
    assert authorize.status_code == 302
    query = parse_qs(urlsplit(authorize.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    return token_call(sandbox, {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT})


def token_call(sandbox: PipedriveSandbox, form: dict[str, str], secret: str = CLIENT_SECRET) -> Any:
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    response = requests.post(
        sandbox.base_url + "/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"}, timeout=5
    )
    return response.json() if response.ok else response


# -- auth --------------------------------------------------------------------------------------------------------
def test_api_token_in_header_or_query_opens_the_api_and_a_wrong_one_gets_the_gateway_401(sandbox):
    # Given a deal
    deal = sandbox.add_deal("Onderhoudscontract", [ProductLine("Onderhoud", "250.00")])
    # When it is read with the token in the header, in the query, and with a wrong token
    by_header = get(sandbox, f"/api/v2/deals/{deal['id']}")
    by_query = requests.get(
        sandbox.base_url + f"/api/v2/deals/{deal['id']}", params={"api_token": API_TOKEN}, timeout=5
    )
    wrong = requests.get(sandbox.base_url + f"/api/v2/deals/{deal['id']}", headers={"x-api-token": "nope"}, timeout=5)
    # Then both real tokens open it and the wrong one gets Pipedrive's gateway body
    assert by_header.json()["data"]["title"] == by_query.json()["data"]["title"] == "Onderhoudscontract"
    assert wrong.status_code == 401
    assert wrong.json() == {
        "success": False,
        "error": "unauthorized access",
        "errorCode": 401,
        "error_info": "Please check developers.pipedrive.com",
    }


def test_oauth_code_flow_gives_a_bearer_token_that_expires_on_the_clock(sandbox):
    # Given a clock the test moves
    clock = Clock()
    sandbox.clock = clock
    # When the app is installed through the authorize page and the code is exchanged with Basic client auth
    tokens = oauth_login(sandbox)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    # Then the answer has Pipedrive's keys, its api_domain is the sandbox, and the access token opens the API
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token", "scope", "api_domain"}
    assert (tokens["token_type"], tokens["expires_in"], tokens["api_domain"]) == ("Bearer", 3600, sandbox.base_url)
    assert requests.get(tokens["api_domain"] + "/v1/dealFields", headers=bearer, timeout=5).status_code == 200
    # And an hour later the same token is refused
    clock.advance(3601)
    assert requests.get(sandbox.base_url + "/v1/dealFields", headers=bearer, timeout=5).status_code == 401


def test_refresh_rotates_the_refresh_token_and_the_old_one_answers_invalid_grant(sandbox):
    # Given an installed app
    first = oauth_login(sandbox)
    # When it refreshes, and later presents the old refresh token again
    second = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    replay = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    # Then the refresh gave a new pair, the replay is refused, and the counter shows the reuse
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.json()["message"] == "Invalid grant: refresh_token is invalid"
    assert sandbox.refresh_token_uses() == {first["refresh_token"]: 2}
    # And the new refresh token works (once)
    third = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert "access_token" in third


def test_a_grace_lets_a_lost_refresh_answer_be_retried_once_within_it(sandbox):
    # Given a vendor that tolerates a retried refresh for 30 seconds
    clock = Clock()
    sandbox.clock = clock
    sandbox.configure({"refresh_grace_seconds": 30})
    first = oauth_login(sandbox)
    # When the refresh is sent twice (the first answer was lost), and once more after the grace
    lost = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    retried = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    clock.advance(31)
    late = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    # Then the retry gets a fresh pair, the lost pair's refresh token is dead, and after the grace it is refused
    assert "refresh_token" in retried
    stale = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": lost["refresh_token"]})
    assert stale.status_code == 400
    assert late.status_code == 400


def test_token_endpoint_refuses_a_wrong_client_secret_and_a_json_body(sandbox):
    # When the token endpoint gets a wrong secret, or JSON instead of a form
    wrong = token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": "x"}, secret="guess")
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    as_json = requests.post(
        sandbox.base_url + "/oauth/token",
        json={"grant_type": "refresh_token"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=5,
    )
    # Then both are refused in the documented words
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert as_json.json()["message"] == "Invalid request: content must be application/x-www-form-urlencoded"


# -- deals, products, contacts -------------------------------------------------------------------------------------
def test_deals_are_paged_by_cursor_and_filtered_by_updated_since_and_status(sandbox):
    # Given five deals made a minute apart, and the third changed later
    clock = Clock()
    sandbox.clock = clock
    ids = []
    for n in range(5):
        ids.append(sandbox.add_deal(f"Deal {n}", [ProductLine("Advies", "100")])["id"])
        clock.advance(60)
    sandbox.set_deal_status(ids[2], "won")
    # When they are listed two at a time
    seen, cursor, pages = [], None, 0
    while True:
        page = get(sandbox, "/api/v2/deals", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [d["id"] for d in page["data"]]
        pages += 1
        cursor = page["additional_data"]["next_cursor"]
        if cursor is None:
            break
    # Then every deal comes once, in id order, over three pages
    assert (seen, pages) == (ids, 3)
    # And updated_since gives only what changed since then, status only the won one
    since = get(
        sandbox, "/api/v2/deals", updated_since=(clock.now - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert [d["id"] for d in since.json()["data"]] == [ids[2]]
    assert [d["id"] for d in get(sandbox, "/api/v2/deals", status="won").json()["data"]] == [ids[2]]
    assert get(sandbox, "/api/v2/deals", updated_since="yesterday").status_code == 400


def test_deal_products_carry_both_discount_types_and_tax_methods_as_json_numbers(sandbox):
    # Given a deal priced without VAT with a percentage discount, and one priced with VAT with an amount off
    excl = sandbox.add_deal("Excl", [ProductLine("Oven", "1250.00", 2, discount=10, tax=21, tax_method="exclusive")])
    incl = sandbox.add_deal(
        "Incl",
        [ProductLine("Service", "99.95", 3, discount="15", discount_type="amount", tax=21, tax_method="inclusive")],
    )
    # When their products are read
    excl_lines = decimal_json(get(sandbox, f"/api/v2/deals/{excl['id']}/products"))["data"]
    incl_lines = decimal_json(get(sandbox, f"/api/v2/deals/{incl['id']}/products"))["data"]
    # Then the lines come back exact, the sum includes the tax only when exclusive
    line = excl_lines[0]
    assert (line["item_price"], line["quantity"], line["discount"], line["discount_type"]) == (
        Decimal(1250),
        2,
        10,
        "percentage",
    )
    assert (line["tax"], line["tax_method"], line["sum"]) == (21, "exclusive", Decimal("2722.5"))
    line = incl_lines[0]
    assert (line["discount"], line["discount_type"], line["tax_method"], line["sum"]) == (
        15,
        "amount",
        "inclusive",
        Decimal("284.85"),
    )
    assert '"item_price": 99.95' in get(sandbox, f"/api/v2/deals/{incl['id']}/products").text
    # And the deal's value is the sum of its lines
    assert decimal_json(get(sandbox, f"/api/v2/deals/{excl['id']}"))["data"]["value"] == Decimal("2722.5")


def test_one_tax_method_per_deal_a_new_line_changes_the_others(sandbox):
    # Given a deal with an exclusive line
    deal = sandbox.add_deal("Gemengd", [ProductLine("Oven", "100", tax=21, tax_method="exclusive")])
    # When a line with inclusive tax is added
    sandbox.add_deal_product(deal["id"], ProductLine("Service", "50", tax=21, tax_method="inclusive"))
    # Then the first line follows, as Pipedrive keeps one tax method per deal
    lines = decimal_json(get(sandbox, f"/api/v2/deals/{deal['id']}/products"))["data"]
    assert [(p["tax_method"], p["sum"]) for p in lines] == [("inclusive", 100), ("inclusive", 50)]


def test_persons_and_organizations_have_the_v2_shapes(sandbox):
    # Given an organization with an address and its contact with two e-mail addresses
    org = sandbox.add_organization(
        "Jansen B.V.",
        address={
            "route": "Dorpsstraat",
            "street_number": "1",
            "postal_code": "1234 AB",
            "locality": "Ede",
            "country": "Nederland",
        },
    )
    person = sandbox.add_person(
        "Piet Jansen",
        emails=[{"value": "piet@jansen.nl"}, {"value": "boekhouding@jansen.nl", "label": "other"}],
        phones=[{"value": "0318-123456"}],
        org_id=org["id"],
    )
    # When both are read
    person_data = get(sandbox, f"/api/v2/persons/{person['id']}").json()["data"]
    org_data = get(sandbox, f"/api/v2/organizations/{org['id']}").json()["data"]
    # Then e-mails and phones are lists of {value, primary, label}, the first primary; the address has subfields
    assert person_data["emails"] == [
        {"value": "piet@jansen.nl", "primary": True, "label": "work"},
        {"value": "boekhouding@jansen.nl", "primary": False, "label": "other"},
    ]
    assert (person_data["org_id"], person_data["first_name"], person_data["last_name"]) == (org["id"], "Piet", "Jansen")
    assert org_data["address"]["value"] == "Dorpsstraat 1, 1234 AB Ede, Nederland"
    assert (org_data["address"]["postal_code"], org_data["address"]["locality"]) == ("1234 AB", "Ede")


def test_unknown_ids_get_404_in_the_vendors_body(sandbox):
    # When a deal, person and organization that do not exist are asked for
    answers = [get(sandbox, f"/api/v2/{kind}/424242") for kind in ("deals", "persons", "organizations")]
    # Then each is a 404 with Pipedrive's error body
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].json() == {
        "success": False,
        "error": "Deal not found",
        "error_info": wire.ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_the_connector_finds_or_makes_its_field_and_patches_the_invoice_status(sandbox):
    # Given a won deal, and the connector's "Factuurstatus" field made over v1
    deal = sandbox.add_deal("Project", [ProductLine("Advies", "1000")], status="won")
    made = send(sandbox, "POST", "/v1/dealFields", {"name": "Factuurstatus", "field_type": "varchar"}).json()["data"]
    listed = get(sandbox, "/api/v1/dealFields").json()
    # When the connector writes the invoice status into it
    patched = send(
        sandbox, "PATCH", f"/api/v2/deals/{deal['id']}", {"custom_fields": {made["key"]: "Gefactureerd: INV-1001"}}
    )
    # Then the field has a 40-character key, is listed, and the deal carries the value
    assert len(made["key"]) == 40 and made["edit_flag"] is True
    assert made["key"] in [f["key"] for f in listed["data"]]
    assert listed["additional_data"]["pagination"]["more_items_in_collection"] is False
    assert patched.json()["data"]["custom_fields"] == {made["key"]: "Gefactureerd: INV-1001"}
    assert sandbox.custom_field_values(deal["id"]) == {made["key"]: "Gefactureerd: INV-1001"}
    # And an unknown key or a read-only property is refused
    assert send(sandbox, "PATCH", f"/api/v2/deals/{deal['id']}", {"custom_fields": {"f" * 40: "x"}}).status_code == 400
    assert send(sandbox, "PATCH", f"/api/v2/deals/{deal['id']}", {"id": 5}).status_code == 400


# -- webhooks ------------------------------------------------------------------------------------------------------
def test_a_won_deal_posts_change_deal_with_previous_status_basic_auth_and_the_samples_keys(sandbox, receiver):
    # Given a v2 webhook on change.deal with Basic auth, made over the API
    hook = send(
        sandbox,
        "POST",
        "/v1/webhooks",
        {
            "subscription_url": receiver.url,
            "event_action": "change",
            "event_object": "deal",
            "version": "2.0",
            "http_auth_user": "koppel",
            "http_auth_password": "geheim",
        },
    )
    assert hook.status_code == 201
    deal = sandbox.add_deal("Warmtepomp", [ProductLine("Warmtepomp", "6495.00", tax=21)])
    receiver.calls.clear()
    # When the salesperson wins the deal and the webhooks are delivered
    sandbox.set_deal_status(deal["id"], "won")
    assert [d.event for d in sandbox.pending_webhooks()] == ["change.deal"]
    sandbox.deliver_webhooks()
    # Then one POST arrived, Basic-authenticated, with the recorded body's keys, status won, previous open
    ((headers, raw),) = receiver.calls
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"koppel:geheim"
    body, sample = (
        json.loads(raw, parse_float=Decimal),
        json.loads((SAMPLES / "webhook.v2.deal.create.json").read_text()),
    )
    assert list(body) == ["data", "previous", "meta"] and set(body) == set(sample)
    assert list(body["meta"]) == list(sample["meta"]) and list(body["data"]) == list(sample["data"])
    assert (body["meta"]["action"], body["meta"]["entity"], body["meta"]["entity_id"]) == (
        "change",
        "deal",
        str(deal["id"]),
    )
    assert (body["data"]["status"], body["previous"], body["data"]["value"]) == (
        "won",
        {"status": "open"},
        Decimal("7858.95"),
    )


def test_a_failed_delivery_is_retried_later_with_attempt_two(sandbox, receiver):
    # Given a webhook on every deal event and an endpoint that fails
    clock = Clock()
    sandbox.clock = clock
    sandbox.register_webhook("*.deal", receiver.url)
    sandbox.add_deal("Storing", [ProductLine("Reparatie", "120")])
    receiver.status, receiver.calls[:] = 500, []
    # When it is delivered, and again before and after the retry is due
    sandbox.deliver_webhooks()
    early = sandbox.deliver_webhooks()
    clock.advance(3)
    receiver.status = 200
    sandbox.deliver_webhooks()
    # Then the second try came only when due, carrying attempt 2
    attempts = [json.loads(raw)["meta"]["attempt"] for _, raw in receiver.calls]
    assert (early, attempts, sandbox.pending_webhooks()) == ([], [1, 2], [])


def test_ten_failed_first_attempts_ban_the_webhook_for_30_minutes_and_its_events_are_lost(sandbox):
    # Given a webhook whose endpoint keeps failing
    clock = Clock()
    sandbox.clock = clock
    sandbox.register_webhook("create.deal", "https://koppel.example/down")
    for n in range(10):
        sandbox.add_deal(f"Deal {n}", [ProductLine("Advies", "1")])
        sandbox.deliver_webhooks(lambda delivery: 503)
    sandbox.outbox.items.clear()  # the retries of those ten do not matter here
    # When an eleventh deal comes in during the ban, and a twelfth after it
    sandbox.add_deal("Tijdens ban", [ProductLine("Advies", "1")])
    during = sandbox.pending_webhooks()
    clock.advance(30 * 60)
    sandbox.add_deal("Na ban", [ProductLine("Advies", "1")])
    # Then the eleventh event was lost for good, the twelfth is queued again
    assert during == [] and len(sandbox.outbox.lost) == 1
    assert [json.loads(d.body)["data"]["title"] for d in sandbox.pending_webhooks()] == ["Na ban"]


def test_changes_to_persons_and_deal_lines_fire_their_own_change_webhooks(sandbox):
    # Given webhooks on person and deal-product changes, a contact and a deal with one line
    sandbox.register_webhook("change.person", "https://koppel.example/person")
    sandbox.register_webhook("change.deal_product", "https://koppel.example/line")
    person = sandbox.add_person("Eva de Wit", emails=[{"value": "eva@oud.nl"}])
    deal = sandbox.add_deal("Regels", [ProductLine("Advies", "100.00", 2, tax=21)])
    line = sandbox.get_deal_products(deal["id"])[0]
    # When the e-mail address and the line's quantity change
    sandbox.update_person(person["id"], {"emails": [{"value": "eva@nieuw.nl"}]})
    sandbox.update_deal_product(line["id"], {"quantity": 3})
    # Then each change is a webhook with the old values in previous, and the line's sum and the deal follow
    bodies = {d.event: json.loads(d.body, parse_float=Decimal) for d in sandbox.pending_webhooks()}
    assert bodies["change.person"]["previous"] == {
        "emails": [{"value": "eva@oud.nl", "primary": True, "label": "work"}]
    }
    assert bodies["change.deal_product"]["previous"] == {"quantity": 2}
    assert bodies["change.deal_product"]["data"]["sum"] == Decimal("363")
    assert sandbox.get_deal(deal["id"])["value"] == Decimal("363.00")


def test_the_41st_webhook_of_a_user_is_refused(sandbox):
    # Given 40 webhooks
    for n in range(40):
        sandbox.register_webhook("change.deal", f"https://koppel.example/hook/{n}")
    # When the 41st is made over the API
    refused = send(
        sandbox,
        "POST",
        "/v1/webhooks",
        {
            "subscription_url": "https://koppel.example/41",
            "event_action": "change",
            "event_object": "deal",
            "version": "2.0",
        },
    )
    # Then Pipedrive forbids it in its error body
    assert refused.status_code == 403
    assert refused.json()["success"] is False and "40" in refused.json()["error"]


# -- limits --------------------------------------------------------------------------------------------------------
def test_the_daily_token_budget_ends_in_429_with_rate_headers_until_midnight(sandbox):
    # Given a company with 12 tokens left today and a deal
    clock = Clock()
    sandbox.clock = clock
    deal = sandbox.add_deal("Budget", [ProductLine("Advies", "10")])
    sandbox.configure({"daily_budget": 12})
    # When it lists deals (10 tokens), gets one (1), and gets it again twice
    listed, one, two, over = (
        get(sandbox, "/api/v2/deals"),
        *(get(sandbox, f"/api/v2/deals/{deal['id']}") for _ in range(3)),
    )
    # Then the last is a 429 in Pipedrive's body with the headers, and what is left can be read
    assert [r.status_code for r in (listed, one, two, over)] == [200, 200, 200, 429]
    assert over.json()["success"] is False and over.json()["data"] is None
    assert over.headers["x-daily-ratelimit-token-remaining"] == "0"
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(over.headers)
    assert sandbox.tokens_left() == 0
    # And after midnight the budget is back
    clock.advance(15 * 3600)
    assert get(sandbox, f"/api/v2/deals/{deal['id']}").status_code == 200


def test_the_burst_limit_gives_429_or_a_403_json_or_a_cloudflare_html_page(sandbox):
    # Given a burst limit of 3 requests per 2 seconds and a frozen clock
    sandbox.clock = Clock()
    sandbox.configure({"burst_override": 3})
    answers = [get(sandbox, "/v1/dealFields") for _ in range(4)]
    # Then the fourth is a 429 with remaining 0 and the reset
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert (answers[2].headers["x-ratelimit-remaining"], answers[3].headers["x-ratelimit-remaining"]) == ("0", "0")
    assert answers[3].headers["x-ratelimit-limit"] == "3" and int(answers[3].headers["x-ratelimit-reset"]) >= 1
    # And the robustness variants answer 403 in JSON, or 403 with an HTML page
    sandbox.configure({"burst_answer": "403"})
    assert get(sandbox, "/v1/dealFields").status_code == 403
    sandbox.configure({"burst_answer": "html"})
    page = get(sandbox, "/v1/dealFields")
    assert (
        page.status_code == 403 and page.headers["Content-Type"].startswith("text/html") and "Cloudflare" in page.text
    )


# -- app extension and fixtures ------------------------------------------------------------------------------------
def test_the_panel_request_carries_a_jwt_signed_with_the_apps_secret(sandbox):
    # Given a deal, shown in Koppel's panel
    deal = sandbox.add_deal("Paneel", [ProductLine("Advies", "10")])
    # When Pipedrive's panel request is built
    call = sandbox.app_extension_request("https://koppel.example/pipedrive/panel", CLIENT_ID, [deal["id"]])
    # Then it has the documented query parameters and a token only the app's JWT secret verifies
    company = sandbox.company()
    assert (call.params["resource"], call.params["view"], call.params["selectedIds"]) == (
        "deal",
        "details",
        str(deal["id"]),
    )
    claims = verify_hs256(call.params["token"], "panel-jwt-secret")
    assert (claims["companyId"], claims["userId"]) == (company.id, next(iter(company.users)))
    with pytest.raises(ValueError, match="signature"):
        verify_hs256(call.params["token"], CLIENT_SECRET)
    assert call.full_url.startswith("https://koppel.example/pipedrive/panel?resource=deal")


def test_the_preview_fixture_is_what_the_sandbox_serves():
    # Given a fresh account on the fixture's clock with the Dutch B2B scene
    fresh = PipedriveSandbox(clock=lambda: datetime(2026, 11, 24, 9, 15, tzinfo=UTC))
    fresh.add_company()
    deal_id = dutch_b2b_deal(fresh)
    # Then the preview equals the saved file, number for number
    saved = json.loads((SAMPLES / "preview_deal.json").read_text(), parse_float=Decimal)
    assert wire.loads(wire.dumps(fresh.preview_deal(deal_id))) == saved
    assert [p["tax_method"] for p in saved["products"]] == ["exclusive", "exclusive"]


def test_kit_faults_and_http_control_speak_pipedrive(sandbox):
    # Given a forced throttle and a config change over the control surface
    sandbox.faults.queue("throttle")
    throttled = get(sandbox, "/v1/dealFields")
    configured = requests.post(sandbox.base_url + "/_sandbox/config", json={"burst_answer": "teapot"}, timeout=5)
    # Then the throttle is a 429 in Pipedrive's body, and a bad setting is refused
    assert throttled.status_code == 429 and throttled.json()["error"] == "Request over limit"
    assert configured.status_code == 400


def test_an_app_sees_only_its_own_webhooks(sandbox):
    # Given a general webhook made with the API token and one made by the OAuth app
    sandbox.register_webhook("change.deal", "https://koppel.example/general")
    bearer = {"Authorization": f"Bearer {oauth_login(sandbox)['access_token']}"}
    body = {
        "subscription_url": "https://koppel.example/app",
        "event_action": "*",
        "event_object": "deal",
        "version": "2.0",
    }
    made = send(sandbox, "POST", "/v1/webhooks", body, headers=bearer).json()["data"]
    # When the app lists webhooks and deletes its own
    listed = requests.get(sandbox.base_url + "/v1/webhooks", headers=bearer, timeout=5).json()["data"]
    deleted = requests.delete(sandbox.base_url + f"/v1/webhooks/{made['id']}", headers=bearer, timeout=5)
    # Then it saw only its own, typed "application", and the delete worked
    assert [(h["subscription_url"], h["type"]) for h in listed] == [("https://koppel.example/app", "application")]
    assert deleted.json() == {"success": True, "status": "ok"}
    assert len(get(sandbox, "/v1/webhooks").json()["data"]) == 1
