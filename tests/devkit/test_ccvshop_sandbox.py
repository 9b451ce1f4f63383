"""The CCV Shop sandbox over real HTTP on 127.0.0.1, signed with a small signer of our own."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devkit.koppelingen.ccvshop_snelstart.scenarios import demo_orders
from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox, Delivery, RateLimits, RowSpec

# The recorded CCV payloads, recorded from CCV and kept unchanged in tests/fixtures/ccvshop.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "ccvshop"
PUBLIC, SECRET = "pub-leesplank", "sec-leesplank"
JAN = {"email": "j.jansen@example.nl", "billingaddress": {"first_name": "Jan", "last_name": "Jansen"}}


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


class Signer:
    """CCV request signing as the vendor documents it: public|METHOD|uri|body|x-date, hex HMAC-SHA512."""

    def __init__(self, base_url: str, public: str = PUBLIC, secret: str = SECRET) -> None:
        self.base_url, self.public, self.secret = base_url, public, secret

    def call(
        self, method: str, uri: str, body: Any = None, *, x_date: str | None = None, tamper: bool = False
    ) -> requests.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        x_date = x_date or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        message = b"|".join([self.public.encode(), method.encode(), uri.encode(), raw, x_date.encode()])
        x_hash = _hmac(self.secret, message)
        if tamper:
            x_hash = _hmac(self.secret, message + b"!")
        headers = {"x-public": self.public, "x-date": x_date, "x-hash": x_hash, "Content-Type": "application/json"}
        return requests.request(method, self.base_url + uri, data=raw, headers=headers, timeout=5)

    def response_is_signed(self, response: requests.Response, method: str, uri: str) -> bool:
        x_date = response.headers["x-date"]
        message = b"|".join([self.public.encode(), method.encode(), uri.encode(), response.content, x_date.encode()])
        return hmac.compare_digest(_hmac(self.secret, message), response.headers["x-hash"])


@pytest.fixture(scope="module")
def running_sandbox():
    sandbox = CcvShopSandbox(rate_limits=RateLimits(get_per_minute=1000, write_per_minute=1000, total_per_minute=5000))
    sandbox.start()
    sandbox.add_shop(PUBLIC, SECRET)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running_sandbox: CcvShopSandbox) -> CcvShopSandbox:
    running_sandbox.reset()  # one server for the module (stopping one takes 0.5 s), a clean shop per test
    running_sandbox.clock = lambda: datetime.now(UTC)
    return running_sandbox


def _freeze_clock(sandbox: CcvShopSandbox) -> None:
    """Keep the rate window from rolling over to the next minute in the middle of a test."""
    frozen = datetime.now(UTC)
    sandbox.clock = lambda: frozen


@pytest.fixture
def signer(sandbox: CcvShopSandbox) -> Signer:
    return Signer(sandbox.base_url)


def _key_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _key_tree(inner) for key, inner in value.items()}
    return None


def _recorded_order_row() -> dict[str, Any]:
    fragment = (SAMPLES / "orderrow.item.truncated-fragment.txt").read_text()
    row: dict[str, Any] = json.loads(fragment.rstrip() + "\n}")  # the recorder cut it off after "parent"
    return row


def _parts_add_up(order: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    parts = (
        sum(row["total_price"] for row in rows)
        + order["total_shipping"]
        + order["paymethod_costs"]
        + order["extra_costs"]
        - order["total_discounts"]
        - order["credit_point_discount"]
    )
    return bool(parts == order["total_price"])


def test_signed_get_of_an_order_has_the_recorded_shape_and_numbers(sandbox, signer):
    # Given the recorded order: one row of 585 plus 5 shipping, 21 % VAT included
    recorded = json.loads((SAMPLES / "order.get.json").read_text())
    order = sandbox.add_order(JAN, [RowSpec("OnePlus Blauw", 1, Decimal(595), Decimal(10), 21)], shipping=5)

    # When a client reads it with a signed GET
    uri = f"/api/rest/v1/orders/{order['id']}"
    response = signer.call("GET", uri)

    # Then every key of the recording is there, nested and in order, and money is written like CCV writes it
    assert response.status_code == 200
    assert json.dumps(_key_tree(response.json())) == json.dumps(_key_tree(recorded))
    assert b'"total_price":590,' in response.content
    assert b'"total_tax":102.4,' in response.content
    assert b'"href":"http:\\/\\/127.0.0.1' in response.content


def test_orderrows_collection_items_have_the_recorded_row_fields(sandbox, signer):
    # Given an order with a discounted row, like the recorded one
    order = sandbox.add_order(JAN, [RowSpec("OnePlus Blauw", 1, Decimal(595), Decimal(10), 21)])

    # When its rows are read
    uri = f"/api/rest/v1/orders/{order['id']}/orderrows"
    body = signer.call("GET", uri).json(parse_float=Decimal)

    # Then the row has the recorded keys and CCV's row arithmetic
    row = body["items"][0]
    assert list(row) == list(_recorded_order_row())
    assert (row["price"], row["discount"], row["selling_price"], row["total_price"]) == (595, 10, 585, 585)
    assert body["next"] is None


def test_a_wrong_x_hash_is_refused_with_ccvs_error_body(sandbox, signer):
    # Given an order in the shop
    order = sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)])

    # When the request is signed over the wrong message
    response = signer.call("GET", f"/api/rest/v1/orders/{order['id']}", tamper=True)

    # Then CCV's 401 body comes back and no order data leaks
    body = response.json()
    assert response.status_code == 401
    assert (sorted(body), body["code"], body["status"]) == (["code", "developermessage", "status"], "401.11", 401)
    assert "order_number" not in response.text


def test_a_stale_x_date_is_refused_and_a_php_style_offset_is_accepted(sandbox, signer):
    # Given two signed requests, one 16 minutes old, one with the PHP SDK's +00:00 offset
    stale = (datetime.now(UTC) - timedelta(minutes=16)).replace(microsecond=0).isoformat()
    fresh = datetime.now(UTC).replace(microsecond=0).isoformat()

    # When both are sent
    refused = signer.call("GET", "/api/rest/v1/orders", x_date=stale)
    accepted = signer.call("GET", "/api/rest/v1/orders", x_date=fresh)

    # Then only the fresh one is served
    assert (refused.status_code, refused.json()["code"]) == (401, "401.12")
    assert accepted.status_code == 200


def test_the_response_is_signed_so_the_client_can_verify_it(sandbox, signer):
    # Given an order
    order = sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)])
    uri = f"/api/rest/v1/orders/{order['id']}"

    # When it is read
    response = signer.call("GET", uri)

    # Then x-hash covers public|GET|uri|body|x-date of the response, and a changed body would not verify
    assert signer.response_is_signed(response, "GET", uri)
    response._content = response.content.replace(b"19.95", b"19.96")
    assert not signer.response_is_signed(response, "GET", uri)


def test_paging_with_start_size_and_min_create_date(sandbox, signer):
    # Given five orders a day apart
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for day in range(5):
        sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("10"), tax=9)], create_date=monday + timedelta(days=day))

    # When a poller asks for orders since Tuesday, two at a time, and follows "next"
    uri = "/api/rest/v1/orders?min_create_date=2026-11-03&orderby=create_date&start=0&size=2"
    seen, pages = [], 0
    while uri:
        page = signer.call("GET", uri).json()
        seen += [order["create_date"] for order in page["items"]]
        pages += 1
        uri = page["next"] and urlsplit(page["next"]).path + "?" + urlsplit(page["next"]).query

    # Then it gets the four orders from Tuesday on, in date order, over two pages
    assert seen == ["2026-11-03T09:00:00Z", "2026-11-04T09:00:00Z", "2026-11-05T09:00:00Z", "2026-11-06T09:00:00Z"]
    assert pages == 2


def test_rate_limit_answers_429_10_after_the_per_minute_budget(sandbox, signer):
    # Given a budget of 3 order reads per minute
    _freeze_clock(sandbox)
    sandbox.configure({"rate_limits": {"per_resource": {"orders GET": 3}}})

    # When a client reads orders four times within the minute
    answers = [signer.call("GET", "/api/rest/v1/orders") for _ in range(4)]

    # Then the fourth is throttled the CCV way, with a Retry-After inside the minute
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "429.10"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60


def test_rate_limit_answers_429_11_after_the_shop_wide_budget(sandbox, signer):
    # Given a shop-wide budget of 2 requests per minute
    _freeze_clock(sandbox)
    sandbox.configure({"rate_limits": {"total_per_minute": 2}})

    # When a client uses two different resources three times in all
    answers = [signer.call("GET", "/api/rest/v1/orders"), signer.call("GET", "/api/rest/v1/webhooks")]
    answers.append(signer.call("GET", "/api/rest/v1/webhooks"))

    # Then the third is refused on the total
    assert answers[2].status_code == 429
    assert answers[2].json()["code"] == "429.11"


@pytest.mark.parametrize("recipe", ["body", "address_body"])
def test_status_change_sends_a_signed_webhook_like_the_recorded_one(sandbox, signer, recipe):
    # Given a webhook registered over the API and an order
    sandbox.configure({"webhook_hash": recipe})
    address = "https://koppel.example/hooks/ccvshop/conn-1"
    created = signer.call("POST", "/api/rest/v1/webhooks", {"event": "orders.status_changed", "address": address})
    hook = created.json()
    order = sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)])

    # When the merchant marks it sent through the API
    patched = signer.call("PATCH", f"/api/rest/v1/orders/{order['id']}", {"status": 5})

    # Then one webhook waits, shaped like the recording, and its x-hash verifies with the hook's key
    assert created.status_code == 201
    assert {"id", "createdate", "event", "address", "key", "is_active"} <= set(hook)
    assert patched.status_code == 204
    [delivery] = sandbox.pending_webhooks()
    recorded = json.loads((SAMPLES / "webhook.orders.status_changed.json").read_text())
    body = json.loads(delivery.body, parse_float=Decimal)
    assert list(body) == list(recorded)
    assert (body["previous_status"], body["status"], body["total_price"]) == (1, 5, Decimal("19.95"))
    message = delivery.body if recipe == "body" else address.encode() + b"|" + delivery.body
    assert delivery.headers["x-hash"] == _hmac(hook["key"], message)


def test_webhooks_can_be_listed_and_deleted(sandbox, signer):
    # Given two registered webhooks
    for event in ("orders.is_paid", "orders.created"):
        signer.call("POST", "/api/rest/v1/webhooks", {"event": event, "address": "https://k.example/h"})
    first = signer.call("GET", "/api/rest/v1/webhooks").json()["items"][0]

    # When the first is deleted
    deleted = signer.call("DELETE", f"/api/rest/v1/webhooks/{first['id']}")

    # Then only the other remains
    remaining = signer.call("GET", "/api/rest/v1/webhooks").json()["items"]
    assert deleted.status_code == 204
    assert [hook["event"] for hook in remaining] == ["orders.created"]


def test_chaos_delivers_every_webhook_twice_when_asked(sandbox):
    # Given a paid-webhook and an outbox that duplicates everything
    sandbox.register_webhook("orders.is_paid", "https://k.example/h")
    sandbox.configure({"duplicate_rate": 1.0})
    order = sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)])
    sandbox.set_paid(order["id"])

    # When the harness delivers
    received: list[Delivery] = []
    sandbox.deliver_webhooks(post=received.append)

    # Then the one notice arrives twice and the outbox is empty
    assert len(received) == 2
    assert received[0].body == received[1].body
    assert sandbox.pending_webhooks() == []


def test_an_order_of_another_shop_is_not_found(sandbox, signer):
    # Given an order in a second shop
    other = sandbox.add_shop("pub-other", "sec-other")
    order = sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)], shop=other)

    # When the first shop's keys ask for it
    response = signer.call("GET", f"/api/rest/v1/orders/{order['id']}")

    # Then it does not exist for them
    assert (response.status_code, response.json()["code"]) == (404, "404.10")


def test_mixed_vat_order_with_a_coupon_adds_up_to_the_cent(sandbox, signer):
    # Given books at 9 %, a tote bag at 21 %, shipping and a 10.00 coupon
    rows = [RowSpec("Roman", 1, Decimal("22.99"), tax=9), RowSpec("Kinderboek", 2, Decimal("12.50"), tax=9)]
    rows.append(RowSpec("Katoenen tas", 1, Decimal("12.95"), tax=21))
    order = sandbox.add_order(JAN, rows, shipping=Decimal("4.95"), coupon_code="LEZEN10", coupon_discount=10)

    # When the order and its rows are read over the API
    read = signer.call("GET", f"/api/rest/v1/orders/{order['id']}").json(parse_float=Decimal)
    items = signer.call("GET", f"/api/rest/v1/orders/{order['id']}/orderrows").json(parse_float=Decimal)["items"]

    # Then rows + shipping − coupon is the total to the cent, and the VAT is the VAT contained per rate
    assert read["total_price"] == Decimal("55.89")
    assert _parts_add_up(read, items)
    assert read["discountcoupon"]["code"] == "LEZEN10"
    # coupon split 7.87 / 2.13 over 9 % (47.99) and 21 % (12.95); 21 % also carries the shipping
    assert read["total_tax"] == Decimal("3.31") + Decimal("2.74")


def test_demo_batch_has_exactly_one_paid_order_that_does_not_add_up(sandbox):
    # Given the demo batch
    orders = demo_orders(sandbox, sandbox.shops[PUBLIC], start=datetime(2026, 11, 2, 9, tzinfo=UTC))

    # When each order is checked against its own parts
    broken = [o for o in orders if not _parts_add_up(o, sandbox.get_orderrows(o["id"]))]
    unpaid = [o for o in orders if not o["paid"]]

    # Then one completed, paid order is 0.05 off, one stays unpaid, and the rest are completed and paid
    assert len(orders) == 12
    assert [(o["status"], o["paid"]) for o in broken] == [(7, True)]
    assert [o["status"] for o in unpaid] == [4]
    assert all(o["status"] == 7 for o in orders if o["paid"])


def test_an_order_can_get_the_id_a_recorded_webhook_names_and_later_ids_stay_unique(sandbox: CcvShopSandbox) -> None:
    # Given an order placed with a fixed id, as `make invoke` seeds the order the recorded webhook names
    fixed = sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)], order_id=339493812)
    # When two more orders are placed
    later = [sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)])["id"] for _ in range(2)]
    # Then the first has that id, the others new ones, and the fixed id cannot be given twice
    assert fixed["id"] == 339493812
    assert sandbox.get_order(339493812)["id"] == 339493812
    assert len(set(later) | {339493812}) == 3
    with pytest.raises(ValueError, match="taken"):
        sandbox.add_order(JAN, [RowSpec("Boek", 1, Decimal("19.95"), tax=9)], order_id=339493812)
