"""The local stack (devkit.stack): the template's resources, created inside moto server, behave as declared."""

from __future__ import annotations

import importlib.util
import json
from typing import TYPE_CHECKING, Any

import pytest

from devkit.stack import (
    client,
    create_stack,
    dead_letter_queue,
    functions_of,
    load_template,
    referenced_ids,
    start_moto,
    target_bindings,
)
from koppel import settings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from devkit.stack import StackOutputs

TEMPLATE = load_template()


def _takes_deliveries() -> set[str]:
    """The vendors whose descriptors say they take deliveries: targets, and sources that take status back."""
    from koppel import connectors

    return {
        name
        for name in connectors.available()
        if connectors.load(name).can("target") or connectors.load(name).can("payment_status_writer")
    }


SETTINGS_OF_CODE: dict[str, type[settings.StoreSettings]] = {
    "functions.ingest_webhook.app": settings.IngestSettings,
    "functions.schedule_polls.app": settings.PollSettings,
    "functions.poll_source.app": settings.PollSettings,
    "functions.deliver.app": settings.DeliverSettings,
    "functions.connect.app": settings.ConnectSettings,
    "functions.apps.app": settings.PublishSettings,
    "functions.manage.app": settings.ConsoleSettings,
}


@pytest.fixture(scope="module")
def stack() -> Iterator[StackOutputs]:
    server, endpoint_url = start_moto()
    try:
        yield create_stack(endpoint_url)
    finally:
        server.stop()


def _aws(stack: StackOutputs, service: str) -> Any:
    return client(service, stack.endpoint_url)


def _indexes(table: dict[str, Any]) -> dict[str, Any]:
    return {index["IndexName"]: index["KeySchema"] for index in table.get("GlobalSecondaryIndexes", [])}


def _queue_attributes(stack: StackOutputs, url: str) -> dict[str, str]:
    attributes: dict[str, str] = _aws(stack, "sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return attributes


def test_tables_exist_with_the_key_schema_of_the_template(stack: StackOutputs) -> None:
    # Given the tables the stack names
    dynamodb = _aws(stack, "dynamodb")
    tables = {
        "ConnectionsTable": stack.connections_table,
        "LedgerTable": stack.ledger_table,
        "IdempotencyTable": stack.idempotency_table,
    }

    for logical_id, name in tables.items():
        # When moto describes each
        described = dynamodb.describe_table(TableName=name)["Table"]

        # Then keys and indexes are the template's
        declared = TEMPLATE["Resources"][logical_id]["Properties"]
        assert described["KeySchema"] == declared["KeySchema"]
        indexes = {index["IndexName"]: index["KeySchema"] for index in described.get("GlobalSecondaryIndexes", [])}
        assert indexes == {
            index["IndexName"]: index["KeySchema"] for index in declared.get("GlobalSecondaryIndexes", [])
        }
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # And idempotency records carry the TTL attribute Powertools writes; closed ledger rows the one the ledger writes
    ttl = dynamodb.describe_time_to_live(TableName=stack.idempotency_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    assert dynamodb.describe_time_to_live(TableName=stack.ledger_table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at_epoch",
    }


def test_every_queue_redrives_to_its_dlq_as_the_template_says(stack: StackOutputs) -> None:
    # Given the poll queue and each target queue with their DLQs
    queues = {"poll": ("PollQueue", stack.poll_queue_url)} | {
        target: (queue, stack.target_queues[target]) for target, (_, queue) in target_bindings(TEMPLATE).items()
    }
    assert set(queues) == set(stack.dlq_urls) == {"poll"} | _takes_deliveries()

    for key, (logical_id, url) in queues.items():
        # When moto describes the queue and its DLQ
        attributes = _queue_attributes(stack, url)
        dlq_arn = _queue_attributes(stack, stack.dlq_urls[key])["QueueArn"]

        # Then redrive, visibility and retention are the template's
        declared = TEMPLATE["Resources"][logical_id]["Properties"]
        receives = declared["RedrivePolicy"]["maxReceiveCount"]
        assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": receives}
        assert f":koppel-dev-{dead_letter_queue(TEMPLATE, logical_id)}-" in dlq_arn
        assert int(attributes["VisibilityTimeout"]) == declared["VisibilityTimeout"]
        assert int(attributes["MessageRetentionPeriod"]) == declared["MessageRetentionPeriod"]


def test_a_message_received_max_receive_count_times_without_success_lands_in_the_dlq(stack: StackOutputs) -> None:
    # Given an event on the poll queue
    sqs = _aws(stack, "sqs")
    queue, dlq = stack.poll_queue_url, stack.dlq_urls["poll"]
    receives = TEMPLATE["Resources"]["PollQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"event": "poison"}')

    # When every delivery fails (received, never deleted, visible again at once)
    for attempt in range(1, receives + 1):
        (message,) = sqs.receive_message(
            QueueUrl=queue, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"]
        )["Messages"]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)

    # Then the next receive finds nothing: the message waits in the DLQ, body intact
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)
    (parked,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert parked["Body"] == '{"event": "poison"}'


def test_the_key_encrypts_bound_to_a_context_and_the_partner_secret_exists(stack: StackOutputs) -> None:
    # Given the Koppel key, found by its stage alias
    kms = _aws(stack, "kms")
    key = kms.describe_key(KeyId="alias/koppel-dev")["KeyMetadata"]
    assert key["Arn"] == stack.kms_key_id
    assert kms.get_key_rotation_status(KeyId=stack.kms_key_id)["KeyRotationEnabled"] is True

    # When a credential is encrypted for one connection, as the connections store does
    context = {"connection_id": "demo-shop", "system": "snelstart"}
    blob = kms.encrypt(KeyId=stack.kms_key_id, Plaintext=b'{"koppelsleutel": "k"}', EncryptionContext=context)

    # Then it decrypts under that context only
    plain = kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
    assert plain["Plaintext"] == b'{"koppelsleutel": "k"}'
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={**context, "connection_id": "other"})
    # And SnelStart's partner secret sits where the app looks (prefix + vendor), a JSON placeholder to replace
    secret = _aws(stack, "secretsmanager").get_secret_value(SecretId=f"{stack.partner_secret_prefix}snelstart")
    assert set(json.loads(secret["SecretString"])) == {"subscription_key"}


def test_each_function_gets_an_environment_its_settings_accept(stack: StackOutputs) -> None:
    # Given the functions of the template with the environment they get in AWS
    assert set(stack.functions) == set(functions_of(TEMPLATE))
    assert {f"Deliver{vendor.capitalize()}Function" for vendor in _takes_deliveries()} <= set(stack.functions)

    for function in stack.functions.values():
        # When its handler's settings load from that environment
        loaded = SETTINGS_OF_CODE[function.module].load(stack.function_environment(function.logical_id))

        # Then they point at the stack's resources, and the handler module is where the template says
        assert importlib.util.find_spec(function.module) is not None
        assert (stack.connections_table, stack.ledger_table) == (loaded.CONNECTIONS_TABLE, loaded.LEDGER_TABLE)
        assert stack.kms_key_id == loaded.KMS_KEY_ID
        assert loaded.PARTNER_SECRET_PREFIX == stack.partner_secret_prefix == "koppel/dev/partner/"
        if isinstance(loaded, settings.PublishSettings):
            assert stack.target_queues == loaded.TARGET_QUEUES
    assert json.loads(stack.environment()["TARGET_QUEUES"]) == stack.target_queues
    assert "CONNECTOR" not in stack.environment()
    assert stack.function_environment("DeliverSnelstartFunction")["CONNECTOR"] == "snelstart"


def test_the_dispatcher_learns_each_event_source_from_the_template(stack: StackOutputs) -> None:
    # Given the functions as the local dispatcher sees them
    deliver, poll = stack.functions["DeliverSnelstartFunction"], stack.functions["PollSourceFunction"]

    # Then queue consumers carry their batch settings, HTTP functions their routes, the scheduler its rate
    (source,) = deliver.sqs_sources
    assert (source.queue_url, source.batch_size, source.max_batching_window_seconds) == (
        stack.target_queues["snelstart"],
        10,
        1,
    )
    assert source.reports_batch_item_failures and source.max_concurrency == 2
    assert poll.sqs_sources[0].queue_url == stack.poll_queue_url and poll.sqs_sources[0].batch_size == 5
    assert set(stack.functions["IngestWebhookFunction"].http_routes) == {
        "POST /hooks/{source}/{connection_id}",
        "POST /notices/{target}",
    }
    assert set(stack.functions["ConnectFunction"].http_routes) == {
        "GET /connect/{target}/start",
        "POST /connect/{target}/callback",
        "GET /connect/{target}/callback",
        "GET /connect/{target}/done",
    }
    assert set(stack.functions["AppsFunction"].http_routes) == {
        "GET /apps/{source}/panel",
        "POST /apps/{source}/invoice",
        "POST /apps/{source}/invoices/{action}",
        "GET /records/{system}/sync",
    }
    assert stack.functions["SchedulePollsFunction"].schedules == ("rate(1 minute)",)
    assert (deliver.module, deliver.handler, poll.timeout) == ("functions.deliver.app", "lambda_handler", 120)


def test_only_what_moto_cannot_run_is_left_out_and_a_second_create_reuses_the_stack(stack: StackOutputs) -> None:
    # Given the resources of the template
    resources = TEMPLATE["Resources"]

    # When the same stack is created again on the same server
    again = create_stack(stack.endpoint_url)

    # Then it is the same stack, and only Lambda/API/layer, alarms, the secret (made by API) and the files bucket's
    # TLS-only policy (moto speaks plain HTTP) were left out, with the roles that name the secret (moto enforces no
    # IAM; test_least_privilege checks every call)
    assert again == stack
    left_out = {
        name
        for name, res in resources.items()
        if res["Type"].startswith("AWS::Serverless::")
        or res["Type"] in {"AWS::CloudWatch::Alarm", "AWS::SecretsManager::Secret", "AWS::S3::BucketPolicy"}
    }
    secret_readers = {
        name
        for name, res in resources.items()
        if res["Type"] == "AWS::IAM::Role"
        and any(resources[named]["Type"] == "AWS::SecretsManager::Secret" for named in referenced_ids(res))
    }
    assert set(stack.dropped) == left_out | secret_readers


def test_a_new_target_needs_only_its_template_blocks(stack: StackOutputs, tmp_path: Path) -> None:
    # Given the template with a Billy target copied from SnelStart's three blocks and routed in TARGET_QUEUES
    template = load_template()
    resources = template["Resources"]
    resources["BillyQueue"] = json.loads(json.dumps(resources["SnelstartQueue"]).replace("SnelstartDlq", "BillyDlq"))
    resources["BillyDlq"] = resources["SnelstartDlq"]
    billy = json.loads(json.dumps(resources["DeliverSnelstartFunction"]).replace("SnelstartQueue", "BillyQueue"))
    billy["Properties"]["Environment"]["Variables"]["CONNECTOR"] = "billy"
    resources["DeliverBillyFunction"] = billy
    routing = template["Globals"]["Function"]["Environment"]["Variables"]["TARGET_QUEUES"]
    routing["Fn::Sub"] = routing["Fn::Sub"][:-1] + ', "billy": "${BillyQueue}"}'
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "template.yaml").write_text(json.dumps(template))  # JSON is YAML
    (tmp_path / "functions" / "deliver").mkdir(parents=True)

    # When the prod stack is created from it on the same server
    prod = create_stack(stack.endpoint_url, stage="prod", template_path=tmp_path / "infra" / "template.yaml")

    # Then Billy has its queue, DLQ and deliver function with CONNECTOR=billy, routed like SnelStart
    assert set(prod.target_queues) == set(prod.dlq_urls) - {"poll"} == _takes_deliveries() | {"billy"}
    assert json.loads(prod.function_environment("DeliverBillyFunction")["TARGET_QUEUES"]) == prod.target_queues
    assert prod.function_environment("DeliverBillyFunction")["CONNECTOR"] == "billy"
    assert prod.functions["DeliverBillyFunction"].sqs_sources[0].queue_url == prod.target_queues["billy"]
    assert prod.partner_secret_prefix == "koppel/prod/partner/"
