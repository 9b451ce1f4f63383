from __future__ import annotations

import json

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryPublisher
from koppel.errors import InputError, NotFoundError, SignatureError
from koppel.services.ingest import IngestDeps, ingest_webhook
from tests.fakes import FakeShop, a_connection, an_event


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
    return IngestDeps(connections=store, publisher=publisher, source_for=lambda _: shop)


BODY = json.dumps({"id": 1001}).encode()
SIGNED = {"x-signature": "s3cret"}


def test_a_verified_webhook_fans_out_to_every_target_of_the_connection(deps, publisher) -> None:
    # When a signed webhook for a completed order arrives
    result = ingest_webhook("fakeshop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)
    # Then the hydrated event is on each target's queue
    assert result.accepted == 1
    assert sorted(publisher.sent) == ["fakebooks", "otherbooks"]


def test_a_wrong_signature_is_refused_and_nothing_is_enqueued(deps, publisher) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        ingest_webhook("fakeshop", "demo-shop", {"x-signature": "guess"}, BODY, "https://hooks/x", deps)
    assert publisher.sent == {}


def test_a_malformed_body_is_refused_with_a_reason(deps, publisher) -> None:
    with pytest.raises(InputError, match="not an order notice"):
        ingest_webhook("fakeshop", "demo-shop", SIGNED, b"{not json", "https://hooks/x", deps)
    assert publisher.sent == {}


def test_an_unknown_connection_or_source_is_a_404(deps) -> None:
    with pytest.raises(NotFoundError, match="no connection"):
        ingest_webhook("fakeshop", "nope", SIGNED, BODY, "https://hooks/x", deps)
    with pytest.raises(NotFoundError, match="does not take webhooks"):
        ingest_webhook("othershop", "demo-shop", SIGNED, BODY, "https://hooks/x", deps)


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
