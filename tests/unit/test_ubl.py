"""UBL 2.1 invoices and credit notes read into the canonical document, and booked to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest

from koppel.booking import plan_booking
from koppel.model import Payment, SalesDocument
from koppel.ubl import read_ubl

D = Decimal
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ubl"


def read(name: str, ours: Literal["buyer", "seller"] = "buyer") -> SalesDocument:
    return read_ubl((FIXTURES / name).read_bytes(), ours=ours, source_id=f"banqup:{name}")


def vat_totals(doc: SalesDocument) -> list[tuple[Decimal, str | None, Decimal, Decimal]]:
    return [(t.rate, t.category, t.base, t.vat) for t in plan_booking(doc).vat_totals]


def test_official_base_example_as_a_purchase() -> None:
    # Given the official Peppol base example (a GB supplier, a SE buyer, two lines and an insurance charge at 25 %)
    # When the buyer's administration reads it
    doc = read("base-example.xml")
    # Then the supplier is the party, with its ids, address and the account to pay
    assert (doc.direction, doc.counterparty_role, doc.doc_type) == ("purchase", "supplier", "invoice")
    assert (doc.number, doc.issue_date, doc.due_days, doc.currency) == ("Snippet1", date(2017, 11, 13), 18, "EUR")
    assert doc.party.name == "SupplierTradingName Ltd."
    assert (doc.party.vat_number, doc.party.coc_number, doc.party.iban) == ("GB1232434", "GB983294", "IBAN32423940")
    assert doc.party.billing_address.street == "Main street 1 Postbox 123"
    assert (doc.party.billing_address.postcode, doc.party.billing_address.country_code) == ("GB 123 EW", "GB")
    assert doc.party.is_business
    assert doc.reference == "0150abc"
    # And the lines are net, with the charge as an extra cost, all standard-rated at 25 %
    assert [(line.kind, line.quantity, line.unit_price, line.amount) for line in doc.lines] == [
        ("goods", D(7), D(400), D(2800)),
        ("goods", D(-3), D(500), D(-1500)),
        ("extra_cost", D(1), D(25), D(25)),
    ]
    assert doc.lines[0].description == "item name — Description of item"
    assert {(line.vat_rate, line.vat_category) for line in doc.lines} == {(D(25), "standard")}
    # And a GB supplier charging VAT to a SE buyer charges foreign VAT
    assert doc.vat_country == "GB"
    # And it books to the cent: 1325.00 net + 331.25 VAT = 1656.25
    assert vat_totals(doc) == [(D(25), "standard", D("1325.00"), D("331.25"))]
    assert plan_booking(doc).total == doc.total == D("1656.25")


def test_official_base_example_as_a_sale_names_the_customer() -> None:
    # Given the same example
    # When the seller's administration reads it
    doc = read("base-example.xml", ours="seller")
    # Then the customer is the party, with its contact, and no supplier account or foreign VAT
    assert (doc.direction, doc.counterparty_role) == ("sales", "customer")
    assert (doc.party.name, doc.party.vat_number, doc.party.email) == (
        "BuyerTradingName AS",
        "SE4598375937",
        "lj@buyer.se",
    )
    assert (doc.party.phone, doc.party.contact_name, doc.party.iban) == ("23434234", "Lisa Johnson", "")
    assert doc.vat_country is None


def test_official_vat_category_s_example_books_two_rates_with_allowance_and_charge() -> None:
    # Given the official example with lines at 25 % and 15 %, a cleaning charge and a discount at 25 %
    doc = read("Vat-category-S.xml")
    # Then the charge and the allowance are lines of their own with their rate
    assert [(line.kind, line.amount, line.description) for line in doc.lines[3:]] == [
        ("extra_cost", D(200), "Cleaning"),
        ("discount", D(-100), "Discount"),
    ]
    # And the booking matches the document's VAT per rate to the cent
    assert vat_totals(doc) == [
        (D(25), "standard", D("5000.00"), D("1250.00")),
        (D(15), "standard", D("2000.00"), D("300.00")),
    ]
    assert plan_booking(doc).total == doc.total == D("8550.00")


def test_credit_note_carries_negative_amounts() -> None:
    # Given a CreditNote stating positive amounts, with its due date in the payment means
    doc = read("credit-note.xml")
    # Then it is a credit note whose lines, VAT and total are negative, quantities as stated
    assert doc.doc_type == "credit_note"
    assert [(line.quantity, line.unit_price, line.amount) for line in doc.lines] == [
        (D(500), D("-0.12"), D("-60.00")),
        (D("1.5"), D("-65.00"), D("-97.50")),
    ]
    assert (doc.total, doc.total_vat, doc.due_days) == (D("-190.58"), D("-33.08"), 14)
    assert doc.description == "Credit for misprinted flyers (invoice 2026-0412)"
    assert plan_booking(doc).total == D("-190.58")


def test_negative_invoice_stays_an_invoice() -> None:
    # Given an Invoice whose returned goods make it negative
    doc = read("negative-invoice.xml")
    # Then it is booked as a negative invoice, not turned into a credit note
    assert (doc.doc_type, doc.total, doc.total_vat) == ("invoice", D("-63.53"), D("-11.03"))
    assert plan_booking(doc).total == D("-63.53")


def test_document_allowances_and_charges_at_two_rates_book_per_rate() -> None:
    # Given allowances and charges at 21 % and at 9 %
    doc = read("allowance-charge-two-rates.xml")
    # Then each is a line at its own rate, allowances negative
    assert [(line.kind, line.amount, line.vat_rate) for line in doc.lines[2:]] == [
        ("discount", D("-10.00"), D(21)),
        ("extra_cost", D("12.50"), D(9)),
        ("extra_cost", D("3.25"), D(21)),
        ("discount", D("-2.40"), D(9)),
    ]
    # And the VAT per rate is the document's own: 83.25 at 21 %, 84.10 at 9 %
    assert vat_totals(doc) == [
        (D(21), "standard", D("83.25"), D("17.48")),
        (D(9), "standard", D("84.10"), D("7.57")),
    ]
    assert plan_booking(doc).total == doc.total == D("192.40")


def test_line_level_allowance_is_in_the_line_amount() -> None:
    # Given 25 posters at 4.40 with a 10.00 volume discount on the line
    doc = read("line-allowance.xml")
    # Then the line is booked at its net 100.00, the discount shown per unit, and no extra discount line
    poster = doc.lines[0]
    assert (poster.quantity, poster.unit_price, poster.discount, poster.amount) == (D(25), D("4.40"), D("0.4"), D(100))
    assert [line.kind for line in doc.lines] == ["goods", "goods"]
    assert plan_booking(doc).total == doc.total == D("229.84")


@pytest.mark.parametrize(
    ("name", "ours", "groups", "total"),
    [
        (
            "mixed-s-e.xml",
            "buyer",
            [(D(21), "standard", D("240.00"), D("50.40")), (D(0), "exempt", D("350.00"), D("0.00"))],
            D("640.40"),
        ),
        ("reverse-charge-ae.xml", "buyer", [(D(0), "reverse_charge", D("340.00"), D("0.00"))], D("340.00")),
        ("intra-eu-k.xml", "buyer", [(D(0), "intra_eu", D("1273.50"), D("0.00"))], D("1273.50")),
        ("export-g.xml", "seller", [(D(0), "export", D("390.50"), D("0.00"))], D("390.50")),
    ],
)
def test_vat_categories_are_booked_apart(
    name: str, ours: Literal["buyer", "seller"], groups: list[tuple[Decimal, str, Decimal, Decimal]], total: Decimal
) -> None:
    # Given a document in categories other than plain standard-rated VAT
    # When it is read
    doc = read(name, ours)
    # Then each category is booked apart at 0 %, and nothing is foreign VAT
    assert vat_totals(doc) == groups
    assert plan_booking(doc).total == doc.total == total
    assert doc.vat_country is None


def test_intra_eu_supply_from_a_german_supplier() -> None:
    # Given a German supplier's intra-community supply (K) to a Dutch buyer
    doc = read("intra-eu-k.xml")
    # Then the supplier and its German account are read, and the lines are intra-EU at 0 %
    assert (doc.party.name, doc.party.vat_number, doc.party.iban) == (
        "Papierfabrik Müller GmbH",
        "DE123456789",
        "DE89370400440532013000",
    )
    assert {(line.vat_category, line.vat_rate) for line in doc.lines} == {("intra_eu", D(0))}
    assert doc.lines[1].unit_price == D("0.0375")


def test_german_supplier_charging_german_vat_is_foreign_vat() -> None:
    # Given a German supplier charging 19 % and 7 % German VAT to a Dutch buyer
    doc = read("german-vat-de.xml")
    # Then the document's VAT country is Germany, and it books at the German rates
    assert doc.vat_country == "DE"
    assert vat_totals(doc) == [
        (D(19), "standard", D("1250.00"), D("237.50")),
        (D(7), "standard", D("222.00"), D("15.54")),
    ]
    assert plan_booking(doc).total == D("1725.04")


def test_prepaid_amount_is_a_payment_on_the_issue_date() -> None:
    # Given an invoice of 450.12 on which a deposit of 100.00 was paid
    doc = read("prepaid.xml")
    # Then the total stays 450.12 and the deposit is a payment booked with it
    assert doc.total == D("450.12")
    assert doc.payments == (
        Payment(method="other", amount=D("100.00"), paid_on=date(2026, 12, 1), description="Prepaid"),
    )
    assert plan_booking(doc).total == D("450.12")


def test_payable_rounding_is_a_line_outside_the_scope_of_vat() -> None:
    # Given an invoice of 32.10 rounded down by 0.02 to a payable 32.08
    doc = read("rounding.xml")
    # Then the rounding is a line of its own at 0 % outside the scope of VAT, and the total includes it
    rounding = doc.lines[-1]
    assert (rounding.kind, rounding.amount, rounding.vat_rate, rounding.vat_category) == (
        "rounding",
        D("-0.02"),
        D(0),
        "outside_scope",
    )
    assert doc.total == D("32.08")
    assert plan_booking(doc).total == D("32.08")


def test_second_tax_total_in_the_tax_currency_is_left_out() -> None:
    # Given a EUR invoice that also states its VAT in SEK (cbc:TaxCurrencyCode)
    doc = read("tax-currency.xml")
    # Then the VAT is the EUR one
    assert (doc.currency, doc.total_vat, doc.total) == ("EUR", D("165.90"), D("955.90"))
    assert plan_booking(doc).total == D("955.90")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xml") if p.stem not in {
    "billion-laughs", "xxe", "unbalanced-subtotal"}))  # fmt: skip
@pytest.mark.parametrize("ours", ["buyer", "seller"])
def test_every_readable_fixture_books_to_its_stated_total(name: str, ours: Literal["buyer", "seller"]) -> None:
    # Given any readable fixture, from either side
    doc = read(name, ours)
    # When it is booked
    booking = plan_booking(doc)
    # Then net plus VAT is the stated total to the cent, and only a purchase can carry foreign VAT
    assert booking.net_total + booking.vat_total == booking.total == doc.total
    assert ours == "buyer" or doc.vat_country is None


def test_an_invoice_typed_381_is_a_credit_note() -> None:
    # Given an Invoice root whose InvoiceTypeCode says credit note (381), stating positive amounts
    text = (FIXTURES / "mixed-s-e.xml").read_text(encoding="utf-8")
    data = text.replace("<cbc:InvoiceTypeCode>380<", "<cbc:InvoiceTypeCode>381<").encode("utf-8")
    # When it is read
    doc = read_ubl(data, ours="buyer", source_id="banqup:381")
    # Then it is a credit note with negative amounts
    assert (doc.doc_type, doc.total, doc.total_vat) == ("credit_note", D("-640.40"), D("-50.40"))
    assert plan_booking(doc).total == D("-640.40")


@pytest.mark.parametrize(
    ("due", "due_days", "review"),
    [("", None, False), ("<cbc:DueDate>2026-12-01</cbc:DueDate>", 0, False),
     ("<cbc:DueDate>2026-11-20</cbc:DueDate>", None, True)],
)  # fmt: skip
def test_due_days_from_the_due_date(due: str, due_days: int | None, review: bool) -> None:
    # Given an invoice of 1 December without a due date, due the same day, or "due" before it was issued
    text = (FIXTURES / "prepaid.xml").read_text(encoding="utf-8")
    data = text.replace("<cbc:DueDate>2026-12-31</cbc:DueDate>", due).encode("utf-8")
    # When it is read
    doc = read_ubl(data, ours="buyer", source_id="banqup:due")
    # Then the days follow the due date, and an impossible one is left out with a note for a person to check
    assert doc.due_days == due_days
    assert bool(doc.review) is review
