"""Who sees what in the console (koppel.access) and what it does (services/console.py, services/mapping.py), with
the in-memory stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from koppel.access import Forbidden, Principal, principal_from_claims
from koppel.adapters.memory import MemoryConnectionStore, MemoryJobQueue, MemoryLedger, MemoryPublisher
from koppel.errors import InputError, NotFoundError
from koppel.model import ExternalRef
from koppel.ports import LedgerEntry
from koppel.services import console
from koppel.services.console import ConsoleDeps
from koppel.services.mapping import MappingProblems, change_mapping, read_mapping
from tests.fakes import T0, MemoryDeadLetters, a_connection, an_event

FIRM = Principal(username="anna", email="anna@detelling.nl", role="firm", tenant="de-telling")
CLIENT = Principal(username="piet", email="piet@jansen.nl", role="client", tenant="de-telling", client="jansen")
OTHER_CLIENT = Principal(username="kim", email="kim@nordisk.dk", role="client", tenant="de-telling", client="nordisk")
OTHER_FIRM = Principal(username="bob", email="bob@cijfers.nl", role="firm", tenant="cijfers")
OPERATOR = Principal(username="ops", email="ops@koppel.dev", role="operator")


@pytest.fixture
def deps() -> ConsoleDeps:
    store = MemoryConnectionStore(
        [
            a_connection(connection_id="jansen-snelstart", tenant_id="de-telling", client="jansen", name="Jansen"),
            a_connection(connection_id="nordisk-billy", tenant_id="de-telling", client="nordisk", name="Nordisk"),
            a_connection(connection_id="cijfers-shop", tenant_id="cijfers", client="shop", name="Shop"),
        ]
    )

    def no_connect() -> object:
        raise AssertionError("nothing here issues start links")

    return ConsoleDeps(
        connections=store,
        ledger=MemoryLedger(),
        dead_letters=MemoryDeadLetters(),
        publisher=MemoryPublisher(),
        jobs=MemoryJobQueue(),
        connect=no_connect,  # type: ignore[arg-type]
        clock=lambda: T0 + timedelta(hours=5, minutes=30),
    )


def _ids(principal: Principal, deps: ConsoleDeps) -> list[str]:
    return [c.connection_id for c in console.connections_of(principal, deps)]


def test_a_firm_sees_all_its_clients_a_client_only_its_own_and_an_operator_every_tenant(deps: ConsoleDeps) -> None:
    # Given two firms, one with two clients
    # When each person lists the connections
    # Then the firm sees its two clients', each client its own, the other firm its own, the operator all
    assert _ids(FIRM, deps) == ["jansen-snelstart", "nordisk-billy"]
    assert _ids(CLIENT, deps) == ["jansen-snelstart"]
    assert _ids(OTHER_CLIENT, deps) == ["nordisk-billy"]
    assert _ids(OTHER_FIRM, deps) == ["cijfers-shop"]
    assert _ids(OPERATOR, deps) == ["jansen-snelstart", "nordisk-billy", "cijfers-shop"]


def test_a_connection_someone_may_not_see_is_answered_like_one_that_does_not_exist(deps: ConsoleDeps) -> None:
    # When a client opens another client's connection, and one that does not exist
    with pytest.raises(NotFoundError) as hidden:
        console.connection_of(CLIENT, "nordisk-billy", deps)
    with pytest.raises(NotFoundError) as unknown:
        console.connection_of(CLIENT, "no-such-one", deps)
    # Then both are a 404, and the firm of another tenant gets the same
    assert hidden.value.status == unknown.value.status == 404
    with pytest.raises(NotFoundError):
        console.connection_of(OTHER_FIRM, "jansen-snelstart", deps)


def test_a_client_may_not_disconnect_or_ask_for_a_start_link(deps: ConsoleDeps) -> None:
    connection = console.connection_of(CLIENT, "jansen-snelstart", deps)
    # When the client tries to disconnect or connect again, then it is a 403 naming who may
    with pytest.raises(Forbidden, match="only the accounting firm or an operator"):
        console.disconnect(CLIENT, connection, deps)
    with pytest.raises(Forbidden):
        console.start_link(CLIENT, connection, "fakebooks", deps)
    # And nothing changed
    assert deps.connections.get("jansen-snelstart").status == "active"


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"cognito:username": "x", "custom:tenant": "t"}, "in no console group"),
        ({"cognito:username": "x", "cognito:groups": "[firm]"}, "has no tenant"),
        ({"cognito:username": "x", "cognito:groups": "[client]", "custom:tenant": "t"}, "has no client"),
        ({"cognito:username": "x", "cognito:groups": "[operator]", "token_use": "access"}, "ID token"),
    ],
)
def test_claims_without_a_usable_role_or_scope_are_refused_with_what_to_fix(claims: dict[str, str], words: str) -> None:
    with pytest.raises(Forbidden, match=words):
        principal_from_claims(claims)


def test_groups_are_read_as_api_gateway_renders_them_and_the_stronger_role_wins() -> None:
    # Given a user in two groups, as API Gateway passes a list claim, and as a JSON list
    rendered = {"cognito:username": "anna", "cognito:groups": "[client firm]", "custom:tenant": "de-telling"}
    listed = rendered | {"cognito:groups": ["firm", "client"], "custom:client": "jansen"}
    # Then both are the firm
    assert principal_from_claims(rendered).role == principal_from_claims(listed).role == "firm"


def _booked(deps: ConsoleDeps, event_id: str, at_hour: float) -> None:
    at = T0 + timedelta(hours=at_hour)
    row = deps.ledger.claim(LedgerEntry.pending("jansen-snelstart", "fakebooks", event_id, at, at), at).entry
    deps.ledger.mark_posted(row, ExternalRef(system="fakebooks", id=f"id-{event_id}", number=event_id), at)


def test_bookings_per_hour_count_every_hour_of_the_window_zeros_included(deps: ConsoleDeps) -> None:
    # Given two bookings in hour 1, one in hour 4, one a week before
    for event_id, hour in (("a", 1.1), ("b", 1.9), ("c", 4.5), ("old", -170)):
        _booked(deps, event_id, hour)
    connection = deps.connections.get("jansen-snelstart")
    # When the last six hours are counted (it is 05:30)
    hours = console.bookings_per_hour(connection, 6, deps)
    # Then each hour is there, oldest first, with its count, and the old booking is not
    assert [h["booked"] for h in hours] == [0, 2, 0, 0, 1, 0]
    assert hours[0]["hour"] == T0.isoformat() and len(hours) == 6
    with pytest.raises(InputError, match="1 to 168"):
        console.bookings_per_hour(connection, 500, deps)


def test_retry_sends_a_parked_record_through_again_once(deps: ConsoleDeps) -> None:
    # Given a parked order with its event kept
    connection = deps.connections.get("jansen-snelstart")
    event = an_event("1001", connection)
    entry = LedgerEntry.pending("jansen-snelstart", "fakebooks", event.event_id, T0, T0, event_json="")
    row = deps.ledger.claim(entry.model_copy(update={"event_json": _envelope(event)}), T0).entry
    deps.ledger.mark_parked(row, "FakeBooks: ledger 8999 does not exist", T0)
    # When a person presses Retry on it, twice
    first = console.retry(connection, [event.event_id], deps)
    second = console.retry(connection, [event.event_id], deps)
    # Then it is published once with its replay count, and the second press finds nothing parked
    assert first == [event.event_id] and second == []
    assert deps.publisher.replays == {"fakebooks": [1]}  # type: ignore[attr-defined]
    assert console.history(connection, deps, state="pending", since=None, limit=10)[0]["event_id"] == event.event_id


def _envelope(event: object) -> str:
    from koppel.model import HubEnvelope

    return HubEnvelope.model_validate({"event": event}).model_dump_json()


def test_a_backfill_is_one_poll_job_per_day_on_the_poll_queue(deps: ConsoleDeps) -> None:
    connection = deps.connections.get("jansen-snelstart")
    # When a person backfills three days
    days = console.backfill(connection, T0 - timedelta(days=3), T0, deps)
    # Then three backfill jobs wait for poll_source, day by day
    jobs = deps.jobs.jobs  # type: ignore[attr-defined]
    assert days == 3 and [j.since for j in jobs] == [T0 - timedelta(days=n) for n in (3, 2, 1)]
    assert all(j.is_backfill and j.connection_id == "jansen-snelstart" for j in jobs)
    # And an empty or a two-year window is refused with what to do
    with pytest.raises(InputError, match="empty"):
        console.backfill(connection, T0, T0, deps)
    with pytest.raises(InputError, match="split the window"):
        console.backfill(connection, T0 - timedelta(days=800), T0, deps)


def test_a_history_filter_that_is_no_state_is_refused_with_the_states(deps: ConsoleDeps) -> None:
    with pytest.raises(InputError, match="booked, pending, parked, not-bookable"):
        console.history(deps.connections.get("jansen-snelstart"), deps, state="failed", since=None, limit=10)


def test_the_mapping_is_changed_only_with_ledgers_from_the_synced_chart(deps: ConsoleDeps) -> None:
    # Given a SnelStart connection whose chart was synced (ledgers 8000, 8010, 8020)
    chart = {str(n): f"00000000-0000-0000-0000-{n:012d}" for n in (8000, 8010, 8020)}
    connection = a_connection(targets=("snelstart",), target_settings={"snelstart": {"ledger_ids": chart}})
    store = deps.connections
    store.put(connection)
    shown = read_mapping(connection, "snelstart")
    assert [entry["code"] for entry in shown["ledgers"]] == ["8000", "8010", "8020"]

    # When a ledger that is not in the chart is entered with one that is
    with pytest.raises(MappingProblems) as refused:
        change_mapping(connection, "snelstart", {"revenue_low": "8010", "revenue_high": "8999"}, store)
    # Then nothing is saved and the problem names its field and the ledger
    assert [p["field"] for p in refused.value.problems] == ["revenue_high"]
    assert "8999 is not in the chart" in refused.value.problems[0]["message"]
    assert "revenue_low" not in store.get("demo-shop").target_settings["snelstart"]

    # When only known ledgers are entered, then they are saved as the settings model types them
    change_mapping(connection, "snelstart", {"revenue_low": "8020", "product_group_ledgers": {"Boeken": "8010"}}, store)
    saved = store.get("demo-shop").target_settings["snelstart"]
    assert saved["revenue_low"] == 8020 and saved["product_group_ledgers"] == {"Boeken": 8010}
    assert saved["ledger_ids"] == chart


def test_a_quickbooks_item_is_chosen_from_the_items_and_an_account_from_the_expense_accounts(deps: ConsoleDeps) -> None:
    # Given a QuickBooks connection whose company's Items, expense Accounts and TaxCodes were read when connecting
    synced = {
        "items": {"1": "Sales", "7": "Consulting"},
        "ledgers": {"80": "7000 Purchases"},
        "tax_codes": {"2": "20.0% S"},
    }
    connection = a_connection(targets=("quickbooks",), target_settings={"quickbooks": {"chart": synced}})
    deps.connections.put(connection)
    # When the editor opens, then each field says which list it chooses from, and the lists carry the names
    shown = read_mapping(connection, "quickbooks")
    picks = {field["name"]: field["picks_from"] for field in shown["fields"]}
    assert (
        picks["item_id"] == "items" and picks["expense_account_id"] == "ledgers" and picks["tax_codes"] == "tax_codes"
    )
    assert shown["items"] == [{"code": "1", "name": "Sales"}, {"code": "7", "name": "Consulting"}]
    # When an account's id is entered as the sales Item and an Item's id as the purchases account
    with pytest.raises(MappingProblems) as refused:
        change_mapping(connection, "quickbooks", {"item_id": "80", "expense_account_id": "7"}, deps.connections)
    # Then both are refused by what they are, and nothing is saved
    messages = {p["field"]: p["message"] for p in refused.value.problems}
    assert "Item 80 is not in the chart" in messages["item_id"]
    assert "ledger 7 is not in the chart" in messages["expense_account_id"]
    # When each is chosen from its own list, then it is saved
    change_mapping(connection, "quickbooks", {"item_id": "7", "expense_account_id": "80"}, deps.connections)
    saved = deps.connections.get("demo-shop").target_settings["quickbooks"]
    assert (saved["item_id"], saved["expense_account_id"]) == ("7", "80")


def test_the_overview_readers_share_one_client_without_waiting_for_a_pooled_connection() -> None:
    # Given the client every reader of the overview shares (built without network: only its config is read)
    from koppel import bootstrap

    client = bootstrap._cached_client("dynamodb", "http://127.0.0.1:9")  # no request is sent
    # Then its pool holds a connection for each reader: past the pool, a reader would open and close its own
    assert client.meta.config.max_pool_connections >= console.OVERVIEW_READERS
