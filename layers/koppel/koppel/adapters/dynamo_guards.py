"""Short-lived rows in the Connections table that guard the inbound doors: grants and seen webhook bodies.

- ``pk = grant#<sha256 of the token>``, ``sk = grant``: a start link, an activation reference or a live link.
  Only the digest is stored, so a copy of the table opens nothing; single use is a conditional delete.
- ``pk = <connection id>``, ``sk = seen#<sha256 of the body>``: a webhook body already handled (the replay cache).

Both carry ``expires_at_epoch``, the table's TTL attribute; DynamoDB deletes expired rows within a day or two,
so every read also compares the expiry itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from koppel.ports import Grant, GrantPurpose

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_dynamodb.client import DynamoDBClient

GRANT_SK = "grant"
NEVER = 2**62
"""The expiry of a grant that lasts until it is revoked (a live link)."""


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _epoch(moment: datetime | None) -> int:
    return NEVER if moment is None else int(moment.timestamp())


class DynamoGrantStore:
    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    def issue(self, token_digest: str, grant: Grant) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"grant#{token_digest}"},
                "sk": {"S": GRANT_SK},
                "purpose": {"S": grant.purpose},
                "body": {"S": grant.model_dump_json()},
                "expires_at_epoch": {"N": str(_epoch(grant.expires_at))},
            },
        )

    def redeem(self, token_digest: str, purpose: GrantPurpose, now: datetime) -> Grant | None:
        try:
            answer = self._db.delete_item(
                TableName=self._table,
                Key=self._key(token_digest),
                ConditionExpression="purpose = :purpose AND expires_at_epoch > :now",
                ExpressionAttributeValues={":purpose": {"S": purpose}, ":now": {"N": str(_epoch(now))}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if _conditional_failed(error):
                return None
            raise
        return Grant.model_validate_json(answer["Attributes"]["body"]["S"])

    def find(self, token_digest: str, purpose: GrantPurpose, now: datetime) -> Grant | None:
        item = self._db.get_item(TableName=self._table, Key=self._key(token_digest), ConsistentRead=True).get("Item")
        if item is None or item["purpose"]["S"] != purpose or int(item["expires_at_epoch"]["N"]) <= _epoch(now):
            return None
        return Grant.model_validate_json(item["body"]["S"])

    def revoke(self, token_digest: str) -> None:
        self._db.delete_item(TableName=self._table, Key=self._key(token_digest))

    @staticmethod
    def _key(token_digest: str) -> dict[str, Any]:
        return {"pk": {"S": f"grant#{token_digest}"}, "sk": {"S": GRANT_SK}}


class DynamoReplayCache:
    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    def first_sighting(self, connection_id: str, body_digest: str, until: datetime, now: datetime) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": connection_id},
                    "sk": {"S": f"seen#{body_digest}"},
                    "expires_at_epoch": {"N": str(_epoch(until))},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at_epoch <= :now",
                ExpressionAttributeValues={":now": {"N": str(_epoch(now))}},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def forget(self, connection_id: str, body_digest: str) -> None:
        self._db.delete_item(TableName=self._table, Key=self._key(connection_id, body_digest))

    def note_refusal(self, connection_id: str, body_digest: str, reason: str, until: datetime) -> None:
        item = self._key(connection_id, body_digest)
        item |= {"expires_at_epoch": {"N": str(_epoch(until))}, "refusal": {"S": reason}}
        self._db.put_item(TableName=self._table, Item=item)

    def refusal_of(self, connection_id: str, body_digest: str) -> str:
        key = self._key(connection_id, body_digest)
        item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})
        return str(item.get("refusal", {}).get("S", ""))

    @staticmethod
    def _key(connection_id: str, body_digest: str) -> dict[str, Any]:
        return {"pk": {"S": connection_id}, "sk": {"S": f"seen#{body_digest}"}}
