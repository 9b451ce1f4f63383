"""SQS adapters: events onto target queues, poll jobs onto the poll queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from koppel.errors import InputError, RetryableError
from koppel.model import HubEnvelope

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_sqs.client import SQSClient

    from koppel.model import HubEvent
    from koppel.ports import PollJob

BATCH = 10  # SendMessageBatch takes at most ten entries


def _send_all(sqs: SQSClient, queue_url: str, bodies: Sequence[tuple[str, str]]) -> None:
    """Send (id, body) pairs in batches; raise if any entry was refused, so the caller does not move on."""
    for start in range(0, len(bodies), BATCH):
        chunk = bodies[start : start + BATCH]
        answer = sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(chunk)]
        )
        failed = answer.get("Failed", [])
        if failed:
            names = ", ".join(chunk[int(f["Id"])][0] for f in failed)
            raise RetryableError(f"queue refused {len(failed)} message(s) ({names}): {failed[0].get('Message', '')}")


class SqsPublisher:
    def __init__(self, queue_urls: Mapping[str, str], sqs: SQSClient) -> None:
        self._queues = dict(queue_urls)
        self._sqs = sqs

    def publish(self, target: str, events: Sequence[HubEvent]) -> None:
        try:
            url = self._queues[target]
        except KeyError:
            raise InputError(
                f"no queue for target {target!r}; deployed targets: {', '.join(sorted(self._queues)) or 'none'}"
            ) from None
        _send_all(self._sqs, url, [(e.event_id, HubEnvelope(event=e).model_dump_json()) for e in events])


class SqsJobQueue:
    def __init__(self, queue_url: str, sqs: SQSClient) -> None:
        self._url = queue_url
        self._sqs = sqs

    def enqueue(self, jobs: Sequence[PollJob]) -> None:
        _send_all(self._sqs, self._url, [(j.connection_id, j.model_dump_json()) for j in jobs])
