"""What bad input must not change: every item of every DynamoDB table, and every queue's depth.

A snapshot is taken after the genuine traffic and again after each door's fuzz; the difference, minus the rows
written by design for refused input, must be empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.local import LocalStack

WRITTEN_BY_DESIGN = {
    "seen#": "the webhook replay cache: a signed, well-formed body is remembered before the shop is read (so a "
    "replay neither reads the shop nor enqueues again), and stays when the shop then does not know the order",
}
"""Sort-key prefixes of rows that refused input may write. Kept small on purpose: anything else that changes is a
finding."""


@dataclass(frozen=True)
class Snapshot:
    items: dict[str, str]
    """"table pk sk" → the item as canonical JSON."""
    queues: dict[str, int]


def snapshot(stack: LocalStack) -> Snapshot:
    dynamodb = stack.client("dynamodb")
    items: dict[str, str] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for item in _scan(dynamodb, table):
            if not _written_by_design(item):
                key = " ".join([table, *(next(iter(item[name].values())) for name in key_names)])
                items[key] = json.dumps(item, sort_keys=True, default=str)
    return Snapshot(items, queue_depths(stack))


def queue_depths(stack: LocalStack) -> dict[str, int]:
    """Messages on every queue, in flight included, by queue name."""
    sqs = stack.client("sqs")
    depths = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        depths[url.rsplit("/", 1)[-1]] = sum(int(value) for value in attributes.values())
    return depths


class SqsSends:
    """Counts the messages every boto3 client of this process sends to SQS. The local stack runs the handlers in
    this process, so a probe that makes one enqueue shows here at once, whatever its answer (reading every queue's
    depth after each probe would cost more than the probe). Listens to botocore's ``provide-client-params``, as
    tests/e2e/test_no_secret_leaks.py does; clients made before ``__enter__`` are not seen, so enter it before the
    stack's handlers first run."""

    EVENTS = ("provide-client-params.sqs.SendMessage", "provide-client-params.sqs.SendMessageBatch")

    def __init__(self) -> None:
        self.sent = 0

    def __enter__(self) -> SqsSends:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        for event in self.EVENTS:
            boto3.DEFAULT_SESSION.events.register(event, self._count, unique_id=f"fuzz {event}")  # type: ignore[union-attr]
        return self

    def __exit__(self, *exc: object) -> None:
        import boto3

        for event in self.EVENTS:
            boto3.DEFAULT_SESSION.events.unregister(event, unique_id=f"fuzz {event}")  # type: ignore[union-attr]

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.sent += len(params.get("Entries", [params]))


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per item added, removed or changed, and per queue whose depth moved."""
    lines = [f"added {key}" for key in sorted(after.items.keys() - before.items.keys())]
    lines += [f"removed {key}" for key in sorted(before.items.keys() - after.items.keys())]
    lines += [
        f"changed {key}"
        for key in sorted(before.items.keys() & after.items.keys())
        if before.items[key] != after.items[key]
    ]
    lines += [
        f"queue {name}: {before.queues.get(name, 0)} → {depth} messages"
        for name, depth in sorted(after.queues.items())
        if depth != before.queues.get(name, 0)
    ]
    return lines


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**arguments)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _written_by_design(item: dict[str, Any]) -> bool:
    sort_key = item.get("sk", {}).get("S", "")
    return any(sort_key.startswith(prefix) for prefix in WRITTEN_BY_DESIGN)
