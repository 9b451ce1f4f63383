"""CCV Shop in the conformance suite: its signed REST sandbox on loopback with one shop, whose orders are emptied for
every test; bookable orders are completed and paid, placed a minute ago."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox, RateLimits, RowSpec
from tests.conformance.harness import SourceHarness

if TYPE_CHECKING:
    from collections.abc import Mapping

PUBLIC, SECRET = "conformance-public", "conformance-secret"
HOOK_ADDRESS = "https://koppel.example/hooks/ccvshop/conformance"
COMPLETED = 7
CUSTOMER = {
    "email": "j.jansen@example.nl",
    "billingaddress": {"first_name": "Jan", "last_name": "Jansen", "street": "Dorpsstraat", "housenumber": 1},
}


class CcvshopHarness(SourceHarness):
    name = "ccvshop"

    def __init__(self) -> None:
        limits = RateLimits(get_per_minute=10_000, write_per_minute=10_000, total_per_minute=10_000)
        super().__init__(CcvShopSandbox(rate_limits=limits))
        self.sandbox: CcvShopSandbox
        self.sandbox.add_shop(PUBLIC, SECRET)
        self.secret = SECRET
        self.webhook_key = ""

    def fresh_account(self) -> None:
        self.secret = SECRET  # the shop is kept over a reset; its orders and webhooks are not
        self.webhook_key = self.sandbox.register_webhook("orders.created", HOOK_ADDRESS)["key"]

    def settings(self) -> dict[str, Any]:
        return {"base_url": self.sandbox.base_url}

    def secrets(self) -> dict[str, str]:
        return {"public_key": PUBLIC, "secret_key": self.secret, "webhook_key": self.webhook_key}

    def add_bookable(self) -> str:
        rows = [RowSpec("Koffiebonen 1 kg", count=2, price=Decimal("24.95"), tax=9), RowSpec("Molen", price=49)]
        placed = datetime.now(UTC) - timedelta(minutes=1)
        order = self.sandbox.add_order(
            CUSTOMER, rows, shipping=Decimal("5.95"), status=COMPLETED, paid=True, create_date=placed
        )
        return str(order["id"])

    def change_unimportant(self, record_id: str) -> None:
        self.sandbox.set_track_and_trace(int(record_id), "3SABCD0123456789", "PostNL")

    def add_unreadable(self) -> str:
        record_id = self.add_bookable()
        self._set_tax(record_id, None)  # a row without a VAT percentage: nothing to book it at
        return record_id

    def repair(self, record_id: str) -> None:
        self._set_tax(record_id, Decimal(9))

    def _set_tax(self, record_id: str, tax: Decimal | None) -> None:
        with self.sandbox.lock:
            shop = self.sandbox.shops[PUBLIC]
            shop.rows[int(record_id)][0]["tax"] = tax

    def webhook(self, record_id: str) -> tuple[Mapping[str, str], bytes, str] | None:
        for delivery in self.sandbox.pending_webhooks():
            if json.loads(delivery.body)["id"] == int(record_id):
                return delivery.headers, delivery.body, delivery.address
        return None

    def refuse_credentials(self) -> None:
        self.secret = "a-secret-key-the-shop-no-longer-has"
