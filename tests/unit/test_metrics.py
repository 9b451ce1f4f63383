"""What the services count for operations (docs/design.md, Metrics and alarms), with the in-memory meter; and the EMF
lines the Lambda meter writes for CloudWatch."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from koppel.adapters.emf_meter import EmfMeter
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger, MemoryMeter, MemoryPublisher, MemoryReplayCache
from koppel.errors import MappingError, SignatureError, UnbalancedDocumentError, park_reason
from koppel.ports import PolledRecord
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.ingest import IngestDeps, ingest_webhook
from koppel.services.poll import PollDeps, PollJob, poll_connection
from tests.fakes import T0, FakeBooks, FakeShop, a_connection, a_timeout_after_commit, a_validation_error, an_event

KOPPELING = "fakeshop_fakebooks"


@pytest.fixture
def meter() -> MemoryMeter:
    return MemoryMeter()


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks()


@pytest.fixture
def deps(books: FakeBooks, meter: MemoryMeter) -> DeliverDeps:
    return DeliverDeps(target=books, target_name="fakebooks", ledger=MemoryLedger(), clock=lambda: T0, meter=meter)


def test_a_booked_order_counts_one_booked_with_its_koppeling_and_its_latency(deps, meter) -> None:
    # Given an order Koppel received 42 seconds before it is booked
    # When it is delivered
    deliver(an_event("1001"), deps, received_at=T0 - timedelta(seconds=42))
    # Then one Booked is counted for fakeshop → fakebooks, and the time from receipt to POSTED
    assert meter.counts == {("Booked", KOPPELING, None): 1}
    assert meter.latencies == {("BookingLatency", KOPPELING): [42.0]}


def test_an_order_delivered_again_is_not_counted_twice(deps, meter) -> None:
    # Given a booked order, when the same event arrives again (a re-sent webhook, an overlapping poll)
    deliver(an_event("1001"), deps)
    deliver(an_event("1001"), deps)
    # Then it was booked once, and without a receipt time no latency is guessed
    assert meter.total("Booked") == 1
    assert meter.latencies == {}


def test_a_parked_order_counts_parked_with_the_class_of_its_reason(deps, books, meter) -> None:
    # Given a target that refuses the booking with its own validation message
    books.fail_next_post = a_validation_error()
    # When the order is delivered
    result = deliver(an_event("1001"), deps)
    # Then it is parked and counted as parked by the vendor, not as booked
    assert result.outcome == "parked"
    assert meter.counts == {("Parked", KOPPELING, "vendor"): 1}


def test_a_retryable_failure_counts_one_retry(deps, books, meter) -> None:
    # Given a target that times out
    books.fail_next_post = a_timeout_after_commit()
    # When the order is delivered, the failure goes back to the queue
    with pytest.raises(Exception, match="did not answer"):
        deliver(an_event("1001"), deps)
    # Then one retry is counted, nothing booked or parked
    assert meter.counts == {("Retried", KOPPELING, None): 1}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UnbalancedDocumentError("totals differ by 0.01", difference=0), "unbalanced"),
        (MappingError("no ledger for 21 % VAT"), "mapping"),
        (a_validation_error(), "vendor"),
    ],
)
def test_a_parking_reason_has_a_class_and_the_class_is_never_the_message(error, reason) -> None:
    assert park_reason(error) == reason


def _ingest_deps(meter: MemoryMeter) -> IngestDeps:
    shop = FakeShop()
    shop.webhook_events["1001"] = [an_event("1001")]
    store = MemoryConnectionStore([a_connection(targets=("fakebooks", "otherbooks"))])
    return IngestDeps(
        connections=store,
        publisher=MemoryPublisher(),
        source_for=lambda _: shop,
        replays=MemoryReplayCache(),
        meter=meter,
    )


def test_a_webhook_is_counted_accepted_per_koppeling_and_an_unverified_one_under_no_koppeling(meter) -> None:
    # Given a connection fakeshop → fakebooks and otherbooks
    deps = _ingest_deps(meter)
    body = json.dumps({"id": 1001}).encode()
    # When a signed webhook and one with a wrong signature arrive
    ingest_webhook("fakeshop", "demo-shop", {"x-signature": "s3cret"}, body, "https://hooks/x", deps)
    with pytest.raises(SignatureError):
        ingest_webhook("fakeshop", "demo-shop", {"x-signature": "guess"}, body, "https://hooks/x", deps)
    # Then the first is accepted for both koppelingen, the second refused without naming the connection
    assert meter.counts == {
        ("WebhookAccepted", "fakeshop_fakebooks", None): 1,
        ("WebhookAccepted", "fakeshop_otherbooks", None): 1,
        ("WebhookRefused", "unverified", None): 1,
    }


def test_a_polled_record_that_cannot_be_read_counts_parked_from_the_source(meter) -> None:
    # Given a polled source with an invoice that cannot be read into the model
    connection = a_connection()
    event = an_event("INV-7", connection)
    broken = PolledRecord(record_id="move:7", changed_at=T0, problem="two taxes on a line", event_ids=(event.event_id,))

    class Source:
        def poll(self, since, until):  # type: ignore[no-untyped-def]
            yield broken

    deps = PollDeps(
        connections=MemoryConnectionStore([connection]),
        publisher=MemoryPublisher(),
        source_for=lambda _: Source(),
        ledger=MemoryLedger(),
        clock=lambda: T0,
        meter=meter,
    )
    # When it is polled
    poll_connection(PollJob(connection_id=connection.connection_id), deps)
    # Then it is counted parked, for the reason "source", once per target
    assert meter.counts == {("Parked", KOPPELING, "source"): 1}


def test_the_emf_lines_carry_the_koppeling_and_target_and_never_a_connection(monkeypatch) -> None:
    # Given a Lambda meter that counted a booking, its latency and a parked record of one koppeling
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "KoppelTest")
    emf = EmfMeter()
    emf.count("Booked", "ccvshop_snelstart")
    emf.latency("BookingLatency", "ccvshop_snelstart", 3.5)
    emf.count("Parked", "ccvshop_snelstart", reason="mapping")
    # When the handler ends
    lines = [json.loads(line) for line in emf.lines()]
    # Then one line per dimension set, in the namespace of the environment, grouped per koppeling and per target
    booked, parked = lines
    spec = booked["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == "KoppelTest"
    assert spec["Dimensions"] == [["koppeling", "target"], ["target"]]
    assert (booked["koppeling"], booked["target"], booked["Booked"], booked["BookingLatency"]) == (
        "ccvshop_snelstart",
        "snelstart",
        [1],
        [3.5],
    )
    assert parked["reason"] == "mapping"
    assert ["koppeling", "target", "reason"] in parked["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert not {"service", "connection_id", "tenant_id"} & (booked.keys() | parked.keys())
    # And what was written is forgotten
    assert emf.lines() == []


def test_nothing_is_kept_when_metrics_are_switched_off(monkeypatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    emf = EmfMeter()
    emf.count("Booked", "ccvshop_snelstart")
    assert emf.lines() == []


def test_more_than_a_hundred_latencies_are_split_over_lines(monkeypatch) -> None:
    # Given 150 bookings in one invocation (EMF takes 100 values of a metric per line)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    emf = EmfMeter()
    for _ in range(150):
        emf.latency("BookingLatency", "bizzcloud_eboekhouden", 1.0)
    # Then they are written as two lines of 100 and 50
    assert [len(json.loads(line)["BookingLatency"]) for line in emf.lines()] == [100, 50]
