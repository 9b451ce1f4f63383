"""CCV Shop REST API v1 sandbox: a real HTTP webshop on loopback with CCV's auth, shapes, paging and limits.

Talk to it exactly like to ``https://{shop}/api/rest/v1/``: every request signed (``x-public``, ``x-date``,
``x-hash``), every response signed back, errors in CCV's ``{"code","status","developermessage"}`` body,
``429.10``/``429.11`` with Retry-After. Vendor facts and the assumptions made where none were found are
written down in the modules beside this one: ccvshop_auth (signing, codes, limits), ccvshop_orders (shapes,
totals), ccvshop_webhooks (event names, x-hash recipes), ccvshop_api (filters, paging).

Orders are placed from Python (``add_shop`` then ``add_order``), changed with ``set_status``/``set_paid``/
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
from devkit.sandboxes.ccvshop.orders import (
    ZERO,
    OrderOptions,
    RowSpec,
    build_order,
    build_row,
    ccv_time,
    dumps,
    money,
    render_order,
    render_row,
)
from devkit.sandboxes.ccvshop.webhooks import (
    HASH_RECIPES,
    Delivery,
    Outbox,
    make_delivery,
    post_with_requests,
    webhook_body,
)
from devkit.sandboxes.kit.server import Sandbox, json_response

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal

    from werkzeug.wrappers import Request

    from devkit.sandboxes.kit.server import FaultPlan

__all__ = ["CcvShopSandbox", "Delivery", "RateLimits", "RowSpec", "Shop"]

COMPLETED = 7


class Shop:
    """One webshop: its API key pair, its orders and its webhook registrations."""

    def __init__(self, sandbox: CcvShopSandbox, public: str, secret: str, ordernumber_prefix: str | None) -> None:
        self.sandbox = sandbox
        self.public = public
        self.secret = secret
        self.ordernumber_prefix = ordernumber_prefix
        self.next_ordernumber = 1
        self.orders: dict[int, dict[str, Any]] = {}
        self.rows: dict[int, list[dict[str, Any]]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}

    def add_order(self, customer: dict[str, Any], rows: list[RowSpec], **options: Any) -> dict[str, Any]:
        return self.sandbox.add_order(customer, rows, shop=self, **options)

    def clear(self) -> None:
        self.next_ordernumber = 1
        self.orders.clear()
        self.rows.clear()
        self.webhooks.clear()


class CcvShopSandbox(Sandbox):
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

    # -- shops and orders (Python API) -------------------------------------------------------------------
    @property
    def href_base(self) -> str:
        return self.base_url or "http://127.0.0.1"

    def add_shop(self, public: str, secret: str, *, ordernumber_prefix: str | None = None) -> Shop:
        with self.lock:
            shop = Shop(self, public, secret, ordernumber_prefix)
            self.shops[public] = shop
            return shop

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _pick_shop(self, shop: Shop | str | None) -> Shop:
        if isinstance(shop, Shop):
            return shop
        if isinstance(shop, str):
            return self.shops[shop]
        if not self.shops:
            raise ValueError("add a shop first (add_shop)")
        return next(iter(self.shops.values()))  # the first shop added is the default

    def add_order(
        self,
        customer: dict[str, Any],
        rows: list[RowSpec],
        *,
        shop: Shop | str | None = None,
        shipping: Decimal | int | str = ZERO,
        shipping_tax: Decimal | int | str = 21,
        paymethod: str = "BankTransfer",
        paymethod_costs: Decimal | int | str = ZERO,
        extra_costs: Decimal | int | str = ZERO,
        extra_costs_description: str = "",
        costs_tax: Decimal | int | str | None = None,
        coupon_code: str = "",
        coupon_discount: Decimal | int | str = ZERO,
        cart_discount: Decimal | int | str = ZERO,
        credit_point_discount: Decimal | int | str = ZERO,
        status: int = 1,
        paid: bool = False,
        taxes_included: bool = True,
        intra_community: bool = False,
        create_date: datetime | None = None,
        total_price_override: Decimal | int | str | None = None,
        extra: dict[str, Any] | None = None,
        order_id: int | None = None,
    ) -> dict[str, Any]:
        """Place an order as a customer's checkout would (fires ``orders.created``); returns the order resource.

        Amounts are incl. VAT (``taxes_included=True``, like most Dutch shops) per unit on rows; the totals are
        computed like CCV (see ccvshop_orders). ``total_price_override`` makes an order whose own parts do not
        add up, ``extra`` overrides top-level order fields verbatim. ``order_id`` fixes the id (e.g. the one a
        recorded webhook names; later orders get ids above every id given). Values in the result are Decimal.
        """
        if not rows:
            raise ValueError("an order needs at least one row")
        options = OrderOptions(
            shipping=money(shipping),
            shipping_tax=money(shipping_tax),
            paymethod=paymethod,
            paymethod_costs=money(paymethod_costs),
            extra_costs=money(extra_costs),
            extra_costs_description=extra_costs_description,
            costs_tax=None if costs_tax is None else money(costs_tax),
            coupon_code=coupon_code,
            coupon_discount=money(coupon_discount),
            cart_discount=money(cart_discount),
            credit_point_discount=money(credit_point_discount),
            status=status,
            paid=paid,
            taxes_included=taxes_included,
            intra_community=intra_community,
            total_price_override=None if total_price_override is None else money(total_price_override),
            extra=extra or {},
        )
        with self.lock:
            target = self._pick_shop(shop)
            if order_id is None:
                order_id = self.next_id("order")
            elif order_id in self._order_shop:
                raise ValueError(f"order id {order_id} is taken")
            else:
                self._ids["order"] = max(self._ids["order"], order_id)
            built_rows = [
                build_row(
                    spec,
                    row_id=self.next_id("row"),
                    order_id=order_id,
                    product_id=self._product_id(spec.name),
                    intra_community=intra_community,
                )
                for spec in rows
            ]
            order = build_order(
                order_id=order_id,
                ordernumber=target.next_ordernumber,
                prefix=target.ordernumber_prefix,
                user_id=self._user_id(target, str(customer.get("email", ""))),
                customer=customer,
                rows=built_rows,
                options=options,
                create_date=create_date or self.clock(),
            )
            target.next_ordernumber += 1
            target.orders[order_id] = order
            target.rows[order_id] = built_rows
            self._order_shop[order_id] = target
            fresh = self._queue(target, order, ["orders.created"])
        self._auto_deliver(fresh)
        return self.get_order(order_id)

    def _product_id(self, name: str) -> int:
        if name not in self._products:
            self._products[name] = self.next_id("product")
        return self._products[name]

    def _user_id(self, shop: Shop, email: str) -> int:
        # One account per e-mail address, whatever its letter case, as a shop login is [I].
        key = (shop.public, email.casefold())
        if key not in self._users:
            self._users[key] = self.next_id("user")
        return self._users[key]

    def _find(self, order_id: int) -> tuple[Shop, dict[str, Any]]:
        shop = self._order_shop.get(order_id)
        if shop is None or order_id not in shop.orders:
            raise KeyError(f"no order {order_id}")
        return shop, shop.orders[order_id]

    def get_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return render_order(self._find(order_id)[1], self.href_base)

    def get_orderrows(self, order_id: int) -> list[dict[str, Any]]:
        with self.lock:
            shop, _ = self._find(order_id)
            return [render_row(row, self.href_base) for row in shop.rows[order_id]]

    def update_order(self, order_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply field changes and queue the webhooks they trigger (status, paid, track and trace)."""
        with self.lock:
            shop, order = self._find(order_id)
            events = []
            if "paid" in changes and changes["paid"] != order["paid"]:
                events.append("orders.is_paid")
            if "status" in changes and changes["status"] != order["status"]:
                events.append("orders.status_changed")
            if changes.get("track_and_trace_code", order["track_and_trace_code"]) != order["track_and_trace_code"]:
                events.append("orders.track_and_trace")
            previous_status = order["status"]
            order.update(changes)
            fresh = self._queue(shop, order, events, previous_status)
        self._auto_deliver(fresh)
        return self.get_order(order_id)

    def set_status(self, order_id: int, status: int) -> dict[str, Any]:
        return self.update_order(order_id, {"status": status})

    def set_paid(self, order_id: int, paid: bool = True) -> dict[str, Any]:
        return self.update_order(order_id, {"paid": paid})

    def complete_and_pay(self, order_id: int) -> dict[str, Any]:
        """The payment arrives first (``orders.is_paid``), then the merchant completes it (status 7)."""
        self.set_paid(order_id, True)
        return self.set_status(order_id, COMPLETED)

    def set_track_and_trace(self, order_id: int, code: str, carrier: str, deeplink: str = "") -> dict[str, Any]:
        changes = {"track_and_trace_code": code, "track_and_trace_carrier": carrier}
        return self.update_order(order_id, {**changes, "track_and_trace_deeplink": deeplink})

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

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/")
        try:
            if action == "webhooks" and request.method == "GET":
                return json_response([_describe(d) for d in self.pending_webhooks()])
            if action == "webhooks/deliver" and request.method == "POST":
                return json_response({"delivered": len(self.deliver_webhooks())})
            if action == "config" and request.method == "POST":
                self.configure(request.get_json(force=True))
                return json_response(self.state())
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
        response = super()._control(request)
        if action == "faults" and request.method == "POST":
            self.outbox.reseed(self.faults.seed)
        return response


def _describe(delivery: Delivery) -> dict[str, Any]:
    return {
        "address": delivery.address,
        "event": delivery.event,
        "webhook_id": delivery.webhook_id,
        "headers": delivery.headers,
        "body": delivery.body.decode(),
    }
