"""Billy as a polled source: approved invoices and credit notes read from a real BillySandbox over HTTP on loopback by
the time they were approved (drafts and other windows not), each reconciling to the cent with the VAT Billy computed
per line, under an event id that never changes; paging, a parked invoice, and the preview file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.billy.sandbox import BillySandbox
from koppel import connectors
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger, MemoryPublisher
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.billy import BillySource, build_source, preview_events
from koppel.connectors.billy.document import invoice_event
from koppel.connectors.contract import PolledSource
from koppel.errors import PermanentError
from koppel.http import session_for
from koppel.model import Connection, DocumentEvent, SalesDocument
from koppel.ports import PollJob
from koppel.services.poll import PollDeps, poll_connection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.ports import PolledRecord

D = Decimal
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TOKEN = "billy-source-token"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "billy" / "preview_invoice.json"
CONNECTION = Connection(
    connection_id="crm-billy", tenant_id="t-1", source="billy", targets=("simplycrm",), created_at=T0 - timedelta(1)
)


@pytest.fixture(scope="module")
def running() -> Iterator[BillySandbox]:
    sandbox = BillySandbox(seed=7)
    sandbox.start()
    sandbox.add_organization("Koppel Source ApS", token=TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def billy(running: BillySandbox) -> BillySandbox:
    running.reset()
    running.store.clock = lambda: T0
    return running


def _source(billy: BillySandbox, **settings: Any) -> BillySource:
    ctx = ConnectorContext(
        connection=CONNECTION, settings={"base_url": f"{billy.base_url}/v2", **settings},
        secrets={"access_token": TOKEN}, session=session_for(retries=0, timeout=(1.0, 1.0)),
        store=MemoryConnectionStore(), clock=lambda: T0 + timedelta(hours=2),
    )  # fmt: skip
    return build_source(ctx)


def _at(billy: BillySandbox, moment: datetime) -> None:
    billy.store.clock = lambda: moment


def _customer(billy: BillySandbox) -> dict[str, Any]:
    return billy.add_contact(
        "Jensen ApS", "DK", persons=[("Ole Jensen", "ole@jensen.dk")], registrationNo="dk 1234 5678",
        street="Vestergade 1", zipcodeText="1456", cityText="København K", contactNo="K100",
    )  # fmt: skip


def _cape(billy: BillySandbox) -> dict[str, Any]:
    return billy.add_product("Bat cape", {"DKK": "199.95"}, productNo="CAPE-1")


def _invoice(billy: BillySandbox, contact: str, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return billy.add_invoice(contact, lines, entry_date="2026-11-24", paymentTermsDays=14, **fields)


def _poll(source: BillySource, since: datetime = T0 - timedelta(hours=1), until: datetime = T0 + timedelta(hours=1)
          ) -> list[PolledRecord]:  # fmt: skip
    return list(source.poll(since, until))


def _document(record: PolledRecord) -> SalesDocument:
    (event,) = record.events
    assert isinstance(event, DocumentEvent)
    return event.payload


def _reconciles(doc: SalesDocument, invoice: dict[str, Any], sign: int = 1) -> None:
    """The booking's net, VAT and total are the ones Billy computed, to the cent."""
    booking = plan_booking(doc)
    assert (booking.net_total, booking.vat_total, booking.total) == (
        sign * D(str(invoice["amount"])), sign * D(str(invoice["tax"])), sign * D(str(invoice["grossAmount"]))
    )  # fmt: skip


def test_the_source_polls_as_the_descriptor_says() -> None:
    # Given Billy's descriptor  Then it is a polled and previewable source on the CRM's schedule
    billy = connectors.load("billy")
    assert billy.can("polled_source") and billy.can("preview_source") and billy.can("target")
    assert billy.poll_interval_minutes == 180
    assert billy.build_source is build_source and billy.preview_events is preview_events


def test_approved_invoices_and_credit_notes_of_the_window_are_read_and_drafts_and_others_not(
    billy: BillySandbox,
) -> None:
    # Given an invoice approved before the window, a draft, one approved at its start, a credit note in it, and one
    # approved at its very end
    contact, cape = _customer(billy)["id"], _cape(billy)["id"]
    line = [{"productId": cape, "unitPrice": D("100"), "quantity": 1}]
    _at(billy, T0 - timedelta(hours=2))
    _invoice(billy, contact, line, approve=True, invoiceNo="B-1")
    _invoice(billy, contact, line, invoiceNo="B-DRAFT")
    _at(billy, T0 - timedelta(hours=1))
    first = _invoice(billy, contact, line, approve=True, invoiceNo="B-2")
    _at(billy, T0)
    credit = _invoice(billy, contact, line, approve=True, invoiceNo="C-1", type="creditNote",
                      creditedInvoiceId=first["id"])  # fmt: skip
    _at(billy, T0 + timedelta(hours=1))
    _invoice(billy, contact, line, approve=True, invoiceNo="B-3")

    # When the window [T0 - 1h, T0 + 1h) is polled
    records = _poll(_source(billy))

    # Then the invoice and the credit note in it are read, oldest first, when they were approved
    assert [(r.record_id, r.changed_at) for r in records] == [
        (first["id"], T0 - timedelta(hours=1)), (credit["id"], T0)
    ]  # fmt: skip
    invoice, note = (_document(r) for r in records)
    assert (invoice.doc_type, invoice.number, invoice.total) == ("invoice", "B-2", D("125.00"))
    # And the credit note is negative, names the invoice it credits, and books Billy's amounts
    assert (note.doc_type, note.number, note.total, note.reference) == ("credit_note", "C-1", D("-125.00"), "B-2")
    assert records[1].events[0].kind == "credit_note.created"
    _reconciles(note, billy.record("invoices", credit["id"]), sign=-1)


def test_a_discounted_invoice_reads_billys_lines_contact_and_totals_to_the_cent(billy: BillySandbox) -> None:
    # Given an approved invoice excl. VAT: 3 capes less 10 %, a service with a cash discount, a line without VAT
    contact, cape = _customer(billy), _cape(billy)["id"]
    service = billy.add_product("Montering", {"DKK": "450.00"}, productNo="SVC-MONT")["id"]
    exempt = billy.find("salesTaxRulesets", name="Momsfri")["id"]
    fee = billy.add_product("Gebyr", {"DKK": "25"}, salesTaxRulesetId=exempt)["id"]
    invoice = _invoice(billy, contact["id"], [
        {"productId": cape, "unitPrice": D("199.95"), "quantity": 3, "description": "Bat cape, sort",
         "discountMode": "percent", "discountValue": 10},
        {"productId": service, "unitPrice": D("450"), "quantity": D("1.5"), "discountMode": "cash",
         "discountValue": D("25.50")},
        {"productId": fee, "unitPrice": D("25"), "quantity": 1},
    ], approve=True, invoiceNo="2026-7", contactMessage="Tak for handlen")  # fmt: skip

    # When it is polled
    (record,) = _poll(_source(billy))
    doc = _document(record)

    # Then the document is Billy's: number, dates, currency, basis, contact and lines with their rates and SKUs
    assert record.events[0].event_id == f"billy:invoice:{invoice['id']}:approved"
    assert (doc.number, doc.issue_date.isoformat(), doc.due_days, doc.currency) == ("2026-7", "2026-11-24", 14, "DKK")
    assert (doc.prices_include_vat, doc.vat_rounded_per_line, doc.is_paid) == (False, True, False)
    assert doc.party.model_dump(include={"source_id", "name", "email", "is_business", "vat_number", "code"}) == {
        "source_id": contact["id"], "name": "Jensen ApS", "email": "ole@jensen.dk", "is_business": True,
        "vat_number": "DK12345678", "code": "K100",
    }  # fmt: skip
    assert (doc.party.billing_address.city, doc.party.billing_address.country_code) == ("København K", "DK")
    read = [(line.sku, line.quantity, line.unit_price, line.discount, line.amount, line.vat_rate) for line in doc.lines]
    assert read == [
        ("CAPE-1", D(3), D("199.95"), D("19.995"), D("539.87"), D(25)),
        ("SVC-MONT", D("1.5"), D(450), D(17), D("649.50"), D(25)),
        ("", D(1), D(25), D(0), D("25.00"), D(0)),
    ]  # fmt: skip
    assert doc.lines[0].description == "Bat cape, sort"
    # And it books Billy's own totals to the cent
    _reconciles(doc, billy.record("invoices", invoice["id"]))


@pytest.mark.parametrize(("mode", "price"), [("excl", "0.05"), ("incl", "9.99")])
def test_billys_vat_rounded_per_line_is_booked_where_the_rates_total_would_round_otherwise(
    billy: BillySandbox, mode: str, price: str
) -> None:
    # Given three lines whose VAT rounded per line differs by a cent from the VAT on their total
    contact, cape = _customer(billy)["id"], _cape(billy)["id"]
    line = {"productId": cape, "unitPrice": D(price), "quantity": 1}
    invoice = _invoice(billy, contact, [line, line, line], approve=True, taxMode=mode)

    # When it is polled  Then the booking follows Billy's VAT, and still adds up to Billy's total
    doc = _document(_poll(_source(billy))[0])
    assert doc.prices_include_vat is (mode == "incl")
    _reconciles(doc, billy.record("invoices", invoice["id"]))


def test_a_paid_invoice_says_so(billy: BillySandbox) -> None:
    # Given an approved invoice the customer paid in full
    contact, cape = _customer(billy)["id"], _cape(billy)["id"]
    invoice = _invoice(billy, contact, [{"productId": cape, "unitPrice": D("80"), "quantity": 1}], approve=True)
    billy.register_payment(invoice["id"])
    # When it is polled  Then the document is marked paid, so a target can show it paid
    assert _document(_poll(_source(billy))[0]).is_paid is True


def test_the_event_id_is_the_same_in_every_poll_that_reads_the_invoice(billy: BillySandbox) -> None:
    # Given an approved invoice
    contact, cape = _customer(billy)["id"], _cape(billy)["id"]
    invoice = _invoice(billy, contact, [{"productId": cape, "unitPrice": D("80"), "quantity": 1}], approve=True)
    source = _source(billy)
    # When overlapping polls read it, and again after its message to the customer was changed
    first = _poll(source)
    second = _poll(source, T0 - timedelta(minutes=10), T0 + timedelta(minutes=5))
    billy.change_by_person("invoices", invoice["id"], contactMessage="Husk betalingsfristen")
    third = _poll(source)
    # Then each read gives the one event id
    ids = {r.events[0].event_id for r in first + second + third}
    assert ids == {f"billy:invoice:{invoice['id']}:approved"}


def test_a_window_of_more_invoices_than_a_page_is_read_page_by_page(billy: BillySandbox) -> None:
    # Given five approved invoices, a second apart, and a page size of two
    contact, cape = _customer(billy)["id"], _cape(billy)["id"]
    for i in range(5):
        _at(billy, T0 + timedelta(seconds=i))
        _invoice(billy, contact, [{"productId": cape, "unitPrice": D(10 + i), "quantity": 1}], approve=True)
    billy.received.clear()

    # When the window is polled
    records = _poll(_source(billy, page_size=2))

    # Then all five are read, oldest first, over three pages filtered by state and approval time
    assert [r.changed_at for r in records] == [T0 + timedelta(seconds=i) for i in range(5)]
    listings = [path for method, path in billy.received if path.startswith("/v2/invoices")]
    assert len(listings) == 3
    assert all("state=approved" in path and "minApprovedTime=2026-11-24+08%3A00%3A00" in path for path in listings)


def test_an_invoice_that_cannot_be_read_is_parked_with_the_reason_and_booked_once_corrected(
    billy: BillySandbox,
) -> None:
    # Given an approved invoice whose contact has a country Koppel cannot read
    with billy.lock:
        billy.organization().table("countries")["ATL"] = {"id": "ATL", "name": "Atlantis", "hasStates": False}
    contact = billy.add_contact("Poseidon A/S", "ATL")["id"]
    cape = _cape(billy)["id"]
    invoice = _invoice(billy, contact, [{"productId": cape, "unitPrice": D("80"), "quantity": 1}], approve=True)
    store, ledger = MemoryConnectionStore(), MemoryLedger()
    store.put(CONNECTION)
    now = T0 + timedelta(minutes=5)

    def poll() -> MemoryPublisher:
        publisher = MemoryPublisher()
        deps = PollDeps(connections=store, publisher=publisher, source_for=lambda _: _source(billy), ledger=ledger,
                        clock=lambda: now)  # fmt: skip
        poll_connection(PollJob(connection_id=CONNECTION.connection_id, since=T0 - timedelta(hours=1), until=now,
                                is_backfill=True), deps)  # fmt: skip
        return publisher

    # When the source is polled
    poll()

    # Then it is parked under the id it will always have, saying what to correct
    [parked] = ledger.entries(CONNECTION.connection_id, "PARKED")
    assert (parked.event_id, parked.document_number) == (f"billy:invoice:{invoice['id']}:approved", invoice["id"])
    assert "country 'ATL', not a two-letter ISO code" in parked.reason
    # And once the contact is corrected in Billy, the next poll enqueues it under that id
    billy.change_by_person("contacts", contact, countryId="DK")
    assert [e.event_id for e in poll().sent["simplycrm"]] == [parked.event_id]


def test_the_preview_file_reads_as_the_document_billy_computed() -> None:
    # Given the preview file: an approved 25 % DKK invoice as GET /v2/invoices/:id with its embeds
    record = json.loads(FIXTURE.read_text(encoding="utf-8"), parse_float=Decimal)
    # When it is previewed
    (event,) = preview_events(record, CONNECTION)
    # Then it is Billy's invoice, a discounted line included, reconciling to the cent
    assert isinstance(event, DocumentEvent)
    doc, invoice = event.payload, record["invoice"]
    assert (doc.number, doc.party.email, [line.sku for line in doc.lines]) == ("2026-1042", "ole@jensen.dk",
                                                                              ["CAPE-1", "SVC-MONT"])  # fmt: skip
    assert doc.lines[0].discount > 0
    _reconciles(doc, invoice)
    # And the invoice object alone (without the "invoice" wrapper) reads the same
    assert preview_events(invoice, CONNECTION) == [event]


def test_the_built_source_is_a_polled_source(billy: BillySandbox) -> None:
    assert isinstance(_source(billy), PolledSource)


def test_a_line_whose_tax_rate_was_not_embedded_is_read_against_the_organizations_rates(billy: BillySandbox) -> None:
    # Given the preview file with its first line's tax rate left out, and the organization's tax rates as polled
    record = json.loads(FIXTURE.read_text(encoding="utf-8"), parse_float=Decimal)["invoice"]
    del record["lines"][0]["taxRate"]
    rates = _source(billy)._rates()
    assert rates[billy.find("taxRates", abbreviation="S25")["id"]] == D(25)
    # When it is read without them  Then the line's rate is unknown, and the invoice is refused saying so
    with pytest.raises(PermanentError, match=r"line 1 has tax rate \S+, which is not one of the organization's"):
        preview_events(record, CONNECTION)
    # And with a rates table that holds it, it reads as before
    rate_id = record["lines"][0]["taxRateId"]
    (event,) = [invoice_event(record, {rate_id: D(25)}, CONNECTION)]
    assert isinstance(event, DocumentEvent)
    assert event.payload.lines[0].vat_rate == D(25)
