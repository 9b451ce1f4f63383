"""`make chaos`: N orders through seeded faults on the local stack; prints duplicates, lost, parked, retries.

The demo's connection (CCV Shop → SnelStart, activated through the koppelsleutel callback), then orders in
batches: place a batch with ``chaos_orders``, deliver its webhooks, let the deliver workers drain the queue,
next batch; a scheduled poll now and then; at the end drain until every queue is empty, in-flight messages
included. Meanwhile, from one seeded random generator:

- SnelStart answers 503, 429 with Retry-After 1, slowly, or commits a booking and then hangs past the client's
  read timeout (so the client believes it failed);
- CCV Shop delivers webhooks duplicated and out of order, sometimes fails the order re-read so that ingest
  answers 503 and the webhook is sent again, as CCV would, and for a few orders sends no webhook at all (only
  the scheduled poll finds those);
- the harness kills deliver workers between the POST and the ledger update (devkit.chaos_faults).

Timings are shortened so a run takes minutes (leases, backoff, read timeout, visibility timeouts, the deliver
function's timeout: ``chaos_env`` and ``ChaosRun.shorten_timings``). Which request meets which fault also depends
on thread timing, so two runs with one seed inject the same mix, not necessarily on the same orders.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
from rich.console import Console

from devkit.chaos_faults import ChaosFaultPlan, HydrateHiccups, KillSwitch, LostWebhooks, killing_deliver_workers
from devkit.chaos_report import ChaosReport, duplicate_customers, outcome_figures, report_table
from devkit.demo import CONNECTION, Demo
from devkit.local import LocalStack
from devkit.sandboxes.snelstart.sandbox import API_PREFIXES
from devkit.scenarios import chaos_orders

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.sandboxes.ccvshop.sandbox import Delivery

DELIVER = "DeliverSnelstartFunction"
POLL = "PollSourceFunction"
DELIVER_TIMEOUT = 15
"""Seconds: the deliver function's timeout for a chaos run (60 in the template). Powertools' idempotency lock of
a killed worker lapses after the invocation's remaining time, so this is how long a killed event waits."""
VISIBILITY_TIMEOUT = 5
"""Seconds a received message stays hidden (390 in the template): a killed worker's batch comes back this soon."""
WEBHOOK_ATTEMPTS = 5
"""How often the harness, playing CCV, sends a webhook that keeps getting 5xx; after that only the poll finds it."""


def chaos_env(batch_size: int) -> dict[str, str]:
    return {
        "LEASE_SECONDS": "2",
        "RETRY_BASE_SECONDS": "1",
        "RETRY_MAX_SECONDS": "4",
        "HTTP_READ_TIMEOUT": "1.5",
        # A batch of n orders is created a minute apart over the last n minutes (chaos_orders): the poll's
        # overlap must reach back that far to see them all.
        "POLL_OVERLAP_MINUTES": str(batch_size + 10),
    }


@dataclass(frozen=True)
class ChaosConfig:
    orders: int = 2000
    seed: int = 7
    workers: int = 2
    """Deliver containers running side by side (the template's MaximumConcurrency is 2)."""
    batch_size: int = 50
    polls: int = 3
    """Scheduled polls spread over the run, besides the last one before the final drain."""
    snelstart_error_rate: float = 0.03
    snelstart_throttle_rate: float = 0.02
    snelstart_hang_rate: float = 0.01
    snelstart_slow_rate: float = 0.03
    snelstart_latency: float = 0.01
    """Seconds every SnelStart answer takes, on top of any fault."""
    ccv_error_rate: float = 0.01
    hydrate_error_rate: float = 0.02
    hydrate_throttle_rate: float = 0.006
    webhook_duplicate_rate: float = 0.2
    webhooks_lost_rate: float = 0.02
    """Share of orders whose webhooks never arrive."""
    kill_rate: float = 0.02
    drain_timeout: float = 300.0


class Consumers:
    """The SQS event source mapping of one function with ``workers`` containers polling side by side."""

    def __init__(self, stack: LocalStack, logical_id: str, workers: int) -> None:
        self.stack = stack
        self.logical_id = logical_id
        self.workers = max(1, workers)
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Consumers:
        (source,) = self.stack._outputs().functions[self.logical_id].sqs_sources
        for container in range(1, self.workers + 1):
            thread = threading.Thread(target=self._poll, args=(source, container), name=f"consumer-{container}")
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _poll(self, source: Any, container: int) -> None:
        while not self._stop.is_set():
            try:
                handled = self.stack.drain_once(self.logical_id, source, container=container)
            except Exception as error:  # a handler that raises is a bug: stop and say so
                self.errors.append(error)
                self._stop.set()
                return
            if handled < source.batch_size:
                # The mapping's batching window: a queue that gave less than a full batch is asked again later.
                self._stop.wait(max(0.1, source.max_batching_window_seconds))

    def check(self) -> None:
        if self.errors:
            raise RuntimeError(f"a {self.logical_id} invocation raised") from self.errors[0]


class ChaosRun:
    """Owns the faults around a started LocalStack and the demo's sandboxes; ``run()`` returns the report."""

    def __init__(self, stack: LocalStack, demo: Demo, config: ChaosConfig, say: Callable[[str], None]) -> None:
        self.stack = stack
        self.demo = demo
        self.config = config
        self.say = say
        self.rng = random.Random(config.seed)
        self.orders: list[dict[str, Any]] = []
        self.retry: list[tuple[Delivery, int]] = []
        self.webhooks = {
            "posted": 0, "answered 5xx": 0, "refused 4xx": 0, "re-sent": 0, "given up": 0, "never arrived": 0,
        }  # fmt: skip
        self.polls = 0
        self._schedule_clock = datetime.now(UTC)
        self.snelstart_plan = ChaosFaultPlan(seed=self._seed())
        self.ccv_plan = ChaosFaultPlan(seed=self._seed())
        self.hiccups = HydrateHiccups(
            self.ccv_plan, self._seed(), config.hydrate_error_rate, config.hydrate_throttle_rate
        )
        self.kills = KillSwitch(self._seed(), config.kill_rate)
        self.lost_webhooks = LostWebhooks(self._seed(), config.webhooks_lost_rate)
        self.webhook_copies = 0

    def _seed(self) -> int:
        return self.rng.randrange(2**31)

    # -- set-up -----------------------------------------------------------------------------------------------
    def shorten_timings(self) -> None:
        """Visibility timeouts of seconds, not minutes, and a deliver timeout to match (see DELIVER_TIMEOUT)."""
        outputs = self.stack._outputs()
        sqs = self.stack.client("sqs")
        for url in (outputs.target_queues["snelstart"], outputs.poll_queue_url):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})
        outputs.functions[DELIVER] = dataclasses.replace(outputs.functions[DELIVER], timeout=DELIVER_TIMEOUT)

    def unleash(self) -> None:
        """Faults on, after the connection is made: connecting is not what this run is about."""
        c = self.config
        ccv, snelstart = self.demo.ccv, self.demo.snelstart
        # CCV's real per-minute limits would make thousands of orders take an hour; faults stand in for them.
        ccv.configure({"rate_limits": {"get_per_minute": 10**6, "write_per_minute": 10**6, "total_per_minute": 10**6}})
        ccv.configure({"duplicate_rate": c.webhook_duplicate_rate, "shuffle": True})
        self.ccv_plan.update({"error_rate": c.ccv_error_rate, "retry_after": 1})
        ccv.faults = self.ccv_plan
        ccv.outbox.reseed(self._seed())
        self.snelstart_plan.update(
            {
                "applies_to": API_PREFIXES,
                "error_rate": c.snelstart_error_rate,
                "throttle_rate": c.snelstart_throttle_rate,
                "retry_after": 1,
                "latency": c.snelstart_latency,
                "commit_then_hang_rate": c.snelstart_hang_rate,
                "hang_seconds": 2.0,  # longer than HTTP_READ_TIMEOUT (1.5 s): the client gives up, SnelStart booked
            }
        )
        self.snelstart_plan.slow_rate = c.snelstart_slow_rate
        self.snelstart_plan.slow_seconds = (0.2, 0.8)
        snelstart.faults = self.snelstart_plan

    # -- the run ----------------------------------------------------------------------------------------------
    def run(self) -> ChaosReport:
        started = time.monotonic()
        c = self.config
        self.shorten_timings()
        self.demo.connect()
        self.unleash()
        batches = [min(c.batch_size, c.orders - first) for first in range(0, c.orders, c.batch_size)]
        poll_after = {round(len(batches) * (i + 1) / (c.polls + 1)) for i in range(c.polls)}
        with killing_deliver_workers(self.kills), Consumers(self.stack, DELIVER, c.workers) as consumers:
            for index, size in enumerate(batches, start=1):
                begun = time.monotonic()
                self.orders += chaos_orders(self.demo.ccv, self.demo.shop, size, self._seed())
                self.deliver_webhooks()
                if index in poll_after:
                    self.poll()
                # Shallow queues: moto's SQS slows down as a queue grows, so the next batch waits for this one.
                self.wait_until(lambda: self.visible() == 0, consumers, timeout=c.drain_timeout)
                took = time.monotonic() - begun
                self.say(f"batch {index}/{len(batches)}: {len(self.orders)} orders placed ({took:.1f} s)")
            while self.retry:  # CCV keeps re-sending what got a 5xx, a while apart
                time.sleep(1)
                self.deliver_webhooks()
            self.poll()
            self.say("last webhooks sent, last poll done: draining every queue, in-flight messages included")
            drained = self.wait_until(lambda: self.in_queues() == 0, consumers, timeout=c.drain_timeout)
        return self.report(time.monotonic() - started, drained)

    def deliver_webhooks(self) -> None:
        """Send what CCV has waiting (duplicated and shuffled by the sandbox) and re-send what got a 5xx."""
        again, self.retry = self.retry, []
        for delivery, attempts in again:
            self.webhooks["re-sent"] += 1
            self._post(delivery, attempts)
        pending = len(self.demo.ccv.pending_webhooks())
        sent = self.demo.ccv.deliver_webhooks(post=lambda delivery: self._post(delivery, 0))
        self.webhook_copies += len(sent) - pending

    def _post(self, delivery: Delivery, attempts: int) -> None:
        if self.lost_webhooks.is_lost(int(json.loads(delivery.body)["id"])):
            self.webhooks["never arrived"] += 1
            return
        self.hiccups.before_post()
        self.webhooks["posted"] += 1
        try:
            answer = requests.post(delivery.address, data=delivery.body, headers=delivery.headers, timeout=30)
            status = answer.status_code
        except requests.RequestException:
            status = 599  # no answer at all: CCV would try again, like after a 5xx
        self.hiccups.after_post()
        if status >= 500:
            self.webhooks["answered 5xx"] += 1
            if attempts + 1 < WEBHOOK_ATTEMPTS:
                self.retry.append((delivery, attempts + 1))
            else:
                self.webhooks["given up"] += 1
        elif status >= 400:
            self.webhooks["refused 4xx"] += 1

    def poll(self) -> None:
        """The EventBridge schedule fires; each tick is one poll interval (5 min) after the last, so it is due."""
        self._schedule_clock += timedelta(minutes=6)
        self.stack.tick(self._schedule_clock)
        self.stack.drain(POLL)
        self.polls += 1

    def wait_until(self, done: Callable[[], bool], consumers: Consumers, *, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            consumers.check()
            self.stack.drain(POLL)  # a poll job that failed comes back after its visibility timeout
            if done():
                return True
            time.sleep(0.25)
        return False

    def visible(self) -> int:
        return self._depth("ApproximateNumberOfMessages")

    def in_queues(self) -> int:
        return self._depth("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")

    def _depth(self, *attributes: str) -> int:
        outputs = self.stack._outputs()
        sqs = self.stack.client("sqs")
        total = 0
        for url in (outputs.target_queues["snelstart"], outputs.poll_queue_url):
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
            total += sum(int(found[name]) for name in attributes)
        return total

    # -- what happened ----------------------------------------------------------------------------------------
    def report(self, wall_seconds: float, drained: bool) -> ChaosReport:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        ledger = bootstrap.ledger(StoreSettings.load())
        posted = ledger.entries(CONNECTION, "POSTED")
        key = self.demo.koppelsleutel()
        snelstart = self.demo.snelstart
        final = [self.demo.ccv.get_order(order["id"]) for order in self.orders]
        figures = outcome_figures(
            final,
            snelstart.bookings(key),
            ledger.entries(CONNECTION, "PARKED"),
            ledger.entries(CONNECTION, "PENDING"),
        )
        invocations = self.stack.invocations
        depths = self.stack.queue_depths()
        return ChaosReport(
            seed=self.config.seed,
            workers=self.config.workers,
            orders_placed=len(final),
            duplicates=snelstart.duplicates(key),
            retries={
                "batch item failures": invocations.failures.get(DELIVER, 0) + invocations.failures.get(POLL, 0),
                "worker crashes": invocations.crashes.get(DELIVER, 0),
                "webhooks re-sent": self.webhooks["re-sent"],
            },
            faults=self.faults(),
            taken_over=sum(1 for entry in posted if entry.attempts > 1),
            by_poll_only=self.booked_by_poll_only(final, snelstart.bookings(key)),
            rates=self.rates(),
            dead_lettered=sum(count for name, count in depths.items() if name.endswith("DLQ")),
            duplicate_customers=duplicate_customers(snelstart.relations(key)),
            webhooks=dict(self.webhooks),
            polls=self.polls,
            slowest_invocation=invocations.slowest.get(DELIVER, 0.0),
            deliver_timeout=DELIVER_TIMEOUT,
            wall_seconds=wall_seconds,
            drained=drained,
            **figures,
        )

    def booked_by_poll_only(self, orders: list[dict[str, Any]], bookings: list[dict[str, Any]]) -> int:
        """Bookings of orders whose webhooks never arrived: the scheduled poll's catch."""
        booked = {str(b["factuurnummer"]) for b in bookings}
        return sum(1 for o in orders if o["id"] in self.lost_webhooks.lost and o["ordernumber_full"] in booked)

    def rates(self) -> str:
        c = self.config
        return (
            f"SnelStart: 503 {c.snelstart_error_rate:.0%}, 429 {c.snelstart_throttle_rate:.0%}, "
            f"commit then hang {c.snelstart_hang_rate:.0%}, slow {c.snelstart_slow_rate:.0%}, "
            f"+{c.snelstart_latency * 1000:.0f} ms each; CCV: 503 {c.ccv_error_rate:.0%}, re-read bursts "
            f"{c.hydrate_error_rate + c.hydrate_throttle_rate:.1%} of webhooks, duplicates "
            f"{c.webhook_duplicate_rate:.0%}, shuffled, none at all for {c.webhooks_lost_rate:.0%} of orders; "
            f"workers killed at {c.kill_rate:.0%} of ledger updates"
        )

    def faults(self) -> dict[str, int]:
        s, c = self.snelstart_plan.counts, self.ccv_plan.counts
        forced = self.hiccups.forced
        return {
            "SnelStart 503": s.get("error", 0),
            "SnelStart 429": s.get("throttle", 0),
            "SnelStart commit then hang": s.get("commit_then_hang", 0),
            "SnelStart slow": s.get("slow", 0),
            "CCV 503": c.get("error", 0) - forced.get("error", 0),
            "CCV re-read 503 bursts": self.hiccups.bursts.get("error", 0),
            "CCV re-read 429 bursts": self.hiccups.bursts.get("throttle", 0),
            "webhook duplicates": self.webhook_copies,
            "workers killed": len(self.kills.killed),
            "orders without webhooks": len(self.lost_webhooks.lost),
        }


def run_chaos(config: ChaosConfig, say: Callable[[str], None] = lambda _: None) -> ChaosReport:
    """Start a local stack and the sandboxes, play ``config``, and return the report."""
    with LocalStack(env_overrides=chaos_env(config.batch_size)) as stack, Demo(stack) as demo:
        return ChaosRun(stack, demo, config, say).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="deliver containers side by side (default 2)")
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args(argv)
    config = ChaosConfig(orders=args.orders, seed=args.seed, workers=args.workers, batch_size=args.batch_size)
    # Every retry logs a warning, and a chaos run retries thousands of times: the table says what matters.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    console = Console()
    console.rule(f"[bold]Koppel chaos: {config.orders} orders, seed {config.seed}")
    report = run_chaos(config, say=lambda text: console.print(f"[cyan]•[/] {text}"))
    console.print(report_table(report))
    console.rule("[green]no duplicate, nothing lost" if report.ok else "[red]the chaos run found a problem")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
