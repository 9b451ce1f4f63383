"""Lambda cost of one million orders at AWS list prices, from the durations measured on the local stack.

Prices (arm64, eu-west-1, on-demand): $0.0000133334 per GB-second and $0.20 per million requests. Memory, batch
sizes and the poll schedule come from infra/template.yaml. Per order CCV sends two webhooks: two ingest
invocations and two deliver records (the second one ends at the ledger/idempotency guard), deliver taking
BatchSize records per invocation. Polling does not scale with orders but with connections and time: one
schedule_polls run per minute, one poll job per connection every ``poll_interval_minutes`` (default 5), at
worst one poll_source invocation per job. The durations are wall times on the local stack (moto and the
sandboxes on loopback), which is a lower bound for AWS, where every DynamoDB/SQS/KMS call and every vendor
call is a network round trip, and 512 MB gives about 0.29 of a vCPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.bench.world import Invocation

PRICE_PER_GB_SECOND = Decimal("0.0000133334")
PRICE_PER_REQUEST = Decimal("0.20") / Decimal(1_000_000)
MINUTES_PER_MONTH = 30 * 24 * 60
D = Decimal


@dataclass(frozen=True)
class TemplateFacts:
    memory_mb: int
    deliver_batch: int
    poll_batch: int
    schedule_minutes: int

    @classmethod
    def read(cls) -> TemplateFacts:
        from devkit import stack

        template = stack.load_template()
        resources = template["Resources"]
        memory = int(template["Globals"]["Function"]["MemorySize"])
        memories = {
            int(r["Properties"].get("MemorySize", memory))
            for r in resources.values()
            if r["Type"] == "AWS::Serverless::Function"
        }
        if len(memories) != 1:
            raise ValueError(f"functions have different MemorySize {sorted(memories)}: price them one by one")

        def batch(logical_id: str) -> int:
            (event,) = stack.sqs_events(template, logical_id)
            return int(event.get("BatchSize", 10))

        (schedule,) = [
            e["Properties"]["Schedule"]
            for e in resources["SchedulePollsFunction"]["Properties"]["Events"].values()
            if e["Type"] == "Schedule"
        ]
        match = re.fullmatch(r"rate\((\d+) minutes?\)", schedule)
        if not match:
            raise ValueError(f"cannot price the schedule {schedule!r}")
        return cls(memories.pop(), batch("DeliverSnelstartFunction"), batch("PollSourceFunction"), int(match[1]))


@dataclass(frozen=True)
class Durations:
    """Mean warm durations in milliseconds, as measured."""

    ingest_ms: float
    deliver_ms_per_record: float
    schedule_ms: float
    poll_ms: float

    @classmethod
    def from_timings(cls, timings: dict[str, list[Invocation]]) -> Durations:
        def mean_ms(name: str) -> float:
            runs = timings.get(name, [])
            return 1000 * sum(r.seconds for r in runs) / len(runs) if runs else 0.0

        deliver = timings.get("DeliverSnelstartFunction", [])
        records = sum(r.records for r in deliver)
        return cls(
            ingest_ms=mean_ms("IngestWebhookFunction"),
            deliver_ms_per_record=1000 * sum(r.seconds for r in deliver) / records if records else 0.0,
            schedule_ms=mean_ms("SchedulePollsFunction"),
            poll_ms=mean_ms("PollSourceFunction"),
        )


@dataclass
class CostResult:
    orders: int
    order_dollars: Decimal
    """Ingest + deliver for ``orders`` orders."""
    connections: int
    poll_dollars: Decimal
    """Polling for ``connections`` connections for a 30-day month."""
    lines: list[str] = field(default_factory=list)

    @property
    def total_dollars(self) -> Decimal:
        return self.order_dollars + self.poll_dollars


def _usd(amount: Decimal) -> str:
    return f"${amount.quantize(D('0.01'), rounding=ROUND_HALF_UP)}"


def _price(name: str, invocations: Decimal, ms: float, gb: Decimal, lines: list[str]) -> Decimal:
    seconds = D(f"{ms:.3f}") / 1000
    gb_seconds = invocations * seconds * gb
    compute = gb_seconds * PRICE_PER_GB_SECOND
    requests = invocations * PRICE_PER_REQUEST
    lines.append(
        f"{name}: {invocations:,.0f} invocations × {seconds:.4f} s × {gb} GB = {gb_seconds:,.1f} GB-s × "
        f"$0.0000133334 = {_usd(compute)}; + {invocations:,.0f} × $0.20/M = {_usd(requests)}"
    )
    return compute + requests


def lambda_cost(
    durations: Durations,
    facts: TemplateFacts | None = None,
    orders: int = 1_000_000,
    connections: int = 1_000,
    poll_interval_minutes: int = 5,
    webhooks_per_order: int = 2,
) -> CostResult:
    facts = facts or TemplateFacts.read()
    gb = D(facts.memory_mb) / 1024
    lines: list[str] = []
    records = D(orders * webhooks_per_order)
    ingest = _price("ingest_webhook", records, durations.ingest_ms, gb, lines)
    deliver_ms = durations.deliver_ms_per_record * facts.deliver_batch
    deliver = _price(
        f"deliver ({webhooks_per_order} records per order, {facts.deliver_batch} per batch)",
        records / facts.deliver_batch, deliver_ms, gb, lines,
    )  # fmt: skip
    schedule = _price(
        f"schedule_polls (every {facts.schedule_minutes} min, 30 days)",
        D(MINUTES_PER_MONTH // facts.schedule_minutes), durations.schedule_ms, gb, lines,
    )  # fmt: skip
    jobs = D(connections * MINUTES_PER_MONTH // poll_interval_minutes)
    poll = _price(
        f"poll_source ({connections:,} connections, a job every {poll_interval_minutes} min, one per invocation)",
        jobs, durations.poll_ms, gb, lines,
    )  # fmt: skip
    result = CostResult(
        orders=orders, order_dollars=ingest + deliver, connections=connections, poll_dollars=schedule + poll,
        lines=lines,
    )  # fmt: skip
    lines.append(f"orders: {_usd(result.order_dollars)} per {orders:,} orders (ingest + deliver)")
    lines.append(f"polling: {_usd(result.poll_dollars)} per month for {connections:,} connections")
    lines.append(
        f"total for {orders:,} orders a month from {connections:,} shops: {_usd(result.total_dollars)} "
        f"(free tier not deducted; CloudWatch Logs, DynamoDB, SQS, KMS not included)"
    )
    return result


def measure_cost(timings: dict[str, list[Invocation]], say: Callable[[str], None] = print, **kwargs: Any) -> CostResult:
    durations = Durations.from_timings(timings)
    say(
        f"  measured warm durations: ingest {durations.ingest_ms:.1f} ms, deliver {durations.deliver_ms_per_record:.1f}"
        f" ms per record, schedule_polls {durations.schedule_ms:.1f} ms, poll_source {durations.poll_ms:.1f} ms"
    )
    result = lambda_cost(durations, **kwargs)
    for line in result.lines:
        say(f"    {line}")
    return result
