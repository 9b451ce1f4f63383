"""SnelStart in the conformance suite: its sandbox (auth host and B2B API v2 on one loopback server), one fresh
administratie per test, verkoopboekingen and inkoopboekingen read back by factuurnummer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from koppel import wire
from tests.conformance.harness import TIMEOUT, Booked, TargetHarness, non_zero

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tests.conformance.documents import Case

SUBSCRIPTION_KEY = "conformance-subscription-key"
RATES = {"Hoog": Decimal(21), "Laag": Decimal(9), "Geen": Decimal(0)}
VAT_RATES = {"VerkopenHoog": Decimal(21), "VerkopenLaag": Decimal(9)}
PURCHASE_VAT_RATES = {"InkopenHoog": Decimal(21), "InkopenLaag": Decimal(9), "InkopenVerlegd": Decimal(0)}
LEDGER_BY_RATE = {Decimal(21): (8000, "Hoog"), Decimal(9): (8010, "Laag"), Decimal(0): (8020, "Geen")}


class SnelstartHarness(TargetHarness):
    name = "snelstart"
    refuses: ClassVar[Mapping[str, str]] = {
        # SnelStart's btwSoort has no "verlegd" for sales and no foreign rates: the connector books domestic, ICP and
        # export sales and parks the rest for a person to book by hand.
        "domestic_reverse_charge": r"VAT treatment 'reverse_charge'.*book this document in SnelStart by hand",
        "eu_distance_sale_oss": r"VAT treatment 'oss'.*book this document in SnelStart by hand",
    }
    # A verkoopboeking carries no payment: SnelStart matches the money from the bank feed to the open invoice.
    takes_payments = False
    booking_path = "/v2/verkoopboekingen"
    token_path = "/b2b/token"

    def __init__(self) -> None:
        super().__init__(SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY))
        self.sandbox: SnelstartSandbox
        self.koppelsleutel = ""

    def fresh_account(self) -> None:
        self.koppelsleutel = self.sandbox.add_administratie("Conformance BV")

    def settings(self) -> dict[str, Any]:
        base = self.sandbox.base_url
        return {"api_base": f"{base}/v2", "auth_url": f"{base}/b2b/token"}

    def secrets(self) -> dict[str, str]:
        return {"koppelsleutel": self.koppelsleutel}

    def partner_secret(self) -> Mapping[str, str]:
        return {"subscription_key": SUBSCRIPTION_KEY}

    def booked(self, number: str) -> list[Booked]:
        facturen = {f["verkoopBoeking"]["id"]: f for f in self.sandbox.invoices(self.koppelsleutel)}
        found = []
        for boeking in self.sandbox.bookings(self.koppelsleutel):
            if boeking["factuurnummer"] != number:
                continue
            net: dict[Decimal, Decimal] = {}
            for regel in boeking["boekingsregels"]:
                rate = RATES[regel["btwSoort"]]
                net[rate] = net.get(rate, Decimal(0)) + regel["bedrag"]
            vat: dict[Decimal, Decimal] = {}
            for regel in boeking["btw"]:
                rate = VAT_RATES[regel["btwSoort"]]
                vat[rate] = vat.get(rate, Decimal(0)) + regel["btwBedrag"]
            factuur = facturen[boeking["id"]]
            paid = factuur["factuurBedrag"] - factuur["openstaandSaldo"]
            found.append(Booked(number, boeking["factuurbedrag"], non_zero(net), non_zero(vat), paid))
        return found

    def book_by_hand(self, case: Case) -> None:
        doc = case.document
        klant = self.sandbox.add_relatie(self.koppelsleutel, doc.party.name, email=doc.party.email)
        regels = []
        for rate, amount in case.net.items():
            nummer, soort = LEDGER_BY_RATE[rate]
            grootboek = {"id": self.sandbox.grootboek_id(self.koppelsleutel, nummer)}
            regels.append({"omschrijving": "Met de hand", "grootboek": grootboek, "bedrag": amount, "btwSoort": soort})
        btw = [{"btwSoort": f"Verkopen{LEDGER_BY_RATE[rate][1]}", "btwBedrag": vat} for rate, vat in case.vat.items()]
        body = {
            "factuurnummer": doc.number,
            "factuurdatum": f"{doc.issue_date.isoformat()}T00:00:00",
            "klant": {"id": klant["id"]},
            "factuurbedrag": case.total,
            "boekingsregels": regels,
            "btw": btw,
        }
        self._post("/v2/verkoopboekingen", body)

    def _post(self, path: str, body: dict[str, Any]) -> None:
        headers = {
            "Authorization": f"Bearer {self.sandbox.issue_token(self.koppelsleutel)}",
            "Ocp-Apim-Subscription-Key": SUBSCRIPTION_KEY,
            "Content-Type": "application/json",
        }
        url = self.sandbox.base_url + path
        answer = requests.post(url, data=wire.dumps(body), headers=headers, timeout=TIMEOUT * 10)
        answer.raise_for_status()

    def break_revenue_ledger(self) -> str:
        with self.sandbox._lock:
            self.sandbox.administratie(self.koppelsleutel).grootboek_by_number(8000)["nonactief"] = True
        return "grootboek 8000 is non-actief"

    def revoke_tokens(self) -> None:
        with self.sandbox._lock:
            self.sandbox.gate.tokens.clear()

    def refuse_every_token(self) -> None:
        self.revoke_tokens()
        self.sandbox.token_ttl = 0

    # -- purchases ------------------------------------------------------------------------------------------------
    def purchased(self, number: str) -> list[Booked]:
        relaties = {r["id"]: r["naam"] for r in self.sandbox.relations(self.koppelsleutel)}
        facturen = {f["inkoopBoeking"]["id"]: f for f in self.sandbox.purchase_invoices(self.koppelsleutel)}
        found = []
        for boeking in self.sandbox.purchases(self.koppelsleutel):
            if boeking["factuurnummer"] != number:
                continue
            net: dict[Decimal, Decimal] = {}
            for regel in boeking["boekingsregels"]:
                # a line left without btwSoort (an intra-EU acquisition, an import) charged no VAT on the invoice
                rate = RATES[regel["btwSoort"] or "Geen"]
                net[rate] = net.get(rate, Decimal(0)) + regel["bedrag"]
            vat: dict[Decimal, Decimal] = {}
            for regel in boeking["btw"]:
                rate = PURCHASE_VAT_RATES[regel["btwSoort"]]
                vat[rate] = vat.get(rate, Decimal(0)) + regel["btwBedrag"]
            factuur = facturen[boeking["id"]]
            paid = factuur["factuurBedrag"] - factuur["openstaandSaldo"]
            due = date.fromisoformat(factuur["vervalDatum"][:10])
            party = relaties[boeking["leverancier"]["id"]]
            found.append(Booked(number, boeking["factuurbedrag"], non_zero(net), non_zero(vat), paid, party, due))
        return found

    def suppliers(self) -> list[str]:
        return [r["naam"] for r in self.sandbox.relations(self.koppelsleutel) if "Leverancier" in r["relatiesoort"]]

    def attachments(self, number: str) -> list[str]:
        return [
            document["fileName"]
            for boeking in self.sandbox.purchases(self.koppelsleutel)
            if boeking["factuurnummer"] == number
            for document in boeking["documents"]
        ]
