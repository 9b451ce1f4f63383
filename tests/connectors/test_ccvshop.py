"""CCV Shop source: golden normalization of a recorded order, webhook checks, signed reads, hydrate and poll.

HTTP is replayed with `responses`; every body is JSON text with numbers written as CCV writes them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from koppel.booking import VatTotal, plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors import build_source as build_named_source
from koppel.connectors.ccvshop import (
    CcvshopSource,
    build_source,
    normalize_order,
    preview_events,
    read_preview_file,
)
from koppel.connectors.kit import dates as kit_dates
from koppel.errors import AuthError, InputError, PermanentError, RetryableError, SignatureError, UnbalancedDocumentError
from koppel.http import session_for
from koppel.model import Connection, DocumentEvent
from koppel.ports import WebhookNotice

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ccvshop"
SHOP = "https://bonapp1.ccvshop.nl"
API = f"{SHOP}/api/rest/v1"
PUBLIC, SECRET, WEBHOOK_KEY = "pub-123", "secret-456", "hook-789"
NOW = datetime(2022, 11, 20, 12, 0, tzinfo=UTC)
HOOK_URL = "https://hooks.koppel.example/hooks/ccvshop/ccv-demo"
CONNECTION = Connection(
    connection_id="ccv-demo",
    tenant_id="tenant-demo",
    source="ccvshop",
    targets=("snelstart",),
    created_at=datetime(2022, 11, 1, tzinfo=UTC),
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def sample() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    case = load("order_339323562.json")["input"]
    return case["order"], case["orderrows"]["items"]


def webhook(name: str) -> bytes:
    return str(load("webhooks.json")[name]).encode()


def to_json(value: Any) -> str:
    """JSON text with Decimals written as bare numbers, the way CCV writes them (never through float)."""
    marked = json.dumps(value, default=lambda d: f"@@{d}@@")
    return re.sub(r'"@@(.*?)@@"', r"\1", marked)


def hex_hmac(key: str, message: bytes | str) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key.encode(), data, hashlib.sha512).hexdigest()


def make_source(settings: dict[str, Any] | None = None, secrets: dict[str, str] | None = None) -> CcvshopSource:
    return build_source(
        ConnectorContext(
            connection=CONNECTION,
            settings={"base_url": SHOP, **(settings or {})},
            secrets={"public_key": PUBLIC, "secret_key": SECRET, "webhook_key": WEBHOOK_KEY}
            if secrets is None
            else secrets,
            session=session_for(retries=0),
            clock=lambda: NOW,
        )
    )


def signed_answer(
    body: Any, *, status: int = 200, secret: str = SECRET, extra: dict[str, str] | None = None
) -> Callable[[Any], tuple[int, dict[str, str], str]]:
    """A responses callback that answers like CCV: the body plus its own x-date/x-hash over the request uri."""
    text = body if isinstance(body, str) else to_json(body)

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        x_date = "2022-11-20T12:00:01Z"
        headers = {"x-date": x_date, "x-hash": hex_hmac(secret, f"{PUBLIC}|GET|{request.path_url}|{text}|{x_date}")}
        return status, {**headers, **(extra or {})}, text

    return callback


def order_with(**changes: Any) -> dict[str, Any]:
    order, _ = sample()
    order = copy.deepcopy(order)
    order.update(changes)
    return order


def rows_of(order_id: int, *totals: tuple[int, int, int]) -> list[dict[str, Any]]:
    """Order rows shaped like the recorded one: (count, price per unit, tax %)."""
    _, (row,) = sample()
    result = []
    for index, (count, price, tax) in enumerate(totals):
        item = copy.deepcopy(row)
        item.update(
            id=648228528 + index,
            order_id=order_id,
            count=count,
            price=price,
            discount=0,
            price_without_discount=price,
            price_without_discount_with_attributes=price,
            total_price=count * price,
            total_price_with_attributes=count * price,
            tax=tax,
            product_name=f"Artikel {index + 1}",
        )
        result.append(item)
    return result


def floats_in(value: Any) -> list[Any]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in floats_in(v)]
    if isinstance(value, list | tuple):
        return [f for v in value for f in floats_in(v)]
    return []


# --- normalization ---------------------------------------------------------------------------------------


def test_recorded_order_normalizes_to_the_golden_document() -> None:
    # Given order #1 exactly as CCV returned it, with its rows collection
    case = load("order_339323562.json")
    order, rows = case["input"]["order"], case["input"]["orderrows"]["items"]

    # When it is normalized
    event = normalize_order(order, rows, CONNECTION)

    # Then it is the golden event: rows + shipping, total as stated, postcode tidied, no delivery address
    assert event.model_dump(mode="json") == case["expected"]


def test_every_amount_of_the_normalized_order_is_a_decimal() -> None:
    # Given the recorded order (JSON whole numbers like 590 and fractions like 102.4)
    order, rows = sample()

    # When it is normalized
    document = normalize_order(order, rows, CONNECTION).payload

    # Then no float exists anywhere and every amount is a Decimal
    assert floats_in(document.model_dump()) == []
    amounts = [document.total, document.total_vat] + [
        v for line in document.lines for v in (line.quantity, line.unit_price, line.discount, line.amount)
    ]
    assert all(type(amount) is Decimal for amount in amounts)
    assert document.total_vat == Decimal("102.4")


def test_recorded_order_books_balanced_because_rows_and_shipping_make_its_total() -> None:
    """By hand: row 585 (595 less 10 discount) + shipping 5 = 590 = total_price, all incl. 21 % VAT.
    VAT per line: 585 × 21/121 = 101.53, 5 × 21/121 = 0.87; for the rate 590 × 21/121 = 102.3967 → 102.40,
    which is the order's own total_tax (102.4). total_orderrow_price (590) is wrong but not used."""
    # Given the normalized recorded order
    order, rows = sample()
    document = normalize_order(order, rows, CONNECTION).payload

    # When it is planned as a booking
    booking = plan_booking(document)

    # Then it balances to the cent with the order's own VAT total
    assert [(line.kind, line.net, line.vat) for line in booking.lines] == [
        ("goods", Decimal("483.47"), Decimal("101.53")),
        ("shipping", Decimal("4.13"), Decimal("0.87")),
    ]
    assert booking.vat_totals == (VatTotal(rate=Decimal(21), base=Decimal("487.60"), vat=Decimal("102.40")),)
    assert booking.total == Decimal("590.00")


def test_an_order_whose_parts_do_not_add_up_is_refused_with_the_difference_named() -> None:
    # Given the recorded order whose stated total is 10 more than its rows and shipping
    _, rows = sample()
    document = normalize_order(order_with(total_price=600), rows, CONNECTION).payload

    # When it is planned
    with pytest.raises(UnbalancedDocumentError) as refused:
        plan_booking(document)

    # Then nothing was fixed up: the refusal names the difference
    assert refused.value.difference == Decimal("10.00")
    assert "+10.00" in str(refused.value)


@pytest.mark.parametrize("has_tz_database", [True, False])
@pytest.mark.parametrize(
    ("create_date", "dutch_day"),
    [
        ("2022-11-07T22:59:59Z", date(2022, 11, 7)),
        ("2022-11-07T23:00:00Z", date(2022, 11, 8)),
        ("2022-07-01T21:59:00Z", date(2022, 7, 1)),
        ("2022-07-01T22:00:00Z", date(2022, 7, 2)),
        ("2022-03-27T00:59:00Z", date(2022, 3, 27)),
        ("2022-10-29T22:00:00Z", date(2022, 10, 30)),
        ("2022-10-30T22:59:00Z", date(2022, 10, 30)),
    ],
)
def test_issue_date_is_the_order_day_in_the_netherlands(
    create_date: str, dutch_day: date, has_tz_database: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order placed around midnight Dutch time (with or without a tz database on the machine)
    if not has_tz_database:
        monkeypatch.setattr(kit_dates, "_AMSTERDAM", None)
    _, rows = sample()

    # When it is normalized
    document = normalize_order(order_with(create_date=create_date), rows, CONNECTION).payload

    # Then its invoice date is the Dutch calendar day
    assert document.issue_date == dutch_day


def test_business_customer_with_a_delivery_address() -> None:
    # Given an order of a company (b2b) with VAT and chamber of commerce numbers and another delivery address
    order = order_with()
    customer = order["customer"]
    customer["billingaddress"].update(company="Voorbeeld BV", address_line_1="", street="Markt", housenumber=1)
    customer.update(customertype="b2b", btw="NL001234567B01", kvk="12345678", iban="NL91ABNA0417164300")
    delivery = {"street": "Kerkstraat", "housenumber": 12, "housenumber_suffix": "A", "zipcode": "2511cv"}
    customer["deliveryaddress"].update(delivery, city="Den Haag", country_code="nl")
    _, rows = sample()

    # When it is normalized
    party = normalize_order(order, rows, CONNECTION).payload.party

    # Then the company is the party, the person its contact, and both addresses are readable
    assert (party.name, party.contact_name, party.is_business) == ("Voorbeeld BV", "Jan Jansen", True)
    assert (party.vat_number, party.coc_number, party.iban) == ("NL001234567B01", "12345678", "NL91ABNA0417164300")
    assert party.billing_address.street == "Markt 1"
    assert party.delivery_address is not None
    assert party.delivery_address.model_dump() == {
        "street": "Kerkstraat 12 A",
        "postcode": "2511 CV",
        "city": "Den Haag",
        "country_code": "NL",
    }


def test_costs_coupon_and_credit_points_become_lines_and_discounts_that_book_balanced() -> None:
    # Given a completed order with two VAT rates, shipping, payment and extra costs, a coupon and credit points
    order = order_with(
        status=7,
        total_shipping=Decimal("6.95"),
        paymethod_costs=Decimal("0.50"),
        extra_costs=2,
        extra_costs_description="Cadeauverpakking",
        total_discounts=10,
        credit_point_discount=Decimal("1.5"),
        total_price=Decimal("127.95"),
        total_tax=Decimal("19.72"),
    )
    order["discountcoupon"]["code"] = "WELKOM10"
    rows = rows_of(339323562, (2, 50, 21), (3, 10, 9))

    # When it is normalized and planned
    document = normalize_order(order, rows, CONNECTION).payload
    booking = plan_booking(document)

    # Then each cost is its own line (costs follow the goods' main rate) and both discounts are named
    assert [(line.kind, line.description, line.amount, line.vat_rate) for line in document.lines] == [
        ("goods", "Artikel 1", Decimal(100), Decimal(21)),
        ("goods", "Artikel 2", Decimal(30), Decimal(9)),
        ("shipping", "Verzendkosten", Decimal("6.95"), Decimal(21)),
        ("payment_fee", "Betaalkosten", Decimal("0.50"), None),
        ("extra_cost", "Cadeauverpakking", Decimal(2), None),
    ]
    assert [(d.description, d.code, d.amount) for d in document.discounts] == [
        ("Kortingscode WELKOM10", "WELKOM10", Decimal(10)),
        ("Korting spaarpunten", "", Decimal("1.5")),
    ]
    assert (booking.total, booking.vat_total) == (Decimal("127.95"), Decimal("19.72"))


def test_shipping_incl_vat_is_brought_to_the_rows_excl_vat_basis() -> None:
    # Given rows priced excl. VAT but shipping stated incl. 21 % VAT (6.05 = 5.00 + 1.05)
    order = order_with(
        status=7,
        order_row_taxes_included=False,
        taxes_included=False,
        shipping_taxes_included=True,
        total_shipping=Decimal("6.05"),
        total_price=Decimal("127.05"),
        total_tax=Decimal("22.05"),
    )
    rows = rows_of(339323562, (1, 100, 21))

    # When it is normalized and planned
    document = normalize_order(order, rows, CONNECTION).payload
    booking = plan_booking(document)

    # Then the shipping line is 5.00 excl. VAT and the booking meets the stated total
    assert document.prices_include_vat is False
    assert document.lines[1].amount == Decimal("5.00")
    assert booking.total == Decimal("127.05")


def test_a_deposit_row_carries_no_vat() -> None:
    # Given a deposit (statiegeld) row that CCV lists with 21 % tax
    _, rows = sample()
    rows[0]["product_type"] = "deposit"

    # When it is normalized
    line = normalize_order(order_with(), rows, CONNECTION).payload.lines[0]

    # Then it is booked at 0 %
    assert line.vat_rate == Decimal(0)


def test_an_amount_parsed_as_float_is_refused() -> None:
    # Given an order whose JSON was parsed without parse_float=Decimal
    _, rows = sample()

    # When it is normalized
    with pytest.raises(PermanentError) as refused:
        normalize_order(order_with(total_tax=102.4), rows, CONNECTION)

    # Then it is refused with how to read CCV's JSON
    assert "parse_float=Decimal" in str(refused.value)


def test_preview_file_reads_the_order_with_its_rows_collection() -> None:
    # Given one file: the order as GET /orders/{id} returns it, orderrows holding the rows collection
    case = load("order_339323562.json")
    preview = {**case["input"]["order"], "orderrows": case["input"]["orderrows"]}

    # When it is read and normalized
    order, rows = read_preview_file(preview)
    event = normalize_order(order, rows, CONNECTION)

    # Then it is the same golden document
    assert event.model_dump(mode="json") == case["expected"]


def test_preview_file_with_only_the_rows_link_says_what_is_missing() -> None:
    # Given the order exactly as GET /orders/{id} returns it (orderrows is just a link)
    order, _ = sample()

    # When it is read as a preview file
    with pytest.raises(InputError) as refused:
        read_preview_file(order)

    # Then the message says the rows collection is needed
    assert '{"items": [...]}' in str(refused.value)


# --- webhooks ------------------------------------------------------------------------------------------

SAMPLE_HOOKS = ["status_changed", "track_and_trace", "is_paid", "is_paid_verbatim"]


@pytest.mark.parametrize("name", SAMPLE_HOOKS)
def test_webhook_signed_over_the_body_is_accepted(name: str) -> None:
    # Given a recorded webhook body signed as hex HMAC-SHA512(webhook key, raw body)
    body = webhook(name)
    headers = {"X-Hash": hex_hmac(WEBHOOK_KEY, body)}

    # When it is verified under the default recipe (SignatureError if refused)
    make_source().verify_webhook(headers, body, HOOK_URL)

    # Then it passes: nothing was raised


@pytest.mark.parametrize("name", SAMPLE_HOOKS)
def test_webhook_signed_over_address_and_body_is_accepted_when_configured(name: str) -> None:
    # Given a recorded webhook signed over the delivery address + "|" + raw body
    body = webhook(name)
    headers = {"x-hash": hex_hmac(WEBHOOK_KEY, HOOK_URL.encode() + b"|" + body).upper()}

    # When it is verified under the address_body recipe (SignatureError if refused)
    make_source({"webhook_signature": "address_body"}).verify_webhook(headers, body, HOOK_URL)

    # Then it passes: nothing was raised


def test_webhook_with_a_wrong_hash_is_refused_naming_the_recipe_and_the_switch() -> None:
    # Given a webhook whose body was changed after signing
    body = webhook("status_changed")
    headers = {"x-hash": hex_hmac(WEBHOOK_KEY, body)}

    # When it is verified
    with pytest.raises(SignatureError) as refused:
        make_source().verify_webhook(headers, body.replace(b"339493812", b"339493813"), HOOK_URL)

    # Then it is refused with the recipe tried and how to switch
    message = str(refused.value)
    assert "'body' recipe" in message
    assert "webhook_signature" in message
    assert "'address_body'" in message
    assert refused.value.status == 401


def test_address_signed_webhook_under_the_body_recipe_says_to_switch() -> None:
    # Given a webhook signed over address + body while the connection expects body only
    body = webhook("is_paid")
    headers = {"x-hash": hex_hmac(WEBHOOK_KEY, HOOK_URL.encode() + b"|" + body)}

    # When it is verified
    with pytest.raises(SignatureError) as refused:
        make_source().verify_webhook(headers, body, HOOK_URL)

    # Then the message tells to set webhook_signature to address_body
    assert "set webhook_signature to 'address_body'" in str(refused.value)


def test_webhook_without_x_hash_is_refused() -> None:
    # Given a webhook without any x-hash header
    body = webhook("status_changed")

    # When it is verified
    with pytest.raises(SignatureError) as refused:
        make_source().verify_webhook({"content-type": "application/json"}, body, HOOK_URL)

    # Then it is refused
    assert "no x-hash" in str(refused.value)


def test_webhook_with_a_non_ascii_x_hash_is_refused_not_crashed() -> None:
    # Given a webhook whose x-hash header is not even hex
    body = webhook("status_changed")

    # When it is verified
    with pytest.raises(SignatureError) as refused:
        make_source().verify_webhook({"x-hash": "é" * 128}, body, HOOK_URL)

    # Then it is an ordinary refusal (401), not a crash
    assert refused.value.status == 401


def test_webhook_key_of_any_registered_webhook_is_accepted() -> None:
    # Given a connection that stored the keys of two webhook registrations
    source = make_source(secrets={"public_key": PUBLIC, "secret_key": SECRET, "webhook_key": "key-a, key-b"})
    body = webhook("track_and_trace")

    # When a webhook signed with the second key arrives (SignatureError if refused)
    source.verify_webhook({"x-hash": hex_hmac("key-b", body)}, body, HOOK_URL)

    # Then it passes: nothing was raised


def test_webhook_without_a_stored_webhook_key_says_which_secret_to_set() -> None:
    # Given a connection without a webhook_key (it can still poll)
    source = make_source(secrets={"public_key": PUBLIC, "secret_key": SECRET})
    body = webhook("status_changed")

    # When a webhook arrives
    with pytest.raises(SignatureError) as refused:
        source.verify_webhook({"x-hash": hex_hmac(WEBHOOK_KEY, body)}, body, HOOK_URL)

    # Then the message names the secret to set
    assert "webhook_key" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "notice"),
    [
        ("status_changed", WebhookNotice(entity="order", record_id="339493812", topic="status_changed")),
        ("track_and_trace", WebhookNotice(entity="order", record_id="340377975", topic="track_and_trace")),
        ("is_paid", WebhookNotice(entity="order", record_id="340377945", topic="is_paid")),
    ],
)
def test_each_recorded_webhook_is_parsed_into_an_order_notice(name: str, notice: WebhookNotice) -> None:
    # Given a recorded webhook body (order_number, hrefs without a trailing slash, 616.67 as a number)
    body = webhook(name)

    # When it is parsed
    parsed = make_source().parse_webhook(body)

    # Then it names the order to re-read
    assert parsed == notice


def test_the_verbatim_annotated_is_paid_fragment_is_refused_as_not_json() -> None:
    # Given the recorded is_paid fragment as found ("paid": false, => true)
    body = webhook("is_paid_verbatim")

    # When it is parsed
    with pytest.raises(InputError) as refused:
        make_source().parse_webhook(body)

    # Then it is refused as malformed JSON
    assert "not valid JSON" in str(refused.value)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"order_number": 3, "status": 5}', "order id ('id') must be a number"),
        (b'{"id": "abc"}', "order id ('id') must be a number"),
        (rb'{"id": "\u00b2"}', "order id ('id') must be a number"),
        (rb'{"id": "\u0661\u0662"}', "order id ('id') must be a number"),
        (b'{"id": 12, "id": 13}', "appears twice"),
        (b'\xef\xbb\xbf{"id": 12}', "not valid JSON"),
        (rb'{"id": 12, "href": "https://shop/api/rest/v1/orders/\u00b2"}', "not an order"),
        (b"[1, 2]", "JSON object"),
        (b'{"id": 5, "href": "https://bonapp1.ccvshop.nl/api/rest/v1/products/5/"}', "not an order"),
    ],
)
def test_a_webhook_body_without_an_order_is_refused_naming_the_problem(body: bytes, problem: str) -> None:
    # Given a webhook body that does not identify an order
    source = make_source()

    # When it is parsed
    with pytest.raises(InputError) as refused:
        source.parse_webhook(body)

    # Then the reason is named
    assert problem in str(refused.value)


def test_order_href_with_a_trailing_slash_is_an_order() -> None:
    # Given a webhook whose href ends in "/" (as the order resource's own href does)
    body = b'{"id": 339323562, "href": "https://bonapp1.ccvshop.nl/api/rest/v1/orders/339323562/", "paid": true}'

    # When it is parsed
    notice = make_source().parse_webhook(body)

    # Then it is that order
    assert notice.record_id == "339323562"


# --- signed reads: hydrate -----------------------------------------------------------------------------


@responses.activate
def test_every_read_is_signed_and_a_new_paid_order_is_not_booked_yet() -> None:
    # Given CCV answering the recorded order: is_completed true but status 1 (New), paid
    order, _ = sample()
    responses.add_callback(responses.GET, f"{API}/orders/339323562", callback=signed_answer(order))

    # When the webhook notice is hydrated
    events = make_source().hydrate(WebhookNotice(entity="order", record_id="339323562", topic="is_paid"))

    # Then nothing is booked and the rows were never fetched
    assert events == []
    assert len(responses.calls) == 1
    # And the request carried CCV's signature over public|GET|uri||x-date
    request = responses.calls[0].request
    assert request.path_url == "/api/rest/v1/orders/339323562"
    assert request.headers["x-public"] == PUBLIC
    assert request.headers["x-date"] == "2022-11-20T12:00:00Z"
    assert request.headers["Accept"] == "application/vnd.verto.webshop+json"
    expected = hex_hmac(SECRET, f"{PUBLIC}|GET|{request.path_url}||{request.headers['x-date']}")
    assert request.headers["x-hash"] == expected


@responses.activate
def test_a_completed_paid_order_is_hydrated_with_rows_from_every_page() -> None:
    # Given order #3 completed and paid (2 × 585 + shipping 5 = 1175), its two rows on two pages
    order = order_with(id=339493812, ordernumber=3, ordernumber_full="3", status=7, total_price=1175)
    order["total_tax"] = Decimal("203.93")
    _, (row,) = sample()
    first, second = copy.deepcopy(row), copy.deepcopy(row)
    first["order_id"] = second["order_id"] = 339493812
    second["id"] = 648228529
    page_1 = {"href": "...", "items": [first], "next": f"{API}/orders/339493812/orderrows/?start=1&size=1"}
    page_2 = {"href": "...", "items": [second], "next": None}
    responses.add_callback(responses.GET, f"{API}/orders/339493812", callback=signed_answer(order))
    responses.add_callback(responses.GET, f"{API}/orders/339493812/orderrows", callback=signed_answer(page_1))
    responses.add_callback(responses.GET, f"{API}/orders/339493812/orderrows/", callback=signed_answer(page_2))

    # When its webhook notice is hydrated
    events = make_source({"page_size": 1}).hydrate(WebhookNotice(entity="order", record_id="339493812"))

    # Then one event carries both rows and shipping, and it books to the stated total
    (event,) = events
    assert isinstance(event, DocumentEvent)
    assert event.event_id == "ccvshop:order:339493812:completed"
    assert [line.amount for line in event.payload.lines] == [Decimal(585), Decimal(585), Decimal(5)]
    assert plan_booking(event.payload).total == Decimal("1175.00")
    # And every page was asked for with a signature over its own uri
    assert [call.request.path_url for call in responses.calls][1:] == [
        "/api/rest/v1/orders/339493812/orderrows?start=0&size=1",
        "/api/rest/v1/orders/339493812/orderrows/?start=1&size=1",
    ]
    for call in responses.calls:
        x_date = str(call.request.headers["x-date"])
        assert call.request.headers["x-hash"] == hex_hmac(SECRET, f"{PUBLIC}|GET|{call.request.path_url}||{x_date}")


@responses.activate
def test_an_answer_with_a_wrong_signature_is_refused_as_an_auth_problem() -> None:
    # Given CCV's answer signed with another secret (wrong key, or altered on the way)
    order, _ = sample()
    responses.add_callback(responses.GET, f"{API}/orders/339323562", callback=signed_answer(order, secret="other"))

    # When it is hydrated
    with pytest.raises(AuthError) as refused:
        make_source().hydrate(WebhookNotice(entity="order", record_id="339323562"))

    # Then it is refused
    assert "response signature invalid" in str(refused.value)


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "30"}, 30.0), ({}, 60.0)])
@responses.activate
def test_rate_limit_429_10_is_retryable_after_the_wait(headers: dict[str, str], wait: float) -> None:
    # Given CCV's per-resource rate limit answer
    error = {"code": "429.10", "status": 429, "developermessage": "Rate limit exceeded for this resource"}
    responses.add(responses.GET, f"{API}/orders/339323562", json=error, status=429, headers=headers)

    # When the order is read
    with pytest.raises(RetryableError) as retry:
        make_source().hydrate(WebhookNotice(entity="order", record_id="339323562"))

    # Then it is retried later, after Retry-After (or CCV's one-minute window), with CCV's reason
    assert (retry.value.status, retry.value.retry_after) == (429, wait)
    assert "Rate limit exceeded for this resource (code 429.10)" in str(retry.value)


@responses.activate
def test_refused_credentials_401_are_an_auth_error_with_ccvs_message() -> None:
    # Given CCV refusing the keys
    error = {"code": "401.0", "status": 401, "developermessage": "Invalid hash"}
    responses.add(responses.GET, f"{API}/orders/339323562", json=error, status=401)

    # When the order is read
    with pytest.raises(AuthError) as refused:
        make_source().hydrate(WebhookNotice(entity="order", record_id="339323562"))

    # Then the connection needs reconnecting, with CCV's reason
    assert "Invalid hash" in str(refused.value)
    assert "Reconnect" in str(refused.value)


# --- poll ---------------------------------------------------------------------------------------------


def listed(order_id: int, create_date: str, status: int, *, paid: bool) -> dict[str, Any]:
    order = order_with(id=order_id, create_date=create_date, status=status, paid=paid)
    order["href"] = f"{API}/orders/{order_id}/"
    return order


@responses.activate
def test_poll_pages_oldest_first_and_reports_open_orders_as_unsettled() -> None:
    # Given five orders on three pages: an old open one, a bookable one, a cancelled one, a new open one,
    # and one created exactly at the end of the window
    old_open = listed(101, "2022-10-05T10:00:00Z", 1, paid=False)
    bookable = listed(339323562, "2022-11-07T21:51:00Z", 7, paid=True)
    cancelled = listed(103, "2022-11-10T08:00:00Z", 8, paid=True)
    new_open = listed(104, "2022-11-19T09:30:00Z", 1, paid=True)
    at_until = listed(105, "2022-11-20T12:00:00Z", 7, paid=True)
    pages = [
        {"items": [old_open, bookable], "next": f"{API}/orders?start=2&size=2"},
        {"items": [cancelled, new_open], "next": f"{API}/orders?start=4&size=2"},
        {"items": [at_until], "next": ""},
    ]
    _, rows = sample()
    responses.add_callback(responses.GET, f"{API}/orders", callback=signed_answer(pages[0]))
    responses.add_callback(responses.GET, f"{API}/orders/339323562/orderrows", callback=signed_answer({"items": rows}))
    responses.add_callback(responses.GET, f"{API}/orders", callback=signed_answer(pages[1]))
    responses.add_callback(responses.GET, f"{API}/orders", callback=signed_answer(pages[2]))

    # When the window [2022-10-01, 2022-11-20 12:00) is polled
    since = datetime(2022, 10, 1, tzinfo=UTC)
    source = make_source({"page_size": 2})
    records = list(source.poll(since, NOW))

    # Then the orders in the window come oldest first, each with what happened to it
    assert [r.record_id for r in records] == ["101", "339323562", "103", "104"]
    assert [r.event_ids for r in records] == [(), ("ccvshop:order:339323562:completed",), (), ()]
    assert [r.is_settled for r in records] == [True, True, True, False]
    assert "no longer waited for" in records[0].skipped_reason
    assert records[2].skipped_reason == "cancelled (status 8)"
    assert "books on status 7 (Completed)" in records[3].skipped_reason
    assert records[1].changed_at == datetime(2022, 11, 7, 21, 51, tzinfo=UTC)
    # And the bookable order's rows are read only when the poll asks for its events (it is not booked yet)
    assert not any("/orderrows" in str(r.request.url) for r in responses.calls)
    (event,) = source.hydrate(records[1].notice)
    assert event.event_id == "ccvshop:order:339323562:completed"
    assert urlsplit(str(responses.calls[-1].request.url)).path.endswith("/orders/339323562/orderrows")
    # And CCV was asked for that window by create date, in pages of two, and the listed order was not re-read
    assert not any(urlsplit(str(r.request.url)).path.endswith("/orders/339323562") for r in responses.calls)
    query = parse_qs(urlsplit(str(responses.calls[0].request.url)).query)
    assert query == {
        "min_create_date": ["2022-10-01T00:00:00Z"],
        "max_create_date": ["2022-11-20T12:00:00Z"],
        "orderby": ["create_date"],
        "start": ["0"],
        "size": ["2"],
    }


@responses.activate
def test_a_rate_limit_while_paging_stops_the_poll_as_retryable() -> None:
    # Given a first page and then CCV's shop-wide rate limit
    page = {"items": [listed(104, "2022-11-19T09:30:00Z", 1, paid=False)], "next": f"{API}/orders?start=1&size=1"}
    responses.add_callback(responses.GET, f"{API}/orders", callback=signed_answer(page))
    error = {"code": "429.11", "status": 429, "developermessage": "Total rate limit exceeded"}
    responses.add(responses.GET, f"{API}/orders", json=error, status=429, headers={"Retry-After": "12"})

    # When the window is polled
    with pytest.raises(RetryableError) as retry:
        list(make_source({"page_size": 1}).poll(datetime(2022, 11, 1, tzinfo=UTC), NOW))

    # Then the poll is retried after CCV's wait
    assert retry.value.retry_after == 12.0


# --- settings and secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"webhook_signatur": "body"}, "webhook_signatur"),
        ({"webhook_signature": "header"}, "webhook_signature"),
        ({"base_url": "http://demo.ccvshop.nl"}, "base_url"),
        ({"base_url": "https://demo.ccvshop.nl/shop"}, "base_url"),
        ({"book_on_status": [7, 8]}, "book_on_status"),
        ({"max_open_days": 0}, "max_open_days"),
    ],
)
def test_wrong_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    # Given a connection with one wrong CCV Shop setting
    # When the source is built
    with pytest.raises(InputError) as refused:
        make_source(settings)

    # Then the message names the field
    assert field in str(refused.value)


@pytest.mark.parametrize("missing", ["public_key", "secret_key"])
def test_a_missing_api_secret_says_which_secret_to_set(missing: str) -> None:
    # Given a connection without one of the API keys
    secrets = {"public_key": PUBLIC, "secret_key": SECRET, "webhook_key": WEBHOOK_KEY}
    del secrets[missing]

    # When the source is built
    with pytest.raises(InputError) as refused:
        make_source(secrets=secrets)

    # Then the message names the secret
    assert f"'{missing}'" in str(refused.value)


def test_the_api_address_is_accepted_as_the_shop_root() -> None:
    # Given the API root pasted instead of the shop root
    # When the source is built
    source = make_source({"base_url": "https://demo.ccvshop.nl/api/rest/v1/"})

    # Then it uses the shop root
    assert source.settings.base_url == "https://demo.ccvshop.nl"


def test_the_connector_is_found_by_name() -> None:
    # Given a connection context
    ctx = ConnectorContext(
        connection=CONNECTION,
        settings={"base_url": SHOP},
        secrets={"public_key": PUBLIC, "secret_key": SECRET},
        session=session_for(),
    )

    # When the source is built by its name
    source = build_named_source("ccvshop", ctx)

    # Then it is the CCV Shop source
    assert isinstance(source, CcvshopSource)
    assert source.name == "ccvshop"


def test_preview_shows_the_event_of_a_completed_paid_order_and_nothing_for_a_new_one() -> None:
    # Given the recorded order in the preview shape, once as recorded (status 1) and once completed (status 7)
    case = load("order_339323562.json")
    recorded = {**case["input"]["order"], "orderrows": case["input"]["orderrows"]}
    completed = {**recorded, "status": 7}

    # When both are previewed
    new_events = preview_events(recorded, CONNECTION)
    completed_events = preview_events(completed, CONNECTION)

    # Then only the completed one would be enqueued, as the golden document
    assert new_events == []
    assert [e.model_dump(mode="json")["payload"] for e in completed_events] == [case["expected"]["payload"]]


@pytest.mark.parametrize(("costs_rate", "total_tax"), [(21, "22.95"), (9, "22.35")])
def test_payment_costs_take_the_rate_with_which_the_order_s_own_vat_reconciles(costs_rate: int, total_tax: str) -> None:
    # Given an order priced excluding VAT: goods at 21 %, shipping at 9 %, and 5.00 payment costs, whose VAT CCV
    # computed either at the goods' main rate or at the shipping rate (CCV does not publish which)
    order = order_with(
        taxes_included=False,
        order_row_taxes_included=False,
        shipping_taxes_included=False,
        shipping_tax_percentage=9,
        total_shipping=10,
        paymethod_costs=5,
        total_discounts=0,
        credit_point_discount=0,
        total_tax=Decimal(total_tax),
        total_price=Decimal(115) + Decimal(total_tax),
    )
    rows = rows_of(339323562, (2, 50, 21))

    # When it is normalized and planned
    document = normalize_order(order, rows, CONNECTION).payload
    booking = plan_booking(document)

    # Then the payment costs carry the rate that makes CCV's own VAT come out, and the booking reconciles to the cent
    [fee] = [line for line in booking.lines if line.kind == "payment_fee"]
    assert fee.vat_rate == Decimal(costs_rate)
    assert (booking.total, booking.vat_total) == (Decimal(115) + Decimal(total_tax), Decimal(total_tax))
