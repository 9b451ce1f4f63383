"""The e-Boekhouden sandbox, driven over real HTTP on 127.0.0.1 the way the connector drives api.e-boekhouden.nl."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
from devkit.sandboxes.eboekhouden.wire import dumps

if TYPE_CHECKING:
    from collections.abc import Iterator

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "eboekhouden"  # the vendor's own samples, unchanged
ERROR_KEYS = {"code", "message", "title", "status"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_714_550_400.0  # 2024-05-01

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[EboekhoudenSandbox]:
    """One server for the module; every test gets it reset."""
    sandbox = EboekhoudenSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(server: EboekhoudenSandbox, clock: Clock) -> EboekhoudenSandbox:
    server.reset()
    server.clock = clock
    return server


@pytest.fixture
def api_token(sandbox: EboekhoudenSandbox) -> str:
    return sandbox.add_administration("Bakkerij De Korst")


@pytest.fixture
def session(sandbox: EboekhoudenSandbox, api_token: str) -> requests.Session:
    """A session as the connector holds it: a token from POST /v1/session sent raw in Authorization."""
    started = requests.post(f"{sandbox.base_url}/v1/session", json={"accessToken": api_token, "source": "Koppel"})
    http = requests.Session()
    http.headers["Authorization"] = started.json()["token"]
    return http


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def post(http: requests.Session, url: str, body: dict[str, Any]) -> requests.Response:
    """Send Decimal amounts as JSON numbers, as the connector does."""
    return http.post(url, data=dumps(body), headers={"Content-Type": "application/json"}, timeout=5)


def customer(sandbox: EboekhoudenSandbox, api_token: str, name: str = "Jan Jansen") -> int:
    return int(sandbox.add_relation(api_token, name, emailAddress="jan@example.nl")["id"])


def invoice(
    sandbox: EboekhoudenSandbox, api_token: str, relation_id: int, number: str = "CCV10023", **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": 2,
        "date": "2024-05-01",
        "ledgerId": sandbox.ledger_id(api_token, "1300"),
        "relationId": relation_id,
        "invoiceNumber": number,
        "termOfPayment": 14,
        "inExVat": "EX",
        "description": "Webshop order 10023",
        "rows": [
            {"ledgerId": sandbox.ledger_id(api_token, "8000"), "vatCode": "HOOG_VERK_21", "amount": Decimal("100.00")}
        ],
    }
    return {**body, **changes}


def outstanding(sandbox: EboekhoudenSandbox, http: requests.Session, **params: str) -> Any:
    return decimal_json(http.get(f"{sandbox.base_url}/v1/mutation/invoice/outstanding", params=params, timeout=5))


# -- session ------------------------------------------------------------------------------------------------------
def test_session_gives_a_token_in_the_samples_shape_that_opens_the_api_until_it_expires(
    sandbox: EboekhoudenSandbox, api_token: str, clock: Clock
) -> None:
    # Given an administration's API token
    url = f"{sandbox.base_url}/v1/session"

    # When the connector starts a session
    started = requests.post(url, json={"accessToken": api_token, "source": "Koppel"}, timeout=5)

    # Then it gets the sample's {token, expiresIn: 3600} and the raw token opens the API
    assert started.status_code == 200
    assert set(started.json()) == set(sample("rest.session.create.response.json"))
    assert started.json()["expiresIn"] == 3600
    headers = {"Authorization": started.json()["token"]}
    assert requests.get(f"{sandbox.base_url}/v1/ledger", headers=headers, timeout=5).status_code == 200

    # And once its lifetime has passed the token is refused with 401 in the error shape
    clock.now += 3600
    expired = requests.get(f"{sandbox.base_url}/v1/ledger", headers=headers, timeout=5)
    assert expired.status_code == 401
    assert set(expired.json()) == ERROR_KEYS


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"accessToken": "x"}, 400, "API_SESSION_001"),
        ({"accessToken": "x", "source": "koppel-nl"}, 400, "API_SESSION_002"),
        ({"accessToken": "x", "source": "KoppelConnector"}, 400, "API_SESSION_002"),
        ({"source": "Koppel"}, 400, "API_SESSION_003"),
        ({"accessToken": "not-a-token", "source": "Koppel"}, 401, "API_SESSION_004"),
    ],
)
def test_session_refusals_carry_e_boekhoudens_codes(
    sandbox: EboekhoudenSandbox, body: dict[str, str], status: int, code: str
) -> None:
    # Given a sandbox with one administration
    sandbox.add_administration("Bakkerij De Korst")

    # When a session is asked for with a missing or bad source or access token
    refused = requests.post(f"{sandbox.base_url}/v1/session", json=body, timeout=5)

    # Then the answer has the sample error's shape and the documented code
    assert refused.status_code == status
    assert set(refused.json()) == set(sample("rest.session.create.error400.response.json"))
    assert (refused.json()["code"], refused.json()["status"]) == (code, status)


def test_missing_source_answers_exactly_the_vendor_sample(sandbox: EboekhoudenSandbox, api_token: str) -> None:
    # When the source is left out
    refused = requests.post(f"{sandbox.base_url}/v1/session", json={"accessToken": api_token}, timeout=5)

    # Then the body is the recorded sample, word for word
    assert refused.json() == sample("rest.session.create.error400.response.json")


def test_ended_session_and_bearer_prefix_and_missing_token_are_refused(
    sandbox: EboekhoudenSandbox, session: requests.Session
) -> None:
    # Given a live session token
    token = session.headers["Authorization"]
    url = f"{sandbox.base_url}/v1/relation"

    # When it is sent with a Bearer prefix, or not at all
    bearer = requests.get(url, headers={"Authorization": f"Bearer {token!s}"}, timeout=5)
    missing = requests.get(url, timeout=5)

    # Then both are 401 (the raw token is what e-Boekhouden expects)
    assert (bearer.status_code, missing.status_code) == (401, 401)
    assert session.get(url, timeout=5).status_code == 200

    # And the unverified Bearer form passes only with the accept_bearer switch on
    sandbox.accept_bearer = True
    assert requests.get(url, headers={"Authorization": f"Bearer {token!s}"}, timeout=5).status_code == 200

    # And after DELETE /v1/session the token no longer works
    assert session.delete(f"{sandbox.base_url}/v1/session", timeout=5).status_code == 200
    assert session.get(url, timeout=5).status_code == 401


# -- relations ----------------------------------------------------------------------------------------------------
def test_relation_sample_is_created_with_a_generated_code_in_the_samples_shape(
    sandbox: EboekhoudenSandbox, session: requests.Session
) -> None:
    # When the vendor sample's create request is posted (it has no type and no code)
    created = session.post(f"{sandbox.base_url}/v1/relation", json=sample("rest.relation.create.request.json"))

    # Then 201 answers {id, code} like the sample, with an R-code
    assert created.status_code == 201
    assert set(created.json()) == set(sample("rest.relation.create.response201.json"))
    assert created.json()["code"] == f"R{created.json()['id']:04d}"

    # And the list answers the sample's {items: [{id, type, code}], count} shape
    listed = session.get(f"{sandbox.base_url}/v1/relation", timeout=5).json()
    shape = sample("rest.relation.list.response.json")
    assert set(listed) == set(shape)
    assert set(listed["items"][0]) == set(shape["items"][0])
    assert listed["items"][0] == {"id": created.json()["id"], "type": "B", "code": created.json()["code"]}

    # And the full relation keeps the address
    full = session.get(f"{sandbox.base_url}/v1/relation/{created.json()['id']}", timeout=5).json()
    assert (full["name"], full["postalCode"], full["city"]) == ("Test Company", "1234 AB", "Test City")


def test_relation_is_found_by_email_whatever_its_case(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given two relations
    sandbox.add_relation(api_token, "Jan Jansen", emailAddress="Jan.Jansen@Example.NL", type="P")
    sandbox.add_relation(api_token, "Piet", emailAddress="piet@example.nl")

    # When the connector looks a customer up by e-mail in another case
    found = session.get(f"{sandbox.base_url}/v1/relation", params={"email": "jan.jansen@example.nl"}).json()
    none = session.get(f"{sandbox.base_url}/v1/relation", params={"email": "jan@example.nl"}).json()

    # Then exactly the one relation is found, and a near miss finds nothing
    assert found["count"] == 1
    assert found["items"][0]["type"] == "P"
    assert none == {"items": [], "count": 0}


def test_relation_paging_counts_every_match(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given five relations
    for n in range(5):
        sandbox.add_relation(api_token, f"Klant {n}")

    # When they are read two at a time
    pages = [session.get(f"{sandbox.base_url}/v1/relation", params={"limit": 2, "offset": o}).json() for o in (0, 2, 4)]

    # Then each page says the total and the pages hold every relation once
    assert [p["count"] for p in pages] == [5, 5, 5]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert len({item["id"] for p in pages for item in p["items"]}) == 5

    # And a limit above 2000 is refused
    too_many = session.get(f"{sandbox.base_url}/v1/relation", params={"limit": 2001})
    assert too_many.status_code == 400


def test_relation_patch_updates_only_the_fields_sent(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given a relation
    ident = customer(sandbox, api_token)

    # When its city is patched
    patched = session.patch(f"{sandbox.base_url}/v1/relation/{ident}", json={"city": "Utrecht"})

    # Then the rest stays as it was
    assert patched.status_code == 200
    full = session.get(f"{sandbox.base_url}/v1/relation/{ident}").json()
    assert (full["city"], full["name"], full["emailAddress"]) == ("Utrecht", "Jan Jansen", "jan@example.nl")


def test_duplicate_relation_code_is_refused(sandbox: EboekhoudenSandbox, session: requests.Session) -> None:
    # Given a relation with code KOPPEL1
    url = f"{sandbox.base_url}/v1/relation"
    assert session.post(url, json={"name": "Een", "code": "KOPPEL1"}).status_code == 201

    # When a second one claims the same code
    second = session.post(url, json={"name": "Twee", "code": "koppel1"})

    # Then it is refused in the error shape with a REL code
    assert second.status_code == 400
    assert second.json()["code"].startswith("REL_")
    assert set(second.json()) == ERROR_KEYS


# -- ledgers ------------------------------------------------------------------------------------------------------
def test_ledgers_list_the_default_chart_with_ids_that_are_not_codes(
    sandbox: EboekhoudenSandbox, session: requests.Session
) -> None:
    # When the chart is read, and filtered by category
    chart = session.get(f"{sandbox.base_url}/v1/ledger", params={"limit": 2000}).json()
    debtors = session.get(f"{sandbox.base_url}/v1/ledger", params={"category": "DEB"}).json()

    # Then it holds the Dutch default accounts, each with an integer id unlike its code
    by_code = {item["code"]: item for item in chart["items"]}
    assert {"1000", "1100", "1300", "1500", "1510", "1600", "8000", "8010", "8020", "8030", "8040"} <= set(by_code)
    assert by_code["8000"]["description"] == "Omzet hoog"
    assert set(by_code["8000"]) == {"id", "code", "description", "category"}
    assert all(isinstance(item["id"], int) and str(item["id"]) != item["code"] for item in chart["items"])
    assert [item["code"] for item in debtors["items"]] == ["1300"]


def test_chart_changes_between_two_runs_show_over_http(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given a chart the connector has read once
    url = f"{sandbox.base_url}/v1/ledger"
    before = session.get(url, params={"code": "8000"}).json()["items"][0]

    # When the bookkeeper renames 8000, deletes 8090 and adds 8200 between two runs
    sandbox.rename_ledger(api_token, "8000", "Omzet webshop 21%")
    sandbox.delete_ledger(api_token, "8090")
    new_id = sandbox.add_ledger(api_token, "8200", "Omzet marktplaats", "VW")

    # Then the next read sees all three changes, with the same id for the renamed ledger
    after = session.get(url, params={"code": "8000"}).json()["items"][0]
    assert (after["id"], after["description"]) == (before["id"], "Omzet webshop 21%")
    assert session.get(url, params={"code": "8090"}).json()["count"] == 0
    assert session.get(f"{url}/{new_id}").json()["category"] == "VW"


def test_ledger_create_and_patch_over_http(sandbox: EboekhoudenSandbox, session: requests.Session) -> None:
    # When a ledger is created, then patched, and a duplicate code is tried
    url = f"{sandbox.base_url}/v1/ledger"
    created = session.post(url, json={"code": "8300", "description": "Omzet diensten", "category": "VW"})
    patched = session.patch(f"{url}/{created.json()['id']}", json={"description": "Omzet advies"})
    duplicate = session.post(url, json={"code": "8300", "description": "Nog een", "category": "VW"})

    # Then the first two succeed and the duplicate is refused
    assert (created.status_code, patched.status_code, duplicate.status_code) == (201, 200, 400)
    assert session.get(f"{url}/{created.json()['id']}").json()["description"] == "Omzet advies"
    assert duplicate.json()["code"] == "LED_901"


# -- mutations ----------------------------------------------------------------------------------------------------
def test_invoice_ex_vat_computes_vat_per_row_to_the_cent(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given rows at 21 %, 9 % and 0 %, amounts excluding VAT
    ledger = sandbox.ledger_id
    rows = [
        {"ledgerId": ledger(api_token, "8000"), "vatCode": "HOOG_VERK_21", "amount": Decimal("100.10")},
        {"ledgerId": ledger(api_token, "8010"), "vatCode": "LAAG_VERK_9", "amount": Decimal("10.05")},
        {"ledgerId": ledger(api_token, "8020"), "vatCode": "GEEN", "amount": Decimal("4.95")},
    ]

    # When the invoice is booked
    body = invoice(sandbox, api_token, customer(sandbox, api_token), rows=rows)
    created = post(session, f"{sandbox.base_url}/v1/mutation", body)

    # Then 201 answers the mutation number and the VAT is 21.021 -> 21.02 and 0.9045 -> 0.90
    assert created.status_code == 201
    assert created.json() == {"id": 1}
    stored = decimal_json(session.get(f"{sandbox.base_url}/v1/mutation/1"))
    assert [row["vatAmount"] for row in stored["rows"]] == [Decimal("21.02"), Decimal("0.90"), Decimal("0.00")]
    assert stored["vat"][0] == {"vatCode": "HOOG_VERK_21", "amount": Decimal("21.02")}
    assert '"amount": 100.10' in session.get(f"{sandbox.base_url}/v1/mutation/1").text  # two decimals, no float
    totals = sandbox.mutations(api_token)[0]
    assert (totals["totalExclVat"], totals["totalVat"], totals["totalAmount"]) == (
        Decimal("115.10"),
        Decimal("21.92"),
        Decimal("137.02"),
    )


def test_invoice_in_vat_takes_the_vat_out_of_the_amount(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given rows including VAT: 121.00 at 21 % and 10.00 at 9 %
    rows = [
        {"ledgerId": sandbox.ledger_id(api_token, "8000"), "vatCode": "HOOG_VERK_21", "amount": Decimal("121.00")},
        {"ledgerId": sandbox.ledger_id(api_token, "8010"), "vatCode": "LAAG_VERK_9", "amount": Decimal("10.00")},
    ]

    # When the invoice is booked with inExVat IN
    body = invoice(sandbox, api_token, customer(sandbox, api_token), rows=rows, inExVat="IN")
    assert post(session, f"{sandbox.base_url}/v1/mutation", body).status_code == 201

    # Then VAT is 21.00 and 10 * 9/109 = 0.8257 -> 0.83, and the invoice total is what was sent
    stored = sandbox.mutations(api_token)[0]
    assert [row["vatAmount"] for row in stored["rows"]] == [Decimal("21.00"), Decimal("0.83")]
    assert (stored["totalExclVat"], stored["totalAmount"]) == (Decimal("109.17"), Decimal("131.00"))


def test_credit_invoice_books_negative_amounts(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # When a credit invoice of -50.00 excl. at 21 % is booked
    rows = [{"ledgerId": sandbox.ledger_id(api_token, "8000"), "vatCode": "HOOG_VERK_21", "amount": Decimal("-50.00")}]
    body = invoice(sandbox, api_token, customer(sandbox, api_token), "CR10023", rows=rows)

    # Then it is accepted and stands open for -60.50
    assert post(session, f"{sandbox.base_url}/v1/mutation", body).status_code == 201
    item = outstanding(sandbox, session, credDeb="D")["items"][0]
    assert (item["totalAmount"], item["outstandingAmount"]) == (Decimal("-60.50"), Decimal("-60.50"))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ledgerId": 999_999}, "MUT_007"),
        ({"ledgerId": "8000"}, "MUT_007"),
        ({"relationId": 999_999}, "MUT_013"),
        ({"relationId": None}, "MUT_012"),
        ({"invoiceNumber": None}, "MUT_002"),
        ({"invoiceNumber": "CCV-10023-A"}, "MUTA_907"),
        ({"inExVat": None}, "MUTA_005"),
        ({"rows": []}, "MUTA_909"),
        ({"type": 9}, "MUTA_901"),
        ({"date": "01-05-2024"}, "MUT_003"),
    ],
)
def test_mutation_header_validation_errors(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str, change: dict[str, Any], code: str
) -> None:
    # When an invoice with one bad header field is posted
    body = invoice(sandbox, api_token, customer(sandbox, api_token), **change)
    refused = post(session, f"{sandbox.base_url}/v1/mutation", body)

    # Then it is refused in the vendor error shape with a MUTA code, and nothing is booked
    assert refused.status_code == 400
    assert set(refused.json()) == ERROR_KEYS
    assert refused.json()["code"] == code
    assert sandbox.mutations(api_token) == []


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"ledgerId": 999_999, "vatCode": "HOOG_VERK_21", "amount": 10}, "MUT_104"),
        ({"ledger": "1300", "vatCode": "HOOG_VERK_21", "amount": 10}, "MUT_106"),
        ({"ledger": "8000", "vatCode": "HOOG_21", "amount": 10}, "MUTA_912"),
        ({"ledger": "8000", "vatCode": "AFW_VERK", "amount": 10}, "MUTA_913"),
        ({"ledger": "8000", "vatCode": "HOOG_VERK_21", "amount": "10.00"}, "MUTA_914"),
    ],
)
def test_mutation_row_validation_errors(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str, row: dict[str, Any], code: str
) -> None:
    # Given a row with an unknown ledger, a debtor ledger, an unknown VAT code, AFW without vatAmount, a text amount
    if "ledger" in row:
        row = {**row, "ledgerId": sandbox.ledger_id(api_token, row.pop("ledger"))}

    # When the invoice is posted
    body = invoice(sandbox, api_token, customer(sandbox, api_token), rows=[row])
    refused = post(session, f"{sandbox.base_url}/v1/mutation", body)

    # Then the row is refused with its code
    assert (refused.status_code, refused.json()["code"]) == (400, code)


def test_afwijkend_vat_uses_the_vat_amount_sent(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # When a row with AFW_VERK carries its own vatAmount
    row = {"ledgerId": sandbox.ledger_id(api_token, "8000"), "vatCode": "AFW_VERK", "amount": 100, "vatAmount": 7}
    body = invoice(sandbox, api_token, customer(sandbox, api_token), rows=[row])

    # Then that VAT is booked as sent
    assert post(session, f"{sandbox.base_url}/v1/mutation", body).status_code == 201
    assert sandbox.mutations(api_token)[0]["totalAmount"] == Decimal("107.00")


def test_header_ledger_must_be_the_debtor_ledger_unless_the_switch_is_off(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given an invoice booked against bank 1100 instead of debtors 1300
    body = invoice(sandbox, api_token, customer(sandbox, api_token), ledgerId=sandbox.ledger_id(api_token, "1100"))

    # When it is posted with strict categories, then with them off
    strict = post(session, f"{sandbox.base_url}/v1/mutation", body)
    sandbox.strict_ledger_categories = False
    lenient = post(session, f"{sandbox.base_url}/v1/mutation", body)

    # Then only the lenient sandbox books it
    assert (strict.status_code, strict.json()["code"], lenient.status_code) == (400, "MUTA_904", 201)


def test_duplicate_invoice_number_is_refused_naming_the_number(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given a booked invoice CCV10023
    body = invoice(sandbox, api_token, customer(sandbox, api_token))
    assert post(session, f"{sandbox.base_url}/v1/mutation", body).status_code == 201

    # When the same invoice is posted again (a retry after a timeout)
    again = post(session, f"{sandbox.base_url}/v1/mutation", body)

    # Then it is refused with e-Boekhouden's own MUT_019 (invoice number already exists), and no duplicate exists
    assert (again.status_code, again.json()["code"]) == (400, "MUT_019")
    assert "CCV10023" in again.json()["message"]
    assert sandbox.duplicates(api_token) == []


def test_duplicate_invoice_number_is_booked_and_counted_when_the_switch_is_off(
    server: EboekhoudenSandbox, clock: Clock
) -> None:
    # Given a sandbox that accepts duplicate invoice numbers
    lenient = EboekhoudenSandbox(clock=clock, refuse_duplicate_invoice_numbers=False)
    with lenient:
        api_token = lenient.add_administration("Bakkerij De Korst")
        http = requests.Session()
        http.headers["Authorization"] = lenient.open_session(api_token)
        body = invoice(lenient, api_token, customer(lenient, api_token))

        # When the same invoice is posted twice
        answers = [post(http, f"{lenient.base_url}/v1/mutation", body).status_code for _ in range(2)]

        # Then both are booked and the duplicate shows in duplicates() and /_sandbox/state
        assert answers == [201, 201]
        assert lenient.duplicates(api_token) == ["CCV10023"]
        state = requests.get(f"{lenient.base_url}/_sandbox/state", timeout=5).json()
        assert state["administrations"][0]["duplicates"] == ["CCV10023"]


def test_mutations_are_looked_up_by_invoice_number_type_and_date_range(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given two invoices on different dates
    relation = customer(sandbox, api_token)
    for number, day in (("CCV10023", "2024-05-01"), ("CCV10024", "2024-06-01")):
        assert post(session, f"{sandbox.base_url}/v1/mutation", invoice(sandbox, api_token, relation, number, date=day))

    # When the connector looks one up before posting, and lists May only
    url = f"{sandbox.base_url}/v1/mutation"
    found = decimal_json(session.get(url, params={"invoiceNumber": "CCV10024", "type": "2"}))
    may = session.get(url, params={"date[gte]": "2024-05-01", "date[lte]": "2024-05-31"}).json()
    unknown = session.get(url, params={"invoiceNumber": "CCV99999"}).json()

    # Then it finds exactly that booking with its total incl. VAT
    assert found["count"] == 1
    assert found["items"][0]["invoiceNumber"] == "CCV10024"
    assert found["items"][0]["amount"] == Decimal("121.00")
    assert [item["invoiceNumber"] for item in may["items"]] == ["CCV10023"]
    assert unknown == {"items": [], "count": 0}
    assert session.get(f"{url}/99").status_code == 404


# -- outstanding items --------------------------------------------------------------------------------------------
def test_outstanding_follows_partial_and_full_payment(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given an invoice of 121.00 incl. VAT
    relation = customer(sandbox, api_token)
    assert post(session, f"{sandbox.base_url}/v1/mutation", invoice(sandbox, api_token, relation)).status_code == 201
    before = outstanding(sandbox, session, credDeb="D", invoiceNumber="CCV10023")["items"]
    assert [(i["totalAmount"], i["paidAmount"], i["outstandingAmount"]) for i in before] == [
        (Decimal("121.00"), Decimal("0.00"), Decimal("121.00"))
    ]
    assert before[0]["mutationId"] == 1
    assert before[0]["relationId"] == relation

    # When the customer pays 21.00, then the connector books a type 3 payment of the rest over HTTP
    sandbox.pay(api_token, "CCV10023", "21.00", "2024-05-05")
    partial = outstanding(sandbox, session, credDeb="D")["items"][0]
    payment = {
        "type": 3,
        "date": "2024-05-10",
        "ledgerId": sandbox.ledger_id(api_token, "1100"),
        "relationId": relation,
        "inExVat": "EX",
        "rows": [{"amount": Decimal("100.00"), "invoiceNumber": "CCV10023", "vatCode": "GEEN"}],
    }
    assert post(session, f"{sandbox.base_url}/v1/mutation", payment).status_code == 201

    # Then the item shows the partial payment, and leaves the list once fully paid
    assert (partial["paidAmount"], partial["outstandingAmount"]) == (Decimal("21.00"), Decimal("100.00"))
    assert outstanding(sandbox, session, credDeb="D") == {"items": [], "count": 0}
    assert outstanding(sandbox, session, credDeb="C") == {"items": [], "count": 0}


def test_outstanding_needs_cred_deb_and_a_payment_needs_an_invoice(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # When credDeb is missing or wrong, or a payment names an unknown invoice
    missing = session.get(f"{sandbox.base_url}/v1/mutation/invoice/outstanding")
    wrong = session.get(f"{sandbox.base_url}/v1/mutation/invoice/outstanding", params={"credDeb": "X"})
    payment = {
        "type": 3,
        "date": "2024-05-10",
        "ledgerId": sandbox.ledger_id(api_token, "1100"),
        "relationId": customer(sandbox, api_token),
        "inExVat": "EX",
        "rows": [{"amount": 10, "invoiceNumber": "CCV404", "vatCode": "GEEN"}],
    }
    unknown = post(session, f"{sandbox.base_url}/v1/mutation", payment)

    # Then the first two answer MUTA_006 (as the live API does) and the payment is refused
    assert [(r.status_code, r.json()["code"]) for r in (missing, wrong)] == [(400, "MUTA_006")] * 2
    assert (unknown.status_code, unknown.json()["code"]) == (400, "MUT_115")


def test_outstanding_relation_filter_is_a_switch(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str
) -> None:
    # Given open invoices for two relations
    first, second = customer(sandbox, api_token, "Een"), customer(sandbox, api_token, "Twee")
    for relation, number in ((first, "A1"), (second, "B1")):
        assert post(session, f"{sandbox.base_url}/v1/mutation", invoice(sandbox, api_token, relation, number))

    # When the list is asked for one relation, as published (ignored) and with the switch on
    ignored = outstanding(sandbox, session, credDeb="D", relationId=str(first))
    sandbox.outstanding_filters_by_relation = True
    honoured = outstanding(sandbox, session, credDeb="D", relationId=str(first))

    # Then only the switched sandbox filters
    assert (ignored["count"], honoured["count"]) == (2, 1)


# -- limits and faults --------------------------------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(
    sandbox: EboekhoudenSandbox, session: requests.Session, api_token: str, clock: Clock
) -> None:
    # Given a limit of two calls per second for this administration
    sandbox.set_rate_limit(api_token, per_second=2)
    url = f"{sandbox.base_url}/v1/ledger"

    # When a third call comes within the same second
    answers = [session.get(url) for _ in range(3)]

    # Then it is refused with Retry-After in the error shape, and passes once the second is over
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "1"
    assert set(answers[2].json()) == ERROR_KEYS
    clock.now += 1
    assert session.get(url).status_code == 200


def test_forced_faults_answer_in_the_vendor_error_shape(sandbox: EboekhoudenSandbox, session: requests.Session) -> None:
    # Given a 503 and a 429 queued for the next two API calls
    sandbox.faults.queue("error")
    sandbox.faults.queue("throttle")

    # When the connector calls the API three times
    answers = [session.get(f"{sandbox.base_url}/v1/ledger") for _ in range(3)]

    # Then it sees 503, 429 with Retry-After, then success; control paths never fault
    assert [a.status_code for a in answers] == [503, 429, 200]
    assert set(answers[0].json()) == ERROR_KEYS
    assert answers[1].headers["Retry-After"] == "1"
    sandbox.faults.queue("error")
    assert requests.get(f"{sandbox.base_url}/_sandbox/state", timeout=5).status_code == 200


def test_control_endpoints_create_an_administration_and_pay(sandbox: EboekhoudenSandbox) -> None:
    # When the demo creates an administration over HTTP and books an invoice with it
    token = requests.post(f"{sandbox.base_url}/_sandbox/administrations", json={"name": "Demo"}, timeout=5).json()
    http = requests.Session()
    started = http.post(f"{sandbox.base_url}/v1/session", json={"accessToken": token["accessToken"], "source": "demo"})
    http.headers["Authorization"] = started.json()["token"]
    body = invoice(sandbox, token["accessToken"], customer(sandbox, token["accessToken"]))
    assert post(http, f"{sandbox.base_url}/v1/mutation", body).status_code == 201
    paid = requests.post(
        f"{sandbox.base_url}/_sandbox/pay",
        json={"accessToken": token["accessToken"], "invoiceNumber": "CCV10023", "amount": 121, "date": "2024-05-02"},
        timeout=5,
    )

    # Then the payment is booked and the state counts both mutations
    assert paid.status_code == 200
    state = requests.get(f"{sandbox.base_url}/_sandbox/state", timeout=5).json()
    assert state["administrations"][0]["mutations"] == 2
    assert outstanding(sandbox, http, credDeb="D")["count"] == 0
