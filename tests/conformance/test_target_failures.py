"""Every target answers the vendor's bad moments the same way: a throttle, an outage or a timeout is retryable (after
the vendor's own wait when it names one), a refusal of the booking is parked with the vendor's words, and a refused
access token is renewed once, never in a loop."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from koppel.adapters.memory import MemoryLedger
from koppel.booking import plan_booking
from koppel.errors import AuthError, RetryableError
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.documents import BY_NAME
from tests.conformance.harness import HANG

if TYPE_CHECKING:
    from koppel.ports import Target
    from tests.conformance.harness import TargetHarness

CASE = BY_NAME["mixed_rates"]
BOOKING = plan_booking(CASE.document)


def _warm(target: TargetHarness) -> Target:
    """A connected target that holds an access token already, so the next call is a plain API call."""
    built = target.target()
    assert built.find_booking(BOOKING) is None
    return built


@pytest.mark.parametrize(("fault", "status", "wait"), [("throttle", 429, 7), ("error", 503, None)], ids=["429", "503"])
def test_a_throttle_or_an_outage_is_retryable_after_the_vendors_wait(
    target: TargetHarness, fault: str, status: int, wait: int | None
) -> None:
    # Given a connected target, and the vendor's next answer a throttle (Retry-After: 7) or an outage
    built = _warm(target)
    target.faults.retry_after = 7
    target.faults.queue(fault)

    # When the target looks a booking up  Then it is retryable, with the vendor's status and its wait
    with pytest.raises(RetryableError) as raised:
        built.find_booking(BOOKING)
    assert (raised.value.status, raised.value.retry_after) == (status, wait)
    assert target.faults.counts == {fault: 1}


def test_a_vendor_that_does_not_answer_in_time_is_retryable(target: TargetHarness) -> None:
    # Given a connected target, and a vendor that takes longer to answer than Koppel waits
    built = _warm(target)
    target.faults.latency = HANG

    # When the target looks a booking up  Then it is retryable, not an error a person has to look at
    with pytest.raises(RetryableError, match=r"in time|timed out"):
        built.find_booking(BOOKING)


def test_a_booking_the_vendor_refuses_is_parked_with_the_vendors_own_message(target: TargetHarness) -> None:
    # Given the vendor refuses bookings on the revenue ledger of 21 % (removed or blocked in its chart)
    ledger = MemoryLedger()
    deps = DeliverDeps(target=target.target(), target_name=target.name, ledger=ledger)
    refusal = target.break_revenue_ledger()

    # When deliver books a document with goods at 21 %
    result = deliver(CASE.event(), deps)

    # Then the record is parked, with the vendor's own words for a person to act on, and nothing is booked
    assert result.outcome == "parked"
    row = ledger.get(CASE.event().connection_id, target.name, CASE.event().event_id)
    assert row is not None and row.state == "PARKED"
    assert re.search(refusal, row.reason), row.reason
    assert target.booked(CASE.document.number) == []


def test_a_refused_access_token_is_renewed_once_and_the_call_succeeds(target: TargetHarness) -> None:
    # Given a connected target holding an access token the vendor has since forgotten
    built = _warm(target)
    fetched = target.tokens_fetched()
    target.revoke_tokens()

    # When the target makes a call
    found = built.find_booking(BOOKING)

    # Then the 401 made it fetch one new token, and the call went through with it
    assert found is None
    assert target.tokens_fetched() == fetched + 1
    # And the stored grant is the renewed one, left by no worker mid-renewal (an OAuth renewal takes a lease first,
    # so its version may move by two)
    stored = target.store.get_token("conformance", target.name)
    assert stored is not None and stored.version >= 2 and stored.refreshing_until is None


def test_a_token_refused_again_after_renewal_is_an_auth_error_not_a_loop(target: TargetHarness) -> None:
    # Given a connected target, and a vendor that refuses every token, old and new
    built = _warm(target)
    fetched = target.tokens_fetched()
    calls = len(target.recorder.seen)
    target.refuse_every_token()

    # When the target makes a call  Then it ends in an AuthError (reconnect) after renewing at most twice
    with pytest.raises(AuthError):
        built.find_booking(BOOKING)
    assert 1 <= target.tokens_fetched() - fetched <= 2
    assert len(target.recorder.seen) - calls <= 5
