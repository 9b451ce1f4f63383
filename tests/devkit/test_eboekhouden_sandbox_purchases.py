"""The e-Boekhouden sandbox's purchase side over real HTTP on 127.0.0.1: "invoice received" mutations (type 1)
against the creditors ledger, purchase VAT codes, a supplier's invoice number refused when it is taken, and what
is still to be paid to suppliers (outstanding, credDeb=C)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
from devkit.sandboxes.eboekhouden.wire import dumps

if TYPE_CHECKING:
    from collections.abc import Iterator

D = Decimal


@pytest.fixture(scope="module")
def server() -> Iterator[EboekhoudenSandbox]:
    sandbox = EboekhoudenSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(server: EboekhoudenSandbox) -> EboekhoudenSandbox:
    server.reset()
    return server


@pytest.fixture
def api_token(sandbox: EboekhoudenSandbox) -> str:
    return sandbox.add_administration("Administratiekantoor Klant BV")


@pytest.fixture
def http(sandbox: EboekhoudenSandbox, api_token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = sandbox.open_session(api_token)
    session.headers["Content-Type"] = "application/json"
    return session


def _supplier(sandbox: EboekhoudenSandbox, api_token: str, name: str) -> int:
    return int(sandbox.add_relation(api_token, name, type="B", vatNumber="NL001234567B01")["id"])


def _received(sandbox: EboekhoudenSandbox, api_token: str, relation_id: int, number: str, **changes: Any) -> Any:
    ledger = sandbox.ledger_id(api_token, "4000")
    body = {
        "type": 1,
        "date": "2026-11-20",
        "ledgerId": sandbox.ledger_id(api_token, "1600"),
        "relationId": relation_id,
        "invoiceNumber": number,
        "termOfPayment": 30,
        "inExVat": "EX",
        "description": f"Inkoopfactuur {number}",
        "rows": [
            {"ledgerId": ledger, "vatCode": "HOOG_INK_21", "amount": D("100.00"), "description": "Papier"},
            {"ledgerId": ledger, "vatCode": "LAAG_INK_9", "amount": D("50.00"), "description": "Koffie"},
        ],
    }
    return {**body, **changes}


def _post(sandbox: EboekhoudenSandbox, http: requests.Session, body: Any) -> requests.Response:
    return http.post(f"{sandbox.base_url}/v1/mutation", data=dumps(body), timeout=5)


def _json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def test_an_invoice_received_computes_purchase_vat_per_row_and_is_owed_to_the_supplier(
    sandbox: EboekhoudenSandbox, api_token: str, http: requests.Session
) -> None:
    # Given a supplier
    supplier = _supplier(sandbox, api_token, "Groothandel Van Dijk BV")

    # When its invoice is booked at 21 % and 9 % on the costs ledger against the creditors
    created = _post(sandbox, http, _received(sandbox, api_token, supplier, "F-1001"))

    # Then the VAT is computed per row from the purchase codes, and the mutation reads back under its supplier
    assert created.status_code == 201, created.text
    held = _json(http.get(f"{sandbox.base_url}/v1/mutation/{created.json()['id']}", timeout=5))
    assert (held["type"], held["relationId"], held["invoiceNumber"]) == (1, supplier, "F-1001")
    assert [(r["vatCode"], r["vatAmount"]) for r in held["rows"]] == [
        ("HOOG_INK_21", D("21.00")),
        ("LAAG_INK_9", D("4.50")),
    ]

    # And it is what the administration owes (credDeb=C), not what it is owed (credDeb=D)
    owed = _json(http.get(f"{sandbox.base_url}/v1/mutation/invoice/outstanding", params={"credDeb": "C"}, timeout=5))
    assert [(i["invoiceNumber"], i["outstandingAmount"]) for i in owed["items"]] == [("F-1001", D("175.50"))]
    owed_to_us = http.get(f"{sandbox.base_url}/v1/mutation/invoice/outstanding", params={"credDeb": "D"}, timeout=5)
    assert owed_to_us.json()["items"] == []


def test_a_credit_note_received_books_negative_amounts(
    sandbox: EboekhoudenSandbox, api_token: str, http: requests.Session
) -> None:
    # Given a supplier that credits 40.00 at 21 %
    supplier = _supplier(sandbox, api_token, "Groothandel Van Dijk BV")
    ledger = sandbox.ledger_id(api_token, "4000")
    rows = [{"ledgerId": ledger, "vatCode": "HOOG_INK_21", "amount": D("-40.00")}]

    # When it is booked as an invoice received with a negative row
    assert _post(sandbox, http, _received(sandbox, api_token, supplier, "C-0042", rows=rows)).status_code == 201

    # Then the administration holds -48.40, of which -8.40 purchase VAT
    [held] = sandbox.mutations(api_token)
    assert (held["totalAmount"], held["totalVat"]) == (D("-48.40"), D("-8.40"))


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        ([{"ledger": "4000", "vatCode": "HOOG_VERK_21"}], "MUTA_915"),  # a sales code on a purchase
        ([{"ledger": "1600", "vatCode": "HOOG_INK_21"}], "MUT_106"),  # the creditors ledger as a cost row
        ([{"ledger": "4000", "vatCode": "BTW_21"}], "MUTA_912"),  # no such code
    ],
)
def test_an_invoice_received_with_a_wrong_row_is_refused_with_the_code_of_that_field(
    sandbox: EboekhoudenSandbox, api_token: str, http: requests.Session, rows: list[dict[str, str]], code: str
) -> None:
    # Given a supplier's invoice whose row has a sales VAT code, a settlement ledger or an unknown code
    supplier = _supplier(sandbox, api_token, "Groothandel Van Dijk BV")
    wired = [
        {"ledgerId": sandbox.ledger_id(api_token, r["ledger"]), "vatCode": r["vatCode"], "amount": D(10)} for r in rows
    ]

    # When it is posted
    refused = _post(sandbox, http, _received(sandbox, api_token, supplier, "F-1001", rows=wired))

    # Then it is refused in e-Boekhouden's error shape with that field's code, and nothing is booked
    assert (refused.status_code, refused.json()["code"]) == (400, code)
    assert sandbox.mutations(api_token) == []


def test_a_sales_invoice_takes_no_purchase_vat_code(
    sandbox: EboekhoudenSandbox, api_token: str, http: requests.Session
) -> None:
    # Given a customer's invoice written with a purchase VAT code
    customer = _supplier(sandbox, api_token, "Klant BV")
    body = _received(sandbox, api_token, customer, "2026001", type=2, ledgerId=sandbox.ledger_id(api_token, "1300"))

    # When it is posted  Then the purchase code is refused
    assert _post(sandbox, http, body).json()["code"] == "MUTA_915"


def test_a_supplier_invoice_number_another_supplier_used_is_refused_unless_numbers_are_per_supplier(
    sandbox: EboekhoudenSandbox, api_token: str, http: requests.Session
) -> None:
    # Given Van Dijk's F-1001 in the books, and Schmidt, who numbers its invoices the same way
    van_dijk = _supplier(sandbox, api_token, "Groothandel Van Dijk BV")
    schmidt = _supplier(sandbox, api_token, "Bürobedarf Schmidt GmbH")
    assert _post(sandbox, http, _received(sandbox, api_token, van_dijk, "F-1001")).status_code == 201

    # When Schmidt's F-1001 is posted under the stricter reading (numbers unique in the administration)
    strict = _post(sandbox, http, _received(sandbox, api_token, schmidt, "F-1001"))

    # Then it is refused MUT_019
    assert (strict.status_code, strict.json()["code"]) == (400, "MUT_019")

    # And with numbers unique per supplier it is booked, while Van Dijk's own number stays refused
    sandbox.purchase_numbers_unique_per_relation = True
    assert _post(sandbox, http, _received(sandbox, api_token, schmidt, "F-1001")).status_code == 201
    again = _post(sandbox, http, _received(sandbox, api_token, van_dijk, "F-1001"))
    assert again.json()["code"] == "MUT_019"
    listed = _json(
        http.get(f"{sandbox.base_url}/v1/mutation", params={"invoiceNumber": "F-1001", "type": "1"}, timeout=5)
    )
    assert listed["count"] == 2


def test_the_per_supplier_switch_is_a_sandbox_setting_that_a_reset_restores(sandbox: EboekhoudenSandbox) -> None:
    # When the switch is turned on through the control route
    answered = requests.post(
        f"{sandbox.base_url}/_sandbox/settings", json={"purchase_numbers_unique_per_relation": True}, timeout=5
    )

    # Then it is on until the sandbox is reset
    assert answered.json()["purchase_numbers_unique_per_relation"] is True
    sandbox.reset()
    assert sandbox.purchase_numbers_unique_per_relation is False


def test_paying_a_supplier_lowers_what_is_owed_and_a_deleted_invoice_leaves_the_list(
    sandbox: EboekhoudenSandbox, api_token: str, http: requests.Session
) -> None:
    # Given Van Dijk's F-1001 of 175.50 in the books
    supplier = _supplier(sandbox, api_token, "Groothandel Van Dijk BV")
    created = _post(sandbox, http, _received(sandbox, api_token, supplier, "F-1001")).json()["id"]

    def owed() -> list[tuple[int, Decimal, Decimal]]:
        listed = _json(
            http.get(f"{sandbox.base_url}/v1/mutation/invoice/outstanding", params={"credDeb": "C"}, timeout=5)
        )
        return [(i["mutationId"], i["paidAmount"], i["outstandingAmount"]) for i in listed["items"]]

    # When 100.00 of it is paid from the bank (invoice payment sent)
    sandbox.pay_supplier(api_token, "F-1001", "100.00", "2026-11-25")

    # Then 75.50 is still owed on that mutation
    assert owed() == [(created, D("100.00"), D("75.50"))]

    # And once a person deletes the invoice it is no longer listed, nor readable
    sandbox.delete_mutation(api_token, created)
    assert owed() == []
    assert http.get(f"{sandbox.base_url}/v1/mutation/{created}", timeout=5).status_code == 404
