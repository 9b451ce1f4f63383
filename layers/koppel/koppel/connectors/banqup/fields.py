"""Banqup's file resource as Koppel reads it: wire models of the datastore's answers, the folders and categories,
and the Document Processor's extraction of a PDF. README.md in this folder tags each field [V] or [I]."""

from __future__ import annotations

from datetime import date, datetime  # noqa: TC003 (pydantic reads the annotations at runtime)
from decimal import Decimal
from typing import Literal

from pydantic import Field

from koppel.connectors.kit import VendorReply

VENDOR = "Banqup"
SOURCE = "banqup"
Folder = Literal["PURCHASES", "SALES"]
BOOKABLE = ("INVOICE", "CREDIT_NOTE", "RECEIPT")
"""Document categories Koppel books; a bank statement and other documents stay in Banqup."""
CATEGORY_WORDS = {"BANK_STATEMENT": "a bank statement", "OTHER": "an other document"}


class Party(VendorReply):
    name: str = ""
    vatNumber: str = ""
    registrationNumber: str = ""
    iban: str = ""
    countryCode: str = ""


class VatRate(VendorReply):
    rate: Decimal
    taxableAmount: Decimal
    vatAmount: Decimal


class Extraction(VendorReply):
    """What the Document Processor read from a PDF [I]: any field may be missing."""

    supplier: Party = Party()
    buyer: Party = Party()
    invoiceNumber: str = ""
    issueDate: date | None = None
    dueDate: date | None = None
    currency: str = ""
    totalAmount: Decimal | None = None
    totalVatAmount: Decimal | None = None
    vatBreakdown: list[VatRate] = Field(default_factory=list)


class Metadata(VendorReply):
    folder: str = ""
    documentCategory: str = ""


class BanqupFile(VendorReply):
    id: str = Field(min_length=1)
    filename: str = ""
    contentType: str = ""
    status: str = ""
    """AWAITING_UPLOAD until the bytes arrive, then UPLOADED [V]/[I]."""
    createdAt: datetime
    metadata: Metadata = Metadata()
    downloadUrl: str = ""
    processingStatus: str = "DONE"
    """The Document Processor's progress: IN_PROGRESS, DONE, FAILED [I]; absent means done."""
    extraction: Extraction | None = None
    payableAmount: Decimal | None = None
    paidAmount: Decimal = Decimal(0)
    paymentStatus: str = ""

    @property
    def folder(self) -> str:
        return self.metadata.folder

    @property
    def category(self) -> str:
        return self.metadata.documentCategory

    @property
    def is_pending(self) -> bool:
        """Not yet uploaded, or still being read by the Document Processor: not bookable yet, maybe soon."""
        return self.status == "AWAITING_UPLOAD" or self.processingStatus == "IN_PROGRESS"

    def is_xml(self, content: bytes = b"") -> bool:
        """UBL arrives as XML: its content type says so, or its bytes start like XML."""
        if "xml" in self.contentType.lower():
            return True
        if content:
            return content.lstrip().startswith(b"<")
        return self.filename.lower().endswith(".xml")


def event_id(file_id: str) -> str:
    """Documents do not change after upload: the file id alone names the event."""
    return f"{SOURCE}:file:{file_id}"
