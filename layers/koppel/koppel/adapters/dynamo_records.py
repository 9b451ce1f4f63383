"""The record links of a two-way sync in the ledger table.

pk = ``<connection>#records#<kind>``; sk = ``link#<side>#<id>``: each link is stored once per side, so either
side's id finds it with one GetItem, and one Query on the partition reads every link of a kind (no Scan). Both
items are written in one transaction, conditional on the version each holds. A run's turn is the item
pk = ``<connection>#records``, sk = ``turn``, taken with a conditional write while no unexpired turn is held.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from koppel.records import RecordLink

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from koppel.records import RecordKind


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _refused(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


class DynamoRecordLinks:
    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    @staticmethod
    def _partition(connection_id: str, kind: str) -> dict[str, Any]:
        return {"S": f"{connection_id}#records#{kind}"}

    def links(self, connection_id: str, kind: RecordKind) -> list[RecordLink]:
        found: dict[str, RecordLink] = {}
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :link)",
            ExpressionAttributeValues={":pk": self._partition(connection_id, kind), ":link": {"S": "link#"}},
            ConsistentRead=True,
        )
        for page in pages:
            for item in page.get("Items", []):
                link = RecordLink.model_validate_json(item["link"]["S"])
                found[min(f"{side}#{ident}" for side, ident in link.ids.items())] = link
        return list(found.values())

    def link_of(self, connection_id: str, kind: RecordKind, side: str, ident: str) -> RecordLink | None:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": self._partition(connection_id, kind), "sk": {"S": f"link#{side}#{ident}"}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return RecordLink.model_validate_json(item["link"]["S"]) if item else None

    def save(self, link: RecordLink) -> bool:
        saved = link.model_copy(update={"version": link.version + 1})
        body = saved.model_dump_json()
        if link.version:
            condition = "version = :expected"
            values: dict[str, Any] = {":expected": {"N": str(link.version)}}
        else:
            condition, values = "attribute_not_exists(pk)", {}
        writes: list[Any] = []
        for side, ident in link.ids.items():
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": {
                    "pk": self._partition(link.connection_id, link.kind),
                    "sk": {"S": f"link#{side}#{ident}"},
                    "link": {"S": body},
                    "version": {"N": str(saved.version)},
                },
                "ConditionExpression": condition,
            }
            if values:
                put["ExpressionAttributeValues"] = values
            writes.append({"Put": put})
        try:
            self._db.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if _refused(error):
                return False
            raise
        return True

    def take_turn(self, connection_id: str, until: datetime, now: datetime) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"{connection_id}#records"}, "sk": {"S": "turn"}, "until": {"S": _iso(until)}},
                ConditionExpression="attribute_not_exists(pk) OR #until <= :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": {"S": _iso(now)}},
            )
        except ClientError as error:
            if _refused(error):
                return False
            raise
        return True

    def end_turn(self, connection_id: str) -> None:
        self._db.delete_item(TableName=self._table, Key={"pk": {"S": f"{connection_id}#records"}, "sk": {"S": "turn"}})
