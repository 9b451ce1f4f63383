"""The Simply CRM connector against its vtiger webservice sandbox on loopback (devkit/sandboxes/simplycrm) and the
preview file in tests/fixtures/simplycrm: login and sessions, paging, records kept alike with a custom mapping,
invoices polled into documents that reconcile to vtiger's own total, and Paid carried back once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox
from koppel.adapters.memory import MemoryConnectionStore
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.simplycrm import CONNECTOR, SimplyCrmSource, SimplyCrmWriteBack, check_mapping, preview_events
from koppel.errors import AuthError, MappingError, PermanentError, RetryableError
from koppel.http import session_for
from koppel.model import Connection, DocumentEvent, PaymentStatus
from koppel.money import cents
from koppel.records import SyncRecord
from tests.integration.test_cli import koppel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "simplycrm"
USER, KEY = "koppel", "Kx9q2LmP0aZ7wE4r"
T0 = 1_795_168_800.0  # 2026-11-20 10:00 UTC
CONNECTION = Connection(
    connection_id="scrm-test", tenant_id="bakkerij", source="simplycrm", targets=("billy",),
    created_at=datetime(2026, 11, 1, tzinfo=UTC),
)  # fmt: skip


class Clock:
    """The CRM's clock (unix seconds), moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def at(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@pytest.fixture(scope="module")
def running() -> Iterator[SimplyCrmSandbox]:
    sandbox = SimplyCrmSandbox()
    sandbox.start()
    sandbox.add_user(USER, KEY)
    operations: list[str] = []
    inner = sandbox.handle

    def handle(request: Request) -> Response:
        operations.append(str(request.values.get("operation", "")))
        return inner(request)

    sandbox.handle = handle  # type: ignore[method-assign]
    sandbox.operations = operations  # type: ignore[attr-defined]
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def crm(running: SimplyCrmSandbox, clock: Clock) -> SimplyCrmSandbox:
    running.reset()
    running.gate.by_name(USER).access_key = KEY  # type: ignore[union-attr]
    running.clock = clock
    running.operations.clear()  # type: ignore[attr-defined]
    return running


def _operations(crm: SimplyCrmSandbox) -> list[str]:
    return list(crm.operations)  # type: ignore[attr-defined]


def _ctx(crm: SimplyCrmSandbox, store: MemoryConnectionStore, settings: dict[str, Any], key: str) -> ConnectorContext:
    return ConnectorContext(
        connection=CONNECTION, settings={"url": crm.base_url, **settings},
        secrets={"user_name": USER, "access_key": key}, session=session_for(retries=0), store=store,
    )  # fmt: skip


def _source(crm: SimplyCrmSandbox, store: MemoryConnectionStore | None = None, key: str = KEY, **settings: Any) -> Any:
    built = CONNECTOR.build_source(_ctx(crm, store or MemoryConnectionStore(), settings, key))  # type: ignore[misc]
    assert isinstance(built, SimplyCrmSource)
    return built


def _documents(source: SimplyCrmSource, clock: Clock) -> dict[str, DocumentEvent]:
    polled = source.poll(clock.at() - timedelta(hours=1), clock.at() + timedelta(seconds=1))
    return {r.record_id: e for r in polled for e in r.events if isinstance(e, DocumentEvent)}


# -- login and sessions -----------------------------------------------------------------------------------------------
def test_a_session_is_opened_once_shared_and_opened_again_once_when_it_expired(crm: SimplyCrmSandbox) -> None:
    # Given two workers of one connection sharing the connection store, and an organization in the CRM
    crm.add_account("Jansen B.V.")
    store = MemoryConnectionStore()
    first, second = _source(crm, store), _source(crm, store)

    # When both read it  Then there was one login between them
    assert [r["accountname"] for r in first.client.query("SELECT * FROM Accounts")] == ["Jansen B.V."]
    assert [r["accountname"] for r in second.client.query("SELECT * FROM Accounts")] == ["Jansen B.V."]
    assert _operations(crm).count("login") == 1

    # When the CRM forgets every session (PHP's garbage collector)  Then the next read logs in again once and works
    crm.gate.sessions.clear()
    assert len(list(first.client.query("SELECT * FROM Accounts"))) == 1
    assert _operations(crm).count("login") == 2


def test_a_wrong_access_key_is_an_auth_error_that_says_what_to_do(crm: SimplyCrmSandbox) -> None:
    # Given a connection whose stored access key is not the user's  When it reads  Then the person is told what to do
    with pytest.raises(AuthError, match=r"INVALID_USER_CREDENTIALS.*check the user name and access key.*reconnect"):
        list(_source(crm, key="not-the-key").client.query("SELECT * FROM Accounts"))


def test_an_outage_and_a_throttle_are_retried_later(crm: SimplyCrmSandbox) -> None:
    # Given a CRM whose web server answers an HTML outage page, then a throttle
    source = _source(crm)
    crm.faults.queue("error")
    with pytest.raises(RetryableError, match="503"):
        list(source.client.query("SELECT * FROM Accounts"))
    crm.faults.queue("throttle")
    with pytest.raises(RetryableError, match="429"):
        list(source.client.query("SELECT * FROM Accounts"))


# -- paging -----------------------------------------------------------------------------------------------------------
def test_query_and_sync_page_past_vtigers_100_rows(crm: SimplyCrmSandbox, clock: Clock) -> None:
    # Given 150 organizations, made a second apart
    for n in range(150):
        crm.add_account(f"Klant {n:03}")
        clock.now += 1
    source = _source(crm)

    # When they are queried and synced  Then every one is read, each once
    names = [r["accountname"] for r in source.client.query("SELECT * FROM Accounts")]
    assert sorted(names) == [f"Klant {n:03}" for n in range(150)]
    changes = source.changed_records("organization", None)
    assert len({r.ident for r in changes.records}) == 150
    assert changes.until == datetime.fromtimestamp(T0 + 149, UTC)
    assert _operations(crm).count("sync") == 2


# -- records ----------------------------------------------------------------------------------------------------------
def _custom(crm: SimplyCrmSandbox) -> dict[str, Any]:
    vat = crm.add_custom_field("Accounts", "VAT number")
    kvk = crm.add_custom_field("Accounts", "KvK")
    organization = {
        "name": "accountname", "email": "email1", "vat_number": vat, "registration_number": kvk,
        "city": "bill_city", "country_code": "bill_country",
    }  # fmt: skip
    return {"mapping": "custom", "fields": {"organization": organization}}


def test_records_round_trip_with_custom_fields_in_a_custom_mapping(crm: SimplyCrmSandbox, clock: Clock) -> None:
    # Given a custom mapping that puts the VAT and KvK numbers in custom fields
    settings = _custom(crm)
    source = _source(crm, **settings)
    assert source.record_fields("organization") == {
        "name", "email", "vat_number", "registration_number", "city", "country_code"
    }  # fmt: skip
    fields = {"name": "Bakkerij Jansen", "email": "Info@Jansen.nl", "vat_number": "NL123456789B01",
              "registration_number": "12345678", "city": "Ede", "country_code": "NL"}  # fmt: skip

    # When an organization from Billy is created  Then Simply CRM holds it in those fields, owned by Koppel's user
    created = source.create_record("organization", fields)
    held = crm.retrieve(created.ident)
    mapped = settings["fields"]["organization"]
    vat, kvk = mapped["vat_number"], mapped["registration_number"]
    assert (held["accountname"], held[vat], held[kvk], held["assigned_user_id"]) == (
        "Bakkerij Jansen", "NL123456789B01", "12345678", "19x1"
    )  # fmt: skip
    assert created.fields == {**fields, "email": "info@jansen.nl"}

    # And it is found by its VAT number, else its e-mail, else its name
    assert source.find_record("organization", created).ident == created.ident
    by_email = SyncRecord(kind="organization", ident="b1", fields={"email": "info@jansen.nl", "name": "Other"})
    assert source.find_record("organization", by_email).ident == created.ident
    by_name = SyncRecord(kind="organization", ident="b2", fields={"name": "Bakkerij Jansen"})
    assert source.find_record("organization", by_name).ident == created.ident
    quote = SyncRecord(kind="organization", ident="b3", fields={"name": "Bakker's \\ Zonen"})
    assert source.find_record("organization", quote) is None

    # When only its city changes  Then the rest is kept and the whole record comes back
    clock.now += 60
    updated = source.update_record("organization", created.ident, {"city": "Wageningen"})
    assert updated.fields == {**created.fields, "city": "Wageningen"}
    assert crm.retrieve(created.ident)[vat] == "NL123456789B01"

    # And a change and a deletion made in Simply CRM are read as changes since then
    since = clock.at()
    clock.now += 60
    other = crm.add_account("Slagerij De Vries", bill_country="Nederland")
    crm.delete_by_person(created.ident)
    changes = source.changed_records("organization", since)
    assert [(r.ident, r.value("country_code")) for r in changes.records] == [(other["id"], "NL")]
    assert changes.deleted == [created.ident]
    assert source.read_record("organization", created.ident) is None


def test_contacts_are_found_by_email_then_name_and_products_by_number(crm: SimplyCrmSandbox) -> None:
    # Given a contact and a product in the CRM
    source = _source(crm)
    contact = source.create_record("contact", {"first_name": "Piet", "last_name": "Jansen", "email": "piet@x.nl"})
    product = source.create_record("product", {"name": "Oven", "product_number": "P-9", "unit_price": "1250.5"})

    # Then Simply CRM numbered the product itself and kept the price to the cent
    assert (product.value("product_number"), product.value("unit_price")) == ("PRO1", "1250.50")
    # And each is found by its strongest key
    find = source.find_record
    assert find("contact", SyncRecord(kind="contact", ident="1", fields={"email": "PIET@x.nl"})).ident == contact.ident
    named = SyncRecord(kind="contact", ident="2", fields={"first_name": "Piet", "last_name": "Jansen"})
    assert find("contact", named).ident == contact.ident
    assert find("product", SyncRecord(kind="product", ident="3", fields={"product_number": "PRO1"})).ident == (
        product.ident
    )
    assert find("product", SyncRecord(kind="product", ident="4", fields={"name": "Magnetron"})) is None


def test_a_custom_mapping_to_a_missing_or_wrong_field_is_refused_when_saved(crm: SimplyCrmSandbox) -> None:
    # Given a mapping to a field that does not exist, an e-mail in a city field, a price in a name field, a time
    # Simply CRM sets itself, and no name for new organizations
    source = _source(crm)
    wrong = {
        "organization": {"email": "bill_city", "vat_number": "cf_999", "website": "modifiedtime"},
        "product": {"name": "productname", "unit_price": "productname"},
    }

    # When it is checked as it is saved  Then every problem is named with what to do
    problems = check_mapping(source, wrong)
    assert len(problems) == 6, problems  # modifiedtime is both of the wrong type and read-only
    assert any("Accounts has no field cf_999: add it in Simply CRM" in p for p in problems)
    assert any("email is mapped to bill_city" in p and "type email" in p for p in problems)
    assert any("modifiedtime" in p and "does not let anyone write" in p for p in problems)
    assert any("requires accountname" in p for p in problems)
    assert any("unit_price is mapped to productname" in p and "currency" in p for p in problems)
    # And a good custom mapping passes (asked of a source built after its custom fields were added)
    good = _custom(crm)["fields"]
    assert check_mapping(_source(crm), good) == []

    # And a connection saved with a wrong mapping refuses to sync with it rather than write wrong fields
    broken = _source(crm, mapping="custom", fields={"organization": {"name": "accountname", "email": "bill_city"}})
    with pytest.raises(MappingError, match="email is mapped to bill_city"):
        broken.record_fields("organization")


# -- invoices ---------------------------------------------------------------------------------------------------------
def _scene(crm: SimplyCrmSandbox) -> tuple[str, str, str]:
    account = crm.add_account("Bakkerij Jansen B.V.", email1="info@jansen.nl", bill_street="Dorpsstraat 1",
                              bill_code="6711 AB", bill_city="Ede", bill_country="Nederland")["id"]  # fmt: skip
    oven = crm.add_product("Oven", unit_price="1250.00")["id"]
    hours = crm.add_product("Installatie", unit_price="95.50")["id"]
    return account, oven, hours


INVOICES = {
    # hdnTaxType, line discounts, overall discount, shipping
    "individual, percent": ("individual", {"hdnDiscountPercent": "5", "hdnS_H_Amount": "25"}),
    "individual, amount": ("individual", {"hdnDiscountAmount": "100", "hdnS_H_Amount": "12.50"}),
    "group, percent": ("group", {"hdnDiscountPercent": "2.5", "hdnS_H_Amount": "25"}),
    "group, amount": ("group", {"hdnDiscountAmount": "33.33"}),
}


@pytest.mark.parametrize("case", INVOICES)
def test_invoices_are_polled_into_documents_that_reconcile_to_vtigers_total(
    crm: SimplyCrmSandbox, clock: Clock, case: str
) -> None:
    # Given an approved invoice with percent and amount line discounts, an overall discount and shipping
    tax_type, totals = INVOICES[case]
    account, oven, hours = _scene(crm)
    second = "9" if tax_type == "individual" else "21"
    lines = [{"productid": oven, "quantity": 2, "discount_percent": "7.5", "tax1": "21"},
             {"productid": hours, "quantity": "3.5", "discount_amount": "10", "tax1": second}]  # fmt: skip
    invoice = crm.add_invoice("Ovens", account, lines, hdnTaxType=tax_type, invoicestatus="Approved",
                              invoicedate="2026-11-20", duedate="2026-12-04", **totals)  # fmt: skip

    # When Simply CRM is polled
    [event] = _documents(_source(crm), clock).values()

    # Then the invoice books balanced to the cent at vtiger's own grand total
    document = event.payload
    booking = plan_booking(document)
    assert booking.total == document.total == cents(Decimal(invoice["hdnGrandTotal"]))
    assert booking.net_total + booking.vat_total == booking.total
    assert (document.number, str(document.issue_date), document.due_days) == ("INV1", "2026-11-20", 14)
    assert [line.sku for line in document.lines if line.kind == "goods"] == ["PRO1", "PRO2"]
    assert document.party.name == "Bakkerij Jansen B.V."
    assert document.party.billing_address.country_code == "NL"
    assert {line.kind for line in document.lines} >= {"goods", "discount"}


def test_only_final_invoices_are_booked_and_a_credit_invoice_is_a_credit_note(
    crm: SimplyCrmSandbox, clock: Clock
) -> None:
    # Given a draft, a cancelled, a sent and a credit invoice
    account, oven, _ = _scene(crm)
    line = [{"productid": oven, "quantity": 1, "tax1": "21"}]
    ids = {s: crm.add_invoice(s, account, line, invoicestatus=s)["id"] for s in ("Created", "Cancel", "Sent")}
    ids["credit"] = crm.add_invoice("Creditnota", account, line, invoicestatus="Credit Invoice")["id"]

    # When Simply CRM is polled  Then only the sent invoice and the credit invoice are booked
    events = _documents(_source(crm), clock)
    assert set(events) == {ids["Sent"], ids["credit"]}
    credit = events[ids["credit"]]
    assert (credit.kind, credit.payload.doc_type, credit.payload.total) == (
        "credit_note.created", "credit_note", Decimal("-1512.50")
    )  # fmt: skip
    assert plan_booking(credit.payload).total == Decimal("-1512.50")


def test_an_invoice_already_paid_in_the_crm_is_booked_as_paid(crm: SimplyCrmSandbox, clock: Clock) -> None:
    # Given an invoice the CRM already holds as Paid, beside an approved one
    account, oven, _ = _scene(crm)
    line = [{"productid": oven, "quantity": 1, "tax1": "21"}]
    ids = {s: crm.add_invoice(s, account, line, invoicestatus=s)["id"] for s in ("Paid", "Approved")}
    # When Simply CRM is polled  Then the paid one says so (the accounting package registers its payment)
    events = _documents(_source(crm), clock)
    assert (events[ids["Paid"]].payload.is_paid, events[ids["Approved"]].payload.is_paid) == (True, False)


def test_the_event_id_changes_only_when_what_is_booked_changes(crm: SimplyCrmSandbox, clock: Clock) -> None:
    # Given a booked invoice
    account, oven, _ = _scene(crm)
    ident = crm.add_invoice("Oven", account, [{"productid": oven, "quantity": 1, "tax1": "21"}],
                            invoicestatus="Approved")["id"]  # fmt: skip
    source = _source(crm)
    first = _documents(source, clock)[ident].event_id

    # When a note is added and it is sent  Then it keeps its id
    clock.now += 60
    crm.change_by_person(ident, {"description": "Levering week 48", "invoicestatus": "Sent"})
    assert _documents(source, clock)[ident].event_id == first

    # When its discount changes  Then it is a new revision
    clock.now += 60
    crm.change_by_person(ident, {"hdnDiscountAmount": "50"})
    assert _documents(source, clock)[ident].event_id not in (first, "")


def test_an_invoice_that_cannot_be_read_is_parked_with_what_to_correct(crm: SimplyCrmSandbox, clock: Clock) -> None:
    # Given an invoice with two taxes on one line, and one whose organization's country is no country
    account, oven, _ = _scene(crm)
    two = crm.add_invoice("Two", account, [{"productid": oven, "tax1": "21", "tax2": "9"}], hdnTaxType="individual",
                          invoicestatus="Approved")["id"]  # fmt: skip
    atlantis = crm.add_account("Atlantis B.V.", bill_country="Atlantis")["id"]
    lost = crm.add_invoice("Lost", atlantis, [{"productid": oven, "tax1": "21"}], invoicestatus="Approved")["id"]

    # When Simply CRM is polled
    window = (clock.at() - timedelta(hours=1), clock.at() + timedelta(seconds=1))
    polled = {r.record_id: r for r in _source(crm).poll(*window)}

    # Then each is a problem that says what to correct, under the event id the invoice has
    assert "more than one tax (tax1 21 %, tax2 9 %)" in polled[two].problem
    assert "the country 'Atlantis' is not one Koppel knows" in polled[lost].problem
    assert polled[lost].event_ids[0].startswith(f"simplycrm:invoice:{lost}:")


# -- write-back -------------------------------------------------------------------------------------------------------
def test_paid_in_full_sets_the_invoice_paid_once(crm: SimplyCrmSandbox, clock: Clock) -> None:
    # Given a booked invoice, and the write-back of the connection
    account, oven, _ = _scene(crm)
    ident = crm.add_invoice("Oven", account, [{"productid": oven, "tax1": "21"}], invoicestatus="Sent")["id"]
    writer = CONNECTOR.build_target(_ctx(crm, MemoryConnectionStore(), {}, KEY))  # type: ignore[misc]
    assert isinstance(writer, SimplyCrmWriteBack)

    def status(state: Any, open_: str) -> PaymentStatus:
        return PaymentStatus(document_number="INV1", source_id=ident, status=state, amount_open=Decimal(open_),
                             currency="EUR", updated_at=clock.at())  # fmt: skip

    # When a partial payment comes back  Then nothing is written (the sandbox's invoices have no payment fields)
    writer.apply_payment_status(status("partially_paid", "500.00"))
    assert crm.retrieve(ident)["invoicestatus"] == "Sent"

    # When it is paid in full  Then the invoice is Paid
    ref = writer.apply_payment_status(status("paid", "0"))
    assert (ref.id, ref.number, crm.retrieve(ident)["invoicestatus"]) == (ident, "INV1", "Paid")
    # And a repeat finds nothing to do
    revised = _operations(crm).count("revise")
    writer.apply_payment_status(status("paid", "0"))
    assert _operations(crm).count("revise") == revised == 1

    # And a credit invoice keeps its status, which is what makes it a credit note
    credit = crm.add_invoice("Credit", account, [{"productid": oven, "tax1": "21"}], invoicestatus="Credit Invoice")
    writer.apply_payment_status(status("paid", "0").model_copy(update={"source_id": credit["id"]}))
    assert crm.retrieve(credit["id"])["invoicestatus"] == "Credit Invoice"

    # And an invoice deleted in the meantime is refused with the reason
    crm.delete_by_person(ident)
    with pytest.raises(PermanentError, match="no longer exists in Simply CRM"):
        writer.apply_payment_status(status("paid", "0"))


# -- preview ----------------------------------------------------------------------------------------------------------
def test_the_preview_file_reads_as_a_balanced_invoice_at_vtigers_total() -> None:
    # Given the preview file: one invoice as retrieve answers it, with its organization and contact
    record = json.loads((FIXTURES / "invoice.preview.json").read_text(), parse_float=Decimal)

    # When it is read  Then it is one invoice of the organization that books at vtiger's grand total
    [event] = preview_events(record, CONNECTION)
    assert isinstance(event, DocumentEvent)
    booking = plan_booking(event.payload)
    assert booking.total == cents(Decimal(record["hdnGrandTotal"])) == Decimal("10471.93")
    assert event.payload.party.name == "Bakkerij Jansen B.V."
    assert [(line.kind, line.vat_rate) for line in event.payload.lines] == [
        ("goods", 21), ("goods", 21), ("goods", 9), ("discount", 21), ("discount", 9), ("shipping", 21),
    ]  # fmt: skip

    # And a draft is refused with the reason
    with pytest.raises(PermanentError, match="status Created: only invoices in Approved, Sent, Paid"):
        preview_events({**record, "invoicestatus": "Created"}, CONNECTION)


@pytest.mark.parametrize("target", ["snelstart", "eboekhouden", "quickbooks"])
def test_koppel_preview_books_the_invoice_file_into_each_target(target: str) -> None:
    # Given the preview file  When `koppel preview --source simplycrm` runs for a target
    done = koppel("preview", "--source", "simplycrm", "--target", target, str(FIXTURES / "invoice.preview.json"))

    # Then it prints the requests deliver would send, and the invoice number is among them
    assert done.returncode == 0, done.stderr
    requests = json.loads(done.stdout, parse_float=Decimal)["requests"]
    assert any(r["method"] == "POST" for r in requests)
    assert "INV1" in done.stdout
