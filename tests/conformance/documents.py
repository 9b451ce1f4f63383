"""The canonical documents every target books, with what a bookkeeper expects to see booked, worked out by hand.

The expectations are written down here, not computed by ``koppel.booking``: the suite checks that what lands in the
vendor's books is what the bookkeeper's rules give (VAT per rate on the rate's total, rounded half up; an order
discount split over the rates in proportion to their goods), whichever code path produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from koppel.model import Address, Discount, DocumentEvent, Line, Party, Payment, SalesDocument, VatTreatment

D = Decimal
ISSUED = date(2026, 11, 20)
OCCURRED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

JANSEN = Party(
    source_id="7",
    code="D1001",
    name="Bakkerij Jansen",
    email="info@jansen.nl",
    is_business=True,
    vat_number="NL123456789B01",
    billing_address=Address(street="Dorpsstraat 1", postcode="1234 AB", city="Utrecht", country_code="NL"),
)
ACME = Party(
    source_id="8",
    code="D2002",
    name="Acme GmbH",
    email="einkauf@acme.de",
    is_business=True,
    vat_number="DE123456789",
    billing_address=Address(street="Hauptstrasse 5", postcode="10115", city="Berlin", country_code="DE"),
)
MAPLE = Party(
    source_id="9",
    code="D3003",
    name="Maple Trading Ltd",
    email="orders@maple.example",
    is_business=True,
    billing_address=Address(street="1 King Street", postcode="M5H 1A1", city="Toronto", country_code="CA"),
)
BOUWER = Party(source_id="10", code="D4004", name="Bouwbedrijf De Steiger", email="inkoop@steiger.nl", is_business=True)
WALK_IN = Party(code="KASSA", name="Kassaverkoop")
MULLER = Party(
    name="Hans Müller", email="hans@mueller.example", billing_address=Address(city="München", country_code="DE")
)


@dataclass(frozen=True)
class Case:
    """One canonical document and what its booking must show: the total, and net and VAT per rate."""

    name: str
    document: SalesDocument
    total: Decimal
    net: dict[Decimal, Decimal]
    vat: dict[Decimal, Decimal] = field(default_factory=dict)
    """Only rates that carry VAT."""

    @property
    def paid(self) -> Decimal:
        return sum((payment.amount for payment in self.document.payments), D(0))

    def event(self, connection_id: str = "conformance") -> DocumentEvent:
        kind = "credit_note.created" if self.document.doc_type == "credit_note" else "invoice.created"
        return DocumentEvent(
            event_id=f"conformance:doc:{self.document.number}",
            tenant_id="conformance",
            connection_id=connection_id,
            source="conformance",
            occurred_at=OCCURRED,
            kind=kind,
            payload=self.document,
        )


def _goods(text: str, amount: str, rate: int, *, quantity: int = 1, discount: str = "0") -> Line:
    """A goods line whose unit price is what the quantity and per-unit discount make of ``amount``."""
    unit = D(amount) / quantity + D(discount)
    return Line(
        description=text,
        quantity=D(quantity),
        unit_price=unit,
        discount=D(discount),
        amount=D(amount),
        vat_rate=D(rate),
    )


def _shipping(amount: str) -> Line:
    """Shipping without a rate of its own: it follows the main rate of the goods."""
    return Line(kind="shipping", description="Verzendkosten", unit_price=D(amount), amount=D(amount))


def _doc(
    number: str,
    lines: list[Line],
    total: str,
    *,
    incl: bool = False,
    party: Party = JANSEN,
    treatment: VatTreatment = "domestic",
    **fields: object,
) -> SalesDocument:
    return SalesDocument.model_validate(
        {
            "source_id": number,
            "number": number,
            "issue_date": ISSUED,
            "currency": "EUR",
            "prices_include_vat": incl,
            "vat_treatment": treatment,
            "party": party,
            "lines": tuple(lines),
            "total": D(total),
            **fields,
        }
    )


_STRESS = [_goods(f"Ansichtkaart {i}", "0.99", 21) for i in range(1, 13)] + [
    _goods(f"Zakje zaden {i}", "3.33", 9) for i in range(1, 8)
]

CASES: tuple[Case, ...] = (
    # 3 x 19.99 excl. VAT at 21 %: 59.97 + 12.59 (12.5937).
    Case("single_rate", _doc("2026-0001", [_goods("T-shirt", "59.97", 21, quantity=3)], "72.56"),
         D("72.56"), {D(21): D("59.97")}, {D(21): D("12.59")}),
    # 59.97 at 21 % (12.59) and 20.00 at 9 % (1.80).
    Case("mixed_rates", _doc("2026-0002", [_goods("T-shirt", "59.97", 21, quantity=3), _goods("Roman", "20.00", 9)],
                             "94.36"),
         D("94.36"), {D(21): D("59.97"), D(9): D("20.00")}, {D(21): D("12.59"), D(9): D("1.80")}),
    # Incl. VAT: 121.00 at 21 % and 109.00 at 9 %, 23.00 off the order split 121 : 109 as 12.10 and 10.90, leaving
    # 108.90 (18.90 VAT) and 98.10 (8.10 VAT).
    Case("document_discount_over_two_rates",
         _doc("2026-0003", [_goods("Fietstas", "121.00", 21), _goods("Kookboek", "109.00", 9)], "207.00", incl=True,
              discounts=(Discount(description="Kortingscode WELKOM", code="WELKOM", amount=D("23.00")),)),
         D("207.00"), {D(21): D("90.00"), D(9): D("90.00")}, {D(21): D("18.90"), D(9): D("8.10")}),
    # 4 x (25.00 less 2.50) excl. VAT = 90.00, plus 5.00 shipping at the goods' rate: 95.00 + 19.95.
    Case("line_discount",
         _doc("2026-0004", [_goods("Bidon", "90.00", 21, quantity=4, discount="2.50"),
                            _shipping("5.00")], "114.95"),
         D("114.95"), {D(21): D("95.00")}, {D(21): D("19.95")}),
    # The mixed invoice credited whole.
    Case("credit_note",
         _doc("2026-0005", [_goods("T-shirt", "-59.97", 21, quantity=3), _goods("Roman", "-20.00", 9)], "-94.36",
              doc_type="credit_note"),
         D("-94.36"), {D(21): D("-59.97"), D(9): D("-20.00")}, {D(21): D("-12.59"), D(9): D("-1.80")}),
    # Goods to a German business with a VAT number: 0 %, the buyer accounts for the VAT (ICP).
    Case("eu_b2b_reverse_charge",
         _doc("2026-0006", [_goods("Racefiets", "500.00", 0), _shipping("25.00")], "525.00",
              party=ACME, treatment="intra_eu"),
         D("525.00"), {D(0): D("525.00")}),
    Case("export_outside_eu",
         _doc("2026-0007", [_goods("Racefiets", "300.00", 0)], "300.00", party=MAPLE, treatment="export"),
         D("300.00"), {D(0): D("300.00")}),
    # Incl. VAT, twelve 0.99 at 21 % and seven 3.33 at 9 %. Per line the VAT would be 12 x 0.17 = 2.04 and
    # 7 x 0.27 = 1.89; on each rate's total it is 11.88 x 21/121 = 2.06 and 23.31 x 9/109 = 1.92.
    Case("rounding_stress", _doc("2026-0008", _STRESS, "35.19", incl=True),
         D("35.19"), {D(21): D("9.82"), D(9): D("21.39")}, {D(21): D("2.06"), D(9): D("1.92")}),
    # Excl. VAT, three lines at 21 % and two at 9 %, whose VAT per line (7.14 + 10.66 + 15.36 and 5.86 + 3.43) adds
    # up to the same 42.45 as per rate (157.88 x 21 % = 33.15, 103.30 x 9 % = 9.30), with a cent on the other rate.
    Case("rounding_moves_a_cent_between_rates",
         _doc("2026-0012", [_goods("Zadel", "33.98", 21), _goods("Pomp", "50.76", 21), _goods("Helm", "73.14", 21),
                            _goods("Atlas", "65.15", 9), _goods("Gids", "38.15", 9)], "303.63"),
         D("303.63"), {D(21): D("157.88"), D(9): D("103.30")}, {D(21): D("33.15"), D(9): D("9.30")}),
    # A till sale incl. VAT, paid 15.00 cash and 20.10 by PIN.
    Case("with_payments",
         _doc("2026-0009", [_goods("T-shirt", "24.20", 21), _goods("Roman", "10.90", 9)], "35.10", incl=True,
              party=WALK_IN, is_paid=True,
              payments=(Payment(method="cash", amount=D("15.00"), paid_on=ISSUED, description="Contant"),
                        Payment(method="card", amount=D("20.10"), paid_on=ISSUED, description="PIN"))),
         D("35.10"), {D(21): D("20.00"), D(9): D("10.00")}, {D(21): D("4.20"), D(9): D("0.90")}),
    # Domestic reverse charge (btw verlegd, e.g. subcontracted building work): 0 % on the invoice.
    Case("domestic_reverse_charge",
         _doc("2026-0010", [_goods("Steigerbouw", "1000.00", 0)], "1000.00", party=BOUWER, treatment="reverse_charge"),
         D("1000.00"), {D(0): D("1000.00")}),
    # A distance sale to a German consumer at the German 19 % (OSS).
    Case("eu_distance_sale_oss",
         _doc("2026-0011", [_goods("Fietsbel", "119.00", 19)], "119.00", incl=True, party=MULLER, treatment="oss"),
         D("119.00"), {D(19): D("100.00")}, {D(19): D("19.00")}),
)  # fmt: skip

BY_NAME = {case.name: case for case in CASES}
