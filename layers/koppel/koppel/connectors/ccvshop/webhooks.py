"""CCV Shop's webhooks: the x-hash check, the body read into a notice, and the subscription of Koppel's address.

CCV does not document how it computes a webhook's x-hash nor the list of order events (README.md in this folder):
the recipe is a setting (``webhook_signature``) and the body's fields, not the event name, say what happened.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from koppel.errors import InputError, PermanentError, SignatureError
from koppel.inbound import ascii_digits, read_json, same_secret
from koppel.ports import WebhookNotice

if TYPE_CHECKING:
    from koppel.connectors.ccvshop.client import CcvshopClient

ORDER_EVENTS = ("orders.status_changed", "orders.is_paid")
"""Order events Koppel subscribes to (named after the recorded webhook bodies; CCV does not document the list)."""
_RECIPES = {
    "body": "hex HMAC-SHA512 of the raw body with the webhook key",
    "address_body": 'hex HMAC-SHA512 of the delivery address + "|" + the raw body with the webhook key',
}
_ORDER_HREF = re.compile(r"/orders/[0-9]+/?$")


def verify_signature(headers: Mapping[str, str], body: bytes, url: str, *, keys: tuple[str, ...], recipe: str) -> None:
    """Check the webhook's x-hash under the configured recipe (``webhook_signature``), in constant time."""
    other = "address_body" if recipe == "body" else "body"
    if not keys:
        raise SignatureError(
            "no webhook_key secret is set for this CCV Shop connection: set it to the 'key' CCV returned "
            "when the webhook was registered"
        )
    given = next((v for k, v in headers.items() if k.lower() == "x-hash"), "").strip().lower()
    if not given:
        raise SignatureError("the CCV Shop webhook has no x-hash header, so its sender cannot be verified")
    if recipe == "address_body" and not url:
        raise SignatureError("the 'address_body' webhook recipe needs the address the webhook was sent to")
    message = body if recipe == "body" else url.encode() + b"|" + body
    expected = [hmac.new(key.encode(), message, hashlib.sha512).hexdigest() for key in keys]
    if not any(same_secret(given, candidate) for candidate in expected):
        raise SignatureError(
            f"the CCV Shop webhook's x-hash does not match the {recipe!r} recipe "
            f"({_RECIPES[recipe]}). Check the webhook_key secret; if it is right, CCV signs another way: "
            f"set webhook_signature to {other!r} ({_RECIPES[other]}) in the connection's CCV Shop settings"
        )


def parse_order_webhook(body: bytes) -> WebhookNotice:
    """A CCV order webhook (status changed, paid, track and trace) as a notice; the order is re-read later."""
    data = read_json(body, "CCV Shop webhook body")
    if not isinstance(data, dict):
        raise InputError("the CCV Shop webhook body must be a JSON object with the order's id")
    href = data.get("href")
    if isinstance(href, str) and href and not _ORDER_HREF.search(href):
        raise InputError(f"the CCV Shop webhook is about {href}, not an order")
    order_id = ascii_digits(data.get("id"), "the CCV Shop webhook's order id ('id')")
    if "previous_status" in data or "status" in data:
        topic = "status_changed"
    elif "track_and_trace_code" in data:
        topic = "track_and_trace"
    elif "paid" in data:
        topic = "is_paid"
    else:
        topic = "changed"
    return WebhookNotice(entity="order", record_id=str(int(order_id)), topic=topic)


def register(client: CcvshopClient, address: str, events: tuple[str, ...] = ORDER_EVENTS) -> list[str]:
    """Subscribe ``address`` to the order events (once each: an existing subscription is reused) and return
    the webhook keys, which sign what CCV Shop sends there."""
    existing = {
        (str(hook.get("event")), str(hook.get("address"))): str(hook.get("key", ""))
        for hook in client.collection("webhooks")
    }
    keys = []
    for event in events:
        key = existing.get((event, address))
        if not key:
            created = client.request("POST", "webhooks", {"event": event, "address": address, "is_active": True})
            key = str(created.get("key", "")) if isinstance(created, Mapping) else ""
        if not key:
            raise PermanentError(f"CCV Shop registered the {event} webhook without a key")
        keys.append(key)
    return keys
