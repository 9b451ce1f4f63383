"""What each recorded console event (events/manage__*.json) must answer on the seeded world of devkit.invoke, and
what it must change there: test_events.EXPECTED names these checks.

The signed-in events carry the claims API Gateway's JWT authorizer passes on: a firm user of ``tenant-demo``, the
tenant of every seeded connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from devkit.invoke import EVENTS, prepare
from devkit.stack import TEMPLATE, load_template

if TYPE_CHECKING:
    from devkit.invoke import EventWorld
    from koppel.model import Connection

SEEN_BY_THE_FIRM = ["demo-crm", "demo-deals", "demo-kassa", "demo-shop", "demo-inbox"]
"""Every seeded connection, by client (only demo-inbox has one, Nordisk Design) then name."""
API_HOST = "https://k0pp3l1d2e.execute-api.eu-west-1.amazonaws.com"
"""The domain the events were recorded on: a start link points back at the same API."""


def _body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def _ok(answer: dict[str, Any], status: int = 200) -> Any:
    assert answer["statusCode"] == status, answer
    assert answer["headers"]["Content-Type"] == "application/json", answer
    return _body(answer)


def _stored(connection_id: str) -> Connection:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    return bootstrap.connection_store(StoreSettings.load()).get(connection_id)


def _due_now() -> set[str]:
    """The connections the scheduler would poll now."""
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    due = bootstrap.connection_store(StoreSettings.load()).due(datetime.now(UTC) + timedelta(seconds=1))
    return {poll.connection_id for poll in due}


def _again(world: EventWorld, name: str) -> dict[str, Any]:
    """Another recorded event through ManageFunction, on the world the first one left."""
    answer: dict[str, Any] = world.invoke(prepare("ManageFunction", str(EVENTS / name)))
    return answer


# -- public --------------------------------------------------------------------------------------------------------
def to_the_console_folder(_: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 302, answer
    assert answer["headers"]["Location"] == "/console/index.html"


def the_login_page(_: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 200, answer
    headers = answer["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    # The page runs only its own script and style, and no other site may frame it
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert 'id="login-form"' in answer["body"] and '<label for="password">' in answer["body"]  # the login view


def wrong_password_refused(_: EventWorld, answer: dict[str, Any]) -> None:
    # The seeded world has no console user: the name and password of the event are refused as a wrong login
    assert answer["statusCode"] == 401, answer
    assert "wrong username or password" in _body(answer)["error"]
    assert "id_token" not in answer["body"]


def run_out_first_sign_in_refused(_: EventWorld, answer: dict[str, Any]) -> None:
    # A first sign-in's session Cognito does not hold (run out, used, or never given): log in again, no token
    assert answer["statusCode"] == 401, answer
    assert "log in again" in _body(answer)["error"]
    assert "id_token" not in answer["body"]


def the_api_document(_: EventWorld, answer: dict[str, Any]) -> None:
    document = _ok(answer)
    assert document["openapi"].startswith("3.") and document["info"]["title"] == "Koppel management API"
    # Every /api route of the template is described, but the document itself
    events = load_template(TEMPLATE)["Resources"]["ManageFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"].lower(), e["Properties"]["Path"]) for e in events}
    described = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert described == {(m, p) for m, p in routes if p.startswith("/api/") and p != "/api/openapi.json"}
    assert document["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"


# -- signed in as a firm of tenant-demo ----------------------------------------------------------------------------
def the_firm_itself(_: EventWorld, answer: dict[str, Any]) -> None:
    me = _ok(answer)
    assert me == {
        "username": "anna.detelling",
        "email": "anna@detelling.example",
        "role": "firm",
        "tenant": "tenant-demo",
        "client": "",
    }


def every_connection_of_the_firm(_: EventWorld, answer: dict[str, Any]) -> None:
    views = {view["connection_id"]: view for view in _ok(answer)["connections"]}
    assert list(views) == SEEN_BY_THE_FIRM
    assert {view["colour"] for view in views.values()} == {"green"}  # nothing of the seed failed
    deals = views["demo-deals"]
    assert (deals["booked"], deals["parked"], deals["targets"]) == (
        1,
        0,
        [{"name": "quickbooks", "title": "QuickBooks Online"}],
    )
    assert views["demo-inbox"]["client"] == "nordisk-design-aps"


def the_deals_connection(_: EventWorld, answer: dict[str, Any]) -> None:
    view = _ok(answer)
    assert (view["connection_id"], view["name"], view["source_title"]) == ("demo-deals", "Demo deals", "Pipedrive")
    assert (view["colour"], view["status"], view["action"]) == ("green", "active", "")
    assert view["booked"] == 1 and view["last_success"] is not None and view["last_error"] == ""


def the_deal_booked_in_quickbooks(_: EventWorld, answer: dict[str, Any]) -> None:
    [record] = _ok(answer)["records"]
    assert (record["document"], record["state"], record["target_title"]) == ("PD-801", "booked", "QuickBooks Online")
    assert (record["party"], record["total"]) == ("Van den Berg Installatietechniek B.V.", "EUR 16312.74")
    # The booked invoice opens in QuickBooks (the sandbox's app address stands in for Intuit's)
    assert record["target_document"] == "PD-801" and "/app/invoice?txnId=" in record["target_link"]


def nothing_parked_to_retry(world: EventWorld, answer: dict[str, Any]) -> None:
    assert _ok(answer, 202) == {"replayed": [], "message": "nothing was parked: nothing to retry"}
    assert world.stack.queue_depths()["eboekhouden"] == 0  # nothing was sent through again


def the_till_paused(_: EventWorld, answer: dict[str, Any]) -> None:
    view = _ok(answer)
    assert (view["status"], view["status_reason"]) == ("paused", "the till is being replaced this week")
    stored = _stored("demo-kassa")
    assert (stored.status, stored.status_reason) == ("paused", "the till is being replaced this week")
    assert "demo-kassa" not in _due_now()  # the scheduler no longer polls it


def the_till_polled_again(world: EventWorld, answer: dict[str, Any]) -> None:
    # An active connection resumes as it is
    assert _ok(answer)["status"] == "active"
    # and a paused one is active again and due for its next poll at once
    assert _again(world, "manage__pause.json")["statusCode"] == 200
    assert "demo-kassa" not in _due_now()
    view = _ok(_again(world, "manage__resume.json"))
    assert (view["status"], view["status_reason"], _stored("demo-kassa").status) == ("active", "", "active")
    assert "demo-kassa" in _due_now()


def three_days_queued(world: EventWorld, answer: dict[str, Any]) -> None:
    said = _ok(answer, 202)
    assert said["jobs"] == 3 and said["message"].startswith("3 day(s) queued")
    assert world.stack.queue_depths()["poll"] == 3  # one poll job per day of 20-23 November


def one_booking_this_hour(_: EventWorld, answer: dict[str, Any]) -> None:
    hours = _ok(answer)["hours"]
    # 24 hours on the hour, oldest first, ending with this one (or the one before, when an hour turned meanwhile)
    moments = [datetime.fromisoformat(h["hour"]) for h in hours]
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert moments == [moments[-1] - timedelta(hours=23 - n) for n in range(24)]
    assert this_hour - moments[-1] in (timedelta(0), timedelta(hours=1))
    # demo-deals' seed booked PD-801 moments ago: one booking, in the last hour (the one before at an hour's turn)
    booked = [h["booked"] for h in hours]
    assert sum(booked) == 1 and booked.index(1) >= 22


def snelstarts_mapping(_: EventWorld, answer: dict[str, Any]) -> None:
    mapping = _ok(answer)
    assert (mapping["target"], mapping["title"]) == ("snelstart", "SnelStart")
    fields = {field["name"]: field for field in mapping["fields"]}
    assert fields["revenue_high"]["kind"] == "ledger" and fields["revenue_high"]["value"] is None  # the default
    assert fields["product_group_ledgers"]["kind"] == "ledger_map"
    # The chart is the ledgers the activation synced from SnelStart
    assert [ledger["code"] for ledger in mapping["ledgers"]] == ["8000", "8010", "8020", "8050", "8060"]


def revenue_on_another_ledger(_: EventWorld, answer: dict[str, Any]) -> None:
    fields = {field["name"]: field["value"] for field in _ok(answer)["fields"]}
    assert (fields["revenue_high"], fields["product_group_ledgers"]) == ("8010", {"Gebak": "8020"})
    settings = _stored("demo-shop").target_settings["snelstart"]
    # stored as SnelStart's settings read them: ledger numbers
    assert (settings["revenue_high"], settings["product_group_ledgers"]) == (8010, {"Gebak": 8020})
    synced = settings["ledger_ids"]
    assert isinstance(synced, dict) and sorted(synced) == ["8000", "8010", "8020", "8050", "8060"]  # the chart is kept


def a_new_start_link(_: EventWorld, answer: dict[str, Any]) -> None:
    from koppel import bootstrap
    from koppel.inbound import digest
    from koppel.settings import StoreSettings

    link = _ok(answer)
    prefix = f"{API_HOST}/connect/snelstart/start?token="
    assert link["url"].startswith(prefix), link
    now = datetime.now(UTC)
    assert now < datetime.fromisoformat(link["expires_at"]) <= now + timedelta(minutes=15)
    # The link's token opens demo-shop's SnelStart activation
    grant = bootstrap.grant_store(StoreSettings.load()).find(digest(link["url"].removeprefix(prefix)), "start", now)
    assert grant is not None and (grant.connection_id, grant.system) == ("demo-shop", "snelstart")


def the_till_disconnected(_: EventWorld, answer: dict[str, Any]) -> None:
    view = _ok(answer)
    assert (view["status"], view["colour"]) == ("disconnected", "red")
    assert "disconnected by anna.detelling in the console" in view["action"]
    stored = _stored("demo-kassa")
    assert stored.status == "disconnected" and "demo-kassa" not in _due_now()
