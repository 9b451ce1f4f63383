"""The demo's last part: the console, on the firm's story of the part before (Boekhoudkantoor De Telling).

An operator adds the console's people (`koppel users add`); a German supplier's invoice reaches Bakkerij Jansen, and
SnelStart and QuickBooks Online refuse its foreign VAT, so both integrations turn red. The firm signs in, sees them
red, reads each package's words in the history, maps the foreign VAT to a cost account from the chart synced from
each package, presses Retry, and sees them booked and green. The bakery's owner sees only the bakery's integrations;
the Danish client sees none of them. All of it through the management API behind the local API Gateway's JWT
authorizer, as the browser calls it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import requests

from devkit.koppelingen import cli
from devkit.koppelingen.banqup import scenarios, seed
from devkit.koppelingen.banqup.demo import JANSEN_QUICKBOOKS, JANSEN_SNELSTART, NORDISK_BILLY, PLAYED

if TYPE_CHECKING:
    from contextlib import ExitStack

    from rich.console import Console

    from devkit.koppelingen.banqup.demo import FirmDemo
    from devkit.local import LocalStack

TIMEOUT = 10
PASSWORD = "Koppel-Demo-2026"
"""Every demo user's password: the local stack only (`koppel users add` without --password makes a random one)."""


@dataclass(frozen=True)
class Person:
    username: str
    role: str
    tenant: str = ""
    client: str = ""
    says: str = ""


FIRM_USER = Person("anna@detelling.example", "firm", seed.FIRM, says="the accounting firm: every client")
BAKERY = Person("piet@bakkerijjansen.example", "client", seed.FIRM, seed.client_key("Bakkerij Jansen BV"), "the bakery")
STUDIO = Person(
    "mette@nordisk.example", "client", seed.FIRM, seed.client_key("Nordisk Design ApS"), "the Danish studio"
)
OPERATOR = Person("ops@koppel.example", "operator", says="Koppel's operator: every tenant")
PEOPLE = (FIRM_USER, BAKERY, STUDIO, OPERATOR)


class Api:
    """The management API as the console's page calls it: signed in, JSON in and out."""

    def __init__(self, base: str, person: Person) -> None:
        self.base = base
        signed = requests.post(
            f"{base}/api/session", json={"username": person.username, "password": PASSWORD}, timeout=TIMEOUT
        )
        if signed.status_code != 200:
            raise RuntimeError(f"{person.username} could not sign in: {signed.status_code} {signed.text}")
        self.token = signed.json()["id_token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        answer = requests.request(
            method,
            f"{self.base}/api{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=TIMEOUT,
        )
        return answer.status_code, answer.json()


@dataclass(frozen=True)
class Fixed:
    """One parked record of a connection, fixed as a bookkeeper does it: mapped from the target's chart, retried."""

    message: str
    mapped: int
    retried: list[str]
    colour_after: str

    @property
    def green(self) -> bool:
        return bool(self.message) and self.mapped == 200 and self.retried != [] and self.colour_after == "green"


@dataclass
class ConsoleOutcome:
    red_before: list[str]
    snelstart_fixed: Fixed
    quickbooks_fixed: Fixed
    bakery_sees: list[str]
    studio_sees: list[str]
    studio_opens_bakery: int
    operator_sees: int
    paused_and_resumed: tuple[str, str]
    backfill_jobs: int
    booked_in_chart: int


def add_people() -> None:
    for person in PEOPLE:
        options = [f"--tenant={person.tenant}"] if person.tenant else []
        options += [f"--client={person.client}"] if person.client else []
        cli("users", "add", person.username, f"--role={person.role}", f"--email={person.username}", *options,
            f"--password={PASSWORD}", "--permanent")  # fmt: skip


def foreign_invoice_arrives(demo: FirmDemo) -> str:
    planned = scenarios.german_invoice(demo.today)
    scenarios.add_document(demo.banqup, demo.spaces["jansen"], planned)
    demo.poll("the next polls read it: SnelStart and QuickBooks refuse its German VAT; each parks it with its words")
    return planned.number


def run(stack: LocalStack, demo: FirmDemo, say: Any) -> ConsoleOutcome:
    say("koppel users add: the firm, its two clients and an operator (Cognito; no one signs up alone)")
    add_people()
    number = foreign_invoice_arrives(demo)
    firm = Api(stack.http_url, FIRM_USER)
    _, listed = firm.call("GET", "/connections")
    red = [c["connection_id"] for c in listed["connections"] if c["colour"] == "red"]
    say(f"{FIRM_USER.username} signs in: {len(listed['connections'])} integrations, red: {', '.join(red) or 'none'}")
    return ConsoleOutcome(
        red_before=red,
        snelstart_fixed=_map_foreign_vat_and_retry(
            firm, stack, JANSEN_SNELSTART, "snelstart", "foreign_vat_ledger", number, say
        ),
        quickbooks_fixed=_map_foreign_vat_and_retry(
            firm, stack, JANSEN_QUICKBOOKS, "quickbooks", "foreign_vat_account_id", number, say
        ),
        **_who_sees_what(stack, say),
        **_operations(firm, stack, demo, say),
    )


def _who_sees_what(stack: LocalStack, say: Any) -> dict[str, Any]:
    bakery, studio, operator = Api(stack.http_url, BAKERY), Api(stack.http_url, STUDIO), Api(stack.http_url, OPERATOR)
    seen = {p.username: [c["connection_id"] for c in api.call("GET", "/connections")[1]["connections"]]
            for p, api in ((BAKERY, bakery), (STUDIO, studio), (OPERATOR, operator))}  # fmt: skip
    opened, _ = studio.call("GET", f"/connections/{JANSEN_SNELSTART}")
    say(f"the bakery sees {', '.join(seen[BAKERY.username])}; the studio sees {', '.join(seen[STUDIO.username])} "
        f"and opening the bakery's is a {opened}; the operator sees all {len(seen[OPERATOR.username])}")  # fmt: skip
    return {
        "bakery_sees": seen[BAKERY.username],
        "studio_sees": seen[STUDIO.username],
        "studio_opens_bakery": opened,
        "operator_sees": len(seen[OPERATOR.username]),
    }


def _operations(firm: Api, stack: LocalStack, demo: FirmDemo, say: Any) -> dict[str, Any]:
    _, paused = firm.call("POST", f"/connections/{NORDISK_BILLY}/pause", {"reason": "year-end closing"})
    _, resumed = firm.call("POST", f"/connections/{NORDISK_BILLY}/resume")
    yesterday = (demo.today - timedelta(days=1)).isoformat()
    _, queued = firm.call("POST", f"/connections/{NORDISK_BILLY}/backfill", {"since": yesterday})
    stack.run_until_idle()
    _, hours = firm.call("GET", f"/connections/{JANSEN_SNELSTART}/bookings?hours=24")
    booked = sum(hour["booked"] for hour in hours["hours"])
    say(f"{NORDISK_BILLY}: paused ({paused['status']}), resumed ({resumed['status']}); backfill: {queued['message']}")
    say(f"bookings per hour of {JANSEN_SNELSTART} over 24 hours: {booked} in all")
    return {"paused_and_resumed": (paused["status"], resumed["status"]), "backfill_jobs": queued["jobs"],
            "booked_in_chart": booked}  # fmt: skip


def _map_foreign_vat_and_retry(
    firm: Api, stack: LocalStack, connection: str, target: str, field: str, number: str, say: Any
) -> Fixed:
    """The bookkeeper's fix for a foreign supplier's VAT, as the package's words lead it: read them in the history,
    map what they name from the chart synced from the package, press Retry; again while new words come."""
    first, status, retried, after = "", 0, [], {}
    for _ in range(3):  # each round fixes what the package named; two are enough for every package here
        _, parked = firm.call("GET", f"/connections/{connection}/history?state=parked")
        record = next((r for r in parked["records"] if r["document"] == number), None)
        if record is None:
            break
        first = first or record["message"]
        say(f"{number} in the history of {connection}: {record['message']}")
        _, mapping = firm.call("GET", f"/connections/{connection}/mapping/{target}")
        fields, chosen = _what_the_words_ask(record["message"], mapping, field)
        status, _ = firm.call("PUT", f"/connections/{connection}/mapping/{target}", {"fields": fields})
        say(f"the firm maps {chosen} from {mapping['title']}'s chart ({status}), and presses Retry")
        _, answer = firm.call("POST", f"/connections/{connection}/replay", {"event_ids": [record["event_id"]]})
        retried += answer["replayed"]
        stack.run_until_idle()
        _, after = firm.call("GET", f"/connections/{connection}")
        say(f"{connection} is {after['colour']}: {after['booked']} booked, {after['parked']} parked")
    return Fixed(first, status, retried, after.get("colour", ""))


def _what_the_words_ask(message: str, mapping: dict[str, Any], field: str) -> tuple[dict[str, Any], str]:
    """A cost account for the foreign VAT; or, where the package asks for the tax code of a line outside the scope
    of VAT (QuickBooks Online), its code without VAT."""
    if "purchase_category_tax_codes" in message:
        current = next(f["value"] for f in mapping["fields"] if f["name"] == "purchase_category_tax_codes")
        code = _code_without_vat(mapping["tax_codes"])
        return {"purchase_category_tax_codes": {**current, "outside_scope": code["code"]}}, (
            f"the line outside the scope of VAT to tax code {_named(code)}"
        )
    account = _cost_account(mapping["ledgers"])
    return {field: account["code"]}, f"foreign VAT to {_named(account)}"


def _named(entry: dict[str, str]) -> str:
    return f"{entry['code']} ({entry['name']})" if entry["name"] != entry["code"] else entry["code"]


def _code_without_vat(codes: list[dict[str, str]]) -> dict[str, str]:
    """The tax code of a line without VAT of the company's country: "No VAT", else "Exempt"."""
    for pattern in (r"\bno vat\b|outside", r"\bexempt\b|vrijgesteld"):
        found = [entry for entry in codes if re.search(pattern, entry["name"], re.I)]
        if found:
            return found[0]
    return codes[-1] if codes else {"code": "", "name": ""}


def _cost_account(chart: list[dict[str, str]]) -> dict[str, str]:
    """A cost account of the synced chart for VAT that cannot be deducted: one named for it, else the 4000s (the
    Dutch general costs), else the last cost account (the first is usually the purchases account)."""
    by_name = [entry for entry in chart if re.search(r"\b(vat|btw|tax|expenses?)\b", entry["name"], re.I)]
    general = [entry for entry in chart if entry["code"].startswith("4")]
    return (by_name or general or chart[-1:] or [{"code": "4999", "name": "4999"}])[0]


def show(outcome: ConsoleOutcome, console: Console) -> bool:
    snelstart = outcome.snelstart_fixed
    checks = {
        "the integration was red with SnelStart's words": JANSEN_SNELSTART in outcome.red_before
        and bool(snelstart.message),
        "the mapping was saved": snelstart.mapped == 200,
        "the retry booked it and it is green": snelstart.retried != [] and snelstart.colour_after == "green",
        "QuickBooks too, led by its words, mapped from its synced chart: green": outcome.quickbooks_fixed.green,
        "the bakery sees only its own": sorted(outcome.bakery_sees) == ["jansen-quickbooks", JANSEN_SNELSTART],
        "the studio sees only its own, the bakery's is not found": outcome.studio_sees == [NORDISK_BILLY]
        and outcome.studio_opens_bakery == 404,
        "paused and resumed": outcome.paused_and_resumed == ("paused", "active"),
        "the backfill was queued": outcome.backfill_jobs >= 1,
    }
    for what, held in checks.items():
        console.print(f"  {'[green]✓' if held else '[red]✗'}[/] {what}", highlight=False)
    return all(checks.values())


def address(stack: LocalStack, console: Console) -> None:
    console.print(f"[cyan]•[/] the console: [bold]{stack.http_url}/console[/]", highlight=False)
    for person in PEOPLE:
        console.print(f"    {person.username} / {PASSWORD}  ({person.role}: {person.says})", highlight=False)


def part(stack: LocalStack, console: Console, up: ExitStack) -> bool:
    """The console's part, after the firm's (it goes on with that story); True when every check held."""
    del up  # the firm's sandboxes are already kept up by its own part
    demo = PLAYED[-1]
    outcome = run(stack, demo, say=lambda text: console.print(f"[cyan]•[/] {text}", highlight=False))
    ok = show(outcome, console)
    address(stack, console)
    return ok
