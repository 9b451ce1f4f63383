"""Banqup documents read through the connector from the sandbox: UBL purchase and sales invoices read whole with
their file kept, scanned PDFs booked per VAT rate from Banqup's extraction and flagged for review (or parked naming
what is missing), receipts, and what is skipped and why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from koppel.errors import UnbalancedDocumentError
from tests.connectors.test_banqup import (  # noqa: F401 (the module's fixtures)
    EXTRACTION,
    PDF,
    UBL,
    fresh_world,
    poll,
    read,
    running_sandbox,
)

if TYPE_CHECKING:
    from tests.connectors.test_banqup import World

D = Decimal


def test_a_ubl_purchase_invoice_is_read_as_a_purchase_with_its_file_kept(world: World) -> None:
    # Given a supplier's UBL invoice in the client's purchases folder
    file_id = world.add(UBL, folder="PURCHASES", filename="inv-snippet1.xml")
    source = world.source()

    # When it is polled and read
    [record] = poll(source)
    document = read(source, record)

    # Then it is a purchase from the supplier, to the cent, named by its Banqup file id
    assert document.direction == "purchase" and document.number == "Snippet1"
    assert document.total == D("1656.25") and document.source_id == file_id
    assert document.party.name == "SupplierTradingName Ltd." and document.party.vat_number
    # And the UBL file itself is kept as the document's attachment
    [attachment] = document.attachments
    assert attachment.filename == "inv-snippet1.xml" and attachment.content_type == "application/xml"
    assert world.files.read(attachment) == UBL


def test_a_ubl_sales_invoice_is_read_as_a_sale_to_its_customer(world: World) -> None:
    # Given a sales invoice in the client's sales folder
    world.add(UBL, folder="SALES")
    source = world.source()

    # When it is polled and read  Then the client is the seller, the buyer its customer
    document = read(source, poll(source)[0])
    assert document.direction == "sales" and document.party.name == "BuyerTradingName AS"
    assert len(document.attachments) == 1


def test_a_pdf_is_booked_per_vat_rate_from_banqups_extraction_and_flagged_for_review(world: World) -> None:
    # Given a scanned PDF whose extraction has no due date and no registration number
    world.add(PDF, filename="peeters.pdf", extraction=EXTRACTION)
    source = world.source()

    # When it is polled and read
    document = read(source, poll(source)[0])

    # Then it is one line per VAT rate, adding up to the stated total with the stated VAT
    assert [(line.amount, line.vat_rate) for line in document.lines] == [(D("100.00"), D(21)), (D("20.00"), D(6))]
    assert document.total == D("142.20") and document.total_vat == D("22.20")
    assert document.number == "F2026-117" and document.party.vat_number == "BE0477472701"
    # And a person is asked to check it, with one sentence per missing field
    assert document.review[0].startswith("Read by Banqup from the PDF peeters.pdf")
    assert "The due date is missing: check the payment terms on the PDF." in document.review
    assert "The supplier's registration number is missing." in document.review
    assert not any("VAT number" in note for note in document.review)
    assert world.files.read(document.attachments[0]) == PDF


def test_a_pdf_read_without_its_number_is_parked_with_the_reason_and_waited_for(world: World) -> None:
    # Given a PDF whose extraction lacks the invoice number and the total
    extraction = {k: v for k, v in EXTRACTION.items() if k not in ("invoiceNumber", "totalAmount")}
    file_id = world.add(PDF, filename="scan.pdf", extraction=extraction)

    # When it is polled
    [record] = poll(world.source())

    # Then it is a problem under its event id, naming what is missing, and the watermark waits for its correction
    assert (
        record.problem
        == "Banqup read scan.pdf without its invoice number, total: complete it in Banqup's validation screen"
    )
    assert record.event_ids == (f"banqup:file:{file_id}",) and not record.is_settled


def test_a_pdf_whose_rates_do_not_add_up_is_refused_as_unbalanced(world: World) -> None:
    # Given a PDF read with a total a cent off its VAT per rate
    world.add(PDF, extraction={**EXTRACTION, "totalAmount": "142.21"})
    source = world.source()
    [record] = poll(source)

    # When it is read  Then it is refused with both sums (the poll parks it)
    with pytest.raises(UnbalancedDocumentError, match=r"120\.00 net and 22\.20 VAT per rate.*total 142\.21"):
        read(source, record)


def test_a_receipt_is_a_paid_purchase(world: World) -> None:
    # Given a till receipt scanned into the purchases folder
    world.add(PDF, category="RECEIPT", extraction=EXTRACTION)
    source = world.source()

    # When read  Then it is a purchase that is paid
    document = read(source, poll(source)[0])
    assert document.direction == "purchase" and document.is_paid


def test_bank_statements_and_other_documents_are_skipped_saying_they_stay_in_banqup(world: World) -> None:
    # Given a bank statement, another document and a sales invoice of a connection that books purchases only
    world.add(PDF, category="BANK_STATEMENT", filename="rekeninguittreksel-11.pdf")
    world.add(PDF, category="OTHER", filename="contract.pdf", hours=1)
    world.add(UBL, folder="SALES", filename="sale.xml", hours=2)

    # When polled
    records = poll(world.source(folders=["PURCHASES"]))

    # Then each is skipped with what it is, nothing is lost silently, and nothing was downloaded
    assert [r.skipped_reason for r in records] == [
        "rekeninguittreksel-11.pdf is a bank statement, not an invoice, credit note or receipt: it stays in Banqup "
        "and is not booked",
        "contract.pdf is an other document, not an invoice, credit note or receipt: it stays in Banqup and is not "
        "booked",
        "sale.xml is in Banqup's SALES folder, which this connection does not book",
    ]
    assert all(r.notice is None and r.is_settled for r in records)
    # And each is named by its event id, under which the poll keeps it in the history as not bookable
    assert all(r.event_ids == (f"banqup:file:{r.record_id}",) for r in records)


def test_a_file_banqup_is_still_processing_holds_the_watermark_until_a_week_has_passed(world: World) -> None:
    # Given a PDF the Document Processor is still reading
    world.add(PDF, processing="IN_PROGRESS")

    # When polled the next day, and again eight days later
    [fresh] = poll(world.source())
    world.clock.now += timedelta(days=8)
    [stale] = poll(world.source(), until=world.clock.now)

    # Then it is not booked yet and holds the watermark back, until it has been waited for long enough
    assert "still being uploaded or read by Banqup" in fresh.skipped_reason and not fresh.is_settled
    assert "no longer waited for" in stale.skipped_reason and stale.is_settled


def test_a_pdf_credit_note_carries_negative_amounts(world: World) -> None:
    # Given a supplier's credit note scanned as a PDF, its amounts extracted as printed (positive)
    world.add(PDF, category="CREDIT_NOTE", extraction=EXTRACTION)
    source = world.source()

    # When read  Then it is a credit note whose lines, VAT and total are negative and still add up
    document = read(source, poll(source)[0])
    assert document.doc_type == "credit_note"
    assert [line.amount for line in document.lines] == [D("-100.00"), D("-20.00")]
    assert (document.total, document.total_vat) == (D("-142.20"), D("-22.20"))
