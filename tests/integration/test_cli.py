"""The `koppel` command line as a user runs it: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from devkit.local import LocalStack

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "ccvshop"


def koppel(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {}), "PYTHONPATH": f"{REPO / 'layers' / 'koppel'}{os.pathsep}{REPO}"}
    return subprocess.run(
        [sys.executable, "-m", "koppel.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def preview_file(tmp_path: Path, **changes: Any) -> Path:
    """The genuine recorded order, with the orderrows collection in place of its href (the preview format)."""
    order = json.loads((FIXTURES / "order.get.json").read_text(), parse_float=Decimal)
    rows = json.loads((FIXTURES / "order_339323562.json").read_text(), parse_float=Decimal)["input"]["orderrows"]
    order.update(orderrows=rows, **changes)
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order, default=str))
    return path


def test_preview_prints_exactly_the_requests_for_an_empty_administratie(tmp_path: Path) -> None:
    # Given the recorded order, completed (status 7) and paid
    order = preview_file(tmp_path, status=7)
    # When it is previewed for SnelStart
    done = koppel("preview", "--source", "ccvshop", "--target", "snelstart", str(order))
    # Then stdout holds the look-ups, the new Klant and the balanced verkoopboeking, in the order deliver sends them
    assert done.returncode == 0, done.stderr
    requests = json.loads(done.stdout, parse_float=Decimal)["requests"]
    assert [(r["method"], r["path"].split("?")[0]) for r in requests] == [
        ("GET", "/v2/verkoopfacturen"),
        ("GET", "/v2/relaties"),
        ("POST", "/v2/relaties"),
        ("POST", "/v2/verkoopboekingen"),
    ]
    assert requests[1]["path"] == "/v2/relaties?$filter=Email eq 'j.jansen@example.nl'"
    booking = requests[3]["body"]
    assert booking["factuurbedrag"] == Decimal("590.00")
    assert booking["klant"]["id"] == "00000000-0000-0000-0001-000000000001"  # the id the POST /relaties was given
    lines = sum(r["bedrag"] for r in booking["boekingsregels"])
    assert lines + sum(v["btwBedrag"] for v in booking["btw"]) == booking["factuurbedrag"]
    assert booking["btw"] == [{"btwSoort": "VerkopenHoog", "btwBedrag": Decimal("102.40")}]


def test_preview_of_an_order_not_yet_completed_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    # Given the recorded order as it is: checkout finished (is_completed) but status 1, New
    done = koppel("preview", "--source", "ccvshop", "--target", "snelstart", str(preview_file(tmp_path)))
    # Then nothing is printed on stdout and stderr says why
    assert done.returncode != 0
    assert done.stdout == ""
    assert "not something to book" in done.stderr


def test_preview_of_an_order_that_does_not_add_up_names_the_difference(tmp_path: Path) -> None:
    unbalanced = preview_file(tmp_path, status=7, total_price=600)
    done = koppel("preview", "--source", "ccvshop", "--target", "snelstart", str(unbalanced))
    assert done.returncode == 2
    assert "difference +10.00" in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["preview", "--source", "nosuchshop", "--target", "snelstart", "ORDER"], "unknown connector 'nosuchshop'"),
        (["preview", "--source", "ccvshop", "--target", "snelstart", "BROKEN"], "is not valid JSON"),
        (["preview", "--source", "ccvshop", "--target", "snelstart", "missing.json"], "does not exist"),
        (["preview", "--source", "ccvshop", "ORDER"], "--target"),
        (
            [
                "connections",
                "add",
                "x1",
                "--tenant",
                "t",
                "--source",
                "bizzcloud",
                "--target",
                "eboekhouden",
                "--setting",
                "eboekhouden.api_token=SECRET-VALUE",
            ],
            "looks like a credential",
        ),
    ],
)
def test_wrong_arguments_get_a_clear_error(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    args = [
        {"ORDER": str(preview_file(tmp_path, status=7)), "BROKEN": str(tmp_path / "broken.json")}.get(a, a)
        for a in args
    ]
    done = koppel(*args)
    assert done.returncode != 0
    assert says in " ".join(done.stderr.split())  # the terminal may wrap a long path anywhere
    assert "SECRET-VALUE" not in done.stderr + done.stdout


def test_connections_add_list_and_show_keep_secrets_secret(clean_stack: LocalStack) -> None:
    env = dict(clean_stack._outputs().environment()) | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    # When a connection is added with settings and a secret
    added = koppel(
        "connections", "add", "bakker", "--tenant", "Bakkerij Jansen", "--source", "ccvshop", "--target", "snelstart",
        "--setting", "ccvshop.base_url=https://bakker.ccvshop.nl", "--secret", "ccvshop.secret_key=TOPSECRET",
        "--secret", "ccvshop.public_key=pub", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    # Then it is listed as active, and show names the stored secrets without their values
    listed = koppel("connections", "list", env=env)
    assert "bakker" in listed.stdout
    assert "active" in listed.stdout
    shown = koppel("connections", "show", "bakker", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "TOPSECRET" not in shown.stdout
    assert json.loads(shown.stdout)["secrets_stored"]["ccvshop"] == ["public_key", "secret_key"]


def test_backfill_refuses_a_date_it_cannot_read(clean_stack: LocalStack) -> None:
    env = dict(clean_stack._outputs().environment()) | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    done = koppel("backfill", "bakker", "--since", "last tuesday", env=env)
    assert done.returncode == 2
    assert "use YYYY-MM-DD" in done.stderr


def test_backfill_without_a_connection_id_asks_which_one_when_there_are_several(clean_stack: LocalStack) -> None:
    env = dict(clean_stack._outputs().environment()) | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    # Given no connection yet
    none_yet = koppel("backfill", "--since", "2026-11-01", env=env)
    assert none_yet.returncode == 2
    assert "koppel connections add" in none_yet.stderr
    # And given two connections
    for name in ("bakker", "slager"):
        koppel(
            "connections", "add", name, "--tenant", name, "--source", "ccvshop", "--target", "snelstart",
            "--setting", f"ccvshop.base_url=https://{name}.ccvshop.nl", env=env,
        )  # fmt: skip
    # When the backfill names none
    done = koppel("backfill", "--since", "2026-11-01", env=env)
    # Then it asks which, listing them
    assert done.returncode == 2
    assert "bakker, slager" in done.stderr


def test_status_shows_what_needs_a_person_and_replay_books_it_after_the_fix(
    clean_stack: LocalStack, demo_shop: str, snelstart
) -> None:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    env = clean_stack.operator_environment() | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    store = bootstrap.connection_store(StoreSettings.load())
    connection = store.get("demo-shop")
    good = dict(connection.target_settings["snelstart"])
    # Given a booking SnelStart refused because the mapping names a ledger it does not have
    store.put(connection.model_copy(update={"target_settings": {"snelstart": good | {"shipping": 8999}}}))
    body = json.loads((REPO / "events" / "deliver__order_completed.json").read_text())["Records"][0]["body"]
    clean_stack.client("sqs").send_message(QueueUrl=clean_stack._outputs().target_queues["snelstart"], MessageBody=body)
    clean_stack.run_until_idle()
    # When the operator looks
    before = koppel("status", env=env)
    (state,) = json.loads(koppel("status", "--json", env=env).stdout)
    # Then the connection is red, with SnelStart's reason and the action to take
    assert "RED demo-shop" in before.stdout
    assert "koppel replay demo-shop" in " ".join(before.stdout.split())
    assert (state["colour"], state["parked"]) == ("red", 1)
    assert "8999" in state["last_error"] or "grootboek" in state["last_error"].lower()
    # And when the mapping is fixed and the record replayed (twice, to be sure)
    store.put(connection)
    replayed = koppel("replay", "demo-shop", env=env)
    again = koppel("replay", "demo-shop", env=env)
    clean_stack.run_until_idle()
    # Then it is booked once and the connection is green
    assert "replayed 1 parked" in replayed.stdout
    assert "replayed 0 parked" in again.stdout
    assert len(snelstart.bookings(demo_shop)) == 1
    (after,) = json.loads(koppel("status", "--json", env=env).stdout)
    assert (after["colour"], after["booked"], after["parked"]) == ("green", 1, 0)


def test_dead_lettered_events_are_moved_back_and_booked(clean_stack: LocalStack, demo_shop: str, snelstart) -> None:
    env = clean_stack.operator_environment() | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    outputs = clean_stack._outputs()
    body = json.loads((REPO / "events" / "deliver__order_completed.json").read_text())["Records"][0]["body"]
    # Given an event that gave up after days of retries, and something unreadable, in the DLQ
    clean_stack.client("sqs").send_message(QueueUrl=outputs.dlq_urls["snelstart"], MessageBody=body)
    clean_stack.client("sqs").send_message(QueueUrl=outputs.dlq_urls["snelstart"], MessageBody="not an event")
    (state,) = json.loads(koppel("status", "--json", env=env).stdout)
    assert (state["colour"], state["dead"]) == ("red", 1)
    # When the operator replays the dead letters
    done = koppel("replay", "demo-shop", "--dead", "--no-parked", env=env)
    clean_stack.run_until_idle()
    # Then the event is booked, and the unreadable message stays in the DLQ for a person to read
    assert "replayed 0 parked and 1 dead-lettered" in done.stdout
    assert len(snelstart.bookings(demo_shop)) == 1
    assert clean_stack.queue_depths()["snelstart DLQ"] == 1


BIZZCLOUD_INVOICE = Path(__file__).resolve().parents[1] / "fixtures" / "bizzcloud" / "preview_invoice.json"


def _bizzcloud_file(tmp_path: Path, **changes: object) -> Path:
    move = json.loads(BIZZCLOUD_INVOICE.read_text(), parse_float=Decimal)
    move.update(changes)
    path = tmp_path / "invoice.json"
    path.write_text(json.dumps(move, default=str))
    return path


def test_preview_of_a_bizzcloud_invoice_prints_the_e_boekhouden_requests(tmp_path: Path) -> None:
    # Given a posted Bizzcloud invoice (21 % and 9 % lines) as search_read returns it, records filled in
    done = koppel("preview", "--source", "bizzcloud", "--target", "eboekhouden", str(BIZZCLOUD_INVOICE))
    # Then stdout holds the look-ups, the new relation and one "invoice sent" mutation, no session call
    assert done.returncode == 0, done.stderr
    requests = json.loads(done.stdout, parse_float=Decimal)["requests"]
    assert [(r["method"], r["path"].split("?")[0]) for r in requests] == [
        ("GET", "/v1/mutation"),
        ("GET", "/v1/relation"),
        ("GET", "/v1/relation"),
        ("POST", "/v1/relation"),
        ("POST", "/v1/mutation"),
    ]
    mutation = requests[-1]["body"]
    # And the mutation is the debtors ledger against revenue per VAT code, to Odoo's net amounts
    assert (mutation["type"], mutation["ledgerId"], mutation["inExVat"]) == (2, 1300, "EX")
    assert [(r["ledgerId"], r["vatCode"], r["amount"]) for r in mutation["rows"]] == [
        (8000, "HOOG_VERK_21", Decimal("59.97")),
        (8010, "LAAG_VERK_9", Decimal("22.46")),
    ]
    assert mutation["invoiceNumber"] == "INV/2026/00001"


def test_preview_of_a_bizzcloud_credit_invoice_books_negative_amounts(tmp_path: Path) -> None:
    credit = _bizzcloud_file(tmp_path, move_type="out_refund", name="RINV/2026/00001")
    done = koppel("preview", "--source", "bizzcloud", "--target", "eboekhouden", str(credit))
    assert done.returncode == 0, done.stderr
    mutation = json.loads(done.stdout, parse_float=Decimal)["requests"][-1]["body"]
    assert [r["amount"] for r in mutation["rows"]] == [Decimal("-59.97"), Decimal("-22.46")]
    assert mutation["invoiceNumber"] == "RINV/2026/00001"


def test_preview_of_a_bizzcloud_invoice_e_boekhouden_cannot_take_says_why_on_stderr(tmp_path: Path) -> None:
    # Given an invoice of one line at 6 %, a rate e-Boekhouden does not book (59.97 + 3.60 = 63.57)
    move = json.loads(BIZZCLOUD_INVOICE.read_text(), parse_float=Decimal)
    line = move["invoice_line_ids"][0]
    line["tax_ids"][0]["amount"] = 6
    line["price_total"] = "63.57"
    move.update(invoice_line_ids=[line], amount_untaxed="59.97", amount_tax="3.60", amount_total="63.57")
    path = tmp_path / "six.json"
    path.write_text(json.dumps(move, default=str))
    done = koppel("preview", "--source", "bizzcloud", "--target", "eboekhouden", str(path))
    # Then nothing is printed and stderr names the rate and what to do
    assert done.returncode == 2
    assert done.stdout == ""
    assert "VAT rate 6 %" in done.stderr and "correct the VAT rate" in done.stderr


def test_revenue_per_product_group_is_mapped_only_to_ledgers_the_target_has(clean_stack: LocalStack) -> None:
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox

    env = dict(clean_stack._outputs().environment()) | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    with BizzcloudSandbox() as bizzcloud, EboekhoudenSandbox() as books:
        # Given a Bizzcloud → e-Boekhouden connection, connected (its chart read at once)
        bizzcloud.add_user("koppel@shop.nl", "bizzcloud-key")
        token = books.add_administration("Shop")
        added = koppel(
            "connections", "add", "spaak", "--tenant", "Spaak", "--source", "bizzcloud", "--target", "eboekhouden",
            "--setting", f"bizzcloud.url={bizzcloud.base_url}", "--setting", "bizzcloud.database=bizzcloud",
            "--setting", f"eboekhouden.api_base={books.base_url}", "--secret", "bizzcloud.login=koppel@shop.nl",
            "--secret", "bizzcloud.api_key=bizzcloud-key", "--secret", f"eboekhouden.api_token={token}", env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr

        # When a product group is mapped to a ledger e-Boekhouden does not have, then it is refused and says so
        wrong = koppel("connections", "map", "spaak", "Boeken=8999", env=env)
        assert wrong.returncode == 2
        assert "ledger 8999 is not in eboekhouden's chart of accounts" in wrong.stderr

        # When it is mapped to one it has, then the mapping lists it beside Bizzcloud's other product groups
        right = koppel("connections", "map", "spaak", "Boeken=8010", env=env)
        assert right.returncode == 0, right.stderr
        assert "Boeken" in right.stdout and "8010" in right.stdout and "Kleding" in right.stdout
        shown = json.loads(koppel("connections", "show", "spaak", env=env).stdout)
        assert shown["target_settings"]["eboekhouden"]["product_group_ledgers"] == {"Boeken": "8010"}
        # And Bizzcloud, which sends no webhooks, is polled every minute unless told otherwise
        assert shown["poll_interval_minutes"] == 1


def test_connections_reindex_schedules_a_connection_stored_before_the_scheduler_index(
    clean_stack: LocalStack, demo_shop: str
) -> None:
    from datetime import UTC, datetime

    from koppel import bootstrap
    from koppel.settings import StoreSettings

    env = dict(clean_stack._outputs().environment()) | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    store = bootstrap.connection_store(StoreSettings.load())
    # Given an active connection stored as before the scheduler's index: without its schedule item
    clean_stack.client("dynamodb").delete_item(
        TableName=clean_stack._outputs().connections_table,
        Key={"pk": {"S": "demo-shop"}, "sk": {"S": "schedule"}},
    )
    assert store.due(datetime.now(UTC)) == []
    # When the operator runs the one-off reindex
    done = koppel("connections", "reindex", env=env)
    # Then the connection is due again, and the scheduler will poll it
    assert done.returncode == 0, done.stderr
    assert "1 connection(s)" in done.stdout
    assert [d.connection_id for d in store.due(datetime.now(UTC))] == ["demo-shop"]


def test_webhooks_are_subscribed_after_the_source_is_connected_and_their_credentials_kept(
    clean_stack: LocalStack,
) -> None:
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox

    env = dict(clean_stack._outputs().environment()) | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    with PipedriveSandbox() as pipedrive:
        # Given a Pipedrive connection, connected with a user's API token
        token = pipedrive.add_api_token(_first_user(pipedrive))
        added = koppel(
            "connections", "add", "deals", "--tenant", "Koppel Demo", "--source", "pipedrive", "--target", "snelstart",
            "--setting", f"pipedrive.api_url={pipedrive.base_url}", "--secret", f"pipedrive.api_token={token}",
            env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        # When the operator subscribes its webhooks
        done = koppel("connections", "webhooks", "deals", "--webhook-base", "https://koppel.example", env=env)
        # Then Pipedrive sends deal changes to the connection's door, with credentials Koppel keeps encrypted
        assert done.returncode == 0, done.stderr
        assert "https://koppel.example/hooks/pipedrive/deals" in done.stdout
        [hook] = pipedrive.webhooks.values()
        assert hook["subscription_url"] == "https://koppel.example/hooks/pipedrive/deals"
        shown = json.loads(koppel("connections", "show", "deals", env=env).stdout)
        assert {"webhook_user", "webhook_password"} <= set(shown["secrets_stored"]["pipedrive"])
        # And a base that is no address is refused with what to give
        wrong = koppel("connections", "webhooks", "deals", "--webhook-base", "koppel.example", env=env)
        assert wrong.returncode == 2 and "https://" in wrong.stderr


def _first_user(pipedrive):  # type: ignore[no-untyped-def]
    company = pipedrive.add_company()
    return next(iter(company.users.values()))


def test_a_connection_added_before_oauth_consent_waits_for_it_in_status(clean_stack: LocalStack) -> None:
    env = clean_stack.operator_environment() | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    # Given a Pipedrive → QuickBooks connection added before either owner gave OAuth consent
    added = koppel("connections", "add", "deals", "--tenant", "Koppel Demo", "--source", "pipedrive", "--target",
                   "quickbooks", env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    # When its first poll runs (and finds no grant)
    clean_stack.tick()
    clean_stack.run_until_idle()
    # Then status shows it waiting for consent, not red, with the action to open the consent links
    shown = koppel("status", env=env)
    (state,) = json.loads(koppel("status", "--json", env=env).stdout)
    assert (state["colour"], state["connection_status"]) == ("yellow", "waiting for consent")
    assert "RED" not in shown.stdout
    assert "open the consent link" in " ".join(shown.stdout.split())
    assert "koppel connections activate deals quickbooks" in state["action"]


def test_status_of_a_firm_is_one_table_of_its_clients_integrations(clean_stack: LocalStack, demo_shop: str) -> None:
    from datetime import UTC, datetime

    from koppel import bootstrap
    from koppel.model import Connection
    from koppel.settings import StoreSettings

    env = clean_stack.operator_environment() | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url}
    store = bootstrap.connection_store(StoreSettings.load())
    # Given an accounting firm with two integrations of one client, and another business's shop (demo-shop)
    for target in ("snelstart", "quickbooks"):
        store.put(
            Connection(
                connection_id=f"jansen-{target}", tenant_id="firm-telling", name=f"Bakkerij Jansen → {target}",
                source="banqup", targets=(target,), created_at=datetime(2026, 12, 1, tzinfo=UTC),
                source_settings={"space_id": "space-jansen"},
            )
        )  # fmt: skip

    # When the firm looks at its status
    done = koppel("status", "--firm", "firm-telling", env={**env, "COLUMNS": "200"})
    nobody = koppel("status", "--firm", "firm-nobody", env=env)

    # Then it sees its two integrations in one table, green, and not the other business's shop
    assert done.returncode == 0, done.stderr
    assert "firm-telling: 2 integration(s)" in done.stdout
    assert "Bakkerij Jansen → snelstart" in done.stdout and "banqup → quickbooks" in done.stdout
    assert "demo-shop" not in done.stdout
    # And a firm without connections is told what the firm is
    assert nobody.returncode != 0 and "has no connections" in nobody.stderr


def test_history_pause_and_resume_from_the_command_line(clean_stack: LocalStack, demo_shop: str, snelstart) -> None:
    env = clean_stack.operator_environment() | {"AWS_ENDPOINT_URL": clean_stack.endpoint_url, "COLUMNS": "200"}
    # Given the recorded order booked in SnelStart
    body = json.loads((REPO / "events" / "deliver__order_completed.json").read_text())["Records"][0]["body"]
    clean_stack.client("sqs").send_message(QueueUrl=clean_stack._outputs().target_queues["snelstart"], MessageBody=body)
    clean_stack.run_until_idle()

    # When the operator reads its history, as a table and as JSON, and asks for a state that does not exist
    table = koppel("history", "demo-shop", env=env)
    (row,) = json.loads(koppel("history", "demo-shop", "--json", env=env).stdout)
    wrong = koppel("history", "demo-shop", "--state", "lost", env=env)

    # Then the booked order is there with SnelStart's number for it
    assert table.returncode == 0, table.stderr
    assert "demo-shop: the 1 newest record(s)" in table.stdout and "booked" in table.stdout
    assert (row["state"], row["document"], row["total"]) == ("POSTED", "1", "EUR 590.00") and row["target_document"]
    assert wrong.returncode != 0 and "use one of pending, booked, parked, not-bookable" in wrong.stderr

    # When it is paused and resumed
    paused = koppel("pause", "demo-shop", "--reason", "year end", env=env)
    (state,) = json.loads(koppel("status", "--json", env=env).stdout)
    resumed = koppel("resume", "demo-shop", env=env)
    (after,) = json.loads(koppel("status", "--json", env=env).stdout)

    # Then status says paused in between, and active again after
    assert paused.returncode == 0 and "demo-shop is paused (year end)" in paused.stdout
    assert state["connection_status"] == "paused"
    assert resumed.returncode == 0 and after["connection_status"] == "active"
