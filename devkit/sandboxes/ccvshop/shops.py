"""CCV Shop webshops and their orders, placed and changed from Python (every change queues CCV's webhooks).

Orders get ids, ordernumbers, users and products the way a shop hands them out; orders.py shapes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.ccvshop.orders import OrderOptions, RowSpec, build_order, build_row, render_order, render_row
from devkit.sandboxes.ccvshop.totals import ZERO, money

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from datetime import datetime
    from decimal import Decimal

    from devkit.sandboxes.ccvshop.webhooks import Delivery

COMPLETED = 7


class Shop:
    """One webshop: its API key pair, its orders and its webhook registrations."""

    def __init__(self, sandbox: Shops, public: str, secret: str, ordernumber_prefix: str | None) -> None:
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


class Shops:
    """Mixed into CcvShopSandbox, which provides the state below and queues (and may deliver) the webhooks."""

    base_url: str
    lock: threading.RLock
    clock: Callable[[], datetime]
    shops: dict[str, Shop]
    _order_shop: dict[int, Shop]
    _users: dict[tuple[str, str], int]
    _products: dict[str, int]
    _ids: dict[str, int]
    _queue: Callable[..., list[Delivery]]
    _auto_deliver: Callable[[list[Delivery]], None]

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
        computed like CCV (see totals.py). ``total_price_override`` makes an order whose own parts do not
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
