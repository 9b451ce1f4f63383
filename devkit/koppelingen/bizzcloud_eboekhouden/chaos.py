"""`make chaos KOPPELING=bizzcloud_eboekhouden`: N Bizzcloud documents through seeded faults into e-Boekhouden.nl.

The demo's connection (Bizzcloud → e-Boekhouden made with the CLI), then documents in batches on the shared runner
(devkit.chaos.runner; the workload is ``scenarios.DocumentMaker``): make a batch in Bizzcloud, let the EventBridge
schedule fire (the tick clock moves 6 minutes, past the 5-minute poll interval), let the poll and the deliver
workers drain, next batch. Half-way a payment wave: a random third of the invoices booked so far is paid in
e-Boekhouden, in full or in part, and the polls that follow carry that back to Bizzcloud under the same faults. At
the end, polls until nothing changes any more and every queue, in-flight messages included, is empty. Meanwhile,
from one seeded generator:

- e-Boekhouden answers 503, 429 with Retry-After 1, slowly, or stores a mutation and then hangs past the client's
  read timeout (so the client believes it failed);
- Bizzcloud answers 503 or 429 on /jsonrpc: JSON-RPC is a POST, which is never retried in-process, so a poll that
  meets one fails and its job comes back to read the same window again; write-backs meet them too;
- the runner kills deliver workers (both deliver functions) between the POST and the ledger update.

Both deliver functions run side by side here, the e-Boekhouden one in ``workers`` containers and the Bizzcloud
write-back in container 0; their environments differ (CONNECTOR), and a handler reads its environment once, on its
first invocation, so every container is started before the run begins (``start_containers``) rather than while the
other function's variables are set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from devkit.chaos.faults import ChaosFaultPlan, TargetFaults
from devkit.chaos.runner import POLL, ChaosConfig, ChaosRun, play
from devkit.koppelingen.bizzcloud_eboekhouden.demo import CONNECTION, FAST_CLOCK, BizzcloudDemo
from devkit.koppelingen.bizzcloud_eboekhouden.report import BizzcloudChaosReport, FinalState, figures
from devkit.koppelingen.bizzcloud_eboekhouden.scenarios import DocumentMaker
from devkit.sandboxes.bizzcloud.sandbox import API_PREFIXES as BIZZCLOUD_API
from devkit.sandboxes.bizzcloud.store import cents
from devkit.sandboxes.eboekhouden import mutations as eboekhouden_mutations
from devkit.sandboxes.eboekhouden.sandbox import API_PREFIXES as EBOEKHOUDEN_API

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.chaos.consumers import Consumers
    from devkit.local import LocalStack

DELIVER = "DeliverEboekhoudenFunction"
WRITE_BACK = "DeliverBizzcloudFunction"
EBOEKHOUDEN_FAULTS = TargetFaults(latency=0.005)


@dataclass(frozen=True, kw_only=True)
class BizzcloudChaosConfig(ChaosConfig):
    size: int = 300
    batch_size: int = 40
    kill_rate: float = 0.03
    drain_timeout: float = 240.0
    eboekhouden: TargetFaults = EBOEKHOUDEN_FAULTS
    bizzcloud_error_rate: float = 0.02
    bizzcloud_throttle_rate: float = 0.015
    paid_share: float = 1 / 3


class BizzcloudChaosRun(ChaosRun):
    UNIT = "documents"
    DELIVER = DELIVER
    DRAINED_HERE = (POLL, WRITE_BACK)
    SHORTENED = (DELIVER, WRITE_BACK)
    config: BizzcloudChaosConfig
    world: BizzcloudDemo

    def __init__(
        self, stack: LocalStack, world: BizzcloudDemo, config: ChaosConfig, say: Callable[[str], None]
    ) -> None:
        super().__init__(stack, world, config, say)
        self.maker = DocumentMaker(world.bizzcloud, self.seed())
        self.eboekhouden_plan = self.config.eboekhouden.plan(self.seed(), EBOEKHOUDEN_API)
        self.bizzcloud_plan = ChaosFaultPlan(seed=self.seed())
        self.payments_rng = random.Random(self.seed())
        self.payment_wave: dict[str, int] = {}

    @classmethod
    def env(cls, config: ChaosConfig) -> dict[str, str]:
        # Odoo stamps write_date with the real time and the poll reads up to the real now, so the overlap only has
        # to cover a poll's own second; one minute (the least) keeps polls from re-reading the whole run.
        return {"POLL_OVERLAP_MINUTES": "1"} | FAST_CLOCK

    @classmethod
    def open_world(cls, stack: LocalStack) -> BizzcloudDemo:
        return BizzcloudDemo(stack)

    def connect(self) -> None:
        self.world.connect()
        self.maker.add_customers()

    def unleash(self) -> None:
        self.start_containers()
        c = self.config
        self.world.eboekhouden.faults = self.eboekhouden_plan
        # The live API refuses a known invoice number (MUT_019), and so does the sandbox by default; off here only,
        # so a second booking would land and this run counts it as a duplicate instead of the vendor hiding it.
        self.world.eboekhouden.refuse_duplicate_invoice_numbers = False
        self.bizzcloud_plan.update(
            {
                "applies_to": BIZZCLOUD_API,
                "error_rate": c.bizzcloud_error_rate,
                "throttle_rate": c.bizzcloud_throttle_rate,
                "retry_after": 1,
            }
        )
        self.world.bizzcloud.faults = self.bizzcloud_plan

    def batch(self, index: int, size: int, batches: int) -> None:
        self.maker.batch(size)
        self.made = self.maker.created.total
        self.poll()

    def after_batch(self, index: int, batches: int, consumers: Consumers) -> None:
        if index == max(1, batches // 2):
            # Everything so far booked first, in-flight messages included: the wave pays booked invoices.
            self.wait_until(self.empty, consumers)
            self.pay_wave()

    def finish(self, consumers: Consumers) -> bool:
        """The last drafts posted or cancelled; then poll until two polls in a row neither book nor carry back
        anything, and drain every queue."""
        self.maker.batch(0)
        self.say("last documents made: polling until nothing changes, then draining every queue")
        return self.settle(consumers)

    def activity(self) -> tuple[int, int]:
        """Ledger rows and e-Boekhouden mutations: what changes while the run is still booking or carrying back."""
        rows = len(self.ledger().entries(CONNECTION))
        return rows, len(self.world.eboekhouden.mutations(self.world.api_token))

    def pay_wave(self) -> None:
        """A random third of the invoices booked so far is paid in e-Boekhouden: in full, or a part of it."""
        moves = {str(m["name"]): m for m in self.world.bizzcloud.records("account.move")}
        booked = [
            m for m in self.world.eboekhouden.mutations(self.world.api_token) if m["type"] == 2 and m["invoiceNumber"]
        ]
        candidates = sorted(
            str(m["invoiceNumber"])
            for m in booked
            if (move := moves.get(str(m["invoiceNumber"])))
            and move["move_type"] == "out_invoice"
            and move["payment_state"] == "not_paid"
            and not move.get("pos_order_ids")
        )
        chosen = self.payments_rng.sample(candidates, round(len(candidates) * self.config.paid_share))
        today = datetime.now(UTC).date().isoformat()
        for number in chosen:
            total = Decimal(str(moves[number]["amount_total"]))
            if self.payments_rng.random() < 0.5:
                amount, kind = total, "paid in full"
            else:
                amount, kind = cents(total * Decimal(self.payments_rng.randint(10, 90)) / 100), "paid in part"
            self.world.eboekhouden.pay(self.world.api_token, number, amount, today)
            self.payment_wave[kind] = self.payment_wave.get(kind, 0) + 1
        self.say(f"payment wave: {len(chosen)} of {len(candidates)} open invoices paid in e-Boekhouden")

    # -- what happened ------------------------------------------------------------------------------------------
    def final_state(self) -> FinalState:
        ledger = self.ledger()
        eboekhouden, token = self.world.eboekhouden, self.world.api_token
        with eboekhouden._lock:
            items = eboekhouden_mutations.outstanding(eboekhouden.administration(token), "D", None)
        return FinalState(
            moves=self.world.bizzcloud.records("account.move"),
            orders=self.world.bizzcloud.records("pos.order"),
            mutations=eboekhouden.mutations(token),
            outstanding={str(i["invoiceNumber"]): Decimal(str(i["outstandingAmount"])) for i in items},
            sandbox_duplicates=eboekhouden.duplicates(token),
            parked=ledger.entries(CONNECTION, "PARKED"),
            pending=ledger.entries(CONNECTION, "PENDING"),
        )

    def report(self, wall_seconds: float, drained: bool) -> BizzcloudChaosReport:
        return BizzcloudChaosReport(
            koppeling="bizzcloud_eboekhouden",
            target="e-Boekhouden",
            by_kind=dict(self.maker.created.counts),
            sent=self.maker.created.total,
            retries={
                "deliver batch item failures": self.failures(DELIVER),
                "write-back batch item failures": self.failures(WRITE_BACK),
                "polls failed and repeated": self.failures(POLL),
                "worker crashes": self.crashes(DELIVER, WRITE_BACK),
            },
            faults=self.faults(),
            payment_wave=dict(self.payment_wave),
            rates=self.rates(),
            **self.common(wall_seconds, drained),
            **figures(self.final_state()),
        )

    def rates(self) -> str:
        c = self.config
        return (
            f"{c.eboekhouden.describe('e-Boekhouden')}; Bizzcloud /jsonrpc: 503 {c.bizzcloud_error_rate:.1%}, "
            f"429 {c.bizzcloud_throttle_rate:.1%}; workers killed at {c.kill_rate:.0%} of ledger updates"
        )

    def faults(self) -> dict[str, int]:
        b = self.bizzcloud_plan.counts
        return TargetFaults.counted("e-Boekhouden", self.eboekhouden_plan) | {
            "Bizzcloud 503": b.get("error", 0),
            "Bizzcloud 429": b.get("throttle", 0),
            "workers killed": len(self.kills.killed),
        }


CONFIG, RUN = BizzcloudChaosConfig, BizzcloudChaosRun


def run_chaos(config: BizzcloudChaosConfig, say: Callable[[str], None] = lambda _: None) -> BizzcloudChaosReport:
    """Start a local stack and the sandboxes, play ``config``, and return the report."""
    return cast("BizzcloudChaosReport", play(BizzcloudChaosRun, config, say))
