"""Billy's purchase side: the golden bill body (pure), and against a real BillySandbox over HTTP on loopback the
supplier found in the right order, purchase rates and expense accounts read after connecting, Billy's own refusal
parked in its words, a bill Billy computes differently left a draft, and the preview of a purchase."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.billy.sandbox import BillySandbox
from koppel import connectors, wire
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.billy import BillySettings, BillyTarget, build_target
from koppel.connectors.billy import purchase_mapping as bills
from koppel.errors import MappingError
from koppel.http import session_for
from koppel.model import Address, Connection, DocumentEvent, Line, Party, Payment, SalesDocument
from koppel.preview import EmptyAccountAdapter, preview
from koppel.services.deliver import DeliverDeps, DeliveryResult, deliver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.model import VatCategory

D = Decimal
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "billy-purchase-token"
KONTORLAND = Party(
    name="Kontorland A/S", email="faktura@kontorland.dk", is_business=True, vat_number="DK 87654321",
    coc_number="87654321", iban="DK5000400440116243", phone="+45 70 10 20 30",
    billing_address=Address(street="Industrivej 3", postcode="2600", city="Glostrup", country_code="DK"),
)  # fmt: skip
SETTINGS = BillySettings(
    organization_country="DK",
    purchase_tax_rates={"25": "rate-k25"},
    purchase_category_tax_rates={"intra_eu": "rate-eu-goods", "exempt": "rate-exempt"},
    expense_account_id="account-2010",
    expense_accounts={"kontor": "account-3610"},
)


def _line(text: str, amount: str, rate: int = 25, category: VatCategory = "standard", group: str = "") -> Line:
    return Line(description=text, unit_price=D(amount), amount=D(amount), vat_rate=D(rate), vat_category=category,
                product_group=group)  # fmt: skip


def _purchase(number: str, lines: list[Line], total: str, party: Party = KONTORLAND, **fields: Any) -> SalesDocument:
    return SalesDocument(direction="purchase", source_id=f"banqup-{number}", number=number,
                         issue_date=date(2026, 11, 20), due_days=14, currency="DKK", prices_include_vat=False,
                         party=party, lines=tuple(lines), total=D(total), **fields)  # fmt: skip


# Paper 40.00 and toner 60.00 on the office account at 25 % (VAT 10.00 + 15.00) and an exempt course of 500.00
TWO_KINDS = _purchase("KL-2026-118", [_line("Papir A4", "40.00", group="kontor"), _line("Toner", "60.00",
                      group="kontor"), _line("Kursus", "500.00", 0, "exempt")], "625.00")  # fmt: skip


def test_a_purchase_becomes_the_reviewed_golden_bill_body() -> None:
    # Given a supplier's invoice with paper on the office account at 25 % and an exempt course
    booking = plan_booking(TWO_KINDS)

    # When it is translated for Billy
    layout = bills.choose_layout(booking, SETTINGS)
    body = bills.bill_body(booking, layout, "contact-1", SETTINGS, None)
    sent = wire.dumps({"bill": body})

    # Then Billy gets a draft bill of the supplier under its own invoice number, due in 14 days, its lines net of
    # VAT on their expense accounts and purchase tax rates, every amount as the exact decimal
    assert json.loads(sent) == {"bill": {
        "type": "bill", "contactId": "contact-1", "entryDate": "2026-11-20", "dueDate": "2026-12-04",
        "suppliersInvoiceNo": "KL-2026-118", "currencyId": "DKK", "taxMode": "excl", "state": "draft",
        "lines": [
            {"accountId": "account-3610", "taxRateId": "rate-k25", "description": "Papir A4", "amount": 40,
             "priority": 1},
            {"accountId": "account-3610", "taxRateId": "rate-k25", "description": "Toner", "amount": 60,
             "priority": 2},
            {"accountId": "account-2010", "taxRateId": "rate-exempt", "description": "Kursus", "amount": 500,
             "priority": 3},
        ],
    }}  # fmt: skip
    assert '"amount":40.00,' in sent and '"amount":500.00,' in sent


def test_per_line_rounding_that_would_move_a_cent_sends_one_line_per_rate() -> None:
    # Given three lines of 0.05 at 25 %: 0.0125 each rounds to 0.01 (0.03), the total's VAT is 0.04
    doc = _purchase("KL-3", [_line(f"Clips {n}", "0.05") for n in range(3)], "0.19")

    # When the layout is chosen  Then Billy gets one line of 0.15, whose VAT is the booking's 0.04
    layout = bills.choose_layout(plan_booking(doc), SETTINGS)
    assert [(line.amount, line.description) for line in layout.lines] == [(D("0.15"), "Clips 0, Clips 1, Clips 2")]


def test_a_reverse_charged_line_without_a_mapped_rate_is_refused_naming_the_setting() -> None:
    # Given a subcontractor's invoice with VAT reverse-charged, and no rate mapped for that
    doc = _purchase("2026-077", [_line("Murerarbejde", "1000.00", 0, "reverse_charge")], "1000.00")

    # When it is translated  Then the refusal says what is missing and where to map it
    with pytest.raises(MappingError, match=r"reverse-charged.*purchase_category_tax_rates \(reverse_charge"):
        bills.choose_layout(plan_booking(doc), SETTINGS)


# -- against the sandbox ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def running() -> Iterator[BillySandbox]:
    sandbox = BillySandbox(seed=9)
    sandbox.start()
    sandbox.add_organization("Indkøb Test ApS", token=TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def billy(running: BillySandbox) -> BillySandbox:
    running.reset()
    running.store.clock = lambda: NOW
    return running


def _target(billy: BillySandbox, sent: list[tuple[str, str, Any]] | None = None, **settings: Any) -> BillyTarget:
    """A connected target; ``sent`` collects every request as it went over the wire (method, path, JSON body)."""
    given = {"base_url": f"{billy.base_url}/v2", **settings}
    session = session_for(retries=0, timeout=(1.0, 1.0))
    if sent is not None:
        session.hooks["response"].append(lambda answer, *_, **__: sent.append(_as_sent(answer.request)))

    def build(values: dict[str, Any]) -> BillyTarget:
        connection = Connection(connection_id="banqup-1", tenant_id="t-1", source="banqup", targets=("billy",),
                                created_at=NOW)  # fmt: skip
        ctx = ConnectorContext(connection=connection, settings=values, secrets={"access_token": TOKEN},
                               session=session, store=MemoryConnectionStore(), clock=lambda: NOW)  # fmt: skip
        return build_target(ctx)

    return build({**given, **build(given).after_connect()})


def _as_sent(request: requests.PreparedRequest) -> tuple[str, str, Any]:
    body = json.loads(request.body, parse_float=Decimal) if isinstance(request.body, (bytes, str)) else None
    return str(request.method), str(request.path_url).split("?")[0], body


def _deliver(target: Any, doc: SalesDocument) -> DeliveryResult:
    event = DocumentEvent(event_id=f"banqup:{doc.number}", tenant_id="t-1", connection_id="banqup-1",
                          source="banqup", occurred_at=NOW, kind="invoice.created", payload=doc)  # fmt: skip
    return deliver(event, DeliverDeps(target=target, target_name="billy", ledger=MemoryLedger()))


PAPER = _purchase("KL-7", [_line("Papir", "100.00")], "125.00")


def test_after_connect_reads_the_purchase_rates_and_the_expense_account(billy: BillySandbox) -> None:
    # Given a new Danish organization  When Koppel reads it after connecting
    settings = _target(billy).settings

    # Then 25 % books on Købsmoms, each VAT category on Billy's own purchase rate for it, costs on goods bought
    rate = {abbreviation: billy.find("taxRates", abbreviation=abbreviation)["id"]
            for abbreviation in ("K25", "OBK", "EUKV", "UEUK", "KFRI")}  # fmt: skip
    assert settings.purchase_tax_rates == {"25": rate["K25"]}
    assert settings.purchase_category_tax_rates == {
        "reverse_charge": rate["OBK"], "intra_eu": rate["EUKV"], "export": rate["UEUK"], "exempt": rate["KFRI"],
        "zero_rated": rate["KFRI"], "outside_scope": rate["KFRI"],
    }  # fmt: skip
    assert settings.expense_account_id == billy.find("accounts", accountNo=2010)["id"]


def test_a_supplier_is_found_by_vat_number_then_kvk_number_then_name(billy: BillySandbox) -> None:
    # Given three contacts: one holding the supplier's name, one its KvK number, one its VAT number (a customer)
    by_name = billy.add_contact("Kontorland A/S", "DK", isSupplier=True)
    by_kvk = billy.add_contact("Kontorland (KvK)", "DK", isSupplier=True, registrationNo="87654321")
    by_vat = billy.add_contact("Kontorland Danmark", "DK", registrationNo="DK87654321")
    target = _target(billy)

    # When the supplier is looked up with all three keys, without its VAT number, and with only its name
    found = [
        target.find_supplier(KONTORLAND),
        target.find_supplier(KONTORLAND.model_copy(update={"vat_number": ""})),
        target.find_supplier(KONTORLAND.model_copy(update={"vat_number": "", "coc_number": ""})),
    ]

    # Then the VAT number wins, then the KvK number, then the name; the customer found is made a supplier too
    assert [ref.id if ref else None for ref in found] == [by_vat["id"], by_kvk["id"], by_name["id"]]
    assert billy.record("contacts", by_vat["id"])["isSupplier"] is True


def test_a_new_supplier_is_created_with_what_billy_holds_of_it(billy: BillySandbox) -> None:
    # Given an empty organization  When a purchase from a new supplier is delivered
    result = _deliver(_target(billy), PAPER)

    # Then the supplier is a contact with its VAT number, address and e-mail, and the bill is approved
    assert result.outcome == "posted", result.reason
    [contact] = billy.records("contacts")
    assert {key: contact[key] for key in ("name", "registrationNo", "street", "zipcodeText", "cityText", "countryId",
                                          "isSupplier", "isCustomer")} == {
        "name": "Kontorland A/S", "registrationNo": "DK87654321", "street": "Industrivej 3", "zipcodeText": "2600",
        "cityText": "Glostrup", "countryId": "DK", "isSupplier": True, "isCustomer": False,
    }  # fmt: skip
    assert [p["email"] for p in billy.records("contactPersons")] == ["faktura@kontorland.dk"]
    [bill] = billy.records("bills")
    assert (bill["state"], bill["amount"], bill["tax"], bill["dueDate"]) == ("approved", D(100), D(25),
                                                                             date(2026, 12, 4))  # fmt: skip


def test_billys_refusal_is_parked_in_its_own_words(billy: BillySandbox) -> None:
    # Given a connection whose expense account was archived in Billy after connecting
    target = _target(billy)
    with billy.lock:
        billy.organization().table("accounts")[target.settings.expense_account_id]["isArchived"] = True

    # When a purchase is delivered
    result = _deliver(target, PAPER)

    # Then it is parked with Billy's message and the field it names, and no bill exists
    assert result.outcome == "parked"
    assert "The account does not exist." in result.reason and "accountId: Unknown account." in result.reason
    assert billy.records("bills") == []


def test_a_bill_billy_computes_differently_is_left_a_draft(billy: BillySandbox) -> None:
    # Given a person mapped 21 % onto Billy's 25 % purchase rate
    target = _target(billy, purchase_tax_rates={"21": billy.find("taxRates", abbreviation="K25")["id"]})
    doc = _purchase("KL-21", [_line("Koffie", "100.00", 21)], "121.00")

    # When a purchase at 21 % is delivered
    result = _deliver(target, doc)

    # Then Billy's 25.00 VAT is named against the booking's 21.00, and the bill stays a draft
    assert result.outcome == "parked"
    assert "VAT at 21 % (standard) is 25.00 where the booking says 21.00" in result.reason
    assert [bill["state"] for bill in billy.records("bills")] == ["draft"]


def test_an_attachment_is_uploaded_once_per_file_name(billy: BillySandbox) -> None:
    # Given a booked purchase
    target = _target(billy)
    assert _deliver(target, PAPER).outcome == "posted"
    [bill] = billy.records("bills")

    # When its PDF is attached twice (deliver repeats it after a crash)
    pdf = connectors.contract.AttachedFile("KL-7.pdf", "application/pdf", b"%PDF-1.4 KL-7\n%%EOF")
    ref = target.find_purchase(plan_booking(PAPER), target.find_supplier(KONTORLAND))  # type: ignore[arg-type]
    assert ref is not None and ref.id == bill["id"]
    target.attach(ref, pdf)
    target.attach(ref, pdf)

    # Then Billy holds the file once, on the bill, with its bytes
    [file] = billy.records("files")
    [attachment] = billy.records("attachments")
    assert (file["fileName"], file["fileSize"], attachment["ownerReference"]) == ("KL-7.pdf", 19, f"bill:{bill['id']}")


def test_a_purchase_previews_against_an_empty_organization() -> None:
    # Given Billy's empty organization of `koppel preview`
    account = connectors.load("billy").preview_account
    assert account is not None
    adapter = EmptyAccountAdapter(answer=account.answer)
    session = requests.Session()
    session.mount("https://", adapter)
    connection = Connection(connection_id="preview", tenant_id="preview", source="banqup", targets=("billy",),
                            created_at=NOW)  # fmt: skip
    ctx = ConnectorContext(connection=connection, settings=account.settings(), secrets={"access_token": "preview"},
                           session=session)  # fmt: skip

    # When a purchase is delivered to it
    result = deliver(
        DocumentEvent(event_id="preview:KL-7", tenant_id="preview", connection_id="preview", source="banqup",
                      occurred_at=NOW, kind="invoice.created", payload=PAPER),
        DeliverDeps(target=connectors.build_target("billy", ctx), target_name="billy", ledger=MemoryLedger()),
    )  # fmt: skip

    # Then the supplier is looked for and created, the bill looked for, drafted and approved
    assert result.outcome == "posted", result.reason
    shown = [(call["method"], call["path"].split("?")[0]) for call in adapter.recorded]
    assert shown == [("GET", "/v2/contacts"), ("POST", "/v2/contacts"), ("GET", "/v2/bills"), ("POST", "/v2/bills"),
                     ("PUT", "/v2/bills/bills-2")]  # fmt: skip
    bill = adapter.recorded[3]["body"]["bill"]
    assert (bill["contactId"], bill["suppliersInvoiceNo"], bill["lines"][0]["taxRateId"]) == (
        "contacts-1", "KL-7", "purchase-rate-25")  # fmt: skip


def _pay(billy: BillySandbox, bill_id: str, amount: str) -> None:
    body = {"bankPayment": {"entryDate": "2026-11-25", "cashAmount": D(amount), "cashSide": "credit",
                            "cashAccountId": billy.find("accounts", accountNo=5820)["id"],
                            "associations": [{"subjectReference": f"bill:{bill_id}"}]}}  # fmt: skip
    headers = {"X-Access-Token": TOKEN, "Content-Type": "application/json"}
    paid = requests.post(f"{billy.base_url}/v2/bankPayments", data=wire.dumps(body), headers=headers, timeout=5)
    assert paid.status_code == 200, paid.text


def test_what_is_still_to_be_paid_of_booked_purchases_is_read_back(billy: BillySandbox) -> None:
    # Given three booked purchases of 125.00: one paid in full, one paid 25.00 of, one untouched; and one deleted
    target = _target(billy)
    docs = [_purchase(f"KL-{n}", [_line("Papir", "100.00")], "125.00") for n in (1, 2, 3)]
    refs = []
    for doc in docs:
        supplier = target.find_supplier(KONTORLAND) or target.create_supplier(KONTORLAND)
        refs.append(target.post_purchase(plan_booking(doc), supplier, doc.number))
    _pay(billy, refs[0].id, "125.00")
    _pay(billy, refs[1].id, "25.00")
    gone = refs[2].model_copy(update={"id": "no-such-bill", "number": "KL-9"})

    # When their status is read
    statuses = dict(target.purchase_status([*refs, gone]))

    # Then the paid one is done, the others say what is open and when it falls due, the deleted one is deleted
    assert statuses[refs[0].id] is None
    part, open_, deleted = statuses[refs[1].id], statuses[refs[2].id], statuses["no-such-bill"]
    assert part is not None and open_ is not None and deleted is not None
    assert (part.status, part.amount_open, part.due_date) == ("partially_paid", D(100), date(2026, 12, 4))
    assert (open_.status, open_.amount_open, open_.document_number) == ("open", D(125), "KL-3")
    assert (deleted.status, deleted.document_number) == ("deleted", "KL-9")


def test_koppel_preview_books_a_banqup_purchase_and_uploads_its_original() -> None:
    # Given a subcontractor's UBL invoice with VAT reverse-charged
    name = "reverse-charge-ae.xml"
    record = {
        "filename": name,
        "content": (Path(__file__).resolve().parents[1] / "fixtures" / "ubl" / name).read_bytes(),
    }

    # When it is previewed into an empty organization
    sent = preview("banqup", "billy", record)

    # Then the supplier is looked for and created, the bill drafted and approved, and the original uploaded onto it
    assert [(r["method"], r["path"].split("?")[0]) for r in sent] == [
        ("GET", "/v2/contacts"), ("POST", "/v2/contacts"), ("GET", "/v2/bills"), ("POST", "/v2/bills"),
        ("PUT", "/v2/bills/bills-2"), ("GET", "/v2/bills/bills-2"), ("POST", "/v2/files"), ("POST", "/v2/attachments"),
    ]  # fmt: skip


# -- a purchase paid when it was bought --------------------------------------------------------------------------------
PAID_ON = date(2026, 11, 20)
CARD = Payment(method="card", amount=D("125.00"), paid_on=PAID_ON, description="Dankort")
RECEIPT = _purchase("BON-4471", [_line("Rengøringsmidler", "100.00")], "125.00", is_paid=True, payments=(CARD,))


def _payments_sent(sent: list[tuple[str, str, Any]]) -> list[Any]:
    return [body for method, path, body in sent if (method, path) == ("POST", "/v2/bankPayments")]


def test_a_receipt_paid_at_the_counter_is_paid_from_the_bill_account_once(billy: BillySandbox) -> None:
    # Given a supplier's till receipt of 125.00, paid by card when it was handed over
    sent: list[tuple[str, str, Any]] = []
    target = _target(billy, sent)

    # When deliver books it
    first = _deliver(target, RECEIPT)

    # Then Billy got one withdrawal of 125.00 on the bill, from the organization's account for paying bills, dated
    # the day it was paid
    assert first.outcome == "posted", first.reason
    [bill] = billy.records("bills")
    bank = billy.find("accounts", accountNo=5820)["id"]
    assert _payments_sent(sent) == [{"bankPayment": {
        "entryDate": "2026-11-20", "cashAmount": D("125.00"), "cashSide": "credit", "cashAccountId": bank,
        "associations": [{"subjectReference": f"bill:{bill['id']}"}],
    }}]  # fmt: skip

    # When it is delivered again after a crash lost its ledger row  Then the bill is found paid and nothing is sent
    sent.clear()
    again = _deliver(target, RECEIPT)
    assert again.outcome == "found_in_target", again.reason
    assert _payments_sent(sent) == []
    assert len(billy.records("bankPayments")) == 1
    # And the bill is paid: nothing is left to pay to the supplier
    bill = billy.record("bills", bill["id"])
    assert (bill["balance"], bill["isPaid"]) == (D(0), True)
    assert first.ref is not None and dict(target.purchase_status([first.ref])) == {first.ref.id: None}


def test_a_bill_approved_before_its_payment_was_sent_is_paid_on_the_retry(billy: BillySandbox) -> None:
    # Given the receipt's bill was approved in Billy, and the worker stopped before paying it
    assert _deliver(_target(billy), RECEIPT.model_copy(update={"is_paid": False, "payments": ()})).outcome == "posted"

    # When the paid receipt is delivered again
    result = _deliver(_target(billy), RECEIPT)

    # Then the approved open bill is found and paid once, in full
    assert result.outcome == "found_in_target", result.reason
    assert [p["cashAmount"] for p in billy.records("bankPayments")] == [D("125.00")]
    assert billy.records("bills")[0]["isPaid"] is True


def test_a_bill_paid_by_hand_in_billy_is_not_paid_again(billy: BillySandbox) -> None:
    # Given the receipt's bill booked unpaid, and then paid in Billy by a person matching the bank line
    assert _deliver(_target(billy), RECEIPT.model_copy(update={"is_paid": False, "payments": ()})).outcome == "posted"
    _pay(billy, billy.records("bills")[0]["id"], "125.00")

    # When the paid receipt is delivered
    result = _deliver(_target(billy), RECEIPT)

    # Then Billy's balance of 0 says it is done: no second payment, nothing paid to the supplier twice
    assert result.outcome == "found_in_target", result.reason
    assert len(billy.records("bankPayments")) == 1


def test_a_receipt_is_paid_from_the_account_the_connection_maps_for_purchases(billy: BillySandbox) -> None:
    # Given a cash box that takes payments, mapped as the connection's account for purchases paid at the counter
    with billy.lock:
        box = dict(billy.find("accounts", accountNo=5820), id="cash-box", name="Kasse", accountNo=5810)
        billy.organization().table("accounts")["cash-box"] = box
    try:
        target = _target(billy, purchase_cash_account_id="cash-box")

        # When a receipt paid in cash is delivered
        result = _deliver(target, RECEIPT)
    finally:  # reference data outlives reset
        with billy.lock:
            del billy.organization().table("accounts")["cash-box"]

    # Then it is paid from the cash box, not the bank
    assert result.outcome == "posted", result.reason
    assert [p["cashAccountId"] for p in billy.records("bankPayments")] == ["cash-box"]


def test_a_suppliers_credit_note_refunded_at_the_counter_is_money_in(billy: BillySandbox) -> None:
    # Given a supplier's credit note of -25.00 for returned goods, refunded in cash on the spot
    credit = _purchase("BON-4472", [_line("Retur", "-20.00")], "-25.00", doc_type="credit_note", is_paid=True,
                       payments=(Payment(method="cash", amount=D("-25.00"), paid_on=PAID_ON),))  # fmt: skip

    # When deliver books it
    result = _deliver(_target(billy), credit)

    # Then the money came in: one deposit of 25.00 settles the supplier's credit note
    assert result.outcome == "posted", result.reason
    [payment] = billy.records("bankPayments")
    assert (payment["cashAmount"], payment["cashSide"]) == (D("25.00"), "debit")
    assert billy.records("bills")[0]["isPaid"] is True
