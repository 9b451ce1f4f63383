"""The documents an accounting firm's clients receive in Banqup, as the demo and the recorded events use them.

A Dutch bakery (Bakkerij Jansen BV) receives: a wholesaler's UBL invoice at 9 % and 21 %, a subcontractor's
invoice with the VAT reverse-charged ("btw verlegd"), a scanned PDF that Banqup's Document Processor read without
its due date (booked, and flagged for review), a till receipt (booked as paid), a bank statement (not bookable:
skipped, and said why), the wholesaler's credit note; and it sends a sales invoice of its own through Banqup. A
Danish design studio (Nordisk Design ApS, booking in Billy) receives invoices at Danish 25 % VAT: in DKK, and one in
EUR, the currency a Danish supplier may invoice in; Billy's purchase mapping takes both by their percentage.

Every amount is worked out here from the lines, to the cent, the way the supplier's software would: what a target
must show is what this module says (``Planned.total``, ``Planned.net``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.koppelingen.banqup.ubl import Company, UblDocument, UblLine

if TYPE_CHECKING:
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox

D = Decimal
EVENT_DAY = date(2026, 11, 20)
"""The issue date of the documents the recorded events name."""
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
"""A scan's bytes: Koppel books a PDF from Banqup's extraction and keeps the file itself as the original."""

JANSEN = Company(
    "Bakkerij Jansen BV", "NL", "NL123456789B01", "12345678", "Dorpsstraat 1", "3511 AB", "Utrecht",
    "administratie@bakkerijjansen.nl", "NL02RABO0123456789",
)  # fmt: skip
VAN_DIJK = Company(
    "Meelfabriek Van Dijk BV", "NL", "NL001234567B01", "30123456", "Industrieweg 4", "3542 AD", "Utrecht",
    "facturen@meelfabriekvandijk.nl", "NL91ABNA0417164300",
)  # fmt: skip
DE_STEIGER = Company(
    "Bouwbedrijf De Steiger", "NL", "NL002345678B01", "23456789", "Havenkade 2", "1011 AA", "Amsterdam",
    "facturen@desteiger.nl", "NL44INGB0001234567",
)  # fmt: skip
HET_HOEKJE = Company("Café Het Hoekje", "NL", "NL004567890B01", "45678901", "Markt 3", "3511 AC", "Utrecht")
ENERGIE = Company(
    "Energie Direct BV", "NL", "NL005678901B01", "56789012", "Stationsplein 1", "5211 AP", "'s-Hertogenbosch",
    "facturen@energiedirect.example", "NL20INGB0007654321",
)  # fmt: skip
NORDISK = Company("Nordisk Design ApS", "DK", "DK12345674", "12345674", "Vesterbrogade 10", "1620", "København V")
KONTORLAND = Company(
    "Kontorland A/S", "DK", "DK87654328", "87654328", "Industrivej 7", "2600", "Glostrup", "faktura@kontorland.dk",
    "DK5000400440116243",
)  # fmt: skip
BACKSTUBE = Company(
    "Backstube Müller GmbH", "DE", "DE123456789", "HRB 12345", "Hauptstraße 5", "47533", "Kleve",
    "rechnung@backstube-mueller.example", "DE89370400440532013000",
)  # fmt: skip
MESSEBYG = Company("Messebyg ApS", "DK", "DK23456781", "23456781", "Havnegade 4", "8000", "Aarhus C")


@dataclass(frozen=True)
class Planned:
    """One document as it lands in a client's space, and what booking it must show."""

    key: str
    what: str
    """As the bookkeeper would name it."""
    number: str
    content: bytes
    filename: str
    folder: str = "PURCHASES"
    category: str = "INVOICE"
    extraction: dict[str, Any] | None = None
    net: dict[Decimal, Decimal] = field(default_factory=dict)
    """Net per VAT rate, negative for a credit note."""
    total: Decimal = field(default_factory=Decimal)
    currency: str = "EUR"
    counterparty: str = ""

    @property
    def bookable(self) -> bool:
        return self.category != "BANK_STATEMENT"


def _from_ubl(key: str, what: str, document: UblDocument, *, folder: str = "PURCHASES") -> Planned:
    sign = D(-1) if document.credit_note else D(1)
    net: dict[Decimal, Decimal] = {}
    for (_, percent), (taxable, _) in document.vat_parts().items():
        net[percent] = net.get(percent, D(0)) + sign * taxable
    party = document.supplier if folder == "PURCHASES" else document.customer
    return Planned(
        key, what, document.number, document.xml(), f"{document.number}.xml", folder,
        "CREDIT_NOTE" if document.credit_note else "INVOICE", net=net, total=sign * document.total,
        currency=document.currency, counterparty=party.name,
    )  # fmt: skip


def _scan(key: str, what: str, filename: str, extraction: dict[str, Any], *, category: str = "INVOICE") -> Planned:
    parts = extraction["vatBreakdown"]
    return Planned(
        key, what, extraction["invoiceNumber"], PDF, filename, category=category, extraction=extraction,
        net={D(p["rate"]): D(p["taxableAmount"]) for p in parts}, total=D(extraction["totalAmount"]),
        currency=extraction.get("currency", "EUR"), counterparty=extraction["supplier"]["name"],
    )  # fmt: skip


def dutch_documents(today: date) -> list[Planned]:
    """What Bakkerij Jansen receives (and sends) in Banqup in a week, issued up to ``today``."""
    issued, due = today - timedelta(days=2), today + timedelta(days=28)
    flour = UblDocument(f"VD-{today:%Y}-0412", issued, VAN_DIJK, JANSEN, (
        UblLine("Tarwebloem 25 kg", D(20), D("18.50"), D(9)),
        UblLine("Gist 500 g", D(12), D("2.35"), D(9)),
        UblLine("Schoonmaakmiddel bakkerij", D(4), D("12.95"), D(21)),
    ), due=due)  # fmt: skip
    rebuild = UblDocument(f"{today:%Y}-077", issued, DE_STEIGER, JANSEN, (
        UblLine("Verbouwing winkel, week 47", D(1), D("2450.00"), D(0), "AE"),
    ), due=due, note="BTW verlegd")  # fmt: skip
    credit = UblDocument(f"VD-{today:%Y}-C031", today, VAN_DIJK, JANSEN, (
        UblLine("Retour: beschadigde zakken tarwebloem", D(2), D("18.50"), D(9)),
    ), due=due, credit_note=True, references=(flour.number,))  # fmt: skip
    cakes = UblDocument(f"BJ-{today:%Y}-0198", today, JANSEN, HET_HOEKJE, (
        UblLine("Appeltaart", D(6), D("14.50"), D(9)),
        UblLine("Tompoucen (doos van 10)", D(3), D("16.00"), D(9)),
    ), due=today + timedelta(days=14))  # fmt: skip
    packaging = {
        "supplier": {"name": "Verpakkingen Noord BV", "vatNumber": "NL003456789B01", "registrationNumber": "34567890",
                     "iban": "NL69ABNA0123456789", "countryCode": "NL"},
        "invoiceNumber": "VN-88213", "issueDate": issued.isoformat(), "currency": "EUR", "totalAmount": "193.60",
        "totalVatAmount": "33.60", "vatBreakdown": [{"rate": "21", "taxableAmount": "160.00", "vatAmount": "33.60"}],
    }  # fmt: skip
    receipt = {
        "supplier": {"name": "Bouwmarkt Hornbach", "vatNumber": "NL006789012B01", "registrationNumber": "67890123",
                     "countryCode": "NL"},
        "invoiceNumber": "KASSA-4471-0091", "issueDate": today.isoformat(), "dueDate": today.isoformat(),
        "currency": "EUR", "totalAmount": "29.95", "totalVatAmount": "5.20",
        "vatBreakdown": [{"rate": "21", "taxableAmount": "24.75", "vatAmount": "5.20"}],
    }  # fmt: skip
    return [
        _from_ubl("two_rates", "the wholesaler's invoice at 9 % and 21 % (UBL)", flour),
        _from_ubl("reverse_charge", "a subcontractor's invoice, VAT reverse-charged (UBL)", rebuild),
        _scan("scan", "a scanned invoice without its due date (PDF)", "verpakkingen-noord.pdf", packaging),
        _scan("receipt", "a till receipt, paid (PDF)", "hornbach-bon.pdf", receipt, category="RECEIPT"),
        Planned(
            "bank_statement", "a bank statement (PDF)", "", PDF, "rabobank-afschrift-11.pdf", category="BANK_STATEMENT"
        ),
        _from_ubl("sales", "a sales invoice to Café Het Hoekje (UBL)", cakes, folder="SALES"),
        _from_ubl("credit_note", "the wholesaler's credit note (UBL)", credit),
    ]


def before_activation(today: date) -> Planned:
    """An invoice that reached Banqup a week before the firm connected the space: left until a backfill."""
    issued = today - timedelta(days=7)
    power = UblDocument(f"ED-{issued:%Y%m}-55120", issued, ENERGIE, JANSEN, (
        UblLine("Stroom en gas oktober", D(1), D("612.40"), D(21)),
    ), due=issued + timedelta(days=14))  # fmt: skip
    return _from_ubl("before", "last week's energy bill (UBL), from before the connection", power)


def german_invoice(today: date) -> Planned:
    """A German bakery's invoice with German VAT (19 %): not deductible in the Netherlands, so a target refuses it
    until the connection names a ledger for foreign VAT (the console's part fixes it there)."""
    molds = UblDocument(f"BM-{today:%Y}-3307", today, BACKSTUBE, JANSEN, (
        UblLine("Backformen Edelstahl", D(10), D("24.90"), D(19)),
    ), due=today + timedelta(days=30))  # fmt: skip
    return _from_ubl("german", "a German supplier's invoice with 19 % German VAT (UBL)", molds)


def danish_documents(today: date) -> list[Planned]:
    """What Nordisk Design receives: Danish 25 % VAT, in DKK and in EUR."""
    issued, due = today - timedelta(days=1), today + timedelta(days=30)
    chairs = UblDocument(f"KL-{today:%Y}-20931", issued, KONTORLAND, NORDISK, (
        UblLine("Kontorstol Ergo 2", D(2), D("1899.00"), D(25)),
    ), currency="DKK", due=due)  # fmt: skip
    stand = UblDocument(f"MB-{today:%Y}-0107", issued, MESSEBYG, NORDISK, (
        UblLine("Messestand, Formland Herning", D(1), D("640.00"), D(25)),
    ), currency="EUR", due=due)  # fmt: skip
    return [
        _from_ubl("danish_dkk", "office chairs at 25 % in DKK (UBL)", chairs),
        _from_ubl("danish_eur", "a fair stand at 25 % in EUR (UBL)", stand),
    ]


def add_document(
    banqup: BanqupSandbox,
    space_id: str,
    planned: Planned,
    *,
    created_at: datetime | None = None,
    file_id: str | None = None,
) -> str:
    """The document as Banqup holds it once received (or scanned and read); returns its file id, ``file_id`` when
    given (a recorded event names it)."""
    made = banqup.add_document(
        space_id, planned.content, folder=planned.folder, category=planned.category, filename=planned.filename,
        created_at=created_at or datetime.now(UTC), extraction=planned.extraction,
    )  # fmt: skip
    if file_id is None:
        return str(made["id"])
    with banqup.lock:  # the sandbox makes random file ids; a recorded event needs the one it names
        document = banqup.documents.pop(str(made["id"]))
        document.id = file_id
        banqup.documents[file_id] = document
    return file_id
