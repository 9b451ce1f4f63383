"""Draining a backlog against a SnelStart that enforces a QuickBooks-shaped rate limit.

QuickBooks Online allows 500 requests per minute and 10 per second per company (realm); the sandbox enforces the
same two sliding windows per administratie, scaled down (default 200 per minute and 4 per second) so that a
backlog of about a hundred orders takes about a minute. Koppel is told the same limits through the connection's
SnelStart settings ``rate_limit_per_second`` / ``rate_limit_per_minute`` (a client-side limiter in the connector).

The backlog is built first (every webhook ingested, nothing delivered), then the deliver consumer drains it as
deployed: one container per the template's MaximumConcurrency, side by side, each with the connector's limiter.
Allowed rate = min(per second, per minute / 60) requests per second: what the vendor sustains. Achieved rate =
requests SnelStart admitted ÷ the time from the start of the drain to the last booking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devkit.bench.world import DELIVER, BenchWorld, Dispatcher

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class DrainResult:
    per_second: int
    per_minute: int
    orders: int
    booked: int
    seconds: float
    admitted_requests: int
    throttled_answers: int
    """429s SnelStart answered during the drain (a GET retried in-process after one still counts here)."""
    failed_records: int
    """Deliver records that failed (and went back to the queue for a backoff) during the drain."""
    client_limiter: bool
    """Whether the SnelStart connector took the rate-limit settings (else the drain ran without them)."""
    concurrency: int = 1
    """Deliver containers draining side by side."""

    @property
    def allowed_per_second(self) -> float:
        return min(float(self.per_second), self.per_minute / 60)

    @property
    def achieved_per_second(self) -> float:
        return self.admitted_requests / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.achieved_per_second / self.allowed_per_second


def client_limiter_supported() -> bool:
    from koppel.connectors.snelstart.settings import SnelstartSettings

    return {"rate_limit_per_second", "rate_limit_per_minute"} <= set(SnelstartSettings.model_fields)


def _tell_koppel_the_limits(world: BenchWorld, per_second: int, per_minute: int) -> None:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    store = bootstrap.connection_store(StoreSettings.load())
    connection = store.get(world.connection_id())
    snelstart = {
        **connection.target_settings.get("snelstart", {}),
        "rate_limit_per_second": per_second,
        "rate_limit_per_minute": per_minute,
    }
    store.put(connection.model_copy(update={"target_settings": {**connection.target_settings, "snelstart": snelstart}}))


def measure_rate_limited_drain(
    per_second: int = 4,
    per_minute: int = 200,
    orders: int = 100,
    deadline: float = 150.0,
    say: Callable[[str], None] = print,
    world: BenchWorld | None = None,
    concurrency: int | None = None,
) -> DrainResult:
    """Drain ``orders`` orders with ``concurrency`` deliver containers (default: the template's MaximumConcurrency,
    each with the connector's own limiter, told the vendor's limits as they are)."""
    if world is None:
        with BenchWorld() as own:
            return measure_rate_limited_drain(per_second, per_minute, orders, deadline, say, own, concurrency)
    limiter = client_limiter_supported()
    if limiter:
        _tell_koppel_the_limits(world, per_second, per_minute)
    else:
        say("  the SnelStart connector has no rate_limit_per_second/minute settings yet: drained without them")
    placed = world.place_orders(orders)
    for order in placed:
        for delivery in order.webhooks:
            world.send(delivery)
    key = world.koppelsleutel
    world.snelstart.set_rate_limit(key, per_second=per_second, per_minute=per_minute)
    containers = world.new_containers(concurrency or world.deliver_concurrency())
    say(
        f"  backlog: {len(placed)} orders ({sum(len(o.webhooks) for o in placed)} messages); SnelStart allows "
        f"{per_second}/s and {per_minute}/min per administratie; {len(containers)} deliver container(s)"
    )
    snelstart = world.snelstart
    throttled_before = snelstart.statuses[429]
    failed_before = world.stack.invocations.failures.get(DELIVER, 0)
    admitted_before = len(snelstart.admitted_at)
    wanted = {o.number for o in placed}

    started = time.monotonic()
    dispatchers = [Dispatcher(world.stack, container, idle=0.2) for container in containers]
    for dispatcher in dispatchers:
        dispatcher.start()
    try:
        while time.monotonic() - started < deadline and not wanted <= snelstart.booked_at.keys():
            time.sleep(0.1)  # what is not booked yet is being delivered, or waits out a backoff
    finally:
        Dispatcher.stop_all(dispatchers)
        snelstart.set_rate_limit(key)  # lifted again, in SnelStart and in Koppel: the world may be used further
        if limiter:
            _tell_koppel_the_limits(world, 0, 0)
        world.purge_deliver_queue()
    booked = [snelstart.booked_at[n] for n in wanted if n in snelstart.booked_at]
    finished = max(booked) if len(booked) == len(wanted) else time.monotonic()
    admitted = [t for t in snelstart.admitted_at[admitted_before:] if t <= finished]
    result = DrainResult(
        per_second=per_second,
        per_minute=per_minute,
        orders=len(placed),
        booked=len(booked),
        seconds=finished - started,
        admitted_requests=len(admitted),
        throttled_answers=snelstart.statuses[429] - throttled_before,
        failed_records=world.stack.invocations.failures.get(DELIVER, 0) - failed_before,
        client_limiter=limiter,
        concurrency=len(containers),
    )
    say(
        f"  drained {result.booked}/{result.orders} orders in {result.seconds:.1f} s: {result.admitted_requests} "
        f"requests admitted = {result.achieved_per_second:.2f}/s of {result.allowed_per_second:.2f}/s allowed "
        f"({result.ratio:.2f}); 429 answers {result.throttled_answers}, records failed {result.failed_records}"
    )
    return result
