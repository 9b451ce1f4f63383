"""The SnelStart sandbox's purchase side (inkoopboekingen, inkoopfacturen, documenten) over real HTTP on loopback."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from devkit.sandboxes.snelstart.schema import dumps
from tests.devkit.test_snelstart_sandbox import SUBSCRIPTION_KEY, api, decimal_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

D = Decimal


@pytest.fixture(scope="module")
def server() -> Iterator[SnelstartSandbox]:
    sandbox = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(server: SnelstartSandbox) -> SnelstartSandbox:
    server.reset()
    return server


class Account:
    """One administratie with a supplier (krediettermijn 30), driven over HTTP."""

    def __init__(self, sandbox: SnelstartSandbox) -> None:
        self.sandbox = sandbox
        self.key = sandbox.add_administratie("Inkoop BV")
        self.http = api(sandbox, self.key)
        self.supplier = sandbox.add_relatie(self.key, "Van Dijk BV", relatiesoort=("Leverancier",), krediettermijn=30)

    def url(self, path: str) -> str:
        return f"{self.sandbox.base_url}/v2{path}"

    def post(self, path: str, body: Any) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        return self.http.post(self.url(path), data=dumps(body), headers=headers, timeout=5)

    def inkoopboeking(self, number: str = "F-1001", supplier: str | None = None, **changes: Any) -> dict[str, Any]:
        body = {
            "factuurnummer": number,
            "factuurdatum": "2026-11-20T00:00:00",
            "leverancier": {"id": supplier or self.supplier["id"]},
            "omschrijving": "Van Dijk factuur F-1001",
            "factuurbedrag": D("121.00"),
            "boekingsregels": [
                {
                    "omschrijving": "Papier",
                    "grootboek": {"id": self.ledger(7000)},
                    "bedrag": D("100.00"),
                    "btwSoort": "Hoog",
                },
            ],
            "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": D("21.00")}],
        }
        return body | changes

    def ledger(self, number: int) -> str:
        return self.sandbox.grootboek_id(self.key, number)


@pytest.fixture
def account(sandbox: SnelstartSandbox) -> Account:
    return Account(sandbox)


def test_a_purchase_booking_is_kept_with_its_invoice_due_after_the_suppliers_term(account: Account) -> None:
    # Given a supplier with a 30-day krediettermijn
    # When a balanced inkoopboeking is posted
    created = account.post("/inkoopboekingen", account.inkoopboeking())

    # Then it is created and its inkoopfactuur is found by number, due 30 days after the invoice date, all open
    assert created.status_code == 201, created.text
    boeking = decimal_json(created)
    found = account.http.get(account.url("/inkoopfacturen"), params={"$filter": "factuurnummer eq 'F-1001'"}, timeout=5)
    [factuur] = decimal_json(found)
    assert factuur["inkoopBoeking"]["id"] == boeking["id"]
    assert factuur["relatie"]["id"] == account.supplier["id"]
    assert (factuur["vervalDatum"], factuur["factuurBedrag"], factuur["openstaandSaldo"]) == (
        "2026-12-20T00:00:00", D("121.00"), D("121.00"),
    )  # fmt: skip
    # And the supplier lists it, and it reads back by id
    listed = account.http.get(account.url(f"/relaties/{account.supplier['id']}/inkoopboekingen"), timeout=5)
    assert [b["factuurnummer"] for b in decimal_json(listed)] == ["F-1001"]
    assert decimal_json(account.http.get(account.url(f"/inkoopboekingen/{boeking['id']}"), timeout=5)) == boeking


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"factuurbedrag": D("121.01")}, "BOE-9008"),
        ({"btw": [{"btwSoort": "VerkopenHoog", "btwBedrag": D("21.00")}]}, "BOE-9007"),
        ({"leverancier": {"id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}}, "BOE-9002"),
        ({"factuurdatum": None}, "BOE-9000"),
    ],
    ids=["unbalanced", "sales_vat_kind", "unknown_supplier", "no_invoice_date"],
)
def test_a_purchase_snelstart_would_not_take_is_refused_in_its_shape(
    account: Account, change: dict[str, Any], refusal: str
) -> None:
    # Given an inkoopboeking with one thing wrong
    # When it is posted
    answer = account.post("/inkoopboekingen", account.inkoopboeking(**change))

    # Then SnelStart answers 400 with a list of errorCode/message, and books nothing
    assert answer.status_code == 400
    assert refusal in [problem["errorCode"] for problem in answer.json()]
    assert account.sandbox.purchases(account.key) == []


def test_a_cost_ledger_for_every_rate_needs_the_line_to_name_its_btw_soort(account: Account) -> None:
    # Given a line on 4500 Kantoorkosten (InkopenKostenAlleBtwTarieven) without a btwSoort
    regel = {"omschrijving": "Papier", "grootboek": {"id": account.ledger(4500)}, "bedrag": D("100.00")}

    # When it is posted, and again with the btwSoort
    refused = account.post("/inkoopboekingen", account.inkoopboeking(boekingsregels=[regel]))
    taken = account.post("/inkoopboekingen", account.inkoopboeking(boekingsregels=[regel | {"btwSoort": "Hoog"}]))

    # Then only the second is booked
    assert refused.status_code == 400 and "BOE-9009" in refused.text
    assert taken.status_code == 201, taken.text


def test_one_number_from_two_suppliers_is_two_purchases_and_one_suppliers_repeat_can_be_refused(
    account: Account,
) -> None:
    # Given a second supplier
    other = account.sandbox.add_relatie(account.key, "Schmidt GmbH", relatiesoort=("Leverancier",))

    # When both send F-1001, and the first sends it again while duplicates are refused
    first = account.post("/inkoopboekingen", account.inkoopboeking())
    second = account.post("/inkoopboekingen", account.inkoopboeking(supplier=other["id"]))
    account.sandbox.refuse_duplicates = True
    again = account.post("/inkoopboekingen", account.inkoopboeking())

    # Then both suppliers hold one F-1001, and the repeat is refused with BOE-0021
    assert (first.status_code, second.status_code, again.status_code) == (201, 201, 400)
    assert again.json()[0] == {"errorCode": "BOE-0021", "message": "Het factuurnummer bestaat al", "details": None}
    assert len(account.sandbox.purchases(account.key)) == 2


def test_a_document_is_attached_to_a_purchase_and_listed_by_it(account: Account) -> None:
    # Given a booked purchase
    boeking = decimal_json(account.post("/inkoopboekingen", account.inkoopboeking()))
    pdf = b"%PDF-1.4 F-1001\n%%EOF"

    # When the supplier's PDF is uploaded for it
    upload = {"content": base64.b64encode(pdf).decode(), "fileName": "F-1001.pdf", "parentIdentifier": boeking["id"]}
    answer = account.post("/documenten/Inkoopboekingen", upload)

    # Then it is listed for the booking, shown on the booking, and kept byte for byte
    assert answer.status_code == 200, answer.text
    document_id = answer.json()["id"]
    listed = account.http.get(account.url(f"/documenten/Inkoopboekingen/{boeking['id']}"), timeout=5).json()
    assert [(d["fileName"], d["id"]) for d in listed] == [("F-1001.pdf", document_id)]
    [held] = account.sandbox.purchases(account.key)
    assert [d["fileName"] for d in held["documents"]] == ["F-1001.pdf"]
    assert account.sandbox.document_content(account.key, document_id) == pdf


def test_a_document_that_is_not_base64_or_has_no_parent_is_refused(account: Account) -> None:
    # Given a booked purchase
    boeking = decimal_json(account.post("/inkoopboekingen", account.inkoopboeking()))

    # When a file that is not base64 is sent, and one for a booking that does not exist
    garbled = account.post("/documenten/Inkoopboekingen",
                           {"content": "%%%", "fileName": "x.pdf", "parentIdentifier": boeking["id"]})  # fmt: skip
    nowhere = {"content": "JVBERg==", "fileName": "x.pdf", "parentIdentifier": "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}
    orphan = account.post("/documenten/Inkoopboekingen", nowhere)

    # Then the first is a 400 naming the content, the second a 404, and nothing is attached
    assert garbled.status_code == 400 and "content" in garbled.text
    assert orphan.status_code == 404
    assert account.sandbox.purchases(account.key)[0]["documents"] == []
