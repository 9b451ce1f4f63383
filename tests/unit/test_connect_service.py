from __future__ import annotations

import pytest

from koppel.adapters.memory import MemoryConnectionStore
from koppel.errors import SignatureError
from koppel.ports import Activation
from koppel.services.connect import ConnectDeps, receive_activation, start_activation
from tests.fakes import a_connection


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore([a_connection()])


@pytest.fixture
def deps(store: MemoryConnectionStore) -> ConnectDeps:
    return ConnectDeps(connections=store, after_connect=lambda connection, target: {"ledger_ids": {"8000": "g-8000"}})


def test_activation_stores_the_credential_encrypted_apart_and_syncs_settings(store, deps) -> None:
    # Given Koppel sent the user to the vendor with a reference key
    reference = start_activation("demo-shop", "fakebooks", deps)
    # When the vendor calls back with a credential for it
    connection = receive_activation(
        "fakebooks",
        Activation(action="create", credential="KEY-1", credential_name="koppelsleutel", reference=reference),
        deps,
    )
    # Then the credential is stored as a secret (not in the connection) and the chart of accounts was synced
    assert store.get_secrets("demo-shop", "fakebooks") == {"koppelsleutel": "KEY-1"}
    assert "KEY-1" not in connection.model_dump_json()
    assert connection.target_settings["fakebooks"]["ledger_ids"] == {"8000": "g-8000"}
    assert connection.status == "active"


def test_a_forged_reference_is_refused(store, deps) -> None:
    start_activation("demo-shop", "fakebooks", deps)
    with pytest.raises(SignatureError, match="does not match"):
        receive_activation(
            "fakebooks", Activation(action="create", credential="EVIL", reference="demo-shop.guess"), deps
        )
    assert store.get_secrets("demo-shop", "fakebooks") == {}


def test_revocation_at_the_vendor_disconnects_and_forgets_the_credential(store, deps) -> None:
    reference = start_activation("demo-shop", "fakebooks", deps)
    receive_activation("fakebooks", Activation(action="create", credential="KEY-1", reference=reference), deps)
    connection = receive_activation("fakebooks", Activation(action="delete", reference=reference), deps)
    assert connection.status == "disconnected"
    assert store.get_secrets("demo-shop", "fakebooks") == {}


def test_disconnecting_forgets_every_credential_and_token_and_reconnecting_reactivates(store, deps) -> None:
    # Given a connection with credentials and a cached access token for its source and its target
    from datetime import timedelta

    from koppel.ports import CachedToken
    from koppel.services.connect import connect_credentials, disconnect_all
    from tests.fakes import T0

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

    # When the target is connected again with new credentials, then the connection is active and its chart synced
    reconnected = connect_credentials(disconnected, "fakebooks", {"api_token": "NEW"}, deps)
    assert reconnected.status == "active"
    assert store.get_secrets("demo-shop", "fakebooks") == {"api_token": "NEW"}
    assert reconnected.target_settings["fakebooks"]["ledger_ids"] == {"8000": "g-8000"}
