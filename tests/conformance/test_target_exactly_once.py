"""Every target books a document once: one already in the vendor's books, made by hand or committed by the vendor
before the answer was lost, is found by its invoice number and linked, never posted a second time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from koppel.adapters.memory import MemoryLedger
from koppel.errors import RetryableError
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.documents import BY_NAME
from tests.conformance.harness import HANG

if TYPE_CHECKING:
    from koppel.booking import Booking
    from koppel.model import ExternalRef
    from tests.conformance.harness import TargetHarness

CASE = BY_NAME["mixed_rates"]
NUMBER = CASE.document.number


def _deps(target: TargetHarness, ledger: MemoryLedger) -> DeliverDeps:
    return DeliverDeps(target=target.target(), target_name=target.name, ledger=ledger)


def test_a_booking_made_by_hand_beforehand_is_found_and_linked_not_posted_again(target: TargetHarness) -> None:
    # Given the bookkeeper booked the invoice by hand in the vendor before Koppel saw it
    target.book_by_hand(CASE)
    assert len(target.booked(NUMBER)) == 1
    posts = target.recorder.count("POST", target.booking_path)

    # When deliver books the same document
    result = deliver(CASE.event(), _deps(target, MemoryLedger()))

    # Then the existing booking is linked, and the vendor still holds exactly one
    assert result.outcome == "found_in_target"
    assert result.entry is not None and result.entry.state == "POSTED" and result.entry.external_id
    assert len(target.booked(NUMBER)) == 1
    assert target.recorder.count("POST", target.booking_path) == posts


class _HangsAfterCommit:
    """The connector's own target; just before it posts the booking, the vendor is set to commit it and then hang
    (the FaultPlan's commit_then_hang on the booking path), so the worker times out on a booking that exists."""

    def __init__(self, target: TargetHarness) -> None:
        self._harness = target
        self._inner = target.target()
        self.name = self._inner.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        faults = self._harness.faults
        faults.hang_seconds, faults.applies_to = HANG, (self._harness.booking_path,)
        faults.queue("commit_then_hang")
        return self._inner.post_booking(booking, party, request_id)


def test_a_booking_the_vendor_committed_before_hanging_is_linked_by_the_retry(target: TargetHarness) -> None:
    # Given a delivery whose booking the vendor committed and then never answered (the worker timed out)
    ledger = MemoryLedger()
    crashed = DeliverDeps(target=_HangsAfterCommit(target), target_name=target.name, ledger=ledger)  # type: ignore[arg-type]
    with pytest.raises(RetryableError):
        deliver(CASE.event(), crashed)
    assert target.faults.counts == {"commit_then_hang": 1}
    assert len(target.booked(NUMBER)) == 1

    # When the queue delivers the message again, and once more
    retried = deliver(CASE.event(), _deps(target, ledger))
    again = deliver(CASE.event(), _deps(target, ledger))

    # Then the committed booking is found by its invoice number and linked; nothing is posted twice
    assert (retried.outcome, again.outcome) == ("found_in_target", "already_posted")
    assert len(target.booked(NUMBER)) == 1
    assert target.recorder.count("POST", target.booking_path) == 1


def test_a_document_delivered_twice_is_booked_once(target: TargetHarness) -> None:
    # Given a document booked through deliver, and a second worker with its own (empty) ledger view
    assert deliver(CASE.event(), _deps(target, MemoryLedger())).outcome == "posted"

    # When the same document is delivered again without the first outcome (a lost ledger write)
    result = deliver(CASE.event(), _deps(target, MemoryLedger()))

    # Then the vendor's own copy is found by its invoice number: still one booking
    assert result.outcome == "found_in_target"
    assert len(target.booked(NUMBER)) == 1
