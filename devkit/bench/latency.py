"""Latency from webhook to booked at a steady arrival rate (default 20 orders per second for 30 seconds).

Orders are placed first; then, on a fixed schedule (order i at start + i / rate, open loop: a slow pipeline does
not slow the arrivals), CCV's two webhooks of each order are POSTed to the local API Gateway by a few sender
threads, while dispatcher threads play the deliver event source mapping without pause, one per container up to
the template's MaximumConcurrency (each warmed up first: the figure is the steady state). Ingest runs in the
local stack's default container: one webhook at a time. Latency = when the
SnelStart sandbox stored the booking − when the order's first webhook was due. The run is bounded (``seconds`` of
arrivals plus ``wait``): a webhook not yet POSTed by then is dropped, and an order not booked by then counts as
slower than the whole run (so p99 is never flattered by leaving the slow ones out).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from devkit.bench.world import DELIVER, BenchWorld, Dispatcher, PlacedOrder

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class LatencyResult:
    rate: float
    seconds: float
    orders: int
    booked: int
    p50: float
    p99: float
    """Seconds; math.inf when more than 1 % of the orders were not booked by the end of the run."""
    max_webhook_delay: float
    """Longest time from an order's due moment until the API Gateway had answered both its webhooks."""
    waited: float
    """Seconds from the first due order to the end of the run (at most ``seconds + wait``)."""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def _warm_up(world: BenchWorld, containers: list[int]) -> None:
    """One order through each container first: cold starts (ingest's, each container's) are no steady state."""
    (source,) = [s for name, s in world.stack.consumers() if name == DELIVER]
    for container in containers:
        for delivery in world.place_order_now().webhooks:
            world.send(delivery)
        world.stack.drain_once(DELIVER, source, container=container)


def measure_latency(
    rate: float = 20.0,
    seconds: float = 30.0,
    wait: float = 20.0,
    senders: int = 2,
    say: Callable[[str], None] = print,
    world: BenchWorld | None = None,
    concurrency: int | None = None,
) -> LatencyResult:
    """``concurrency`` deliver containers (default: the template's MaximumConcurrency) drain while orders arrive."""
    if world is None:
        with BenchWorld() as own:
            return measure_latency(rate, seconds, wait, senders, say, own, concurrency)
    containers = world.new_containers(concurrency or world.deliver_concurrency())
    _warm_up(world, containers)
    placed = world.place_orders(max(1, round(rate * seconds)))
    local = threading.local()
    start = time.monotonic()
    end = start + seconds + wait  # open loop, bounded: what is not booked by then counts as slower than the run

    def send(order: PlacedOrder) -> float:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        for delivery in order.webhooks:
            if time.monotonic() < end:
                session.post(delivery.address, data=delivery.body, headers=delivery.headers, timeout=120)
        return time.monotonic()

    dispatchers = [Dispatcher(world.stack, container) for container in containers]
    for dispatcher in dispatchers:
        dispatcher.start()
    due: dict[str, float] = {}
    lag = 0.0
    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="bench-ccv") as pool:
        futures = []
        for i, order in enumerate(placed):
            due[order.number] = start + i / rate
            time.sleep(max(0.0, due[order.number] - time.monotonic()))
            futures.append((due[order.number], pool.submit(send, order)))
        for when, future in futures:
            lag = max(lag, future.result() - when)
    booked_at = world.snelstart.booked_at
    while time.monotonic() < end and not due.keys() <= booked_at.keys():
        time.sleep(0.05)
    Dispatcher.stop_all(dispatchers)
    world.purge_deliver_queue()
    waited = time.monotonic() - start
    latencies = [booked_at[n] - t if n in booked_at else math.inf for n, t in due.items()]
    booked = sum(1 for x in latencies if x != math.inf)
    result = LatencyResult(
        rate=rate,
        seconds=seconds,
        orders=len(due),
        booked=booked,
        p50=statistics.median(latencies),
        p99=_percentile(latencies, 0.99),
        max_webhook_delay=lag,
        waited=waited,
    )
    say(
        f"  {result.orders} orders at {rate:g}/s for {seconds:g} s: booked {booked} within {waited:.0f} s; "
        f"p50 {_seconds(result.p50, waited)}, p99 {_seconds(result.p99, waited)}; both webhooks of an order "
        f"answered up to {lag:.1f} s after it was due"
    )
    return result


def _seconds(value: float, bound: float | None = None) -> str:
    if value == math.inf:
        return f"> {bound:.0f} s (not booked by the end)" if bound else "not booked"
    return f"{value:.2f} s"
