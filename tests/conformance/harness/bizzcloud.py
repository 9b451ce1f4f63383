"""Bizzcloud in the conformance suite: its Odoo 17 RPC sandbox on loopback, emptied for every test; bookable
records are posted customer invoices. The sandbox's clock runs a minute behind, so what it writes is safely inside
a poll window that ends now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
from tests.conformance.harness import SourceHarness

LOGIN, API_KEY = "koppel@conformance.nl", "conformance-api-key"
HIGH, LOW = "Sales/turnover high", "Sales/turnover low 9%"
NL = 1  # res.country id of the Netherlands in the sandbox's reference data


def _a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


class BizzcloudHarness(SourceHarness):
    name = "bizzcloud"

    def __init__(self) -> None:
        super().__init__(BizzcloudSandbox(clock=_a_minute_ago))
        self.sandbox: BizzcloudSandbox
        self.partner = 0

    def fresh_account(self) -> None:
        self.sandbox.add_user(LOGIN, API_KEY)
        self.partner = self.sandbox.add_partner(
            name="Bakkerij Jansen", email="info@jansen.nl", street="Dorpsstraat 1", zip="1234 AB", city="Utrecht",
            country_id=NL, is_company=True, vat="NL123456789B01", ref="D1001",
        )  # fmt: skip

    def settings(self) -> dict[str, Any]:
        # Customers are left out: each change of one is an event of its own by design (a new revision to sync).
        return {"url": self.sandbox.base_url, "database": self.sandbox.db, "sync_customers": False}

    def secrets(self) -> dict[str, str]:
        return {"login": LOGIN, "api_key": API_KEY}

    def add_bookable(self) -> str:
        lines = [
            {"product_id": 1, "quantity": 3, "price_unit": "19.99", "tax_names": [HIGH]},
            {"product_id": 2, "quantity": 1, "price_unit": "24.95", "discount": 10, "tax_names": [LOW]},
        ]
        return f"account.move:{self.sandbox.create_invoice(self.partner, lines, _a_minute_ago().date().isoformat())}"

    def change_unimportant(self, record_id: str) -> None:
        self.sandbox.touch("account.move", _id(record_id))  # e.g. a note in the chatter: a new write_date

    def add_unreadable(self) -> str:
        # Two taxes on one line: Koppel books one VAT rate per line, so the invoice cannot be read as it is.
        lines = [{"product_id": 1, "quantity": 1, "price_unit": "10.00", "tax_names": [HIGH, LOW]}]
        return f"account.move:{self.sandbox.create_invoice(self.partner, lines, _a_minute_ago().date().isoformat())}"

    def repair(self, record_id: str) -> None:
        move = _id(record_id)
        with self.sandbox._lock:
            books = self.sandbox.books
            [line] = books.raw("account.move", move, "invoice_line_ids")
            books.write("account.move.line", [line], {"tax_ids": [self.sandbox.tax_id(HIGH)]})
            books.touch("account.move", move)

    def refuse_credentials(self) -> None:
        self.sandbox.revoke_api_key(API_KEY)


def _id(record_id: str) -> int:
    return int(record_id.rsplit(":", 1)[1])
