"""A seeded stream of many Banqup documents for `make chaos KOPPELING=banqup_<target>`: what an accounting firm's
clients receive over weeks, spread over several client spaces, each document with what Koppel must do with it.

Kinds (shares in ``MIX``): UBL purchase invoices with mixed rates and VAT categories, UBL credit notes, scanned PDFs
read by Banqup's Document Processor (some without a due date, currency or VAT number: booked with review notes),
PDFs read without a required field (parked until a person completes them in Banqup), till receipts (paid
purchases), bank statements (not bookable: skipped with why), UBL sales invoices, and suppliers charging another
country's VAT (refused by the target with the reason). For Billy, a Danish organization, the documents are in DKK
at Danish rates, the ones its purchase mapping takes; for the Dutch packages in EUR at 21, 9 and 0 %.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

from devkit.koppelingen.banqup.ubl import CENT, Company, UblDocument, UblLine

if TYPE_CHECKING:
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox

Outcome = Literal["booked", "skipped", "unreadable", "refused"]
"""What must become of a document: booked once; skipped (kept in the history with why); parked because it cannot
be read (the source's problem); parked because the target refuses it (foreign VAT)."""

MIX: tuple[tuple[str, float], ...] = (
    ("purchase invoice (UBL)", 0.38),
    ("credit note (UBL)", 0.08),
    ("purchase invoice (PDF)", 0.14),
    ("PDF missing a required field", 0.05),
    ("receipt", 0.08),
    ("bank statement", 0.06),
    ("sales invoice (UBL)", 0.12),
    ("foreign VAT (UBL)", 0.04),
    ("other document", 0.05),
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass(frozen=True)
class Country:
    """Where the clients are: their currency, VAT rates by category, and a foreign supplier's VAT."""

    code: str
    currency: str
    rates: tuple[tuple[str, Decimal], ...]
    """(category, percent) a domestic line may carry."""
    foreign: tuple[str, Decimal] = ("DE", Decimal(19))
    sales: bool = True
    """Whether the target books Banqup's sales invoices too (Billy books its purchases)."""


NL = Country("NL", "EUR", (("S", Decimal(21)), ("S", Decimal(9)), ("Z", Decimal(0))))
DK = Country("DK", "DKK", (("S", Decimal(25)),), sales=False)


@dataclass(frozen=True)
class Planned:
    """One document placed in Banqup, and what must become of it."""

    file_id: str
    space: str
    """The client space's id: each space is its own connection and its own books in the target."""
    kind: str
    outcome: Outcome
    number: str
    """The invoice number the target books (its document number), "" for what is not booked."""
    direction: Literal["purchase", "sales"] = "purchase"
    party: str = ""
    total: Decimal = Decimal(0)
    """Signed: a credit note's total is negative, as the target books it."""
    net: dict[Decimal, Decimal] = field(default_factory=dict)
    """VAT rate → net amount (signed)."""
    vat: dict[Decimal, Decimal] = field(default_factory=dict)
    """VAT rate → VAT amount (signed)."""


@dataclass
class Made:
    planned: list[Planned] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def of(self, outcome: Outcome) -> list[Planned]:
        return [p for p in self.planned if p.outcome == outcome]


class DocumentMaker:
    """Places seeded documents in the given client spaces, each with the time Banqup received it."""

    def __init__(
        self, banqup: BanqupSandbox, spaces: dict[str, Company], country: Country, seed: int, today: date
    ) -> None:
        self.banqup = banqup
        self.spaces = spaces
        """Space id → the client (the buyer of its purchases, the seller of its sales)."""
        self.country = country
        self.rng = random.Random(seed)
        self.today = today
        self.made = Made()
        self._sequence = 0
        self._suppliers = [self._company(f"Leverancier {letter}", country.code) for letter in "ABCDEFGH"]
        self._customers = [self._company(f"Klant {letter}", country.code) for letter in "PQRS"]
        self._foreign = self._company("Großhandel Schmidt GmbH", country.foreign[0])

    def batch(self, size: int, created_at: datetime) -> list[Planned]:
        """``size`` documents received a millisecond apart from ``created_at`` on, in random spaces."""
        mix = [(kind, share) for kind, share in MIX if self.country.sales or kind != "sales invoice (UBL)"]
        kinds, weights = zip(*mix, strict=True)
        made = []
        for offset in range(size):
            kind = self.rng.choices(kinds, weights)[0]
            space = self.rng.choice(sorted(self.spaces))
            planned = self._place(kind, space, created_at + timedelta(milliseconds=offset))
            self.made.planned.append(planned)
            self.made.counts[kind] += 1
            made.append(planned)
        return made

    # -- one document -------------------------------------------------------------------------------------------
    def _place(self, kind: str, space: str, at: datetime) -> Planned:
        self._sequence += 1
        number = f"{self.country.code}{self._sequence:05d}"
        if kind in ("purchase invoice (UBL)", "credit note (UBL)", "foreign VAT (UBL)", "sales invoice (UBL)"):
            return self._ubl(kind, space, number, at)
        if kind in ("bank statement", "other document"):
            category = "BANK_STATEMENT" if kind == "bank statement" else "OTHER"
            added = self.banqup.add_document(space, PDF, category=category, filename=f"{number}.pdf", created_at=at)
            return Planned(added["id"], space, kind, "skipped", "")
        return self._pdf(kind, space, number, at)

    def _ubl(self, kind: str, space: str, number: str, at: datetime) -> Planned:
        client = self.spaces[space]
        sales = kind == "sales invoice (UBL)"
        supplier = client if sales else self._foreign if kind == "foreign VAT (UBL)" else self._pick(self._suppliers)
        customer = self._pick(self._customers) if sales else client
        rates = (("S", self.country.foreign[1]),) if kind == "foreign VAT (UBL)" else self.country.rates
        lines = tuple(self._line(rates) for _ in range(self.rng.randint(1, 4)))
        issued = at.date() - timedelta(days=self.rng.randint(0, 10))
        credit = kind == "credit note (UBL)"
        document = UblDocument(
            number=number, issued=issued, supplier=supplier, customer=customer, lines=lines,
            currency=self.country.currency, due=issued + timedelta(days=self.rng.choice((14, 30))),
            credit_note=credit, references=(f"{self.country.code}{max(1, self._sequence - 7):05d}",) if credit else (),
        )  # fmt: skip
        folder = "SALES" if sales else "PURCHASES"
        category = "CREDIT_NOTE" if credit else "INVOICE"
        added = self.banqup.add_document(
            space, document.xml(), folder=folder, category=category, filename=f"{number}.xml", created_at=at
        )
        sign = Decimal(-1) if credit else Decimal(1)
        net, vat = _per_rate(((p, t, v) for (_, p), (t, v) in document.vat_parts().items()), sign)
        return Planned(
            added["id"], space, kind, "refused" if kind == "foreign VAT (UBL)" else "booked", number,
            "sales" if sales else "purchase", (customer if sales else supplier).name, sign * document.total, net, vat,
        )  # fmt: skip

    def _pdf(self, kind: str, space: str, number: str, at: datetime) -> Planned:
        supplier = self._pick(self._suppliers)
        parts = []
        for _, percent in self.rng.sample(self._taxed(), k=min(2, len(self._taxed()))):
            taxable = Decimal(self.rng.randint(500, 90000)) / 100
            parts.append((percent, taxable, (taxable * percent / 100).quantize(CENT, ROUND_HALF_UP)))
        issued = at.date() - timedelta(days=self.rng.randint(0, 10))
        extraction: dict[str, Any] = {
            "supplier": {"name": supplier.name, "vatNumber": supplier.vat_number, "countryCode": supplier.country,
                         "registrationNumber": supplier.registration},
            "invoiceNumber": number, "issueDate": issued.isoformat(),
            "dueDate": (issued + timedelta(days=30)).isoformat(), "currency": self.country.currency,
            "totalAmount": str(sum(t + v for _, t, v in parts)), "totalVatAmount": str(sum(v for *_, v in parts)),
            "vatBreakdown": [{"rate": str(p), "taxableAmount": str(t), "vatAmount": str(v)} for p, t, v in parts],
        }  # fmt: skip
        for optional in ("dueDate", "currency"):  # some scans lack what a person then checks (review notes)
            if self.rng.random() < 0.2:
                extraction.pop(optional)
        outcome: Outcome = "booked"
        if kind == "PDF missing a required field":
            extraction.pop(self.rng.choice(("invoiceNumber", "issueDate", "totalAmount", "vatBreakdown")))
            outcome = "unreadable"
        category = "RECEIPT" if kind == "receipt" else "INVOICE"
        added = self.banqup.add_document(
            space, PDF, category=category, filename=f"{number}.pdf", created_at=at, extraction=extraction
        )
        net, vat = _per_rate(parts, Decimal(1))
        total = sum(net.values(), Decimal(0)) + sum(vat.values(), Decimal(0))
        return Planned(
            added["id"], space, kind, outcome, number if outcome == "booked" else "", "purchase", supplier.name,
            total, net, vat,
        )  # fmt: skip

    # -- parts --------------------------------------------------------------------------------------------------
    def _line(self, rates: tuple[tuple[str, Decimal], ...]) -> UblLine:
        category, percent = self.rng.choice(rates)
        quantity = Decimal(self.rng.randint(1, 12))
        price = Decimal(self.rng.randint(99, 49999)) / 100
        return UblLine(f"Artikel {self.rng.randint(100, 999)}", quantity, price, percent, category)

    def _taxed(self) -> list[tuple[str, Decimal]]:
        return [rate for rate in self.country.rates if rate[1] > 0]

    def _pick(self, companies: list[Company]) -> Company:
        return companies[self.rng.randrange(len(companies))]

    @staticmethod
    def _company(name: str, country: str) -> Company:
        digits = f"{zlib.crc32(name.encode()) % 10**8:08d}"  # the same supplier, the same numbers, every run
        vat = {"NL": f"NL{digits}9B01", "DK": f"DK{digits}", "DE": f"DE{digits}1"}.get(country, "")
        return Company(name, country, vat_number=vat, registration=digits, street="Hoofdstraat 1", city="Utrecht",
                       postcode="3511 AB", iban=f"{country}91BANK0{digits}")  # fmt: skip


def _per_rate(parts: Any, sign: Decimal) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    """(percent, taxable, VAT) parts → net and VAT per rate, signed."""
    net: dict[Decimal, Decimal] = {}
    vat: dict[Decimal, Decimal] = {}
    for percent, taxable, tax in parts:
        net[percent] = net.get(percent, Decimal(0)) + sign * taxable
        vat[percent] = vat.get(percent, Decimal(0)) + sign * tax
    return net, vat
