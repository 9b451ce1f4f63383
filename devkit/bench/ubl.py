"""Reading a supplier's UBL invoice (Banqup's purchase invoices): CPU per document and the memory of a large one.

Two figures, measured with ``time.process_time`` and ``tracemalloc``:

1. ``per document``: the UBL fixtures a bookkeeper meets (two rates with allowances and charges, a credit note,
   reverse charge, intra-EU, prepaid, rounding; tests/fixtures/ubl) read with ``koppel.ubl.read_ubl`` (hardened
   lxml parse, EN 16931 sums checked to the cent) and planned with ``plan_booking``, many times over.
2. ``large invoice``: one generated invoice of ``lines`` lines at two rates (a wholesaler's monthly statement), read
   and planned once: its CPU time and the peak memory Python allocates while doing it. The poll function holds one
   document at a time, so this peak is what a large file costs the function's memory.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from koppel.booking import plan_booking
from koppel.ubl import read_ubl

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ubl"
EVERYDAY = (
    "allowance-charge-two-rates.xml", "credit-note.xml", "reverse-charge-ae.xml", "intra-eu-k.xml", "prepaid.xml",
    "rounding.xml", "mixed-s-e.xml", "line-allowance.xml",
)  # fmt: skip


@dataclass(frozen=True)
class UblResult:
    per_document_ms: float
    documents: int
    large_lines: int
    large_bytes: int
    large_ms: float
    large_peak_mb: float


def measure_ubl(*, rounds: int = 200, lines: int = 2000, say: Callable[[str], None] = print) -> UblResult:
    everyday = [(FIXTURES / name).read_bytes() for name in EVERYDAY]
    started = time.process_time()
    for _ in range(rounds):
        for data in everyday:
            plan_booking(read_ubl(data, ours="buyer", source_id="bench"))
    documents = rounds * len(everyday)
    per_document = (time.process_time() - started) / documents
    say(f"{documents} everyday invoices read, checked and planned: {per_document * 1000:.2f} ms CPU each")

    large = large_invoice(lines)
    tracemalloc.start()
    started = time.process_time()
    booking = plan_booking(read_ubl(large, ours="buyer", source_id="bench-large"))
    large_seconds = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    say(
        f"a {lines}-line invoice ({len(large) / 1e6:.1f} MB of XML) read and planned in {large_seconds * 1000:.0f} ms "
        f"CPU, peak {peak / 1e6:.1f} MB allocated; booked total {booking.total}"
    )
    return UblResult(per_document * 1000, documents, lines, len(large), large_seconds * 1000, peak / 1e6)


def large_invoice(lines: int) -> bytes:
    """A valid Peppol BIS 3 invoice of ``lines`` lines, alternating 21 % and 9 %, whose sums add up to the cent."""
    rows, bases = [], {Decimal(21): Decimal(0), Decimal(9): Decimal(0)}
    for i in range(1, lines + 1):
        rate, amount = (Decimal(21), Decimal("12.34")) if i % 2 else (Decimal(9), Decimal("5.67"))
        bases[rate] += amount
        rows.append(_LINE.format(i=i, amount=amount, rate=rate))
    vats = {rate: (base * rate / 100).quantize(Decimal("0.01")) for rate, base in bases.items()}
    net, vat = sum(bases.values()), sum(vats.values())
    subtotals = "".join(_SUBTOTAL.format(base=bases[r], vat=vats[r], rate=r) for r in bases)
    return _DOCUMENT.format(lines="".join(rows), subtotals=subtotals, net=net, vat=vat, gross=net + vat).encode()


_NS = (
    'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)
_PARTY = (
    "<cac:Party><cac:PostalAddress><cac:Country><cbc:IdentificationCode>NL</cbc:IdentificationCode></cac:Country>"
    "</cac:PostalAddress><cac:PartyTaxScheme><cbc:CompanyID>{vat}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID>"
    "</cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity><cbc:RegistrationName>{name}</cbc:RegistrationName>"
    "</cac:PartyLegalEntity></cac:Party>"
)
_DOCUMENT = (
    f'<?xml version="1.0" encoding="UTF-8"?><Invoice {_NS}>'
    "<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>"
    "<cbc:ID>BENCH-1</cbc:ID><cbc:IssueDate>2026-12-01</cbc:IssueDate><cbc:DueDate>2026-12-31</cbc:DueDate>"
    "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode><cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
    "<cac:AccountingSupplierParty>"
    + _PARTY.format(vat="NL859912345B01", name="Groothandel Bench BV")
    + "</cac:AccountingSupplierParty><cac:AccountingCustomerParty>"
    + _PARTY.format(vat="NL001234567B01", name="Bakkerij Jansen BV")
    + "</cac:AccountingCustomerParty>"
    '<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount>{subtotals}</cac:TaxTotal>'
    '<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>'
    '<cbc:TaxExclusiveAmount currencyID="EUR">{net}</cbc:TaxExclusiveAmount>'
    '<cbc:TaxInclusiveAmount currencyID="EUR">{gross}</cbc:TaxInclusiveAmount>'
    '<cbc:PayableAmount currencyID="EUR">{gross}</cbc:PayableAmount></cac:LegalMonetaryTotal>{lines}</Invoice>'
)
_SUBTOTAL = (
    '<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">{base}</cbc:TaxableAmount>'
    '<cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID>'
    "<cbc:Percent>{rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>"
    "</cac:TaxSubtotal>"
)
_LINE = (
    '<cac:InvoiceLine><cbc:ID>{i}</cbc:ID><cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>'
    '<cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount><cac:Item><cbc:Name>Artikel {i}'
    "</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{rate}</cbc:Percent><cac:TaxScheme>"
    "<cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item><cac:Price>"
    '<cbc:PriceAmount currencyID="EUR">{amount}</cbc:PriceAmount></cac:Price></cac:InvoiceLine>'
)
