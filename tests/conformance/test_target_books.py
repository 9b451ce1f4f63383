"""Every target books the same canonical documents so that what the vendor holds reconciles with them to the cent,
or refuses a document it cannot take with a permanent error that says why; amounts leave Koppel as exact decimals."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from koppel.adapters.memory import MemoryLedger
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.documents import CASES, Case

if TYPE_CHECKING:
    from koppel.services.deliver import DeliveryResult
    from tests.conformance.harness import TargetHarness


def _deliver(target: TargetHarness, case: Case) -> DeliveryResult:
    deps = DeliverDeps(target=target.target(), target_name=target.name, ledger=MemoryLedger())
    return deliver(case.event(), deps)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_canonical_document_is_booked_to_the_cent_or_refused_with_the_reason(
    target: TargetHarness, case: Case
) -> None:
    # Given a connected account and a canonical document
    # When deliver books it
    result = _deliver(target, case)

    booked = target.booked(case.document.number)
    if case.name in target.refuses:
        # Then a document the vendor cannot take is parked, saying why, and nothing reaches its books
        assert result.outcome == "parked", result
        assert re.search(target.refuses[case.name], result.reason), result.reason
        assert booked == []
        return
    # Then the vendor holds it once, with the document's total and its net and VAT per rate, to the cent
    assert result.outcome == "posted", result.reason
    assert len(booked) == 1
    [held] = booked
    assert (held.total, held.net, held.vat) == (case.total, case.net, case.vat)
    # And what was paid on the spot is booked with it where the vendor takes payments
    assert held.paid == (case.paid if target.takes_payments else Decimal(0))


def test_amounts_go_out_as_exact_decimals_with_no_more_digits_than_the_vendor_takes(target: TargetHarness) -> None:
    # Given every canonical document the vendor takes, the rounding stress case among them
    cases = [case for case in CASES if case.name not in target.refuses]

    # When they are booked
    for case in cases:
        assert _deliver(target, case).outcome == "posted"

    # Then every amount in every booking request is written in decimal digits, no float artefacts, no exponent, and
    # with at most the decimals the vendor takes
    paths = (target.booking_path, *target.other_booking_paths)
    bodies = [seen for seen in target.recorder.seen if seen.method == "POST" and seen.path in paths]
    assert len(bodies) >= len(cases)
    numbers = [number for body in bodies for number in body.numbers()]
    exact = re.compile(rf"^-?\d+(\.\d{{1,{target.max_decimals}}})?$")
    assert numbers and [n for n in numbers if not exact.match(n)] == []
