"""Ledger table: the outbox row of every source record per target, and links to the target's ids.

pk = ``<connection>#<target>``; sk = ``event#<event id>`` for outbox rows, ``link#<natural key>`` for links.
GSI ``by_state``: gsi1pk = ``<connection>#<phase>``, gsi1sk = ``<target>#<updated_at>``, where the phase is the
state (PENDING, PARKED, POSTED), except that a POSTED row whose payment is no longer followed is CLOSED. So "the
parked rows of a connection", "the open items of one target" and "what changed since" are each one Query, and the
rows target sync reads every few minutes never include what was settled long ago.
A CLOSED row carries ``expires_at_epoch`` (the table's TTL attribute): DynamoDB deletes it after the retention.
Every state change is a conditional write on the request id, so two workers cannot both own a row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from koppel.ports import Claim, LedgerEntry, LedgerState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from koppel.model import ExternalRef

STATE_INDEX = "by_state"
CLOSED = "CLOSED"
"""The index phase of a POSTED row that no scheduled path reads again (``LedgerEntry.is_closed``)."""
DEFAULT_RETENTION = timedelta(days=400)
_FIELDS = (
    "connection_id", "target", "event_id", "state", "request_id", "document_number", "party_name", "total",
    "external_id", "external_number", "reason", "event_json", "payment", "due_date",
)  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _phases(state: LedgerState | None) -> tuple[str, ...]:
    if state is None:
        return ("PENDING", "PARKED", "POSTED", CLOSED, "SKIPPED")
    return ("POSTED", CLOSED) if state == "POSTED" else (state,)


class DynamoLedger:
    def __init__(self, table: str, dynamodb: DynamoDBClient, retention: timedelta = DEFAULT_RETENTION) -> None:
        self._table = table
        self._db = dynamodb
        self._retention = retention

    @staticmethod
    def _key(connection_id: str, target: str, event_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"{connection_id}#{target}"}, "sk": {"S": f"event#{event_id}"}}

    def _item(self, entry: LedgerEntry) -> dict[str, Any]:
        phase = CLOSED if entry.is_closed else entry.state
        item: dict[str, Any] = {
            **self._key(entry.connection_id, entry.target, entry.event_id),
            "gsi1pk": {"S": f"{entry.connection_id}#{phase}"},
            "gsi1sk": {"S": f"{entry.target}#{_iso(entry.updated_at)}"},
            "lease_until": {"S": _iso(entry.lease_until)},
            "updated_at": {"S": _iso(entry.updated_at)},
            "attempts": {"N": str(entry.attempts)},
            "replays": {"N": str(entry.replays)},
        }
        for name in _FIELDS:
            item[name] = {"S": str(getattr(entry, name))}
        if entry.is_closed or entry.state == "SKIPPED":
            item["expires_at_epoch"] = {"N": str(int((entry.updated_at + self._retention).timestamp()))}
        return item

    @staticmethod
    def _entry(item: dict[str, Any]) -> LedgerEntry:
        data: dict[str, Any] = {name: item[name]["S"] for name in _FIELDS if name in item}
        data["lease_until"] = item["lease_until"]["S"]
        data["updated_at"] = item["updated_at"]["S"]
        data["attempts"] = int(item["attempts"]["N"])
        data["replays"] = int(item.get("replays", {"N": "0"})["N"])
        return LedgerEntry.model_validate(data)

    def claim(self, entry: LedgerEntry, now: datetime) -> Claim:
        try:
            self._db.put_item(
                TableName=self._table, Item=self._item(entry), ConditionExpression="attribute_not_exists(pk)"
            )
            return Claim(entry=entry, is_ours=True)
        except ClientError as error:
            if not _conditional_failed(error):
                raise
        existing = self.get(entry.connection_id, entry.target, entry.event_id)
        if existing is None:  # deleted in between (an operator's hand): try once more from scratch
            return self.claim(entry, now)
        if existing.state != "PENDING" or existing.lease_until > now:
            return Claim(entry=existing, is_ours=False)
        taken = existing.model_copy(
            update={"request_id": entry.request_id, "lease_until": entry.lease_until, "attempts": existing.attempts + 1}
        )
        if self._conditional_update(existing, now, taken, also="lease_until <= :now", now_value=_iso(now)):
            return Claim(entry=taken.model_copy(update={"updated_at": now}), is_ours=True)
        current = self.get(entry.connection_id, entry.target, entry.event_id)
        return Claim(entry=current or existing, is_ours=False)

    def _conditional_update(
        self, owned: LedgerEntry, now: datetime, new: LedgerEntry, also: str = "", now_value: str = ""
    ) -> bool:
        """Write ``new`` over the row only while ``owned.request_id`` still owns it."""
        new = new.model_copy(update={"updated_at": now})
        condition = "request_id = :owner" + (f" AND {also}" if also else "")
        values: dict[str, Any] = {":owner": {"S": owned.request_id}}
        if now_value:
            values[":now"] = {"S": now_value}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._item(new),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def _transition(self, entry: LedgerEntry, now: datetime, **changes: Any) -> LedgerEntry:
        # ``entry`` is the row as its owner wrote it; the condition on the request id makes that safe to build on,
        # without reading it back first (one DynamoDB call less per booking).
        new = entry.model_copy(update=changes)
        if self._conditional_update(entry, now, new):
            return new.model_copy(update={"updated_at": now})
        # Another worker took the row over; its outcome stands.
        return self.get(entry.connection_id, entry.target, entry.event_id) or entry

    def mark_posted(self, entry: LedgerEntry, ref: ExternalRef, now: datetime, *, note: str = "") -> LedgerEntry:
        return self._transition(
            entry, now, state="POSTED", external_id=ref.id, external_number=ref.number or "", reason=note[:2000]
        )

    def mark_skipped(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        return self._transition(entry, now, state="SKIPPED", reason=reason[:2000])

    def mark_parked(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        return self._transition(entry, now, state="PARKED", reason=reason[:2000])

    def release(self, entry: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
        return self._transition(entry, now, lease_until=now, reason=reason[:2000])

    def note_payment(self, entry: LedgerEntry, payment: str, now: datetime, *, due_date: str = "") -> LedgerEntry:
        return self._transition(entry, now, payment=payment, due_date=due_date or entry.due_date)

    def reopen(self, entry: LedgerEntry, now: datetime) -> LedgerEntry | None:
        current = self.get(entry.connection_id, entry.target, entry.event_id)
        if current is None or current.state != "PARKED":
            return None
        reopened = current.model_copy(
            update={"state": "PENDING", "lease_until": now, "replays": current.replays + 1, "updated_at": now}
        )
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._item(reopened),
                ConditionExpression="#state = :parked AND request_id = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":parked": {"S": "PARKED"}, ":owner": {"S": current.request_id}},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return None
            raise
        return reopened

    def get(self, connection_id: str, target: str, event_id: str) -> LedgerEntry | None:
        answer = self._db.get_item(
            TableName=self._table, Key=self._key(connection_id, target, event_id), ConsistentRead=True
        )
        item = answer.get("Item")
        return self._entry(item) if item else None

    def entries(
        self,
        connection_id: str,
        state: LedgerState | None = None,
        *,
        target: str | None = None,
        since: datetime | None = None,
    ) -> list[LedgerEntry]:
        rows = [row for phase in _phases(state) for row in self._query(f"{connection_id}#{phase}", target, since)]
        return sorted(rows, key=lambda r: (r.target, r.event_id))

    def open_items(self, connection_id: str, target: str) -> list[LedgerEntry]:
        # A row written before the CLOSED phase existed may still sit under POSTED: it is left out here too.
        return [row for row in self._query(f"{connection_id}#POSTED", target, None) if not row.is_closed]

    def count(self, connection_id: str, state: LedgerState) -> int:
        total = 0
        for phase in _phases(state):
            pages = self._db.get_paginator("query").paginate(
                TableName=self._table,
                IndexName=STATE_INDEX,
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"{connection_id}#{phase}"}},
                Select="COUNT",
            )
            total += sum(int(page["Count"]) for page in pages)
        return total

    def latest(self, connection_id: str, state: LedgerState, target: str) -> LedgerEntry | None:
        found: list[LedgerEntry] = []
        for phase in _phases(state):  # the sort key is <target>#<updated_at>: newest first, one row
            answer = self._db.query(
                TableName=self._table,
                IndexName=STATE_INDEX,
                KeyConditionExpression="gsi1pk = :pk AND begins_with(gsi1sk, :target)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"{connection_id}#{phase}"},
                    ":target": {"S": f"{target}#"},
                },
                ScanIndexForward=False,
                Limit=1,
            )
            found += [self._entry(item) for item in answer.get("Items", [])]
        return max(found, key=lambda r: r.updated_at, default=None)

    def _query(self, partition: str, target: str | None, since: datetime | None) -> list[LedgerEntry]:
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": {"S": partition}}
        query: dict[str, Any] = {"TableName": self._table, "IndexName": STATE_INDEX}
        if target is not None:  # "#" sorts before every character of an ISO time, "~" after
            condition += " AND gsi1sk BETWEEN :low AND :high"
            values[":low"] = {"S": f"{target}#{_iso(since) if since else ''}"}
            values[":high"] = {"S": f"{target}#~"}
        elif since is not None:
            query["FilterExpression"] = "updated_at >= :since"
            values[":since"] = {"S": _iso(since)}
        query |= {"KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        rows: list[LedgerEntry] = []
        for page in self._db.get_paginator("query").paginate(**query):
            rows.extend(self._entry(item) for item in page.get("Items", []))
        return rows

    def reindex(self) -> int:
        """Once, by a person, after upgrading from the index keys ``<connection>#<target>#<state>``: rewrite every
        outbox row's index keys (and its TTL when closed) from its state. A Scan, so never on a scheduled path; a row
        that changes meanwhile is skipped (its writer wrote the new keys). Returns how many rows were rewritten."""
        rewritten = 0
        for page in self._db.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="begins_with(sk, :event)",
            ExpressionAttributeValues={":event": {"S": "event#"}},
        ):
            for item in page.get("Items", []):
                fresh = self._item(self._entry(item))
                if all(fresh.get(key) == item.get(key) for key in ("gsi1pk", "gsi1sk", "expires_at_epoch")):
                    continue
                try:
                    self._db.put_item(
                        TableName=self._table,
                        Item=fresh,
                        ConditionExpression="request_id = :owner AND updated_at = :at",
                        ExpressionAttributeValues={":owner": item["request_id"], ":at": item["updated_at"]},
                    )
                except ClientError as error:
                    if not _conditional_failed(error):
                        raise
                    continue
                rewritten += 1
        return rewritten

    @staticmethod
    def _reservation(connection_id: str, target: str, natural_key: str, until: datetime) -> dict[str, Any]:
        """A link item that holds no id yet, only the right to create the record until ``until``."""
        return {
            "pk": {"S": f"{connection_id}#{target}"},
            "sk": {"S": f"link#{natural_key}"},
            "external_id": {"S": ""},
            "reserved_until": {"S": _iso(until)},
        }

    def reserve_link(self, connection_id: str, target: str, natural_key: str, until: datetime, now: datetime) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._reservation(connection_id, target, natural_key, until),
                ConditionExpression="attribute_not_exists(pk) OR (external_id = :none AND reserved_until <= :now)",
                ExpressionAttributeValues={":none": {"S": ""}, ":now": {"S": _iso(now)}},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def release_link(self, connection_id: str, target: str, natural_key: str) -> None:
        """A put (not a delete: the roles that reserve may put) that ends the reservation, if it is still one."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._reservation(connection_id, target, natural_key, datetime(1970, 1, 1, tzinfo=UTC)),
                ConditionExpression="external_id = :none",
                ExpressionAttributeValues={":none": {"S": ""}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def get_link(self, connection_id: str, target: str, natural_key: str) -> str | None:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"{connection_id}#{target}"}, "sk": {"S": f"link#{natural_key}"}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return (item["external_id"]["S"] or None) if item else None  # "" is a reservation, not a link

    def put_link(self, connection_id: str, target: str, natural_key: str, external_id: str) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"{connection_id}#{target}"},
                "sk": {"S": f"link#{natural_key}"},
                "external_id": {"S": external_id},
            },
        )
