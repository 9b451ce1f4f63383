"""The demo part of Pipedrive → QuickBooks Online (`make demo` plays it third, on the same stack).

The story a sales team lives: the operator puts Koppel's app credentials in the partner secrets; the owner connects
QuickBooks and Pipedrive with two OAuth consents through the local HTTP API; a salesperson presses "Create invoice"
on a Dutch B2B deal and the invoice appears in QuickBooks, once however often the button is pressed; a won deal is
invoiced through the won-deal webhook; the bookkeeper records a partial and then the full payment in QuickBooks and
the scheduled poll carries the status back onto the deal; the deal's panel lists the invoice, and the salesperson
sends it from there; a deal with nobody to invoice is refused with the reason; and QuickBooks' access token, expired
in the middle of it all, is renewed once, its rotating refresh token stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from rich.table import Table

from devkit.koppelingen import WithSandboxes, cli
from devkit.koppelingen.pipedrive_quickbooks.report import off
from devkit.koppelingen.pipedrive_quickbooks.scenarios import (
    REALM,
    Expected,
    dutch_b2b_deal,
    expected,
)
from devkit.koppelingen.pipedrive_quickbooks.seed import as_json, company_user, connect, press
from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox, ProductLine
from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack

    from rich.console import Console

    from devkit.local import LocalStack
    from devkit.sandboxes.kit.server import Sandbox
    from devkit.sandboxes.pipedrive.sandbox import User
    from koppel.ports import CachedToken, LedgerEntry

CONNECTION = "van-den-berg"
FAST_CLOCK = {"CONNECTION_CACHE_SECONDS": "0", "TARGET_SYNC_MINUTES": "0"}
"""Every scheduled poll reads payment status back at once (the same as Bizzcloud's part asks)."""
ENV = FAST_CLOCK
"""What this part needs of the local stack's environment (``make demo`` starts one stack for every part)."""
D = Decimal


class Clock:
    """A vendor's clock: real time plus what the story lets pass there (``epoch`` for QuickBooks, ``now`` for
    Pipedrive), so that an access token Koppel holds expires at the vendor while Koppel still believes it valid."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def epoch(self) -> float:
        return self.now().timestamp()


@dataclass
class PipedriveOutcome:
    invoices: list[dict[str, Any]]
    """QuickBooks' invoices (Decimal amounts)."""
    expected: dict[str, Expected]
    """DocNumber → the invoice its deal must become."""
    duplicates: list[str]
    parked: list[LedgerEntry]
    statuses: list[str]
    """The deal's "Invoice status" field as it was read after each poll that carried a payment back."""
    second_press: dict[str, Any]
    refused: dict[str, Any]
    """The answer to the button on a deal with neither person nor organization."""
    refreshes: int
    """Refreshes at Intuit's token endpoint."""
    renewals: list[tuple[str, int]]
    """Each access token that expired (which system, which function met it) → the refreshes it took."""
    refresh_tokens_used_twice: list[str]
    panel: dict[str, Any]
    sent: str
    consents: list[str] = field(default_factory=list)


class PipedriveDemo(WithSandboxes):
    def __init__(self, stack: LocalStack, say: Callable[[str], None] = lambda _: None) -> None:
        self.stack = stack
        self.say = say
        self.quickbooks_clock, self.pipedrive_clock = Clock(), Clock()
        self.pipedrive = PipedriveSandbox(clock=self.pipedrive_clock.now)
        self.quickbooks = QuickbooksSandbox(clock=self.quickbooks_clock.epoch)
        self.renewals: list[tuple[str, int]] = []
        self.expired: list[tuple[str, int, CachedToken]] = []
        self.user: User | None = None
        self.deals: dict[str, int] = {}
        self.statuses: list[str] = []
        self.consents: list[str] = []
        self.second_press: dict[str, Any] = {}
        self.refused: dict[str, Any] = {}
        self.panel_answer: dict[str, Any] = {}
        self.sent = ""
        self.poll_clock = datetime.now(UTC)

    def sandboxes(self) -> tuple[Sandbox, ...]:
        return (self.pipedrive, self.quickbooks)

    # -- the story ------------------------------------------------------------------------------------------------
    def run(self) -> PipedriveOutcome:
        self.connect()
        self.poll("the scheduled poll: target sync reads QuickBooks' tax codes, items and currency")
        self.show_mapping()
        self.create_invoice()
        self.press_again()
        self.won_while_the_webhook_was_down()
        self.expire("QuickBooks", "the deliver function")
        self.expire("Pipedrive", "the webhook door, re-reading the deal")
        self.won_deal()
        self.renewed()
        self.nobody_to_invoice()
        self.pay(Decimal("0.4"), "a partial payment")
        self.expire("QuickBooks", "the poll's target sync")
        self.expire("Pipedrive", "the poll")
        self.poll("the scheduled poll reads the payment back and writes the status onto the deal")
        self.renewed()
        self.read_status()
        self.pay(Decimal(1), "the rest")
        self.notice()
        self.read_status()
        self.expire("QuickBooks", "the panel's action")
        self.show_panel()
        self.send_from_panel()
        self.renewed()
        return self.outcome()

    def connect(self) -> None:
        self.user = company_user(self.pipedrive)
        self.quickbooks.add_company("Van den Berg Installatietechniek B.V.", realm=REALM, currency="EUR",
                                    vat_codes=DUTCH_VAT_CODES)  # fmt: skip
        self.say("the operator puts Koppel's Intuit and Pipedrive app credentials in the partner secrets")
        self.say("koppel connections add: Pipedrive → QuickBooks Online, no credentials yet (both by OAuth consent)")
        consents = connect(
            self.stack, self.pipedrive, self.quickbooks, CONNECTION, tenant="Van den Berg Installatietechniek B.V.",
            name="Van den Berg sales",
        )  # fmt: skip
        for done in consents:
            page = urlsplit(done.start)
            back = parse_qs(urlsplit(done.back).query)
            returned = ", ".join(f"{k}" for k in back if k != "state")
            self.consents.append(done.system)
            self.say(
                f"koppel connections activate {CONNECTION} {done.system}: the start link sends the owner to "
                f"{page.path} (consent), which sends them back to /connect/{done.system}/callback with {returned} "
                f"→ {done.done}"
            )
        connection = self.store().get(CONNECTION)
        realm = self.store().get_secrets(CONNECTION, "quickbooks").get("realm_id", "")
        company = self.store().get_secrets(CONNECTION, "pipedrive").get("company_id", "")
        self.say(
            f"connection {CONNECTION} is [bold]{connection.status}[/]: QuickBooks company (realm) {realm}, Pipedrive "
            f"company {company}; the won-deal webhook subscribed with credentials Koppel keeps encrypted"
        )

    def show_mapping(self) -> None:
        settings = self.store().get(CONNECTION).target_settings.get("quickbooks", {})
        self.say(f"QuickBooks tax codes by VAT rate: {settings.get('tax_codes')}, item {settings.get('item_id')}")

    def create_invoice(self) -> None:
        deal = self.deals["button"] = dutch_b2b_deal(self.pipedrive)
        answer = press(self.stack, self.pipedrive, "invoice", deal, user=self.user)
        self.say(
            f"a salesperson presses Create invoice on deal {deal} (2 heat pumps, 16 hours, 3 manuals at 9 %): "
            f"{answer.status_code} {as_json(answer).get('message')}"
        )
        self.stack.run_until_idle()

    def press_again(self) -> None:
        before = len(self.quickbooks.invoices(REALM))
        answer = press(self.stack, self.pipedrive, "invoice", self.deals["button"], user=self.user)
        self.stack.run_until_idle()
        self.second_press = as_json(answer) | {
            "status": answer.status_code,
            "new_invoices": len(self.quickbooks.invoices(REALM)) - before,
        }
        self.say(
            f"pressed again: {answer.status_code} {self.second_press.get('message')}; new invoices: "
            f"{self.second_press['new_invoices']}"
        )

    def won_deal(self) -> None:
        org = self.pipedrive.add_organization("Bakkerij Jansen B.V.")
        person = self.pipedrive.add_person("Piet Jansen", emails=[{"value": "piet@bakkerijjansen.nl"}],
                                           org_id=org["id"])  # fmt: skip
        lines = [ProductLine("Onderhoudscontract (jaar)", "249.95", 1, tax=21), ProductLine("Cursusmap", "18.75", 4,
                 tax=9)]  # fmt: skip
        deal = self.deals["won"] = int(
            self.pipedrive.add_deal("Onderhoud ovens 2027", lines, person_id=person["id"], org_id=org["id"])["id"]
        )
        self.pipedrive.set_deal_status(deal, "won")
        delivered = self.pipedrive.deliver_webhooks()
        self.stack.run_until_idle()
        self.say(f"deal {deal} is won: Pipedrive's webhook ({len(delivered)} delivered) books it without a button")

    def won_while_the_webhook_was_down(self) -> None:
        """A deal won while Koppel's address did not answer Pipedrive: Pipedrive gives up after its retries, and the
        scheduled poll of won deals books it."""
        org = self.pipedrive.add_organization("Drukkerij Peeters B.V.")
        lines = [ProductLine("Installatie (uur)", "85.00", 3, tax=21)]
        deal = self.deals["won, webhook lost"] = int(
            self.pipedrive.add_deal("Storing verhelpen", lines, org_id=org["id"], status="won")["id"]
        )
        for _ in range(4):  # the first attempt and Pipedrive's three retries, all unanswered
            self.pipedrive.deliver_webhooks(post=lambda _delivery: 599, due_only=False)
        self.poll(f"deal {deal} is won while Koppel's address is down; Pipedrive gives up, the scheduled poll finds it")

    def nobody_to_invoice(self) -> None:
        deal = self.deals["nobody"] = int(
            self.pipedrive.add_deal("Losse verkoop", [ProductLine("Cadeaubon", "25.00", 2, tax=0)])["id"]
        )
        answer = press(self.stack, self.pipedrive, "invoice", deal, user=self.user)
        self.stack.run_until_idle()
        self.refused = as_json(answer) | {"status": answer.status_code, "deal": deal}
        reason = self.refused.get("error") or self.refused.get("message")
        self.say(f"[red]refused[/] deal {deal} (neither person nor organization): {answer.status_code} {reason}")
        for entry in self.ledger().entries(CONNECTION, "PARKED"):
            self.say(f"[red]parked[/] {entry.document_number}: {entry.reason}")

    def expire(self, system: str, meets_it: str) -> None:
        """An hour passes at the vendor: the access token Koppel holds has expired there, and ``meets_it`` is the
        function whose call gets the 401 and renews the grant (once: its rotating refresh token used once)."""
        clock = self.quickbooks_clock if system == "QuickBooks" else self.pipedrive_clock
        clock.offset += timedelta(seconds=3700)
        self.grant_before = self.grant(system.lower())
        self.expired.append((system, self.refreshes(system), self.grant_before))
        self.say(f"an hour passes in {system}: the access token Koppel holds has expired there ({meets_it} meets it)")

    def renewed(self) -> None:
        """What became of each access token that expired since the last look."""
        expired, self.expired = self.expired, []
        for system, before, old in expired:
            refreshes = self.refreshes(system) - before
            new = self.grant(system.lower())
            self.renewals.append((system, refreshes))
            uses = self.refresh_uses(system).get(old.refresh_token or "", 0)
            self.say(
                f"{system} answered 401 to the expired access token: Koppel renewed the grant ({refreshes} refresh; "
                f"the old refresh token presented {uses} time) and stored the rotated refresh token: "
                f"{new.refresh_token != old.refresh_token}"
            )

    def refresh_uses(self, system: str) -> dict[str, int]:
        if system == "QuickBooks":
            return self.quickbooks.refresh_token_uses()
        return self.pipedrive.refresh_token_uses()

    def refreshes(self, system: str) -> int:
        return sum(self.refresh_uses(system).values())

    def notice(self) -> None:
        """QuickBooks' webhook tells Koppel of the payment: the notice door queues a read-back at once; the status
        reaches the deal without waiting for the schedule. Pipedrive's access token expires meanwhile, so the
        write-back meets the 401."""
        delivered = self.quickbooks.deliver_webhooks()
        self.say(f"QuickBooks' webhook (intuit-signature) reaches POST /notices/quickbooks: {delivered is not None}")
        self.stack.drain("PollSourceFunction")
        self.expire("Pipedrive", "the write-back")
        self.stack.run_until_idle()
        self.renewed()

    def pay(self, share: Decimal, what: str) -> None:
        invoice = self.invoice_of(self.deals["button"])
        amount = invoice["Balance"] if share == 1 else (invoice["TotalAmt"] * share).quantize(Decimal("0.01"))
        self.quickbooks.record_payment(REALM, invoice["Id"], amount)
        self.say(f"the bookkeeper records {what} in QuickBooks: EUR {amount} on {invoice['DocNumber']}")

    def poll(self, why: str) -> None:
        self.poll_clock += timedelta(minutes=6)
        self.say(why)
        self.stack.tick(self.poll_clock)
        self.stack.run_until_idle()

    def read_status(self) -> None:
        text = self.status_on_deal(self.deals["button"])
        self.statuses.append(text)
        self.say(f'deal {self.deals["button"]} in Pipedrive, field "Invoice status": [bold]{text}[/]')

    def status_on_deal(self, deal: int) -> str:
        fields = {f["name"]: f["key"] for f in self.pipedrive.store.deal_fields.values()}
        key = fields.get("Invoice status", "")
        return str(self.pipedrive.custom_field_values(deal).get(key) or "")

    def show_panel(self) -> None:
        answer = press(self.stack, self.pipedrive, "panel", self.deals["button"], user=self.user, method="GET")
        self.panel_answer = as_json(answer)
        for row in self.panel_answer.get("data", []):
            amount, link = row.get("amount") or {}, (row.get("invoice") or {}).get("value", "")
            status = (row.get("status") or {}).get("label")
            self.say(
                f"the deal's panel ({answer.status_code}): {row.get('header')} · {status} · "
                f"{amount.get('code')} {amount.get('value')} · {link} · actions {', '.join(row.get('actions', []))}"
            )

    def send_from_panel(self) -> None:
        answer = press(self.stack, self.pipedrive, "invoices/send", self.deals["button"], user=self.user)
        invoice = self.invoice_of(self.deals["button"])
        self.sent = str(invoice.get("EmailStatus", ""))
        self.say(f"the salesperson sends it from the panel: {answer.status_code}; in QuickBooks: {self.sent}")
        pdf = press(self.stack, self.pipedrive, "invoices/pdf", self.deals["button"], user=self.user)
        self.say(f"and downloads it: {pdf.status_code} {pdf.headers.get('Content-Type')}, {len(pdf.content)} bytes")

    # -- what happened --------------------------------------------------------------------------------------------
    def store(self) -> Any:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        return bootstrap.connection_store(StoreSettings.load())

    def ledger(self) -> Any:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        return bootstrap.ledger(StoreSettings.load())

    def grant(self, system: str = "quickbooks") -> CachedToken:
        token = self.store().get_token(CONNECTION, system)
        assert token is not None, f"no {system} grant stored"
        return token

    def invoice_of(self, deal: int) -> dict[str, Any]:
        (invoice,) = [i for i in self.quickbooks.invoices(REALM) if i.get("DocNumber") == f"PD-{deal}"]
        return invoice

    def outcome(self) -> PipedriveOutcome:
        uses = self.quickbooks.refresh_token_uses()
        pipedrive_uses = self.pipedrive.refresh_token_uses()
        return PipedriveOutcome(
            invoices=self.quickbooks.invoices(REALM),
            expected={
                f"PD-{deal}": expected(self.pipedrive.get_deal_products(deal))
                for kind, deal in self.deals.items()
                if kind != "nobody"
            },
            duplicates=self.quickbooks.duplicates(REALM),
            parked=self.ledger().entries(CONNECTION, "PARKED"),
            statuses=self.statuses,
            second_press=self.second_press,
            refused=self.refused,
            refreshes=sum(uses.values()),
            renewals=self.renewals,
            refresh_tokens_used_twice=sorted(
                token[:8] + "…" for token, count in (uses | pipedrive_uses).items() if count > 1
            ),
            panel=self.panel_answer,
            sent=self.sent,
            consents=self.consents,
        )


def invoices_table(outcome: PipedriveOutcome) -> Table:
    table = Table(title="Booked in QuickBooks Online (invoices, lines and tax codes)")
    for column in ("invoice", "line", "qty", "unit price", "amount", "tax code", "VAT", "total", "balance"):
        right = column not in {"invoice", "line", "tax code"}
        table.add_column(column, justify="right" if right else "left", overflow="ellipsis", no_wrap=column != "line")
    codes = {code: name for code, name, _, _ in DUTCH_VAT_CODES}
    for invoice in outcome.invoices:
        vat = {
            line["TaxLineDetail"]["TaxRateRef"]["value"]: line["Amount"] for line in invoice["TxnTaxDetail"]["TaxLine"]
        }
        lines = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
        for index, line in enumerate(lines):
            detail = line["SalesItemLineDetail"]
            last = index == len(lines) - 1
            table.add_row(
                invoice["DocNumber"] if index == 0 else "",
                str(line.get("Description", ""))[:40],
                f"{D(str(detail.get('Qty', ''))).normalize():f}",
                f"{D(str(detail.get('UnitPrice', 0))):.2f}",
                f"{D(str(line['Amount'])):.2f}",
                codes.get(detail["TaxCodeRef"]["value"], detail["TaxCodeRef"]["value"]),
                " + ".join(f"{D(str(v)):.2f}" for v in vat.values()) if last else "",
                f"{D(str(invoice['TotalAmt'])):.2f}" if last else "",
                f"{D(str(invoice['Balance'])):.2f}" if last else "",
            )
    return table


def reconciled(outcome: PipedriveOutcome) -> list[str]:
    """Invoices whose net or VAT per rate, or total, differ from what their deal must become (empty: all to the
    cent)."""
    problems = []
    for invoice in outcome.invoices:
        want = outcome.expected.get(str(invoice.get("DocNumber")))
        problem = "no deal expected it" if want is None else off(invoice, want)
        if problem is not None:
            problems.append(f"{invoice.get('DocNumber')}: {problem}")
    return problems


def part(stack: LocalStack, console: Console, up: ExitStack) -> bool:
    """Play the story on ``stack`` and print what QuickBooks holds; True when every deal was booked once, to the
    cent, its status carried back, the refused deal refused and no refresh token used twice."""
    demo = up.enter_context(PipedriveDemo(stack, say=lambda text: console.print(f"[cyan]•[/] {text}")))
    console.print(
        f"[cyan]•[/] sandboxes: Pipedrive {demo.pipedrive.base_url}, QuickBooks Online {demo.quickbooks.base_url}"
    )
    outcome = demo.run()
    console.print(invoices_table(outcome))
    off = reconciled(outcome)
    console.print(
        f"deals invoiced {len(outcome.expected)}, invoices in QuickBooks {len(outcome.invoices)}, duplicate "
        f"invoices {len(outcome.duplicates)}, off by a cent {len(off)}, refused {1 if outcome.refused else 0}, "
        f"statuses on the deal {' → '.join(outcome.statuses)}; expired access tokens renewed "
        f"{', '.join(f'{system} {count}×' for system, count in outcome.renewals)}, refresh tokens used twice "
        f"{len(outcome.refresh_tokens_used_twice)}"
    )
    for problem in off:
        console.print(f"[red]off[/] {problem}")
    console.print("[cyan]•[/] what an operator sees (koppel status):")
    cli("status")
    return (
        not outcome.duplicates
        and not off
        and sorted(i["DocNumber"] for i in outcome.invoices) == sorted(outcome.expected)
        and [s.split(" · ")[1] for s in outcome.statuses if " · " in s] == ["Partially paid", "Paid"]
        and outcome.second_press.get("new_invoices") == 0
        and not outcome.refresh_tokens_used_twice
        and all(count == 1 for _, count in outcome.renewals)
    )
