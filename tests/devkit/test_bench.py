"""Smoke tests of `make bench`: every benchmark runs on a tiny input and returns figures of the right kind.

Nothing here asserts how fast anything is: the benchmarks print figures, and a timed assertion would only test
the machine the suite runs on.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from devkit.bench import coldstart, cost, cpu, latency, quickbooks_drain, ratelimit, schedule, throughput, ubl
from devkit.bench.world import BenchWorld

if TYPE_CHECKING:
    from collections.abc import Iterator

D = Decimal


def quiet(_: str) -> None:
    """The benchmarks' printed detail is not what these tests look at."""


def test_cold_start_compares_a_handler_with_the_plain_powertools_function() -> None:
    # When one handler and the reference start once each in a fresh interpreter
    result = coldstart.measure_cold_start(repetitions=1, handlers=("schedule_polls",), explain=False, say=quiet)

    # Then both have an import and a set-up time, and the ratio is theirs
    start = result.handlers["schedule_polls"]
    assert start.import_ms > 0 and start.setup_ms > 0 and result.baseline.total_ms > 0
    assert result.ratio("schedule_polls") == pytest.approx(start.total_ms / result.baseline.total_ms)
    assert any("connection_store" in step for step in start.setup_steps_ms)


def test_import_costs_say_which_package_our_code_pulls_in() -> None:
    # When the imports of the deliver function are traced
    costs = coldstart.import_costs("deliver")

    # Then the time is charged to packages, and the expensive imports our modules make are named
    assert costs.total_ms > 0
    assert "botocore" in costs.by_package_ms
    assert all(isinstance(ms, float) for ms in costs.by_package_ms.values())
    assert any(ours.startswith(("koppel", "functions", "(first")) for ours, _, _ in costs.pulled_in_by_us)


def test_import_time_is_charged_to_package_groups() -> None:
    # Then stdlib, Powertools utilities and our connectors are told apart
    assert coldstart.package_of("json.decoder") == "(stdlib)"
    assert coldstart.package_of("aws_lambda_powertools.utilities.batch.base") == "aws_lambda_powertools.utilities.batch"
    assert coldstart.package_of("koppel.connectors.snelstart") == "koppel.connectors.snelstart"
    assert coldstart.package_of("botocore.client") == "botocore"


def test_ubl_reading_runs_on_the_fixtures_and_a_generated_large_invoice_that_adds_up() -> None:
    # When the everyday invoices are read once and a 50-line invoice is generated and read
    result = ubl.measure_ubl(rounds=1, lines=50, say=quiet)

    # Then each everyday fixture was read and planned, and the large one booked (its sums check to the cent)
    assert result.documents == len(ubl.EVERYDAY)
    assert result.per_document_ms > 0 and result.large_ms > 0 and result.large_peak_mb > 0
    assert result.large_lines == 50 and result.large_bytes > 50 * 400


def test_cpu_per_order_runs_on_a_handful_of_orders() -> None:
    # When five orders are normalized and delivered with every vendor answering in-process
    result = cpu.measure_cpu_per_order(orders=5, say=quiet)

    # Then every slice is a CPU time, the DynamoDB record path made its calls, and the total adds up
    assert result.orders == 5
    for value in (result.normalize_ms, result.envelope_ms, result.deliver_memory_ms, result.deliver_record_ms):
        assert isinstance(value, float) and value >= 0
    assert result.dynamo_calls_per_order >= 3  # claim, mark posted, idempotency at the least
    assert result.botocore_call_ms > 0 and result.http_call_ms > 0
    assert result.per_order_ms == pytest.approx(result.normalize_ms + result.envelope_ms + result.deliver_record_ms)


def test_cost_shows_the_arithmetic_at_list_prices() -> None:
    # Given 100 ms per webhook, 50 ms per deliver record, 10 ms per poll, 512 MB and batches of 10
    durations = cost.Durations(ingest_ms=100, deliver_ms_per_record=50, schedule_ms=10, poll_ms=10)
    facts = cost.TemplateFacts(memory_mb=512, deliver_batch=10, poll_batch=5, schedule_minutes=1)

    # When a million orders (two webhooks each) from one shop are priced
    result = cost.lambda_cost(durations, facts, orders=1_000_000, connections=1)

    # Then ingest = 2M × 0.1 s × 0.5 GB = 100,000 GB-s and deliver = 200k × 0.5 s × 0.5 GB = 50,000 GB-s,
    # at $0.0000133334 per GB-s plus $0.20 per million requests
    expected = D(150_000) * D("0.0000133334") + D("2.2") * D("0.20")
    assert result.order_dollars == expected
    assert any("100,000.0 GB-s" in line for line in result.lines)
    assert result.total_dollars > result.order_dollars


def test_cost_reads_memory_and_batch_sizes_from_the_template() -> None:
    facts = cost.TemplateFacts.read()
    assert facts.memory_mb > 0 and facts.deliver_batch >= 1 and facts.schedule_minutes >= 1


@pytest.mark.e2e
def test_quickbooks_drain_books_pipedrive_invoices_under_intuits_limits() -> None:
    # When five Pipedrive invoices of three customers are drained under a generous limit, on a stack of its own
    result = quickbooks_drain.measure_quickbooks_drain(
        per_second=50, per_minute=3000, invoices=5, customers=3, deadline=60, say=quiet
    )

    # Then each was booked once, through the deliver containers of the template, and the figures are rates
    assert result.booked == result.orders == 5
    assert result.concurrency == 2
    assert result.allowed_per_second == 50
    # a DocNumber look-up and the invoice each; a new customer adds two look-ups and its creation
    assert result.admitted_requests >= 2 * result.orders + 3 * result.customers
    assert result.achieved_per_second > 0 and result.ratio == pytest.approx(result.achieved_per_second / 50)
    assert result.throttled_answers == result.failed_by_throttle == 0
    assert result.token_renewals == 0  # the seeded grant lives an hour
    assert 1 <= result.busiest[0] <= result.busiest[1] <= result.admitted_requests


@pytest.fixture(scope="module")
def world() -> Iterator[BenchWorld]:
    with BenchWorld() as started:
        yield started


@pytest.mark.e2e
def test_rate_limited_drain_books_a_tiny_backlog(world: BenchWorld) -> None:
    # When two orders are drained under a generous limit (first: the connection's limits are set before deliver)
    result = ratelimit.measure_rate_limited_drain(
        per_second=50, per_minute=3000, orders=2, deadline=60, say=quiet, world=world
    )

    # Then both orders were booked, and the rates are figures of requests per second
    assert result.booked == result.orders == 2
    assert result.client_limiter
    assert result.allowed_per_second == 50
    assert result.admitted_requests >= 2 * result.orders  # a look-up and a POST per order
    assert result.achieved_per_second > 0 and result.ratio > 0
    assert result.failed_records >= 0 and result.throttled_answers >= 0


@pytest.mark.e2e
def test_throughput_compares_the_pipeline_with_bare_sqs(world: BenchWorld) -> None:
    # When two orders go through the pipeline and twenty messages through a bare queue
    result = throughput.measure_throughput(orders=2, bare_messages=20, say=quiet, world=world)

    # Then both are rates, every order was booked, and the durations the cost needs were recorded
    assert result.booked == 2 and result.messages == 4
    assert result.bare_messages_per_second > 0 and result.pipeline_messages_per_second > 0
    assert result.ratio == pytest.approx(result.pipeline_messages_per_second / result.bare_messages_per_second)
    assert result.aws_calls_per_message and result.handler_ms_per_message > 0
    durations = cost.Durations.from_timings(result.timings)
    assert durations.ingest_ms > 0 and durations.deliver_ms_per_record > 0 and durations.poll_ms > 0


@pytest.mark.e2e
def test_latency_is_measured_from_webhook_to_booking(world: BenchWorld) -> None:
    # When four orders arrive at 4 a second
    result = latency.measure_latency(rate=4, seconds=1, wait=20, say=quiet, world=world)

    # Then each was booked, and p50 ≤ p99 are finite seconds
    assert result.orders == 4 and result.booked == 4
    assert 0 < result.p50 <= result.p99 < math.inf


def test_the_scheduler_reads_due_connections_through_its_index_at_any_size() -> None:
    # When the scheduler runs over twenty connections: all due, then none, then all again
    first, idle, again = schedule.measure(20, (0, 1, 5))

    # Then it queried the eight shards of its index each time, scanned nothing, and moved each due poll once
    assert (first.scheduled, idle.scheduled, again.scheduled) == (20, 0, 20)
    assert first.calls == again.calls == {"Query": 8, "UpdateItem": 20}
    assert idle.calls == {"Query": 8}
