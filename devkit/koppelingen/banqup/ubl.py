"""UBL 2.1 invoices and credit notes (Peppol BIS Billing 3.0 shape) as a supplier's invoicing software writes them:
lines with their VAT category and rate, VAT per category and rate, and totals that add up to the cent. Banqup
receives these over Peppol and keeps them as they are; the dev kit's Banqup documents are made here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from datetime import date

CENT = Decimal("0.01")
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXEMPTION = {"AE": "Reverse charge", "K": "Intra-community supply", "G": "Export outside the EU", "E": "Exempt"}
"""Why no VAT is charged, per EN 16931 category: the reason a 0 % category must carry."""


@dataclass(frozen=True)
class Company:
    name: str
    country: str
    vat_number: str = ""
    registration: str = ""
    """The chamber of commerce (KvK, CVR) number."""
    street: str = ""
    postcode: str = ""
    city: str = ""
    email: str = ""
    iban: str = ""


@dataclass(frozen=True)
class UblLine:
    description: str
    quantity: Decimal
    price: Decimal
    percent: Decimal
    category: str = "S"
    """EN 16931 VAT category: S standard, AE reverse charge, K intra-EU, G export, E exempt, Z zero-rated."""

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.price).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class UblDocument:
    number: str
    issued: date
    supplier: Company
    customer: Company
    lines: tuple[UblLine, ...]
    currency: str = "EUR"
    due: date | None = None
    credit_note: bool = False
    note: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)
    """For a credit note: the numbers of the invoices it credits."""

    def vat_parts(self) -> dict[tuple[str, Decimal], tuple[Decimal, Decimal]]:
        """(category, percent) → (taxable amount, VAT), VAT rounded once per part as EN 16931 does."""
        taxable: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
        for line in self.lines:
            taxable[(line.category, line.percent)] += line.net
        return {key: (amount, (amount * key[1] / 100).quantize(CENT, ROUND_HALF_UP)) for key, amount in taxable.items()}

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal(0))

    @property
    def vat(self) -> Decimal:
        return sum((vat for _, vat in self.vat_parts().values()), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.net + self.vat

    def xml(self) -> bytes:
        root = "CreditNote" if self.credit_note else "Invoice"
        namespace = CREDIT_NOTE_NS if self.credit_note else INVOICE_NS
        head = [
            "<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
            "</cbc:CustomizationID>",
            "<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>",
            _text("cbc:ID", self.number),
            _text("cbc:IssueDate", self.issued.isoformat()),
        ]
        if self.due and not self.credit_note:
            head.append(_text("cbc:DueDate", self.due.isoformat()))
        head.append(_text("cbc:CreditNoteTypeCode" if self.credit_note else "cbc:InvoiceTypeCode",
                          "381" if self.credit_note else "380"))  # fmt: skip
        if self.note:
            head.append(_text("cbc:Note", self.note))
        head.append(_text("cbc:DocumentCurrencyCode", self.currency))
        head += [
            f"<cac:BillingReference><cac:InvoiceDocumentReference>{_text('cbc:ID', ref)}"
            "</cac:InvoiceDocumentReference></cac:BillingReference>"
            for ref in self.references
        ]
        body = [
            f"<cac:AccountingSupplierParty>{_party(self.supplier)}</cac:AccountingSupplierParty>",
            f"<cac:AccountingCustomerParty>{_party(self.customer)}</cac:AccountingCustomerParty>",
            self._payment_means(),
            self._tax_total(),
            self._totals(),
            *(self._line(index, line) for index, line in enumerate(self.lines, start=1)),
        ]
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{namespace}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">'
            + "".join(head + body)
            + f"</{root}>\n"
        ).encode()

    def _amount(self, tag: str, value: Decimal) -> str:
        return f'<{tag} currencyID="{self.currency}">{value:.2f}</{tag}>'

    def _payment_means(self) -> str:
        if not self.supplier.iban:
            return ""
        due = _text("cbc:PaymentDueDate", self.due.isoformat()) if self.due and self.credit_note else ""
        return (
            f"<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>{due}"
            f"{_text('cbc:PaymentID', self.number)}<cac:PayeeFinancialAccount>{_text('cbc:ID', self.supplier.iban)}"
            "</cac:PayeeFinancialAccount></cac:PaymentMeans>"
        )

    def _tax_total(self) -> str:
        parts = "".join(
            f"<cac:TaxSubtotal>{self._amount('cbc:TaxableAmount', taxable)}{self._amount('cbc:TaxAmount', vat)}"
            f"{_category('cac:TaxCategory', category, percent)}</cac:TaxSubtotal>"
            for (category, percent), (taxable, vat) in self.vat_parts().items()
        )
        return f"<cac:TaxTotal>{self._amount('cbc:TaxAmount', self.vat)}{parts}</cac:TaxTotal>"

    def _totals(self) -> str:
        return (
            "<cac:LegalMonetaryTotal>"
            + self._amount("cbc:LineExtensionAmount", self.net)
            + self._amount("cbc:TaxExclusiveAmount", self.net)
            + self._amount("cbc:TaxInclusiveAmount", self.total)
            + self._amount("cbc:PayableAmount", self.total)
            + "</cac:LegalMonetaryTotal>"
        )

    def _line(self, index: int, line: UblLine) -> str:
        kind = "CreditNote" if self.credit_note else "Invoice"
        quantity = "CreditedQuantity" if self.credit_note else "InvoicedQuantity"
        return (
            f"<cac:{kind}Line>{_text('cbc:ID', str(index))}"
            f'<cbc:{quantity} unitCode="C62">{line.quantity}</cbc:{quantity}>'
            f"{self._amount('cbc:LineExtensionAmount', line.net)}"
            f"<cac:Item>{_text('cbc:Name', line.description)}"
            f"{_category('cac:ClassifiedTaxCategory', line.category, line.percent, reason=False)}</cac:Item>"
            f"<cac:Price>{self._amount('cbc:PriceAmount', line.price)}</cac:Price></cac:{kind}Line>"
        )


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"


def _category(tag: str, category: str, percent: Decimal, *, reason: bool = True) -> str:
    why = _text("cbc:TaxExemptionReason", EXEMPTION[category]) if reason and category in EXEMPTION else ""
    return (
        f"<{tag}>{_text('cbc:ID', category)}{_text('cbc:Percent', str(percent))}{why}"
        f"<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></{tag}>"
    )


def _party(company: Company) -> str:
    tax = (
        f"<cac:PartyTaxScheme>{_text('cbc:CompanyID', company.vat_number)}"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        if company.vat_number
        else ""
    )
    registration = _text("cbc:CompanyID", company.registration) if company.registration else ""
    contact = f"<cac:Contact>{_text('cbc:ElectronicMail', company.email)}</cac:Contact>" if company.email else ""
    return (
        f"<cac:Party><cac:PartyName>{_text('cbc:Name', company.name)}</cac:PartyName>"
        f"<cac:PostalAddress>{_text('cbc:StreetName', company.street)}{_text('cbc:CityName', company.city)}"
        f"{_text('cbc:PostalZone', company.postcode)}"
        f"<cac:Country>{_text('cbc:IdentificationCode', company.country)}</cac:Country></cac:PostalAddress>"
        f"{tax}<cac:PartyLegalEntity>{_text('cbc:RegistrationName', company.name)}{registration}"
        f"</cac:PartyLegalEntity>{contact}</cac:Party>"
    )
