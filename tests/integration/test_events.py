"""Every recorded event in events/ through the handler it is named for, the way `make invoke` runs it (devkit.invoke:
the local stack, the sandboxes and the seeded demo world), each with the answer its case promises."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.invoke import EVENTS, EventWorld, function_for, functions, main, prepare
from devkit.stack import TEMPLATE, load_template
from tests.integration import manage_answers as console

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REPO = Path(__file__).resolve().parents[2]
FILES = sorted(EVENTS.glob("*.json"))


READS_ONLY = {
    "connect__snelstart_done.json", "ingest_webhook__bad_signature.json", "manage__console_page.json",
    "manage__console_file.json", "manage__session_wrong_password.json", "manage__session_password_expired.json",
    "manage__openapi.json", "manage__me.json", "manage__connections.json", "manage__connection.json",
    "manage__history.json", "manage__bookings.json", "manage__mapping.json",
}  # fmt: skip
"""Events whose handler reads or refuses and changes nothing: the world after one is the seeded world still, so the
next event is played on it without a reset (a reset reseeds every sandbox: seconds per event)."""


@pytest.fixture(scope="module")
def world() -> Iterator[EventWorld]:
    with EventWorld() as started:
        yield started


def _body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def _booked_in_snelstart(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    world.stack.run_until_idle()
    assert [b["factuurbedrag"] for b in world.snelstart.bookings(world.koppelsleutel)] == [590]


def _booked_in_eboekhouden(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    assert [m["invoiceNumber"] for m in world.eboekhouden.mutations(world.api_token)] == ["INV/2026/00001"]


def _paid_in_bizzcloud(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    assert [m["payment_state"] for m in world.bizzcloud.records("account.move", ["payment_state"])] == ["paid"]


def _marked_paid_in_banqup(world: EventWorld, answer: dict[str, Any]) -> None:
    from devkit.koppelingen.banqup.seed import PAID_FILE

    assert answer == {"batchItemFailures": []}
    # Banqup's purchase invoice is marked paid with what Billy shows as paid: all of its 4,747.50 DKK
    [mark] = world.banqup.paid_marks()
    assert (mark["fileId"], mark["action"], Decimal(str(mark["body"]["amount"]))) == (
        PAID_FILE,
        "mark-as-paid",
        Decimal("4747.50"),
    )


def _enqueued(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 202
    assert _body(answer)["event_ids"] == ["ccvshop:order:339493812:completed"]


def _polled(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    assert world.stack.queue_depths()["snelstart"] == 1  # the shop's completed and paid order


def _answered(status: int, saying: str, *, location: str = "") -> Callable[[EventWorld, dict[str, Any]], None]:
    def check(_: EventWorld, answer: dict[str, Any]) -> None:
        assert answer["statusCode"] == status, answer
        assert saying in (answer["body"] or ""), answer
        assert location in answer["headers"].get("Location", ""), answer

    return check


def _scheduled(world: EventWorld, answer: dict[str, Any]) -> None:
    # demo-deals is not due: its seed let the schedule fire a moment ago (its target sync read QuickBooks' tax codes)
    assert answer == {"scheduled": ["demo-crm", "demo-inbox", "demo-kassa", "demo-shop"]}


def _invoices(world: EventWorld) -> dict[str, dict[str, Any]]:
    from devkit.koppelingen.pipedrive_quickbooks.scenarios import REALM

    return {str(invoice["DocNumber"]): invoice for invoice in world.quickbooks.invoices(REALM)}


def _read_back(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 200, answer
    assert _body(answer) == {"reading_back": 1}  # demo-deals, the connection of the realm the notice names
    assert world.stack.queue_depths()["poll"] == 1


def _booked_in_quickbooks(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    booked = _invoices(world)
    assert sorted(booked) == ["PD-801", "PD-802"]  # the seed's deal, and the event's
    assert booked["PD-802"]["TotalAmt"] == Decimal("16312.74")


def _status_on_the_deal(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    keys = {field["name"]: field["key"] for field in world.pipedrive.store.deal_fields.values()}
    status = world.pipedrive.custom_field_values(801)[keys["Invoice status"]]
    assert status == "PD-801 · Partially paid · EUR 15312.74 open"


def _button_queued(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 202, answer
    assert _body(answer)["queued"] == ["pipedrive:deal:802:invoice"]
    world.stack.run_until_idle()
    assert "PD-802" in _invoices(world)


def _panel_lists_the_invoice(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 200, answer
    [row] = _body(answer)["data"]
    assert row["header"] == "PD-801" and row["status"]["label"] == "Open"
    assert row["amount"] == {"code": "EUR", "value": "16312.74"}


def _sent_from_the_panel(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 200, answer
    assert _body(answer) == {"done": "send"}
    assert _invoices(world)["PD-801"]["EmailStatus"] == "EmailSent"


def _booked_in_billy(world: EventWorld, answer: dict[str, Any]) -> None:
    from devkit.koppelingen.simplycrm_billy.seed import BILLY_TOKEN

    assert answer == {"batchItemFailures": []}
    [invoice] = world.billy.records("invoices", BILLY_TOKEN)
    assert (invoice["invoiceNo"], invoice["state"], invoice["grossAmount"]) == ("INV1", "approved", Decimal("15625.00"))


def _paid_in_the_crm(world: EventWorld, answer: dict[str, Any]) -> None:
    assert answer == {"batchItemFailures": []}
    assert world.crm.retrieve("16x3")["invoicestatus"] == "Paid"


def _contact_synced_by_its_button(world: EventWorld, answer: dict[str, Any]) -> None:
    from devkit.koppelingen.simplycrm_billy.seed import BILLY_TOKEN

    assert answer["statusCode"] == 200, answer
    said = _body(answer)
    assert (said["state"], said["message"]) == ("synced", "created in Billy")
    assert [c["name"] for c in world.billy.records("contacts", BILLY_TOKEN)] == ["Mette Holm"]


EXPECTED: dict[str, Callable[[EventWorld, dict[str, Any]], None]] = {
    "connect__snelstart_start.json": _answered(302, "", location="referenceKey="),
    "connect__snelstart_activation.json": _answered(200, '"status":"active"'),
    "connect__snelstart_done.json": _answered(200, "activation has reached Koppel"),
    "connect__oauth_callback.json": _answered(401, "authorization"),
    "apps__panel.json": _panel_lists_the_invoice,
    "apps__invoice.json": _button_queued,
    "apps__invoice_action.json": _sent_from_the_panel,
    "apps__record_sync.json": _contact_synced_by_its_button,
    "deliver__billy_invoice.json": _booked_in_billy,
    "deliver__simplycrm_payment_status.json": _paid_in_the_crm,
    "deliver__quickbooks_invoice.json": _booked_in_quickbooks,
    "deliver__pipedrive_invoice_status.json": _status_on_the_deal,
    "deliver__order_completed.json": _booked_in_snelstart,
    "deliver__eboekhouden_invoice.json": _booked_in_eboekhouden,
    "deliver__bizzcloud_payment_status.json": _paid_in_bizzcloud,
    "deliver__banqup_payment_status.json": _marked_paid_in_banqup,
    "ingest_webhook__bad_signature.json": _answered(401, "could not be verified"),
    "ingest_webhook__ccvshop_status_changed.json": _enqueued,
    "ingest_webhook__quickbooks_notice.json": _read_back,
    "poll_source__job.json": _polled,
    "schedule_polls__tick.json": _scheduled,
    # the console and its API, as a firm of tenant-demo (tests/integration/manage_answers.py)
    "manage__console_page.json": console.to_the_console_folder,
    "manage__console_file.json": console.the_login_page,
    "manage__session_wrong_password.json": console.wrong_password_refused,
    "manage__session_password_expired.json": console.run_out_first_sign_in_refused,
    "manage__openapi.json": console.the_api_document,
    "manage__me.json": console.the_firm_itself,
    "manage__connections.json": console.every_connection_of_the_firm,
    "manage__connection.json": console.the_deals_connection,
    "manage__history.json": console.the_deal_booked_in_quickbooks,
    "manage__replay.json": console.nothing_parked_to_retry,
    "manage__pause.json": console.the_till_paused,
    "manage__resume.json": console.the_till_polled_again,
    "manage__backfill.json": console.three_days_queued,
    "manage__bookings.json": console.one_booking_this_hour,
    "manage__mapping.json": console.snelstarts_mapping,
    "manage__mapping_change.json": console.revenue_on_another_ledger,
    "manage__connect_again.json": console.a_new_start_link,
    "manage__disconnect.json": console.the_till_disconnected,
}


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_event_gets_the_answer_its_case_promises(world: EventWorld, path: Path) -> None:
    # Given the seeded demo world on an empty stack, and a recorded event
    assert path.name in EXPECTED, f"say in EXPECTED what {path.name} should answer"
    if not world.untouched:
        world.reset()
    world.untouched = False
    invocation = prepare(function_for(path), str(path))
    # When it runs through the handler of its function, as `make invoke` runs it
    answer = world.invoke(invocation)
    # Then the answer (and what it changed) is the one its case names
    EXPECTED[path.name](world, answer)
    world.untouched = path.name in READS_ONLY


def test_every_event_said_to_change_nothing_is_one_with_an_answer() -> None:
    # Given the events played without a reset after them, then each is a recorded event with its case
    assert not READS_ONLY - ({path.name for path in FILES} & set(EXPECTED)), "a name in READS_ONLY is no event"


def test_every_function_and_every_route_has_a_recorded_event() -> None:
    # Given the template's functions and HTTP routes
    template = load_template(TEMPLATE)
    routes = {
        f"{e['Properties']['Method']} {e['Properties']['Path']}"
        for name in functions()
        for e in template["Resources"][name]["Properties"].get("Events", {}).values()
        if e["Type"] == "HttpApi"
    }
    # When the events are matched to them
    events = [json.loads(path.read_text()) for path in FILES]
    # Then each function has an event, and each route too
    assert {function_for(path) for path in FILES} == set(functions())
    assert {event["routeKey"] for event in events if "routeKey" in event} == routes


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["NoSuchFunction", "events/schedule_polls__tick.json"], "no function of infra/template.yaml"),
        (["SchedulePollsFunction", "events/nothing.json"], "the recorded events are: events/"),
        (["DeliverSnelstartFunction", "events/schedule_polls__tick.json"], "is an event for functions/schedule_polls"),
        (["SchedulePollsFunction", ""], "usage: make invoke FN=<Function> EVENT=events/<file>.json"),
    ],
)
def test_a_wrong_fn_or_event_is_refused_before_anything_starts(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When make invoke gets a function or an event file that do not go together
    code = main([str(REPO / a) if a.startswith("events/") else a for a in args])
    # Then it exits 2 and says what to give instead
    assert code == 2
    assert says in capsys.readouterr().err


def test_make_invoke_prints_the_handlers_answer() -> None:
    # When make invoke runs the recorded forged webhook (the command the Makefile runs)
    done = subprocess.run(
        [sys.executable, "-m", "devkit.invoke", "IngestWebhookFunction", "events/ingest_webhook__bad_signature.json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "", "PYTHONPATH": f"{REPO / 'layers' / 'koppel'}:{REPO}"},
    )
    # Then it prints ingest_webhook's answer as JSON: 401 with its reason
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 401 and "could not be verified" in answer["body"]
