"""The demo part of CCV Shop → SnelStart (`make demo` plays it first): end to end on the local stack, then what
was booked.

The story a shop owner would live through, with every part real except the vendors (loopback sandboxes)
and AWS (moto): connect the shop and SnelStart, a day of orders, their webhooks, the scheduled poll, every
webhook sent a second time, and a re-run of the day's history. Then the table of what SnelStart holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import requests
from rich.table import Table

from devkit.koppelingen import WithSandboxes
from devkit.koppelingen.ccvshop_snelstart.scenarios import demo_orders
from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack

    from rich.console import Console

    from devkit.local import LocalStack
    from devkit.sandboxes.ccvshop.sandbox import Delivery
    from devkit.sandboxes.kit.server import Sandbox
    from koppel.ports import LedgerEntry

CONNECTION = "leesplank"
PUBLIC, SECRET = "leesplank-public", "leesplank-secret"
SUBSCRIPTION_KEY = "koppel-partner-subscription-key"
APP = "koppel"
D = Decimal
ENV: dict[str, str] = {}
"""What this part needs of the local stack's environment (``make demo`` starts one stack for every part)."""


@dataclass
class DemoOutcome:
    orders: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    relations: list[dict[str, Any]]
    duplicates: list[str]
    parked: list[LedgerEntry]
    webhooks_sent: int
    steps: list[str] = field(default_factory=list)


class Demo(WithSandboxes):
    """Owns the sandboxes around a started LocalStack; ``run()`` plays the day and returns what happened."""

    def __init__(self, stack: LocalStack, say: Callable[[str], None] = lambda _: None) -> None:
        self.stack = stack
        self.say = say
        self.ccv = CcvShopSandbox()
        self.snelstart = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
        self.deliveries: list[Delivery] = []
        self.shop: Any = None
        self.forged_answer: tuple[int, str] = (0, "")
        self.poll_enqueued = 0
        self.poll_reads = 0

    def sandboxes(self) -> tuple[Sandbox, ...]:
        return (self.ccv, self.snelstart)

    # -- the story ----------------------------------------------------------------------------------------
    def run(self) -> DemoOutcome:
        self.connect()
        orders = self.place_orders()
        self.deliver_webhooks(self.deliveries)
        self.say("scheduled poll: the safety net reads the last ten minutes again")
        reads_before = self.ccv.requests_seen
        self.stack.tick()
        self.stack.drain("PollSourceFunction")
        self.poll_reads = self.ccv.requests_seen - reads_before
        self.poll_enqueued = self.stack.queue_depths()["snelstart"]
        self.say(
            f"the poll read the shop again ({self.poll_reads} request(s)) and queued {self.poll_enqueued}: "
            "the ledger already holds what the webhooks booked"
        )
        self.stack.run_until_idle()
        self.say(f"every webhook again ({len(self.deliveries)}): CCV Shop retries, networks duplicate")
        self.deliver_webhooks(self.deliveries)
        self.forged_webhook()
        self.say("re-run of history: koppel backfill of the whole day")
        self.cli("backfill", CONNECTION, "--since", (datetime.now(UTC) - timedelta(days=1)).date().isoformat())
        self.stack.run_until_idle()
        return self.outcome(orders)

    def connect(self) -> None:
        secret_name = f"{self.stack._outputs().partner_secret_prefix}snelstart"
        self.stack.client("secretsmanager").put_secret_value(
            SecretId=secret_name, SecretString=json.dumps({"subscription_key": SUBSCRIPTION_KEY, "app_short_name": APP})
        )
        self.shop = self.ccv.add_shop(PUBLIC, SECRET)
        self.say("koppel connections add: CCV Shop 'De Leesplank' → SnelStart, webhooks subscribed")
        self.cli(
            "connections", "add", CONNECTION, "--tenant", "De Leesplank B.V.", "--name", "De Leesplank webshop",
            "--source", "ccvshop", "--target", "snelstart",
            "--setting", f"ccvshop.base_url={self.ccv.base_url}",
            "--setting", f"snelstart.api_base={self.snelstart.base_url}/v2",
            "--setting", f"snelstart.auth_url={self.snelstart.base_url}/b2b/token",
            "--setting", f"snelstart.activation_base={self.snelstart.base_url}",
            "--secret", f"ccvshop.public_key={PUBLIC}", "--secret", f"ccvshop.secret_key={SECRET}",
            "--webhook-base", self.stack.http_url,
        )  # fmt: skip
        self.say("SnelStart activation: the koppelsleutel arrives at the connect callback")
        self.snelstart.register_app(APP, f"{self.stack.http_url}/connect/snelstart/callback")
        start_link = self.cli_output(
            "connections", "activate", CONNECTION, "snelstart", "--return-url", "https://koppel.example/connected"
        )
        self.say("the owner's start link (works once, for 15 minutes) sends the user to SnelStart")
        start = requests.get(start_link, allow_redirects=False, timeout=10)
        if start.status_code != 302:
            raise RuntimeError(f"activation did not start: {start.status_code} {start.text}")
        activated = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
        if activated.status_code != 302:
            raise RuntimeError(f"SnelStart sandbox did not activate: {activated.status_code} {activated.text}")

    def place_orders(self) -> list[dict[str, Any]]:
        # The day's orders end a few minutes ago, so the last one is inside the scheduled poll's window.
        start = datetime.now(UTC) - timedelta(hours=11, minutes=5)
        orders = demo_orders(self.ccv, self.shop, start=start)
        self.deliveries = self.ccv.pending_webhooks()
        self.say(f"{len(orders)} orders placed in CCV Shop, {len(self.deliveries)} webhooks sent")
        return orders

    def deliver_webhooks(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            answer = requests.post(delivery.address, data=delivery.body, headers=delivery.headers, timeout=30)
            if answer.status_code >= 500:
                raise RuntimeError(f"ingest failed: {answer.status_code} {answer.text}")
        self.ccv.deliver_webhooks(post=lambda _: None)  # the outbox is emptied: these were delivered above
        self.stack.run_until_idle()

    def forged_webhook(self) -> None:
        """A webhook whose x-hash was not made with the shop's key is refused, and says why."""
        genuine = self.deliveries[0]
        headers = {**genuine.headers, "x-hash": "0" * 128}
        answer = requests.post(genuine.address, data=genuine.body, headers=headers, timeout=30)
        self.forged_answer = (answer.status_code, answer.json().get("error", ""))
        self.say(f"a forged webhook is refused: {answer.status_code} {self.forged_answer[1]}")

    def cli(self, *args: str) -> None:
        from koppel.cli import app

        app(list(args), standalone_mode=False)

    def cli_output(self, *args: str) -> str:
        """What a CLI command printed on stdout, e.g. the start link of `koppel connections activate`."""
        from koppel.cli import out

        with out.capture() as printed:
            self.cli(*args)
        return printed.get().strip()

    # -- what happened ------------------------------------------------------------------------------------
    def koppelsleutel(self) -> str:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        store = bootstrap.connection_store(StoreSettings.load())
        return store.get_secrets(CONNECTION, "snelstart")["koppelsleutel"]

    def outcome(self, orders: list[dict[str, Any]]) -> DemoOutcome:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        key = self.koppelsleutel()
        parked = bootstrap.ledger(StoreSettings.load()).entries(CONNECTION, "PARKED")
        return DemoOutcome(
            orders=orders,
            bookings=self.snelstart.bookings(key),
            relations=self.snelstart.relations(key),
            duplicates=self.snelstart.duplicates(key),
            parked=parked,
            webhooks_sent=2 * len(self.deliveries),
        )


def booked_table(outcome: DemoOutcome, invoices: dict[str, dict[str, Any]]) -> Table:
    names = {r["id"]: r["naam"] for r in outcome.relations}
    table = Table(title="Booked in SnelStart (verkoopboekingen)", show_lines=False)
    for column in ("factuur", "klant", "netto", "btw hoog", "btw laag", "totaal", "status"):
        table.add_column(column, justify="right" if column in {"netto", "btw hoog", "btw laag", "totaal"} else "left")
    for booking in sorted(
        outcome.bookings, key=lambda b: int(b["factuurnummer"]) if b["factuurnummer"].isdigit() else 0
    ):
        vat = {row["btwSoort"]: D(str(row["btwBedrag"])) for row in booking.get("btw", [])}
        net = sum((D(str(r["bedrag"])) for r in booking["boekingsregels"]), D(0))
        invoice = invoices.get(booking["factuurnummer"], {})
        open_amount = D(str(invoice.get("openstaandSaldo", booking["factuurbedrag"])))
        table.add_row(
            booking["factuurnummer"],
            names.get(booking["klant"]["id"], booking["klant"]["id"]),
            f"{net:.2f}",
            f"{vat.get('VerkopenHoog', D(0)):.2f}",
            f"{vat.get('VerkopenLaag', D(0)):.2f}",
            f"{D(str(booking['factuurbedrag'])):.2f}",
            "open" if open_amount else "betaald",
        )
    return table


def part(stack: LocalStack, console: Console, up: ExitStack) -> bool:
    """Play the day on ``stack`` and print what SnelStart holds; True when every order is booked or parked once.
    Its sandboxes stay up in ``up`` until the whole demo ends: a later part's scheduled polls poll this connection
    too."""
    demo = up.enter_context(Demo(stack, say=lambda text: console.print(f"[cyan]•[/] {text}")))
    console.print(f"[cyan]•[/] sandboxes: CCV Shop {demo.ccv.base_url}, SnelStart {demo.snelstart.base_url}")
    outcome = demo.run()
    invoices = {i["factuurnummer"]: i for i in demo.snelstart.invoices(demo.koppelsleutel())}
    console.print(booked_table(outcome, invoices))
    if outcome.parked:
        parked = Table(title="Parked: needs a person", title_style="bold red")
        parked.add_column("order")
        parked.add_column("reason", overflow="fold")
        for entry in outcome.parked:
            parked.add_row(entry.document_number, entry.reason)
        console.print(parked)
    completed = [o for o in outcome.orders if o["status"] == 7 and o["paid"]]
    console.print(
        f"orders placed {len(outcome.orders)}, completed and paid {len(completed)}, "
        f"booked {len(outcome.bookings)}, parked {len(outcome.parked)}, "
        f"customers in SnelStart {len(outcome.relations)}, duplicate bookings {len(outcome.duplicates)}"
    )
    return not outcome.duplicates and len(outcome.bookings) + len(outcome.parked) == len(completed)
