"""SQS adapters: events onto target queues, poll jobs onto the poll queue, redelivery and dead letters."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from koppel.errors import InputError, RetryableError
from koppel.model import HubEnvelope
from koppel.ports import DeadLetter

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_sqs.client import SQSClient

    from koppel.model import HubEvent
    from koppel.ports import PollJob

BATCH = 10  # SendMessageBatch takes at most ten entries
SENDERS = 10  # batches in flight at once: botocore keeps 10 connections per client


def _send_all(sqs: SQSClient, queue_url: str, bodies: Sequence[tuple[str, str]]) -> None:
    """Send (id, body) pairs in batches of ten, up to ``SENDERS`` batches at once (a scheduler run may queue
    thousands of jobs); raise if any entry was refused, so the caller does not move on."""
    chunks = [bodies[start : start + BATCH] for start in range(0, len(bodies), BATCH)]

    def send(chunk: Sequence[tuple[str, str]]) -> list[str]:
        answer = sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(chunk)]
        )
        return [f"{chunk[int(f['Id'])][0]}: {f.get('Message', '')}" for f in answer.get("Failed", [])]

    if len(chunks) <= 1:
        refused = [name for chunk in chunks for name in send(chunk)]
    else:
        with ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="sqs-send") as pool:
            refused = [name for names in pool.map(send, chunks) for name in names]
    if refused:
        raise RetryableError(f"queue refused {len(refused)} message(s): {'; '.join(refused[:5])}")


class SqsPublisher:
    def __init__(self, queue_urls: Mapping[str, str], sqs: SQSClient) -> None:
        self._queues = dict(queue_urls)
        self._sqs = sqs

    def publish(self, target: str, events: Sequence[HubEvent], *, replay: int = 0) -> None:
        try:
            url = self._queues[target]
        except KeyError:
            raise InputError(
                f"no queue for target {target!r}; deployed targets: {', '.join(sorted(self._queues)) or 'none'}"
            ) from None
        bodies = [(e.event_id, HubEnvelope(event=e, replay=replay).model_dump_json()) for e in events]
        _send_all(self._sqs, url, bodies)


class SqsJobQueue:
    def __init__(self, queue_url: str, sqs: SQSClient) -> None:
        self._url = queue_url
        self._sqs = sqs

    def enqueue(self, jobs: Sequence[PollJob]) -> None:
        _send_all(self._sqs, self._url, [(j.connection_id, j.model_dump_json()) for j in jobs])


class SqsDeadLetters:
    """A target's dead-letter queue, read without losing anything: what is not moved becomes visible again."""

    PEEK_SECONDS = 30

    def __init__(self, dlq_urls: Mapping[str, str], queue_urls: Mapping[str, str], sqs: SQSClient) -> None:
        self._dlqs = dict(dlq_urls)
        self._queues = dict(queue_urls)
        self._sqs = sqs
        self._handles: dict[str, str] = {}

    def list(self, target: str) -> list[DeadLetter]:
        url = self._dlqs.get(target)
        if url is None:
            return []
        letters: list[DeadLetter] = []
        seen: set[str] = set()
        while True:
            answer = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=self.PEEK_SECONDS,
                AttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            )
            batch = [m for m in answer.get("Messages", []) if m["MessageId"] not in seen]
            if not batch:
                break
            for message in batch:
                seen.add(message["MessageId"])
                self._handles[message["MessageId"]] = message["ReceiptHandle"]
                letters.append(_letter(message))
        for message_id in seen:  # peeked, not taken: visible again for the next reader
            self._sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=self._handles[message_id], VisibilityTimeout=0
            )
        return letters

    def requeue(self, target: str, letters: Sequence[DeadLetter]) -> int:
        if not letters:
            return 0
        _send_all(self._sqs, self._queues[target], [(letter.message_id, letter.body) for letter in letters])
        for letter in letters:
            self._sqs.delete_message(QueueUrl=self._dlqs[target], ReceiptHandle=self._handles[letter.message_id])
        return len(letters)


class SqsRedelivery:
    """Retry a received message later (its visibility timeout) or move it to the dead-letter queue."""

    def __init__(self, dead_letter_queue_url: str, sqs: SQSClient) -> None:
        self._dlq = dead_letter_queue_url
        self._sqs = sqs
        self._queue_urls: dict[str, str] = {}  # by queue ARN: a record names its queue by ARN, SQS wants the URL

    def retry_later(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        url = self._queue_urls.get(queue_arn)
        if url is None:
            _, _, _, _, account, name = queue_arn.split(":", 5)
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._queue_urls[queue_arn] = url
        self._sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)

    def dead_letter(self, body: str, reason: str) -> bool:
        if not self._dlq:
            return False
        self._sqs.send_message(
            QueueUrl=self._dlq,
            MessageBody=body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )
        return True


def _letter(message: Mapping[str, Any]) -> DeadLetter:
    body = str(message["Body"])
    try:
        envelope_json = HubEnvelope.model_validate_json(body).model_dump_json()
    except ValidationError:
        envelope_json = ""
    sent = datetime.fromtimestamp(int(message["Attributes"]["SentTimestamp"]) / 1000, tz=UTC)
    reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue", "")
    return DeadLetter(
        message_id=str(message["MessageId"]), body=body, sent_at=sent, reason=reason, envelope_json=envelope_json
    )
