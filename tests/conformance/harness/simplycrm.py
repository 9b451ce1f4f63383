"""Simply CRM in the conformance suite: its vtiger webservice sandbox on loopback, emptied for every test (the user
is kept); bookable records are Approved invoices of an organization. The sandbox's clock runs a minute behind, so
what it writes is safely inside a poll window that ends now. The unreadable invoice's organization has a country
Koppel cannot read; the owner corrects it and saves the invoice again."""

from __future__ import annotations

import time
from typing import Any

from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox
from tests.conformance.harness import SourceHarness

USER, ACCESS_KEY = "koppel", "Kx9q2LmP0aZ7wE4r"


def _a_minute_ago() -> float:
    return time.time() - 60


class SimplycrmHarness(SourceHarness):
    name = "simplycrm"

    def __init__(self) -> None:
        super().__init__(SimplyCrmSandbox(clock=_a_minute_ago))
        self.sandbox: SimplyCrmSandbox
        self.sandbox.add_user(USER, ACCESS_KEY)
        self.account = self.product = ""

    def fresh_account(self) -> None:
        self.account = self._organization("Nederland")
        self.product = self.sandbox.add_product("Oven", unit_price="1250.00")["id"]

    def _organization(self, country: str) -> str:
        return str(
            self.sandbox.add_account(
                "Bakkerij Jansen B.V.", email1="info@jansen.nl", bill_street="Dorpsstraat 1", bill_code="1234 AB",
                bill_city="Ede", bill_country=country,
            )["id"]
        )  # fmt: skip

    def settings(self) -> dict[str, Any]:
        return {"url": self.sandbox.base_url}

    def secrets(self) -> dict[str, str]:
        return {"user_name": USER, "access_key": ACCESS_KEY}

    def _invoice(self, account: str) -> str:
        lines = [
            {"productid": self.product, "quantity": 2, "discount_percent": "10", "tax1": "21"},
            {"productid": self.product, "quantity": 1, "listprice": "95.50", "tax1": "9"},
        ]
        invoice = self.sandbox.add_invoice(
            "Ovens", account, lines, hdnTaxType="individual", invoicestatus="Approved", invoicedate="2026-11-20"
        )
        return str(invoice["id"])

    def add_bookable(self) -> str:
        return self._invoice(self.account)

    def change_unimportant(self, record_id: str) -> None:
        self.sandbox.change_by_person(record_id, {"description": "Levering in week 48"})

    def add_unreadable(self) -> str:
        return self._invoice(self._organization("Atlantis"))

    def repair(self, record_id: str) -> None:
        account = self.sandbox.retrieve(record_id)["account_id"]
        self.sandbox.change_by_person(account, {"bill_country": "Nederland"})
        self.sandbox.change_by_person(record_id, {"terms_conditions": "Betaling binnen 14 dagen"})  # saved again

    def refuse_credentials(self) -> None:
        self.sandbox.gate.by_name(USER).access_key = "a-new-access-key-made-in-my-preferences"  # type: ignore[union-attr]
        self.sandbox.gate.sessions.clear()
