"""Bizzcloud source against a real BizzcloudSandbox (Odoo 17's external API over JSON-RPC and XML-RPC): invoices,
credit invoices and till orders normalized into Koppel's model, poll windows and paging, errors, and the preview
file. Each test arranges its records with the sandbox's python helpers and reads them through the connector."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.bizzcloud import BizzcloudSource, build_source, preview_events
from koppel.errors import AuthError, InputError, PermanentError, RetryableError
from koppel.http import session_for
from koppel.model import DocumentEvent, PartyEvent, SalesDocument
from tests.connectors.bizzcloud_builders import connection, preview_move

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.ports import PolledRecord

D = Decimal
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bizzcloud"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HIGH, LOW, HIGH_INCL = "Sales/turnover high", "Sales/turnover low 9%", "Sales/turnover high (incl. VAT)"
ZERO, EU, NON_EU = "Sales/turnover untaxed (zero rate)", "Export sales within EU (products)", "Export sales outside EU"
NL, DE, US = 1, 3, 6  # res.country ids in the sandbox's reference data
MIXED_LINES = [
    {"product_id": 1, "quantity": 3, "price_unit": "19.99", "tax_names": [HIGH]},
    {"product_id": 2, "quantity": 1, "price_unit": "24.95", "discount": 10, "tax_names": [LOW]},
    {"product_id": 3, "quantity": 2, "price_unit": "95.00", "discount": 15, "tax_names": [HIGH]},
    {"product_id": 1, "quantity": 1, "price_unit": "24.19", "tax_names": [HIGH_INCL]},
]


class Clock:
    """The sandbox's clock: write_date and invoice dates follow it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="module")
def sandbox() -> Iterator[BizzcloudSandbox]:
    server = BizzcloudSandbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tenant(sandbox: BizzcloudSandbox, clock: Clock) -> BizzcloudSandbox:
    sandbox.set_clock(clock)
    sandbox.reset()
    sandbox.add_user("koppel@shop.nl", "tenant-key")
    return sandbox


def _source(tenant: BizzcloudSandbox, api_key: str = "tenant-key", **settings: Any) -> BizzcloudSource:
    conn = connection(url=tenant.base_url, database="bizzcloud", **settings)
    ctx = ConnectorContext(
        connection=conn,
        settings=conn.source_settings,
        secrets={"login": "koppel@shop.nl", "api_key": api_key},
        session=session_for(retries=0, timeout=(3, 10)),
    )
    return build_source(ctx)


def _poll(source: BizzcloudSource, since: datetime = T0 - timedelta(hours=1), hours: float = 2) -> list[PolledRecord]:
    return list(source.poll(since, since + timedelta(hours=hours)))


def _documents(records: list[PolledRecord]) -> list[DocumentEvent]:
    return [e for r in records for e in r.events if isinstance(e, DocumentEvent)]


def _jansen(tenant: BizzcloudSandbox, **fields: Any) -> int:
    values: dict[str, Any] = {
        "name": "Bakkerij Jansen",
        "email": "info@jansen.nl",
        "street": "Dorpsstraat 1",
        "zip": "1234 AB",
    }
    values |= {"city": "Utrecht", "country_id": NL, "is_company": True, "vat": "NL123456789B01", "ref": "D1001"}
    return tenant.add_partner(**values | fields)


def _one_document(tenant: BizzcloudSandbox, **settings: Any) -> SalesDocument:
    [event] = _documents(_poll(_source(tenant, **settings)))
    return event.payload


# -- invoices -------------------------------------------------------------------------------------------------------
def test_a_mixed_invoice_keeps_bizzclouds_totals_and_books_balanced_to_the_cent(tenant: BizzcloudSandbox) -> None:
    # Given a posted invoice at 21 % and 9 %, with discounts and a price-included line
    move_id = tenant.create_invoice(_jansen(tenant), MIXED_LINES, invoice_date="2026-11-20")
    [move] = [m for m in tenant.records("account.move") if m["id"] == move_id]
    # When it is polled
    doc = _one_document(tenant)
    # Then its totals are Odoo's, and its booking balances to them
    assert (doc.total, doc.total_vat) == (move["amount_total"], move["amount_tax"]) == (D("316.65"), D("52.73"))
    booking = plan_booking(doc)
    assert booking.total == doc.total
    assert booking.net_total == move["amount_untaxed"]
    assert sum((t.vat for t in booking.vat_totals), D(0)) == doc.total_vat
    assert {(t.rate, t.vat) for t in booking.vat_totals} == {(D(21), D("50.71")), (D(9), D("2.02"))}


def test_an_invoice_normalizes_to_the_reviewed_golden_event(tenant: BizzcloudSandbox) -> None:
    tenant.create_invoice(_jansen(tenant), MIXED_LINES, invoice_date="2026-11-20")
    [event] = _documents(_poll(_source(tenant)))
    golden = json.loads((FIXTURES / "invoice_event.json").read_text())
    assert json.loads(event.model_dump_json()) == golden


def test_a_credit_invoice_is_a_credit_note_with_negative_amounts(tenant: BizzcloudSandbox) -> None:
    invoice = tenant.create_invoice(_jansen(tenant), MIXED_LINES[:2], invoice_date="2026-11-20")
    tenant.reverse(invoice)
    events = {e.payload.source_id: e for e in _documents(_poll(_source(tenant)))}
    credit = events[str(invoice + 1)]
    assert (credit.kind, credit.payload.doc_type) == ("credit_note.created", "credit_note")
    assert (credit.payload.total, credit.payload.total_vat) == (D("-97.04"), D("-14.61"))
    assert [line.amount for line in credit.payload.lines] == [D("-59.97"), D("-22.46")]
    assert plan_booking(credit.payload).total == D("-97.04")
    assert events[str(invoice)].payload.total == D("97.04")


def test_a_draft_and_a_cancelled_invoice_are_skipped_with_their_reason(tenant: BizzcloudSandbox) -> None:
    partner = _jansen(tenant)
    draft = tenant.create_invoice(partner, MIXED_LINES[:1], post=False)
    cancelled = tenant.create_invoice(partner, MIXED_LINES[:1], invoice_date="2026-11-20")
    tenant.cancel(cancelled)
    skipped = {r.record_id: r.skipped_reason for r in _poll(_source(tenant, sync_customers=False))}
    assert skipped == {
        f"account.move:{draft}": "state 'draft': only posted invoices are booked",
        f"account.move:{cancelled}": "state 'cancel': only posted invoices are booked",
    }


# -- till orders ----------------------------------------------------------------------------------------------------
def test_a_walk_in_till_sale_paid_cash_with_change_and_pin_nets_the_change(tenant: BizzcloudSandbox) -> None:
    # Given 2 x 24.19 incl. 21 % and a book at 24.95 incl. 9 % (75.58), paid 60.00 cash and 20.00 by PIN
    lines = [
        {"product_id": 1, "qty": 2, "price_unit": "24.19", "tax_names": [HIGH_INCL]},
        {"product_id": 2, "qty": 1, "price_unit": "24.95"},
    ]
    tenant.create_pos_order(lines, [("Cash", "60.00"), ("PIN", "20.00")])
    [event] = _documents(_poll(_source(tenant)))
    doc = event.payload
    # Then it is a completed order paid on the spot, the 4.42 change taken off the cash
    assert (event.kind, doc.total, doc.prices_include_vat, doc.is_paid) == ("order.completed", D("75.58"), True, True)
    assert [(p.method, p.amount, p.description) for p in doc.payments] == [
        ("cash", D("55.58"), "Cash"),
        ("card", D("20.00"), "PIN"),
    ]
    assert sum((p.amount for p in doc.payments), D(0)) == doc.total
    # And without a customer it books on the walk-in relation
    assert (doc.party.code, doc.party.name) == ("KASSA", "Kassaverkoop")
    assert plan_booking(doc).total == D("75.58")


def test_an_invoiced_till_order_is_booked_through_its_invoice_with_the_till_payments(tenant: BizzcloudSandbox) -> None:
    partner = _jansen(tenant)
    lines = [{"product_id": 1, "qty": 1, "price_unit": "24.19", "tax_names": [HIGH_INCL]}]
    order = tenant.create_pos_order(lines, [("Cash", "10.00"), ("PIN", "14.19")], partner_id=partner, invoice=True)
    records = _poll(_source(tenant, sync_customers=False))
    assert [r.skipped_reason for r in records if r.record_id == f"pos.order:{order}"] == [
        "invoiced: booked through its invoice"
    ]
    [event] = _documents(records)
    assert (event.kind, event.payload.total, event.payload.party.code) == ("invoice.created", D("24.19"), "D1001")
    assert [(p.method, p.amount) for p in event.payload.payments] == [("cash", D("10.00")), ("card", D("14.19"))]


def test_a_till_order_changed_again_when_its_session_closes_keeps_its_event_id(
    tenant: BizzcloudSandbox, clock: Clock
) -> None:
    # Given a paid till order that was read once
    order = tenant.create_pos_order([{"product_id": 2, "qty": 1}], [("PIN", "27.20")])
    source = _source(tenant)
    [first] = _documents(_poll(source))
    # When the session is closed later (the order becomes "done", its write_date moves)
    clock.advance(hours=2)
    tenant.close_session()
    [second] = _documents(_poll(source, since=T0 + timedelta(hours=1)))
    # Then it is read again as the same event, so delivery books it once
    assert tenant.records("pos.order", ["state"])[0]["state"] == "done"
    assert first.event_id == second.event_id == f"bizzcloud:pos.order:{order}:paid"
    assert first.payload == second.payload


# -- VAT treatment of 0 % lines -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tax", "country", "vat", "treatment"),
    [
        (EU, DE, "DE123456789", "intra_eu"),
        (NON_EU, US, "", "export"),
        (ZERO, NL, "", "domestic"),
        (ZERO, DE, "DE123456789", "intra_eu"),
    ],
    ids=["eu-tax", "export-tax", "domestic-zero", "german-business-plain-zero"],
)
def test_a_zero_percent_sale_gets_its_vat_treatment(
    tenant: BizzcloudSandbox, tax: str, country: int, vat: str, treatment: str
) -> None:
    partner = _jansen(tenant, country_id=country, vat=vat or False, name="Kunde", ref="K1")
    tenant.create_invoice(partner, [{"product_id": 3, "quantity": 1, "price_unit": "95.00", "tax_names": [tax]}])
    doc = _one_document(tenant, sync_customers=False)
    assert (doc.vat_treatment, doc.total, doc.lines[0].vat_rate) == (treatment, D("95.00"), D(0))


# -- polling --------------------------------------------------------------------------------------------------------
def test_records_changed_outside_the_window_are_not_read(tenant: BizzcloudSandbox, clock: Clock) -> None:
    partner = _jansen(tenant)
    before = tenant.create_invoice(partner, MIXED_LINES[:1], invoice_date="2026-11-20")
    clock.advance(hours=1)
    inside = tenant.create_invoice(partner, MIXED_LINES[:1], invoice_date="2026-11-20")
    clock.advance(hours=1, seconds=1)
    after = tenant.create_invoice(partner, MIXED_LINES[:1], invoice_date="2026-11-20")
    since = T0 + timedelta(minutes=30)
    # The window ends at until's second (Odoo keeps write_date to the second): the one after it is not read
    records = _poll(_source(tenant, sync_customers=False), since=since, hours=1.5)
    assert [r.record_id for r in records] == [f"account.move:{inside}"]
    assert before < inside < after


def test_pages_of_two_yield_all_five_invoices_oldest_change_first(tenant: BizzcloudSandbox, clock: Clock) -> None:
    partner = _jansen(tenant)
    moves = [tenant.create_invoice(partner, MIXED_LINES[:1], invoice_date="2026-11-20") for _ in range(5)]
    for move in reversed(moves):  # changed again newest first: write_date order is the reverse of the ids
        clock.advance(minutes=1)
        tenant.touch("account.move", move)
    records = _poll(_source(tenant, page_size=2, sync_customers=False))
    assert [r.record_id for r in records] == [f"account.move:{m}" for m in reversed(moves)]
    assert [r.changed_at for r in records] == sorted(r.changed_at for r in records)
    assert all(r.events for r in records)


def test_each_change_of_a_customer_is_a_new_party_event(tenant: BizzcloudSandbox, clock: Clock) -> None:
    partner = _jansen(tenant)
    source = _source(tenant)
    [first] = [e for r in _poll(source) for e in r.events]
    clock.advance(hours=2)
    tenant.books.write("res.partner", [partner], {"city": "Zeist"})
    [second] = [e for r in _poll(source, since=T0 + timedelta(hours=1)) for e in r.events]
    assert isinstance(first, PartyEvent) and isinstance(second, PartyEvent)
    assert (first.kind, second.kind) == ("party.updated", "party.updated")
    assert first.event_id != second.event_id
    assert (first.payload.billing_address.city, second.payload.billing_address.city) == ("Utrecht", "Zeist")


def _floats(value: Any, path: str = "") -> list[str]:
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _floats(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _floats(v, f"{path}[{i}]")]
    return []


def test_json_rpc_and_xml_rpc_give_identical_events_without_floats(tenant: BizzcloudSandbox) -> None:
    partner = _jansen(tenant)
    tenant.create_invoice(partner, MIXED_LINES, invoice_date="2026-11-20")
    till = [{"product_id": 1, "qty": 2, "price_unit": "24.19", "tax_names": [HIGH_INCL]}]
    tenant.create_pos_order(till, [("Cash", "50.00")])
    over_json = [e.model_dump() for r in _poll(_source(tenant, transport="jsonrpc")) for e in r.events]
    over_xml = [e.model_dump() for r in _poll(_source(tenant, transport="xmlrpc")) for e in r.events]
    assert len(over_json) == 3
    assert over_json == over_xml
    assert _floats(over_json) == [] and _floats(over_xml) == []
    totals = [e["payload"].get("total") for e in over_xml if "total" in e["payload"]]
    assert totals == [D("316.65"), D("48.38")] and all(isinstance(t, Decimal) for t in totals)


# -- errors ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["jsonrpc", "xmlrpc"])
def test_a_key_revoked_after_authentication_is_an_auth_error_saying_reconnect(
    tenant: BizzcloudSandbox, transport: str
) -> None:
    source = _source(tenant, transport=transport)
    _poll(source)  # authenticated once: the uid is kept
    tenant.revoke_api_key("tenant-key")
    with pytest.raises(AuthError, match="reconnect"):
        _poll(source)


@pytest.mark.parametrize("transport", ["jsonrpc", "xmlrpc"])
def test_a_revoked_api_key_refused_at_login_is_an_auth_error_saying_reconnect(
    tenant: BizzcloudSandbox, transport: str
) -> None:
    tenant.revoke_api_key("tenant-key")
    with pytest.raises(AuthError, match="reconnect"):
        _poll(_source(tenant, transport=transport))


@pytest.mark.parametrize(("fault", "status"), [("throttle", "429"), ("error", "503")])
def test_a_throttle_or_an_outage_is_retryable(tenant: BizzcloudSandbox, fault: str, status: str) -> None:
    source = _source(tenant)
    _poll(source)
    tenant.faults.retry_after = 5
    tenant.faults.queue(fault, 1)
    with pytest.raises(RetryableError, match=status) as raised:
        _poll(source)
    assert raised.value.retry_after == (5 if fault == "throttle" else None)


@pytest.mark.parametrize("transport", ["jsonrpc", "xmlrpc"])
def test_an_unknown_field_is_a_permanent_error_with_odoos_message(tenant: BizzcloudSandbox, transport: str) -> None:
    source = _source(tenant, transport=transport)
    with pytest.raises(PermanentError, match=r"Invalid field 'x_colour' on model 'account\.move'"):
        source.odoo.search_read("account.move", [], ["name", "x_colour"])


# -- the preview file -----------------------------------------------------------------------------------------------
def test_a_preview_file_gives_the_invoice_event() -> None:
    [event] = preview_events(preview_move(), connection())
    assert isinstance(event, DocumentEvent)
    doc = event.payload
    assert (event.kind, doc.number, doc.total, doc.total_vat, doc.due_days) == (
        "invoice.created",
        "INV/2026/00001",
        D("97.04"),
        D("14.61"),
        14,
    )
    assert (doc.party.code, doc.party.billing_address.country_code) == ("D1001", "NL")
    assert [(line.amount, line.vat_rate) for line in doc.lines] == [(D("59.97"), D(21)), (D("22.46"), D(9))]
    assert plan_booking(doc).total == D("97.04")


def test_a_preview_file_with_line_ids_instead_of_lines_is_refused() -> None:
    with pytest.raises(InputError, match="not their ids"):
        preview_events(preview_move(invoice_line_ids=[1, 2]), connection())


def test_a_draft_in_a_preview_file_gives_nothing_to_book() -> None:
    assert preview_events(preview_move(state="draft"), connection()) == []


def test_an_invoice_koppel_cannot_read_is_a_problem_under_the_id_its_event_will_have(tenant: BizzcloudSandbox) -> None:
    # Given a posted invoice with a line that carries two taxes (Koppel books one VAT rate per line)
    partner = _jansen(tenant)
    move = tenant.create_invoice(
        partner, [{"product_id": 1, "quantity": 1, "price_unit": "10.00", "tax_names": [HIGH, LOW]}], "2026-11-20"
    )

    # When it is polled
    [record] = [r for r in _poll(_source(tenant, sync_customers=False)) if r.record_id == f"account.move:{move}"]

    # Then it carries no event but a problem that names the cause and what to do, under the event id it will have
    assert record.events == ()
    assert "several taxes" in record.problem and "one sales tax" in record.problem
    assert record.event_ids == (f"bizzcloud:account.move:{move}:posted",)


# -- payment status written back ----------------------------------------------------------------------------------
def _write_back(tenant: BizzcloudSandbox, transport: str = "jsonrpc") -> Any:
    from koppel.connectors.bizzcloud import build_target

    conn = connection(url=tenant.base_url, database="bizzcloud", transport=transport)
    ctx = ConnectorContext(
        connection=conn,
        settings=conn.source_settings,
        secrets={"login": "koppel@shop.nl", "api_key": "tenant-key"},
        session=session_for(retries=0, timeout=(3, 10)),
    )
    return build_target(ctx)


def _status(move: dict[str, Any], state: str, open_amount: str) -> Any:
    from koppel.model import PaymentStatus

    return PaymentStatus(
        document_number=move["name"], source_id=str(move["id"]), status=state, amount_open=Decimal(open_amount),
        currency="EUR", updated_at=T0,
    )  # fmt: skip


def _move(tenant: BizzcloudSandbox, move_id: int) -> dict[str, Any]:
    return next(m for m in tenant.records("account.move") if m["id"] == move_id)


@pytest.mark.parametrize("transport", ["jsonrpc", "xmlrpc"])
def test_a_part_payment_then_the_rest_are_registered_on_the_invoice_once_each(
    tenant: BizzcloudSandbox, transport: str
) -> None:
    # Given a posted invoice of 97.04 open in Bizzcloud
    move_id = tenant.create_invoice(_jansen(tenant), MIXED_LINES[:2], invoice_date="2026-11-20")
    move = _move(tenant, move_id)
    total = Decimal(str(move["amount_total"]))
    target = _write_back(tenant, transport)

    # When the accounting package shows 40.00 still open, then Bizzcloud registers the rest as paid: partial
    target.apply_payment_status(_status(move, "partially_paid", "40.00"))
    assert Decimal(str(_move(tenant, move_id)["amount_residual"])) == Decimal("40.00")
    assert _move(tenant, move_id)["payment_state"] == "partial"

    # When the same status arrives again, then nothing more is registered
    target.apply_payment_status(_status(move, "partially_paid", "40.00"))
    payments = tenant.records("account.payment")
    assert [Decimal(str(p["amount"])) for p in payments] == [total - Decimal("40.00")]

    # When it is paid in full there, then the invoice is paid in Bizzcloud
    target.apply_payment_status(_status(move, "paid", "0"))
    assert _move(tenant, move_id)["payment_state"] == "paid"


def test_a_payment_undone_in_the_books_is_parked_for_a_person_not_reversed(tenant: BizzcloudSandbox) -> None:
    move_id = tenant.create_invoice(_jansen(tenant), MIXED_LINES[:1], invoice_date="2026-11-20")
    tenant.register_payment(move_id, _move(tenant, move_id)["amount_total"])
    move = _move(tenant, move_id)
    # When the accounting package shows the invoice open again, then Koppel refuses to guess and says what to do
    with pytest.raises(PermanentError, match="a payment was undone there; correct the payment in Bizzcloud by hand"):
        _write_back(tenant).apply_payment_status(_status(move, "open", str(move["amount_total"])))
