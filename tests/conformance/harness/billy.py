"""Billy in the conformance suite: its API v2 sandbox on loopback, one fresh organization per test with the rates the
canonical (Dutch) documents need: sales-tax rulesets at 21 % and 9 % beside Billy's Danish ones (a Billy user can
add rates and rulesets of their own), and every country the documents name. Invoices and credit notes are read back
by invoice number with the VAT Billy computed itself."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from devkit.sandboxes.billy.sandbox import BillySandbox
from koppel import wire
from tests.conformance.harness import TIMEOUT, Booked, TargetHarness, non_zero

if TYPE_CHECKING:
    from collections.abc import Mapping

    from devkit.sandboxes.billy.store import Organization
    from tests.conformance.documents import Case

TOKEN = "conformance-billy-token"
DUTCH = {"21": "0.21", "9": "0.09"}


class BillyHarness(TargetHarness):
    name = "billy"
    refuses: ClassVar[Mapping[str, str]] = {
        # A distance sale at the buyer's rate (19 %) needs a ruleset of that rate, which an organization keeping its
        # books in one country does not have: the connector parks it before anything is created, naming the rate.
        "eu_distance_sale_oss": r"VAT rate 19 %, which has no Billy sales tax ruleset",
    }
    gaps: ClassVar[Mapping[str, str]] = {
        # Billy's access tokens never expire and are not exchanged for session tokens: there is nothing to renew, so
        # a refused token is an AuthError ("check the access token") at once, and no token is ever fetched.
        "test_a_refused_access_token_is_renewed_once_and_the_call_succeeds": "Billy's tokens are not renewable",
        "test_a_token_refused_again_after_renewal_is_an_auth_error_not_a_loop": "Billy's tokens are not renewable",
    }
    # Till payments are booked as one bank payment of the open balance on the approved invoice (payments.py), and a
    # receipt paid at the counter as one withdrawal of the open balance on the approved bill.
    takes_payments = True
    booking_path = "/v2/invoices"
    token_path = "/v2/no-token-exchange"

    def __init__(self) -> None:
        super().__init__(BillySandbox(seed=11))
        self.sandbox: BillySandbox
        self.org: Organization | None = None

    def fresh_account(self) -> None:
        self.org = self.sandbox.add_organization("Conformance ApS", token=TOKEN)
        with self.sandbox.lock:
            self.org.table("countries")["CA"] = {"id": "CA", "name": "Canada", "hasStates": True}
            for percent, fraction in DUTCH.items():
                rate_id = self.sandbox.store.new_id()
                self.org.table("taxRates")[rate_id] = {
                    "id": rate_id, "organizationId": self.org.id, "name": f"BTW {percent}%", "abbreviation": None,
                    "description": None, "rate": Decimal(fraction), "appliesToSales": True,
                    "appliesToPurchases": False, "isPredefined": False, "isActive": True,
                    "netAmountMetaFieldId": None,
                }  # fmt: skip
                purchase_id = self.sandbox.store.new_id()
                self.org.table("taxRates")[purchase_id] = {
                    **self.org.table("taxRates")[rate_id], "id": purchase_id, "name": f"Voorbelasting {percent}%",
                    "abbreviation": f"VB{percent}", "appliesToSales": False, "appliesToPurchases": True,
                }  # fmt: skip
                ruleset_id = self.sandbox.store.new_id()
                self.org.table("salesTaxRulesets")[ruleset_id] = {
                    "id": ruleset_id, "organizationId": self.org.id, "name": f"BTW {percent}%",
                    "abbreviation": None, "description": None, "fallbackTaxRateId": rate_id, "isPredefined": False,
                }  # fmt: skip

    def settings(self) -> dict[str, Any]:
        return {"base_url": f"{self.sandbox.base_url}/v2"}

    def secrets(self) -> dict[str, str]:
        return {"access_token": TOKEN}

    def _percent(self, tax_rate_id: str | None) -> Decimal:
        rate = self.sandbox.find("taxRates", org=self.org, id=tax_rate_id) if tax_rate_id else None
        return (rate["rate"] * 100).normalize() if rate else Decimal(0)

    def _per_rate(
        self, plural: str, key: str, parent_id: str, turn: Decimal
    ) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """Net and VAT per rate of a document's lines, as Billy computed them, in Koppel's sign."""
        net: dict[Decimal, Decimal] = {}
        vat: dict[Decimal, Decimal] = {}
        for line in self.sandbox.records(plural, org=self.org):
            if line[key] == parent_id:
                rate = Decimal(int(self._percent(line["taxRateId"])))
                net[rate] = net.get(rate, Decimal(0)) + turn * line["amount"]
                vat[rate] = vat.get(rate, Decimal(0)) + turn * line["tax"]
        return non_zero(net), non_zero(vat)

    def booked(self, number: str) -> list[Booked]:
        found = []
        for invoice in self.sandbox.records("invoices", org=self.org):
            if invoice.get("invoiceNo") != number:
                continue
            turn = Decimal(-1) if invoice["type"] == "creditNote" else Decimal(1)
            net, vat = self._per_rate("invoiceLines", "invoiceId", invoice["id"], turn)
            paid = turn * (invoice["grossAmount"] - invoice["balance"])
            found.append(Booked(number, turn * invoice["grossAmount"], net, vat, paid))
        return found

    # -- purchases: bills (the organization has Dutch purchase rates at 21 % and 9 % beside Billy's own) ----------
    def purchased(self, number: str) -> list[Booked]:
        found = []
        for bill in self.sandbox.records("bills", org=self.org):
            if bill.get("suppliersInvoiceNo") != number:
                continue
            turn = Decimal(-1) if bill["type"] == "creditNote" else Decimal(1)
            net, vat = self._per_rate("billLines", "billId", bill["id"], turn)
            total = turn * (bill["amount"] + bill["tax"])
            due = date.fromisoformat(str(bill["dueDate"])) if bill.get("dueDate") else None
            found.append(Booked(number, total, net, vat, party=bill["contactName"], due_date=due))
        return found

    def suppliers(self) -> list[str]:
        return [c["name"] for c in self.sandbox.records("contacts", org=self.org) if c.get("isSupplier")]

    def attachments(self, number: str) -> list[str]:
        bills = {b["id"] for b in self.sandbox.records("bills", org=self.org) if b["suppliersInvoiceNo"] == number}
        files = {f["id"]: f["fileName"] for f in self.sandbox.records("files", org=self.org)}
        held = self.sandbox.records("attachments", org=self.org)
        return [files[a["fileId"]] for a in held if (a["ownerReference"] or "").partition(":")[2] in bills]

    def book_by_hand(self, case: Case) -> None:
        doc = case.document
        contact = self.sandbox.add_contact("Met de hand BV", "NL", org=self.org)
        lines = []
        for rate, amount in case.net.items():
            ruleset = self.sandbox.find("salesTaxRulesets", org=self.org, name=f"BTW {rate}%")
            product = self.sandbox.add_product(f"Omzet {rate}%", org=self.org, salesTaxRulesetId=ruleset["id"])
            lines.append({"productId": product["id"], "unitPrice": amount})
        body = {
            "invoice": {
                "contactId": contact["id"], "entryDate": doc.issue_date.isoformat(), "invoiceNo": doc.number,
                "paymentTermsDays": 8, "currencyId": doc.currency, "taxMode": "excl", "state": "approved",
                "lines": lines,
            }
        }  # fmt: skip
        headers = {"X-Access-Token": TOKEN, "Content-Type": "application/json"}
        url = f"{self.sandbox.base_url}/v2/invoices"
        requests.post(url, data=wire.dumps(body), headers=headers, timeout=TIMEOUT * 10).raise_for_status()

    def break_revenue_ledger(self) -> str:
        """The 21 % ruleset is deleted in Billy: a product created for a line at 21 % is refused."""
        ruleset = self.sandbox.find("salesTaxRulesets", org=self.org, name="BTW 21%")
        with self.sandbox.lock:
            assert self.org is not None
            del self.org.table("salesTaxRulesets")[ruleset["id"]]
        return r"Unknown sales tax ruleset"

    def revoke_tokens(self) -> None:
        with self.sandbox.lock:
            self.sandbox.store.tokens.pop(TOKEN, None)

    def refuse_every_token(self) -> None:
        self.revoke_tokens()
