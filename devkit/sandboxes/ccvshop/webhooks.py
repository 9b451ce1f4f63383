"""CCV Shop webhooks for the sandbox: registrations, bodies like the recorded ones, signing, and an outbox.

Unverified facts, and what the sandbox does about them [I]:
- Order event names are not published where we could read them. The sandbox uses ``orders.created``,
  ``orders.status_changed``, ``orders.is_paid`` and ``orders.track_and_trace``, named after the recorded
  samples (the connector's README confirms only the ``resource.action`` format, e.g. ``products.created``).
- The ``x-hash`` header is hex HMAC-SHA512 keyed with the webhook's ``key``; the hashed message is unknown.
  Two candidate recipes, switchable: ``"body"`` = HMAC(key, raw_body) (default) and ``"address_body"`` =
  HMAC(key, address + "|" + raw_body), after the app handshake that hashes ``uri|body``.
- The body of ``orders.created`` is assumed to carry the keys every recorded body shares.
- Delivery: no retry policy of CCV is known. The sandbox keeps every webhook in an outbox until something
  delivers it (a test harness, or ``auto_deliver``), and keeps a failed automatic delivery for a later try.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.ccvshop.json_text import dumps
from devkit.sandboxes.ccvshop.orders import API_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable

ORDER_EVENTS = ("orders.created", "orders.status_changed", "orders.is_paid", "orders.track_and_trace")
HASH_RECIPES = ("body", "address_body")


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as CCV would send it."""

    address: str
    headers: dict[str, str]
    body: bytes
    event: str = ""
    webhook_id: int = 0


def webhook_hash(key: str, address: str, body: bytes, recipe: str) -> str:
    if recipe == "body":
        message = body
    elif recipe == "address_body":
        message = address.encode() + b"|" + body
    else:
        raise ValueError(f"unknown webhook hash recipe {recipe!r}; use one of {HASH_RECIPES}")
    return hmac.new(key.encode(), message, hashlib.sha512).hexdigest()


def webhook_body(
    event: str, order: dict[str, Any], base: str, triggered_at: str, previous_status: int | None = None
) -> dict[str, Any]:
    """Key order as in the samples: the event's own fields sit between total_price and customer_email."""
    body: dict[str, Any] = {
        "triggered_at": triggered_at,
        "href": f"{base}{API_PREFIX}/orders/{order['id']}",
        "id": order["id"],
        "order_number": order["ordernumber"],
        "ordernumber_prefix": order["ordernumber_prefix"],
        "ordernumber_full": order["ordernumber_full"],
        "total_price": order["total_price"],
    }
    if event == "orders.status_changed":
        body["previous_status"] = previous_status
        body["status"] = order["status"]
    elif event == "orders.is_paid":
        body["paid"] = order["paid"]
    elif event == "orders.track_and_trace":
        body["track_and_trace_code"] = order["track_and_trace_code"]
        body["track_and_trace_carrier"] = order["track_and_trace_carrier"]
    body["customer_email"] = order["customer"]["email"]
    body["customer_mobile"] = order["customer"]["billingaddress"]["mobile"]
    return body


def make_delivery(hook: dict[str, Any], body: dict[str, Any], recipe: str, escape_slashes: bool) -> Delivery:
    raw = dumps(body, escape_slashes=escape_slashes)
    headers = {
        "Content-Type": "application/json",
        "x-hash": webhook_hash(hook["key"], hook["address"], raw, recipe),
    }
    return Delivery(address=hook["address"], headers=headers, body=raw, event=hook["event"], webhook_id=hook["id"])


def post_with_requests(delivery: Delivery) -> Any:
    import requests  # only needed when the sandbox posts by itself

    response = requests.post(delivery.address, data=delivery.body, headers=delivery.headers, timeout=(3.05, 10))
    response.raise_for_status()
    return response


class Outbox:
    """Webhooks waiting to be POSTed; chaos (duplicates, shuffled order) is applied when they leave."""

    def __init__(self, seed: int = 0, duplicate_rate: float = 0.0, shuffle: bool = False) -> None:
        self.duplicate_rate = duplicate_rate
        self.shuffle = shuffle
        self._items: list[Delivery] = []
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self._random = random.Random(f"ccvshop-webhooks:{seed}")

    def add(self, deliveries: list[Delivery]) -> None:
        with self._lock:
            self._items.extend(deliveries)

    def pending(self) -> list[Delivery]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def _take(self, only: list[Delivery] | None) -> list[Delivery]:
        with self._lock:
            if only is None:
                batch, self._items = self._items, []
            else:
                batch = [d for d in self._items if any(d is o for o in only)]
                self._items = [d for d in self._items if not any(d is o for o in only)]
            out: list[Delivery] = []
            for delivery in batch:
                out.append(delivery)
                if self.duplicate_rate and self._random.random() < self.duplicate_rate:
                    out.append(delivery)
            if self.shuffle:
                self._random.shuffle(out)
            return out

    def deliver(self, post: Callable[[Delivery], Any], only: list[Delivery] | None = None) -> list[Any]:
        """POST each waiting webhook with ``post``; on a failure the unsent ones go back and the error is raised."""
        batch = self._take(only)
        results: list[Any] = []
        for index, delivery in enumerate(batch):
            try:
                results.append(post(delivery))
            except Exception:
                unsent: list[Delivery] = []
                for waiting in batch[index:]:
                    if not any(waiting is kept for kept in unsent):  # a chaos duplicate goes back once
                        unsent.append(waiting)
                with self._lock:
                    self._items[:0] = unsent
                raise
        return results
