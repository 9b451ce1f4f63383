"""The Banqup demo's documents as a supplier's software writes them: every UBL one is read back by Koppel's UBL
reader to the cent the scenario promises, and each scan's extraction adds up, so a target's table can be compared
with the scenario and not with Koppel's own reading."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from devkit.koppelingen.banqup.scenarios import Planned, before_activation, danish_documents, dutch_documents
from koppel.ubl import read_ubl

D = Decimal
DAY = date(2026, 12, 3)
ALL = [*dutch_documents(DAY), *danish_documents(DAY), before_activation(DAY)]


@pytest.mark.parametrize("planned", [p for p in ALL if p.content.startswith(b"<")], ids=lambda p: p.key)
def test_a_ubl_document_reads_back_to_the_total_and_net_per_rate_it_was_written_with(planned: Planned) -> None:
    # When Koppel's UBL reader reads the document as Banqup hands it over (the buyer's view of a purchase)
    if planned.folder == "PURCHASES":
        document = read_ubl(planned.content, ours="buyer", source_id="file")
    else:
        document = read_ubl(planned.content, ours="seller", source_id="file")

    # Then its number, currency, total and net per rate are the scenario's, credit notes negative
    assert (document.number, document.currency, document.total) == (planned.number, planned.currency, planned.total)
    net: dict[Decimal, Decimal] = {}
    for line in document.lines:
        assert line.vat_rate is not None
        net[line.vat_rate] = net.get(line.vat_rate, D(0)) + line.amount
    assert net == planned.net
    assert document.party.name == planned.counterparty


def test_the_week_holds_each_kind_of_document_the_demo_shows() -> None:
    # Given the Dutch client's week
    week = {p.key: p for p in dutch_documents(DAY)}

    # Then it has two rates on one invoice, a reverse charge, a scan without its due date, a receipt, a bank
    # statement that is not bookable, a sales invoice and a credit note
    assert set(week["two_rates"].net) == {D(9), D(21)}
    assert (
        week["reverse_charge"].net == {D(0): D("2450.00")} and b"<cbc:ID>AE</cbc:ID>" in week["reverse_charge"].content
    )
    scan = week["scan"].extraction
    assert scan is not None and "dueDate" not in scan
    assert D(scan["totalAmount"]) == sum(D(p["taxableAmount"]) + D(p["vatAmount"]) for p in scan["vatBreakdown"])
    assert week["receipt"].category == "RECEIPT"
    assert not week["bank_statement"].bookable
    assert week["sales"].folder == "SALES" and week["sales"].counterparty == "Café Het Hoekje"
    assert week["credit_note"].category == "CREDIT_NOTE" and week["credit_note"].total < 0
    # And the Danish client's documents are at 25 %, in DKK and in EUR
    assert {(p.currency, *p.net) for p in danish_documents(DAY)} == {("DKK", D(25)), ("EUR", D(25))}
