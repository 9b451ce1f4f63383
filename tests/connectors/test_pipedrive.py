"""The Pipedrive connector against its sandbox on loopback (devkit/sandboxes/pipedrive) and the preview file in
tests/fixtures/pipedrive: a deal becomes one balanced invoice event whichever path reads it, limits and refused
credentials say what to do, the invoice status is kept on the deal, and the app extension's pure parts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.pipedrive.extensions import sign_hs256
from devkit.sandboxes.pipedrive.sandbox import Limits, PipedriveSandbox, ProductLine
from devkit.sandboxes.pipedrive.scenes import dutch_b2b_deal
from koppel import wire
from koppel.adapters.memory import MemoryConnectionStore
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.contract import PanelInvoice
from koppel.connectors.pipedrive import (
    CONNECTOR,
    PipedriveOAuth,
    PipedriveSource,
    PipedriveWriteBack,
    invoice_panel,
    preview_events,
    read_extension_request,
)
from koppel.connectors.pipedrive.extensions import PANEL_SCHEMA
from koppel.connectors.pipedrive.webhooks import BUTTON, IGNORED, WON
from koppel.errors import AuthError, InputError, PermanentError, RetryableError, SignatureError
from koppel.http import session_for
from koppel.model import Connection, DocumentEvent, ExternalRef, PaymentStatus
from koppel.ports import CachedToken, WebhookNotice

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pipedrive"
T0 = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
API_TOKEN = "0123456789abcdef0123456789abcdef01234567"
CLIENT_ID, CLIENT_SECRET, REDIRECT = (
    "koppel-app",
    "s3cret-of-koppel",
    "https://koppel.example/connect/pipedrive/callback",
)
JWT_SECRET = "panel-jwt-secret"
HOOK = ("koppel-hook", "a-long-webhook-password")
TAX_KEY = "9f" * 20
CONNECTION = Connection(
    connection_id="pd-test", tenant_id="bakkerij", source="pipedrive", targets=("quickbooks",),
    created_at=T0 - timedelta(hours=1),
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def running() -> Iterator[PipedriveSandbox]:
    sandbox = PipedriveSandbox(limits=Limits(burst_override=10_000))
    sandbox.start()
    company = sandbox.add_company()
    sandbox.add_api_token(next(iter(company.users.values())), API_TOKEN)
    sandbox.add_oauth_client(CLIENT_ID, CLIENT_SECRET, REDIRECT, jwt_secret=JWT_SECRET)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pd(running: PipedriveSandbox, clock: Clock) -> PipedriveSandbox:
    running.reset()
    running.clock = clock
    running.add_api_token(next(iter(running.company().users.values())), API_TOKEN)
    return running


def _ctx(pd: PipedriveSandbox, clock: Clock, store: MemoryConnectionStore | None = None, **settings: Any) -> Any:
    secrets = {"api_token": API_TOKEN, "webhook_user": HOOK[0], "webhook_password": HOOK[1]}
    if "secrets" in settings:
        secrets = settings.pop("secrets")
    return ConnectorContext(
        connection=CONNECTION,
        settings={"api_url": pd.base_url, "oauth_url": pd.base_url, **settings},
        secrets=secrets,
        session=session_for(retries=0, timeout=(2, 2)),
        store=store or MemoryConnectionStore(),
        partner_secret=lambda: {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        clock=clock,
    )


def _source(pd: PipedriveSandbox, clock: Clock, **settings: Any) -> PipedriveSource:
    source = CONNECTOR.build_source(_ctx(pd, clock, **settings))  # type: ignore[misc]
    assert isinstance(source, PipedriveSource)
    return source


def _contacts(pd: PipedriveSandbox) -> dict[str, int]:
    org = pd.add_organization(
        "Bakkerij Jansen B.V.",
        address={"route": "Dorpsstraat", "street_number": "1", "postal_code": "1234 AB", "locality": "Ede",
                 "country": "Nederland"},
    )  # fmt: skip
    person = pd.add_person("Piet Jansen", emails=[{"value": "piet@jansen.nl", "primary": True}], org_id=org["id"])
    return {"person_id": person["id"], "org_id": org["id"]}


def _document(events: list[Any]) -> DocumentEvent:
    [event] = events
    assert isinstance(event, DocumentEvent)
    return event


def _click(source: PipedriveSource, deal_id: int) -> DocumentEvent:
    return _document(source.hydrate(WebhookNotice(entity="deal", record_id=str(deal_id), topic=BUTTON)))


# -- the translation ------------------------------------------------------------------------------------------------
def test_the_preview_file_translates_into_the_reviewed_golden_event_and_books_balanced() -> None:
    # Given the preview file: one deal with its products, person and organization
    record = json.loads((FIXTURES / "preview_deal.json").read_text(), parse_float=Decimal)

    # When it is read as the button would read it at 10:15 Dutch time
    event = _document(preview_events(record, CONNECTION, now=T0))

    # Then it is exactly the reviewed invoice
    assert event.model_dump(mode="json") == {
        "event_id": "pipedrive:deal:171:invoice", "tenant_id": "bakkerij", "connection_id": "pd-test",
        "source": "pipedrive", "occurred_at": "2026-11-24T09:15:00Z", "schema_version": 1, "kind": "order.completed",
        "payload": {
            "doc_type": "invoice", "direction": "sales", "source_id": "171", "number": "PD-171",
            "issue_date": "2026-11-24", "due_days": None, "currency": "EUR", "prices_include_vat": False,
            "vat_treatment": "domestic",
            "party": {
                "source_id": "organization:121", "code": "", "name": "Van den Berg Installatietechniek B.V.",
                "contact_name": "Eva van den Berg", "email": "eva@vandenberg-installatie.nl",
                "phone": "+31 30 234 5678", "mobile": "", "is_business": True, "vat_number": "", "coc_number": "",
                "iban": "", "delivery_address": None, "payment_term_days": None,
                "billing_address": {"street": "Stationsplein 45", "postcode": "3511 ED", "city": "Utrecht",
                                    "country_code": "NL"},
            },
            "lines": [
                {"kind": "goods", "description": "Warmtepomp Daikin Altherma 3 H HT 16 kW", "sku": "41",
                 "quantity": "2", "unit_price": "6495", "discount": "487.125", "amount": "12015.75",
                 "vat_rate": "21", "product_group": "", "vat_category": None},
                {"kind": "goods", "description": "Installatie en inregeling (uur)", "sku": "42", "quantity": "16",
                 "unit_price": "85", "discount": "0", "amount": "1360.00", "vat_rate": "21", "product_group": "",
                 "vat_category": None},
            ],
            "discounts": [], "total": "16184.66", "total_vat": None, "vat_rounded_per_line": False,
            "description": "Warmtepompen nieuwbouw Leidsche Rijn", "reference": "Warmtepompen nieuwbouw Leidsche Rijn",
            "payment_method": "", "is_paid": False, "payments": [], "attachments": [], "vat_country": None,
            "review": [],
        },
    }  # fmt: skip
    # And it books balanced to the cent, at Pipedrive's own deal value
    booking = plan_booking(event.payload)
    assert (booking.net_total, booking.vat_total, booking.total) == (
        Decimal("13375.75"),
        Decimal("2808.91"),
        Decimal("16184.66"),
    )
    assert booking.total == record["value"]


def test_the_sandbox_serves_the_preview_scene_and_the_button_reads_it_the_same(
    pd: PipedriveSandbox, clock: Clock
) -> None:
    # Given the preview file's scene in Pipedrive
    deal_id = dutch_b2b_deal(pd)

    # When the button is pressed on it  Then the API gives the same invoice as the file
    read = _click(_source(pd, clock), deal_id)
    previewed = _document(preview_events(pd.preview_deal(deal_id), CONNECTION, now=clock.now))
    assert read == previewed
    assert read.payload.total == Decimal("16184.66")
    # And the token went in the x-api-token header on every call, never in an address a log could keep
    assert pd.received and all(
        r.headers.get("X-Api-Token") == API_TOKEN and "api_token" not in r.query for r in pd.received
    )


CASES = {
    # One line 19.99 × 3 with 12.5 % off (52.47 at 21 %), one 95.50 × 3 with 20.00 off the whole line (266.50 at 9 %)
    "exclusive": (Decimal("353.98"), False),  # 318.97 + 11.02 + 23.99
    "inclusive": (Decimal("318.97"), True),
    "none": (Decimal("318.97"), False),
}


@pytest.mark.parametrize("tax_method", list(CASES))
def test_both_discount_types_and_every_tax_method_reconcile_to_the_cent(
    pd: PipedriveSandbox, clock: Clock, tax_method: str
) -> None:
    # Given a deal with a percentage discount on one line and an amount off the other line
    lines = [
        ProductLine("Croissants", "19.99", 3, discount="12.5", tax=21, tax_method=tax_method),
        ProductLine("Bezorging", "95.50", 3, discount="20.00", discount_type="amount", tax=9, tax_method=tax_method),
    ]
    deal = pd.add_deal("Ontbijt", lines, **_contacts(pd))

    # When the button is pressed
    doc = _click(_source(pd, clock), deal["id"]).payload

    # Then the lines carry the discounts, and the total is what the lines and VAT add up to
    total, include_vat = CASES[tax_method]
    assert [line.amount for line in doc.lines] == [Decimal("52.47"), Decimal("266.50")]
    assert doc.lines[0].discount == Decimal("2.49875")  # 12.5 % of 19.99, per unit, exactly
    assert doc.lines[1].discount == Decimal("6.666667")  # 20.00 off the whole line, per unit (informative)
    assert doc.prices_include_vat is include_vat
    assert [line.vat_rate for line in doc.lines] == ([0, 0] if tax_method == "none" else [21, 9])
    assert doc.total == total
    booking = plan_booking(doc)
    assert booking.total == total == booking.net_total + booking.vat_total
    if tax_method == "exclusive":
        assert total == pd.get_deal(deal["id"])["value"]  # Pipedrive's own value agrees here, but is not used


def test_a_percentage_discount_per_unit_is_exact(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a line whose percentage discount leaves half cents per unit
    deal = pd.add_deal("Taart", [ProductLine("Taart", "24.95", 7, discount="15", tax=9)], **_contacts(pd))

    # When read  Then the discount per unit is exact and the line amount rounds once
    line = _click(_source(pd, clock), deal["id"]).payload.lines[0]
    assert (line.discount, line.amount) == (Decimal("3.7425"), Decimal("148.45"))  # 174.65 − 26.1975


def test_a_deal_without_person_and_organization_is_refused_with_what_to_do(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given deals with nobody to invoice, and one without products
    nobody = pd.add_deal("Losse verkoop", [ProductLine("Brood", "3.50", 2, tax=9)])
    empty = pd.add_deal("Nog leeg", [], **_contacts(pd))
    source = _source(pd, clock)

    # When the button is pressed  Then each is refused with a sentence a salesperson can act on
    with pytest.raises(PermanentError, match=r"no person and no organization.*link a contact person"):
        _click(source, nobody["id"])
    with pytest.raises(PermanentError, match=r"has no products.*add the products"):
        _click(source, empty["id"])


def test_the_customer_follows_the_settings(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a deal whose organization holds a VAT number in a custom field
    contacts = _contacts(pd)
    pd.update_organization(contacts["org_id"], {"custom_fields": {TAX_KEY: "nl 8554.12.345 B01"}})
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], **contacts)

    # When read with the person as the customer, a due term, a fixed currency and another prefix
    source = _source(pd, clock, customer_name="person", tax_number_field=TAX_KEY, due_days=30, currency="EUR",
                     number_prefix="OFF/")  # fmt: skip
    doc = _click(source, deal["id"]).payload

    # Then the invoice is to the person, with the organization's VAT number and address
    assert (doc.party.name, doc.party.contact_name, doc.party.vat_number) == ("Piet Jansen", "", "NL8554.12.345B01")
    assert (doc.party.billing_address.city, doc.party.billing_address.country_code) == ("Ede", "NL")
    assert (doc.number, doc.due_days, doc.currency) == (f"OFF/{deal['id']}", 30, "EUR")
    # And a deal in another currency than the setting is refused with what to change
    usd = pd.add_deal("Export", [ProductLine("Oven", "1250", 1)], currency="USD", **contacts)
    with pytest.raises(PermanentError, match="is in USD, but this connection invoices in EUR only"):
        _click(source, usd["id"])


def test_wrong_settings_are_refused_with_every_problem_named() -> None:
    # Given settings with a long prefix, a field name instead of its key and a plain http address
    settings = {"number_prefix": "FACTUUR-PIPEDRIVE-", "tax_number_field": "BTW-nummer", "api_url": "http://x.nl"}

    # When they are loaded  Then every problem is a sentence
    with pytest.raises(InputError) as refused:
        CONNECTOR.build_source(_ctx_without_sandbox(settings))  # type: ignore[misc]
    message = str(refused.value)
    assert "number_prefix" in message and "21-character invoice number" in message
    assert "40-character key" in message
    assert "must use https" in message


def _ctx_without_sandbox(settings: Mapping[str, Any]) -> ConnectorContext:
    return ConnectorContext(
        connection=CONNECTION, settings=dict(settings), secrets={"api_token": "x"}, session=requests.Session()
    )


# -- the won path: webhook and poll -----------------------------------------------------------------------------------
def test_a_won_deal_webhook_gives_the_same_event_id_as_the_button(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a webhook subscription with Basic credentials, and a deal that is won an hour later
    pd.register_webhook("change.deal", "https://koppel.example/hooks/pipedrive/pd-test", http_auth=HOOK)
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 2, discount="10", tax=21)], **_contacts(pd))
    clock.now = T0 + timedelta(hours=1)
    pd.set_deal_status(deal["id"], "won")
    [delivery] = [d for d in pd.pending_webhooks() if json.loads(d.body)["previous"] == {"status": "open"}]
    source = _source(pd, clock, won_deals_create_invoices=True)

    # When Koppel receives it
    source.verify_webhook(delivery.headers, delivery.body, delivery.url)
    notice = source.parse_webhook(delivery.body)
    event = _document(source.hydrate(notice))

    # Then it names the won deal, and the event is the button's, dated the day it was won
    assert (notice.entity, notice.record_id, notice.topic) == ("deal", str(deal["id"]), WON)
    clock.now = T0 + timedelta(days=3)
    clicked = _click(source, deal["id"])
    assert event.event_id == clicked.event_id == f"pipedrive:deal:{deal['id']}:invoice"
    assert (event.payload.issue_date, clicked.payload.issue_date) == (date(2026, 11, 24), date(2026, 11, 27))
    assert event.payload.lines == clicked.payload.lines
    # And with won deals not making invoices, the same webhook books nothing and asks Pipedrive nothing
    quiet = _source(pd, clock)
    asked = len(pd.received)
    assert quiet.parse_webhook(delivery.body).topic == IGNORED
    assert quiet.hydrate(quiet.parse_webhook(delivery.body)) == []
    assert len(pd.received) == asked


def test_other_deal_changes_book_nothing(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a subscription and a won deal whose title then changes
    pd.register_webhook("change.deal", "https://koppel.example/hooks/pipedrive/pd-test", http_auth=HOOK)
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], status="won", **_contacts(pd))
    pd.update_deal(deal["id"], {"title": "Ovens (geleverd)"})
    source = _source(pd, clock, won_deals_create_invoices=True)

    # When every webhook is read  Then only the one that won the deal is about a won deal
    topics = [source.parse_webhook(d.body).topic for d in pd.pending_webhooks()]
    assert topics == [WON, IGNORED]
    # And the recorded create.deal body of a live account, or a v1 body, is acknowledged without booking anything
    recorded = (FIXTURES / "webhook.v2.deal.create.json").read_bytes()
    assert source.parse_webhook(recorded) == WebhookNotice(entity="deal", record_id="178", topic=IGNORED)
    v1 = json.dumps({"current": {"id": 5, "status": "won"}, "previous": {"status": "open"},
                     "meta": {"v": 1, "object": "deal", "id": 5}}).encode()  # fmt: skip
    assert source.parse_webhook(v1).topic == IGNORED
    # And a body that is no Pipedrive webhook is refused with why
    with pytest.raises(InputError, match="no meta"):
        source.parse_webhook(b'{"id": 5}')


def test_a_webhook_without_the_subscriptions_basic_credentials_is_refused(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given the source of a connection whose webhook credentials are known
    source = _source(pd, clock)
    good = requests.Request("POST", "https://x", auth=HOOK).prepare().headers["Authorization"]
    wrong = requests.Request("POST", "https://x", auth=(HOOK[0], "guessed")).prepare().headers["Authorization"]

    # When webhooks arrive with the right, wrong or no credentials  Then only the right ones pass
    source.verify_webhook({"Authorization": good}, b"{}", "")
    odd = ({"Authorization": "Basic !!!"}, {"Authorization": "Basic ÿ=="}, {"Authorization": "Basic " + "é" * 400})
    for headers in ({"Authorization": wrong}, {}, *odd, {"Authorization": "Bearer x"}):
        with pytest.raises(SignatureError, match="Basic credentials"):
            source.verify_webhook(headers, b"{}", "")


def test_the_poll_lists_won_deals_lazily_and_only_when_won_deals_make_invoices(
    pd: PipedriveSandbox, clock: Clock
) -> None:
    # Given a deal won before the connection existed, one won after it, and an open one
    contacts = _contacts(pd)
    clock.now = T0 - timedelta(days=2)
    old = pd.add_deal("Oud", [ProductLine("Oven", "100", 1, tax=21)], status="won", **contacts)
    clock.now = T0
    pd.update_deal(old["id"], {"title": "Oud (nagekeken)"})
    won = pd.add_deal("Nieuw", [ProductLine("Oven", "100", 1, tax=21)], status="won", **contacts)
    pd.add_deal("Open", [ProductLine("Oven", "100", 1, tax=21)], **contacts)
    window = (T0 - timedelta(minutes=10), T0 + timedelta(minutes=1))

    # When polled with won deals off  Then nothing is read at all
    asked = len(pd.received)
    assert list(_source(pd, clock).poll(*window)) == []
    assert len(pd.received) == asked

    # When polled with won deals on
    source = _source(pd, clock, won_deals_create_invoices=True)
    records = {r.record_id: r for r in source.poll(*window)}

    # Then the old deal is skipped with why, the new one announced with its event id, its lines not yet read
    assert set(records) == {str(old["id"]), str(won["id"])}
    assert "before this connection invoiced won deals" in records[str(old["id"])].skipped_reason
    fresh = records[str(won["id"])]
    assert fresh.event_ids == (f"pipedrive:deal:{won['id']}:invoice",) and fresh.notice is not None
    assert not any("/products" in r.path for r in pd.received)
    assert _document(source.hydrate(fresh.notice)).event_id == fresh.event_ids[0]


# -- limits and credentials -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", ["429", "403", "html"])
def test_a_burst_limit_is_retryable_with_its_wait_whatever_it_is_answered_with(
    pd: PipedriveSandbox, clock: Clock, answer: str
) -> None:
    # Given Pipedrive's burst limit reached, answered with 429, a JSON 403 or Cloudflare's HTML 403
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], **_contacts(pd))
    pd.configure({"burst_override": 1, "burst_answer": answer})
    source = _source(pd, clock)
    source.client.get(f"/api/v2/deals/{deal['id']}")

    # When the next call is made  Then it is retryable with a wait, never a credentials problem
    with pytest.raises(RetryableError) as throttled:
        source.client.get(f"/api/v2/deals/{deal['id']}")
    wait = throttled.value.retry_after
    assert wait is not None and (wait == 60 if answer == "html" else 0 < wait <= 2)
    assert "not a credentials problem" in str(throttled.value) or answer == "429"


def test_a_spent_daily_budget_waits_for_midnight_and_asks_nothing_before(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given the company's daily token budget used up by other integrations at 10:15 UTC
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], **_contacts(pd))
    clock.now = T0 + timedelta(hours=1)
    pd.spend_tokens(pd.tokens_left())
    source = _source(pd, clock)

    # When the deal is read  Then the wait runs to midnight UTC and the message says why
    with pytest.raises(RetryableError, match=r"daily API budget.*refills at midnight UTC") as spent:
        _click(source, deal["id"])
    assert spent.value.retry_after == pytest.approx(13 * 3600 + 45 * 60 + 60)
    # And the next read does not call Pipedrive again
    asked = len(pd.received)
    with pytest.raises(RetryableError, match="daily API budget"):
        _click(source, deal["id"])
    assert len(pd.received) == asked


def test_a_replaced_api_token_is_an_auth_error_saying_reconnect(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given the user made a new personal API token, so the stored one is dead
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], **_contacts(pd))
    pd.add_api_token(next(iter(pd.company().users.values())))

    # When the deal is read  Then it is an AuthError that says reconnect
    with pytest.raises(AuthError, match=r"personal API token.*reconnect"):
        _click(_source(pd, clock), deal["id"])


def test_a_deal_that_is_gone_is_refused_with_its_id(pd: PipedriveSandbox, clock: Clock) -> None:
    with pytest.raises(PermanentError, match="Pipedrive has no deal 999999"):
        _click(_source(pd, clock), 999999)


def _connected_by_oauth(pd: PipedriveSandbox, clock: Clock) -> tuple[MemoryConnectionStore, dict[str, str]]:
    """The owner consents; the code is traded as the callback would; the grant stored as services/authorize does."""
    flow = PipedriveOAuth(oauth_url=pd.base_url)
    partner = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    url = flow.authorize_url(state="s" * 40, redirect_uri=REDIRECT, partner=partner)
    location = requests.get(url, allow_redirects=False, timeout=2).headers["Location"]
    code = requests.utils.urlparse(location).query.split("code=")[1].split("&")[0]
    granted = flow.exchange(code=code, redirect_uri=REDIRECT, query={}, partner=partner)
    assert granted.account_id == granted.account["company_id"]  # the company finds its connection by it
    store = MemoryConnectionStore()
    grant = CachedToken(
        value=granted.access_token, expires_at=clock.now + timedelta(seconds=granted.expires_in), version=1,
        refresh_token=granted.refresh_token, refreshed_at=clock.now,
    )  # fmt: skip
    store.put_token(CONNECTION.connection_id, "pipedrive", grant)
    return store, dict(granted.account)


def test_oauth_connects_to_the_api_domain_and_renews_a_refused_token_once(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a connection made by the owner's consent
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], **_contacts(pd))
    store, account = _connected_by_oauth(pd, clock)
    assert account == {"api_domain": pd.base_url, "company_id": str(pd.company().id)}
    source = CONNECTOR.build_source(_ctx(pd, clock, store, secrets=account))  # type: ignore[misc]
    assert isinstance(source, PipedriveSource)
    _click(source, deal["id"])

    # When Pipedrive forgets the access token (a 401) and the deal is read again, twice renewed
    for _ in range(2):
        pd.tokens.access.clear()
        event = _click(source, deal["id"])

    # Then each 401 renewed the grant once, every rotated refresh token was used once, and the grant is stored
    assert event.event_id == f"pipedrive:deal:{deal['id']}:invoice"
    uses = pd.refresh_token_uses()
    assert len(uses) == 2 and set(uses.values()) == {1}
    stored = store.get_token(CONNECTION.connection_id, "pipedrive")
    assert stored is not None and stored.refresh_token not in uses and stored.refreshing_until is None


def test_an_idle_grant_is_renewed_by_the_daily_poll_even_when_won_deals_make_no_invoices(
    pd: PipedriveSandbox, clock: Clock
) -> None:
    # Given a grant renewed last two days ago, on a connection where only the button makes invoices
    store, account = _connected_by_oauth(pd, clock)
    clock.now = T0 + timedelta(days=2)
    source = CONNECTOR.build_source(_ctx(pd, clock, store, secrets=account))  # type: ignore[misc]

    # When the scheduled poll runs twice  Then the grant is renewed once, and no deal is read
    assert list(source.poll(clock.now - timedelta(minutes=5), clock.now)) == []
    assert list(source.poll(clock.now - timedelta(minutes=5), clock.now)) == []
    assert list(pd.refresh_token_uses().values()) == [1]
    assert not any(r.path.startswith("/api/") for r in pd.received)


def test_a_refused_grant_is_an_auth_error_saying_reconnect(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a connection whose grant Pipedrive no longer knows (the app was uninstalled)
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 1, tax=21)], **_contacts(pd))
    store, account = _connected_by_oauth(pd, clock)
    pd.tokens.clear_sessions()

    # When the deal is read  Then it is an AuthError that says reconnect
    with pytest.raises(AuthError, match=r"invalid_grant.*reconnect Pipedrive"):
        _click(CONNECTOR.build_source(_ctx(pd, clock, store, secrets=account)), deal["id"])  # type: ignore[misc, arg-type]


# -- write-back and webhook subscription ------------------------------------------------------------------------------
def _status(deal_id: int, state: str, open_amount: str) -> PaymentStatus:
    return PaymentStatus(
        document_number=f"PD-{deal_id}", source_id=str(deal_id), status=state,  # type: ignore[arg-type]
        amount_open=Decimal(open_amount), currency="EUR", updated_at=T0,
    )  # fmt: skip


def test_the_write_back_keeps_the_deal_field_current_and_a_repeat_changes_nothing(
    pd: PipedriveSandbox, clock: Clock
) -> None:
    # Given a booked deal and its write-back (the company has no status field yet)
    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1000", 1, tax=21)], **_contacts(pd))
    writer = CONNECTOR.build_target(_ctx(pd, clock, invoice_status_field="Factuurstatus"))  # type: ignore[misc]
    assert isinstance(writer, PipedriveWriteBack)

    # When a partial payment is carried back, twice
    ref = writer.apply_payment_status(_status(deal["id"], "partially_paid", "121"))
    patches = sum(1 for r in pd.received if r.method == "PATCH")
    writer.apply_payment_status(_status(deal["id"], "partially_paid", "121.00"))

    # Then the field shows it, made once, and the repeat wrote nothing
    key = writer.field_key()
    assert pd.custom_field_values(deal["id"]) == {key: f"PD-{deal['id']} · Partially paid · EUR 121.00 open"}
    assert ref == ExternalRef(system="pipedrive", id=str(deal["id"]), number=f"PD-{deal['id']}")
    assert sum(1 for r in pd.received if r.method == "PATCH") == patches == 1
    assert sum(1 for r in pd.received if r.method == "POST" and r.path == "/v1/dealFields") == 1
    # And a later status replaces it
    writer.apply_payment_status(_status(deal["id"], "paid", "0"))
    assert pd.custom_field_values(deal["id"])[key] == f"PD-{deal['id']} · Paid · EUR 0.00 open"


def test_subscribing_twice_adds_no_second_webhook_and_the_limit_says_what_to_do(
    pd: PipedriveSandbox, clock: Clock
) -> None:
    # Given a connection's source
    source = _source(pd, clock)
    address = "https://koppel.example/hooks/pipedrive/pd-test"

    # When it subscribes twice  Then one subscription carries the credentials both runs return
    first = source.subscribe_webhooks(address)
    assert source.subscribe_webhooks(address) == first
    [hook] = pd.webhooks.values()
    assert (hook["event_action"], hook["event_object"], hook["version"]) == ("change", "deal", "2.0")
    assert (hook["http_auth_user"], hook["http_auth_password"]) == (first["webhook_user"], first["webhook_password"])

    # And with the user's 40 webhooks in use, another address is refused with what to do
    for n in range(39):
        source.client.call("POST", "/v1/webhooks", body={"subscription_url": f"https://x.nl/{n}",
                                                          "event_action": "*", "event_object": "*"})  # fmt: skip
    with pytest.raises(PermanentError, match=r"at most 40 webhooks per user.*delete unused ones"):
        source.subscribe_webhooks("https://koppel.example/hooks/pipedrive/other")


# -- app extensions ---------------------------------------------------------------------------------------------------
def _panel_query(pd: PipedriveSandbox, deal_id: int, **changes: Any) -> dict[str, str]:
    request = pd.app_extension_request("https://koppel.example/pipedrive/panel", CLIENT_ID, [deal_id], now=T0)
    return {**request.params, **changes}


def test_a_signed_extension_request_names_company_user_and_deal(pd: PipedriveSandbox) -> None:
    query = _panel_query(pd, 171)
    read = read_extension_request(query, JWT_SECRET, T0 + timedelta(minutes=1))
    user = next(iter(pd.company().users.values()))
    assert (read.company_id, read.user_id, read.resource, read.view) == (pd.company().id, user.id, "deal", "details")
    assert read.selected_ids == (171,)


def test_a_tampered_expired_foreign_or_unsigned_extension_request_is_refused(pd: PipedriveSandbox) -> None:
    query = _panel_query(pd, 171)
    header, _, signature = query["token"].split(".")
    claims = {"userId": 1, "companyId": 1, "exp": int((T0 + timedelta(minutes=5)).timestamp())}
    unsigned = sign_hs256(claims, "x").rsplit(".", 1)[0].replace(header, "eyJhbGciOiJub25lIn0") + "."
    forged = sign_hs256(claims, "x").split(".")[1]
    refusals = {
        "signature does not match": ({**query, "token": f"{header}.{forged}.{signature}"}, T0),
        "has expired": (query, T0 + timedelta(minutes=6)),
        "not signed with HS256": ({**query, "token": unsigned}, T0),
        "companyId differs": ({**query, "companyId": "42"}, T0),
        "carries no token": ({k: v for k, v in query.items() if k != "token"}, T0),
    }  # fmt: skip
    for reason, (asked, now) in refusals.items():
        with pytest.raises(SignatureError, match=reason):
            read_extension_request(asked, JWT_SECRET, now)
    with pytest.raises(SignatureError, match="signature does not match"):
        read_extension_request(query, "another-apps-secret", T0)


def test_each_refused_extension_request_names_the_jwt_check_it_failed_in_plain_words(pd: PipedriveSandbox) -> None:
    # Given a genuine panel request and the ways a request can fail Koppel's JWT checks
    query = _panel_query(pd, 171)
    header, body, signature = query["token"].split(".")
    claims = {"userId": 1, "companyId": 1, "exp": "tomorrow"}
    no_ids = sign_hs256({"exp": int((T0 + timedelta(minutes=5)).timestamp())}, JWT_SECRET)
    bad_exp = sign_hs256(claims, JWT_SECRET)
    cases = {
        "missing token": ({k: v for k, v in query.items() if k != "token"}, T0),
        "malformed token": ({**query, "token": "abc"}, T0),
        "not HS256": ({**query, "token": sign_hs256(claims, "x").replace(header, "eyJhbGciOiJub25lIn0", 1)}, T0),
        "bad signature": ({**query, "token": f"{header}.{body}.{signature[:-4]}AAAA"}, T0),
        "expired": (query, T0 + timedelta(minutes=6)),
        "bad expiry": ({**query, "token": bad_exp}, T0),
        "no company or user": ({**query, "token": no_ids}, T0),
        "wrong company": ({**query, "companyId": "42"}, T0),
        "wrong user": ({**query, "userId": "42"}, T0),
    }  # fmt: skip
    for check, (asked, now) in cases.items():
        # When Koppel checks it
        with pytest.raises(SignatureError) as refused:
            read_extension_request(asked, JWT_SECRET, now)
        # Then the refusal names that check, and says nothing of the secret or the token
        assert refused.value.check == check, (check, str(refused.value))
        assert JWT_SECRET not in str(refused.value) and query["token"] not in str(refused.value)


def test_the_app_extension_reads_the_click_as_the_deal_s_invoice(pd: PipedriveSandbox) -> None:
    # Given a salesperson's click on deal 171, signed with the extension's JWT secret
    extension = CONNECTOR.app_extension
    assert extension is not None
    query = _panel_query(pd, 171)

    # When Koppel reads it with its partner secret
    partner = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "jwt_secret": JWT_SECRET}
    request = extension.read_request(query, partner, T0)

    # Then it names the company (which finds the connection) and the deal, read as the button's notice
    assert (request.account_id, request.record_ids) == (str(pd.company().id), ("171",))
    assert extension.event_ids("171") == ("pipedrive:deal:171:invoice",)
    assert extension.notice("171") == WebhookNotice(entity="deal", record_id="171", topic=BUTTON)
    # And a click signed with the client secret only is refused when a JWT secret is set, and another resource too
    with pytest.raises(SignatureError):
        extension.read_request(query, {"client_secret": CLIENT_SECRET}, T0)
    person = pd.app_extension_request("https://k.example/p", CLIENT_ID, [5], resource="person", now=T0).params
    with pytest.raises(InputError, match="works on deals, not on a person"):
        extension.read_request(person, partner, T0)


def test_the_button_queues_the_deal_s_invoice_through_koppel_s_app_service(pd: PipedriveSandbox, clock: Clock) -> None:
    # Given a connection linked to the Pipedrive company, and a deal with its products and contacts
    from koppel.adapters.memory import MemoryLedger, MemoryPublisher
    from koppel.services.apps import AppDeps, book_now, panel

    deal = pd.add_deal("Ovens", [ProductLine("Oven", "1250", 2, discount="10", tax=21)], **_contacts(pd))
    store, queue = MemoryConnectionStore([CONNECTION]), MemoryPublisher()
    store.link_account("pipedrive", str(pd.company().id), CONNECTION.connection_id)
    source = _source(pd, clock)
    deps = AppDeps(
        connections=store, ledger=MemoryLedger(), publisher=queue, source_for=lambda c: source,
        target_for=lambda c, t: object(), extension_for=lambda s: CONNECTOR.app_extension,  # type: ignore[arg-type,return-value]
        partner_secret=lambda s: {"client_secret": CLIENT_SECRET, "jwt_secret": JWT_SECRET}, clock=clock,
    )  # fmt: skip

    # When the salesperson presses "Create invoice" on the deal
    click = _panel_query(pd, deal["id"])
    queued = book_now("pipedrive", click, deps)

    # Then the deal's invoice is queued for the target under its one event id, and the panel has nothing booked yet
    assert queued.event_ids == (f"pipedrive:deal:{deal['id']}:invoice",)
    [event] = queue.sent["quickbooks"]
    assert isinstance(event, DocumentEvent) and event.payload.total == Decimal("2722.50")  # 2250.00 + 21 %
    assert panel("pipedrive", click, deps) == {"data": []}


def test_the_deal_panel_answers_the_documented_json_panel_shape() -> None:
    # Given a deal's invoices as Koppel's ledger shows them
    invoices = [
        PanelInvoice(number="PD-1042", status="Partially paid", total="EUR 1210.00", link="https://qbo.example/145",
                     actions=("void", "delete", "send", "pdf")),
        PanelInvoice(number="PD-1043", status="Voided", total="EUR 0.00", actions=("void", "delete", "send", "pdf")),
        PanelInvoice(number="PD-1044", status="Open", total="EUR 10.00", actions=("void", "delete", "send", "pdf")),
        PanelInvoice(number="PD-1045", status="Needs attention", total="", reason="Line 1: tax code missing"),
    ]  # fmt: skip

    # When the panel is answered
    panel = invoice_panel(invoices, settings_url="https://koppel.example/settings",
                          external_link=("https://koppel.example", "Open Koppel"))  # fmt: skip

    # Then each object fits the registered schema (nothing else may be sent), with the documented field shapes
    properties = PANEL_SCHEMA["items"]["properties"]
    for item in panel["data"]:
        assert set(item) <= set(properties) and {"id", "header"} <= set(item)
        assert isinstance(item["id"], int)
        assert item["status"]["color"] in {"green", "red", "blue", "yellow", "purple", "grey"}
    partly, voided, open_, parked = panel["data"]
    assert partly == {
        "id": 1, "header": "PD-1042", "status": {"color": "yellow", "label": "Partially paid"},
        "amount": {"code": "EUR", "value": Decimal("1210.00")}, "actions": ["Send", "PDF"],
        "invoice": {"label": "Open invoice", "value": "https://qbo.example/145", "external": True},
    }  # fmt: skip
    assert (voided["actions"], open_["actions"], parked["actions"]) == (["PDF"], ["Void", "Delete", "Send", "PDF"], [])
    assert parked["reason"] == "Line 1: tax code missing" and "amount" not in parked
    assert panel["settings"] == {"url": "https://koppel.example/settings"}
    assert panel["external_link"] == {"url": "https://koppel.example", "label": "Open Koppel"}
    assert '"value":1210.00' in wire.dumps(panel)  # a number, never a float or a string
    assert CONNECTOR.app_extension is not None and CONNECTOR.app_extension.panel([]) == {"data": []}
