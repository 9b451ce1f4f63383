"""What the deliver consumer does with a record it cannot finish (koppel.runtime), on memory twins of its ports:
a busy vendor's record comes back after the vendor's wait, an unreadable message goes to the dead-letter queue
at once, and refused credentials turn the connection red."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from koppel.adapters.memory import MemoryConnectionStore, MemoryMeter, MemoryRedelivery
from koppel.errors import AuthError, RetryableError
from koppel.model import HubEnvelope
from koppel.runtime import DeliverRuntime
from koppel.settings import DeliverSettings
from tests.fakes import a_connection, an_event

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:koppel-snelstart"


def _settings(**extra: Any) -> DeliverSettings:
    return DeliverSettings(
        CONNECTIONS_TABLE="c", LEDGER_TABLE="l", KMS_KEY_ID="k", CONNECTOR="fakebooks", IDEMPOTENCY_TABLE="i",
        RETRY_BASE_SECONDS=10, **extra,
    )  # fmt: skip


def _record(body: str, receive_count: int = 1) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "handle-1",
            "body": body,
            "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1767225600000"},
            "eventSourceARN": QUEUE_ARN,
        }
    )


def _runtime(failure: Exception | None, redelivery: MemoryRedelivery) -> tuple[DeliverRuntime, MemoryConnectionStore]:
    def guarded(**_: Any) -> dict[str, Any]:
        if failure:
            raise failure
        return {"outcome": "posted", "reason": ""}

    store = MemoryConnectionStore([a_connection()])
    runtime = DeliverRuntime(
        settings=_settings(), idempotency=None, guarded_deliver=guarded,  # type: ignore[arg-type]
        connections=store, redelivery=redelivery, meter=MemoryMeter(),
    )  # fmt: skip
    return runtime, store


def _event_body() -> str:
    return HubEnvelope(event=an_event("1001")).model_dump_json()


def test_a_busy_vendor_s_record_comes_back_no_sooner_than_the_vendor_asked() -> None:
    # Given SnelStart answered 429 with Retry-After 120 on the third attempt
    redelivery = MemoryRedelivery()
    runtime, _ = _runtime(RetryableError("429 from the vendor", retry_after=120), redelivery)
    # When the record is handled, then it fails (stays on the queue) and is hidden for the vendor's wait
    with pytest.raises(RetryableError):
        runtime.handle(_record(_event_body(), receive_count=3))
    assert redelivery.delays == [(QUEUE_ARN, "handle-1", 120)]


def test_without_a_vendor_wait_the_backoff_grows_with_each_attempt() -> None:
    # Given a 503 without Retry-After, on the first and the fourth attempt
    waits = []
    for attempt in (1, 4):
        redelivery = MemoryRedelivery()
        runtime, _ = _runtime(RetryableError("503"), redelivery)
        with pytest.raises(RetryableError):
            runtime.handle(_record(_event_body(), receive_count=attempt))
        waits.append(redelivery.delays[0][2])
    # Then the wait doubles per attempt from the base: 10 s, then 80 s
    assert waits == [10, 80]


def test_a_message_that_is_no_koppel_event_goes_to_the_dead_letter_queue_at_once() -> None:
    # Given a message whose body is not a Koppel event
    redelivery = MemoryRedelivery()
    runtime, _ = _runtime(None, redelivery)
    # When it is handled, then it is not retried but set aside with the reason, and the record succeeds
    runtime.handle(_record('{"not": "an event"}'))
    assert [body for body, _ in redelivery.dead_letters] == ['{"not": "an event"}']
    assert "event" in redelivery.dead_letters[0][1]
    assert redelivery.delays == []


def test_without_a_dead_letter_queue_an_unreadable_message_fails_rather_than_vanishes() -> None:
    # Given no dead-letter queue is configured, when an unreadable message arrives, then the record fails
    runtime, _ = _runtime(None, MemoryRedelivery(has_dead_letter_queue=False))
    with pytest.raises(ValueError, match="validation error"):
        runtime.handle(_record("{}"))


def test_refused_credentials_turn_the_connection_red_with_what_to_do() -> None:
    # Given the vendor refuses the stored key
    redelivery = MemoryRedelivery()
    runtime, store = _runtime(AuthError("401 invalid_grant"), redelivery)
    # When a record is handled, then the connection is red, says "reconnect", and the record waits 15 minutes
    with pytest.raises(AuthError):
        runtime.handle(_record(_event_body()))
    connection = store.get(a_connection().connection_id)
    assert connection.status == "error"
    assert connection.status_reason == "401 invalid_grant — reconnect"
    assert redelivery.delays == [(QUEUE_ARN, "handle-1", 900)]


def test_a_connection_read_again_unchanged_keeps_its_target_and_new_credentials_build_a_new_one(monkeypatch) -> None:
    # Given a container that re-reads its connection for every message (no cache time)
    from koppel import bootstrap

    built: list[object] = []

    def build(settings, connection):  # type: ignore[no-untyped-def]
        built.append(object())
        return built[-1]

    monkeypatch.setattr(bootstrap, "build_deliver_deps", build)
    runtime, store = _runtime(None, MemoryRedelivery())
    runtime.settings = _settings(CONNECTION_CACHE_SECONDS=0)
    store.put_secrets("demo-shop", "fakebooks", {"api_token": "one"})
    # When it delivers twice for an unchanged connection, then the target built first is kept (and with it its
    # rate limiter's memory of what this container sent)
    first, again = runtime.deps_for("demo-shop"), runtime.deps_for("demo-shop")
    assert first is again and len(built) == 1
    # When the credentials are replaced, or the mapping changes, then the target is built anew
    store.put_secrets("demo-shop", "fakebooks", {"api_token": "two"})
    assert runtime.deps_for("demo-shop") is not first
    store.put(store.get("demo-shop").model_copy(update={"target_settings": {"fakebooks": {"ledger": "8001"}}}))
    runtime.deps_for("demo-shop")
    assert len(built) == 3
