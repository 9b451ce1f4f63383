from __future__ import annotations

from datetime import timedelta

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger, MemoryPublisher
from koppel.model import HubEnvelope
from koppel.ports import CachedToken, DeadLetter
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.replay import ReplayDeps, Selection, replay
from koppel.services.status import health, mark_red, waiting_for_consent
from tests.fakes import T0, FakeBooks, MemoryDeadLetters, a_connection, a_validation_error, an_event


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks()


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


def test_a_parked_record_is_booked_once_after_the_fix_however_often_it_is_replayed(books, ledger) -> None:
    # Given a booking the target refused (a missing ledger), parked
    deliver_deps = DeliverDeps(target=books, target_name="fakebooks", ledger=ledger, clock=lambda: T0)
    books.fail_next_post = a_validation_error()
    assert deliver(an_event("1001"), deliver_deps).outcome == "parked"
    publisher = MemoryPublisher()
    deps = ReplayDeps(ledger=ledger, publisher=publisher, dead_letters=MemoryDeadLetters(), clock=lambda: T0)
    # When the cause is fixed and the operator replays it, twice
    first = replay("demo-shop", ["fakebooks"], Selection(), deps, parked=True, dead=True)
    second = replay("demo-shop", ["fakebooks"], Selection(), deps, parked=True, dead=True)
    # Then it is on the queue once, as a new attempt (replay 1), and delivering it books it once
    assert first.parked == ("fakeshop:order:1001:completed",)
    assert second.parked == ()
    assert publisher.replays["fakebooks"] == [1]
    (event,) = publisher.sent["fakebooks"]
    assert deliver(event, deliver_deps).outcome == "posted"
    assert deliver(event, deliver_deps).outcome == "already_posted"
    assert books.posted_numbers == ["1001"]


def test_replay_can_pick_records_by_id_and_by_time(books, ledger) -> None:
    deliver_deps = DeliverDeps(target=books, target_name="fakebooks", ledger=ledger, clock=lambda: T0)
    for number in ("1001", "1002"):
        books.fail_next_post = a_validation_error()
        deliver(an_event(number), deliver_deps)
    publisher = MemoryPublisher()
    deps = ReplayDeps(ledger=ledger, publisher=publisher, dead_letters=MemoryDeadLetters(), clock=lambda: T0)
    # When only one id is asked for, and then only records parked after a later moment
    picked = replay("demo-shop", ["fakebooks"], Selection(event_ids={"fakeshop:order:1002:completed"}), deps,
                    parked=True, dead=False)  # fmt: skip
    later = replay("demo-shop", ["fakebooks"], Selection(since=T0 + timedelta(hours=1)), deps, parked=True, dead=False)
    # Then exactly those are replayed
    assert picked.parked == ("fakeshop:order:1002:completed",)
    assert later.parked == ()


def test_dead_letters_of_the_connection_go_back_to_their_queue(ledger) -> None:
    mine = HubEnvelope(event=an_event("1001")).model_dump_json()
    theirs = HubEnvelope(event=an_event("2001", connection=a_connection(connection_id="other-shop"))).model_dump_json()
    dead = MemoryDeadLetters(
        letters={
            "fakebooks": [
                DeadLetter(message_id="m1", body=mine, sent_at=T0, envelope_json=mine),
                DeadLetter(message_id="m2", body=theirs, sent_at=T0, envelope_json=theirs),
                DeadLetter(message_id="m3", body="garbage", sent_at=T0, reason="not a Koppel event"),
            ]
        }
    )
    deps = ReplayDeps(ledger=ledger, publisher=MemoryPublisher(), dead_letters=dead, clock=lambda: T0)
    result = replay("demo-shop", ["fakebooks"], Selection(), deps, parked=False, dead=True)
    # Then only this connection's event moved; another tenant's and the unreadable one stay for a person
    assert result.dead == ("fakeshop:order:1001:completed",)
    assert dead.moved == ["m1"]


def test_status_is_red_with_an_action_while_anything_needs_a_person(books, ledger) -> None:
    deliver_deps = DeliverDeps(target=books, target_name="fakebooks", ledger=ledger, clock=lambda: T0)
    deliver(an_event("1001"), deliver_deps)
    books.fail_next_post = a_validation_error()
    deliver(an_event("1002"), deliver_deps)
    # When the connection's health is read
    state = health(a_connection(), ledger, [])
    # Then it is red, names the parked record's reason and says what to do
    assert (state.colour, state.booked, state.parked) == ("red", 1, 1)
    assert "grootboek 8000 bestaat niet" in state.last_error
    assert "koppel replay demo-shop" in state.action
    assert state.last_success == T0


def test_status_is_green_when_all_is_booked_and_red_when_credentials_were_refused(books, ledger) -> None:
    deliver(an_event("1001"), DeliverDeps(target=books, target_name="fakebooks", ledger=ledger, clock=lambda: T0))
    assert health(a_connection(), ledger, []).colour == "green"
    refused = a_connection(status="error", status_reason="SnelStart refused the credentials — reconnect")
    state = health(refused, ledger, [])
    assert state.colour == "red"
    assert "reconnect" in state.action


def test_a_connection_added_before_the_owners_oauth_consent_waits_for_it_and_is_not_red(ledger) -> None:
    # Given a Pipedrive → QuickBooks connection added before either owner gave consent
    store = MemoryConnectionStore([a_connection(connection_id="deals", source="pipedrive", targets=("quickbooks",))])
    # When its first poll and delivery find no grant, as they do (credentials refused)
    mark_red(store, "deals", "Pipedrive is not connected for connection deals: connect it with the owner's consent")
    mark_red(store, "deals", "no QuickBooks Online company is connected (no realm id stored): connect QuickBooks")
    connection = store.get("deals")
    state = health(connection, ledger, [], waiting_for=waiting_for_consent(connection, store))
    # Then it waits for consent, not red, and says which consent links to open
    assert (connection.status, state.colour, state.connection_status) == ("active", "yellow", "waiting for consent")
    assert state.action.startswith("open the consent link")
    assert "koppel connections activate deals pipedrive" in state.action
    assert "koppel connections activate deals quickbooks" in state.action


def test_a_grant_given_and_then_refused_turns_the_connection_red_with_reconnect(ledger) -> None:
    # Given a connection whose owners consented (grants stored) and whose QuickBooks grant was then refused
    store = MemoryConnectionStore([a_connection(connection_id="deals", source="pipedrive", targets=("quickbooks",))])
    grant = CachedToken(value="access", expires_at=T0 + timedelta(hours=1), version=1, refresh_token="refresh")
    for system in ("pipedrive", "quickbooks"):
        store.put_token("deals", system, grant)
    mark_red(store, "deals", "QuickBooks Online no longer accepts this company's grant (invalid_grant)")
    connection = store.get("deals")
    # When its health is read
    state = health(connection, ledger, [], waiting_for=waiting_for_consent(connection, store))
    # Then it is red and says reconnect
    assert waiting_for_consent(connection, store) == ()
    assert (connection.status, state.colour) == ("error", "red")
    assert "reconnect" in state.action
