"""Billy target: golden request bodies (pure), and the conversation with a real BillySandbox over HTTP on loopback
(contacts, products, invoices drafted, reconciled and approved, credit notes, exactly once, refusals, payment
status, the organization read after connecting, record sync, the preview)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.billy.sandbox import BillySandbox
from koppel import wire
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.billy import BillySettings, BillyTarget, build_target, mapping
from koppel.connectors.billy.chart import preview_totals
from koppel.errors import AuthError, PermanentError, RetryableError
from koppel.http import session_for
from koppel.model import Address, Connection, Discount, DocumentEvent, Line, Party, SalesDocument
from koppel.preview import preview
from koppel.records import SyncRecord
from koppel.services.deliver import DeliverDeps, deliver
from tests.connectors.bizzcloud_builders import preview_move

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.model import DocumentType

D = Decimal
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "billy-test-token"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billy"
JENSEN = Party(
    source_id="7",
    code="K100",
    name="Jensen ApS",
    email="Ole@Jensen.dk",
    contact_name="Ole Jensen",
    is_business=True,
    vat_number="DK 12345678",
    billing_address=Address(street="Vestergade 1", postcode="1456", city="København K", country_code="DK"),
)
GOLDEN_SETTINGS = BillySettings(tax_rulesets={"25": "ruleset-25", "0": "ruleset-0"}, sales_account_id="account-1110")


def _line(text: str, amount: str, rate: int = 25, quantity: int = 1, sku: str = "", **extra: Any) -> Line:
    unit = D(extra.pop("unit_price", D(amount) / quantity))
    return Line(description=text, sku=sku, quantity=D(quantity), unit_price=unit, amount=D(amount),
                vat_rate=D(rate), **extra)  # fmt: skip


def _doc(number: str, lines: list[Line], total: str, *, incl: bool = False, party: Party = JENSEN,
         doc_type: DocumentType = "invoice", **fields: Any) -> SalesDocument:  # fmt: skip
    return SalesDocument(source_id=number, number=number, issue_date=date(2026, 11, 20), currency="DKK",
                         prices_include_vat=incl, party=party, lines=tuple(lines), total=D(total), doc_type=doc_type,
                         **fields)  # fmt: skip


# 2 capes at 100.00 excl. 25 % less a row discount of 10.00 each (180.00), and shipping 50.00: 230.00 + 57.50.
INVOICE = _doc("F-1001", [_line("Bat cape", "180.00", quantity=2, sku="CAPE-1", unit_price="100.00",
                                discount=D("10.00")), _line("Fragt", "50.00", kind="shipping")], "287.50")  # fmt: skip
CREDIT = _doc("K-1001", [_line("Bat cape", "-100.00", sku="CAPE-1")], "-125.00", doc_type="credit_note",
              reference="F-1001")  # fmt: skip
# Incl. VAT: 250.00 and a coupon of 50.00 off the order (its own line: 200.00 = 160.00 + 40.00).
WITH_COUPON = _doc("F-1002", [_line("Bat cape", "250.00", sku="CAPE-1")], "200.00", incl=True,
                   discounts=(Discount(description="Kupon", code="VELKOMMEN", amount=D("50.00")),))  # fmt: skip


def _bodies(doc: SalesDocument) -> dict[str, Any]:
    """What Billy receives for a document: its contact, the products its lines need, the draft invoice."""
    booking = plan_booking(doc)
    layout = mapping.choose_layout(booking)
    firsts = mapping.products_of(layout)
    products = [mapping.product_body(line, "ruleset-25", doc.currency, GOLDEN_SETTINGS) for line in firsts.values()]
    ids = {key: f"product:{key}" for key in firsts}
    invoice = mapping.invoice_body(
        booking, layout, "contact-1", ids, GOLDEN_SETTINGS, "invoice-1" if doc.reference else None
    )
    contact = mapping.contact_body(doc.party, GOLDEN_SETTINGS)
    text = wire.dumps({"contact": contact, "products": products, "invoice": invoice})
    bodies: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return bodies


@pytest.mark.parametrize(("doc", "golden"), [(INVOICE, "invoice_25"), (CREDIT, "credit_note"),
                                              (WITH_COUPON, "coupon_incl")])  # fmt: skip
def test_a_document_becomes_the_reviewed_golden_request_bodies(doc: SalesDocument, golden: str) -> None:
    # Given a Danish document  When it is translated for Billy
    # Then the contact, products and draft invoice are exactly the reviewed bodies
    expected = json.loads((FIXTURES / f"golden_{golden}.json").read_text(), parse_float=Decimal)
    assert _bodies(doc) == expected


def test_a_rate_without_a_ruleset_is_refused_naming_the_rate_and_the_setting() -> None:
    # Given a document at 19 %, which no ruleset of the connection books
    booking = plan_booking(_doc("F-19", [_line("Fietsbel", "100.00", rate=19)], "119.00"))
    line = mapping.choose_layout(booking).lines[0]
    # When its line's ruleset is asked for  Then the refusal names the rate and where to map it
    with pytest.raises(PermanentError, match=r"VAT rate 19 %.*tax_rulesets"):
        mapping.ruleset_for(line, "domestic", GOLDEN_SETTINGS)


def test_when_per_line_rounding_would_move_a_cent_one_line_per_rate_is_sent() -> None:
    # Given three lines at 25 % whose VAT rounded per line is a cent more than on their total (3 x 0.0125 -> 0.03)
    doc = _doc("F-3", [_line(f"Knap {i}", "0.05") for i in range(3)], "0.19")
    # When the layout is chosen  Then Billy gets one line of 0.15, whose VAT is the booking's 0.04
    layout = mapping.choose_layout(plan_booking(doc))
    assert (layout.tax_mode, [(line.unit_price, line.description) for line in layout.lines]) == (
        "excl", [(D("0.15"), "Knap 0, Knap 1, Knap 2")])  # fmt: skip


# -- against the sandbox ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def running() -> Iterator[BillySandbox]:
    sandbox = BillySandbox(seed=3)
    sandbox.start()
    sandbox.add_organization("Koppel Test ApS", token=TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def billy(running: BillySandbox) -> BillySandbox:
    running.reset()  # the company keeps its reference data; its contacts, products and invoices are gone
    running.store.clock = lambda: NOW
    return running


def _connection() -> Connection:
    return Connection(connection_id="shop-1", tenant_id="t-1", source="ccvshop", targets=("billy",), created_at=NOW)


def _target(billy: BillySandbox, token: str = TOKEN, **settings: Any) -> BillyTarget:
    """Built as deliver builds it: after the connect step read the organization into the settings."""
    given = {"base_url": f"{billy.base_url}/v2", **settings}

    def build(values: dict[str, Any]) -> BillyTarget:
        ctx = ConnectorContext(connection=_connection(), settings=values, secrets={"access_token": token},
                               session=session_for(retries=0, timeout=(1.0, 1.0)), store=MemoryConnectionStore(),
                               clock=lambda: NOW)  # fmt: skip
        return build_target(ctx)

    return build({**given, **build(given).after_connect()})


def _event(doc: SalesDocument) -> DocumentEvent:
    kind = "credit_note.created" if doc.doc_type == "credit_note" else "invoice.created"
    return DocumentEvent(event_id=f"ccv:{doc.number}", tenant_id="t-1", connection_id="shop-1", source="ccvshop",
                         occurred_at=NOW, kind=kind, payload=doc)  # fmt: skip


def _deliver(target: BillyTarget, doc: SalesDocument, ledger: MemoryLedger | None = None) -> Any:
    return deliver(_event(doc), DeliverDeps(target=target, target_name="billy", ledger=ledger or MemoryLedger()))


def _invoices(billy: BillySandbox, number: str) -> list[dict[str, Any]]:
    return [i for i in billy.records("invoices") if i["invoiceNo"] == number]


def test_after_connect_reads_the_organization_its_rulesets_and_accounts(billy: BillySandbox) -> None:
    # Given a new Danish organization  When Koppel reads it after connecting
    settings = _target(billy).settings
    # Then 25 % books on the default goods ruleset, 0 % on the exempt one, with the bank as the cash account
    assert settings.tax_rulesets == {"25": billy.find("salesTaxRulesets", name="Salg af varer")["id"],
                                     "0": billy.find("salesTaxRulesets", name="Momsfri")["id"]}  # fmt: skip
    assert (settings.organization_currency, settings.organization_country) == ("DKK", "DK")
    assert settings.sales_account_id == billy.find("accounts", accountNo=1110)["id"]
    assert settings.cash_account_id == billy.find("accounts", accountNo=5820)["id"]
    assert settings.tax_rates["25"] == billy.find("taxRates", abbreviation="S25")["id"]
    # And intra-EU sales and exports book on the goods ruleset, which gives them 0 %
    goods = billy.find("salesTaxRulesets", name="Salg af varer")["id"]
    assert settings.treatment_rulesets == {"intra_eu": goods, "export": goods}
    # And the console's editor offers the accounts, rulesets and rates by name (the bank account is no choice)
    assert settings.chart["ledgers"][settings.sales_account_id] == "1110 Salg af varer/ydelser m/moms"
    assert settings.cash_account_id not in settings.chart["ledgers"]
    assert settings.chart["rulesets"][goods] == "Salg af varer"
    assert settings.chart["tax_codes"][settings.tax_rates["25"]] == "Salgsmoms 25%"


def test_a_ruleset_a_person_mapped_is_kept_while_billy_still_has_it(billy: BillySandbox) -> None:
    # Given the connection books 25 % on the services ruleset, and 9 % on a ruleset Billy has since deleted
    services = billy.find("salesTaxRulesets", name="Salg af ydelser")["id"]
    # When the organization is read again
    settings = _target(billy, tax_rulesets={"25": services, "9": "deleted-ruleset"}).settings
    # Then 25 % stays on services, 9 % is no longer mapped (a document at 9 % is parked, naming the rate)
    assert settings.tax_rulesets["25"] == services
    assert "9" not in settings.tax_rulesets


def test_an_intra_eu_sale_to_a_german_company_books_on_billys_eu_rate(billy: BillySandbox) -> None:
    # Given goods at 0 % to a German company with a VAT number
    acme = Party(
        name="Acme GmbH", is_business=True, vat_number="DE123456789", billing_address=Address(country_code="DE")
    )
    doc = _doc(
        "F-EU", [_line("Bat cape", "500.00", rate=0, sku="CAPE-1")], "500.00", party=acme, vat_treatment="intra_eu"
    )
    # When deliver books it
    result = _deliver(_target(billy), doc)
    # Then Billy holds it approved at 0 %, on its EU sales rate (reported as an EU sale, not as exempt)
    assert result.outcome == "posted", result.reason
    [line] = [line for line in billy.records("invoiceLines") if line["invoiceId"] == _invoices(billy, "F-EU")[0]["id"]]
    assert (line["amount"], line["tax"], line["taxRateId"]) == (
        D("500.00"), D(0), billy.find("taxRates", abbreviation="EUV")["id"])  # fmt: skip


def test_a_danish_invoice_at_25_percent_is_drafted_reconciled_and_approved(billy: BillySandbox) -> None:
    # Given a Danish invoice of 230.00 + 57.50 VAT with a row discount
    # When deliver books it
    result = _deliver(_target(billy), INVOICE)
    # Then Billy holds one approved invoice with the document's number and totals to the cent
    assert result.outcome == "posted", result.reason
    [invoice] = _invoices(billy, "F-1001")
    assert (invoice["state"], invoice["amount"], invoice["tax"], invoice["grossAmount"]) == (
        "approved", D("230.00"), D("57.50"), D("287.50"))  # fmt: skip
    # And the customer is a company with its VAT number and e-mail, the cape a product with its SKU
    [contact] = billy.records("contacts")
    assert (contact["type"], contact["registrationNo"]) == ("company", "DK12345678")
    assert [p["email"] for p in billy.records("contactPersons")] == ["Ole@Jensen.dk"]
    assert {p["productNo"] for p in billy.records("products")} == {"CAPE-1", "KOPPEL-SHIPPING-25"}


def test_a_credit_note_credits_the_invoice_it_names_with_positive_amounts(billy: BillySandbox) -> None:
    # Given the invoice F-1001 booked and approved
    target = _target(billy)
    assert _deliver(target, INVOICE).outcome == "posted"
    # When a credit note of one cape (-100.00 - 25.00) referring to F-1001 is delivered
    result = _deliver(target, CREDIT)
    # Then Billy holds an approved credit note of 100.00 + 25.00 that credits F-1001, settled against its balance
    assert result.outcome == "posted", result.reason
    [credit] = _invoices(billy, "K-1001")
    [invoice] = _invoices(billy, "F-1001")
    assert (credit["type"], credit["state"], credit["creditedInvoiceId"]) == ("creditNote", "approved", invoice["id"])
    assert (credit["amount"], credit["tax"], credit["grossAmount"]) == (D("100.00"), D("25.00"), D("125.00"))
    assert invoice["balance"] == D("162.50")


@pytest.mark.parametrize(
    "party",
    [
        Party(name="Jensen & Co", vat_number="dk12345678", is_business=True),
        Party(name="Someone else", email="OLE@jensen.dk"),
        Party(name="Jensen Holding", code="k100"),
        Party(name="jensen aps "),
    ],
    ids=["by VAT number", "by e-mail", "by customer number", "by name"],
)
def test_a_customer_billy_holds_is_found_and_not_created_again(billy: BillySandbox, party: Party) -> None:
    # Given Billy holds Jensen ApS with its VAT number, its customer number and Ole's e-mail on a contact person
    held = billy.add_contact(
        "Jensen ApS", "DK", persons=[("Ole Jensen", "ole@jensen.dk")], registrationNo="DK12345678", contactNo="K100"
    )
    # When an invoice for the customer (known by its VAT number, an e-mail, its number or its name) is delivered
    result = _deliver(_target(billy), _doc("F-7", [_line("Bat cape", "100.00", sku="CAPE-1")], "125.00", party=party))
    # Then the invoice is on that contact, and Billy still has one contact
    assert result.outcome == "posted", result.reason
    assert [c["id"] for c in billy.records("contacts")] == [held["id"]]
    assert _invoices(billy, "F-7")[0]["contactId"] == held["id"]


def test_a_post_billy_committed_before_hanging_is_linked_by_its_number_on_the_retry(billy: BillySandbox) -> None:
    # Given Billy commits the draft and then never answers (the worker times out)
    target = _target(billy)
    booking, party = plan_booking(INVOICE), target.create_party(INVOICE.party)
    billy.faults.hang_seconds, billy.faults.applies_to = 2.0, ("/v2/invoices",)
    billy.faults.queue("commit_then_hang")
    with pytest.raises(RetryableError, match="in time"):
        target.post_booking(booking, party, "request-1")
    assert [i["state"] for i in _invoices(billy, "F-1001")] == ["draft"]
    # When the queue delivers it again
    retried = _deliver(_target(billy), INVOICE)
    # Then the draft is found by its invoiceNo, reconciled and approved: one invoice, created once
    assert retried.outcome == "found_in_target", retried.reason
    assert [i["state"] for i in _invoices(billy, "F-1001")] == ["approved"]
    assert sum(1 for method, path in billy.received if method == "POST" and path == "/v2/invoices") == 1


def test_a_refusal_by_billy_parks_the_document_with_billys_own_words(billy: BillySandbox) -> None:
    # Given a document in a currency Billy does not know
    doc = _doc("F-8", [_line("Bat cape", "100.00")], "125.00").model_copy(update={"currency": "XTS"})
    ledger = MemoryLedger()
    # When deliver books it
    result = _deliver(_target(billy), doc, ledger)
    # Then it is parked with Billy's message and the field it names, and no invoice exists
    assert result.outcome == "parked"
    assert re.search(r"Billy rejected POST /v2/invoices \(422\): Unknown currency\. \(currencyId: ", result.reason)
    assert _invoices(billy, "F-8") == []


def test_a_draft_that_does_not_reconcile_is_refused_and_left_unapproved(billy: BillySandbox) -> None:
    # Given the cape exists in Billy on the exempt ruleset (0 %), while the document books it at 25 %
    exempt = billy.find("salesTaxRulesets", name="Momsfri")
    billy.add_product("Bat cape", {"DKK": "100"}, productNo="CAPE-1", salesTaxRulesetId=exempt["id"])
    doc = _doc("F-9", [_line("Bat cape", "100.00", sku="CAPE-1")], "125.00")
    # When deliver books it, and the queue tries again
    first = _deliver(_target(billy), doc)
    again = _deliver(_target(billy), doc)
    # Then it is parked naming the difference and saying the invoice stays a draft; Billy holds one unapproved draft
    for result in (first, again):
        assert result.outcome == "parked"
        assert "VAT at 25 % is 0.00 where the booking says 25.00 (-25.00)" in result.reason
        assert "left as a draft, not approved" in result.reason
    assert [i["state"] for i in _invoices(billy, "F-9")] == ["draft"]


@pytest.mark.parametrize(("billy_does", "send", "outcome"), [("accept", "send", "posted"), ("refuse", "send", "parked"),
                                                              ("ignore", "ignore", "posted")])  # fmt: skip
def test_a_lines_tax_rate_is_sent_only_when_the_setting_says_so(
    billy: BillySandbox, billy_does: str, send: str, outcome: str
) -> None:
    # Given Billy takes, refuses or ignores a line's taxRateId, and the connection sends it or not
    billy.configure({"line_tax_rate": billy_does})
    # When an invoice at 25 % is delivered  Then it is booked, or parked with Billy's refusal of the field
    result = _deliver(_target(billy, line_tax_rate=send), _doc("F-10", [_line("Bat cape", "100.00")], "125.00"))
    assert result.outcome == outcome, result.reason
    assert outcome == "posted" or "taxRateId: Read-only" in result.reason


def test_an_unknown_access_token_is_an_auth_error_that_says_to_check_it(billy: BillySandbox) -> None:
    # Given a token Billy never issued  When the target looks a booking up  Then it says to check the access token
    target = _target(billy)
    bad = build_target(ConnectorContext(connection=_connection(), settings=target.settings.model_dump(),
                                        secrets={"access_token": "nope"}, session=session_for(retries=0)))  # fmt: skip
    with pytest.raises(AuthError, match="check the access token"):
        bad.find_booking(plan_booking(INVOICE))


def test_a_throttle_is_retryable_after_billys_wait(billy: BillySandbox) -> None:
    # Given Billy's next answer is 429 with Retry-After: 9
    target = _target(billy)
    billy.faults.retry_after = 9
    billy.faults.queue("throttle")
    # When a booking is looked up  Then it is retryable after 9 seconds
    with pytest.raises(RetryableError) as raised:
        target.find_booking(plan_booking(INVOICE))
    assert (raised.value.status, raised.value.retry_after) == (429, 9)


def test_payment_status_reads_open_partially_paid_paid_and_overdue(billy: BillySandbox) -> None:
    # Given four approved invoices of 125.00: one untouched, one paid 50.00 of, one paid in full, one long overdue
    contact = billy.add_contact("Jensen ApS", "DK")
    product = billy.add_product("Bat cape", {"DKK": "100"})
    line = [{"productId": product["id"], "unitPrice": 100}]
    days = {"A": "2026-11-19", "B": "2026-11-19", "C": "2026-11-19", "D": "2026-10-01"}
    made = {
        no: billy.add_invoice(contact["id"], line, approve=True, invoiceNo=no, entry_date=day, paymentTermsDays=8)
        for no, day in days.items()
    }
    billy.register_payment(made["B"]["id"], "50.00")
    billy.register_payment(made["C"]["id"])
    # When Koppel reads their payment status (and of one Billy no longer has)
    statuses = dict(_target(billy, page_size=2).payment_status(["A", "B", "C", "D", "GONE"]))
    # Then each says what a person sees in Billy: open, partially paid, paid, overdue, deleted, in exact money
    seen = {no: (s.status, s.amount_open, s.due_date) for no, s in statuses.items() if s is not None}
    assert seen == {
        "A": ("open", D("125.00"), date(2026, 11, 27)), "B": ("partially_paid", D("75.00"), date(2026, 11, 27)),
        "C": ("paid", D(0), date(2026, 11, 27)), "D": ("overdue", D("125.00"), date(2026, 10, 9)),
        "GONE": ("deleted", D(0), None),
    }  # fmt: skip
    assert all(isinstance(s.amount_open, Decimal) and s.currency == "DKK" for s in statuses.values() if s)


# -- record sync -----------------------------------------------------------------------------------------------------
def test_an_organization_is_created_found_by_its_keys_and_updated_with_what_billy_holds(billy: BillySandbox) -> None:
    # Given a CRM organization  When it is created in Billy
    target = _target(billy)
    fields = {"name": "Jensen ApS", "email": "Ole@Jensen.dk", "vat_number": "DK 12345678", "city": "Aarhus",
              "phone": "+45 12 34 56 78", "country_code": "DK"}  # fmt: skip
    created = target.create_record("organization", fields)
    # Then Billy holds a company with the VAT number and the e-mail on its primary contact person
    contact = billy.record("contacts", created.ident)
    assert (contact["type"], contact["registrationNo"]) == ("company", "DK 12345678")
    assert created.fields == SyncRecord(kind="organization", ident="-", fields=fields).fields
    # And it is found again by its VAT number, and by its e-mail
    assert target.find_record("organization", SyncRecord(kind="organization", ident="crm-1",
                                                         fields={"vat_number": "dk12345678"})) == created  # fmt: skip
    assert target.find_record("organization", SyncRecord(kind="organization", ident="crm-1",
                                                         fields={"email": "ole@jensen.dk"})) == created  # fmt: skip
    # When the e-mail changes and the phone is emptied
    updated = target.update_record("organization", created.ident, {"email": "info@jensen.dk", "phone": ""})
    # Then only those changed, and the answer is what Billy now holds
    expected = {key: value for key, value in created.fields.items() if key != "phone"} | {"email": "info@jensen.dk"}
    assert updated.fields == expected
    assert updated == target.read_record("organization", created.ident)
    assert [p["email"] for p in billy.records("contactPersons")] == ["info@jensen.dk"]


def test_a_contact_is_a_person_in_billy_and_lists_with_every_person_in_pages(billy: BillySandbox) -> None:
    # Given three people in Billy and a company (which is no contact)
    billy.add_contact("Jensen ApS", "DK", type="company")
    for name in ("Ole Jensen", "Mette Holm", "Anne Marie Berg"):
        billy.add_contact(name, "DK", type="person", persons=[(name, f"{name.split()[0].lower()}@example.dk")])
    target = _target(billy, page_size=2)
    # When every contact is listed (Billy has no change feed)
    changes = target.changed_records("contact", None)
    # Then all three people come, over two pages, named by first and last name, and the listing is complete
    assert changes.complete
    assert sorted((r.value("first_name"), r.value("last_name"), r.value("email")) for r in changes.records) == [
        ("Anne", "Marie Berg", "anne@example.dk"), ("Mette", "Holm", "mette@example.dk"),
        ("Ole", "Jensen", "ole@example.dk")]  # fmt: skip
    # When one is renamed and found by e-mail
    ole = target.find_record("contact", SyncRecord(kind="contact", ident="c", fields={"email": "OLE@example.dk"}))
    assert ole is not None
    renamed = target.update_record("contact", ole.ident, {"last_name": "Jensen-Holm"})
    # Then Billy's one name holds both parts, and the e-mail stayed
    assert billy.record("contacts", ole.ident)["name"] == "Ole Jensen-Holm"
    assert (renamed.value("first_name"), renamed.value("last_name"), renamed.value("email")) == (
        "Ole", "Jensen-Holm", "ole@example.dk")  # fmt: skip


def test_a_product_round_trips_with_its_price_in_the_organizations_currency(billy: BillySandbox) -> None:
    # Given a CRM product  When it is created in Billy
    target = _target(billy)
    created = target.create_record("product", {"name": "Bat cape", "product_number": "CAPE-1", "unit_price": "12.50"})
    # Then it is found by its product number, priced in DKK
    found = target.find_record("product", SyncRecord(kind="product", ident="p", fields={"product_number": "CAPE-1"}))
    assert found == created and created.value("unit_price") == "12.50"
    billy.change_by_person("products", created.ident, prices=[{"unitPrice": 12, "currencyId": "DKK"},
                                                               {"unitPrice": 2, "currencyId": "EUR"}])  # fmt: skip
    # When its price and description change
    updated = target.update_record("product", created.ident, {"unit_price": "15", "description": "Black"})
    # Then Billy holds the new DKK price beside the EUR one, and the answer is Billy's record
    prices = {p["currencyId"]: p["unitPrice"] for p in billy.records("productPrices")}
    assert prices == {"DKK": D(15), "EUR": D(2)}
    assert updated.fields == {"name": "Bat cape", "product_number": "CAPE-1", "description": "Black",
                              "unit_price": "15.00"}  # fmt: skip


def test_preview_shows_what_an_empty_organization_would_receive() -> None:
    # Given a Bizzcloud invoice at 21 % and 9 %  When it is previewed against Billy
    calls = preview("bizzcloud", "billy", preview_move())
    # Then the contact is looked for and created, each product too, the invoice drafted and then approved
    shown = [(call["method"], call["path"].split("?")[0]) for call in calls]
    assert shown[:3] == [("GET", "/v2/invoices"), ("GET", "/v2/contacts"), ("POST", "/v2/contacts")]
    assert shown[-2:] == [("POST", "/v2/invoices"), ("PUT", "/v2/invoices/invoices-4")]
    invoice = calls[-2]["body"]["invoice"]
    assert (invoice["state"], invoice["invoiceNo"], calls[-1]["body"]) == (
        "draft", "INV/2026/00001", {"invoice": {"state": "approved"}})  # fmt: skip
    assert [line["productId"] for line in invoice["lines"]] == ["products-2", "products-3"]
    # And Billy's own arithmetic on it gives the source's total: 82.43 net + 14.61 VAT = 97.04
    assert preview_totals(calls) == (D("82.43"), D("14.61"), D("97.04"))
