"""Credentials and tokens in the Connections table on moto: KMS-encrypted, each bound to its connection and system
by the encryption context, so a ciphertext moved to another row does not decrypt there."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from koppel import bootstrap
from koppel.model import Connection
from koppel.ports import CachedToken
from koppel.settings import StoreSettings

if TYPE_CHECKING:
    from devkit.local import LocalStack
    from koppel.adapters.dynamo_connections import DynamoConnectionStore

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
JANSEN = {"public_key": "jansen-public-4f1c", "secret_key": "jansen-secret-9d2e", "webhook_key": "jansen-hook-77aa"}
JANSEN_KEY = {"koppelsleutel": "jansen-koppelsleutel-c0ffee+/=="}
DE_SPAAK_KEY = {"koppelsleutel": "despaak-koppelsleutel-beef+/=="}
TOKEN = CachedToken(value="jansen-bearer-token-1a2b3c", expires_at=T0 + timedelta(hours=1), version=1)


@pytest.fixture
def store(clean_stack: LocalStack) -> DynamoConnectionStore:
    """Two tenants' connections, each with its credentials stored; the first also holds a SnelStart token."""
    connections = bootstrap.connection_store(StoreSettings.load())
    for connection_id, settings in (("jansen", {"base_url": "https://jansen.ccvshop.nl"}), ("despaak", {})):
        connections.put(
            Connection(
                connection_id=connection_id, tenant_id=connection_id, source="ccvshop", targets=("snelstart",),
                source_settings=settings, created_at=T0,
            )
        )  # fmt: skip
    connections.put_secrets("jansen", "ccvshop", JANSEN)
    connections.put_secrets("jansen", "snelstart", JANSEN_KEY)
    connections.put_secrets("despaak", "snelstart", DE_SPAAK_KEY)
    assert connections.put_token("jansen", "snelstart", TOKEN)
    return connections


def items(stack: LocalStack) -> list[dict[str, Any]]:
    return list(stack.client("dynamodb").scan(TableName=stack._outputs().connections_table)["Items"])


def item(stack: LocalStack, pk: str, sk: str) -> dict[str, Any]:
    return next(i for i in items(stack) if (i["pk"]["S"], i["sk"]["S"]) == (pk, sk))


def put(stack: LocalStack, row: dict[str, Any]) -> None:
    stack.client("dynamodb").put_item(TableName=stack._outputs().connections_table, Item=row)


def refused(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_no_credential_or_token_is_in_the_table_in_plain_text(clean_stack: LocalStack, store) -> None:
    # When the whole table is read as DynamoDB holds it
    table = json.dumps(items(clean_stack))
    # Then no credential or token value is there, and every secret or token row holds only a ciphertext
    for value in [*JANSEN.values(), *JANSEN_KEY.values(), *DE_SPAAK_KEY.values(), TOKEN.value]:
        assert value not in table
    for row in items(clean_stack):
        if row["sk"]["S"].startswith(("secret#", "token#")):
            assert set(row) <= {"pk", "sk", "ciphertext", "version"}
    # And each decrypts on its own row
    assert store.get_secrets("jansen", "ccvshop") == JANSEN
    assert store.get_token("jansen", "snelstart").value == TOKEN.value


def test_a_ciphertext_copied_onto_another_tenants_connection_does_not_decrypt(clean_stack: LocalStack, store) -> None:
    # Given someone who can write the table copies Jansen's koppelsleutel over De Spaak's
    stolen = item(clean_stack, "jansen", "secret#snelstart")
    put(clean_stack, {**stolen, "pk": {"S": "despaak"}})
    # When De Spaak's deliver reads its koppelsleutel
    with pytest.raises(ClientError) as error:
        store.get_secrets("despaak", "snelstart")
    # Then KMS refuses it: De Spaak's orders can never be booked with Jansen's key
    assert refused(error) == "InvalidCiphertextException"


def test_a_ciphertext_copied_onto_another_system_of_the_same_connection_does_not_decrypt(
    clean_stack: LocalStack, store
) -> None:
    # Given the shop's CCV credentials copied into the SnelStart row of the same connection
    put(clean_stack, {**item(clean_stack, "jansen", "secret#ccvshop"), "sk": {"S": "secret#snelstart"}})
    # Then the SnelStart connector cannot read them
    with pytest.raises(ClientError) as error:
        store.get_secrets("jansen", "snelstart")
    assert refused(error) == "InvalidCiphertextException"


def test_a_cached_token_copied_onto_another_connection_does_not_decrypt(clean_stack: LocalStack, store) -> None:
    # Given Jansen's SnelStart bearer token copied into De Spaak's token row
    put(clean_stack, {**item(clean_stack, "jansen", "token#snelstart"), "pk": {"S": "despaak"}})
    # Then De Spaak's worker cannot use it
    with pytest.raises(ClientError) as error:
        store.get_token("despaak", "snelstart")
    assert refused(error) == "InvalidCiphertextException"
