"""e-Boekhouden.nl in the conformance suite: its REST sandbox on loopback, one fresh administration per test,
"invoice sent" and "invoice received" mutations read back by invoice number with the VAT e-Boekhouden computed
itself."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
from koppel import wire
from tests.conformance.harness import TIMEOUT, Booked, TargetHarness, non_zero

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tests.conformance.documents import Case

INVOICE_RECEIVED, INVOICE_SENT, PAYMENT_RECEIVED = 1, 2, 3
RATES = {"HOOG_VERK_21": Decimal(21), "LAAG_VERK_9": Decimal(9), "HOOG_INK_21": Decimal(21), "LAAG_INK_9": Decimal(9)}
"""Every other VAT code books 0 % (reverse-charged and intra-EU purchases carry no VAT on the invoice)."""
CODE_BY_RATE = {
    Decimal(21): ("8000", "HOOG_VERK_21"),
    Decimal(9): ("8010", "LAAG_VERK_9"),
    Decimal(0): ("8020", "GEEN"),
}


class EboekhoudenHarness(TargetHarness):
    name = "eboekhouden"
    refuses: ClassVar[Mapping[str, str]] = {
        # e-Boekhouden books distance sales under AFST_VERK with the buyer's country's rate, which the connector does
        # not map: it parks the document for a person to book by hand.
        "eu_distance_sale_oss": r"EU distance sale \(OSS\).*book it by hand",
    }
    booking_path = "/v1/mutation"
    token_path = "/v1/session"

    def __init__(self) -> None:
        super().__init__(EboekhoudenSandbox())
        self.sandbox: EboekhoudenSandbox
        self.api_token = ""

    def fresh_account(self) -> None:
        self.api_token = self.sandbox.add_administration("Conformance BV")

    def settings(self) -> dict[str, Any]:
        return {"api_base": self.sandbox.base_url}

    def secrets(self) -> dict[str, str]:
        return {"api_token": self.api_token}

    def booked(self, number: str) -> list[Booked]:
        mutations = self.sandbox.mutations(self.api_token)
        paid: dict[int, Decimal] = {}
        for mutation in mutations:
            for row in mutation["rows"]:
                if mutation["type"] == PAYMENT_RECEIVED and row.get("paysMutationId") is not None:
                    paid[row["paysMutationId"]] = paid.get(row["paysMutationId"], Decimal(0)) + row["amount"]
        found = []
        for mutation in mutations:
            if mutation["type"] != INVOICE_SENT or mutation["invoiceNumber"] != number:
                continue
            net, vat = _per_rate(mutation)
            total = mutation["totalAmount"]
            found.append(Booked(number, total, net, vat, paid.get(mutation["id"], Decimal(0))))
        return found

    def purchased(self, number: str) -> list[Booked]:
        """Invoices received under the supplier's number, or under the number keyed to the supplier
        (``<number>/<relation id>``), which the connector uses when e-Boekhouden will not take the number as is."""
        relations = {r["id"]: r for r in self.sandbox.relations(self.api_token)}
        found = []
        for mutation in self.sandbox.mutations(self.api_token):
            held = mutation["invoiceNumber"] or ""
            if mutation["type"] != INVOICE_RECEIVED or held not in (number, f"{number}/{mutation['relationId']}"):
                continue
            net, vat = _per_rate(mutation)
            term = mutation["termOfPayment"]
            due = date.fromisoformat(mutation["date"]) + timedelta(days=term) if term is not None else None
            party = relations[mutation["relationId"]]["name"]
            found.append(Booked(number, mutation["totalAmount"], net, vat, party=party, due_date=due))
        return found

    def suppliers(self) -> list[str]:
        """e-Boekhouden keeps customers and suppliers alike as relations."""
        return [relation["name"] for relation in self.sandbox.relations(self.api_token)]

    def book_by_hand(self, case: Case) -> None:
        doc = case.document
        relation = self.sandbox.add_relation(self.api_token, doc.party.name, code="HAND1", type="B")
        rows = [
            {
                "ledgerId": self.sandbox.ledger_id(self.api_token, CODE_BY_RATE[rate][0]),
                "vatCode": CODE_BY_RATE[rate][1],
                "amount": amount,
                "description": "Met de hand",
            }
            for rate, amount in case.net.items()
        ]
        body = {
            "type": INVOICE_SENT,
            "date": doc.issue_date.isoformat(),
            "description": "Met de hand geboekt",
            "ledgerId": self.sandbox.ledger_id(self.api_token, "1300"),
            "relationId": relation["id"],
            "invoiceNumber": doc.number,
            "inExVat": "EX",
            "rows": rows,
        }
        headers = {"Authorization": self.sandbox.open_session(self.api_token), "Content-Type": "application/json"}
        url = f"{self.sandbox.base_url}/v1/mutation"
        requests.post(url, data=wire.dumps(body), headers=headers, timeout=TIMEOUT * 10).raise_for_status()

    def break_revenue_ledger(self) -> str:
        self.sandbox.delete_ledger(self.api_token, "8000")
        return r"MUT_104: Ledger \d+ does not exist"

    def revoke_tokens(self) -> None:
        with self.sandbox._lock:
            self.sandbox.sessions.tokens.clear()

    def refuse_every_token(self) -> None:
        self.revoke_tokens()
        self.sandbox.session_ttl = 0


def _per_rate(mutation: dict[str, Any]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    net: dict[Decimal, Decimal] = {}
    vat: dict[Decimal, Decimal] = {}
    for row in mutation["rows"]:
        rate = RATES.get(row["vatCode"], Decimal(0))
        net[rate] = net.get(rate, Decimal(0)) + row["amountExclVat"]
        vat[rate] = vat.get(rate, Decimal(0)) + row["vatAmount"]
    return non_zero(net), non_zero(vat)
