"""`make chaos KOPPELING=bizzcloud`: N Bizzcloud documents through seeded faults into e-Boekhouden.nl; prints
duplicates, lost, parked, unsettled till sales, payment states that disagree, totals off by a cent, retries.

The demo's connection (devkit.demo_bizzcloud: Bizzcloud → e-Boekhouden made with the CLI), then documents in
batches (devkit.chaos_bizzcloud_documents): make a batch in Bizzcloud, let the EventBridge schedule fire (the tick
clock moves 6 minutes, past the 5-minute poll interval), let the poll and the deliver workers drain, next batch.
Half-way a payment wave: a random third of the invoices booked so far is paid in e-Boekhouden, in full or in part,
and the polls that follow carry that back to Bizzcloud under the same faults. At the end, polls until nothing
changes any more and every queue, in-flight messages included, is empty. Meanwhile, from one seeded generator:

- e-Boekhouden answers 503, 429 with Retry-After 1, slowly, or stores a mutation and then hangs past the client's
  read timeout (so the client believes it failed);
- Bizzcloud answers 503 or 429 on /jsonrpc: JSON-RPC is a POST, which is never retried in-process, so a poll that
  meets one fails and its job comes back to read the same window again; write-backs meet them too;
- the harness kills deliver workers (both deliver functions) between the POST and the ledger update
  (devkit.chaos_faults).

Timings are shortened as in devkit.chaos. Both deliver functions run side by side here, the e-Boekhouden one in
``workers`` containers and the Bizzcloud write-back in container 0; their environments differ (CONNECTOR), and a
handler reads its environment once, on its first invocation, so every container is started before the run begins
(``start_containers``) rather than while the other function's variables are set.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console

from devkit import chaos
from devkit.chaos import Consumers
from devkit.chaos_bizzcloud_documents import DocumentMaker
from devkit.chaos_bizzcloud_report import BizzcloudChaosReport, FinalState, figures, report_table
from devkit.chaos_faults import ChaosFaultPlan, KillSwitch, killing_deliver_workers
from devkit.demo_bizzcloud import CONNECTION, FAST_CLOCK, BizzcloudDemo
from devkit.local import LocalStack
from devkit.sandboxes.bizzcloud.sandbox import API_PREFIXES as ODOO_API
from devkit.sandboxes.bizzcloud.store import cents
from devkit.sandboxes.eboekhouden import mutations as eboekhouden_mutations
from devkit.sandboxes.eboekhouden.sandbox import API_PREFIXES as EBOEKHOUDEN_API

if TYPE_CHECKING:
    from collections.abc import Callable

DELIVER = "DeliverEboekhoudenFunction"
WRITE_BACK = "DeliverBizzcloudFunction"
POLL = "PollSourceFunction"
DELIVER_TIMEOUT = 15
"""Seconds: both deliver functions' timeout for a chaos run (60 in the template); see devkit.chaos."""
VISIBILITY_TIMEOUT = 5
"""Seconds a received message stays hidden (390 in the template): a killed worker's batch, or a failed poll job,
comes back this soon."""
SETTLE_POLLS = 8
"""At most this many polls after the last batch; the run stops earlier once two polls in a row change nothing."""


def chaos_env() -> dict[str, str]:
    """The CCV harness's shortened leases, backoff and read timeout, with this koppeling's own poll timings."""
    return (
        chaos.chaos_env(batch_size=0)
        | {
            # Odoo stamps write_date with the real time and the poll reads up to the real now, so the overlap only has
            # to cover a poll's own second; one minute (the least) keeps polls from re-reading the whole run.
            "POLL_OVERLAP_MINUTES": "1",
        }
        | FAST_CLOCK
    )


@dataclass(frozen=True)
class BizzcloudChaosConfig:
    documents: int = 300
    seed: int = 7
    workers: int = 2
    """e-Boekhouden deliver containers side by side (the template's MaximumConcurrency is 2)."""
    batch_size: int = 40
    eboekhouden_error_rate: float = 0.03
    eboekhouden_throttle_rate: float = 0.02
    eboekhouden_hang_rate: float = 0.01
    eboekhouden_slow_rate: float = 0.03
    eboekhouden_latency: float = 0.005
    bizzcloud_error_rate: float = 0.02
    bizzcloud_throttle_rate: float = 0.015
    kill_rate: float = 0.03
    paid_share: float = 1 / 3
    drain_timeout: float = 240.0


class BizzcloudChaosRun:
    """Owns the faults around a started LocalStack and the demo's sandboxes; ``run()`` returns the report."""

    def __init__(
        self, stack: LocalStack, demo: BizzcloudDemo, config: BizzcloudChaosConfig, say: Callable[[str], None]
    ) -> None:
        self.stack = stack
        self.demo = demo
        self.config = config
        self.say = say
        self.rng = random.Random(config.seed)
        self.maker = DocumentMaker(demo.odoo, self._seed())
        self.eboekhouden_plan = ChaosFaultPlan(seed=self._seed())
        self.bizzcloud_plan = ChaosFaultPlan(seed=self._seed())
        self.kills = KillSwitch(self._seed(), config.kill_rate)
        self.payments_rng = random.Random(self._seed())
        self.payment_wave: dict[str, int] = {}
        self.polls = 0

    def _seed(self) -> int:
        return self.rng.randrange(2**31)

    # -- set-up -----------------------------------------------------------------------------------------------
    def queues(self) -> list[str]:
        functions = self.stack._outputs().functions
        return [source.queue_url for name in (DELIVER, WRITE_BACK, POLL) for source in functions[name].sqs_sources]

    def shorten_timings(self) -> None:
        outputs = self.stack._outputs()
        sqs = self.stack.client("sqs")
        for url in self.queues():
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})
        for name in (DELIVER, WRITE_BACK):
            outputs.functions[name] = dataclasses.replace(outputs.functions[name], timeout=DELIVER_TIMEOUT)

    def start_containers(self) -> None:
        """Invoke every container once with an empty batch, one after the other, so each reads its own
        environment before the functions run side by side (see the module docstring). Powertools refuses the
        empty batch, but only after the handler has built its runtime from the environment, which is all this is for.
        """
        from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError

        starts = [(DELIVER, container) for container in range(1, self.config.workers + 1)] + [(WRITE_BACK, 0)]
        for function, container in starts:
            with contextlib.suppress(UnexpectedBatchTypeError):
                self.stack.invoke(function, {"Records": []}, container=container)

    def unleash(self) -> None:
        """Faults on, after the connection is made: connecting is not what this run is about."""
        c = self.config
        self.eboekhouden_plan.update(
            {
                "applies_to": EBOEKHOUDEN_API,
                "error_rate": c.eboekhouden_error_rate,
                "throttle_rate": c.eboekhouden_throttle_rate,
                "retry_after": 1,
                "latency": c.eboekhouden_latency,
                "commit_then_hang_rate": c.eboekhouden_hang_rate,
                "hang_seconds": 2.0,  # longer than HTTP_READ_TIMEOUT (1.5 s): the client gives up, the mutation stays
            }
        )
        self.eboekhouden_plan.slow_rate = c.eboekhouden_slow_rate
        self.eboekhouden_plan.slow_seconds = (0.2, 0.8)
        self.demo.eboekhouden.faults = self.eboekhouden_plan
        # The live API refuses a known invoice number (MUT_019), and so does the sandbox by default; off here only,
        # so a second booking would land and this run counts it as a duplicate instead of the vendor hiding it.
        self.demo.eboekhouden.refuse_duplicate_invoice_numbers = False
        self.bizzcloud_plan.update(
            {
                "applies_to": ODOO_API,
                "error_rate": c.bizzcloud_error_rate,
                "throttle_rate": c.bizzcloud_throttle_rate,
                "retry_after": 1,
            }
        )
        self.demo.odoo.faults = self.bizzcloud_plan

    # -- the run ----------------------------------------------------------------------------------------------
    def run(self) -> BizzcloudChaosReport:
        started = time.monotonic()
        c = self.config
        self.shorten_timings()
        self.demo.connect()
        self.maker.add_customers()
        batches = [min(c.batch_size, c.documents - first) for first in range(0, c.documents, c.batch_size)]
        wave_after = max(1, len(batches) // 2)
        with killing_deliver_workers(self.kills):
            self.start_containers()
            self.unleash()
            with Consumers(self.stack, DELIVER, c.workers) as consumers:
                for index, size in enumerate(batches, start=1):
                    begun = time.monotonic()
                    self.maker.batch(size)
                    self.poll()
                    self.wait_until(lambda: self.depth("ApproximateNumberOfMessages") == 0, consumers)
                    if index == wave_after:
                        # Everything so far booked first, in-flight messages included: the wave pays booked invoices.
                        self.wait_until(lambda: self.depth(*IN_QUEUE) == 0, consumers)
                        self.pay_wave()
                    took = time.monotonic() - begun
                    self.say(f"batch {index}/{len(batches)}: {self.maker.created.total} documents ({took:.1f} s)")
                self.maker.batch(0)  # the last drafts: posted or cancelled
                settling = time.monotonic()
                drained = self.settle(consumers)
                self.say(f"settled after {self.polls} polls ({time.monotonic() - settling:.1f} s)")
        return self.report(time.monotonic() - started, drained)

    def settle(self, consumers: Consumers) -> bool:
        """Poll until two polls in a row neither book nor carry back anything, then drain every queue."""
        self.say("last documents made: polling until nothing changes, then draining every queue")
        quiet, seen, drained = 0, self.activity(), False
        for _ in range(SETTLE_POLLS):
            self.poll()
            drained = self.wait_until(lambda: self.depth(*IN_QUEUE) == 0, consumers)
            now = self.activity()
            quiet = quiet + 1 if now == seen else 0
            seen = now
            if quiet >= 2:
                break
        return drained

    def activity(self) -> tuple[int, int]:
        """Ledger rows and e-Boekhouden mutations: what changes while the run is still booking or carrying back."""
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        rows = len(bootstrap.ledger(StoreSettings.load()).entries(CONNECTION))
        return rows, len(self.demo.eboekhouden.mutations(self.demo.api_token))

    def poll(self) -> None:
        """The EventBridge schedule fires 6 minutes after the last time, so the connection's poll is due."""
        self.demo.clock += timedelta(minutes=6)
        self.stack.tick(self.demo.clock)
        self.stack.drain(POLL)
        self.polls += 1

    def pay_wave(self) -> None:
        """A random third of the invoices booked so far is paid in e-Boekhouden: in full, or a part of it."""
        odoo = {str(m["name"]): m for m in self.demo.odoo.records("account.move")}
        booked = [
            m for m in self.demo.eboekhouden.mutations(self.demo.api_token) if m["type"] == 2 and m["invoiceNumber"]
        ]
        candidates = sorted(
            str(m["invoiceNumber"])
            for m in booked
            if (move := odoo.get(str(m["invoiceNumber"])))
            and move["move_type"] == "out_invoice"
            and move["payment_state"] == "not_paid"
            and not move.get("pos_order_ids")
        )
        chosen = self.payments_rng.sample(candidates, round(len(candidates) * self.config.paid_share))
        today = datetime.now(UTC).date().isoformat()
        for number in chosen:
            total = Decimal(str(odoo[number]["amount_total"]))
            if self.payments_rng.random() < 0.5:
                amount, kind = total, "paid in full"
            else:
                amount, kind = cents(total * Decimal(self.payments_rng.randint(10, 90)) / 100), "paid in part"
            self.demo.eboekhouden.pay(self.demo.api_token, number, amount, today)
            self.payment_wave[kind] = self.payment_wave.get(kind, 0) + 1
        self.say(f"payment wave: {len(chosen)} of {len(candidates)} open invoices paid in e-Boekhouden")

    def wait_until(self, done: Callable[[], bool], consumers: Consumers) -> bool:
        """Drain the poll and write-back queues (container 0) until ``done``; the deliver consumers run meanwhile."""
        deadline = time.monotonic() + self.config.drain_timeout
        while time.monotonic() < deadline:
            consumers.check()
            self.stack.drain(POLL)  # a poll job that failed comes back after its visibility timeout
            self.stack.drain(WRITE_BACK)
            if done():
                return True
            time.sleep(0.25)
        return False

    def depth(self, *attributes: str) -> int:
        sqs = self.stack.client("sqs")
        total = 0
        for url in self.queues():
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
            total += sum(int(found[name]) for name in attributes)
        return total

    # -- what happened ----------------------------------------------------------------------------------------
    def final_state(self) -> FinalState:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        ledger = bootstrap.ledger(StoreSettings.load())
        eboekhouden, token = self.demo.eboekhouden, self.demo.api_token
        with eboekhouden._lock:
            items = eboekhouden_mutations.outstanding(eboekhouden.administration(token), "D", None)
        return FinalState(
            moves=self.demo.odoo.records("account.move"),
            orders=self.demo.odoo.records("pos.order"),
            mutations=eboekhouden.mutations(token),
            outstanding={str(i["invoiceNumber"]): Decimal(str(i["outstandingAmount"])) for i in items},
            sandbox_duplicates=eboekhouden.duplicates(token),
            parked=ledger.entries(CONNECTION, "PARKED"),
            pending=ledger.entries(CONNECTION, "PENDING"),
        )

    def report(self, wall_seconds: float, drained: bool) -> BizzcloudChaosReport:
        invocations = self.stack.invocations
        depths = self.stack.queue_depths()
        created = dict(self.maker.created.counts)
        return BizzcloudChaosReport(
            seed=self.config.seed,
            workers=self.config.workers,
            created=created,
            documents=self.maker.created.total,
            retries={
                "deliver batch item failures": invocations.failures.get(DELIVER, 0),
                "write-back batch item failures": invocations.failures.get(WRITE_BACK, 0),
                "polls failed and repeated": invocations.failures.get(POLL, 0),
                "worker crashes": invocations.crashes.get(DELIVER, 0) + invocations.crashes.get(WRITE_BACK, 0),
            },
            faults=self.faults(),
            payment_wave=dict(self.payment_wave),
            polls=self.polls,
            rates=self.rates(),
            dead_lettered=sum(count for name, count in depths.items() if name.endswith("DLQ")),
            wall_seconds=wall_seconds,
            drained=drained,
            **figures(self.final_state()),
        )

    def rates(self) -> str:
        c = self.config
        return (
            f"e-Boekhouden: 503 {c.eboekhouden_error_rate:.0%}, 429 {c.eboekhouden_throttle_rate:.0%}, "
            f"commit then hang {c.eboekhouden_hang_rate:.0%}, slow {c.eboekhouden_slow_rate:.0%}, "
            f"+{c.eboekhouden_latency * 1000:.0f} ms each; Bizzcloud /jsonrpc: 503 {c.bizzcloud_error_rate:.1%}, "
            f"429 {c.bizzcloud_throttle_rate:.1%}; workers killed at {c.kill_rate:.0%} of ledger updates"
        )

    def faults(self) -> dict[str, int]:
        e, b = self.eboekhouden_plan.counts, self.bizzcloud_plan.counts
        return {
            "e-Boekhouden 503": e.get("error", 0),
            "e-Boekhouden 429": e.get("throttle", 0),
            "e-Boekhouden commit then hang": e.get("commit_then_hang", 0),
            "e-Boekhouden slow": e.get("slow", 0),
            "Bizzcloud 503": b.get("error", 0),
            "Bizzcloud 429": b.get("throttle", 0),
            "workers killed": len(self.kills.killed),
        }


IN_QUEUE = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


def run_chaos(config: BizzcloudChaosConfig, say: Callable[[str], None] = lambda _: None) -> BizzcloudChaosReport:
    """Start a local stack and the sandboxes, play ``config``, and return the report."""
    with LocalStack(env_overrides=chaos_env()) as stack, BizzcloudDemo(stack) as demo:
        return BizzcloudChaosRun(stack, demo, config, say).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="e-Boekhouden deliver containers side by side")
    parser.add_argument("--batch-size", type=int, default=40)
    args = parser.parse_args(argv)
    config = BizzcloudChaosConfig(
        documents=args.documents, seed=args.seed, workers=args.workers, batch_size=args.batch_size
    )
    # Every retry logs a warning, and a chaos run retries hundreds of times: the table says what matters.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    console = Console()
    console.rule(f"[bold]Koppel chaos, Bizzcloud → e-Boekhouden: {config.documents} documents, seed {config.seed}")
    report = run_chaos(config, say=lambda text: console.print(f"[cyan]•[/] {text}"))
    console.print(report_table(report))
    console.rule(
        "[green]no duplicate, nothing lost, all settled" if report.ok else "[red]the chaos run found a problem"
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
