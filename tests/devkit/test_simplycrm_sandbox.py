"""The Simply CRM (vtiger webservice.php) sandbox over real HTTP on 127.0.0.1: what a Simply CRM ↔ Billy
connector would notice."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox, access_digest

# Recorded vtiger answers, kept in tests/fixtures/simplycrm (see SOURCE.txt there).
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "simplycrm"
USER, KEY = "koppel", "Kx9q2LmP0aZ7wE4r"


class Clock:
    """Unix seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def running_sandbox():
    sandbox = SimplyCrmSandbox()
    sandbox.start()
    sandbox.add_user(USER, KEY)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def crm(running_sandbox: SimplyCrmSandbox, clock: Clock) -> SimplyCrmSandbox:
    running_sandbox.reset()  # one server for the module, a clean CRM per test
    running_sandbox.clock = clock
    return running_sandbox


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def keys_shape(value: Any) -> Any:
    """The nesting of keys, without values: dicts by key set, lists by their first element."""
    if isinstance(value, dict):
        return {k: keys_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_shape(value[0])] if value else []
    return type(value).__name__


def ws(crm: SimplyCrmSandbox, operation: str, session: str | None = None, **params: Any) -> Any:
    get = operation in {"getchallenge", "query", "retrieve", "describe", "listtypes", "sync"}
    params = {"operation": operation, **({"sessionName": session} if session else {}), **params}
    url = crm.base_url + "/webservice.php"
    response = requests.get(url, params=params, timeout=5) if get else requests.post(url, data=params, timeout=5)
    assert response.status_code == 200
    return json.loads(response.text, parse_float=Decimal)


def login(crm: SimplyCrmSandbox, user: str = USER, key: str = KEY) -> str:
    token = ws(crm, "getchallenge", username=user)["result"]["token"]
    answer = ws(crm, "login", username=user, accessKey=access_digest(token, key))
    return answer["result"]["sessionName"]


def create(crm: SimplyCrmSandbox, session: str, module: str, element: dict[str, Any]) -> Any:
    return ws(crm, "create", session, elementType=module, element=json.dumps(element))


# -- login and sessions ------------------------------------------------------------------------------------------
def test_challenge_and_login_answer_in_the_recorded_shapes(crm):
    # When a client asks a challenge and logs in with md5(token + access key)
    challenge = ws(crm, "getchallenge", username=USER)
    token = challenge["result"]["token"]
    logged_in = ws(crm, "login", username=USER, accessKey=access_digest(token, KEY))
    # Then both answers have exactly the keys vtiger answered, the token lives five minutes
    assert keys_shape(challenge) == keys_shape(sample("getchallenge.response.vtiger521.json"))
    assert challenge["result"]["expireTime"] - challenge["result"]["serverTime"] == 300
    assert keys_shape(logged_in) == keys_shape(sample("login.response.vtiger521.json"))
    assert logged_in["result"]["userId"].startswith("19x") and logged_in["result"]["version"] == "0.22"


def test_an_expired_challenge_gets_the_recorded_error_and_a_wrong_key_vtigers_credentials_error(crm, clock):
    # Given a challenge that is six minutes old
    token = ws(crm, "getchallenge", username=USER)["result"]["token"]
    clock.advance(360)
    # When the client logs in with it, and then with a fresh token but a wrong key
    late = ws(crm, "login", username=USER, accessKey=access_digest(token, KEY))
    fresh = ws(crm, "getchallenge", username=USER)["result"]["token"]
    wrong = ws(crm, "login", username=USER, accessKey=access_digest(fresh, "not-the-key"))
    # Then the first is exactly the recorded INVALID_AUTH_TOKEN body, the second vtiger's credentials error
    assert late == sample("login.error.INVALID_AUTH_TOKEN.response.json")
    assert wrong["error"] == {"code": "INVALID_USER_CREDENTIALS", "message": "Invalid username or password"}


def test_a_session_past_its_lifetime_or_logged_out_is_an_invalid_session(crm, clock):
    # Given a session lifetime of one minute and two sessions
    crm.set_session_lifetime(60)
    old, other = login(crm), login(crm)
    # When one minute and a bit passes for the first, and the other logs out
    clock.advance(61)
    expired = ws(crm, "listtypes", old)
    # Then the first is refused the way vtiger words it; logout ends the other; no session at all is refused too
    assert expired["error"] == {"code": "INVALID_SESSIONID", "message": "Session Identifier provided is Invalid"}
    other = login(crm)
    assert ws(crm, "logout", other)["result"] == {"message": "successfull"}
    assert ws(crm, "listtypes", other)["error"]["code"] == "INVALID_SESSIONID"
    assert ws(crm, "listtypes")["error"]["code"] == "AUTHENTICATION_REQUIRED"


# -- records -------------------------------------------------------------------------------------------------------
def test_create_echoes_the_full_record_like_the_recording_and_refuses_missing_mandatory_fields(crm):
    session = login(crm)
    user_id = "19x1"
    # When a contact is created, and one without lastname and one without assigned_user_id
    made = create(crm, session, "Contacts", {"firstname": "Piet", "lastname": "Jansen", "assigned_user_id": user_id})
    no_name = create(crm, session, "Contacts", {"firstname": "Piet", "assigned_user_id": user_id})
    no_owner = create(crm, session, "Contacts", {"lastname": "Jansen"})
    # Then the record comes back whole, every value a string, like the recorded create
    recorded = sample("create.Leads.response.json")
    assert set(made) == set(recorded) and made["success"] is True
    result = made["result"]
    assert result["id"].startswith("4x") and result["contact_no"] == "CON1" and result["assigned_user_id"] == user_id
    assert result["createdtime"] == result["modifiedtime"] and all(isinstance(v, str) for v in result.values())
    assert {"createdtime", "modifiedtime", "id"} <= set(recorded["result"])
    assert no_name["error"] == {"code": "MANDATORY_FIELDS_MISSING", "message": "lastname does not have a value"}
    assert no_owner["error"]["message"] == "assigned_user_id does not have a value"


def test_retrieve_update_revise_and_delete_follow_vtiger(crm, clock):
    session = login(crm)
    account = crm.add_account("Jansen B.V.", email1="info@jansen.nl", bill_city="Ede")
    # When revise changes one field, update sends the record without bill_city, and delete removes it
    clock.advance(5)
    revised = ws(crm, "revise", session, element=json.dumps({"id": account["id"], "phone": "0318-123456"}))["result"]
    updated = ws(crm, "update", session, element=json.dumps({**revised, "bill_city": None}))["result"]
    deleted = ws(crm, "delete", session, id=account["id"])
    # Then revise kept the rest and moved modifiedtime; update emptied the field it did not send
    assert revised["email1"] == "info@jansen.nl" and revised["phone"] == "0318-123456"
    assert revised["modifiedtime"] > account["modifiedtime"]
    assert updated["bill_city"] == ""
    assert deleted["result"] == {"status": "successful"}
    gone = ws(crm, "retrieve", session, id=account["id"])
    assert gone["error"] == {"code": "RECORD_NOT_FOUND", "message": "Record you are trying to access is not found"}
    assert ws(crm, "retrieve", session, id="nonsense")["error"]["code"] == "INVALID_ID_ATTRIBUTE"


# -- query ---------------------------------------------------------------------------------------------------------
def test_query_filters_orders_pages_and_caps_at_100_rows(crm):
    session = login(crm)
    for n in range(130):
        crm.add_product(f"Product {n:03d}", unit_price=str(n))
    # When a client asks for everything, for 500 rows from offset 120, and with conditions
    everything = ws(crm, "query", session, query="SELECT * FROM Products;")["result"]
    tail = ws(crm, "query", session, query="SELECT * FROM Products ORDER BY productname LIMIT 120, 500;")["result"]
    picked = ws(
        crm,
        "query",
        session,
        query="select productname, unit_price from Products where unit_price >= 125 "
        "or productname like '%001' or productname in ('Product 002') order by unit_price desc limit 4;",
    )["result"]
    nothing = ws(crm, "query", session, query="SELECT * FROM Products WHERE productname = 'Nope';")
    # Then vtiger's cap of 100 rows holds, paging works, and the selected columns come with the id
    assert len(everything) == 100 and len(tail) == 10
    assert [p["productname"] for p in picked] == ["Product 129", "Product 128", "Product 127", "Product 126"]
    assert set(picked[0]) == {"productname", "unit_price", "id"} and picked[0]["unit_price"] == "129.00000000"
    assert nothing == sample("query.Leads.empty.response.json")
    found = sample("query.Leads.found.response.json")
    assert set(everything[0]) >= {"assigned_user_id", "createdtime", "modifiedtime", "id"} & set(found["result"][0])


def test_query_mistakes_get_vtigers_errors(crm):
    session = login(crm)
    no_semicolon = ws(crm, "query", session, query="SELECT * FROM Contacts")
    unknown_column = ws(crm, "query", session, query="SELECT * FROM Contacts WHERE shoe_size = 42;")
    bad_reference = ws(crm, "query", session, query="SELECT * FROM Contacts WHERE account_id = '12';")
    assert no_semicolon["error"]["code"] == "QUERY_SYNTAX_ERROR"
    assert unknown_column["error"] == {
        "code": "ACCESS_DENIED",
        "message": "Permission to access shoe_size attribute denied.",
    }
    assert bad_reference["error"] == {"code": "INVALID_ID_ATTRIBUTE", "message": "Id specified is incorrect"}


# -- describe, custom fields, listtypes ----------------------------------------------------------------------------
def test_describe_has_the_recorded_shape_and_shows_a_custom_field_once_added(crm):
    session = login(crm)
    # Given an admin adds a VAT number field to organizations
    vat = crm.add_custom_field("Accounts", "VAT number")
    described = ws(crm, "describe", session, elementType="Accounts")
    recorded = sample("describe.Leads.response.vtiger521.json")
    # Then the describe has the recorded keys, the custom field sits before id, and it can be written and queried
    assert list(described["result"]) == list(recorded["result"])
    fields = {f["name"]: f for f in described["result"]["fields"]}
    names = [f["name"] for f in described["result"]["fields"]]
    assert names[-2:] == [vat, "id"] and vat.startswith("cf_")
    assert fields["accountname"]["mandatory"] is True and fields["assigned_user_id"]["type"] == {"name": "owner"}
    assert set(fields["accountname"]) == set(recorded["result"]["fields"][0])
    assert described["result"]["idPrefix"] == "3"
    made = create(crm, session, "Accounts", {"accountname": "Dansk ApS", vat: "DK12345678", "assigned_user_id": "19x1"})
    found = ws(crm, "query", session, query=f"SELECT accountname FROM Accounts WHERE {vat} = 'DK12345678';")
    assert found["result"] == [{"accountname": "Dansk ApS", "id": made["result"]["id"]}]
    types = ws(crm, "listtypes", session)["result"]
    assert {"Contacts", "Accounts", "Products", "Invoice", "Users"} <= set(types["types"])
    assert types["information"]["Accounts"]["label"] == "Organizations"


# -- invoices ------------------------------------------------------------------------------------------------------
def test_an_invoice_keeps_line_items_and_computes_vtigers_totals(crm):
    session = login(crm)
    account = crm.add_account("Jansen B.V.")
    oven = crm.add_product("Oven", unit_price="1250.00")
    service = crm.add_product("Service", unit_price="80.00")
    element = {
        "subject": "Ovens",
        "account_id": account["id"],
        "assigned_user_id": "19x1",
        "bill_street": "Dorpsstraat 1",
        "ship_street": "Dorpsstraat 1",
        "hdnTaxType": "group",
        "invoicestatus": "Created",
        "LineItems": [
            {"productid": oven["id"], "quantity": "2", "listprice": "1250.00", "discount_percent": "10", "tax1": "21"},
            {"productid": service["id"], "quantity": 3, "discount_amount": "40", "tax1": "21"},
        ],
    }
    # When it is created, and an invoice without lines is tried
    made = create(crm, session, "Invoice", element)["result"]
    bare = create(crm, session, "Invoice", {**element, "LineItems": []})
    # Then lines are stored as vtiger writes them and the totals follow vtiger's arithmetic
    lines = made["LineItems"]
    assert [line["sequence_no"] for line in lines] == ["1", "2"]
    assert lines[0]["quantity"] == "2.000" and lines[0]["listprice"] == "1250.00000000"
    assert lines[1]["listprice"] == "80.00000000"  # taken from the product
    assert made["hdnSubTotal"] == "2450.00000000"  # 2250 + 200
    assert made["hdnGrandTotal"] == "2964.50000000"  # 21 % group tax
    assert made["invoice_no"] == "INV1"
    assert bare["error"] == {"code": "MANDATORY_FIELDS_MISSING", "message": "Mandatory Fields Missing.."}
    assert ws(crm, "retrieve", session, id=made["id"])["result"]["LineItems"] == lines


def test_individual_tax_is_added_to_the_sub_total_line_by_line(crm):
    account = crm.add_account("Jansen B.V.")
    oven = crm.add_product("Oven", unit_price="100")
    made = crm.add_invoice(
        "Ovens", account["id"], [{"productid": oven["id"], "quantity": 1, "tax1": "21"}], hdnTaxType="individual"
    )
    assert made["hdnSubTotal"] == "121.00000000" and made["hdnGrandTotal"] == "121.00000000"


# -- sync ----------------------------------------------------------------------------------------------------------
def test_sync_pages_by_100_and_reports_changes_and_deletions(crm, clock):
    session = login(crm)
    start = int(clock())
    for n in range(150):
        clock.advance(1)
        crm.add_contact(f"Contact {n}")
    # When a connector syncs from the start, twice, after a person edits one and deletes another
    first = ws(crm, "sync", session, modifiedTime=start, elementType="Contacts")["result"]
    second = ws(crm, "sync", session, modifiedTime=first["lastModifiedTime"], elementType="Contacts")["result"]
    clock.advance(10)
    changed = crm.change_by_person(first["updated"][0]["id"], {"email": "c0@example.nl"})
    crm.delete_by_person(first["updated"][1]["id"])
    third = ws(crm, "sync", session, modifiedTime=second["lastModifiedTime"], elementType="Contacts")["result"]
    # Then pages are 100 then 50, and the person's edit and deletion come in the next sync
    assert set(first) == {"updated", "deleted", "lastModifiedTime", "more"}
    assert len(first["updated"]) == 100 and first["more"] is True
    assert len(second["updated"]) == 50 and second["more"] is False
    assert [r["id"] for r in third["updated"]] == [changed["id"]]
    assert third["deleted"] == [first["updated"][1]["id"]]
    quiet = ws(crm, "sync", session, modifiedTime=third["lastModifiedTime"], elementType="Contacts")["result"]
    assert quiet == {"updated": [], "deleted": [], "lastModifiedTime": third["lastModifiedTime"], "more": False}


# -- control routes and faults -------------------------------------------------------------------------------------
def test_control_routes_seed_change_and_read_records(crm):
    base = crm.base_url + "/_sandbox/"
    account = requests.post(base + "seed", json={"module": "Accounts", "element": {"accountname": "A"}}, timeout=5)
    field = requests.post(base + "custom_fields", json={"module": "Accounts", "label": "VAT"}, timeout=5).json()
    requests.post(base + "change", json={"id": account.json()["id"], "changes": {field["name"]: "NL1"}}, timeout=5)
    listed = requests.get(base + "records/Accounts", timeout=5).json()
    assert listed[0][field["name"]] == "NL1"
    requests.post(base + "delete", json={"id": account.json()["id"]}, timeout=5)
    assert requests.get(base + "records/Accounts", timeout=5).json() == []


def test_faults_answer_like_the_web_server_in_front_of_vtiger(crm):
    crm.faults.queue("throttle")
    crm.faults.queue("error")
    url = crm.base_url + "/webservice.php"
    throttled = requests.get(url, params={"operation": "getchallenge", "username": USER}, timeout=5)
    down = requests.get(url, params={"operation": "getchallenge", "username": USER}, timeout=5)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert down.status_code == 503 and "Service Unavailable" in down.text


def test_revising_an_invoice_without_lines_keeps_them_and_recomputes_the_totals(crm):
    session = login(crm)
    account = crm.add_account("Jansen B.V.")
    oven = crm.add_product("Oven", unit_price="100")
    made = crm.add_invoice("Ovens", account["id"], [{"productid": oven["id"], "quantity": 1}], currency_id="21x1")
    # When the discount is revised and the status set to Paid
    change = {"id": made["id"], "hdnDiscountAmount": "10", "invoicestatus": "Paid"}
    revised = ws(crm, "revise", session, element=json.dumps(change))["result"]
    # Then the line (and its id) stays and the grand total follows the discount
    assert revised["LineItems"] == made["LineItems"] and revised["invoicestatus"] == "Paid"
    assert revised["hdnGrandTotal"] == "90.00000000"
