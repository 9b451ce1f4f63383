"""The HTTP face of the CCV Shop sandbox: auth gate, routing, orders and webhooks resources (listing.py filters and
pages them).

Vendor facts and assumptions:
- Collections [V] ``{"start","size","href","first","previous","next","items"}`` (generated client's collection
  models; the official SDK's restGetAll reads ``items``); ``next``/``previous``/``first`` are absolute URLs
  with the same filters, ``next`` is null on the last page and ``previous`` on the first.
- Paging ``start`` (offset) + ``size`` [V]. Default size 25 and a cap of 100 are not published [I]; a larger
  size is capped rather than refused [I] (clients in the wild ask ``size=9999``).
- Order filters [V] (generated client, Parameters/Orders/All): ordernumber, status, is_paid, is_completed,
  min_create_date, max_create_date, paymethod_id, transaction_id; ``orderby`` create_date, -create_date, id,
  ordernumber, deliver_date (a leading ``-`` sorts descending). ``is_completed`` is documented with
  "Default: true": without it only orders whose checkout finished are listed. Default sort id ascending [I].
  Dates take ISO-8601 dates or datetimes, UTC unless an offset is given; a bare date as max includes that
  day [I]. Unknown query parameters are ignored [I]. The Accept header is not checked [I].
- PATCH answers 204 without body, POST 201 with the created resource, DELETE 204 [I].
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.ccvshop.auth import (
    BAD_INPUT,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    UNKNOWN_RESOURCE,
    CcvError,
    check_request,
    response_date,
    sign,
)
from devkit.sandboxes.ccvshop.json_text import dumps
from devkit.sandboxes.ccvshop.listing import collection, select_orders
from devkit.sandboxes.ccvshop.orders import API_PREFIX, ccv_time

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
    from devkit.sandboxes.ccvshop.shops import Shop

_Handler = Callable[["CcvApi", "Shop", "Request", list[int], bytes], tuple[int, Any]]
ROUTES: dict[str, dict[str, str]] = {
    "orders": {"GET": "_list_orders"},
    "orders/{id}": {"GET": "_get_order", "PATCH": "_patch_order"},
    "orders/{id}/orderrows": {"GET": "_list_orderrows"},
    "orderrows/{id}": {"GET": "_get_orderrow"},
    "webhooks": {"GET": "_list_webhooks", "POST": "_post_webhook"},
    "webhooks/{id}": {"GET": "_get_webhook", "PATCH": "_patch_webhook", "DELETE": "_delete_webhook"},
}
_PATCHABLE = {
    "status": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 14,
    "paid": lambda v: isinstance(v, bool),
    "track_and_trace_code": lambda v: isinstance(v, str),
    "track_and_trace_carrier": lambda v: v is None or isinstance(v, str),
    "track_and_trace_deeplink": lambda v: isinstance(v, str),
}
_EVENT = re.compile(r"[a-z_]+\.[a-z_]+")


def _match(path: str) -> tuple[str, list[int]]:
    parts = path.removeprefix(API_PREFIX).strip("/").split("/")
    ids = [int(p) for p in parts if p.isdigit()]
    return "/".join("{id}" if p.isdigit() else p for p in parts), ids


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CcvError(400, BAD_INPUT, f"Request body is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise CcvError(400, BAD_INPUT, "Request body must be a JSON object")
    return data


def _locked(handler: _Handler) -> _Handler:
    """Hold the sandbox lock while a handler reads or changes a shop.

    PATCH of an order is not wrapped: it may POST webhooks (auto_deliver), and a receiver that reads the order
    back while the lock is held would wait for itself.
    """

    @functools.wraps(handler)
    def locked(api: CcvApi, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        with api.sandbox.lock:
            return handler(api, shop, request, ids, body)

    return locked


class CcvApi:
    """Answers the API requests of one CcvShopSandbox, reading and changing the sandbox's shops."""

    def __init__(self, sandbox: CcvShopSandbox) -> None:
        self.sandbox = sandbox

    def handle(self, request: Request) -> Response:
        uri = request.environ.get("RAW_URI") or request.full_path.removesuffix("?")
        body = request.get_data()
        headers = {name.lower(): value for name, value in request.headers.items()}
        shop = self.sandbox.shops.get(headers.get("x-public", ""))
        extra: dict[str, str] = {}
        try:
            if not request.path.startswith(API_PREFIX + "/"):
                raise CcvError(404, UNKNOWN_RESOURCE, f"No resource at {request.path}")
            status, data = self._serve(request, uri, body, headers)
        except CcvError as error:
            status, data, extra = error.status, error.body(), error.headers
        return self._answer(shop, request.method, uri, status, data, extra)

    def _serve(self, request: Request, uri: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        secrets_by_public = {public: shop.secret for public, shop in self.sandbox.shops.items()}
        now = self.sandbox.clock()
        public = check_request(
            headers=headers,
            secrets=secrets_by_public,
            method=request.method,
            uri=uri,
            body=body,
            now=now,
            max_skew=self.sandbox.max_skew,
        )
        route, ids = _match(request.path)
        if route not in ROUTES:
            raise CcvError(404, UNKNOWN_RESOURCE, f"Resource '{route}' does not exist")
        handler = ROUTES[route].get(request.method)
        if handler is None:
            raise CcvError(405, METHOD_NOT_ALLOWED, f"Method {request.method} is not allowed on '{route}'")
        resource = [part for part in route.split("/") if part != "{id}"][-1]
        self.sandbox.limiter.admit(public, resource, request.method, now)
        result: tuple[int, Any] = getattr(self, handler)(self.sandbox.shops[public], request, ids, body)
        return result

    def _answer(
        self, shop: Shop | None, method: str, uri: str, status: int, data: Any, extra: dict[str, str]
    ) -> Response:
        raw = b"" if data is None else dumps(data, escape_slashes=self.sandbox.escape_slashes)
        x_date = response_date(self.sandbox.clock())
        headers = {**extra, "x-date": x_date}
        if shop is not None:
            headers["x-hash"] = sign(shop.secret, shop.public, method, uri, raw, x_date)
        return Response(raw, status=status, headers=headers, mimetype="application/json")

    def _collection(
        self, request: Request, items: list[dict[str, Any]], render: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        return collection(request, items, render, self.sandbox.href_base, self.sandbox.max_page_size)

    # -- orders ---------------------------------------------------------------------------------------------
    @_locked
    def _list_orders(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        orders = select_orders(list(shop.orders.values()), request.args)
        return 200, self._collection(request, orders, self._render_order)

    def _render_order(self, order: dict[str, Any]) -> dict[str, Any]:
        return self.sandbox.get_order(order["id"])

    def _own_order(self, shop: Shop, order_id: int) -> dict[str, Any]:
        if order_id not in shop.orders:  # another shop's order is as unknown as a missing one
            raise CcvError(404, NOT_FOUND, f"Order {order_id} not found")
        return shop.orders[order_id]

    @_locked
    def _get_order(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        return 200, self._render_order(self._own_order(shop, ids[0]))

    def _patch_order(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        self._own_order(shop, ids[0])
        changes = _json_object(body)
        for name, value in changes.items():
            if name not in _PATCHABLE:
                raise CcvError(400, BAD_INPUT, f"Field '{name}' cannot be changed on an order in this sandbox")
            if not _PATCHABLE[name](value):
                raise CcvError(400, BAD_INPUT, f"Invalid value for '{name}': {value!r}")
        self.sandbox.update_order(ids[0], changes)
        return 204, None

    @_locked
    def _list_orderrows(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        self._own_order(shop, ids[0])
        rows = self.sandbox.get_orderrows(ids[0])
        return 200, self._collection(request, rows, lambda row: row)

    @_locked
    def _get_orderrow(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        for order_id in shop.rows:
            for row in self.sandbox.get_orderrows(order_id):
                if row["id"] == ids[0]:
                    return 200, row
        raise CcvError(404, NOT_FOUND, f"Orderrow {ids[0]} not found")

    # -- webhooks ---------------------------------------------------------------------------------------------
    def create_webhook(self, shop: Shop, event: Any, address: Any, is_active: Any = True) -> dict[str, Any]:
        if not isinstance(event, str) or not _EVENT.fullmatch(event):
            raise ValueError(f"event must look like 'resource.action', got {event!r}")
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise ValueError(f"address must be an http(s) URL, got {address!r}")
        if not isinstance(is_active, bool):
            raise ValueError("is_active must be true or false")
        hook_id = self.sandbox.next_id("webhook")
        shop.webhooks[hook_id] = {
            "href": None,
            "id": hook_id,
            "createdate": ccv_time(self.sandbox.clock()),
            "event": event,
            "address": address,
            "key": secrets.token_hex(16),
            "is_active": is_active,
        }
        return self._render_hook(shop.webhooks[hook_id])

    def _render_hook(self, hook: dict[str, Any]) -> dict[str, Any]:
        return {**hook, "href": f"{self.sandbox.href_base}{API_PREFIX}/webhooks/{hook['id']}/"}

    def _own_hook(self, shop: Shop, hook_id: int) -> dict[str, Any]:
        if hook_id not in shop.webhooks:
            raise CcvError(404, NOT_FOUND, f"Webhook {hook_id} not found")
        return shop.webhooks[hook_id]

    @_locked
    def _list_webhooks(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        return 200, self._collection(request, list(shop.webhooks.values()), self._render_hook)

    @_locked
    def _post_webhook(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        data = _json_object(body)
        try:
            return 201, self.create_webhook(shop, data.get("event"), data.get("address"), data.get("is_active", True))
        except ValueError as error:
            raise CcvError(400, BAD_INPUT, str(error)) from error

    @_locked
    def _get_webhook(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        return 200, self._render_hook(self._own_hook(shop, ids[0]))

    @_locked
    def _patch_webhook(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        hook = self._own_hook(shop, ids[0])
        changes = _json_object(body)
        if set(changes) - {"is_active", "address"}:
            raise CcvError(400, BAD_INPUT, "Only is_active and address can be changed on a webhook")
        if not isinstance(changes.get("is_active", True), bool):
            raise CcvError(400, BAD_INPUT, "is_active must be true or false")
        hook.update(changes)
        return 204, None

    @_locked
    def _delete_webhook(self, shop: Shop, request: Request, ids: list[int], body: bytes) -> tuple[int, Any]:
        self._own_hook(shop, ids[0])
        del shop.webhooks[ids[0]]
        return 204, None
