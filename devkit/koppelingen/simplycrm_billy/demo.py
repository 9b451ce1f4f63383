"""The demo part of Simply CRM ↔ Billy (`make demo` plays it after the one-way koppelingen, on one stack).

A Danish bakery supplier keeps its customers and products in Simply CRM and its books in Billy, in the order the
office would see it happen: connect both (Billy's chart read, Simply CRM's fields checked against the mapping), a
first sync both ways (a customer Billy already had is linked by its e-mail, not duplicated; a person only Billy knew
comes to the CRM), both sides changing one customer at once (Simply CRM has priority and wins the phone number, the
street Billy changed still reaches the CRM, the conflict is recorded with both values), a sync that changes nothing
(Koppel's own writes do not echo back), an approved CRM invoice booked in Billy by the scheduled poll (drafted,
reconciled to the cent, approved), its payment in Billy carried back as Paid, and a person pressing "Sync with
Billy" on one contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from rich.table import Table

from devkit.koppelingen import WithSandboxes, cli, cli_output
from devkit.koppelingen.simplycrm_billy.seed import connect, line
from devkit.sandboxes.billy.sandbox import BillySandbox
from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack

    from rich.console import Console

    from devkit.local import LocalStack
    from devkit.sandboxes.kit.server import Sandbox
    from koppel.ports import LedgerEntry

CONNECTION = "bageri-crm"
TOKEN = "bageri-billy-access-token-00000000000002"
ENV = {"CONNECTION_CACHE_SECONDS": "0", "TARGET_SYNC_MINUTES": "0"}
"""What this part needs of the local stack's environment: every poll reads payments back."""
TIMEOUT = 30


@dataclass
class CrmOutcome:
    billy: dict[str, list[dict[str, Any]]]
    crm_invoice: dict[str, Any]
    history: list[LedgerEntry]
    first_sync: str
    conflict_sync: str
    quiet_sync: str
    button: dict[str, Any]
    crm_phone: str
    crm_street: str
    crm_invoices: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


class CrmDemo(WithSandboxes):
    def __init__(self, stack: LocalStack, say: Callable[[str], None] = lambda _: None) -> None:
        self.stack, self.say = stack, say
        self.crm = SimplyCrmSandbox()
        self.billy = BillySandbox()
        self.clock = datetime.now(UTC)
        self.ids: dict[str, str] = {}
        self.syncs: list[str] = []
        self.button: dict[str, Any] = {}

    def sandboxes(self) -> tuple[Sandbox, ...]:
        return (self.crm, self.billy)

    # -- the story ------------------------------------------------------------------------------------------------
    def run(self) -> CrmOutcome:
        self.say("koppel connections add: Simply CRM ↔ Billy, both ways, Simply CRM wins a conflict, every 5 minutes")
        connect(self.crm, self.billy, CONNECTION, tenant="Nordisk Bagerudstyr ApS", name="Bagerudstyr CRM",
                token=TOKEN)  # fmt: skip
        self.seed()
        self.sync("koppel sync: the first sync, both ways")
        self.both_change_one_customer()
        self.sync("koppel sync: both changed Fjord Kaffe: Simply CRM's phone wins, Billy's street reaches the CRM")
        self.sync("koppel sync again: nothing changed, so nothing is written (Koppel's own writes do not echo)")
        self.invoice_and_payment()
        self.invoice_made_in_billy()
        self.press_the_button()
        return self.outcome()

    def seed(self) -> None:
        crm, org = self.crm, TOKEN
        self.say("in Simply CRM: two organizations, two contacts, two products; in Billy: Fjord Kaffe and Sofie Lund")
        nordlys = crm.add_account("Nordlys Bageri ApS", email1="ordre@nordlys.example", bill_street="Strandvejen 12",
                                  bill_code="2100", bill_city="København Ø", bill_country="Denmark")  # fmt: skip
        fjord = crm.add_account("Fjord Kaffe ApS", email1="info@fjordkaffe.example", bill_city="Aarhus",
                                bill_country="Denmark")  # fmt: skip
        mette = crm.add_contact("Holm", firstname="Mette", email="mette@nordlys.example", account_id=nordlys["id"])
        crm.add_contact("Berg", firstname="Jonas", email="jonas@fjordkaffe.example", account_id=fjord["id"])
        self.oven = crm.add_product("Stenovn 80", unit_price="12500.00", product_no="OVN-80")
        crm.add_product("Ovnkursus", unit_price="1800.00", product_no="KURSUS-1")
        billy_fjord = self.billy.add_contact(
            "Fjord Kaffe ApS", "DK", persons=[("Fjord Kaffe", "info@fjordkaffe.example")], org=org,
            phone="+45 86 12 34 56", street="Havnegade 4", cityText="Aarhus",
        )  # fmt: skip
        self.billy.add_contact("Sofie Lund", "DK", persons=[("Sofie Lund", "sofie@lund.example")], org=org,
                               type="person")  # fmt: skip
        self.ids = {"nordlys": nordlys["id"], "fjord": fjord["id"], "mette": mette["id"]}
        self.ids["billy_fjord"] = billy_fjord["id"]

    def sync(self, why: str) -> None:
        self.say(why)
        said = cli_output("sync", CONNECTION)
        self.syncs.append(said)
        for row in said.splitlines():
            self.say(f"  {row}")

    def both_change_one_customer(self) -> None:
        self.say("Simply CRM and Billy change Fjord Kaffe's phone at once; Billy also its street")
        self.crm.change_by_person(self.ids["fjord"], {"phone": "+45 70 20 30 40"})
        self.billy.change_by_person("contacts", self.ids["billy_fjord"], org=TOKEN, phone="+45 86 99 99 99",
                                    street="Åboulevarden 21")  # fmt: skip

    def invoice_and_payment(self) -> None:
        self.say("an approved invoice for Nordlys Bageri in Simply CRM: the scheduled poll books it in Billy")
        invoice = self.crm.add_invoice(
            "Stenovn til Nordlys", self.ids["nordlys"], [line(self.oven, "2", discount_percent="10")],
            invoicestatus="Approved", invoicedate=self.clock.date().isoformat(),
            duedate=(self.clock + timedelta(days=14)).date().isoformat(), hdnTaxType="individual",
        )  # fmt: skip
        self.ids["invoice"] = invoice["id"]
        self.poll()
        [booked] = [i for i in self.billy.records("invoices", TOKEN) if i["state"] == "approved"]
        self.say(f"Nordlys pays {booked['grossAmount']} DKK in Billy: the next poll marks the invoice Paid in the CRM")
        self.billy.register_payment(booked["id"], org=TOKEN)
        self.poll()
        self.poll()  # the write-back queue is drained by the poll after the one that read the payment

    def invoice_made_in_billy(self) -> None:
        self.say("the bookkeeper invoices Fjord Kaffe a course in Billy: the poll writes it into Simply CRM; the CRM's "
                 "own invoice, booked in Billy, is not sent back")  # fmt: skip
        course = next(p for p in self.billy.records("products", TOKEN) if p["name"] == "Ovnkursus")
        line = {"productId": course["id"], "quantity": 3, "unitPrice": "1800.00", "description": "Ovnkursus"}
        self.billy.add_invoice(self.ids["billy_fjord"], [line], approve=True, org=TOKEN,
                               entryDate=self.clock.date().isoformat(), currencyId="DKK", taxMode="excl")  # fmt: skip
        self.poll()
        self.poll()  # the CRM's deliver function drains after the poll that read Billy

    def poll(self) -> None:
        self.clock += timedelta(minutes=6)
        self.stack.tick(self.clock)
        self.stack.run_until_idle()

    def press_the_button(self) -> None:
        self.say("Mette's phone number changes in Simply CRM; a salesperson presses 'Sync with Billy' on her")
        self.crm.change_by_person(self.ids["mette"], {"phone": "+45 20 30 40 50"})
        links = cli_output("connections", "button", CONNECTION, "--base-url", self.stack.http_url)
        link = next(text.split(": ", 1)[1] for text in links.splitlines() if text.startswith("contacts:"))
        link = "".join(link.split()).replace("$RECORD$", self.ids["mette"])
        answer = requests.get(link, timeout=TIMEOUT, headers={"Accept": "application/json"})
        self.button = answer.json()
        self.say(f"  GET {urlsplit(link).path} → {answer.status_code} {self.button}")

    # -- what happened --------------------------------------------------------------------------------------------
    def outcome(self) -> CrmOutcome:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        everything = self.billy.everything(TOKEN)
        names = [c["name"] for c in everything.get("contacts", [])]
        fjord = self.crm.retrieve(self.ids["fjord"])
        return CrmOutcome(
            billy=everything,
            crm_invoice=self.crm.retrieve(self.ids["invoice"]),
            history=bootstrap.ledger(StoreSettings.load()).entries(CONNECTION),
            first_sync=self.syncs[0], conflict_sync=self.syncs[1], quiet_sync=self.syncs[2], button=self.button,
            crm_phone=str(fjord.get("phone")), crm_street=str(fjord.get("bill_street")),
            crm_invoices=self.crm.records("Invoice"),
            duplicates=sorted({n for n in names if names.count(n) > 1}),
        )  # fmt: skip


def billy_table(outcome: CrmOutcome) -> Table:
    table = Table(title="Held in Billy")
    for column in ("kind", "name / number", "e-mail / product no.", "amount DKK", "state"):
        table.add_column(column, overflow="fold")
    persons = {p["contactId"]: p.get("email") or "" for p in outcome.billy.get("contactPersons", [])}
    for contact in outcome.billy.get("contacts", []):
        table.add_row(f"contact ({contact['type']})", contact["name"], persons.get(contact["id"], ""), "", "")
    for product in outcome.billy.get("products", []):
        table.add_row("product", product["name"], str(product.get("productNo") or ""), "", "")
    for invoice in outcome.billy.get("invoices", []):
        paid = "paid" if invoice.get("isPaid") else invoice["state"]
        table.add_row("invoice", str(invoice.get("invoiceNo")), "", f"{invoice['grossAmount']}", paid)
    return table


def part(stack: LocalStack, console: Console, up: ExitStack) -> bool:
    """Play the story on ``stack`` and print what Billy holds and what the CRM shows; True when all went as a
    bookkeeper expects. Its sandboxes stay up in ``up`` until the whole demo ends (later scheduled polls)."""
    demo = up.enter_context(CrmDemo(stack, say=lambda text: console.print(f"[cyan]•[/] {text}", highlight=False)))
    console.print(f"[cyan]•[/] sandboxes: Simply CRM {demo.crm.base_url}, Billy {demo.billy.base_url}")
    outcome = demo.run()
    console.print(billy_table(outcome))
    status = outcome.crm_invoice.get("invoicestatus")
    console.print(
        f"CRM invoice {outcome.crm_invoice.get('invoice_no')} is {status}; Fjord Kaffe in the CRM: phone "
        f"{outcome.crm_phone}, street {outcome.crm_street}; duplicate contacts in Billy {len(outcome.duplicates)}"
    )
    for invoice in outcome.crm_invoices:
        console.print(
            f"  in Simply CRM: {invoice.get('invoice_no')} {invoice.get('subject')!r} {invoice.get('invoicestatus')} "
            f"{invoice.get('hdnGrandTotal')}", highlight=False,
        )  # fmt: skip
    console.print("[cyan]•[/] what an operator sees (koppel status):")
    cli("status")
    invoices = [i for i in outcome.billy.get("invoices", []) if i["state"] == "approved"]
    from_billy = [i for i in outcome.crm_invoices if str(i.get("subject", "")).startswith("Billy ")]
    return (
        not outcome.duplicates and len(invoices) == 2 and len(outcome.crm_invoices) == 2 and len(from_billy) == 1
        and status == "Paid"
        and outcome.crm_phone == "+45 70 20 30 40" and outcome.crm_street == "Åboulevarden 21"
        and outcome.button.get("state") == "synced"
    )  # fmt: skip
