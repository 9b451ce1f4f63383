"""Activation that only the owner can start: each take-over the security probe found, tried again and refused."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryGrantStore
from koppel.errors import AuthError, InputError, NotFoundError, RetryableError, SignatureError
from koppel.inbound import digest
from koppel.ports import Activation, CachedToken
from koppel.services.connect import (
    ConnectDeps,
    begin_activation,
    connect_credentials,
    disconnect_all,
    issue_start_link,
    receive_activation,
    receive_callback,
)
from tests.fakes import T0, a_connection

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.model import Connection


class FakeVendor:
    """The target vendor's view of credentials: which keys it takes right now (a key it retired is refused)."""

    def __init__(self) -> None:
        self.valid: set[str] = set()
        self.busy = False
        self.tried: list[str] = []

    def target_with(self, connection: Connection, system: str, credentials: Mapping[str, str]) -> FakeTarget:
        return FakeTarget(self, credentials.get("koppelsleutel", credentials.get("api_token", "")))

    def start_url(self, *, success_url: str, reference_key: str, partner: Mapping[str, str], settings: object) -> str:
        return f"https://vendor/activate?referenceKey={reference_key}"

    def parse_callback(self, body: bytes) -> Activation:
        return Activation.model_validate_json(body)


class FakeTarget:
    """A target connector built with one key: its after-connect step reads the chart, if the vendor takes the key."""

    def __init__(self, vendor: FakeVendor, key: str) -> None:
        self.vendor, self.key = vendor, key

    def after_connect(self) -> dict:
        self.vendor.tried.append(self.key)
        if self.vendor.busy:
            raise RetryableError("the vendor answered 503")
        if self.key not in self.vendor.valid:
            raise AuthError("the vendor refused the key (invalid_grant)")
        return {"ledger_ids": {"8000": f"g-8000-of-{administratie(self.key)}"}}


def administratie(key: str) -> str:
    """Each key opens its own administratie, whose ledger ids differ (and do not spell the key)."""
    return str(sum(key.encode()))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore([a_connection(), a_connection(connection_id="other-shop", tenant_id="other")])


@pytest.fixture
def vendor() -> FakeVendor:
    vendor = FakeVendor()
    vendor.valid |= {"OWNER-KEY", "OTHER-KEY"}
    return vendor


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def grants() -> MemoryGrantStore:
    return MemoryGrantStore()


@pytest.fixture
def deps(store, vendor, clock, grants) -> ConnectDeps:
    return ConnectDeps(
        connections=store,
        grants=grants,
        target_with=vendor.target_with,
        activation_for=lambda target: vendor,
        clock=clock,
    )


def reference_of(url: str) -> str:
    return url.rsplit("referenceKey=", 1)[1]


def owner_starts(store, deps, connection_id: str = "demo-shop") -> str:
    """The owner asks the CLI for a start link and opens it: the reference the vendor page carries."""
    token = issue_start_link(store.get(connection_id), "fakebooks", deps)
    return reference_of(begin_activation("fakebooks", token, deps).vendor_url)


def create(reference: str, key: str) -> Activation:
    return Activation(action="create", credential=key, credential_name="koppelsleutel", reference=reference)


def activated(store, deps, connection_id: str = "demo-shop", key: str = "OWNER-KEY") -> str:
    reference = owner_starts(store, deps, connection_id)
    receive_activation("fakebooks", create(reference, key), deps)
    return reference


def test_the_owners_activation_stores_the_credential_apart_and_syncs_the_chart(store, deps) -> None:
    # Given the owner opened a start link and was sent to the vendor with a reference
    reference = owner_starts(store, deps)
    # When the vendor calls back with the administratie's key for it
    connection = receive_activation("fakebooks", create(reference, "OWNER-KEY"), deps)
    # Then the key is stored as a secret (not in the connection) and the chart of accounts was synced with it
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY"}
    assert "OWNER-KEY" not in connection.model_dump_json()
    assert reference not in connection.model_dump_json()
    assert connection.target_settings["fakebooks"]["ledger_ids"] == {"8000": f"g-8000-of-{administratie('OWNER-KEY')}"}
    assert connection.status == "active"


@pytest.mark.parametrize("token", [None, "", "demo-shop", "x" * 43, "ç" * 43, "a/b" * 15, "A" * 500])
def test_start_needs_a_start_link_the_owner_was_given(store, deps, grants, token) -> None:
    # When someone who knows only the connection id (or guesses a token) opens the start address
    with pytest.raises(SignatureError, match="not one Koppel issued"):
        begin_activation("fakebooks", token, deps)
    # Then no activation reference exists for them to use
    assert grants.grants == {}


def test_a_start_link_works_once(store, deps) -> None:
    token = issue_start_link(store.get("demo-shop"), "fakebooks", deps)
    begin_activation("fakebooks", token, deps)
    # When the same link is opened a second time (a forwarded e-mail, a browser history)
    with pytest.raises(SignatureError):
        begin_activation("fakebooks", token, deps)


def test_a_start_link_expires_after_minutes(store, deps, clock) -> None:
    token = issue_start_link(store.get("demo-shop"), "fakebooks", deps)
    # When it is opened sixteen minutes later
    clock.now += timedelta(minutes=16)
    with pytest.raises(SignatureError):
        begin_activation("fakebooks", token, deps)


def test_a_start_link_opens_only_the_target_it_was_issued_for(store, deps) -> None:
    token = issue_start_link(store.get("demo-shop"), "fakebooks", deps)
    with pytest.raises(SignatureError):
        begin_activation("otherbooks", token, deps)


def test_a_start_link_for_a_target_the_connection_does_not_have_is_not_issued(store, deps) -> None:
    with pytest.raises(InputError, match="has no system"):
        issue_start_link(store.get("demo-shop"), "otherbooks", deps)


@pytest.mark.parametrize("reference", ["demo-shop.guess", "", "é" * 40, "²" * 40, "x" * 43, ".nonce-of-nothing" * 3])
def test_a_callback_without_a_matching_pending_start_is_refused(store, deps, reference) -> None:
    # Given the owner started an activation (so a pending reference exists)
    owner_starts(store, deps)
    # When a forged Create arrives with any other reference, ASCII or not
    with pytest.raises(SignatureError, match="not one Koppel issued"):
        receive_activation("fakebooks", create(reference, "ATTACKER-KEY"), deps)
    # Then nothing is stored
    assert store.get_secrets("demo-shop", "fakebooks") == {}


def test_the_activation_reference_is_single_use_a_replayed_create_changes_nothing(store, deps, vendor) -> None:
    reference = activated(store, deps)
    vendor.valid.add("ATTACKER-KEY")
    # When the genuine callback is replayed, now carrying the attacker's own key
    for _ in range(5):
        with pytest.raises(InputError, match="already received") as refused:
            receive_activation("fakebooks", create(reference, "ATTACKER-KEY"), deps)
        assert refused.value.status == 409
    # Then the connection still books into the owner's administratie
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY"}


def test_the_activation_reference_expires_within_minutes(store, deps, clock) -> None:
    reference = owner_starts(store, deps)
    clock.now += timedelta(minutes=16)
    with pytest.raises(SignatureError):
        receive_activation("fakebooks", create(reference, "OWNER-KEY"), deps)
    assert store.get_secrets("demo-shop", "fakebooks") == {}


def test_a_forged_delete_while_the_vendor_still_takes_the_key_changes_nothing(store, deps) -> None:
    # Given a live connection whose activation reference an attacker somehow holds
    reference = activated(store, deps)
    # When the attacker sends a Delete with it
    with pytest.raises(InputError, match="still accepts") as refused:
        receive_activation("fakebooks", Activation(action="delete", reference=reference), deps)
    # Then the vendor's own word (the key still works) wins: the connection keeps its key and stays active
    assert refused.value.status == 409
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY"}
    assert store.get("demo-shop").status == "active"


def test_a_genuine_delete_after_the_vendor_revoked_the_key_disconnects_and_forgets_it(store, deps, vendor) -> None:
    reference = activated(store, deps)
    # Given the user removed the koppeling in the vendor's web app: the key stopped working there
    vendor.valid.discard("OWNER-KEY")
    # When the vendor's Delete arrives
    connection = receive_activation("fakebooks", Activation(action="delete", reference=reference), deps)
    # Then the connection is disconnected, the key forgotten, and the reference no longer opens anything
    assert connection.status == "disconnected"
    assert store.get_secrets("demo-shop", "fakebooks") == {}
    with pytest.raises(SignatureError):
        receive_activation("fakebooks", create(reference, "OWNER-KEY"), deps)


def test_a_regenerated_key_replaces_the_retired_one(store, deps, vendor) -> None:
    reference = activated(store, deps)
    # Given the user regenerated the key at the vendor: the old one is retired, a new one works
    vendor.valid.discard("OWNER-KEY")
    vendor.valid.add("OWNER-KEY-2")
    regenerate = Activation(
        action="regenerate", credential="OWNER-KEY-2", credential_name="koppelsleutel", reference=reference
    )
    connection = receive_activation("fakebooks", regenerate, deps)
    assert connection.status == "active"
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY-2"}


def test_a_forged_regenerate_with_the_attackers_key_is_refused(store, deps, vendor) -> None:
    reference = activated(store, deps)
    vendor.valid.add("ATTACKER-KEY")
    forged = Activation(
        action="regenerate", credential="ATTACKER-KEY", credential_name="koppelsleutel", reference=reference
    )
    with pytest.raises(InputError, match="still accepts"):
        receive_activation("fakebooks", forged, deps)
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY"}


def test_a_junk_key_leaves_the_connection_as_it_was(store, deps) -> None:
    # Given a live connection, and the owner activating again
    activated(store, deps)
    reference = owner_starts(store, deps)
    # When the callback carries a key the vendor does not take
    with pytest.raises(InputError, match="did not accept") as refused:
        receive_activation("fakebooks", create(reference, "JUNK"), deps)
    # Then it is a 422 and the connection keeps its working key, status and chart
    assert refused.value.status == 422
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY"}
    connection = store.get("demo-shop")
    assert connection.status == "active"
    assert connection.target_settings["fakebooks"]["ledger_ids"] == {"8000": f"g-8000-of-{administratie('OWNER-KEY')}"}


def test_a_junk_key_on_a_new_connection_does_not_make_it_active(store, deps) -> None:
    store.put(store.get("demo-shop").model_copy(update={"status": "disconnected"}))
    reference = owner_starts(store, deps)
    with pytest.raises(InputError, match="did not accept"):
        receive_activation("fakebooks", create(reference, "JUNK"), deps)
    assert store.get_secrets("demo-shop", "fakebooks") == {}
    assert store.get("demo-shop").status == "disconnected"


def test_a_busy_vendor_lets_its_retried_callback_connect(store, deps, vendor) -> None:
    reference = owner_starts(store, deps)
    vendor.busy = True
    with pytest.raises(RetryableError):
        receive_activation("fakebooks", create(reference, "OWNER-KEY"), deps)
    # When the vendor retries its callback once it is up again
    vendor.busy = False
    connection = receive_activation("fakebooks", create(reference, "OWNER-KEY"), deps)
    assert connection.status == "active"


def test_activating_again_ends_the_previous_link(store, deps, vendor) -> None:
    old = activated(store, deps)
    vendor.valid.add("OWNER-KEY-2")
    activated(store, deps, key="OWNER-KEY-2")
    vendor.valid.clear()
    # When a Delete comes with the old reference, then it opens nothing any more
    with pytest.raises(SignatureError):
        receive_activation("fakebooks", Activation(action="delete", reference=old), deps)
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY-2"}


def test_one_tenants_reference_never_touches_another_tenants_connection(store, deps, vendor) -> None:
    # Given two tenants, each activated with their own key
    mine = activated(store, deps, "demo-shop", "OWNER-KEY")
    activated(store, deps, "other-shop", "OTHER-KEY")
    # When the first tenant's key is revoked and its Delete arrives
    vendor.valid.discard("OWNER-KEY")
    receive_activation("fakebooks", Activation(action="delete", reference=mine), deps)
    # Then only the first tenant's connection is disconnected
    assert store.get("demo-shop").status == "disconnected"
    assert store.get("other-shop").status == "active"
    assert store.get_secrets("other-shop", "fakebooks") == {"koppelsleutel": "OTHER-KEY"}


def test_disconnecting_forgets_every_credential_and_token_and_reconnecting_reactivates(store, deps, vendor) -> None:
    # Given a connection with credentials and a cached access token for its source and its target
    connection = store.get("demo-shop")
    for system in (connection.source, *connection.targets):
        store.put_secrets("demo-shop", system, {"api_key": f"{system}-key"})
        store.put_token("demo-shop", system, CachedToken(value="t", expires_at=T0 + timedelta(hours=1), version=1))

    # When the user disconnects it
    disconnected = disconnect_all(connection, deps, reason="by the user")

    # Then nothing of any system is kept and the connection says why it is stopped
    assert disconnected.status == "disconnected"
    for system in (connection.source, *connection.targets):
        assert store.get_secrets("demo-shop", system) == {}
        assert store.get_token("demo-shop", system) is None

    # When the target is connected again with credentials the vendor takes, then it is active and its chart synced
    vendor.valid.add("NEW")
    reconnected = connect_credentials(disconnected, "fakebooks", {"api_token": "NEW"}, deps)
    assert reconnected.status == "active"
    assert store.get_secrets("demo-shop", "fakebooks") == {"api_token": "NEW"}
    assert reconnected.target_settings["fakebooks"]["ledger_ids"] == {"8000": f"g-8000-of-{administratie('NEW')}"}


def test_the_callback_body_is_read_by_the_target_s_own_flow_and_connects(store, deps, vendor) -> None:
    # Given the owner started an activation, when the vendor's callback arrives as raw bytes
    reference = owner_starts(store, deps)
    body = create(reference, "OWNER-KEY").model_dump_json().encode()
    activation, connection = receive_callback("fakebooks", body, deps)
    # Then the flow read it, and the key is stored once the vendor took it
    assert activation.action == "create"
    assert connection.status == "active"
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "OWNER-KEY"}


def test_a_target_without_an_activation_callback_gets_no_start_link_and_uses_up_none(store, deps, grants) -> None:
    # Given a target whose vendor activates with API keys, not by calling back
    def no_flow(target: str) -> object:
        raise NotFoundError(f"{target} has no activation callback: connect it with `koppel connections connect`")

    token = issue_start_link(store.get("demo-shop"), "fakebooks", deps)
    deps.activation_for = no_flow
    # When the owner asks for a start link, or a link is opened, then both are 404s saying how to connect instead
    with pytest.raises(NotFoundError, match="koppel connections connect"):
        issue_start_link(store.get("demo-shop"), "fakebooks", deps)
    with pytest.raises(NotFoundError):
        begin_activation("fakebooks", token, deps)
    # And the link that was opened too early is not used up
    assert grants.find(digest(token), "start", T0) is not None
