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
