from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryPublisher, MemoryReplayCache
from koppel.errors import InputError, RetryableError, SignatureError
from koppel.services.ingest import UNVERIFIED, IngestDeps, ingest_webhook
from tests.fakes import FakeShop, a_connection, an_event

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.ports import PolledRecord


@pytest.fixture
def shop() -> FakeShop:
    shop = FakeShop()
    shop.webhook_events["1001"] = [an_event("1001")]
    return shop


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def deps(shop: FakeShop, publisher: MemoryPublisher) -> IngestDeps:
    store = MemoryConnectionStore([a_connection(targets=("fakebooks", "otherbooks"))])
    return IngestDeps(connections=store, publisher=publisher, source_for=lambda _: shop, replays=MemoryReplayCache())


BODY = json.dumps({"id": 1001}).encode()
SIGNED = {"x-signature": "s3cret"}


def test_a_verified_webhook_fans_out_to_every_target_of_the_connection(deps, publisher) -> None:
    # When a signed webhook for a completed order arrives
    result = ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    # Then the hydrated event is on each target's queue
    assert result.accepted == 1
    assert sorted(publisher.sent) == ["fakebooks", "otherbooks"]


def test_a_wrong_signature_is_refused_and_nothing_is_enqueued(deps, publisher, shop) -> None:
    with pytest.raises(SignatureError) as refused:
        ingest_webhook("fakeshop", "demo-shop", {"x-signature": "guess"}, BODY, "https://hooks/x", deps)
    # Then the answer is the general one, the precise reason stays for the operator's log
    assert str(refused.value) == UNVERIFIED
    assert "does not match" in str(refused.value.__cause__)
    assert publisher.sent == {}
    assert shop.hydrations == 0


def test_a_malformed_body_is_refused_with_a_reason(deps, publisher) -> None:
    with pytest.raises(InputError, match="not an order notice"):
        ingest_webhook("fakeshop", "demo-shop", SIGNED, b"{not json", "https://hooks/x", deps)
    assert publisher.sent == {}


@pytest.mark.parametrize(
    ("source", "connection_id"),
    [
        ("fakeshop", "nope"),
        ("othershop", "demo-shop"),
        ("fakeshop", ""),
        ("fakeshop", "Dé-shop"),
        ("fakeshop", "x" * 5000),
    ],
)
def test_an_unknown_connection_is_answered_exactly_like_a_wrong_signature(deps, source, connection_id) -> None:
    # When a webhook names a connection that does not exist, or one of another source
    with pytest.raises(SignatureError) as refused:
        ingest_webhook(source, connection_id, SIGNED, BODY, "https://hooks/x", deps)
    # Then the caller learns nothing more than from a wrong signature: no way to probe for connection ids
    assert refused.value.status == 401
    assert str(refused.value) == UNVERIFIED


def test_a_replayed_webhook_neither_rereads_the_shop_nor_enqueues_again(deps, publisher, shop) -> None:
    # Given a signed webhook that was handled
    ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    # When an attacker who captured it replays it 200 times
    results = [ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps) for _ in range(200)]
    # Then the shop was read once, one event went to each target, and each replay says it was already received
    assert shop.hydrations == 1
    assert {target: len(events) for target, events in publisher.sent.items()} == {"fakebooks": 1, "otherbooks": 1}
    assert all(r.accepted == 0 and "already received" in r.note for r in results)


def test_a_webhook_is_read_again_after_the_replay_window(deps, shop) -> None:
    ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    later = deps.clock() + deps.replay_window + timedelta(seconds=1)
    deps.clock = lambda: later
    ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    assert shop.hydrations == 2


def test_a_webhook_answered_busy_gets_through_when_the_sender_retries(deps, publisher, shop) -> None:
    # Given the shop was busy when Koppel re-read the order
    shop.busy = True
    with pytest.raises(RetryableError):
        ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    # When the shop sends the same webhook again
    shop.busy = False
    result = ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    # Then it is not taken for a replay: the order is queued
    assert result.accepted == 1
    assert "fakebooks" in publisher.sent


def test_a_signed_webhook_for_an_order_the_shop_does_not_know_is_a_422_with_the_shops_words(deps, publisher) -> None:
    deps.source_for(None).missing.add("777")
    with pytest.raises(InputError, match="does not exist") as refused:
        ingest_webhook("fakeshop", "demo-shop", SIGNED, json.dumps({"id": 777}).encode(), "https://hooks/x", deps)
    assert refused.value.status == 422
    assert publisher.sent == {}


def test_a_refused_webhook_sent_again_gets_the_same_refusal_without_asking_the_shop(deps, shop) -> None:
    # Given a signed webhook for an order the shop does not know, refused once
    shop.missing.add("777")
    body = json.dumps({"id": 777}).encode()
    with pytest.raises(InputError) as first:
        ingest_webhook("fakeshop", "demo-shop", SIGNED, body, "https://hooks/x", deps)
    # When it is sent again
    with pytest.raises(InputError) as again:
        ingest_webhook("fakeshop", "demo-shop", SIGNED, body, "https://hooks/x", deps)
    # Then the answer is the same 422, and the shop was asked only the first time
    assert (again.value.status, str(again.value)) == (first.value.status, str(first.value))
    assert shop.hydrations == 1


def test_an_order_not_ready_to_book_is_acknowledged_without_events(deps, publisher) -> None:
    body = json.dumps({"id": 42}).encode()
    result = ingest_webhook("fakeshop", "demo-shop", SIGNED, body, "https://hooks/x", deps)
    assert result.accepted == 0
    assert "not ready to book" in result.note
    assert publisher.sent == {}


def test_a_paused_connection_enqueues_nothing_but_loses_nothing(deps, publisher) -> None:
    deps.connections.put(a_connection(status="paused", targets=("fakebooks",)))
    result = ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    assert result.accepted == 0
    assert "read when it resumes" in result.note


class _PolledOnly:
    """A source that is only polled: it implements no webhook half (connectors.contract.WebhookSource)."""

    name: ClassVar[str] = "fakeshop"

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        return iter(())


def test_a_webhook_for_a_polled_only_source_is_refused_as_unverified(publisher) -> None:
    # Given a connection whose source is only polled
    store = MemoryConnectionStore([a_connection()])
    deps = IngestDeps(
        connections=store, publisher=publisher, source_for=lambda _: _PolledOnly(), replays=MemoryReplayCache()
    )
    # When a webhook arrives at its address
    with pytest.raises(SignatureError) as refused:
        ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    # Then it gets the general answer, the reason stays for the operator's log, and nothing is enqueued
    assert str(refused.value) == UNVERIFIED
    assert "is polled" in str(refused.value.__cause__)
    assert publisher.sent == {}
