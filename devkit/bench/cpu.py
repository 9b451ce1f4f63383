"""Koppel's own CPU per booked order, with every vendor and AWS answering instantly in-process (no moto).

Measured with ``time.process_time`` over a few thousand generated CCV orders (the chaos mix), in four slices:

1. ``normalize``: the CCV order and its rows collection as the API returns them (JSON bytes) → parsed with
   Decimal → ``normalize_order`` → the canonical event (ingest's share).
2. ``envelope``: ``HubEnvelope`` to JSON, the message ingest publishes (deliver's parse is in slice 4).
3. ``deliver (memory ledger)``: ``koppel.services.deliver.deliver`` with the real SnelStart connector on the real
   HTTP session (koppel.http.session_for), whose transport answers instantly (find_booking and find_party: [];
   POSTs: the body back with an id), and the in-memory ledger: translation + outbox logic + HTTP client only.
4. ``deliver record (DynamoDB)``: what the deliver Lambda really runs per record: Powertools batch processing →
   ``DeliverRuntime.handle`` (envelope parse, log keys, Powertools idempotency) → ``deliver`` with the DynamoDB
   ledger. Both use real botocore clients (request serialisation, SigV4 signing, response parsing) whose HTTP
   send is answered in-process by a happy-path DynamoDB (``InstantDynamo``). This is the headline figure, because
   that botocore work is CPU the Lambda spends on every order; slice 3 shows how much of it is Koppel's own.

The instant transports' own work (a dict look-up, a byte splice) is inside the measurement and is small.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.bench.instant import InstantDynamo, InstantSnelstart

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from koppel.model import Connection, HubEvent
    from koppel.services.deliver import DeliverDeps

CONNECTION_ID = "bench"
DISCARD = "http://127.0.0.1:9"
"""Endpoint of the stubbed AWS clients: should anything ever get past the stub, it fails here, never at AWS."""
BATCH = 10


@dataclass
class CpuResult:
    orders: int
    normalize_ms: float
    envelope_ms: float
    deliver_memory_ms: float
    deliver_record_ms: float
    dynamo_calls_per_order: float
    botocore_call_ms: float = 0.0
    """CPU of one DynamoDB GetItem through botocore (serialise, sign, parse) answered in-process."""
    http_call_ms: float = 0.0
    """CPU of one GET through Koppel's requests session answered in-process."""

    @property
    def per_order_ms(self) -> float:
        """One booked order: its normalization, its envelope, and the deliver Lambda's record path."""
        return self.normalize_ms + self.envelope_ms + self.deliver_record_ms

    @property
    def per_order_two_webhooks_ms(self) -> float:
        """As CCV sends it: two webhooks, so ingest normalizes and publishes the order twice (the second
        message's idempotency hit in deliver is not in this figure)."""
        return 2 * (self.normalize_ms + self.envelope_ms) + self.deliver_record_ms


def connection() -> Connection:
    from koppel.model import Connection

    return Connection(
        connection_id=CONNECTION_ID, tenant_id="bench", source="ccvshop", targets=("snelstart",),
        created_at=datetime.now(UTC),
    )  # fmt: skip


def sample_orders(n: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """``n`` completed and paid CCV orders as (order JSON, orderrows collection JSON), as the API sends them."""
    from devkit.koppelingen.ccvshop_snelstart.scenarios import chaos_orders
    from devkit.sandboxes.ccvshop.json_text import dumps
    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox

    ccv = CcvShopSandbox()  # never started: orders are placed and rendered in-process
    shop = ccv.add_shop("bench-public", "bench-secret")
    picked: list[tuple[bytes, bytes]] = []
    for round_seed in itertools.count(seed):
        for order in chaos_orders(ccv, shop, n, seed=round_seed):
            if order["status"] == 7 and order["paid"] and len(picked) < n:
                rows = {"items": ccv.get_orderrows(order["id"])}
                picked.append((dumps(ccv.get_order(order["id"])), dumps(rows)))
        if len(picked) >= n:
            return picked
    raise AssertionError("unreachable")


def _cpu(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.process_time()
    result = work()
    return time.process_time() - started, result


def _normalize_all(samples: list[tuple[bytes, bytes]], conn: Connection) -> list[HubEvent]:
    from koppel.connectors.ccvshop import normalize_order

    events: list[HubEvent] = []
    for order_json, rows_json in samples:
        order = json.loads(order_json, parse_float=Decimal)
        rows = json.loads(rows_json, parse_float=Decimal)["items"]
        events.append(normalize_order(order, rows, conn))
    return events


def _envelopes(events: list[HubEvent]) -> list[str]:
    """The queue messages ingest publishes (deliver's parse of them is part of the record path)."""
    from koppel.model import HubEnvelope

    return [HubEnvelope(event=event).model_dump_json() for event in events]


def snelstart_deps(conn: Connection, ledger: Any) -> DeliverDeps:
    """Deliver's dependencies: the real SnelStart target on the real session, whose transport answers at once."""
    from koppel import connectors
    from koppel.connectors import ConnectorContext
    from koppel.http import session_for
    from koppel.services.deliver import DeliverDeps

    session = session_for()
    session.mount("https://", InstantSnelstart())
    session.mount("http://", InstantSnelstart())
    ctx = ConnectorContext(
        connection=conn,
        settings={},
        secrets={"koppelsleutel": "bench-koppelsleutel"},
        session=session,
        partner_secret=lambda: {"subscription_key": "bench-subscription-key"},
    )
    return DeliverDeps(target=connectors.build_target("snelstart", ctx), target_name="snelstart", ledger=ledger)


def _deliver_all(events: list[HubEvent], deps: DeliverDeps) -> None:
    from koppel.services.deliver import deliver

    for event in events:
        result = deliver(event, deps)
        if result.outcome != "posted":
            raise RuntimeError(f"expected a booking, got {result.outcome}: {result.reason}")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


DELIVER_ENVIRONMENT = {
    "CONNECTIONS_TABLE": "bench-connections",
    "LEDGER_TABLE": "bench-ledger",
    "IDEMPOTENCY_TABLE": "bench-idempotency",
    "KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/bench",
    "CONNECTOR": "snelstart",
    "AWS_ENDPOINT_URL": DISCARD,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}


class _Context:
    """The parts of a Lambda context Powertools reads."""

    function_name = "koppel-bench-DeliverSnelstartFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:koppel-bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _sqs_batches(bodies: list[str]) -> list[dict[str, Any]]:
    arn = "arn:aws:sqs:eu-west-1:123456789012:koppel-bench-SnelstartQueue"
    records = [
        {
            "messageId": f"m-{i}",
            "receiptHandle": f"r-{i}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": "eu-west-1",
        }
        for i, body in enumerate(bodies)
    ]
    return [{"Records": records[i : i + BATCH]} for i in range(0, len(records), BATCH)]


@contextmanager
def _quiet_info_logs() -> Iterator[None]:
    """The template runs at LOG_LEVEL INFO: format every log line deliver writes, but into /dev/null."""
    from koppel.observability import logger

    handler: Any = logger.registered_handler
    level = logger.log_level
    with open(os.devnull, "w") as sink:  # noqa: PTH123 (a stream for a logging handler)
        previous = handler.setStream(sink)
        logger.setLevel("INFO")
        try:
            yield
        finally:
            handler.setStream(previous)
            logger.setLevel(level)


def _deliver_records(bodies: list[str], conn: Connection) -> tuple[float, float]:
    """CPU seconds of the deliver Lambda's record path for every body, and DynamoDB calls per body."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from koppel import bootstrap
    from koppel.adapters.dynamo_ledger import DynamoLedger
    from koppel.runtime import DeliverRuntime
    from koppel.settings import DeliverSettings

    class BenchRuntime(DeliverRuntime):
        """The real runtime; only the per-connection dependencies are given instead of read from DynamoDB."""

        bench_deps: DeliverDeps | None = None

        def deps_for(self, connection_id: str, **_: Any) -> DeliverDeps:
            assert self.bench_deps is not None
            return self.bench_deps

    dynamo = InstantDynamo()
    with _environment(DELIVER_ENVIRONMENT), _quiet_info_logs():
        bootstrap.forget_clients()
        settings = DeliverSettings.load()
        client = bootstrap.dynamodb_client(settings)
        client.meta.events.register("before-send.dynamodb", dynamo)
        runtime: Any = BenchRuntime.from_environment()
        runtime.bench_deps = snelstart_deps(conn, DynamoLedger(settings.LEDGER_TABLE, client))
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        context: Any = _Context()  # the parts of a LambdaContext that Powertools reads
        runtime.start(context)
        batches = _sqs_batches(bodies)

        def run() -> int:
            failed = 0
            for batch in batches:
                answer = process_partial_response(
                    event=batch, record_handler=runtime.handle, processor=processor, context=context
                )
                failed += len(answer.get("batchItemFailures", []))
            return failed

        seconds, failed = _cpu(run)
        bootstrap.forget_clients()
    if failed:
        raise RuntimeError(f"{failed} records failed in the CPU benchmark")
    return seconds, dynamo.calls / len(bodies)


def _botocore_call_seconds(calls: int) -> float:
    """CPU seconds per DynamoDB GetItem on a real botocore client whose HTTP send is answered in-process."""
    from koppel import bootstrap
    from koppel.settings import DeliverSettings

    dynamo = InstantDynamo()
    with _environment(DELIVER_ENVIRONMENT):
        bootstrap.forget_clients()
        client = bootstrap.dynamodb_client(DeliverSettings.load())
        client.meta.events.register("before-send.dynamodb", dynamo)
        key = {"pk": {"S": "bench#snelstart"}, "sk": {"S": "link#party:email:bench@example.nl"}}
        client.put_item(TableName="bench-ledger", Item={**key, "external_id": {"S": "bench"}})

        def run() -> None:
            for _ in range(calls):
                client.get_item(TableName="bench-ledger", Key=key, ConsistentRead=True)

        seconds, _ = _cpu(run)
        bootstrap.forget_clients()
    return seconds / calls


def _http_call_seconds(conn: Connection, calls: int) -> float:
    """CPU seconds per GET /verkoopfacturen through the SnelStart connector's session, answered in-process."""
    from koppel.adapters.memory import MemoryLedger

    target: Any = snelstart_deps(conn, MemoryLedger()).target
    target.call("GET", "/verkoopfacturen", params={"$filter": "factuurnummer eq 'warm-up'"})

    def run() -> None:
        for i in range(calls):
            target.call("GET", "/verkoopfacturen", params={"$filter": f"factuurnummer eq '{i}'"})

    seconds, _ = _cpu(run)
    return seconds / calls


def measure_cpu_per_order(orders: int = 3000, seed: int = 7, say: Callable[[str], None] = print) -> CpuResult:
    from koppel.adapters.memory import MemoryLedger

    warmup = max(1, min(50, orders // 10))
    samples = sample_orders(orders + warmup, seed)
    conn = connection()
    # Warm-up: first calls build caches (pydantic, botocore models, regexes) a warm Lambda already has.
    warm_events = _normalize_all(samples[:warmup], conn)
    _deliver_all(warm_events, snelstart_deps(conn, MemoryLedger()))
    _deliver_records(_envelopes(warm_events), conn)

    measured = samples[warmup:]
    normalize_s, events = _cpu(lambda: _normalize_all(measured, conn))
    envelope_s, bodies = _cpu(lambda: _envelopes(events))
    deliver_s, _ = _cpu(lambda: _deliver_all(events, snelstart_deps(conn, MemoryLedger())))
    record_s, dynamo_calls = _deliver_records(bodies, conn)
    probes = max(10, min(1000, orders))
    n = len(measured)
    result = CpuResult(
        orders=n,
        normalize_ms=1000 * normalize_s / n,
        envelope_ms=1000 * envelope_s / n,
        deliver_memory_ms=1000 * deliver_s / n,
        deliver_record_ms=1000 * record_s / n,
        dynamo_calls_per_order=dynamo_calls,
        botocore_call_ms=1000 * _botocore_call_seconds(probes),
        http_call_ms=1000 * _http_call_seconds(conn, probes),
    )
    say(f"  {n} orders, CPU ms per order (time.process_time, one core):")
    say(f"    normalize CCV order (JSON → canonical event)         {result.normalize_ms:6.3f}")
    say(f"    envelope to JSON (the queue message)                 {result.envelope_ms:6.3f}")
    say(f"    deliver, memory ledger (translate + outbox + HTTP)   {result.deliver_memory_ms:6.3f}")
    say(
        f"    deliver record, DynamoDB ledger + idempotency        {result.deliver_record_ms:6.3f}"
        f"  ({result.dynamo_calls_per_order:.1f} DynamoDB calls through botocore)"
    )
    say(f"    per booked order (normalize + envelope + record)     {result.per_order_ms:6.3f}")
    say(f"    with CCV's second webhook normalized again           {result.per_order_two_webhooks_ms:6.3f}")
    say(
        f"  where it goes: one DynamoDB call through botocore costs {result.botocore_call_ms:.3f} ms of CPU "
        f"(× {result.dynamo_calls_per_order:.1f} per order = "
        f"{result.botocore_call_ms * result.dynamo_calls_per_order:.2f} ms); one SnelStart call through requests "
        f"{result.http_call_ms:.3f} ms (× 2 per order)"
    )
    return result
