"""Pipeline throughput on the local stack against moto's own bare SQS rate, measured in the same run.

Unit: one message through the queue. In the pipeline that is one CCV webhook: POST to the local API Gateway →
ingest_webhook (verify, re-read the order from the CCV sandbox, normalize) → SnelstartQueue → deliver (ledger,
idempotency, SnelStart sandbox) → DeleteMessageBatch. CCV sends two webhooks per order, so an order is two
messages; the second one ends at the ledger/idempotency guard. The bare rate does only the SQS calls the
pipeline makes per message (SendMessageBatch of one entry, ReceiveMessage of up to ten, DeleteMessageBatch) on
a queue of its own in the same moto server. Both keep the queue at most ten messages deep: moto's SQS slows with
depth, and a deep queue would measure moto, not Koppel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from devkit.bench.world import DELIVER, INGEST, POLL, SCHEDULE, BenchWorld, Invocation

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable

DEPTH = 10
"""Messages in flight at most: webhooks of DEPTH / 2 orders are sent, then the deliver consumer drains them."""


@dataclass
class ThroughputResult:
    bare_messages_per_second: float
    pipeline_messages_per_second: float
    pipeline_orders_per_second: float
    orders: int
    messages: int
    booked: int
    failed_records: int
    aws_calls_per_message: dict[str, float] = field(default_factory=dict)
    """AWS (moto) calls per message by operation, the local dispatcher's SQS calls included."""
    aws_ms_per_message: float = 0.0
    vendor_calls_per_message: float = 0.0
    handler_ms_per_message: float = 0.0
    """Wall time inside the handlers (ingest + deliver) per message."""
    timings: dict[str, list[Invocation]] = field(default_factory=dict)
    """Warm invocations per function, for the cost figure."""

    @property
    def ratio(self) -> float:
        return self.pipeline_messages_per_second / self.bare_messages_per_second


def bare_sqs_rate(world: BenchWorld, messages: int) -> float:
    """Messages per second through send (one per call) → receive (up to ten) → delete (batch) on moto."""
    sqs = world.stack.client("sqs")
    url = sqs.create_queue(QueueName="bench-bare")["QueueUrl"]
    body = "x" * 2048  # about the size of a HubEnvelope of a three-row order
    started = time.perf_counter()
    done = 0
    while done < messages:
        chunk = min(DEPTH, messages - done)
        for i in range(chunk):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body}])
        received = 0
        while received < chunk:
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            )
            batch = answer.get("Messages", [])
            if batch:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
                )
            received += len(batch)
        done += chunk
    elapsed = time.perf_counter() - started
    sqs.delete_queue(QueueUrl=url)
    return messages / elapsed


@dataclass
class _Run:
    rate: float
    messages: int
    booked: int
    aws_calls: Counter[str]
    aws_seconds: float
    vendor_calls: int
    handler_seconds: float


def pipeline_rate(world: BenchWorld, orders: int) -> _Run:
    """The pipeline's messages per second for ``orders`` orders, DEPTH / 2 orders at a time, and what it did."""
    placed = world.place_orders(orders)
    per_round = max(1, DEPTH // 2)
    booked_before = world.bookings()
    calls_before, seconds_before = world.aws.snapshot()
    vendor_before = _vendor_calls(world)
    handler_before = _handler_seconds(world)
    messages = 0
    started = time.perf_counter()
    for first in range(0, len(placed), per_round):
        for order in placed[first : first + per_round]:
            for delivery in order.webhooks:
                status = world.send(delivery)
                if status != 202:
                    raise RuntimeError(f"the local API Gateway answered {status} to a webhook")
                messages += 1
        world.stack.drain(DELIVER)
    elapsed = time.perf_counter() - started
    calls_after, seconds_after = world.aws.snapshot()
    return _Run(
        rate=messages / elapsed,
        messages=messages,
        booked=world.bookings() - booked_before,
        aws_calls=calls_after - calls_before,
        aws_seconds=sum(seconds_after.values()) - sum(seconds_before.values()),
        vendor_calls=_vendor_calls(world) - vendor_before,
        handler_seconds=_handler_seconds(world) - handler_before,
    )


def _quiet_polls(world: BenchWorld, ticks: int = 4) -> tuple[str, ...]:
    """Scheduled polls of a shop with nothing new (the steady state), for the cost of polling; each tick is
    five minutes after the last, so the connection's poll job is due every time."""
    now = datetime.now(UTC)
    for tick in range(1, ticks + 1):
        world.stack.tick(now + timedelta(minutes=5 * tick))
        world.stack.drain(POLL)
    return SCHEDULE, POLL


def _vendor_calls(world: BenchWorld) -> int:
    demo = world.demo
    ccv = demo.ccv.requests_seen if demo is not None else 0
    return ccv + world.snelstart.requests_seen


def _handler_seconds(world: BenchWorld) -> float:
    return sum(i.seconds for name in (INGEST, DELIVER) for i in world.stack.timings.get(name, []))


def measure_throughput(
    orders: int = 150, bare_messages: int = 600, say: Callable[[str], None] = print, world: BenchWorld | None = None
) -> ThroughputResult:
    """Bare moto SQS rate and the pipeline's rate in one run, on one local stack."""
    if world is None:
        with BenchWorld() as own:
            return measure_throughput(orders, bare_messages, say, own)
    warmup = world.place_orders(2)  # the first invocations (cold starts) are not part of the rate
    for order in warmup:
        for delivery in order.webhooks:
            world.send(delivery)
    world.stack.drain(DELIVER)
    bare = bare_sqs_rate(world, bare_messages)
    say(f"  moto bare SQS: {bare:.1f} messages/s (send 1 → receive ≤10 → delete batch, depth ≤ {DEPTH})")
    run = pipeline_rate(world, orders)
    per = max(1, run.messages)
    result = ThroughputResult(
        bare_messages_per_second=bare,
        pipeline_messages_per_second=run.rate,
        pipeline_orders_per_second=run.rate * orders / per,
        orders=orders,
        messages=run.messages,
        booked=run.booked,
        failed_records=sum(world.stack.invocations.failures.values()),
        aws_calls_per_message={name: n / per for name, n in sorted(run.aws_calls.items())},
        aws_ms_per_message=1000 * run.aws_seconds / per,
        vendor_calls_per_message=run.vendor_calls / per,
        handler_ms_per_message=1000 * run.handler_seconds / per,
        timings={name: world.stack.warm_timings(name) for name in (INGEST, DELIVER, *_quiet_polls(world))},
    )
    say(
        f"  pipeline: {result.pipeline_messages_per_second:.1f} messages/s = "
        f"{result.pipeline_orders_per_second:.1f} orders/s ({orders} orders, {run.messages} webhooks, "
        f"{run.booked} booked)"
    )
    say(
        f"  per message: {sum(result.aws_calls_per_message.values()):.1f} AWS calls to moto taking "
        f"{result.aws_ms_per_message:.1f} ms, {result.vendor_calls_per_message:.1f} vendor sandbox calls, "
        f"{result.handler_ms_per_message:.1f} ms inside handlers; bare SQS needs "
        f"{1000 / bare:.1f} ms per message"
    )
    for name, n in result.aws_calls_per_message.items():
        say(f"    {n:5.2f} × {name}")
    return result
