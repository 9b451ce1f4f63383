"""The demo's last part: the console, on the firm's story of the part before (Boekhoudkantoor De Telling).

An operator adds the console's people (`koppel users add`); a German supplier's invoice reaches Bakkerij Jansen and
SnelStart refuses its foreign VAT, so the integration turns red. The firm signs in, sees the red integration, reads
SnelStart's words in its history, maps the foreign VAT to a ledger from SnelStart's chart, presses Retry, and sees it
booked and green. The bakery's owner sees only the bakery's integrations; the Danish client sees none of them. All of
it through the management API behind the local API Gateway's JWT authorizer, as the browser calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import requests

from devkit.koppelingen import cli
from devkit.koppelingen.banqup import scenarios, seed
from devkit.koppelingen.banqup.demo import JANSEN_SNELSTART, NORDISK_BILLY, PLAYED

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


@dataclass
class ConsoleOutcome:
    red_before: list[str]
    message: str
    mapped: int
    retried: list[str]
    colour_after: str
    booked_after: int
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
    demo.poll("the next polls read it: SnelStart refuses its German VAT, and the record is parked with its words")
    return planned.number


def run(stack: LocalStack, demo: FirmDemo, say: Any) -> ConsoleOutcome:
    say("koppel users add: the firm, its two clients and an operator (Cognito; no one signs up alone)")
    add_people()
    number = foreign_invoice_arrives(demo)
    firm = Api(stack.http_url, FIRM_USER)
    _, listed = firm.call("GET", "/connections")
    red = [c["connection_id"] for c in listed["connections"] if c["colour"] == "red"]
    say(f"{FIRM_USER.username} signs in: {len(listed['connections'])} integrations, red: {', '.join(red) or 'none'}")
    _, parked = firm.call("GET", f"/connections/{JANSEN_SNELSTART}/history?state=parked")
    record = next(r for r in parked["records"] if r["document"] == number)
    say(f"{number} in the history: {record['message']}")
    _, chart = firm.call("GET", f"/connections/{JANSEN_SNELSTART}/mapping/snelstart")
    ledger = _cost_ledger([entry["code"] for entry in chart["ledgers"]])
    status, _ = firm.call(
        "PUT", f"/connections/{JANSEN_SNELSTART}/mapping/snelstart", {"fields": {"foreign_vat_ledger": ledger}}
    )
    say(f"the firm maps foreign VAT to ledger {ledger} from SnelStart's chart ({status}), and presses Retry")
    _, retried = firm.call("POST", f"/connections/{JANSEN_SNELSTART}/replay", {"event_ids": [record["event_id"]]})
    stack.run_until_idle()
    _, after = firm.call("GET", f"/connections/{JANSEN_SNELSTART}")
    say(f"{JANSEN_SNELSTART} is {after['colour']}: {after['booked']} booked, {after['parked']} parked")
    return ConsoleOutcome(
        red_before=red,
        message=record["message"],
        mapped=status,
        retried=retried["replayed"],
        colour_after=after["colour"],
        booked_after=after["booked"],
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


def _cost_ledger(codes: list[str]) -> str:
    """A cost ledger of the synced chart for VAT that cannot be deducted: the 4000s (general costs) when there."""
    return next((code for code in codes if code.startswith("4")), codes[0] if codes else "4999")


def show(outcome: ConsoleOutcome, console: Console) -> bool:
    checks = {
        "the integration was red with SnelStart's words": JANSEN_SNELSTART in outcome.red_before
        and bool(outcome.message),
        "the mapping was saved": outcome.mapped == 200,
        "the retry booked it and it is green": outcome.retried != [] and outcome.colour_after == "green",
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
