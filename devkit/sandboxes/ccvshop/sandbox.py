"""CCV Shop REST API v1 sandbox: a real HTTP webshop on loopback with CCV's auth, shapes, paging and limits.

Talk to it exactly like to ``https://{shop}/api/rest/v1/``: every request signed (``x-public``, ``x-date``,
``x-hash``), every response signed back, errors in CCV's ``{"code","status","developermessage"}`` body,
``429.10``/``429.11`` with Retry-After. Vendor facts and the assumptions made where none were found are
written down in the modules beside this one: auth (signing, codes, limits), orders (shapes), totals (amounts),
json_text (CCV's JSON), webhooks (event names, x-hash recipes), api (routes, resources), listing (filters, paging).

Orders are placed from Python (``add_shop`` then ``add_order``, see shops.py), changed with ``set_status``/``set_paid``/
``complete_and_pay``/``set_track_and_trace`` or over HTTP with PATCH, and every change queues the webhooks
CCV would send. Webhooks wait in an outbox (``pending_webhooks``/``deliver_webhooks``) unless
``auto_deliver=True``; ``duplicate_rate`` and ``shuffle`` (seeded by the FaultPlan seed) make deliveries
arrive twice or out of order.

Control over HTTP, besides the base ``/_sandbox/faults|reset|state``: ``GET /_sandbox/webhooks`` (the outbox),
``POST /_sandbox/webhooks/deliver`` (POST them all now), ``POST /_sandbox/config`` with any of
``rate_limits`` (see ``RateLimits``), ``webhook_hash``, ``duplicate_rate``, ``shuffle``, ``auto_deliver``.
``reset`` keeps the shops and their keys but drops their orders, webhooks, outbox and rate counters, and
puts the settings back to those given to the constructor.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.ccvshop.api import CcvApi
from devkit.sandboxes.ccvshop.auth import LIMIT_RESOURCE, MAX_SKEW, UNAVAILABLE, CcvError, RateLimiter, RateLimits
from devkit.sandboxes.ccvshop.json_text import dumps
from devkit.sandboxes.ccvshop.orders import RowSpec, ccv_time
from devkit.sandboxes.ccvshop.shops import Shop, Shops
from devkit.sandboxes.ccvshop.webhooks import (
    HASH_RECIPES,
    Delivery,
    Outbox,
    make_delivery,
    post_with_requests,
    webhook_body,
)
from devkit.sandboxes.kit.control import ControlRoutes
from devkit.sandboxes.kit.server import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

    from devkit.sandboxes.kit.server import FaultPlan

__all__ = ["CcvShopSandbox", "Delivery", "RateLimits", "RowSpec", "Shop"]


class CcvShopSandbox(Shops, Sandbox):
    name = "ccvshop"

    def __init__(
        self,
        faults: FaultPlan | None = None,
        *,
        rate_limits: RateLimits | None = None,
        webhook_hash: str = "body",
        auto_deliver: bool = False,
        duplicate_rate: float = 0.0,
        shuffle: bool = False,
        escape_slashes: bool = True,
        max_page_size: int = 100,
        max_skew: timedelta = MAX_SKEW,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(faults)
        self.limiter = RateLimiter(rate_limits or RateLimits())
        self._initial_limits = copy.deepcopy(self.limiter.limits)
        self._initial = {
            "webhook_hash": webhook_hash,
            "duplicate_rate": duplicate_rate,
            "shuffle": shuffle,
            "auto_deliver": auto_deliver,
        }
        self.webhook_hash = webhook_hash
        self.auto_deliver = auto_deliver
        self.escape_slashes = escape_slashes
        self.max_page_size = max_page_size
        self.max_skew = max_skew
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(self.faults.seed, duplicate_rate, shuffle)
        self.auto_delivery_failures: list[tuple[Delivery, str]] = []
        self.shops: dict[str, Shop] = {}
        self.lock = threading.RLock()
        self.api = CcvApi(self)
        self._order_shop: dict[int, Shop] = {}
        self._users: dict[tuple[str, str], int] = {}
        self._products: dict[str, int] = {}
        self._ids = {"order": 340000000, "row": 648000000, "user": 24464273, "product": 845754959, "webhook": 1000}

    # -- HTTP ----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        return self.api.handle(request)

    def fault_response(self, kind: str) -> Response:
        """CCV's error body, unsigned: a random fault stands for an outage or proxy in front of the shop."""
        if kind == "throttle":
            message = "Each method in each resource has a limit of requests that can be made per minute."
            error = CcvError(429, LIMIT_RESOURCE, message, {"Retry-After": str(self.faults.retry_after)})
        else:
            error = CcvError(503, UNAVAILABLE, "The webshop is temporarily unavailable")
        return Response(dumps(error.body()), status=error.status, headers=error.headers, mimetype="application/json")

    # -- webhooks ------------------------------------------------------------------------------------------
    def register_webhook(
        self, event: str, address: str, *, shop: Shop | str | None = None, is_active: bool = True
    ) -> dict[str, Any]:
        """The Python twin of ``POST /api/rest/v1/webhooks``; returns the resource with its ``key``."""
        with self.lock:
            return self.api.create_webhook(self._pick_shop(shop), event, address, is_active)

    def _queue(
        self, shop: Shop, order: dict[str, Any], events: list[str], previous_status: int | None = None
    ) -> list[Delivery]:
        triggered_at = ccv_time(self.clock())
        fresh = [
            make_delivery(
                hook,
                webhook_body(event, order, self.href_base, triggered_at, previous_status),
                self.webhook_hash,
                self.escape_slashes,
            )
            for event in events
            for hook in shop.webhooks.values()
            if hook["event"] == event and hook["is_active"]
        ]
        self.outbox.add(fresh)
        return fresh

    def pending_webhooks(self) -> list[Delivery]:
        return self.outbox.pending()

    def deliver_webhooks(self, post: Callable[[Delivery], Any] | None = None) -> list[Any]:
        """POST every waiting webhook (with ``requests`` unless ``post`` is given); returns what post returned."""
        return self.outbox.deliver(post or post_with_requests)

    def _auto_deliver(self, fresh: list[Delivery]) -> None:
        if not (self.auto_deliver and fresh):
            return
        import requests

        try:
            self.outbox.deliver(post_with_requests, only=fresh)
        except requests.RequestException as error:
            # Kept in the outbox for a later deliver_webhooks(); the failure is recorded, never lost.
            self.auto_delivery_failures.append((fresh[0], str(error)))

    # -- configuration and the /_sandbox control surface ----------------------------------------------------
    def configure(self, settings: dict[str, Any]) -> None:
        for key, value in settings.items():
            if key == "rate_limits":
                self.limiter.limits.update(value)
            elif key == "webhook_hash":
                if value not in HASH_RECIPES:
                    raise ValueError(f"webhook_hash must be one of {HASH_RECIPES}")
                self.webhook_hash = value
            elif key == "duplicate_rate":
                self.outbox.duplicate_rate = float(value)
            elif key == "shuffle":
                self.outbox.shuffle = bool(value)
            elif key == "auto_deliver":
                self.auto_deliver = bool(value)
            else:
                raise ValueError(f"unknown ccvshop setting {key!r}")

    def state(self) -> dict[str, Any]:
        with self.lock:
            shops = {p: {"orders": len(s.orders), "webhooks": len(s.webhooks)} for p, s in self.shops.items()}
        return {
            "shops": shops,
            "pending_webhooks": len(self.outbox.pending()),
            "rate_limits": asdict(self.limiter.limits),
            "webhook_hash": self.webhook_hash,
        }

    def reset(self) -> None:
        super().reset()
        with self.lock:
            for shop in self.shops.values():
                shop.clear()
            self._order_shop.clear()
        self.outbox.clear()
        self.outbox.reseed(self.faults.seed)
        self.limiter.reset()
        self.limiter.limits = copy.deepcopy(self._initial_limits)
        self.configure(self._initial)
        self.auto_delivery_failures.clear()

    def control_routes(self) -> ControlRoutes:
        def configure(body: dict[str, Any]) -> dict[str, Any]:
            self.configure(body)
            return self.state()

        return ControlRoutes(
            with_body={"config": configure},
            without_body={
                ("GET", "webhooks"): lambda: [_describe(d) for d in self.pending_webhooks()],
                ("POST", "webhooks/deliver"): lambda: {"delivered": len(self.deliver_webhooks())},
            },
        )

    def _control(self, request: Request) -> Response:
        response = super()._control(request)
        if request.path == "/_sandbox/faults" and request.method == "POST":
            self.outbox.reseed(self.faults.seed)  # duplicates and shuffles follow the chaos run's seed
        return response


def _describe(delivery: Delivery) -> dict[str, Any]:
    return {
        "address": delivery.address,
        "event": delivery.event,
        "webhook_id": delivery.webhook_id,
        "headers": delivery.headers,
        "body": delivery.body.decode(),
    }
