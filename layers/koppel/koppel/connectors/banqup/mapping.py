"""Banqup files as Koppel's canonical documents: a UBL file read whole (``koppel.ubl``), a PDF from what Banqup's
Document Processor extracted (one line per VAT rate, flagged for a person's review), a receipt as a paid purchase.
Pure translations: HTTP is in ``client``, the poll in ``source``."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from koppel.connectors.banqup.fields import (
    BOOKABLE,
    CATEGORY_WORDS,
    SOURCE,
    VENDOR,
    BanqupFile,
    Extraction,
    event_id,
)
from koppel.errors import PermanentError, UnbalancedDocumentError
from koppel.model import Address, DocumentEvent, Line, Party, Payment, SalesDocument
from koppel.ubl import read_ubl

if TYPE_CHECKING:
    from datetime import datetime

    from koppel.connectors.banqup import fields
    from koppel.model import Connection, DocumentRef

ZERO = Decimal(0)
CORRECT = "complete it in Banqup's validation screen"


def skip_reason(file: BanqupFile, folders: tuple[str, ...]) -> str:
    """Why a file is not booked ("" when it is): what it is, and that it stays in Banqup."""
    name = file.filename or file.id
    if file.folder not in folders:
        return f"{name} is in Banqup's {file.folder or 'unnamed'} folder, which this connection does not book"
    if file.category not in BOOKABLE:
        what = CATEGORY_WORDS.get(file.category, f"a {file.category or 'document without a category'}")
        return f"{name} is {what}, not an invoice, credit note or receipt: it stays in Banqup and is not booked"
    return ""


def read_problem(file: BanqupFile) -> str:
    """Why a PDF that should be booked cannot be ("" when it can, and for UBL, which is read when downloaded)."""
    if file.is_xml():
        return ""
    name = file.filename or file.id
    extraction = file.extraction
    if file.processingStatus == "FAILED" or extraction is None:
        return f"{VENDOR} could not read {name} (a PDF without structured data): {CORRECT}"
    party = _counterparty(file, extraction)
    required = (
        ("invoice number", extraction.invoiceNumber),
        ("invoice date", extraction.issueDate),
        ("total", extraction.totalAmount is not None),
        ("VAT per rate", extraction.vatBreakdown),
        (f"{_role(file)} name", party.name),
    )
    missing = [label for label, present in required if not present]
    if missing:
        return f"{VENDOR} read {name} without its {', '.join(missing)}: {CORRECT}"
    return ""


def document_event(
    file: BanqupFile, content: bytes, connection: Connection, attachment: DocumentRef | None
) -> DocumentEvent:
    """The file's one event: UBL read whole, a PDF from its extraction; the original attached when it was kept."""
    if file.is_xml(content):
        document = read_ubl(content, ours=_ours(file), source_id=file.id)
    else:
        document = extracted_document(file)
    update: dict[str, object] = {"source_id": file.id, "attachments": (attachment,) if attachment else ()}
    if file.category == "RECEIPT" and not document.payments:
        # A till receipt is paid when it is handed over: booked with that payment, so it is not left open with the
        # supplier (how it was paid is not on the receipt Banqup reads: "other").
        update["is_paid"] = True
        update["payments"] = (
            Payment(method="other", amount=document.total, paid_on=document.issue_date, description="Paid at purchase"),
        )
    return as_event(document.model_copy(update=update), file.id, file.createdAt, connection)


def as_event(document: SalesDocument, file_id: str, at: datetime, connection: Connection) -> DocumentEvent:
    return DocumentEvent(
        event_id=event_id(file_id),
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SOURCE,
        occurred_at=at,
        kind="credit_note.created" if document.doc_type == "credit_note" else "invoice.created",
        payload=document,
    )


def extracted_document(file: BanqupFile) -> SalesDocument:
    """A PDF booked from the Document Processor's fields: one line per VAT rate, the stated VAT booked as stated,
    and a review note for every field a person should check. PermanentError names what is missing."""
    problem = read_problem(file)
    if problem:
        raise PermanentError(problem)
    extraction = file.extraction
    assert extraction is not None and extraction.issueDate is not None and extraction.totalAmount is not None
    sign = Decimal(-1) if file.category == "CREDIT_NOTE" and extraction.totalAmount > 0 else Decimal(1)
    number = extraction.invoiceNumber
    lines = tuple(
        Line(
            description=f"{number} at {rate.rate.normalize():f} % VAT",
            unit_price=sign * rate.taxableAmount,
            amount=sign * rate.taxableAmount,
            vat_rate=rate.rate,
            vat_category="standard" if rate.rate > 0 else None,
        )
        for rate in extraction.vatBreakdown
    )
    vat = sum((rate.vatAmount for rate in extraction.vatBreakdown), ZERO)
    net = sum((rate.taxableAmount for rate in extraction.vatBreakdown), ZERO)
    _check_sums(file, extraction, net, vat)
    party = _counterparty(file, extraction)
    due = extraction.dueDate
    due_days = (due - extraction.issueDate).days if due and due >= extraction.issueDate else None
    return SalesDocument(
        doc_type="credit_note" if file.category == "CREDIT_NOTE" else "invoice",
        direction="purchase" if file.folder == "PURCHASES" else "sales",
        source_id=file.id,
        number=number,
        issue_date=extraction.issueDate,
        due_days=due_days,
        currency=(extraction.currency or "EUR").upper(),
        prices_include_vat=False,
        party=Party(
            name=party.name,
            is_business=True,
            vat_number=party.vatNumber,
            coc_number=party.registrationNumber,
            iban=party.iban,
            billing_address=Address(country_code=_country(party.countryCode)),
        ),
        lines=lines,
        total=sign * extraction.totalAmount,
        total_vat=sign * vat,
        vat_rounded_per_line=True,
        description=f"{file.filename or number} ({VENDOR})",
        review=_review_notes(file, extraction, party),
    )


def _check_sums(file: BanqupFile, extraction: Extraction, net: Decimal, vat: Decimal) -> None:
    total = extraction.totalAmount or ZERO
    name = file.filename or file.id
    if net + vat != total:
        raise UnbalancedDocumentError(
            f"{VENDOR} read {name} as {net} net and {vat} VAT per rate, which is not its total {total}: {CORRECT}",
            difference=total - net - vat,
        )
    stated = extraction.totalVatAmount
    if stated is not None and stated != vat:
        raise UnbalancedDocumentError(
            f"{VENDOR} read {name} with {stated} VAT in total but {vat} VAT per rate: {CORRECT}",
            difference=stated - vat,
        )


def _review_notes(file: BanqupFile, extraction: Extraction, party: fields.Party) -> tuple[str, ...]:
    role = _role(file)
    notes = [f"Read by {VENDOR} from the PDF {file.filename or file.id}, not from structured data: check it."]
    if extraction.dueDate is None:
        notes.append("The due date is missing: check the payment terms on the PDF.")
    elif extraction.dueDate < (extraction.issueDate or extraction.dueDate):
        notes.append("The due date is before the invoice date: check the payment terms on the PDF.")
    if not extraction.currency:
        notes.append("The currency is missing: it was booked in EUR.")
    if not party.vatNumber:
        notes.append(f"The {role}'s VAT number is missing: check the {role} it was booked on.")
    if not party.registrationNumber:
        notes.append(f"The {role}'s registration number is missing.")
    if any(rate.rate == 0 for rate in extraction.vatBreakdown):
        notes.append("A part has 0 % VAT: check whether it is exempt, zero-rated or reverse-charged.")
    return tuple(notes)


def _ours(file: BanqupFile) -> Literal["buyer", "seller"]:
    return "buyer" if file.folder == "PURCHASES" else "seller"


def _role(file: BanqupFile) -> str:
    return "supplier" if file.folder == "PURCHASES" else "customer"


def _counterparty(file: BanqupFile, extraction: Extraction) -> fields.Party:
    return extraction.supplier if file.folder == "PURCHASES" else extraction.buyer


def _country(code: str) -> str | None:
    code = code.strip().upper()
    return code if len(code) == 2 and code.isalpha() else None
