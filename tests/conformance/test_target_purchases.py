"""Every target books a supplier's invoice as its own purchase booking, to the cent, with the supplier found or made
once, exactly once under the supplier's invoice number, and the original file attached where it takes files; a
target that books no purchases parks them saying so."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from koppel import connectors
from koppel.adapters.memory import MemoryFileStore, MemoryLedger
from koppel.connectors.contract import PurchaseStatusReader
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.purchases import (
    BY_NAME,
    FOREIGN_VAT_REFUSAL,
    PURCHASES,
    RECEIPT,
    VAN_DIJK,
    PurchaseCase,
    purchase,
)

if TYPE_CHECKING:
    from koppel.services.deliver import DeliveryResult
    from tests.conformance.harness import TargetHarness


def _books_purchases(target: TargetHarness) -> bool:
    return connectors.load(target.name).can("purchase_booking")


def _deliver(target: TargetHarness, case: PurchaseCase, files: MemoryFileStore | None = None) -> DeliveryResult:
    deps = DeliverDeps(target=target.target(), target_name=target.name, ledger=MemoryLedger(), files=files)
    return deliver(case.event(), deps)


@pytest.mark.parametrize("case", PURCHASES, ids=[case.name for case in PURCHASES])
def test_a_purchase_is_booked_to_the_cent_or_refused_with_the_reason(target: TargetHarness, case: PurchaseCase) -> None:
    # Given a connected account and a supplier's invoice
    # When deliver books it
    result = _deliver(target, case)

    if not _books_purchases(target):
        # Then a target that books no purchases parks it, saying so
        assert result.outcome == "parked" and "takes no purchase invoices" in result.reason
        return
    booked = [held for held in target.purchased(case.document.number) if held.party == case.document.party.name]
    refusal = FOREIGN_VAT_REFUSAL if case.name == "foreign_vat" else target.purchase_refuses.get(case.name)
    if refusal:
        # Then what the default mapping cannot place is parked, saying why, and nothing reaches the books
        assert result.outcome == "parked", result
        assert re.search(refusal, result.reason), result.reason
        assert booked == []
        return
    # Then the vendor holds it once, under the supplier, with its total, net and VAT per rate and its due date
    assert result.outcome == "posted", result.reason
    assert len(booked) == 1, booked
    [held] = booked
    assert (held.total, held.net, held.vat) == (case.total, case.net, case.vat)
    assert held.due_date in (None, case.document.due_date)


def test_one_invoice_number_from_two_suppliers_is_two_purchases(target: TargetHarness) -> None:
    if not _books_purchases(target):
        pytest.skip("books no purchases (the test above checks it parks them)")
    # Given Van Dijk's F-1001 and Schmidt's intra-EU F-1001
    # When both are booked
    results = [_deliver(target, BY_NAME[name]) for name in ("domestic_two_rates", "intra_eu_acquisition")]

    # Then both are in the books, each under its own supplier
    assert [r.outcome for r in results] == ["posted", "posted"], [r.reason for r in results]
    assert sorted(held.party for held in target.purchased("F-1001")) == sorted(
        [VAN_DIJK.name, BY_NAME["intra_eu_acquisition"].document.party.name]
    )


def test_a_purchase_delivered_again_after_a_lost_ledger_is_found_not_booked_twice(target: TargetHarness) -> None:
    if not _books_purchases(target):
        pytest.skip("books no purchases")
    # Given a purchase booked once, and a worker that lost its ledger row (it crashed after the vendor committed)
    case = BY_NAME["domestic_two_rates"]
    assert _deliver(target, case).outcome == "posted"

    # When it is delivered again with an empty ledger
    again = _deliver(target, case)

    # Then the vendor's own record is found by supplier and invoice number, and the books hold it once
    assert again.outcome == "found_in_target", again.reason
    assert len(target.purchased(case.document.number)) == 1


def test_a_known_supplier_is_found_by_vat_number_and_not_created_again(target: TargetHarness) -> None:
    if not _books_purchases(target):
        pytest.skip("books no purchases")
    # Given two invoices of one supplier, the second one naming it a little differently (same VAT number)
    first = BY_NAME["domestic_two_rates"]
    renamed = VAN_DIJK.model_copy(update={"name": "Van Dijk Groothandel B.V."})
    second = PurchaseCase("renamed", purchase("F-1009", list(first.document.lines), "175.50", party=renamed,
                                              vat="25.50"), first.total, first.net, first.vat)  # fmt: skip

    # When both are booked by workers with separate ledgers (no remembered link)
    assert _deliver(target, first).outcome == "posted"
    assert _deliver(target, second).outcome == "posted"

    # Then the account holds one supplier for them
    names = target.suppliers()
    assert len([n for n in names if "Dijk" in n]) == 1, names


def test_the_original_file_is_attached_once(target: TargetHarness) -> None:
    if not connectors.load(target.name).can("attachments"):
        pytest.skip("takes no attachments (the booked row says the original was not attached)")
    # Given a purchase with the supplier's PDF kept as a claim check
    files = MemoryFileStore()
    pdf = files.put("conformance", "F-1001.pdf", "application/pdf", b"%PDF-1.4 supplier invoice F-1001\n%%EOF")
    case = BY_NAME["domestic_two_rates"]
    with_file = PurchaseCase(case.name, case.document.model_copy(update={"attachments": (pdf,)}), case.total,
                             case.net, case.vat)  # fmt: skip

    # When it is delivered, and delivered again after a lost ledger row
    assert _deliver(target, with_file, files).outcome == "posted"
    assert _deliver(target, with_file, files).outcome == "found_in_target"

    # Then the booking holds the file once
    assert target.attachments(case.document.number) == ["F-1001.pdf"]


def test_a_receipt_paid_when_it_was_handed_over_is_booked_paid_not_left_open(target: TargetHarness) -> None:
    if not connectors.load(target.name).can("purchase_status_reader"):
        pytest.skip("reads no purchase status back")
    # Given a supplier's till receipt, paid by card at the counter
    # When it is booked
    result = _deliver(target, RECEIPT)

    # Then the books hold it once, to the cent, and with nothing left to pay to the supplier
    assert result.outcome == "posted", result.reason
    [held] = [held for held in target.purchased(RECEIPT.document.number) if held.party == VAN_DIJK.name]
    assert (held.total, held.net, held.vat) == (RECEIPT.total, RECEIPT.net, RECEIPT.vat)
    books = target.target()
    assert isinstance(books, PurchaseStatusReader) and result.ref is not None
    assert dict(books.purchase_status([result.ref])) == {result.ref.id: None}
