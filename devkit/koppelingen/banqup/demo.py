"""The demo part of Banqup → accounting packages (`make demo` plays it last, on the same stack as the others).

An accounting firm, Boekhoudkantoor De Telling, keeps its clients' documents in Banqup and books them into each
client's own package, in the order the firm would see it happen: Koppel's app registered in Banqup and whitelisted
by two clients; Bakkerij Jansen BV (NL) connected to SnelStart and to QuickBooks Online, Nordisk Design ApS (DK) to
Billy. A week's documents arrive and the scheduled polls book them into every integration of their client, the
originals attached; a document from before the integrations waits until `koppel backfill` is run for one of
them; a scanned PDF is booked with a review note, a bank statement is not bookable; a purchase paid in Billy is
marked paid in Banqup. It ends with the firm's connections in `koppel status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from devkit.koppelingen import WithSandboxes, cli
from devkit.koppelingen.banqup import report, scenarios, seed
from devkit.sandboxes.banqup.sandbox import BanqupSandbox
from devkit.sandboxes.billy.sandbox import BillySandbox
from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack

    from rich.console import Console

    from devkit.local import LocalStack
    from devkit.sandboxes.kit.server import Sandbox
    from koppel.ports import LedgerEntry

JANSEN_SNELSTART, JANSEN_QUICKBOOKS, NORDISK_BILLY = "jansen-snelstart", "jansen-quickbooks", "nordisk-billy"
CONNECTIONS = (JANSEN_SNELSTART, JANSEN_QUICKBOOKS, NORDISK_BILLY)
BILLY_TOKEN = "nordisk-design-billy-access-token-000001"
ENV = {"CONNECTION_CACHE_SECONDS": "0", "TARGET_SYNC_MINUTES": "0"}
"""What this part needs of the local stack's environment: every poll reads back what was paid."""
TIMEOUT = 10


@dataclass
class FirmOutcome:
    holdings: dict[str, report.Holding]
    """Connection → what its target holds."""
    history: dict[str, list[LedgerEntry]]
    expected: dict[str, list[str]]
    """Connection → the document numbers it must hold."""
    before_backfill: list[str]
    """The early document's connections that held it before `koppel backfill` ran (none, if all is well)."""
    early: str
    paid: list[dict[str, Any]]
    """Banqup's record of what Koppel changed: the mark-as-paid tasks."""
    paid_file: str


PLAYED: list[FirmDemo] = []
"""The firm's story as `make demo` played it: the console's part (devkit.console) goes on with it."""


class FirmDemo(WithSandboxes):
    def __init__(self, stack: LocalStack, say: Callable[[str], None] = lambda _: None) -> None:
        self.stack, self.say = stack, say
        self.banqup = BanqupSandbox()
        self.snelstart = SnelstartSandbox(subscription_key=seed.SNELSTART_KEY)
        self.quickbooks = QuickbooksSandbox()
        self.billy = BillySandbox()
        self.clock = datetime.now(UTC)
        self.today = self.clock.date()
        self.realm = ""
        self.files: dict[str, str] = {}
        """Planned key → Banqup file id."""
        self.spaces: dict[str, str] = {}
        """The clients' Banqup spaces by name: "jansen", "nordisk"."""

    def sandboxes(self) -> tuple[Sandbox, ...]:
        return (self.banqup, self.snelstart, self.quickbooks, self.billy)

    # -- the story ------------------------------------------------------------------------------------------------
    def run(self) -> FirmOutcome:
        firm = seed.firm_app(self.banqup)
        self.say(f"{seed.FIRM} registers Koppel's app in Banqup; two clients whitelist it for their space")
        jansen = seed.client_space(self.banqup, firm, "Bakkerij Jansen BV")
        nordisk = seed.client_space(self.banqup, firm, "Nordisk Design ApS")
        self.spaces = {"jansen": jansen.space_id, "nordisk": nordisk.space_id}
        early = scenarios.before_activation(self.today)
        created = self.clock - timedelta(days=7)
        self.files[early.key] = scenarios.add_document(self.banqup, jansen.space_id, early, created_at=created)
        self.say(f"Bakkerij Jansen already holds {early.what} ({early.number}, {created:%d %b})")
        self.connect(jansen, nordisk)
        self.documents_arrive(jansen.space_id, nordisk.space_id)
        self.poll("the scheduled polls book each document into every integration of its client")
        before = self.holding_numbers(early.number)
        self.say(f"{early.number} is older than the integrations: not booked ({len(before)} hold it)")
        self.backfill((created - timedelta(days=1)).date().isoformat())
        paid_file = self.pay_in_billy()
        return self.outcome(early.number, before, paid_file)

    def connect(self, jansen: seed.ClientSpace, nordisk: seed.ClientSpace) -> None:
        self.say("koppel connections add: Bakkerij Jansen → SnelStart; the owner activates Koppel in SnelStart")
        seed.connect_snelstart(self.stack, self.banqup, self.snelstart, jansen, JANSEN_SNELSTART)
        self.say("koppel connections add: Bakkerij Jansen → QuickBooks Online; the owner consents at Intuit")
        self.realm = seed.connect_quickbooks(self.stack, self.banqup, self.quickbooks, jansen, JANSEN_QUICKBOOKS)
        self.say("koppel connections add: Nordisk Design → Billy, with an access token of its organization")
        seed.connect_billy(self.banqup, self.billy, nordisk, NORDISK_BILLY, token=BILLY_TOKEN)

    def documents_arrive(self, jansen: str, nordisk: str) -> None:
        for space, documents in ((jansen, scenarios.dutch_documents(self.today)),
                                 (nordisk, scenarios.danish_documents(self.today))):  # fmt: skip
            for planned in documents:
                self.files[planned.key] = scenarios.add_document(self.banqup, space, planned)
                self.say(f"  in Banqup: {planned.what}: {planned.number or planned.filename}")

    def poll(self, why: str) -> None:
        self.say(why)
        for _ in range(2):  # the second poll reads back what the first booked (target sync)
            self.clock += timedelta(minutes=6)
            self.stack.tick(self.clock)
            self.stack.run_until_idle()

    def backfill(self, since: str) -> None:
        self.say(f"koppel backfill {JANSEN_SNELSTART} --since {since}: the firm books Jansen's history in SnelStart")
        cli("backfill", JANSEN_SNELSTART, "--since", since)
        self.stack.run_until_idle()

    def pay_in_billy(self) -> str:
        """Nordisk Design pays Kontorland's bill in Billy (a bank payment on the bill); the next polls read it and
        Banqup's purchase invoice is marked paid."""
        chairs = scenarios.danish_documents(self.today)[0]
        bill = next(b for b in self.billy.records("bills", BILLY_TOKEN) if b["suppliersInvoiceNo"] == chairs.number)
        account = self.billy.organization(BILLY_TOKEN).record["defaultInvoiceBankAccountId"]
        payment = {
            "entryDate": self.today.isoformat(), "cashAmount": str(bill["balance"]), "cashSide": "credit",
            "cashAccountId": account, "associations": [{"subjectReference": f"bill:{bill['id']}"}],
        }  # fmt: skip
        answer = requests.post(
            f"{self.billy.base_url}/v2/bankPayments", json={"bankPayment": payment},
            headers={"X-Access-Token": BILLY_TOKEN}, timeout=TIMEOUT,
        )  # fmt: skip
        answer.raise_for_status()
        self.say(f"Nordisk Design pays {chairs.number} ({bill['balance']} DKK) to Kontorland in Billy")
        self.poll("the polls read Billy's bills back and write the payment onto the Banqup file")
        return self.files[chairs.key]

    # -- what happened --------------------------------------------------------------------------------------------
    def holding(self, connection: str) -> report.Holding:
        if connection == JANSEN_SNELSTART:
            return report.snelstart_holding(self.snelstart, _secret(connection, "snelstart", "koppelsleutel"))
        if connection == JANSEN_QUICKBOOKS:
            return report.quickbooks_holding(self.quickbooks, self.realm)
        return report.billy_holding(self.billy, BILLY_TOKEN)

    def holding_numbers(self, number: str) -> list[str]:
        return [c for c in CONNECTIONS if number in self.holding(c).numbers()]

    def outcome(self, early: str, before: list[str], paid_file: str) -> FirmOutcome:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        ledger = bootstrap.ledger(StoreSettings.load())
        dutch = [p.number for p in scenarios.dutch_documents(self.today) if p.bookable]
        danish = [p.number for p in scenarios.danish_documents(self.today)]
        expected = {
            JANSEN_SNELSTART: sorted([*dutch, early]),
            JANSEN_QUICKBOOKS: sorted(dutch),
            NORDISK_BILLY: sorted(danish),
        }
        return FirmOutcome(
            holdings={c: self.holding(c) for c in CONNECTIONS},
            history={c: ledger.entries(c) for c in CONNECTIONS},
            expected=expected,
            before_backfill=before,
            early=early,
            paid=self.banqup.paid_marks(),
            paid_file=paid_file,
        )


def _secret(connection: str, system: str, name: str) -> str:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    return bootstrap.connection_store(StoreSettings.load()).get_secrets(connection, system)[name]


# -- what the firm sees ------------------------------------------------------------------------------------------------
def show(outcome: FirmOutcome, console: Console) -> bool:
    """Print what each target holds, the review notes, what was not bookable and what went back to Banqup; True when
    every integration holds exactly what it should, once, and the payment reached Banqup."""
    titles = {JANSEN_SNELSTART: "Bakkerij Jansen BV", JANSEN_QUICKBOOKS: "Bakkerij Jansen BV",
              NORDISK_BILLY: "Nordisk Design ApS"}  # fmt: skip
    for connection, holding in outcome.holdings.items():
        console.print(report.holding_table(titles[connection], holding))

    def say(text: str) -> None:
        console.print(f"[cyan]•[/] {text}", highlight=False)

    for connection, rows in outcome.history.items():
        for row in rows:
            if row.state == "POSTED" and "review:" in row.reason:
                notes = [n.removeprefix("review: ") for n in row.reason.split("; ") if n.startswith("review: ")]
                say(f"{connection}: {row.document_number} booked, for review: {' '.join(notes)}")
            if row.payment == "settled when booked":
                say(f"{connection}: {row.document_number} booked as paid (a receipt): its payment is not followed")
            if row.state in ("SKIPPED", "PARKED"):
                say(f"{connection}: {row.document_number} {row.state.lower()}: {row.reason}")
    # The bank statement is Bakkerij Jansen's: each of its two integrations keeps it in the history as not bookable
    kept_apart = all(
        any(r.state == "SKIPPED" for r in outcome.history[c]) for c in (JANSEN_SNELSTART, JANSEN_QUICKBOOKS)
    )
    if not kept_apart:
        say("[red]the bank statement was not booked, but the history holds no SKIPPED row for it[/]")
    say(f"{outcome.early} was in no integration before the backfill ({len(outcome.before_backfill)} held it); "
        f"after it: {', '.join(c for c, h in outcome.holdings.items() if outcome.early in h.numbers())}")  # fmt: skip
    for mark in outcome.paid:
        say(f"Banqup: file {mark['fileId']} {mark['action']} {mark['body']}")
    booked = {c: h.numbers() for c, h in outcome.holdings.items()}
    doubled = report.duplicates(outcome.holdings.values())
    paid = [m for m in outcome.paid if m["fileId"] == outcome.paid_file and m["action"] == "mark-as-paid"]
    console.print(
        f"booked as expected: {sum(booked[c] == outcome.expected[c] for c in CONNECTIONS)} of {len(CONNECTIONS)} "
        f"integrations; duplicates {len(doubled)}; payments carried back to Banqup {len(paid)}"
    )
    return booked == outcome.expected and not doubled and not outcome.before_backfill and len(paid) == 1 and kept_apart


def status(console: Console) -> None:
    """`koppel status --firm`: the firm's clients' integrations as one table."""
    from koppel.cli import out

    console.print("[cyan]•[/] what the firm sees (koppel status --firm):")
    width, out.width = out.width, max(out.width, 120)  # the table as a terminal of 120 columns shows it
    try:
        cli("status", "--firm", seed.FIRM)
    finally:
        out.width = width


def part(stack: LocalStack, console: Console, up: ExitStack) -> bool:
    """Play the firm's story on ``stack`` and print what each package holds; True when all was booked once and the
    payment reached Banqup. Its sandboxes stay up in ``up`` until the whole demo ends."""
    demo = up.enter_context(FirmDemo(stack, say=lambda text: console.print(f"[cyan]•[/] {text}", highlight=False)))
    PLAYED.append(demo)
    console.print(
        f"[cyan]•[/] sandboxes: Banqup {demo.banqup.base_url}, SnelStart {demo.snelstart.base_url}, "
        f"QuickBooks {demo.quickbooks.base_url}, Billy {demo.billy.base_url}"
    )
    ok = show(demo.run(), console)
    status(console)
    return ok
