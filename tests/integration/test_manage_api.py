"""The console's management API on the local stack, through the local API Gateway and its Cognito JWT authorizer:
every answer matches the OpenAPI document the function serves, and on every route a person sees and changes only
what their role opens (the isolation tests of docs/security.md, for the console)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from devkit.koppelingen import cli, cli_output
from devkit.local import LocalStack
from devkit.stack import load_template
from koppel import bootstrap
from koppel.errors import InputError
from koppel.model import Connection, HubEnvelope
from koppel.ports import LedgerEntry
from koppel.settings import StoreSettings
from tests.fakes import an_event

if TYPE_CHECKING:
    from collections.abc import Iterator

PASSWORD = "Console-Test-2026"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
PEOPLE = {
    "firm": ("anna", "--role=firm", "--tenant=de-telling"),
    "client": ("piet", "--role=client", "--tenant=de-telling", "--client=jansen"),
    "other_client": ("mette", "--role=client", "--tenant=de-telling", "--client=nordisk"),
    "other_firm": ("bob", "--role=firm", "--tenant=cijfers"),
    "operator": ("ops", "--role=operator"),
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as started:
        store = bootstrap.connection_store(StoreSettings.load())
        for connection_id, tenant, client in (
            ("jansen-shop", "de-telling", "jansen"),
            ("nordisk-shop", "de-telling", "nordisk"),
            ("cijfers-shop", "cijfers", "winkel"),
        ):
            store.put(
                Connection(
                    connection_id=connection_id, tenant_id=tenant, client=client, name=connection_id,
                    source="ccvshop", targets=("snelstart",), created_at=T0,
                )
            )  # fmt: skip
        _parked(connection_id="jansen-shop")
        for username, *options in PEOPLE.values():
            email, password = f"--email={username}@example.com", f"--password={PASSWORD}"
            cli("users", "add", username, email, password, "--permanent", *options)
        yield started


def _parked(connection_id: str) -> None:
    ledger = bootstrap.ledger(StoreSettings.load())
    connection = bootstrap.connection_store(StoreSettings.load()).get(connection_id)
    event = an_event("1001", connection)
    kept = HubEnvelope.model_validate({"event": event}).model_dump_json()
    fresh = LedgerEntry.pending(connection_id, "snelstart", event.event_id, T0, T0, document_number="1001")
    row = ledger.claim(fresh.model_copy(update={"event_json": kept}), T0).entry
    ledger.mark_parked(row, "SnelStart: grootboek 8999 bestaat niet", T0)


@pytest.fixture(scope="module")
def tokens(stack: LocalStack) -> dict[str, str]:
    signed = {}
    for role, (username, *_) in PEOPLE.items():
        answer = requests.post(
            f"{stack.http_url}/api/session", json={"username": username, "password": PASSWORD}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        signed[role] = answer.json()["id_token"]
    return signed


@pytest.fixture(scope="module")
def openapi(stack: LocalStack) -> dict[str, Any]:
    answer = requests.get(f"{stack.http_url}/api/openapi.json", timeout=10)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def _call(stack: LocalStack, token: str | None, method: str, path: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{stack.http_url}{path}", json=body, headers=headers, timeout=10)


def _conforms(openapi: dict[str, Any], method: str, route: str, answer: requests.Response) -> None:
    """The answer's status is one the document names for the route, and its body matches that status's schema."""
    responses = openapi["paths"][route][method.lower()]["responses"]
    assert str(answer.status_code) in responses, (route, answer.status_code, answer.text)
    schema = responses[str(answer.status_code)]["content"]["application/json"]["schema"]
    registry: Registry[Any] = Registry().with_resource("urn:koppel-api", DRAFT202012.create_resource(openapi))
    rooted = {"$ref": "urn:koppel-api#" + schema["$ref"].removeprefix("#")} if "$ref" in schema else schema
    Draft202012Validator(rooted, registry=registry).validate(answer.json())


# Every signed-in route of ManageFunction (from the template), with a request that shows it working
ROUTES: dict[str, tuple[str, Any, int]] = {
    "GET /api/me": ("/api/me", None, 200),
    "GET /api/connections": ("/api/connections", None, 200),
    "GET /api/connections/{connection_id}": ("/api/connections/jansen-shop", None, 200),
    "GET /api/connections/{connection_id}/history": ("/api/connections/jansen-shop/history?limit=10", None, 200),
    "GET /api/connections/{connection_id}/bookings": ("/api/connections/jansen-shop/bookings?hours=6", None, 200),
    "GET /api/connections/{connection_id}/mapping/{target}": (
        "/api/connections/jansen-shop/mapping/snelstart", None, 200,
    ),
    "PUT /api/connections/{connection_id}/mapping/{target}": (
        "/api/connections/jansen-shop/mapping/snelstart", {"fields": {"revenue_low": "8010"}}, 200,
    ),
    "POST /api/connections/{connection_id}/pause": ("/api/connections/jansen-shop/pause", {"reason": "closing"}, 200),
    "POST /api/connections/{connection_id}/resume": ("/api/connections/jansen-shop/resume", None, 200),
    "POST /api/connections/{connection_id}/backfill": (
        "/api/connections/jansen-shop/backfill", {"since": (T0 - timedelta(days=1)).date().isoformat()}, 202,
    ),
    "POST /api/connections/{connection_id}/replay": ("/api/connections/jansen-shop/replay", {"event_ids": []}, 202),
    "POST /api/connections/{connection_id}/connect/{system}": (
        "/api/connections/jansen-shop/connect/snelstart", None, 200,
    ),
    "POST /api/connections/{connection_id}/disconnect": ("/api/connections/jansen-shop/disconnect", None, 200),
}  # fmt: skip
ORDER = list(ROUTES)  # disconnect last: it ends the connection's traffic


def _manage_routes() -> set[str]:
    events = load_template()["Resources"]["ManageFunction"]["Properties"]["Events"].values()
    return {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if "Auth" in e["Properties"]}


def test_every_signed_in_route_is_covered_here() -> None:
    # Given the template's routes behind the authorizer, then each has a case below (a new route needs one)
    assert _manage_routes() == set(ROUTES)


def _route_of(key: str) -> tuple[str, str]:
    method, _, path = key.partition(" ")
    return method, path


@pytest.mark.parametrize("key", ORDER)
def test_someone_else_gets_the_same_404_as_for_an_unknown_connection_and_nothing_changes(
    stack: LocalStack, tokens: dict[str, str], openapi: dict[str, Any], key: str
) -> None:
    method, route = _route_of(key)
    path, body, _ = ROUTES[key]
    if "{connection_id}" not in route:
        pytest.skip("not about one connection")
    before = _call(stack, tokens["firm"], "GET", "/api/connections/jansen-shop").json()
    # When the bakery's connection is asked for by the studio and by another firm, and an unknown one by the bakery
    theirs = [_call(stack, tokens[who], method, path, body) for who in ("other_client", "other_firm")]
    unknown = _call(stack, tokens["client"], method, path.replace("jansen-shop", "no-such-shop"), body)
    # Then all three are the same 404, as the document says, and the bakery's connection is as it was
    for answer in (*theirs, unknown):
        assert answer.status_code == 404, answer.text
        _conforms(openapi, method, route, answer)
    assert {re.sub("no-such-shop", "jansen-shop", a.text) for a in (*theirs, unknown)} == {theirs[0].text}
    assert _call(stack, tokens["firm"], "GET", "/api/connections/jansen-shop").json() == before


@pytest.mark.parametrize("key", ORDER)
def test_without_a_valid_token_api_gateway_refuses_before_the_function_runs(stack: LocalStack, key: str) -> None:
    method, _ = _route_of(key)
    path, body, _ = ROUTES[key]
    invoked = stack.invocations.count.get("ManageFunction", 0)
    # When the route is called with no token and with a token whose signature was changed
    forged = _call(stack, None, "GET", "/api/me")
    for token in (None, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"):
        answer = _call(stack, token, method, path, body)
        # Then API Gateway answers 401 itself, and the function never ran
        assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})
    assert forged.status_code == 401
    assert stack.invocations.count.get("ManageFunction", 0) == invoked


def test_a_client_may_not_connect_or_disconnect_but_its_firm_may(stack: LocalStack, tokens: dict[str, str]) -> None:
    # When the bakery asks for a start link and to disconnect, then both are refused with who may
    for path in ("/api/connections/jansen-shop/connect/snelstart", "/api/connections/jansen-shop/disconnect"):
        answer = _call(stack, tokens["client"], "POST", path)
        assert answer.status_code == 403 and "accounting firm or an operator" in answer.json()["error"]
    # And the connection is still active
    assert _call(stack, tokens["firm"], "GET", "/api/connections/jansen-shop").json()["status"] != "disconnected"


def test_each_role_lists_only_what_it_may_see(stack: LocalStack, tokens: dict[str, str]) -> None:
    def listed(role: str) -> list[str]:
        return [c["connection_id"] for c in _call(stack, tokens[role], "GET", "/api/connections").json()["connections"]]

    assert listed("firm") == ["jansen-shop", "nordisk-shop"]
    assert listed("client") == ["jansen-shop"]
    assert listed("other_client") == ["nordisk-shop"]
    assert listed("other_firm") == ["cijfers-shop"]
    assert sorted(listed("operator")) == ["cijfers-shop", "jansen-shop", "nordisk-shop"]


def test_every_route_works_for_the_firm_and_answers_as_the_document_says(
    stack: LocalStack, tokens: dict[str, str], openapi: dict[str, Any]
) -> None:
    # When the firm uses every route on its client's connection, in order (disconnect last)
    for key in ORDER:
        method, route = _route_of(key)
        path, body, status = ROUTES[key]
        answer = _call(stack, tokens["firm"], method, path, body)
        # Then each answers as promised, matching the OpenAPI document
        assert answer.status_code == status, (key, answer.text)
        _conforms(openapi, method, route, answer)
    # And what they did holds: the parked record went through again, the start link opens SnelStart's activation
    history = _call(stack, tokens["firm"], "GET", "/api/connections/jansen-shop/history").json()["records"]
    assert [(r["document"], r["state"], r["replays"]) for r in history] == [("1001", "pending", 1)]
    assert stack.queue_depths()["poll"] >= 1


def test_sign_in_refuses_a_wrong_password_like_an_unknown_user(stack: LocalStack, openapi: dict[str, Any]) -> None:
    wrong = [{"username": user, "password": "Wrong-pass-2026"} for user in ("anna", "nobody-at-all")]
    # When a known user gives a wrong password, and someone who is no user signs in
    answers = [requests.post(f"{stack.http_url}/api/session", json=body, timeout=10) for body in wrong]
    # Then both get the same 401: the answer does not tell which usernames exist
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()
    _conforms(openapi, "POST", "/api/session", answers[0])


def test_a_new_person_chooses_their_own_password_at_the_first_sign_in_and_the_operators_stops_working(
    stack: LocalStack, openapi: dict[str, Any]
) -> None:
    # Given a client an operator has just added, with the first password the operator gave them
    first, own = "Temporary-Pass-2026", "Only-Mine-Secret-77"
    cli("users", "add", "joost", "--email=joost@example.com", f"--password={first}", "--role=client",
        "--tenant=de-telling", "--client=jansen")  # fmt: skip
    session_url = f"{stack.http_url}/api/session"
    # When they sign in with it, then there is no token yet: they are asked to choose a password of their own
    asked = requests.post(session_url, json={"username": "joost", "password": first}, timeout=10)
    assert asked.status_code == 202, asked.text
    assert "id_token" not in asked.json() and "12 characters" in asked.json()["rules"]
    _conforms(openapi, "POST", "/api/session", asked)
    choose = f"{session_url}/password"
    chosen = {"username": "joost", "session": asked.json()["session"]}
    # When the one they choose is too weak, then they hear what it needs and may try again with the same session
    weak = requests.post(choose, json=chosen | {"new_password": "short"}, timeout=10)
    assert weak.status_code == 400 and "12 characters" in weak.json()["error"]
    _conforms(openapi, "POST", "/api/session/password", weak)
    # When they choose a good one, then they are signed in as themselves and see their own connection
    signed = requests.post(choose, json=chosen | {"new_password": own}, timeout=10)
    assert signed.status_code == 200, signed.text
    _conforms(openapi, "POST", "/api/session/password", signed)
    assert signed.json()["user"] == {
        "username": "joost", "email": "joost@example.com", "role": "client", "tenant": "de-telling", "client": "jansen",
    }  # fmt: skip
    listed = _call(stack, signed.json()["id_token"], "GET", "/api/connections").json()
    assert [c["connection_id"] for c in listed["connections"]] == ["jansen-shop"]
    # Then the operator's password no longer signs in, their own does, and the used session cannot be replayed
    assert requests.post(session_url, json={"username": "joost", "password": first}, timeout=10).status_code == 401
    assert requests.post(session_url, json={"username": "joost", "password": own}, timeout=10).status_code == 200
    replayed = requests.post(choose, json=chosen | {"new_password": "Another-Secret-88"}, timeout=10)
    assert replayed.status_code == 401 and "log in again" in replayed.json()["error"]


def test_an_operator_lists_people_and_resets_a_forgotten_password_to_a_new_first_one(stack: LocalStack) -> None:
    # Given a client who has chosen their own password at the first sign-in
    session_url = f"{stack.http_url}/api/session"
    cli("users", "add", "kim", "--email=kim@example.com", "--password=First-Kim-2026", "--role=client",
        "--tenant=de-telling", "--client=nordisk")  # fmt: skip
    assert re.search(r"kim .*client.*nordisk.*still the first one", cli_output("users", "list"))
    asked = requests.post(session_url, json={"username": "kim", "password": "First-Kim-2026"}, timeout=10).json()
    own = {"username": "kim", "session": asked["session"], "new_password": "Kims-Own-Secret-1"}
    assert requests.post(f"{session_url}/password", json=own, timeout=10).status_code == 200
    # Then the operator's list shows every person with their role and scope, and that kim's password is her own
    listed = cli_output("users", "list")
    assert re.search(r"kim .*client.*de-telling.*nordisk.*their own", listed)
    assert re.search(r"ops .*operator", listed) and re.search(r"anna .*firm.*de-telling", listed)
    # When she forgets it and the operator resets it
    cli("users", "reset", "kim", "--password=Reset-Kim-2026")
    # Then her old password signs in no more, and the new one asks her to choose her own again
    old = requests.post(session_url, json={"username": "kim", "password": "Kims-Own-Secret-1"}, timeout=10)
    assert old.status_code == 401
    again = requests.post(session_url, json={"username": "kim", "password": "Reset-Kim-2026"}, timeout=10)
    assert again.status_code == 202 and again.json()["next"] == "choose-password"
    # And a reset for someone who is no user says where to look
    with pytest.raises(InputError, match="koppel users list"):
        cli("users", "reset", "nobody-here")


def test_the_console_page_is_served_with_a_strict_policy(stack: LocalStack) -> None:
    # When a browser opens /console, then it lands on the page, which allows no script but its own
    opened = requests.get(f"{stack.http_url}/console", timeout=10)
    assert opened.url.endswith("/console/index.html") and opened.status_code == 200
    assert "script-src 'self'" in opened.headers["Content-Security-Policy"]
    assert opened.headers["X-Frame-Options"] == "DENY"
    # And a file outside the console's folder is no page
    for name in ("..%2Fapp.py", "app.py", "%2e%2e%2fapp.py"):
        assert requests.get(f"{stack.http_url}/console/{name}", timeout=10).status_code == 404
