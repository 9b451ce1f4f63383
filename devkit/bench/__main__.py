"""`make bench`: every figure of docs/performance.md in one run, each beside its reference, then a summary table.

python -m devkit.bench                       # all of them (about five minutes)
python -m devkit.bench --only cpu coldstart  # some of them (cost needs throughput's durations: it runs it)
python -m devkit.bench --only quickbooks     # Pipedrive → QuickBooks drained under Intuit's limits (own stack)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from devkit.bench import coldstart, cost, cpu, latency, quickbooks_drain, ratelimit, throughput, ubl
from devkit.bench import console as console_bench
from devkit.bench.world import BenchWorld

if TYPE_CHECKING:
    from collections.abc import Callable

FIGURES = ("coldstart", "cpu", "ubl", "throughput", "ratelimit", "quickbooks", "latency", "cost", "console")


def _load() -> str:
    """The 1-minute load average: other work on the machine shares the cores with the benchmark."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def _verdict(met: bool) -> str:
    return "[green]met[/]" if met else "[red]missed[/]"


def _ms(value: float) -> str:
    return "not booked" if value == math.inf else f"{value * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument(
        "--drain-concurrency",
        type=int,
        default=None,
        help="deliver containers for the rate-limited drains (default: the template's MaximumConcurrency)",
    )
    args = parser.parse_args(argv)
    # The local stack's log level (devkit.local uses it when a stack starts), set before anything imports Koppel's
    # logger: the CPU figure runs before any stack, and a logger left at INFO would print every record after it.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    wanted = set(args.only) | ({"throughput"} if "cost" in args.only else set())
    console = Console(width=None if sys.stdout.isatty() else 150)

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    console.rule("[bold]Koppel benchmarks")
    say(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.processor() or platform.machine()} · nproc "
        f"{os.cpu_count()} · Python {platform.python_version()} · load average {_load()} · "
        f"{' '.join(['python -m devkit.bench', *(argv or [])])}"
    )
    started = time.monotonic()
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as resources:
        shared: list[BenchWorld] = []

        def world() -> BenchWorld:
            """One local stack for every figure that needs one (each leaves the deliver queue empty)."""
            if not shared:
                shared.append(resources.enter_context(BenchWorld()))
            return shared[0]

        figures: dict[str, Callable[[], Any]] = {
            "coldstart": lambda: coldstart.measure_cold_start(say=say),
            "cpu": lambda: cpu.measure_cpu_per_order(orders=2000, say=say),
            "ubl": lambda: ubl.measure_ubl(rounds=200, lines=2000, say=say),
            "throughput": lambda: throughput.measure_throughput(orders=100, bare_messages=500, say=say, world=world()),
            "ratelimit": lambda: ratelimit.measure_rate_limited_drain(
                say=say, world=world(), concurrency=args.drain_concurrency
            ),
            # A stack of its own (its deliver containers are QuickBooks', the shared stack's SnelStart's)
            "quickbooks": lambda: quickbooks_drain.measure_quickbooks_drain(
                say=say, concurrency=args.drain_concurrency
            ),
            "latency": lambda: _latencies(results.get("throughput"), world(), say),
            "cost": lambda: cost.measure_cost(results["throughput"].timings, say=say),
            # A stack of its own: a firm of 50 clients' integrations
            "console": lambda: console_bench.measure_console(connections=50, rows=40, say=say),
        }
        for name, run in figures.items():
            if name in wanted:
                console.rule(name)
                results[name] = run()
    console.rule(f"summary ({time.monotonic() - started:.0f} s, load average now {_load()})")
    console.print(summary(results))
    return 0


def _latencies(
    measured: throughput.ThroughputResult | None, world: BenchWorld, say: Callable[[str], None]
) -> list[latency.LatencyResult]:
    """At the issue's 20 orders/s, and at half the rate the local stack sustained in the throughput figure (the
    pipeline's own latency, without a queue building up); the bounded 20/s run goes last."""
    easy_rate = round(max(0.5, (measured.pipeline_orders_per_second if measured else 2.0) / 2), 1)
    easy = latency.measure_latency(rate=easy_rate, seconds=15.0, wait=5.0, say=say, world=world)
    steady = latency.measure_latency(rate=20.0, seconds=30.0, wait=15.0, say=say, world=world)
    return [steady, easy]


def _cpu_rows(table: Table, results: dict[str, Any]) -> None:
    """CPU per booked order; and per supplier's UBL invoice (read, its EN 16931 sums checked, its booking planned)
    with what a large one costs."""
    if "cpu" in results:
        used: cpu.CpuResult = results["cpu"]
        table.add_row(
            "CPU per booked order", f"{used.per_order_ms:.2f} ms",
            f"Koppel code only (memory ledger) {used.normalize_ms + used.envelope_ms + used.deliver_memory_ms:.2f} ms",
            "≤ 2 ms", _verdict(used.per_order_ms <= 2),
        )  # fmt: skip
    if "ubl" in results:
        read: ubl.UblResult = results["ubl"]
        large = f"{read.large_lines}-line invoice: {read.large_ms:.0f} ms, peak {read.large_peak_mb:.1f} MB"
        table.add_row(
            "CPU per UBL purchase invoice", f"{read.per_document_ms:.2f} ms", large, "≤ 5 ms",
            _verdict(read.per_document_ms <= 5),
        )  # fmt: skip


def _console_rows(table: Table, results: dict[str, Any]) -> None:
    """What a firm's bookkeeper waits for in the console (local stack: moto answers in well under a millisecond)."""
    if "console" in results:
        seen: console_bench.ConsoleResult = results["console"]
        table.add_row(
            f"console overview, {seen.connections} integrations", f"{seen.overview_ms:.0f} ms",
            f"{seen.dynamodb_calls_per_overview} reads by key or index; history of 100 {seen.history_ms:.0f} ms, "
            f"bookings per hour {seen.bookings_ms:.0f} ms", "≤ 1,000 ms", _verdict(seen.overview_ms <= 1000),
        )  # fmt: skip


def summary(results: dict[str, Any]) -> Table:
    table = Table(show_lines=False)
    for column in ("figure", "measured", "reference", "target", "verdict"):
        table.add_column(column)
    _console_rows(table, results)
    if "coldstart" in results:
        cold: coldstart.ColdStartResult = results["coldstart"]
        for handler, start in cold.handlers.items():
            ratio = cold.ratio(handler)
            table.add_row(
                f"cold start {handler}", f"{start.total_ms:.0f} ms",
                f"plain Powertools {cold.baseline.total_ms:.0f} ms", f"{ratio:.2f} ≤ 0.5", _verdict(ratio <= 0.5),
            )  # fmt: skip
    _cpu_rows(table, results)
    if "throughput" in results:
        rate: throughput.ThroughputResult = results["throughput"]
        table.add_row(
            "pipeline throughput",
            f"{rate.pipeline_messages_per_second:.1f} msg/s ({rate.pipeline_orders_per_second:.1f} orders/s)",
            f"moto bare SQS {rate.bare_messages_per_second:.1f} msg/s", f"{rate.ratio:.2f} ≥ 0.8",
            _verdict(rate.ratio >= 0.8),
        )  # fmt: skip
    if "ratelimit" in results:
        drain: ratelimit.DrainResult = results["ratelimit"]
        _drain_rows(table, "rate-limited drain", drain, drain.failed_records, f"{drain.throttled_answers} 429 answers")
    if "quickbooks" in results:
        books: quickbooks_drain.QuickbooksDrainResult = results["quickbooks"]
        answers = f"{books.throttled_answers} 429 answers, {books.failed_records} records failed in all"
        _drain_rows(table, "Pipedrive → QuickBooks drain", books, books.failed_by_throttle, answers)
    for result in results.get("latency", []):
        table.add_row(
            f"latency at {result.rate:g} orders/s", f"p50 {_ms(result.p50)}, p99 {_ms(result.p99)}",
            f"{result.booked}/{result.orders} booked in the run", "p99 ≤ 2 s", _verdict(result.p99 <= 2),
        )  # fmt: skip
    if "cost" in results:
        bill: cost.CostResult = results["cost"]
        table.add_row(
            "Lambda cost", f"${bill.order_dollars:.2f} per {bill.orders:,} orders",
            f"+ polling ${bill.poll_dollars:.2f}/month for {bill.connections:,} shops", "", "",
        )  # fmt: skip
    return table


def _drain_rows(table: Table, title: str, drain: ratelimit.DrainResult, failed_by_429: int, answers: str) -> None:
    """A drain's rate against the allowed one, and the records its 429s failed."""
    table.add_row(
        f"{title} ({drain.concurrency} container{'s' if drain.concurrency > 1 else ''})",
        f"{drain.achieved_per_second:.2f} req/s, {drain.booked}/{drain.orders} booked in {drain.seconds:.0f} s",
        f"allowed {drain.allowed_per_second:.2f} req/s", f"{drain.ratio:.2f} ≥ 0.9", _verdict(drain.ratio >= 0.9),
    )  # fmt: skip
    table.add_row("  records failed by 429", str(failed_by_429), answers, "0", _verdict(failed_by_429 == 0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
