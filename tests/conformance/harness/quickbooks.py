"""QuickBooks Online in the conformance suite: its sandbox (Intuit's OAuth and the v3 API on one loopback server),
one fresh company per test with the Dutch VAT codes the canonical documents need, invoices and credit memos (and
bills and vendor credits) read back by DocNumber with the tax QuickBooks computed (or was told)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from devkit.sandboxes.quickbooks.seed import (
    DUTCH_PERCENT_OF_RATE,
    DUTCH_PURCHASE_RATES,
    DUTCH_RATE_OF_CODE,
    DUTCH_VAT_CODES,
)
from koppel import wire
from koppel.ports import CachedToken
from tests.conformance.harness import TIMEOUT, Booked, TargetHarness, non_zero

if TYPE_CHECKING:
    from collections.abc import Mapping

    from werkzeug.wrappers import Response

    from tests.conformance.documents import Case

REALM = "9130000000000001"
CLIENT = ("conformance-app", "conformance-secret")
CODE_BY_RATE = {Decimal(21): "2", Decimal(9): "3", Decimal(0): "4"}
CODE_OF_PURCHASE_RATE = {rate: code for code, rates in DUTCH_PURCHASE_RATES.items() for rate, _, _ in rates}
"""A bill's TaxRate id → its TaxCode: a self-assessing code's two rates are read back as the code's own 0 %."""


class _NamedWait(QuickbooksSandbox):
    """QuickBooks names no wait with a throttle [I]; the suite's throttle names one (Retry-After), which the connector
    must honour. Without one it waits Intuit's advised 60 s (tests/connectors/test_quickbooks.py)."""

    def fault_response(self, kind: str) -> Response:
        response = super().fault_response(kind)
        if kind == "throttle":
            response.headers["Retry-After"] = str(self.faults.retry_after)
        return response


class QuickbooksHarness(TargetHarness):
    name = "quickbooks"
    refuses: ClassVar[Mapping[str, str]] = {
        # A distance sale at the buyer's rate (19 %) needs a tax code of that rate, which a company keeping its books
        # in one country does not have: the connector parks it, naming the rate to map or to book by hand.
        "eu_distance_sale_oss": r"VAT rate 19 %, which has no QuickBooks Online tax code.*map it",
    }
    # The on-the-spot payments of a till sale are left to QuickBooks' bank feed (Pipedrive, the source this target
    # serves, has none): a Payment entity per till payment is not built.
    takes_payments = False
    booking_path = f"/v3/company/{REALM}/invoice"
    other_booking_paths = (f"/v3/company/{REALM}/creditmemo",)
    token_path = "/oauth2/v1/tokens/bearer"

    def __init__(self) -> None:
        super().__init__(_NamedWait())
        self.sandbox: QuickbooksSandbox

    def fresh_account(self) -> None:
        self.sandbox.add_company("Conformance Ltd", realm=REALM, currency="EUR", vat_codes=DUTCH_VAT_CODES)
        self.sandbox.add_client(*CLIENT)
        # The suite books dozens of documents a second through targets built anew each time (each its own limiter):
        # Intuit's limits are tested in tests/connectors/test_quickbooks.py, not here.
        self.sandbox.set_rate_limit(None, None)
        answer = self.sandbox.issue_tokens(REALM, CLIENT[0])
        now = datetime.now(UTC)
        grant = CachedToken(
            value=answer["access_token"],
            expires_at=now + timedelta(seconds=answer["expires_in"]),
            version=1,
            refresh_token=answer["refresh_token"],
            refreshed_at=now,
        )
        assert self.store.put_token("conformance", self.name, grant)

    def settings(self) -> dict[str, Any]:
        base = self.sandbox.base_url
        return {
            "base_url": base,
            "token_url": f"{base}/oauth2/v1/tokens/bearer",
            "app_url": base,
            "treatment_tax_codes": {"export": "7", "reverse_charge": "8"},
            "rate_limit_per_second": 0,
            "rate_limit_per_minute": 0,
        }

    def secrets(self) -> dict[str, str]:
        return {"realm_id": REALM}

    def partner_secret(self) -> Mapping[str, str]:
        return {"client_id": CLIENT[0], "client_secret": CLIENT[1]}

    def booked(self, number: str) -> list[Booked]:
        found = []
        for entity, sign in (("Invoice", 1), ("CreditMemo", -1)):
            for form in self.sandbox.entities(REALM, entity):
                if form.get("DocNumber") != number:
                    continue
                net: dict[Decimal, Decimal] = {}
                for line in form["Line"]:
                    if line["DetailType"] == "SalesItemLineDetail":
                        rate = DUTCH_RATE_OF_CODE[line["SalesItemLineDetail"]["TaxCodeRef"]["value"]]
                        net[rate] = net.get(rate, Decimal(0)) + sign * line["Amount"]
                vat: dict[Decimal, Decimal] = {}
                for line in form["TxnTaxDetail"]["TaxLine"]:
                    rate = DUTCH_PERCENT_OF_RATE[line["TaxLineDetail"]["TaxRateRef"]["value"]]
                    vat[rate] = vat.get(rate, Decimal(0)) + sign * line["Amount"]
                paid = form["TotalAmt"] - form["Balance"]
                found.append(Booked(number, sign * form["TotalAmt"], non_zero(net), non_zero(vat), sign * paid))
        return found

    def book_by_hand(self, case: Case) -> None:
        doc = case.document
        customer = self.sandbox.add_customer(REALM, "Met de hand BV", doc.party.email)
        lines = [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": CODE_BY_RATE[rate]}},
            }
            for rate, amount in case.net.items()
        ]
        body = {
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": doc.number,
            "TxnDate": doc.issue_date.isoformat(),
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": lines,
        }
        token = self.sandbox.issue_tokens(REALM, CLIENT[0])["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        url = f"{self.sandbox.base_url}/v3/company/{REALM}/invoice"
        requests.post(url, data=wire.dumps(body), headers=headers, timeout=TIMEOUT * 10).raise_for_status()

    def break_revenue_ledger(self) -> str:
        with self.sandbox._lock:
            self.sandbox.company(REALM).table("TaxCode")["2"]["Active"] = False
        return r"2500 Invalid Reference Id: .*TaxCode assigned to this transaction has been deleted"

    def revoke_tokens(self) -> None:
        with self.sandbox._lock:
            self.sandbox.oauth.access.clear()

    def refuse_every_token(self) -> None:
        self.revoke_tokens()
        self.sandbox.oauth.access_ttl = 0

    # -- purchases --------------------------------------------------------------------------------------------------
    def purchased(self, number: str) -> list[Booked]:
        found = []
        for entity, sign in (("Bill", 1), ("VendorCredit", -1)):
            for form in self.sandbox.entities(REALM, entity):
                if form.get("DocNumber") != number:
                    continue
                net: dict[Decimal, Decimal] = {}
                for line in form["Line"]:
                    rate = DUTCH_RATE_OF_CODE[line["AccountBasedExpenseLineDetail"]["TaxCodeRef"]["value"]]
                    net[rate] = net.get(rate, Decimal(0)) + sign * line["Amount"]
                vat: dict[Decimal, Decimal] = {}
                for line in form["TxnTaxDetail"]["TaxLine"]:
                    rate = DUTCH_RATE_OF_CODE[CODE_OF_PURCHASE_RATE[line["TaxLineDetail"]["TaxRateRef"]["value"]]]
                    vat[rate] = vat.get(rate, Decimal(0)) + sign * line["Amount"]
                due = date.fromisoformat(form["DueDate"]) if form.get("DueDate") else None
                party = self.sandbox.entity(REALM, "Vendor", form["VendorRef"]["value"])["DisplayName"]
                total = sign * form["TotalAmt"]
                found.append(Booked(number, total, non_zero(net), non_zero(vat), party=party, due_date=due))
        return found

    def suppliers(self) -> list[str]:
        return [str(vendor["DisplayName"]) for vendor in self.sandbox.entities(REALM, "Vendor")]

    def attachments(self, number: str) -> list[str]:
        bills = {form["Id"] for form in self.sandbox.entities(REALM, "Bill") if form.get("DocNumber") == number}
        return [
            str(held["FileName"])
            for held in self.sandbox.entities(REALM, "Attachable")
            if any(ref["EntityRef"]["type"] == "Bill" and ref["EntityRef"]["value"] in bills
                   for ref in held["AttachableRef"])
        ]  # fmt: skip
