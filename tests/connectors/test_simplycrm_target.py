"""Simply CRM as a booking target against its vtiger webservice sandbox on loopback (devkit/sandboxes/simplycrm):
Billy-like documents (25 % DKK, a discounted line, a credit note) delivered through the real deliver service, written
as invoices that reconcile with the booking to the cent, found again by their number instead of written twice."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest

from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext, load
from koppel.connectors.contract import BookingTarget, PaymentStatusWriter
from koppel.connectors.simplycrm import CONNECTOR, SimplyCrmSettings, SimplyCrmTarget
from koppel.connectors.simplycrm.mapping import invoice_event
from koppel.connectors.simplycrm.preview import preview_totals
from koppel.errors import RetryableError
from koppel.http import session_for
from koppel.model import Address, Connection, DocumentEvent, Line, Party, PaymentStatus, SalesDocument
from koppel.services.deliver import DeliverDeps, deliver, party_key

if TYPE_CHECKING:
    from collections.abc import Iterator

    from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
USER, KEY = "koppel", "Kx9q2LmP0aZ7wE4r"
CONNECTION = Connection(
    connection_id="billy-scrm", tenant_id="bageri", source="billy", targets=("simplycrm",),
    created_at=datetime(2026, 11, 1, tzinfo=UTC),
)  # fmt: skip
PARTY = Party(
    source_id="billy-contact-1", name="Bageriet Aps", email="ordre@bageriet.dk", is_business=True,
    vat_number="DK12345678", billing_address=Address(street="Nørregade 1", postcode="1165", city="København",
                                                     country_code="DK"),
)  # fmt: skip


@pytest.fixture(scope="module")
def running() -> Iterator[SimplyCrmSandbox]:
    sandbox = SimplyCrmSandbox()
    sandbox.start()
    sandbox.add_user(USER, KEY)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def crm(running: SimplyCrmSandbox) -> SimplyCrmSandbox:
    running.reset()
    return running


def _target(crm: SimplyCrmSandbox, **settings: Any) -> SimplyCrmTarget:
    ctx = ConnectorContext(
        connection=CONNECTION, settings={"url": crm.base_url, "currency": "DKK", **settings},
        secrets={"user_name": USER, "access_key": KEY}, session=session_for(retries=0), store=MemoryConnectionStore(),
    )  # fmt: skip
    assert CONNECTOR.build_target is not None
    built = CONNECTOR.build_target(ctx)
    assert isinstance(built, SimplyCrmTarget)
    return built


def _document(number: str = "2026-0005", *, credit: bool = False) -> DocumentEvent:
    """A Billy invoice: 25 % DKK, two ovens at 1,000.00 with 100.00 off each, and a service line without a SKU."""
    turn = Decimal(-1) if credit else Decimal(1)
    lines = (
        Line(description="Ovn", sku="OVN-1", quantity=Decimal(2), unit_price=turn * Decimal("1000.00"),
             discount=turn * Decimal("100.00"), amount=turn * Decimal("1800.00"), vat_rate=Decimal(25)),
        Line(description="Service", quantity=Decimal(1), unit_price=turn * Decimal("99.95"),
             amount=turn * Decimal("99.95"), vat_rate=Decimal(25)),
    )  # fmt: skip
    document = SalesDocument(
        doc_type="credit_note" if credit else "invoice", source_id=f"billy-{number}", number=number,
        issue_date=date(2026, 11, 20), due_days=14, currency="DKK", prices_include_vat=False, party=PARTY,
        lines=lines, total=turn * Decimal("2374.94"),
    )  # fmt: skip
    return DocumentEvent(
        event_id=f"billy:invoice:{number}", kind="credit_note.created" if credit else "invoice.created",
        tenant_id="bageri", connection_id=CONNECTION.connection_id, source="billy",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC), payload=document,
    )  # fmt: skip


def _deliver(target: SimplyCrmTarget, event: DocumentEvent, ledger: MemoryLedger | None = None) -> Any:
    return deliver(event, DeliverDeps(target=target, target_name="simplycrm", ledger=ledger or MemoryLedger()))


def test_one_object_books_documents_and_takes_payment_status_back(crm: SimplyCrmSandbox) -> None:
    target = _target(crm)
    assert isinstance(target, BookingTarget)
    assert isinstance(target, PaymentStatusWriter)


def test_a_billy_invoice_is_written_as_an_approved_invoice_that_reconciles_to_the_cent(crm: SimplyCrmSandbox) -> None:
    # Given a Billy invoice at 25 % in DKK with a discounted line  When it is delivered into an empty CRM
    result = _deliver(_target(crm), _document())

    # Then one Approved invoice holds Billy's number in its subject, on a new organization, with vtiger's total the
    # booking's: the sub-cent VAT rounding vtiger does not do is its adjustment
    assert result.outcome == "posted", result.reason
    (invoice,) = crm.records("Invoice")
    held = crm.retrieve(invoice["id"])
    assert (held["subject"], held["invoicestatus"], held["hdnTaxType"]) == ("Billy 2026-0005", "Approved", "group")
    assert (held["invoicedate"], held["duedate"]) == ("2026-11-20", "2026-12-04")
    assert result.entry.external_number == held["invoice_no"]
    assert Decimal(held["hdnGrandTotal"]) == Decimal("2374.94")
    assert Decimal(held["txtAdjustment"]) == Decimal("0.0025")
    oven, service = held["LineItems"]
    assert (oven["quantity"], oven["listprice"], oven["discount_amount"]) == ("2.000", "1000.00000000", "200.00000000")
    assert (service["comment"], service["tax1"]) == ("Service", "25.000")
    (account,) = crm.records("Accounts")
    assert (account["accountname"], account["email1"], held["account_id"]) == (
        "Bageriet Aps", "ordre@bageriet.dk", account["id"],
    )  # fmt: skip
    products = {p["productname"]: p for p in crm.records("Products")}
    assert products["Ovn"]["productcode"] == "OVN-1" and "Koppel goods" in products

    # And the Simply CRM source reads it back as the same total, so a two-way koppeling knows it as its own
    read = invoice_event(held, account, {}, CONNECTION, SimplyCrmSettings(url=crm.base_url, currency="DKK"))
    assert read.payload.total == Decimal("2374.94")


def test_a_credit_note_is_a_credit_invoice_of_positive_amounts(crm: SimplyCrmSandbox) -> None:
    # Given a Billy credit note  When it is delivered
    result = _deliver(_target(crm), _document("2026-0006", credit=True))

    # Then it is a Credit Invoice whose positive total the source reads back as the credit note's
    assert result.outcome == "posted", result.reason
    (invoice,) = crm.records("Invoice")
    held = crm.retrieve(invoice["id"])
    assert (held["invoicestatus"], Decimal(held["hdnGrandTotal"])) == ("Credit Invoice", Decimal("2374.94"))
    account = crm.retrieve(held["account_id"])
    read = invoice_event(held, account, {}, CONNECTION, SimplyCrmSettings(url=crm.base_url, currency="DKK"))
    assert (read.kind, read.payload.total) == ("credit_note.created", Decimal("-2374.94"))


def test_the_customer_is_found_by_e_mail_or_vat_number_not_created_again(crm: SimplyCrmSandbox) -> None:
    # Given an organization with the customer's e-mail, and one with its VAT number in the VAT field
    vat = crm.add_custom_field("Accounts", "CVR")
    by_mail = crm.add_account("Bageriet", email1="ORDRE@bageriet.dk")
    by_vat = crm.add_account("Bageriet ApS (CVR)", **{vat: "DK12345678"})

    # Then without a VAT field the e-mail finds it; with one, the VAT number does
    assert _target(crm).find_party(PARTY).id == by_mail["id"]  # type: ignore[union-attr]
    assert _target(crm, vat_field=vat).find_party(PARTY).id == by_vat["id"]  # type: ignore[union-attr]

    # And delivering books on it, creating no organization
    assert _deliver(_target(crm, vat_field=vat), _document()).outcome == "posted"
    assert len(crm.records("Accounts")) == 2
    assert crm.records("Invoice")[0]["account_id"] == by_vat["id"]


def test_a_post_whose_answer_was_lost_after_vtiger_committed_is_linked_by_its_number(
    crm: SimplyCrmSandbox,
) -> None:
    # Given a CRM that creates the invoice, then its web server loses the answer (an outage page)
    inner = crm.handle
    lost: list[str] = []

    def handle(request: Request) -> Response:
        answer = inner(request)
        if request.values.get("operation") == "create" and request.values.get("elementType") == "Invoice":
            lost.append("create")
            return crm.fault_response("error")
        return answer

    crm.handle = handle  # type: ignore[method-assign]
    ledger, event = MemoryLedger(), _document()
    try:
        with pytest.raises(RetryableError):
            _deliver(_target(crm), event, ledger)
    finally:
        crm.handle = inner  # type: ignore[method-assign]
    (created,) = crm.records("Invoice")
    assert lost == ["create"] and created["invoicestatus"] == "Created"  # written, not final yet

    # When the message is delivered again  Then the invoice is found by its number, reconciled and made final
    again = _deliver(_target(crm), event, ledger)
    assert again.outcome == "found_in_target"
    (invoice,) = crm.records("Invoice")
    assert invoice["invoicestatus"] == "Approved"

    # And a third delivery of a new message for it (a re-sent event) links it too
    assert _deliver(_target(crm), event).outcome == "found_in_target"
    assert len(crm.records("Invoice")) == 1


def test_a_vtiger_refusal_parks_the_document_with_vtigers_words(crm: SimplyCrmSandbox) -> None:
    # Given a remembered customer link that names a contact, not an organization (the module setting changed)
    contact = crm.add_contact("Jensen", email="ordre@bageriet.dk")
    ledger = MemoryLedger()
    key = party_key(PARTY)
    assert key is not None
    ledger.put_link(CONNECTION.connection_id, "simplycrm", key, contact["id"])

    # When the invoice is delivered  Then it is parked with vtiger's own code and message, and nothing is created
    result = _deliver(_target(crm), _document(), ledger)
    assert result.outcome == "parked"
    assert "REFERENCE_INVALID: Invalid reference specified for account_id" in result.reason
    assert crm.records("Invoice") == []


def test_a_number_field_that_cannot_hold_the_number_is_refused_before_anything_is_written(
    crm: SimplyCrmSandbox,
) -> None:
    result = _deliver(_target(crm, number_field="cf_999"), _document())
    assert result.outcome == "parked"
    assert "number_field cf_999 is no text field" in result.reason
    assert crm.records("Invoice") == [] and crm.records("Accounts") == []


def test_a_custom_number_field_holds_the_bare_number(crm: SimplyCrmSandbox) -> None:
    # Given a custom Invoice field for the other system's number
    field = crm.add_custom_field("Invoice", "Billy number")
    target = _target(crm, number_field=field)

    # When an invoice is delivered twice  Then the field holds the bare number, and the second finds the first
    assert _deliver(target, _document()).outcome == "posted"
    assert _deliver(target, _document()).outcome == "found_in_target"
    (invoice,) = crm.records("Invoice")
    assert (invoice[field], invoice["subject"]) == ("2026-0005", "Billy 2026-0005")


def test_a_contact_customer_is_invoiced_with_an_organization_as_vtiger_requires(crm: SimplyCrmSandbox) -> None:
    # Given a CRM whose customers are contacts
    person = PARTY.model_copy(update={"name": "Mette Hansen", "is_business": False, "vat_number": ""})
    event = _document()
    event = event.model_copy(update={"payload": event.payload.model_copy(update={"party": person})})

    # When an invoice is delivered  Then the contact is created, and an organization of that name holds the invoice
    assert _deliver(_target(crm, customer_module="Contacts"), event).outcome == "posted"
    (contact,) = crm.records("Contacts")
    (account,) = crm.records("Accounts")
    assert (contact["firstname"], contact["lastname"], account["accountname"]) == ("Mette", "Hansen", "Mette Hansen")
    invoice = crm.records("Invoice")[0]
    assert (invoice["contact_id"], invoice["account_id"]) == (contact["id"], account["id"])


def test_payment_status_is_still_carried_back_onto_a_crm_invoice(crm: SimplyCrmSandbox) -> None:
    account = crm.add_account("Jansen B.V.")
    oven = crm.add_product("Oven", unit_price="100")
    invoice = crm.add_invoice("Ovens", account["id"], [{"productid": oven["id"], "tax1": "21"}],
                              invoicestatus="Approved")  # fmt: skip
    status = PaymentStatus(
        document_number=invoice["invoice_no"], source_id=invoice["id"], status="paid", amount_open=Decimal(0),
        currency="EUR", updated_at=datetime(2026, 11, 21, tzinfo=UTC),
    )  # fmt: skip
    _target(crm).apply_payment_status(status)
    assert crm.retrieve(invoice["id"])["invoicestatus"] == "Paid"


def test_the_booking_adds_up_before_it_is_sent() -> None:
    booking = plan_booking(_document().payload)
    assert (booking.net_total, booking.vat_total, booking.total) == (
        Decimal("1899.95"), Decimal("474.99"), Decimal("2374.94"),
    )  # fmt: skip


# -- the preview ------------------------------------------------------------------------------------------------------
def _preview(source: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """`koppel preview --source SOURCE --target simplycrm`: the CRM's empty preview account with standard settings."""
    from koppel.preview import preview

    return preview(source, "simplycrm", record)


PREVIEWS = sorted(FIXTURES.glob("*/preview_*.json"))


@pytest.mark.parametrize("path", PREVIEWS, ids=[f"{p.parent.name}-{p.stem}" for p in PREVIEWS])
def test_every_source_document_previews_into_an_empty_crm_to_the_cent(path: Path) -> None:
    # Given a representative document of a source  When it is previewed into Simply CRM
    record = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    sent = _preview(path.parent.name, record)

    # Then the CRM is logged into, looked up, and written, with placeholder ids where vtiger assigns them
    operations = [(r["body"] or dict(parse_qsl(r["path"].partition("?")[2]))).get("operation") for r in sent]
    assert operations[:2] == ["getchallenge", "login"] and operations[-2:] == ["create", "revise"]
    assert "query" in operations
    # And the invoice adds up, the way vtiger computes it, to the source's own total
    net, vat, total = preview_totals(sent)
    connection = CONNECTION.model_copy(update={"source": path.parent.name})
    read_events = load(path.parent.name).preview_events
    assert read_events is not None
    (document,) = [e.payload for e in read_events(record, connection) if isinstance(e.payload, SalesDocument)]
    assert net + vat == total == document.total


def test_a_billy_invoice_preview_shows_the_requests_an_empty_crm_receives() -> None:
    record = json.loads((FIXTURES / "billy" / "preview_invoice.json").read_text(encoding="utf-8"), parse_float=Decimal)
    sent = _preview("billy", record)
    creates = [json.loads(r["body"]["element"]) | {"module": r["body"]["elementType"]} for r in sent
               if r["body"] and r["body"].get("operation") == "create"]  # fmt: skip
    assert creates[0]["module"] == "Accounts" and creates[-1]["module"] == "Invoice"
    invoice = creates[-1]
    assert invoice["subject"].startswith("Billy ") and invoice["invoicestatus"] == "Created"
    assert invoice["account_id"] == "3x1" and invoice["assigned_user_id"] == "19x1"
    assert all(item["productid"].startswith("6x") for item in invoice["LineItems"])


def test_a_document_whose_vat_per_rate_vtiger_cannot_hold_is_refused_before_anything_is_written(
    crm: SimplyCrmSandbox,
) -> None:
    # Given a document priced incl. VAT: 23.31 at 9 % is 1.92 VAT on 21.39, where vtiger computes 21.39 x 9 % = 1.9251
    event = _document()
    line = Line(description="Zaden", quantity=Decimal(1), unit_price=Decimal("23.31"), amount=Decimal("23.31"),
                vat_rate=Decimal(9))  # fmt: skip
    payload = event.payload.model_copy(update={"lines": (line,), "total": Decimal("23.31"), "prices_include_vat": True})

    # When it is delivered  Then it is parked saying why, and the CRM holds nothing new
    result = _deliver(_target(crm), event.model_copy(update={"payload": payload}))
    assert result.outcome == "parked"
    assert "9 %: vtiger computes 1.93 on the net 21.39, the document says 1.92): nothing was written" in result.reason
    assert crm.records("Invoice") == crm.records("Products") == crm.records("Accounts") == []
