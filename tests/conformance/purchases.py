"""The canonical purchase documents every target books: a supplier's invoices as Banqup hands them over (UBL read
into Koppel's model), with what the bookkeeper expects to see booked, worked out by hand.

Amounts are excl. VAT, as UBL states them; a credit note is negative. The supplier's invoice number is the natural
key, unique per supplier only: two suppliers both use ``F-1001``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from koppel.model import Address, DocumentEvent, Line, Party, Payment, SalesDocument, VatCategory

D = Decimal
ISSUED = date(2026, 11, 20)
OCCURRED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

VAN_DIJK = Party(
    name="Groothandel Van Dijk BV",
    email="facturen@vandijk.example",
    is_business=True,
    vat_number="NL001234567B01",
    coc_number="12345678",
    iban="NL91ABNA0417164300",
    billing_address=Address(street="Industrieweg 4", postcode="3542 AD", city="Utrecht", country_code="NL"),
)
SCHMIDT = Party(
    name="Bürobedarf Schmidt GmbH",
    email="rechnung@schmidt.example",
    is_business=True,
    vat_number="DE987654321",
    billing_address=Address(street="Lindenstraße 9", postcode="50667", city="Köln", country_code="DE"),
)
DE_STEIGER = Party(
    name="Bouwbedrijf De Steiger",
    is_business=True,
    vat_number="NL002345678B01",
    coc_number="23456789",
    billing_address=Address(street="Havenkade 2", postcode="1011 AA", city="Amsterdam", country_code="NL"),
)


@dataclass(frozen=True)
class PurchaseCase:
    """One supplier's document and what its booking must show: total, net and VAT per rate (VAT only where the
    invoice itself charges it: a reverse-charged line's self-assessed VAT is the target's own business)."""

    name: str
    document: SalesDocument
    total: Decimal
    net: dict[Decimal, Decimal]
    vat: dict[Decimal, Decimal] = field(default_factory=dict)

    def event(self, connection_id: str = "conformance") -> DocumentEvent:
        doc = self.document
        return DocumentEvent(
            event_id=f"conformance:purchase:{doc.party.name}:{doc.number}",
            tenant_id="conformance",
            connection_id=connection_id,
            source="conformance",
            occurred_at=OCCURRED,
            kind="credit_note.created" if doc.doc_type == "credit_note" else "invoice.created",
            payload=doc,
        )


def _line(text: str, amount: str, rate: int, category: VatCategory = "standard") -> Line:
    return Line(description=text, unit_price=D(amount), amount=D(amount), vat_rate=D(rate), vat_category=category)


def purchase(
    number: str, lines: list[Line], total: str, *, party: Party = VAN_DIJK, vat: str | None = None, **fields: object
) -> SalesDocument:
    return SalesDocument.model_validate(
        {
            "direction": "purchase",
            "source_id": f"file-{party.name[:8]}-{number}",
            "number": number,
            "issue_date": ISSUED,
            "due_days": 30,
            "currency": "EUR",
            "prices_include_vat": False,
            "party": party,
            "lines": tuple(lines),
            "total": D(total),
            "total_vat": D(vat) if vat is not None else None,
            **fields,
        }
    )


PURCHASES: tuple[PurchaseCase, ...] = (
    # 100.00 at 21 % (21.00) and 50.00 at 9 % (4.50).
    PurchaseCase("domestic_two_rates",
                 purchase("F-1001", [_line("Kantoorartikelen", "100.00", 21), _line("Koffie en thee", "50.00", 9)],
                          "175.50", vat="25.50"),
                 D("175.50"), {D(21): D("100.00"), D(9): D("50.00")}, {D(21): D("21.00"), D(9): D("4.50")}),
    # 120.00 at 21 % (25.20) and an exempt 30.00 (a course): 175.20.
    PurchaseCase("standard_and_exempt",
                 purchase("F-1002", [_line("Printerpapier", "120.00", 21), _line("Cursus boekhouden", "30.00", 0,
                                                                                  "exempt")], "175.20", vat="25.20"),
                 D("175.20"), {D(21): D("120.00"), D(0): D("30.00")}, {D(21): D("25.20")}),
    # A subcontractor's invoice with VAT reverse-charged (btw verlegd): 1,000.00 and no VAT on the invoice.
    PurchaseCase("domestic_reverse_charge",
                 purchase("2026-077", [_line("Metselwerk week 47", "1000.00", 0, "reverse_charge")], "1000.00",
                          party=DE_STEIGER, vat="0.00"),
                 D("1000.00"), {D(0): D("1000.00")}),
    # An intra-EU acquisition from Germany: 200.00, VAT 0 on the invoice (category K), self-assessed by the buyer.
    PurchaseCase("intra_eu_acquisition",
                 purchase("F-1001", [_line("Bureaustoelen", "200.00", 0, "intra_eu")], "200.00", party=SCHMIDT,
                          vat="0.00"),
                 D("200.00"), {D(0): D("200.00")}),
    # The supplier credits 40.00 at 21 %: -40.00 and -8.40.
    PurchaseCase("credit_note",
                 purchase("C-0042", [_line("Retour kantoorartikelen", "-40.00", 21)], "-48.40", vat="-8.40",
                          doc_type="credit_note"),
                 D("-48.40"), {D(21): D("-40.00")}, {D(21): D("-8.40")}),
    # A German supplier charging German VAT (19 % on 100.00): not deductible here, and no default ledger for it.
    PurchaseCase("foreign_vat",
                 purchase("F-1003", [_line("Messestand Köln", "100.00", 19)], "119.00", party=SCHMIDT, vat="19.00",
                          vat_country="DE"),
                 D("119.00"), {D(19): D("100.00")}, {D(19): D("19.00")}),
)  # fmt: skip

RECEIPT = PurchaseCase(
    # A till receipt of a supplier, paid by card when it was handed over: 40.00 at 21 % (8.40).
    "receipt_paid",
    purchase("BON-7731", [_line("Schoonmaakmiddelen", "40.00", 21)], "48.40", vat="8.40", is_paid=True,
             payments=(Payment(method="card", amount=D("48.40"), paid_on=ISSUED, description="PIN"),)),
    D("48.40"), {D(21): D("40.00")}, {D(21): D("8.40")},
)  # fmt: skip
"""Booked with its payment, so it does not stay open with the supplier (separate from PURCHASES: a target books the
payment only where it takes purchase payments)."""

FOREIGN_VAT_REFUSAL = r"(?i)(DE|German|foreign|another country).*VAT|VAT.*(DE|German|foreign|another country)"
"""What every target says when it is handed VAT of another country its default mapping cannot place."""
BY_NAME = {case.name: case for case in PURCHASES}
