"""`make chaos KOPPELING=ccvshop_snelstart`: N CCV Shop orders through seeded faults into SnelStart.

The demo's connection (activated through the koppelsleutel callback), then orders in batches on the shared
runner (devkit.chaos.runner): place a batch with ``chaos_orders``, deliver its webhooks, let the deliver workers
drain the queue, next batch; a scheduled poll now and then; at the end drain until every queue is empty,
in-flight messages included. Meanwhile, from one seeded random generator:

- SnelStart answers 503, 429 with Retry-After 1, slowly, or commits a booking and then hangs past the client's
  read timeout (so the client believes it failed);
- CCV Shop delivers webhooks duplicated and out of order, sometimes fails the order re-read so that ingest
  answers 503 and the webhook is sent again, as CCV would, and for a few orders sends no webhook at all (only
  the scheduled poll finds those);
- the runner kills deliver workers between the POST and the ledger update (devkit.chaos.faults).

Which request meets which fault also depends on thread timing, so two runs with one seed inject the same mix,
not necessarily on the same orders.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import requests

from devkit.chaos.faults import ChaosFaultPlan, HydrateHiccups, LostWebhooks, TargetFaults
from devkit.chaos.runner import POLL, ChaosConfig, ChaosRun, play
from devkit.koppelingen.ccvshop_snelstart.demo import CONNECTION, Demo
from devkit.koppelingen.ccvshop_snelstart.report import SnelstartChaosReport, figures
from devkit.koppelingen.ccvshop_snelstart.scenarios import chaos_orders
from devkit.sandboxes.snelstart.sandbox import API_PREFIXES

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.chaos.consumers import Consumers
    from devkit.local import LocalStack
    from devkit.sandboxes.ccvshop.sandbox import Delivery

DELIVER = "DeliverSnelstartFunction"
WEBHOOK_ATTEMPTS = 5
"""How often the harness, playing CCV, sends a webhook that keeps getting 5xx; after that only the poll finds it."""
SNELSTART_FAULTS = TargetFaults(latency=0.01)


@dataclass(frozen=True, kw_only=True)
class SnelstartChaosConfig(ChaosConfig):
    size: int = 2000
    polls: int = 3
    """Scheduled polls spread over the run, besides the last one before the final drain."""
    snelstart: TargetFaults = SNELSTART_FAULTS
    ccv_error_rate: float = 0.01
    hydrate_error_rate: float = 0.02
    hydrate_throttle_rate: float = 0.006
    webhook_duplicate_rate: float = 0.2
    webhooks_lost_rate: float = 0.02
    """Share of orders whose webhooks never arrive."""


class SnelstartChaosRun(ChaosRun):
    UNIT = "orders"
    DELIVER = DELIVER
    SHORTENED = (DELIVER,)
    config: SnelstartChaosConfig
    world: Demo

    def __init__(self, stack: LocalStack, world: Demo, config: ChaosConfig, say: Callable[[str], None]) -> None:
        super().__init__(stack, world, config, say)
        c = self.config
        self.orders: list[dict[str, Any]] = []
        self.retry: list[tuple[Delivery, int]] = []
        self.webhooks = {
            "posted": 0, "answered 5xx": 0, "refused 4xx": 0, "re-sent": 0, "given up": 0, "never arrived": 0,
        }  # fmt: skip
        self.webhook_copies = 0
        self.snelstart_plan = c.snelstart.plan(self.seed(), API_PREFIXES)
        self.ccv_plan = ChaosFaultPlan(seed=self.seed())
        self.hiccups = HydrateHiccups(self.ccv_plan, self.seed(), c.hydrate_error_rate, c.hydrate_throttle_rate)
        self.lost_webhooks = LostWebhooks(self.seed(), c.webhooks_lost_rate)

    @classmethod
    def env(cls, config: ChaosConfig) -> dict[str, str]:
        # A batch of n orders is created a minute apart over the last n minutes (chaos_orders): the poll's
        # overlap must reach back that far to see them all.
        return {"POLL_OVERLAP_MINUTES": str(config.batch_size + 10)}

    @classmethod
    def open_world(cls, stack: LocalStack) -> Demo:
        return Demo(stack)

    def connect(self) -> None:
        self.world.connect()

    def unleash(self) -> None:
        c = self.config
        ccv = self.world.ccv
        # CCV's real per-minute limits would make thousands of orders take an hour; faults stand in for them.
        ccv.configure({"rate_limits": {"get_per_minute": 10**6, "write_per_minute": 10**6, "total_per_minute": 10**6}})
        ccv.configure({"duplicate_rate": c.webhook_duplicate_rate, "shuffle": True})
        self.ccv_plan.update({"error_rate": c.ccv_error_rate, "retry_after": 1})
        ccv.faults = self.ccv_plan
        ccv.outbox.reseed(self.seed())
        self.world.snelstart.faults = self.snelstart_plan

    def batch(self, index: int, size: int, batches: int) -> None:
        self.orders += chaos_orders(self.world.ccv, self.world.shop, size, self.seed())
        self.made = len(self.orders)
        self.deliver_webhooks()
        polls = self.config.polls
        if index in {round(batches * (i + 1) / (polls + 1)) for i in range(polls)}:
            self.poll()

    def finish(self, consumers: Consumers) -> bool:
        while self.retry:  # CCV keeps re-sending what got a 5xx, a while apart
            time.sleep(1)
            self.deliver_webhooks()
        self.poll()
        self.say("last webhooks sent, last poll done: draining every queue, in-flight messages included")
        return self.wait_until(self.empty, consumers)

    # -- CCV Shop's webhooks --------------------------------------------------------------------------------------
    def deliver_webhooks(self) -> None:
        """Send what CCV has waiting (duplicated and shuffled by the sandbox) and re-send what got a 5xx."""
        again, self.retry = self.retry, []
        for delivery, attempts in again:
            self.webhooks["re-sent"] += 1
            self._post(delivery, attempts)
        pending = len(self.world.ccv.pending_webhooks())
        sent = self.world.ccv.deliver_webhooks(post=lambda delivery: self._post(delivery, 0))
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

    # -- what happened ------------------------------------------------------------------------------------------
    def report(self, wall_seconds: float, drained: bool) -> SnelstartChaosReport:
        ledger = self.ledger()
        key = self.world.koppelsleutel()
        snelstart = self.world.snelstart
        final = [self.world.ccv.get_order(order["id"]) for order in self.orders]
        bookings = snelstart.bookings(key)
        booked = {str(b["factuurnummer"]) for b in bookings}
        lost_ids = self.lost_webhooks.lost
        return SnelstartChaosReport(
            koppeling="ccvshop_snelstart",
            target="SnelStart",
            sent=len(final),
            duplicates=snelstart.duplicates(key),
            retries={
                "batch item failures": self.failures(DELIVER) + self.failures(POLL),
                "worker crashes": self.crashes(DELIVER),
                "webhooks re-sent": self.webhooks["re-sent"],
            },
            faults=self.faults(),
            rates=self.rates(),
            taken_over=sum(1 for entry in ledger.entries(CONNECTION, "POSTED") if entry.attempts > 1),
            # Bookings of orders whose webhooks never arrived: the scheduled poll's catch.
            by_poll_only=sum(1 for o in final if o["id"] in lost_ids and o["ordernumber_full"] in booked),
            webhooks=dict(self.webhooks),
            **self.common(wall_seconds, drained),
            **figures(
                final,
                bookings,
                snelstart.relations(key),
                ledger.entries(CONNECTION, "PARKED"),
                ledger.entries(CONNECTION, "PENDING"),
            ),
        )

    def rates(self) -> str:
        c = self.config
        return (
            f"{c.snelstart.describe('SnelStart')}; CCV: 503 {c.ccv_error_rate:.0%}, re-read bursts "
            f"{c.hydrate_error_rate + c.hydrate_throttle_rate:.1%} of webhooks, duplicates "
            f"{c.webhook_duplicate_rate:.0%}, shuffled, none at all for {c.webhooks_lost_rate:.0%} of orders; "
            f"workers killed at {c.kill_rate:.0%} of ledger updates"
        )

    def faults(self) -> dict[str, int]:
        c, forced = self.ccv_plan.counts, self.hiccups.forced
        return TargetFaults.counted("SnelStart", self.snelstart_plan) | {
            "CCV 503": c.get("error", 0) - forced.get("error", 0),
            "CCV re-read 503 bursts": self.hiccups.bursts.get("error", 0),
            "CCV re-read 429 bursts": self.hiccups.bursts.get("throttle", 0),
            "webhook duplicates": self.webhook_copies,
            "workers killed": len(self.kills.killed),
            "orders without webhooks": len(self.lost_webhooks.lost),
        }


CONFIG, RUN = SnelstartChaosConfig, SnelstartChaosRun


def run_chaos(config: SnelstartChaosConfig, say: Callable[[str], None] = lambda _: None) -> SnelstartChaosReport:
    """Start a local stack and the sandboxes, play ``config``, and return the report."""
    return cast("SnelstartChaosReport", play(SnelstartChaosRun, config, say))
