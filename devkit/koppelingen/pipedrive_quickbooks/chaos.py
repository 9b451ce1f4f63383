"""`make chaos KOPPELING=pipedrive_quickbooks`: N Pipedrive deals through seeded faults into QuickBooks Online.

The demo's connection (both OAuth consents through the local HTTP API), then deals in batches on the shared runner
(devkit.chaos.runner; the workload is ``scenarios.DealMaker``): make a batch of deals; for each, the salespeople
press "Create invoice" (now and then twice or three times), win it (Pipedrive's won-deal webhook, sometimes sent
twice) or both; a press answered 503 is pressed again; a scheduled poll every batch (won deals the webhooks missed,
payment status back). Half-way a payment wave: a third of the invoices booked so far is paid in QuickBooks, in
full or in part, and the polls carry that onto the deals. At the end, polls until nothing changes and every queue,
in-flight messages included, is empty. Meanwhile, from one seeded generator:

- QuickBooks' API (/v3) answers 503, 429 with Retry-After 1, slowly, or stores an invoice and then hangs past the
  client's read timeout (the retry sends the same ``requestid``, and looks the DocNumber up first);
- Pipedrive's API answers 429 now and then, and its burst limit is lowered, so a button's re-read of the deal meets
  them (the press answers 503 and is pressed again);
- QuickBooks' access tokens live ``access_ttl`` seconds, so with Koppel's two-minute margin every worker finds the
  grant expiring every few seconds and they renew it side by side: the report counts the refreshes at the token
  endpoint and proves, with the sandboxes' own counters, that no refresh token was presented twice. The token
  endpoint itself gets no faults: with refresh tokens that rotate at once, a refresh whose answer is lost cannot be
  repeated (QuickBooks' README, ``refresh_grace``), which no client can fix;
- the runner kills deliver workers (the QuickBooks deliver function) between the POST and the ledger update.

The QuickBooks deliver function runs in ``workers`` containers and the Pipedrive write-back in container 0, each
started before the run begins (``ChaosRun.start_containers``).
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

import requests

from devkit.chaos.faults import ChaosFaultPlan, TargetFaults
from devkit.chaos.runner import POLL, ChaosConfig, ChaosRun, play
from devkit.koppelingen.pipedrive_quickbooks.demo import CONNECTION, FAST_CLOCK, PipedriveDemo
from devkit.koppelingen.pipedrive_quickbooks.report import FinalState, PipedriveChaosReport, figures
from devkit.koppelingen.pipedrive_quickbooks.scenarios import REALM, DealMaker, expected
from devkit.koppelingen.pipedrive_quickbooks.seed import press

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.chaos.consumers import Consumers
    from devkit.local import LocalStack
    from devkit.sandboxes.pipedrive.sandbox import Delivery

DELIVER = "DeliverQuickbooksFunction"
WRITE_BACK = "DeliverPipedriveFunction"
QUICKBOOKS_API = ("/v3",)
PIPEDRIVE_API = ("/api/", "/v1/")
PRESS_ATTEMPTS = 4
"""How often a salesperson presses a button that keeps answering 503 before leaving the deal to the poll."""
QUICKBOOKS_FAULTS = TargetFaults(latency=0.005)


@dataclass(frozen=True, kw_only=True)
class PipedriveChaosConfig(ChaosConfig):
    size: int = 200
    batch_size: int = 25
    kill_rate: float = 0.03
    drain_timeout: float = 240.0
    quickbooks: TargetFaults = QUICKBOOKS_FAULTS
    pipedrive_throttle_rate: float = 0.02
    pipedrive_burst: int = 60
    """Requests per rolling 2 s a token may make (OAuth Growth: 160); lowered so the burst limit is met."""
    access_ttl: int = 122
    """QuickBooks access-token lifetime in seconds: Koppel renews 120 s early, so every 2 s."""
    press_again_rate: float = 0.3
    win_rate: float = 0.45
    webhook_duplicate_rate: float = 0.2
    paid_share: float = 1 / 3
    presses_at_once: int = 4


class PipedriveChaosRun(ChaosRun):
    UNIT = "deals"
    DELIVER = DELIVER
    DRAINED_HERE = (POLL, WRITE_BACK)
    SHORTENED = (DELIVER, WRITE_BACK)
    config: PipedriveChaosConfig
    world: PipedriveDemo

    def __init__(
        self, stack: LocalStack, world: PipedriveDemo, config: ChaosConfig, say: Callable[[str], None]
    ) -> None:
        super().__init__(stack, world, config, say)
        self.maker = DealMaker(world.pipedrive, self.seed())
        self.quickbooks_plan = self.config.quickbooks.plan(self.seed(), QUICKBOOKS_API)
        self.pipedrive_plan = ChaosFaultPlan(seed=self.seed())
        self.choices = random.Random(self.seed())
        self.presses: dict[str, int] = {}
        self.webhooks = {"posted": 0, "sent twice": 0, "answered 5xx": 0}
        self.payment_wave: dict[str, int] = {}
        self.refused: set[int] = set()

    @classmethod
    def env(cls, config: ChaosConfig) -> dict[str, str]:
        return {"POLL_OVERLAP_MINUTES": "1"} | FAST_CLOCK

    @classmethod
    def open_world(cls, stack: LocalStack) -> PipedriveDemo:
        return PipedriveDemo(stack)

    def connect(self) -> None:
        with self.world.quickbooks._lock:  # every token issued from the consent on lives access_ttl seconds
            self.world.quickbooks.oauth.access_ttl = self.config.access_ttl
        self.world.connect()
        self.maker.add_customers()
        self.poll()  # target sync reads the company's tax codes before the first press

    def unleash(self) -> None:
        self.start_containers()
        c = self.config
        self.world.quickbooks.faults = self.quickbooks_plan
        self.pipedrive_plan.update(
            {"applies_to": PIPEDRIVE_API, "throttle_rate": c.pipedrive_throttle_rate, "retry_after": 1}
        )
        self.world.pipedrive.faults = self.pipedrive_plan
        self.world.pipedrive.configure({"burst_override": c.pipedrive_burst, "retry_after_header": True})

    def batch(self, index: int, size: int, batches: int) -> None:
        deals = [self.maker.deal() for _ in range(size)]
        self.made = len(self.maker.made.deals)
        presses: list[int] = []
        for deal in deals:
            won = self.choices.random() < self.config.win_rate
            if won:
                self.world.pipedrive.set_deal_status(deal, "won")
            if not won or self.choices.random() < 0.3:
                presses += [deal] * (1 + (self.choices.random() < self.config.press_again_rate))
        self.choices.shuffle(presses)
        with ThreadPoolExecutor(self.config.presses_at_once) as pool:
            list(pool.map(self.press, presses))
        self.deliver_webhooks()
        self.poll()

    def press(self, deal: int) -> None:
        for _ in range(PRESS_ATTEMPTS):
            try:
                answer = press(self.stack, self.world.pipedrive, "invoice", deal, user=self.world.user)
                status = answer.status_code
            except requests.RequestException:
                status = 599
            self.presses[str(status)] = self.presses.get(str(status), 0) + 1
            if status == 422:
                self.refused.add(deal)
            if status < 500:
                return

    def deliver_webhooks(self, *, due_only: bool = True) -> None:
        """What Pipedrive has waiting (its retries of a failed delivery only once due, unless ``due_only`` is off)."""
        self.world.pipedrive.deliver_webhooks(post=self._post, due_only=due_only)

    def _post(self, delivery: Delivery) -> int:
        copies = 2 if self.choices.random() < self.config.webhook_duplicate_rate else 1
        self.webhooks["sent twice"] += copies - 1
        status = 599
        for _ in range(copies):
            self.webhooks["posted"] += 1
            try:
                status = requests.post(
                    delivery.url, data=delivery.body, headers=delivery.headers, timeout=30
                ).status_code
            except requests.RequestException:
                status = 599
            if status >= 500:
                self.webhooks["answered 5xx"] += 1
        return status

    def after_batch(self, index: int, batches: int, consumers: Consumers) -> None:
        if index == max(1, batches // 2):
            self.wait_until(self.empty, consumers)
            self.pay_wave()

    def finish(self, consumers: Consumers) -> bool:
        self.say("last deals made: polling until nothing changes, then draining every queue")
        # before each poll, Pipedrive's retries of what failed
        return self.settle(consumers, before_poll=lambda: self.deliver_webhooks(due_only=False))

    def activity(self) -> tuple[int, int, str]:
        ledger = self.ledger().entries(CONNECTION)
        return len(ledger), len(self.world.quickbooks.invoices(REALM)), json.dumps(self.statuses(), sort_keys=True)

    def statuses(self) -> dict[int, str]:
        return {deal: self.world.status_on_deal(deal) for deal in self.maker.made.deals}

    def pay_wave(self) -> None:
        """A third of the invoices booked so far is paid in QuickBooks: in full, or a part of it."""
        invoices = [i for i in self.world.quickbooks.invoices(REALM) if Decimal(str(i["Balance"])) > 0]
        chosen = self.choices.sample(invoices, round(len(invoices) * self.config.paid_share))
        for invoice in chosen:
            total = Decimal(str(invoice["Balance"]))
            if self.choices.random() < 0.5:
                amount, kind = total, "paid in full"
            else:
                amount = (total * Decimal(self.choices.randint(10, 90)) / 100).quantize(Decimal("0.01"))
                kind = "paid in part"
            self.world.quickbooks.record_payment(REALM, invoice["Id"], amount)
            self.payment_wave[kind] = self.payment_wave.get(kind, 0) + 1
        self.say(f"payment wave: {len(chosen)} of {len(invoices)} open invoices paid in QuickBooks")

    # -- what happened ------------------------------------------------------------------------------------------
    def final_state(self) -> FinalState:
        ledger, pipedrive = self.ledger(), self.world.pipedrive
        made = self.maker.made
        return FinalState(
            deals={d: expected(pipedrive.get_deal_products(d)) for d in made.deals if d not in made.refused},
            refused=made.refused,
            invoices=self.world.quickbooks.invoices(REALM),
            duplicates=self.world.quickbooks.duplicates(REALM),
            statuses=self.statuses(),
            parked=ledger.entries(CONNECTION, "PARKED"),
            pending=ledger.entries(CONNECTION, "PENDING"),
            refresh_uses={
                "QuickBooks": self.world.quickbooks.refresh_token_uses(),
                "Pipedrive": pipedrive.refresh_token_uses(),
            },
        )

    def report(self, wall_seconds: float, drained: bool) -> PipedriveChaosReport:
        return PipedriveChaosReport(
            koppeling="pipedrive_quickbooks",
            target="QuickBooks Online",
            by_kind=dict(self.maker.made.counts),
            sent=len(self.maker.made.deals),
            retries={
                "deliver batch item failures": self.failures(DELIVER),
                "write-back batch item failures": self.failures(WRITE_BACK),
                "polls failed and repeated": self.failures(POLL),
                "worker crashes": self.crashes(DELIVER, WRITE_BACK),
                "presses answered 503": self.presses.get("503", 0),
            },
            faults=self.faults(),
            rates=self.rates(),
            presses=dict(self.presses),
            webhooks=dict(self.webhooks),
            payment_wave=dict(self.payment_wave),
            refused=len(self.refused),
            **self.common(wall_seconds, drained),
            **figures(self.final_state()),
        )

    def rates(self) -> str:
        c = self.config
        return (
            f"{c.quickbooks.describe('QuickBooks /v3')}; QuickBooks access tokens live {c.access_ttl} s; Pipedrive: "
            f"429 {c.pipedrive_throttle_rate:.0%}, burst limit {c.pipedrive_burst} per 2 s; webhooks twice "
            f"{c.webhook_duplicate_rate:.0%}; workers killed at {c.kill_rate:.0%} of ledger updates"
        )

    def faults(self) -> dict[str, int]:
        p = self.pipedrive_plan.counts
        return TargetFaults.counted("QuickBooks", self.quickbooks_plan) | {
            "Pipedrive 429": p.get("throttle", 0),
            "webhooks sent twice": self.webhooks["sent twice"],
            "workers killed": len(self.kills.killed),
        }


CONFIG, RUN = PipedriveChaosConfig, PipedriveChaosRun


def run_chaos(config: PipedriveChaosConfig, say: Callable[[str], None] = lambda _: None) -> PipedriveChaosReport:
    """Start a local stack and the sandboxes, play ``config``, and return the report."""
    return cast("PipedriveChaosReport", play(PipedriveChaosRun, config, say))
