"""The Lambda handlers in-process on moto (server mode) with the real event shapes from events/, against the
vendor sandboxes. What an operator would see: HTTP answers, queue contents, ledger rows, batch item failures."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.local import sqs_event
from koppel import bootstrap
from koppel.model import HubEnvelope
from koppel.settings import StoreSettings

if TYPE_CHECKING:
    from devkit.local import LocalStack

EVENTS = Path(__file__).resolve().parents[2] / "events"
WEBHOOK_KEY = "demo-ccv-webhook-key"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def queued(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    answer = stack.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    return answer.get("Messages", [])


def test_a_webhook_with_a_wrong_signature_is_refused_and_nothing_is_enqueued(clean_stack, demo_shop) -> None:
    # Given the recorded status-changed webhook with an x-hash made with another key
    event = load_event("ingest_webhook__bad_signature.json")
    # When API Gateway hands it to ingest_webhook
    answer = clean_stack.invoke("IngestWebhookFunction", event)
    # Then it is answered 401 with a reason, and no queue got anything
    assert answer["statusCode"] == 401
    assert "could not be verified" in json.loads(answer["body"])["error"]
    assert queued(clean_stack, clean_stack._outputs().target_queues["snelstart"]) == []


def test_a_malformed_webhook_body_is_a_400_that_says_what_is_wrong(clean_stack, demo_shop) -> None:
    event = load_event("ingest_webhook__ccvshop_status_changed.json")
    event["body"] = "{not json"
    event["headers"]["x-hash"] = hmac.new(WEBHOOK_KEY.encode(), b"{not json", hashlib.sha512).hexdigest()
    answer = clean_stack.invoke("IngestWebhookFunction", event)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]


def test_a_webhook_for_an_unknown_connection_is_answered_like_a_wrong_signature(clean_stack, demo_shop) -> None:
    # Given a correctly signed webhook sent to a connection that does not exist, and one with a wrong signature
    unknown = load_event("ingest_webhook__ccvshop_status_changed.json")
    unknown["rawPath"] = "/hooks/ccvshop/no-such-shop"
    unknown["pathParameters"]["connection_id"] = "no-such-shop"
    # When both reach ingest_webhook
    answers = [
        clean_stack.invoke("IngestWebhookFunction", e)
        for e in (unknown, load_event("ingest_webhook__bad_signature.json"))
    ]
    # Then the two answers are the same: nobody can probe which connection ids exist
    assert answers[0]["statusCode"] == answers[1]["statusCode"] == 401
    assert answers[0]["body"] == answers[1]["body"]


def test_deliver_books_the_recorded_order_once_and_the_ledger_links_it(clean_stack, demo_shop, snelstart) -> None:
    # Given the deliver event of the recorded CCV order 339323562 (total 590, VAT 102.40), put on the real queue
    queue = clean_stack._outputs().target_queues["snelstart"]
    body = load_event("deliver__order_completed.json")["Records"][0]["body"]
    sqs = clean_stack.client("sqs")
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    sqs.send_message(QueueUrl=queue, MessageBody=body)  # and a duplicate of it
    # When the SnelStart consumer runs
    clean_stack.run_until_idle()
    # Then SnelStart holds one balanced booking of 590.00 and the ledger row is POSTED with its id
    (booking,) = snelstart.bookings(demo_shop)
    assert Decimal(str(booking["factuurbedrag"])) == Decimal("590.00")
    assert [row["btwSoort"] for row in booking["btw"]] == ["VerkopenHoog"]
    event = HubEnvelope.model_validate_json(body).event
    row = bootstrap.ledger(StoreSettings.load()).get("demo-shop", "snelstart", event.event_id)
    assert row is not None
    assert (row.state, row.external_id) == ("POSTED", booking["id"])


def test_one_record_delivered_for_two_connections_is_a_delivery_for_each(clean_stack, demo_shop, snelstart) -> None:
    # Given a second connection of the same source and administration (a client's second integration reads the same
    # record: one Banqup file, one event id), and the recorded order's event for each connection
    store = bootstrap.connection_store(StoreSettings.load())
    store.put(store.get("demo-shop").model_copy(update={"connection_id": "demo-shop-2"}))
    store.put_secrets("demo-shop-2", "snelstart", store.get_secrets("demo-shop", "snelstart"))
    body = load_event("deliver__order_completed.json")["Records"][0]["body"]
    envelope = HubEnvelope.model_validate_json(body)
    second = envelope.model_copy(update={"event": envelope.event.model_copy(update={"connection_id": "demo-shop-2"})})
    queue = clean_stack._outputs().target_queues["snelstart"]
    for message in (body, second.model_dump_json()):
        clean_stack.client("sqs").send_message(QueueUrl=queue, MessageBody=message)

    # When the SnelStart consumer runs
    clean_stack.run_until_idle()

    # Then each connection's ledger holds the record as booked (the second found it in SnelStart: one booking),
    # rather than the second being taken for a duplicate of the first
    ledger = bootstrap.ledger(StoreSettings.load())
    rows = [ledger.get(c, "snelstart", envelope.event.event_id) for c in ("demo-shop", "demo-shop-2")]
    assert [row.state if row else None for row in rows] == ["POSTED", "POSTED"]
    assert len(snelstart.bookings(demo_shop)) == 1


def test_a_vendor_outage_is_retried_and_never_reported_as_booked(clean_stack, demo_shop, snelstart) -> None:
    # Given SnelStart answers 503 to every request for now
    queue = clean_stack._outputs().target_queues["snelstart"]
    body = load_event("deliver__order_completed.json")["Records"][0]["body"]
    clean_stack.client("sqs").send_message(QueueUrl=queue, MessageBody=body)
    snelstart.faults.queue("error", 50)
    try:
        messages = queued(clean_stack, queue)
        arn = clean_stack.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        # When the consumer gets the message
        result = clean_stack.invoke("DeliverSnelstartFunction", sqs_event(messages, arn["Attributes"]["QueueArn"]))
    finally:
        snelstart.faults.forced.clear()
    # Then the record is reported as a batch item failure (SQS keeps it), and the ledger row stays PENDING
    assert result["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    event = HubEnvelope.model_validate_json(body).event
    row = bootstrap.ledger(StoreSettings.load()).get("demo-shop", "snelstart", event.event_id)
    assert row is not None
    assert row.state == "PENDING"
    assert "503" in row.reason
    assert snelstart.bookings(demo_shop) == []


def test_a_booking_snelstart_refuses_is_parked_with_its_message_not_retried(clean_stack, demo_shop, snelstart) -> None:
    # Given the connection maps shipping to a ledger the administratie does not have
    store = bootstrap.connection_store(StoreSettings.load())
    connection = store.get("demo-shop")
    settings = dict(connection.target_settings["snelstart"])
    settings["shipping"] = 8999
    store.put(connection.model_copy(update={"target_settings": {"snelstart": settings}}))
    queue = clean_stack._outputs().target_queues["snelstart"]
    body = load_event("deliver__order_completed.json")["Records"][0]["body"]
    clean_stack.client("sqs").send_message(QueueUrl=queue, MessageBody=body)
    # When the consumer runs
    clean_stack.run_until_idle()
    # Then the record is parked with SnelStart's own words, and the queue and DLQ are empty (nothing to retry)
    (parked,) = bootstrap.ledger(StoreSettings.load()).entries("demo-shop", "PARKED")
    assert "grootboek" in parked.reason.lower()
    assert set(clean_stack.queue_depths().values()) == {0}


def test_the_schedule_enqueues_one_poll_job_per_due_connection(clean_stack, demo_shop) -> None:
    # When the EventBridge schedule fires (the recorded scheduled event)
    clean_stack.invoke("SchedulePollsFunction", load_event("schedule_polls__tick.json"))
    clean_stack.invoke("SchedulePollsFunction", load_event("schedule_polls__tick.json"))
    # Then PollQueue holds one job for demo-shop, although the schedule fired twice
    jobs = [json.loads(m["Body"]) for m in queued(clean_stack, clean_stack._outputs().poll_queue_url)]
    assert [job["connection_id"] for job in jobs] == ["demo-shop"]


def test_a_message_that_is_no_koppel_event_goes_to_the_dead_letter_queue_at_once(clean_stack, demo_shop) -> None:
    # Given something on the SnelStart queue that is not a Koppel event
    outputs = clean_stack._outputs()
    clean_stack.client("sqs").send_message(QueueUrl=outputs.target_queues["snelstart"], MessageBody='{"oops": 1}')
    # When the consumer runs once
    clean_stack.run_until_idle()
    # Then it waits in the DLQ with the reason, after one attempt rather than a hundred
    dead = clean_stack.client("sqs").receive_message(
        QueueUrl=outputs.dlq_urls["snelstart"], MessageAttributeNames=["All"]
    )["Messages"]
    assert [m["Body"] for m in dead] == ['{"oops": 1}']
    assert "event" in dead[0]["MessageAttributes"]["reason"]["StringValue"]
    assert clean_stack.queue_depths()["snelstart"] == 0


def test_a_refused_pipedrive_panel_request_names_the_failed_jwt_check_in_its_401_and_its_log(
    clean_stack: LocalStack,
) -> None:
    import io

    import requests

    from koppel.observability import logger

    # Given panel requests with no token, with a token that is no JWT, and with one whose signature is not Koppel's
    panel = f"{clean_stack.http_url}/apps/pipedrive/panel"
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJjb21wYW55SWQiOjEsInVzZXJJZCI6MX0.c2lnbmF0dXJl"
    asked = {"missing token": "", "malformed token": "token=abc", "bad signature": f"token={forged}"}
    for check, query in asked.items():
        log = io.StringIO()
        stream = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
        # When Pipedrive's panel calls Koppel with it
        try:
            answer = requests.get(f"{panel}?companyId=1&userId=1&{query}", timeout=10)
        finally:
            logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
        # Then the 401 names the check that failed in plain words, without echoing the token
        assert answer.status_code == 401
        assert answer.json()["check"] == check
        assert forged not in answer.text
        # And the function's log says the same
        logged = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
        assert any(entry.get("check") == check for entry in logged), logged
