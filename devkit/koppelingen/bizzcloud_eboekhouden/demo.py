"""The demo part of Bizzcloud → e-Boekhouden.nl (`make demo` plays it after CCV Shop → SnelStart, on one stack).

A Dutch shop with a till and an invoicing back office, in the order a bookkeeper would see it happen: connect
both systems (the chart of accounts is read at once), a day of invoices, a credit invoice and till sales (cash with
change, PIN, an invoiced till sale), the scheduled polls that book them, a customer paying in e-Boekhouden and the
invoice turning paid in Bizzcloud, a customer renamed, a ledger added, and a disconnect and reconnect that book
what happened in between exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

from devkit.koppelingen import WithSandboxes
from devkit.koppelingen.bizzcloud_eboekhouden.scenarios import EU_GOODS, EXPORT, HIGH, LOW
from devkit.koppelingen.bizzcloud_eboekhouden.seed import connect
from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack

    from rich.console import Console

    from devkit.local import LocalStack
    from devkit.sandboxes.kit.server import Sandbox
    from koppel.ports import LedgerEntry

CONNECTION = "fietsenmaker"
LOGIN, API_KEY = "koppel@fietsenmaker.nl", "bizzcloud-api-key"
D = Decimal
FAST_CLOCK = {"CONNECTION_CACHE_SECONDS": "0", "TARGET_SYNC_MINUTES": "0"}
"""The story's minutes pass in seconds: containers do not keep connections, and every poll reads back payments."""
ENV = FAST_CLOCK
"""What this part needs of the local stack's environment (``make demo`` starts one stack for every part)."""


@dataclass
class BizzcloudOutcome:
    mutations: list[dict[str, Any]]
    relations: list[dict[str, Any]]
    duplicates: list[str]
    parked: list[LedgerEntry]
    expected_invoices: list[str]
    bizzcloud_invoices: list[dict[str, Any]]
    ledger_codes: list[str]
    steps: list[str] = field(default_factory=list)


class BizzcloudDemo(WithSandboxes):
    def __init__(self, stack: LocalStack, say: Callable[[str], None] = lambda _: None) -> None:
        self.stack = stack
        self.say = say
        self.bizzcloud = BizzcloudSandbox()
        self.eboekhouden = EboekhoudenSandbox()
        self.api_token = ""
        self.clock = datetime.now(UTC)
        self.expected: list[str] = []
        self.jansen_invoice = 0
        self.mistake = 0
        self.late_invoice = ""
        self.booked_while_disconnected = 0

    def sandboxes(self) -> tuple[Sandbox, ...]:
        return (self.bizzcloud, self.eboekhouden)

    # -- the story ------------------------------------------------------------------------------------------------
    def run(self) -> BizzcloudOutcome:
        self.connect()
        customers = self.customers()
        self.day_of_sales(customers)
        self.poll("the scheduled poll books the day")
        self.show_parked()
        self.poll("the next poll reads the overlap again: nothing is booked twice")
        self.correct_mistake()
        self.payments()
        self.poll("the poll reads the open items back: Bizzcloud shows what was paid")
        self.customer_renamed(customers["jansen"])
        self.ledger_added()
        self.poll("the poll updates the relation and reads the chart of accounts again")
        self.say("koppel connections map: revenue of product group 'Diensten' now goes to the new ledger 8200")
        self.cli("connections", "map", CONNECTION, "Diensten=8200")
        self.disconnect_and_reconnect(customers["jansen"])
        return self.outcome()

    def connect(self) -> None:
        self.say("koppel connections add: Bizzcloud (till and invoices) → e-Boekhouden.nl; the chart is read at once")
        self.api_token = connect(
            self.bizzcloud, self.eboekhouden, CONNECTION, tenant="Fietsenmaker De Spaak", name="De Spaak kassa",
            administration="Fietsenmaker De Spaak", login=LOGIN, api_key=API_KEY,
        )  # fmt: skip

    def customers(self) -> dict[str, int]:
        countries = {row["code"]: row["id"] for row in self.bizzcloud.records("res.country")}
        return {
            "jansen": self.bizzcloud.add_partner(
                name="Bakkerij Jansen", email="info@bakkerijjansen.nl", ref="D1001", is_company=True,
                street="Dorpsstraat 1", zip="3511 AB", city="Utrecht", country_id=countries["NL"], vat="NL123456789B01",
            ),
            "muller": self.bizzcloud.add_partner(
                name="Fahrrad Müller GmbH", email="einkauf@fahrrad-mueller.de", is_company=True,
                street="Hauptstraße 5", zip="47051", city="Duisburg", country_id=countries["DE"], vat="DE811234567",
            ),
            "smith": self.bizzcloud.add_partner(
                name="Smith Cycles Inc.", email="orders@smithcycles.com", is_company=True,
                street="1 Main Street", zip="10001", city="New York", country_id=countries["US"],
            ),
        }  # fmt: skip

    def day_of_sales(self, customers: dict[str, int]) -> None:
        today = self.clock.date().isoformat()
        bizzcloud = self.bizzcloud
        hours, books = _line(3, 2, "95.00", HIGH), _line(2, 3, "24.95", LOW, discount=10)
        self.jansen_invoice = bizzcloud.create_invoice(customers["jansen"], [hours, books], invoice_date=today)
        bizzcloud.create_invoice(customers["muller"], [_line(1, 40, "12.50", EU_GOODS)], invoice_date=today)
        export = bizzcloud.create_invoice(customers["smith"], [_line(1, 10, "14.00", EXPORT)], invoice_date=today)
        bizzcloud.create_invoice(customers["jansen"], [_line(3, 1, "95.00", HIGH)], invoice_date=today, post=False)
        bizzcloud.reverse(export)
        two_taxes = {**_line(3, 1, "95.00", HIGH), "tax_names": [HIGH, LOW]}  # a mistake: two VAT rates on one line
        self.mistake = bizzcloud.create_invoice(customers["jansen"], [two_taxes], invoice_date=today)
        shirt, novel = (
            {"product_id": 1, "qty": 1, "price_unit": "19.99"},
            {"product_id": 2, "qty": 1, "price_unit": "24.95"},
        )
        bizzcloud.create_pos_order([{**shirt, "qty": 2}], [("Cash", "50.00")])
        bizzcloud.create_pos_order([novel, shirt], [("PIN", "51.39")])
        bizzcloud.create_pos_order([shirt], [("PIN", "24.19")], partner_id=customers["jansen"], invoice=True)
        moves = [m for m in bizzcloud.records("account.move") if m["state"] == "posted"]
        orders = [o for o in bizzcloud.records("pos.order") if o["state"] != "invoiced"]
        self.expected = sorted([str(m["name"]) for m in moves] + [str(o["name"]) for o in orders])
        self.say(
            f"in Bizzcloud: {len(moves)} posted invoices and credit invoices, 1 draft, and "
            f"{len(bizzcloud.records('pos.order'))} till sales (cash with change, PIN, one invoiced)"
        )

    def poll(self, why: str) -> None:
        self.clock += timedelta(minutes=6)
        self.say(why)
        self.stack.tick(self.clock)
        self.stack.run_until_idle()

    def show_parked(self) -> None:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        for entry in bootstrap.ledger(StoreSettings.load()).entries(CONNECTION, "PARKED"):
            self.say(f"[red]parked[/] {entry.document_number}: {entry.reason}")

    def correct_mistake(self) -> None:
        """The bookkeeper resets the invoice to draft, keeps one tax on the line and posts it again."""
        books = self.bizzcloud.books
        books.to_draft([self.mistake])
        line = books.raw("account.move", self.mistake, "invoice_line_ids")[0]
        books.write("account.move.line", [line], {"tax_ids": [(6, 0, [self.bizzcloud.tax_id(HIGH)])]})
        books.post([self.mistake])
        self.say("the bookkeeper corrects that invoice in Bizzcloud (one VAT rate); the next poll books it")

    def payments(self) -> None:
        number = next(m["name"] for m in self.bizzcloud.records("account.move") if m["id"] == self.jansen_invoice)
        total = next(
            D(str(m["amount_total"])) for m in self.bizzcloud.records("account.move") if m["id"] == self.jansen_invoice
        )
        self.eboekhouden.pay(self.api_token, number, total, self.clock.date().isoformat())
        self.say(f"Bakkerij Jansen pays {number} ({total}): the bank payment is booked in e-Boekhouden")

    def customer_renamed(self, partner: int) -> None:
        self.bizzcloud.books.write("res.partner", [partner], {"name": "Bakkerij Jansen & Zn"})
        self.say("Bakkerij Jansen is renamed in Bizzcloud")

    def ledger_added(self) -> None:
        self.eboekhouden.add_ledger(self.api_token, "8200", "Omzet reparaties", "VW")
        self.say("the bookkeeper adds ledger 8200 'Omzet reparaties' in e-Boekhouden")

    def disconnect_and_reconnect(self, partner: int) -> None:
        self.cli("connections", "disconnect", CONNECTION)
        self.say("disconnected: no polls, no deliveries, no stored credentials; the shop keeps selling")
        late = self.bizzcloud.create_invoice(
            partner, [_line(3, 1, "95.00", HIGH)], invoice_date=self.clock.date().isoformat()
        )
        self.late_invoice = str(next(m["name"] for m in self.bizzcloud.records("account.move") if m["id"] == late))
        self.expected.append(self.late_invoice)
        before = len(self.eboekhouden.mutations(self.api_token))
        self.poll("a poll while disconnected does nothing")
        self.booked_while_disconnected = len(self.eboekhouden.mutations(self.api_token)) - before
        bizzcloud_login = ["--secret", f"login={LOGIN}", "--secret", f"api_key={API_KEY}"]
        self.cli("connections", "connect", CONNECTION, "bizzcloud", *bizzcloud_login)
        self.cli("connections", "connect", CONNECTION, "eboekhouden", "--secret", f"api_token={self.api_token}")
        self.poll("reconnected: the poll resumes from its watermark and books what was missed, once")

    def cli(self, *args: str) -> None:
        from koppel.cli import app

        app(list(args), standalone_mode=False)

    # -- what happened --------------------------------------------------------------------------------------------
    def outcome(self) -> BizzcloudOutcome:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        settings = StoreSettings.load()
        connection = bootstrap.connection_store(settings).get(CONNECTION)
        ids = connection.target_settings.get("eboekhouden", {}).get("ledger_ids", {})
        return BizzcloudOutcome(
            mutations=self.eboekhouden.mutations(self.api_token),
            relations=self.eboekhouden.relations(self.api_token),
            duplicates=self.eboekhouden.duplicates(self.api_token),
            parked=bootstrap.ledger(settings).entries(CONNECTION, "PARKED"),
            expected_invoices=sorted(self.expected),
            bizzcloud_invoices=[m for m in self.bizzcloud.records("account.move") if m["state"] == "posted"],
            ledger_codes=sorted(ids) if isinstance(ids, dict) else [],
        )


def _line(product: int, quantity: int, price: str, tax: str, discount: int = 0) -> dict[str, Any]:
    return {"product_id": product, "quantity": quantity, "price_unit": price, "tax_names": [tax], "discount": discount}


MUTATION_TYPES = {2: "factuur", 3: "betaling"}


def mutations_table(outcome: BizzcloudOutcome) -> Table:
    names = {r["id"]: r["name"] for r in outcome.relations}
    table = Table(title="Booked in e-Boekhouden.nl (mutaties)")
    for column in ("soort", "factuur", "relatie", "excl. btw", "btw", "totaal", "in Bizzcloud"):
        justify = "right" if column in {"excl. btw", "btw", "totaal"} else "left"
        table.add_column(column, justify=justify, no_wrap=column != "relatie", overflow="ellipsis")
    states = {str(m["name"]): str(m["payment_state"]) for m in outcome.bizzcloud_invoices}
    for m in sorted(outcome.mutations, key=lambda m: (_number(m), m["type"])):
        table.add_row(
            MUTATION_TYPES.get(m["type"], str(m["type"])),
            _number(m),
            names.get(m["relationId"], str(m["relationId"])),
            f"{D(str(m['totalExclVat'])):.2f}",
            f"{D(str(m['totalVat'])):.2f}",
            f"{D(str(m['totalAmount'])):.2f}",
            states.get(_number(m), "kassa") if m["type"] == 2 else "",
        )
    return table


def _number(mutation: dict[str, Any]) -> str:
    """A payment names its invoice on its rows; an invoice on the mutation itself."""
    rows = mutation.get("rows") or [{}]
    return str(mutation.get("invoiceNumber") or rows[0].get("invoiceNumber") or "")


def booked_invoice_numbers(outcome: BizzcloudOutcome) -> list[str]:
    return sorted(m["invoiceNumber"] for m in outcome.mutations if m["type"] == 2)


def part(stack: LocalStack, console: Console, up: ExitStack) -> bool:
    """Play the story on ``stack`` and print what e-Boekhouden holds; True when all was booked once.
    Its sandboxes stay up in ``up`` until the whole demo ends: a later part's scheduled polls poll this connection
    too."""
    demo = up.enter_context(BizzcloudDemo(stack, say=lambda text: console.print(f"[cyan]•[/] {text}")))
    console.print(
        f"[cyan]•[/] sandboxes: Bizzcloud {demo.bizzcloud.base_url}, e-Boekhouden {demo.eboekhouden.base_url}"
    )
    outcome = demo.run()
    console.print(mutations_table(outcome))
    booked = booked_invoice_numbers(outcome)
    console.print(
        f"invoices and till sales in Bizzcloud {len(outcome.expected_invoices)}, booked {len(booked)}, "
        f"parked {len(outcome.parked)}, relations in e-Boekhouden {len(outcome.relations)}, "
        f"duplicate bookings {len(outcome.duplicates)}; ledger 8200 synced: {'8200' in outcome.ledger_codes}"
    )
    for entry in outcome.parked:
        console.print(f"[red]parked[/] {entry.document_number}: {entry.reason}")
    console.print("[cyan]•[/] what an operator sees (koppel status):")
    demo.cli("status")
    return not outcome.duplicates and booked == outcome.expected_invoices and not outcome.parked
