"""The Bizzcloud (Odoo 17) sandbox, driven over real HTTP the way Koppel's connector drives Odoo's external API."""

from __future__ import annotations

import json
import xmlrpc.client
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.bizzcloud.rpc import json_text  # Decimal amounts as JSON numbers, as the connector sends them
from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

DB = "bizzcloud"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def server() -> Iterator[BizzcloudSandbox]:
    """One server for the module; every test gets it reset."""
    sandbox = BizzcloudSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(server: BizzcloudSandbox, clock: Clock) -> BizzcloudSandbox:
    server.reset()
    server.set_clock(clock)
    return server


class JsonRpc:
    """A connector's JSON-RPC client: amounts parsed as Decimal, errors returned as Odoo's error object."""

    def __init__(self, base_url: str, uid: int = 2, secret: str = "admin") -> None:
        self.url, self.uid, self.secret = f"{base_url}/jsonrpc", uid, secret

    def raw(self, service: str, method: str, *args: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args}}
        headers = {"Content-Type": "application/json"}
        response = requests.post(self.url, data=json_text(body | {"id": 7}), headers=headers, timeout=5)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
        assert answer["jsonrpc"] == "2.0" and answer["id"] == 7
        return answer

    def call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        answer = self.raw("object", "execute_kw", DB, self.uid, self.secret, model, method, args, kwargs or {})
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.raw("object", "execute_kw", DB, self.uid, self.secret, model, method, args, kwargs or {})
        assert answer["error"]["code"] == 200 and answer["error"]["message"] == "Odoo Server Error"
        data: dict[str, Any] = answer["error"]["data"]
        return data


def xml_object(sandbox: BizzcloudSandbox) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(f"{sandbox.base_url}/xmlrpc/2/object", allow_none=True)


def rpc(sandbox: BizzcloudSandbox) -> JsonRpc:
    return JsonRpc(sandbox.base_url)


# -- common service -----------------------------------------------------------------------------------------------
def test_version_and_authenticate_with_password_api_key_and_after_rotation(sandbox: BizzcloudSandbox) -> None:
    # Given an integration user with an API key
    uid = sandbox.add_user("koppel@example.nl", "key-1")
    common = xmlrpc.client.ServerProxy(f"{sandbox.base_url}/xmlrpc/2/common")

    # When the connector checks the version and logs in over both transports
    client = JsonRpc(sandbox.base_url, uid, "key-1")
    version = client.raw("common", "version")["result"]
    by_json = client.raw("common", "authenticate", DB, "koppel@example.nl", "key-1", {})["result"]
    by_xml = common.authenticate(DB, "koppel@example.nl", "key-1", {})
    wrong = common.authenticate(DB, "koppel@example.nl", "nope", {})

    # Then the key opens the tenant, a wrong one gives False (no error), as Odoo's authenticate does
    assert version == {
        "server_version": "17.0",
        "server_version_info": [17, 0, 0, "final", 0, ""],
        "server_serie": "17.0",
        "protocol_version": 1,
    }
    assert by_json == by_xml == uid and wrong is False
    assert common.login(DB, "admin", "admin") == 2
    assert client.call("res.partner", "search_count", [[]]) == 0

    # When the key is revoked (rotation)
    sandbox.revoke_api_key("key-1")

    # Then authenticate answers False and execute_kw raises AccessDenied in both transports
    assert common.authenticate(DB, "koppel@example.nl", "key-1", {}) is False
    data = client.error("res.partner", "search", [[]])
    assert data["name"] == "odoo.exceptions.AccessDenied" and data["message"] == "Access Denied"
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xml_object(sandbox).execute_kw(DB, uid, "key-1", "res.partner", "search", [[]])
    assert fault.value.faultCode == 3 and fault.value.faultString == "Access Denied"


def test_unknown_database_is_an_error_not_false(sandbox: BizzcloudSandbox) -> None:
    # When the connector is configured with a wrong database name
    answer = rpc(sandbox).raw("common", "authenticate", "wrongdb", "admin", "admin", {})

    # Then the server reports psycopg2's error
    assert answer["error"]["data"]["name"] == "psycopg2.OperationalError"
    assert 'database "wrongdb" does not exist' in answer["error"]["data"]["message"]


# -- reading: shapes, polling, paging ------------------------------------------------------------------------------
def test_field_shapes_many2one_dates_unset_values_and_amounts(sandbox: BizzcloudSandbox) -> None:
    # Given a Dutch customer and a posted invoice
    partner = sandbox.add_partner(name="Bakkerij De Korst", email="info@korst.nl", country_id=1, vat="NL001234567B01")
    move = sandbox.create_invoice(partner, [{"product_id": 1, "quantity": 2}], "2026-03-01")

    # When the connector reads them
    client = rpc(sandbox)
    [invoice] = client.call(
        "account.move",
        "read",
        [[move]],
        {"fields": ["name", "partner_id", "invoice_date", "invoice_date_due", "ref", "write_date", "amount_total"]},
    )
    [customer] = client.call("res.partner", "read", [[partner]], {"fields": ["country_id", "country_code", "street"]})

    # Then many2one is [id, display_name], dates are strings, unset char is false, amounts are numbers
    assert invoice["partner_id"] == [partner, "Bakkerij De Korst"]
    assert invoice["name"] == "INV/2026/00001"
    assert invoice["invoice_date"] == "2026-03-01" and invoice["invoice_date_due"] == "2026-03-01"
    assert invoice["ref"] is False
    assert invoice["write_date"] == "2026-03-02 09:00:00"
    assert invoice["amount_total"] == Decimal("48.38")  # 2 x 19.99 = 39.98 + 21 % (8.3958 -> 8.40)
    assert customer == {"id": partner, "country_id": [1, "Netherlands"], "country_code": "NL", "street": False}


def test_polling_by_write_date_with_order_limit_and_offset(sandbox: BizzcloudSandbox, clock: Clock) -> None:
    # Given five partners written a minute apart
    ids = []
    for number in range(5):
        ids.append(sandbox.add_partner(name=f"Klant {number}"))
        clock.advance(60)
    client = rpc(sandbox)
    domain = [["write_date", ">", "2026-03-02 09:01:00"]]

    # When the connector pages through what changed since 09:01, oldest first, two at a time
    pages = [
        client.call(
            "res.partner",
            "search_read",
            [domain],
            {"fields": ["name"], "order": "write_date asc, id asc"} | {"limit": 2, "offset": offset},
        )
        for offset in (0, 2, 4)
    ]

    # Then it sees the three later partners in order and an empty last page
    assert [[row["name"] for row in page] for page in pages] == [["Klant 2", "Klant 3"], ["Klant 4"], []]
    assert client.call("res.partner", "search", [domain], {"order": "id desc"}) == [ids[4], ids[3], ids[2]]

    # When one old partner is touched (a write that only bumps write_date)
    sandbox.touch("res.partner", ids[0])

    # Then the next poll picks it up
    rows = client.call(
        "res.partner", "search_read", [[["write_date", ">=", "2026-03-02 09:05:00"]]], {"fields": ["id"]}
    )
    assert [row["id"] for row in rows] == [ids[0]]


def test_every_domain_operator(sandbox: BizzcloudSandbox) -> None:
    # Given three partners, one without email and one archived
    acme = sandbox.add_partner(name="Acme BV", email="Sales@acme.nl", country_id=1, customer_rank=3)
    sandbox.add_partner(name="Bolt GmbH", country_id=3, customer_rank=1)
    sandbox.add_partner(name="Oud BV", email="oud@old.nl", active=False)
    client = rpc(sandbox)

    def names(domain: list[Any]) -> list[str]:
        return [row["name"] for row in client.call("res.partner", "search_read", [domain], {"fields": ["name"]})]

    # Then each operator behaves as Odoo's SQL would (archived records only when the domain asks for active)
    assert names([["name", "=", "Acme BV"]]) == ["Acme BV"]
    assert names([["email", "!=", "sales@acme.nl"]]) == ["Acme BV", "Bolt GmbH"]  # != is case-sensitive, NULL too
    assert names([["customer_rank", ">", 1]]) == ["Acme BV"]
    assert names([["customer_rank", ">=", 1]]) == ["Acme BV", "Bolt GmbH"]
    assert names([["customer_rank", "<", 3]]) == ["Bolt GmbH"]
    assert names([["customer_rank", "<=", 3]]) == ["Acme BV", "Bolt GmbH"]
    assert names([["id", "in", [acme]]]) == ["Acme BV"]
    assert names([["id", "not in", [acme]]]) == ["Bolt GmbH"]
    assert names([["email", "like", "acme"]]) == ["Acme BV"]
    assert names([["email", "like", "ACME"]]) == []
    assert names([["email", "ilike", "ACME"]]) == ["Acme BV"]
    assert names([["email", "=like", "Sales@%"]]) == ["Acme BV"]
    assert names([["email", "=ilike", "sales@%.nl"]]) == ["Acme BV"]
    assert names([["email", "not ilike", "acme"]]) == ["Bolt GmbH"]
    assert names([["email", "=", False]]) == ["Bolt GmbH"]
    assert names([["email", "!=", False]]) == ["Acme BV"]
    assert names([["country_id", "in", [3, False]]]) == ["Bolt GmbH"]
    assert names(["|", ["name", "=", "Acme BV"], ["customer_rank", "=", 1]]) == ["Acme BV", "Bolt GmbH"]
    assert names(["!", ["name", "=", "Acme BV"]]) == ["Bolt GmbH"]
    assert names(["&", ["name", "ilike", "b"], ["country_id.code", "=", "DE"]]) == ["Bolt GmbH"]
    assert names([["country_id", "ilike", "nether"]]) == ["Acme BV"]
    assert names([["active", "=", False]]) == ["Oud BV"]


def test_dotted_path_through_many2one_on_invoices(sandbox: BizzcloudSandbox) -> None:
    # Given invoices for two customers
    acme = sandbox.add_partner(name="Acme BV", email="sales@acme.nl")
    other = sandbox.add_partner(name="Other BV", email="x@other.nl")
    mine = sandbox.create_invoice(acme, [{"product_id": 2, "quantity": 1}], "2026-03-01")
    sandbox.create_invoice(other, [{"product_id": 2, "quantity": 1}], "2026-03-01")

    # When the connector searches by the customer's email and by a line's product
    client = rpc(sandbox)
    by_email = client.call("account.move", "search", [[["partner_id.email", "=", "sales@acme.nl"]]])
    with_book = client.call(
        "account.move", "search_count", [[["invoice_line_ids.product_id.default_code", "=", "BK-001"]]]
    )

    # Then the path is followed through many2one and one2many fields
    assert by_email == [mine] and with_book == 2


def test_unknown_field_model_order_and_method_errors_in_both_transports(sandbox: BizzcloudSandbox) -> None:
    client, proxy = rpc(sandbox), xml_object(sandbox)

    # Unknown field in a domain: ValueError with Odoo's text
    data = client.error("account.move", "search", [[["colour", "=", "red"]]])
    assert data["name"] == "builtins.ValueError"
    assert data["message"] == "Invalid field account.move.colour in leaf ('colour', '=', 'red')"
    assert data["debug"].startswith("Traceback (most recent call last):")

    # Unknown field in fields: ValueError; XML-RPC gives fault 1 with the traceback text
    data = client.error("account.move", "search_read", [[]], {"fields": ["colour"]})
    assert data["message"] == "Invalid field 'colour' on model 'account.move'"
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.execute_kw(DB, 2, "admin", "account.move", "search_read", [[]], {"fields": ["colour"]})
    assert fault.value.faultCode == 1
    assert fault.value.faultString.rstrip().endswith("ValueError: Invalid field 'colour' on model 'account.move'")

    # Unknown model: UserError, fault 2
    data = client.error("account.invoice", "search", [[]])
    assert (data["name"], data["message"]) == ("odoo.exceptions.UserError", "Object account.invoice doesn't exist")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.execute_kw(DB, 2, "admin", "account.invoice", "search", [[]])
    assert (fault.value.faultCode, fault.value.faultString) == (2, "Object account.invoice doesn't exist")

    # Bad operator, bad order, unknown and private methods
    assert client.error("res.partner", "search", [[["name", "~", "x"]]])["message"] == "Invalid leaf ('name', '~', 'x')"
    assert client.error("res.partner", "search", [[]], {"order": "name; drop"})["name"] == "odoo.exceptions.UserError"
    assert client.error("res.partner", "search", [[]], {"order": "colour"})["message"] == (
        "Invalid field 'colour' on model 'res.partner'"
    )
    data = client.error("res.partner", "frobnicate", [[]])
    assert data["name"] == "builtins.AttributeError"
    assert data["message"] == "The method 'frobnicate' does not exist on the model 'res.partner'"
    data = client.error("res.partner", "_compute_display_name", [[]])
    assert data["name"] == "odoo.exceptions.AccessError"
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.execute_kw(DB, 2, "admin", "res.partner", "_compute_display_name", [[]])
    assert fault.value.faultCode == 4


def test_fields_get_and_name_search(sandbox: BizzcloudSandbox) -> None:
    client = rpc(sandbox)

    # When the connector introspects account.move and looks a product up by name
    fields = client.call("account.move", "fields_get", [], {"attributes": ["string", "type", "relation", "readonly"]})
    found = client.call("product.product", "name_search", [], {"name": "shirt"})

    # Then it gets Odoo's attribute names and [id, display_name] pairs
    assert fields["partner_id"] == {
        "string": "Partner",
        "type": "many2one",
        "relation": "res.partner",
        "readonly": False,
    }
    assert fields["payment_state"]["type"] == "selection" and fields["payment_state"]["readonly"] is True
    assert fields["invoice_line_ids"]["relation"] == "account.move.line"
    assert found == [[1, "[TS-001] T-shirt"]]


# -- invoices -----------------------------------------------------------------------------------------------------
def test_invoice_totals_to_the_cent_with_per_line_tax_rounding(sandbox: BizzcloudSandbox) -> None:
    # Given an invoice with a line for every tax case (worked by hand with Odoo's round_per_line):
    #  21 %: 3 x 19.99 -15 % = 50.9745 -> 50.97; tax 10.7037 -> 10.70; total 61.67
    #   9 %: 1 x 24.95 = 24.95; tax 2.2455 -> 2.25; total 27.20
    #   0 %: 2 x 25.00 = 50.00; tax 0; total 50.00
    #  21 % included: 1 x 12.10 -> excluded 12.10 / 1.21 = 10.00; tax 2.10; total 12.10
    #  21 % included, discounted 10 %: 1 x 9.99 -> 8.991 -> 8.99; excluded 7.429752 -> 7.43; tax 1.56; total 8.99
    partner = sandbox.add_partner(name="Acme BV")
    lines = [
        {"product_id": 1, "quantity": 3, "price_unit": "19.99", "discount": 15, "tax_names": ["21% BTW"]},
        {"product_id": 2, "quantity": 1, "price_unit": "24.95", "tax_names": ["9% BTW"]},
        {"product_id": 4, "quantity": 2, "price_unit": "25.00", "tax_names": ["Sales/turnover untaxed (zero rate)"]},
        {"name": "Koffie", "quantity": 1, "price_unit": "12.10", "tax_names": ["21% BTW Incl."]},
        {"name": "Thee", "quantity": 1, "price_unit": "9.99", "discount": 10, "tax_names": ["21% BTW Incl."]},
    ]
    move = sandbox.create_invoice(partner, lines, "2026-03-01")

    # When the connector reads the lines and the totals
    client = rpc(sandbox)
    rows = client.call(
        "account.move.line", "search_read", [[["move_id", "=", move]]], {"fields": ["price_subtotal", "price_total"]}
    )
    [totals] = client.call(
        "account.move",
        "read",
        [[move]],
        {"fields": ["amount_untaxed", "amount_tax", "amount_total", "amount_residual"]},
    )

    # Then every figure is Odoo's, to the cent
    assert [(row["price_subtotal"], row["price_total"]) for row in rows] == [
        (Decimal("50.97"), Decimal("61.67")),
        (Decimal("24.95"), Decimal("27.2")),
        (Decimal("50.0"), Decimal("50.0")),
        (Decimal("10.0"), Decimal("12.1")),
        (Decimal("7.43"), Decimal("8.99")),
    ]
    assert totals["amount_untaxed"] == Decimal("143.35")
    assert totals["amount_tax"] == Decimal("16.61")  # 10.70 + 2.25 + 0 + 2.10 + 1.56
    assert totals["amount_total"] == totals["amount_residual"] == Decimal("159.96")


def test_invoice_created_over_rpc_is_draft_until_posted_then_numbered(sandbox: BizzcloudSandbox) -> None:
    partner = sandbox.add_partner(name="Acme BV")
    client = rpc(sandbox)

    # When the connector creates a draft invoice with line commands and posts it
    move = client.call(
        "account.move",
        "create",
        [
            {
                "move_type": "out_invoice",
                "partner_id": partner,
                "invoice_date": "2026-03-01",
                "invoice_line_ids": [
                    [0, 0, {"product_id": 3, "quantity": 2, "tax_ids": [[6, 0, [sandbox.tax_id("21% BTW")]]]}]
                ],
            }
        ],
    )
    [draft] = client.call(
        "account.move", "read", [[move]], {"fields": ["name", "state", "display_name", "amount_total"]}
    )
    assert client.call("account.move", "action_post", [[move]]) is True
    [posted] = client.call("account.move", "read", [[move]], {"fields": ["name", "state", "payment_state"]})

    # Then Odoo's draft naming, totals from the product price, and the number on posting
    assert draft == {
        "id": move,
        "name": "/",
        "state": "draft",
        "display_name": f"Draft Invoice (* {move})",
        "amount_total": Decimal("229.9"),
    }
    assert posted == {"id": move, "name": "INV/2026/00001", "state": "posted", "payment_state": "not_paid"}
    assert (
        client.error("account.move", "unlink", [[move]])["message"]
        == "You cannot delete an item linked to a posted entry."
    )


def test_credit_invoice_and_full_reversal(sandbox: BizzcloudSandbox) -> None:
    # Given an invoice
    partner = sandbox.add_partner(name="Acme BV")
    invoice = sandbox.create_invoice(partner, [{"product_id": 2, "quantity": 2}], "2026-03-01")

    # When it is reversed by a credit note
    credit = sandbox.reverse(invoice)

    # Then the credit note is numbered RINV, points at the invoice, and both are settled
    client = rpc(sandbox)
    fields = [
        "name",
        "move_type",
        "reversed_entry_id",
        "amount_total",
        "amount_total_signed",
        "payment_state",
        "amount_residual",
    ]
    rows = {row["id"]: row for row in client.call("account.move", "read", [[invoice, credit]], {"fields": fields})}
    assert rows[credit]["name"] == "RINV/2026/00001" and rows[credit]["move_type"] == "out_refund"
    assert rows[credit]["reversed_entry_id"] == [invoice, "INV/2026/00001"]
    assert rows[credit]["amount_total"] == Decimal("54.39") and rows[credit]["amount_total_signed"] == Decimal("-54.39")
    assert rows[invoice]["payment_state"] == "reversed" and rows[invoice]["amount_residual"] == 0


# -- payments -----------------------------------------------------------------------------------------------------
def register(client: JsonRpc, move: int, amount: str, when: str) -> Any:
    vals = {"amount": Decimal(amount), "payment_date": when, "journal_id": 2, "communication": "Koppel"}
    context = {"active_model": "account.move", "active_ids": [move]}
    return client.raw(
        "object", "execute_kw", DB, 2, "admin", "account.payment.register", "create", [vals], {"context": context}
    )


def test_register_payment_wizard_partial_then_full_moves_write_date(sandbox: BizzcloudSandbox, clock: Clock) -> None:
    # Given a posted invoice of 121.00
    partner = sandbox.add_partner(name="Acme BV")
    move = sandbox.create_invoice(
        partner, [{"name": "Werk", "quantity": 1, "price_unit": "100", "tax_names": ["21% BTW"]}], "2026-03-01"
    )
    client = rpc(sandbox)

    # When Koppel registers 21.00 through the wizard a minute later
    clock.advance(60)
    wizard = register(client, move, "21.00", "2026-03-02")["result"]
    action = client.call("account.payment.register", "action_create_payments", [[wizard]])
    [after_partial] = client.call(
        "account.move", "read", [[move]], {"fields": ["amount_residual", "payment_state", "write_date"]}
    )

    # Then the invoice is partial, its write_date moved, and the payment is readable
    assert action["res_model"] == "account.payment"
    assert after_partial == {
        "id": move,
        "amount_residual": Decimal("100.0"),
        "payment_state": "partial",
        "write_date": "2026-03-02 09:01:00",
    }
    [payment] = client.call(
        "account.payment",
        "read",
        [[action["res_id"]]],
        {"fields": ["amount", "ref", "partner_id", "reconciled_invoice_ids", "payment_type", "state"]},
    )
    assert payment == {
        "id": action["res_id"],
        "amount": Decimal("21.0"),
        "ref": "Koppel",
        "partner_id": [partner, "Acme BV"],
        "reconciled_invoice_ids": [move],
        "payment_type": "inbound",
        "state": "posted",
    }

    # When the rest is paid later
    clock.advance(60)
    wizard = register(client, move, "100.00", "2026-03-03")["result"]
    client.call("account.payment.register", "action_create_payments", [[wizard]])
    polled = client.call(
        "account.move",
        "search_read",
        [[["write_date", ">", "2026-03-02 09:01:00"]]],
        {"fields": ["payment_state", "amount_residual"]},
    )

    # Then the poll by write_date sees it paid, and a third payment is refused with Odoo's text
    assert polled == [{"id": move, "payment_state": "paid", "amount_residual": Decimal("0.0")}]
    error = register(client, move, "1.00", "2026-03-04")["error"]["data"]
    assert error["name"] == "odoo.exceptions.UserError"
    assert (
        error["message"]
        == "You can't register a payment because there is nothing left to pay on the selected journal items."
    )


def test_paying_a_draft_invoice_is_refused(sandbox: BizzcloudSandbox) -> None:
    partner = sandbox.add_partner(name="Acme BV")
    move = sandbox.create_invoice(partner, [{"product_id": 1, "quantity": 1}], "2026-03-01", post=False)

    error = register(rpc(sandbox), move, "1.00", "2026-03-02")["error"]["data"]

    assert error["message"] == "You can only register payment for posted journal entries."


def test_in_payment_only_with_accountant_switch(clock: Clock) -> None:
    # Given a tenant with account_accountant (enterprise)
    sandbox = BizzcloudSandbox(clock=clock, accountant_installed=True)
    partner = sandbox.add_partner(name="Acme BV")
    move = sandbox.create_invoice(partner, [{"product_id": 2, "quantity": 1}], "2026-03-01")

    # When it is paid in full, then matched with the bank statement
    sandbox.register_payment(move, "27.20", "2026-03-02")
    before = sandbox.records("account.move", ["payment_state"])[0]["payment_state"]
    sandbox.reconcile_bank(move)

    # Then it reads in_payment first and paid after matching
    assert (before, sandbox.records("account.move", ["payment_state"])[0]["payment_state"]) == ("in_payment", "paid")


def test_custom_studio_field_write_and_unknown_field_refusal(sandbox: BizzcloudSandbox, clock: Clock) -> None:
    # Given a Studio field on invoices
    sandbox.add_custom_field("account.move", "x_koppel_status", "char")
    partner = sandbox.add_partner(name="Acme BV")
    move = sandbox.create_invoice(partner, [{"product_id": 1, "quantity": 1}], "2026-03-01")
    client, proxy = rpc(sandbox), xml_object(sandbox)
    clock.advance(30)

    # When Koppel writes its status over XML-RPC, and tries a field that does not exist
    assert proxy.execute_kw(DB, 2, "admin", "account.move", "write", [[move], {"x_koppel_status": "booked"}]) is True
    error = client.error("account.move", "write", [[move], {"x_koppel_state": "booked"}])

    # Then the value is stored, write_date moves, and the unknown field is Odoo's ValueError
    [row] = client.call("account.move", "read", [[move]], {"fields": ["x_koppel_status", "write_date"]})
    assert row == {"id": move, "x_koppel_status": "booked", "write_date": "2026-03-02 09:00:30"}
    assert (error["name"], error["message"]) == (
        "builtins.ValueError",
        "Invalid field 'x_koppel_state' on model 'account.move'",
    )


def test_writes_to_computed_and_log_fields_are_dropped(sandbox: BizzcloudSandbox) -> None:
    partner = sandbox.add_partner(name="Acme BV", country_id=1)
    client = rpc(sandbox)

    # When the connector writes a related field, display_name and write_date along with a real field
    client.call(
        "res.partner",
        "write",
        [
            [partner],
            {"country_code": "BE", "display_name": "X", "write_date": "2020-01-01 00:00:00", "city": "Utrecht"},
        ],
    )

    # Then only the real field changed
    [row] = client.call(
        "res.partner", "read", [[partner]], {"fields": ["country_code", "display_name", "write_date", "city"]}
    )
    assert row == {
        "id": partner,
        "country_code": "NL",
        "display_name": "Acme BV",
        "write_date": "2026-03-02 09:00:00",
        "city": "Utrecht",
    }


# -- till orders --------------------------------------------------------------------------------------------------
def test_pos_order_with_cash_change_and_pin(sandbox: BizzcloudSandbox) -> None:
    # Given a walk-in sale: 2 T-shirts (21 %) and a book (9 %) = 48.38 + 27.20 = 75.58, paid 60 cash + 20 PIN
    order = sandbox.create_pos_order(
        [{"product_id": 1, "qty": 2}, {"product_id": 2, "qty": 1}], [("Cash", "60"), ("PIN", "20")]
    )

    # When the connector reads the order, its lines and payments
    client = rpc(sandbox)
    [row] = client.call(
        "pos.order",
        "read",
        [[order]],
        {
            "fields": [
                "name",
                "pos_reference",
                "partner_id",
                "state",
                "amount_total",
                "amount_tax",
                "amount_paid",
                "amount_return",
                "account_move",
                "lines",
                "payment_ids",
            ]
        },
    )
    lines = client.call(
        "pos.order.line",
        "read",
        [row["lines"]],
        {"fields": ["full_product_name", "price_subtotal", "price_subtotal_incl"]},
    )
    payments = client.call(
        "pos.payment", "read", [row["payment_ids"]], {"fields": ["payment_method_id", "amount", "is_change"]}
    )
    methods = client.call("pos.payment.method", "search_read", [[["is_cash_count", "=", True]]], {"fields": ["name"]})

    # Then Odoo's till figures, with the change as a negative cash payment
    assert row["name"] == "Shop/0001" and row["pos_reference"] == "Order 00001-001-0001"
    assert (row["partner_id"], row["state"], row["account_move"]) == (False, "paid", False)
    assert (row["amount_total"], row["amount_tax"], row["amount_paid"], row["amount_return"]) == (
        Decimal("75.58"),
        Decimal("10.65"),
        Decimal("75.58"),
        Decimal("4.42"),
    )
    assert [(line["full_product_name"], line["price_subtotal"], line["price_subtotal_incl"]) for line in lines] == [
        ("[TS-001] T-shirt", Decimal("39.98"), Decimal("48.38")),
        ("[BK-001] Roman", Decimal("24.95"), Decimal("27.2")),
    ]
    assert [(p["payment_method_id"][1], p["amount"], p["is_change"]) for p in payments] == [
        ("Cash", Decimal("60.0"), False),
        ("PIN", Decimal("20.0"), False),
        ("Cash", Decimal("-4.42"), True),
    ]
    assert methods == [{"id": 1, "name": "Cash"}]

    # When the session closes, the order is done
    sandbox.close_session()
    assert client.call("pos.order", "read", [[order]], {"fields": ["state"]})[0]["state"] == "done"


def test_invoiced_pos_order_links_a_paid_invoice(sandbox: BizzcloudSandbox) -> None:
    partner = sandbox.add_partner(name="Acme BV")

    # When a customer's till sale is invoiced
    order = sandbox.create_pos_order(
        [{"product_id": 3, "qty": 1}], [("PIN", "114.95")], partner_id=partner, invoice=True
    )

    # Then the order is invoiced and points at a paid invoice that points back
    client = rpc(sandbox)
    [row] = client.call("pos.order", "read", [[order]], {"fields": ["state", "account_move"]})
    [move] = client.call(
        "account.move",
        "read",
        [[row["account_move"][0]]],
        {"fields": ["payment_state", "amount_total", "pos_order_ids"]},
    )
    assert row["state"] == "invoiced" and row["account_move"][1] == "INV/2026/00001 (Shop/0001)"
    assert (
        move["payment_state"] == "paid"
        and move["amount_total"] == Decimal("114.95")
        and move["pos_order_ids"] == [order]
    )
    with pytest.raises(Exception, match=r"Please provide a partner for the sale\."):
        sandbox.create_pos_order([{"product_id": 3, "qty": 1}], [("PIN", "114.95")], invoice=True)


# -- limits and faults --------------------------------------------------------------------------------------------
def test_rate_limit_answers_nginx_429_with_retry_after(sandbox: BizzcloudSandbox) -> None:
    # Given a limit of two calls per second
    sandbox.set_rate_limit(per_second=2, per_minute=None)
    client = rpc(sandbox)
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": "common", "method": "version", "args": []},
        "id": 1,
    }

    # When the connector fires three calls at once
    answers = [requests.post(client.url, json=body, timeout=5) for _ in range(3)]

    # Then the third is nginx's 429 page with Retry-After; XML-RPC sees the same as a ProtocolError
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "1" and "429 Too Many Requests" in answers[2].text
    with pytest.raises(xmlrpc.client.ProtocolError) as error:
        xml_object(sandbox).execute_kw(DB, 2, "admin", "res.partner", "search", [[]])
    assert error.value.errcode == 429


def test_fault_plan_503_and_429_on_both_transports(sandbox: BizzcloudSandbox) -> None:
    client = rpc(sandbox)
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": "common", "method": "version", "args": []},
        "id": 1,
    }

    # When the outage and throttle faults are queued
    sandbox.faults.queue("error")
    sandbox.faults.queue("throttle")
    down = requests.post(client.url, json=body, timeout=5)
    throttled = requests.post(client.url, json=body, timeout=5)
    sandbox.faults.queue("error")

    # Then nginx-shaped 503 and 429 come back, and the next call works again
    assert down.status_code == 503 and "503 Service Temporarily Unavailable" in down.text
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    with pytest.raises(xmlrpc.client.ProtocolError) as error:
        xml_object(sandbox).execute_kw(DB, 2, "admin", "res.partner", "search", [[]])
    assert error.value.errcode == 503
    assert requests.post(client.url, json=body, timeout=5).json()["result"]["server_version"] == "17.0"
    assert requests.get(f"{sandbox.base_url}/_sandbox/state", timeout=5).json()["counts"]["account.tax"] == 7
