"""Connections table: connection config, KMS-encrypted credentials and tokens, watermarks.

One partition per connection (pk = connection id); sk says what the item is:
``connection``, ``secret#<system>``, ``token#<system>``, ``watermark#<stream>``, ``schedule``. The tenants themselves
are listed in one partition (``tenants#``, sk = tenant id), so the console's operator reads every tenant by key and
each tenant's connections through ``by_tenant``: never a Scan.
An active connection has a small ``schedule`` item with its next poll: ``due_shard`` (``due#<0..7>``, from its id)
and ``due_at`` are the keys of the sparse GSI ``by_due``, which projects ``poll_interval_minutes``. The scheduler
Queries each shard for ``due_at <= now`` instead of scanning the table, and moves ``due_at`` on with a conditional
update of that item (1 write unit; the connection item itself, with a synced chart, is several KB). A paused or
disconnected connection has no ``schedule`` item and is not in the index. Eight shards keep each index partition far
below DynamoDB's per-key limits at ten thousand connections polled every minute.
Credentials and tokens are encrypted with the Koppel KMS key, bound to their connection and system by the
encryption context, so a ciphertext copied onto another connection does not decrypt.
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from koppel.errors import NotFoundError
from koppel.model import Connection
from koppel.ports import NEVER_POLLED, CachedToken, DuePoll

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_kms.client import KMSClient

CONNECTION_SK = "connection"
SCHEDULE_SK = "schedule"
DUE_INDEX = "by_due"
TENANT_INDEX = "by_tenant"
TENANTS_PK = "tenants#"
"""No connection id has a ``#``: this partition is no connection's."""
DUE_SHARDS = 8


def due_shard(connection_id: str) -> str:
    """The index partition of a connection's next poll: stable per connection, spread evenly over the shards."""
    return f"due#{zlib.crc32(connection_id.encode()) % DUE_SHARDS}"


def _account_key(system: str, account_id: str) -> str:
    """The partition of a vendor account's links: no connection id has a ``#`` (model.Connection checks it)."""
    return f"account#{system}#{account_id}"


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoConnectionStore:
    def __init__(self, table: str, kms_key_id: str, dynamodb: DynamoDBClient, kms: KMSClient) -> None:
        self._table = table
        self._key_id = kms_key_id
        self._db = dynamodb
        self._kms = kms

    # -- connections --------------------------------------------------------------------------------------
    def get(self, connection_id: str) -> Connection:
        item = self._get_item(connection_id, CONNECTION_SK)
        if item is None:
            raise NotFoundError(f"no connection {connection_id!r}: see `koppel connections list`")
        return Connection.model_validate_json(item["body"]["S"])

    def put(self, connection: Connection) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": connection.connection_id},
                "sk": {"S": CONNECTION_SK},
                "kind": {"S": "connection"},
                "tenant": {"S": connection.tenant_id},
                "body": {"S": connection.model_dump_json()},
            },
        )
        self._db.put_item(TableName=self._table, Item={"pk": {"S": TENANTS_PK}, "sk": {"S": connection.tenant_id}})
        self._schedule(connection)

    def _schedule(self, connection: Connection) -> None:
        """An active connection keeps its next poll (a new or reactivated one is due at once); any other status
        takes it out of the scheduler's index."""
        key = {"pk": {"S": connection.connection_id}, "sk": {"S": SCHEDULE_SK}}
        if connection.status != "active":
            self._db.delete_item(TableName=self._table, Key=key)
            return
        self._db.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="SET due_shard = :shard, poll_interval_minutes = :every, "
            "due_at = if_not_exists(due_at, :never)",
            ExpressionAttributeValues={
                ":shard": {"S": due_shard(connection.connection_id)},
                ":every": {"N": str(connection.poll_interval_minutes)},
                ":never": {"S": _iso(NEVER_POLLED)},
            },
        )

    def due(self, now: datetime) -> list[DuePoll]:
        found: list[DuePoll] = []
        paginator = self._db.get_paginator("query")
        for shard in range(DUE_SHARDS):
            for page in paginator.paginate(
                TableName=self._table,
                IndexName=DUE_INDEX,
                KeyConditionExpression="due_shard = :shard AND due_at <= :now",
                ExpressionAttributeValues={":shard": {"S": f"due#{shard}"}, ":now": {"S": _iso(now)}},
            ):
                found.extend(
                    DuePoll(
                        connection_id=item["pk"]["S"],
                        due_at=datetime.fromisoformat(item["due_at"]["S"]),
                        poll_interval_minutes=int(item["poll_interval_minutes"]["N"]),
                    )
                    for item in page.get("Items", [])
                )
        return sorted(found, key=lambda d: (d.due_at, d.connection_id))

    def reschedule(self, due: DuePoll, next_at: datetime) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": due.connection_id}, "sk": {"S": SCHEDULE_SK}},
                UpdateExpression="SET due_at = :next",
                ConditionExpression="due_at = :seen",
                ExpressionAttributeValues={":next": {"S": _iso(next_at)}, ":seen": {"S": _iso(due.due_at)}},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def of_tenant(self, tenant_id: str) -> list[Connection]:
        connections: list[Connection] = []
        for page in self._db.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=TENANT_INDEX,
            KeyConditionExpression="tenant = :tenant",
            ExpressionAttributeValues={":tenant": {"S": tenant_id}},
        ):
            connections.extend(Connection.model_validate_json(i["body"]["S"]) for i in page.get("Items", []))
        return sorted(connections, key=lambda c: c.connection_id)

    def tenants(self) -> list[str]:
        tenants: list[str] = []
        for page in self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": TENANTS_PK}},
        ):
            tenants.extend(item["sk"]["S"] for item in page.get("Items", []))
        return tenants

    def all(self) -> list[Connection]:
        # A Scan: the CLI lists connections with it (not on a schedule); the scheduler reads `due` instead.
        connections: list[Connection] = []
        paginator = self._db.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": CONNECTION_SK}},
        ):
            connections.extend(Connection.model_validate_json(i["body"]["S"]) for i in page.get("Items", []))
        return sorted(connections, key=lambda c: c.connection_id)

    # -- secrets ------------------------------------------------------------------------------------------
    def get_secrets(self, connection_id: str, system: str) -> dict[str, str]:
        item = self._get_item(connection_id, f"secret#{system}")
        if item is None:
            return {}
        return dict(self._decrypt(item["ciphertext"]["S"], connection_id, system))

    def put_secrets(self, connection_id: str, system: str, secrets: Mapping[str, str]) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": connection_id},
                "sk": {"S": f"secret#{system}"},
                "ciphertext": {"S": self._encrypt(dict(secrets), connection_id, system)},
            },
        )

    def delete_secrets(self, connection_id: str, system: str) -> None:
        for sk in (f"secret#{system}", f"token#{system}"):
            self._db.delete_item(TableName=self._table, Key={"pk": {"S": connection_id}, "sk": {"S": sk}})

    # -- vendor accounts ----------------------------------------------------------------------------------
    def link_account(self, system: str, account_id: str, connection_id: str) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={"pk": {"S": _account_key(system, account_id)}, "sk": {"S": f"connection#{connection_id}"}},
        )

    def connections_of_account(self, system: str, account_id: str) -> list[str]:
        found: list[str] = []
        for page in self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :account AND begins_with(sk, :connection)",
            ExpressionAttributeValues={
                ":account": {"S": _account_key(system, account_id)},
                ":connection": {"S": "connection#"},
            },
        ):
            found += [item["sk"]["S"].removeprefix("connection#") for item in page.get("Items", [])]
        return sorted(found)

    # -- watermarks ---------------------------------------------------------------------------------------
    def get_watermark(self, connection_id: str, stream: str) -> datetime | None:
        item = self._get_item(connection_id, f"watermark#{stream}")
        return datetime.fromisoformat(item["at"]["S"]) if item else None

    def advance_watermark(self, connection_id: str, stream: str, to: datetime) -> bool:
        # ISO-8601 in UTC compares correctly as a string: the condition makes the move forward-only.
        try:
            self._db.put_item(
                TableName=self._table,
                Item={"pk": {"S": connection_id}, "sk": {"S": f"watermark#{stream}"}, "at": {"S": _iso(to)}},
                ConditionExpression="attribute_not_exists(pk) OR #at < :to",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":to": {"S": _iso(to)}},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    # -- tokens -------------------------------------------------------------------------------------------
    def holds_credentials(self, connection_id: str, system: str) -> bool:
        """Read by key, keys only: nothing is decrypted (the console has no KMS permission)."""
        return any(
            "Item" in self._db.get_item(TableName=self._table, Key=_key(connection_id, sk), ProjectionExpression="pk")
            for sk in (f"secret#{system}", f"token#{system}")
        )

    def get_token(self, connection_id: str, system: str) -> CachedToken | None:
        item = self._get_item(connection_id, f"token#{system}")
        if item is None:
            return None
        data = self._decrypt(item["ciphertext"]["S"], connection_id, system)
        return CachedToken.model_validate({**data, "version": int(item["version"]["N"])})

    def put_token(self, connection_id: str, system: str, token: CachedToken) -> bool:
        """Single-flight: the write succeeds only for the version after the stored one."""
        # Encrypted whole: the refresh token is a credential; the times say nothing without it.
        payload = token.model_dump(mode="json", exclude={"version"}, exclude_none=True)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                "pk": {"S": connection_id},
                "sk": {"S": f"token#{system}"},
                "version": {"N": str(token.version)},
                "ciphertext": {"S": self._encrypt(payload, connection_id, system)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if token.version > 1:
            request["ConditionExpression"] = "version = :previous"
            request["ExpressionAttributeValues"] = {":previous": {"N": str(token.version - 1)}}
        try:
            self._db.put_item(**request)
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    # -- helpers ------------------------------------------------------------------------------------------
    def _get_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self._db.get_item(TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
        return answer.get("Item")

    def _encrypt(self, data: Mapping[str, str], connection_id: str, system: str) -> str:
        blob = self._kms.encrypt(
            KeyId=self._key_id,
            Plaintext=json.dumps(data).encode(),
            EncryptionContext={"connection_id": connection_id, "system": system},
        )["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def _decrypt(self, ciphertext: str, connection_id: str, system: str) -> dict[str, str]:
        plain = self._kms.decrypt(
            CiphertextBlob=base64.b64decode(ciphertext),
            EncryptionContext={"connection_id": connection_id, "system": system},
        )["Plaintext"]
        data: dict[str, str] = json.loads(plain)
        return data


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _iso(moment: datetime) -> str:
    """UTC with a fixed width, so that string order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class CachedConnectionStore(DynamoConnectionStore):
    """Connections read through a short per-container cache (secrets, tokens and watermarks are not cached)."""

    def __init__(
        self, table: str, kms_key_id: str, dynamodb: DynamoDBClient, kms: KMSClient, ttl_seconds: float
    ) -> None:
        super().__init__(table, kms_key_id, dynamodb, kms)
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Connection]] = {}

    @classmethod
    def wrapping(cls, store: DynamoConnectionStore, ttl_seconds: float) -> CachedConnectionStore:
        return cls(store._table, store._key_id, store._db, store._kms, ttl_seconds)

    def get(self, connection_id: str) -> Connection:
        hit = self._cache.get(connection_id)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        connection = super().get(connection_id)
        self._cache[connection_id] = (time.monotonic(), connection)
        return connection

    def put(self, connection: Connection) -> None:
        super().put(connection)
        self._cache.pop(connection.connection_id, None)
