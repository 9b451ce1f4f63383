"""Billy as a source in the conformance suite: its API v2 sandbox on loopback (a sandbox of its own, beside the target
harness's), one fresh organization per test. Bookable records are approved invoices of a Danish company; the
sandbox's clock runs a minute behind, so what it approves is inside a poll window that ends now. The unreadable
invoice's contact has a country Koppel cannot read; the owner corrects the contact (an approved invoice cannot be
changed), which the next poll reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from devkit.sandboxes.billy.sandbox import BillySandbox
from tests.conformance.harness import SourceHarness

TOKEN = "conformance-billy-source-token"


def _a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


class BillySourceHarness(SourceHarness):
    name = "billy"

    def __init__(self) -> None:
        super().__init__(BillySandbox(seed=12, clock=_a_minute_ago))
        self.sandbox: BillySandbox
        self.org = self.sandbox.add_organization("Conformance Kilde ApS", token=TOKEN)
        with self.sandbox.lock:
            self.org.table("countries")["ATL"] = {"id": "ATL", "name": "Atlantis", "hasStates": False}
        self.contact = self.product = ""

    def fresh_account(self) -> None:
        """The one organization, emptied by the sandbox's reset (which keeps reference data), its token valid again."""
        with self.sandbox.lock:
            self.sandbox.store.tokens[TOKEN] = self.org.id
        self.contact = self._contact("DK")
        self.product = self.sandbox.add_product("Bat cape", {"DKK": "199.95"}, org=self.org, productNo="CAPE-1")["id"]

    def _contact(self, country: str) -> str:
        return str(
            self.sandbox.add_contact(
                "Jensen ApS", country, persons=[("Ole Jensen", "ole@jensen.dk")], street="Vestergade 1",
                zipcodeText="1456", cityText="København K", org=self.org,
            )["id"]
        )  # fmt: skip

    def settings(self) -> dict[str, Any]:
        return {"base_url": f"{self.sandbox.base_url}/v2"}

    def secrets(self) -> dict[str, str]:
        return {"access_token": TOKEN}

    def _invoice(self, contact: str) -> str:
        lines = [
            {"productId": self.product, "unitPrice": Decimal("199.95"), "quantity": 3, "discountMode": "percent",
             "discountValue": 10},
            {"productId": self.product, "unitPrice": Decimal("45.50"), "quantity": 1},
        ]  # fmt: skip
        invoice = self.sandbox.add_invoice(contact, lines, approve=True, org=self.org, paymentTermsDays=14)
        return str(invoice["id"])

    def add_bookable(self) -> str:
        return self._invoice(self.contact)

    def change_unimportant(self, record_id: str) -> None:
        self.sandbox.change_by_person("invoices", record_id, org=self.org, contactMessage="Levering i uge 48")

    def add_unreadable(self) -> str:
        return self._invoice(self._contact("ATL"))

    def repair(self, record_id: str) -> None:
        contact = self.sandbox.record("invoices", record_id, org=self.org)["contactId"]
        self.sandbox.change_by_person("contacts", contact, org=self.org, countryId="DK")

    def refuse_credentials(self) -> None:
        with self.sandbox.lock:
            self.sandbox.store.tokens.pop(TOKEN, None)
