"""Pipedrive in the conformance suite: its sandbox on loopback with one company and a personal API token; every test
gets a fresh account. Bookable records are won deals with a person, an organization and two products (won deals make
invoices in this connection); the unreadable one is a won deal with neither person nor organization."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive.sandbox import Limits, PipedriveSandbox, ProductLine
from tests.conformance.harness import SourceHarness

if TYPE_CHECKING:
    from collections.abc import Mapping

API_TOKEN = "conformance0123456789abcdef0123456789abc"
HOOK_ADDRESS = "https://koppel.example/hooks/pipedrive/conformance"
HOOK_USER, HOOK_PASSWORD = "koppel-conformance", "a-webhook-password-of-the-conformance-suite"


class PipedriveHarness(SourceHarness):
    name = "pipedrive"

    def __init__(self) -> None:
        super().__init__(PipedriveSandbox(limits=Limits(burst_override=10_000)))
        self.sandbox: PipedriveSandbox
        company = self.sandbox.add_company()
        self.user = next(iter(company.users.values()))
        self.token = API_TOKEN
        self.org = self.person = 0

    def fresh_account(self) -> None:
        self.token = self.sandbox.add_api_token(self.user, API_TOKEN)  # the company is kept over a reset
        self.sandbox.register_webhook("change.deal", HOOK_ADDRESS, http_auth=(HOOK_USER, HOOK_PASSWORD))
        address = {"route": "Dorpsstraat", "street_number": "1", "postal_code": "1234 AB", "locality": "Ede",
                   "country": "Nederland"}  # fmt: skip
        self.org = self.sandbox.add_organization("Jansen B.V.", address=address)["id"]
        self.person = self.sandbox.add_person("Piet Jansen", emails=[{"value": "piet@jansen.nl"}], org_id=self.org)[
            "id"
        ]

    def settings(self) -> dict[str, Any]:
        return {"api_url": self.sandbox.base_url, "won_deals_create_invoices": True}

    def secrets(self) -> dict[str, str]:
        return {"api_token": self.token, "webhook_user": HOOK_USER, "webhook_password": HOOK_PASSWORD}

    def add_bookable(self) -> str:
        return self._won_deal(person_id=self.person, org_id=self.org)

    def _won_deal(self, **contacts: Any) -> str:
        lines = [
            ProductLine("Oven", "1250.00", 2, discount="10", tax=21),
            ProductLine("Installatie", "95.50", 3, discount="20.00", discount_type="amount", tax=9),
        ]
        deal = self.sandbox.add_deal("Ovens voor de bakkerij", lines, status="won", **contacts)
        return str(deal["id"])

    def change_unimportant(self, record_id: str) -> None:
        self.sandbox.update_deal(int(record_id), {"title": "Ovens voor de bakkerij (geleverd)"})

    def add_unreadable(self) -> str:
        return self._won_deal()  # nobody to invoice: parked until a contact is linked

    def repair(self, record_id: str) -> None:
        self.sandbox.update_deal(int(record_id), {"person_id": self.person, "org_id": self.org})

    def webhook(self, record_id: str) -> tuple[Mapping[str, str], bytes, str] | None:
        for delivery in self.sandbox.pending_webhooks():
            body = json.loads(delivery.body)
            if body["meta"]["entity_id"] == record_id and (body.get("previous") or {}).get("status") == "open":
                return delivery.headers, delivery.body, delivery.url
        return None

    def refuse_credentials(self) -> None:
        self.sandbox.add_api_token(self.user)  # a new personal token replaces the stored one
