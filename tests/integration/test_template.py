"""infra/template.yaml, samconfig.toml and events/ read as data: the promises the deployment makes.

Pure file checks (no AWS, no moto): the template is read with devkit.stack's CloudFormation-aware loader.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, EventBridgeModel, SqsModel
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devkit.layer_deps import RESOLVED_MARK
from devkit.stack import (
    REPO,
    dead_letter_queue,
    function_environment_expressions,
    functions_of,
    load_template,
    referenced_ids,
    sqs_events,
    target_bindings,
)
from koppel import connectors, settings
from koppel.connectors.ccvshop import CcvshopSettings, CcvshopSource
from koppel.connectors.snelstart import parse_activation
from koppel.errors import SignatureError
from koppel.model import Connection, HubEnvelope

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
EVENTS = sorted((REPO / "events").glob("*.json"))
DEMO_CCV_WEBHOOK_KEY = "demo-ccv-webhook-key"
"""The webhook key the ingest events are signed with (the demo connection's ``webhook_key`` secret)."""

SETTINGS_OF_CODE: dict[str, type[settings.StoreSettings]] = {
    "ingest_webhook": settings.IngestSettings,
    "schedule_polls": settings.PollSettings,
    "poll_source": settings.PollSettings,
    "deliver": settings.DeliverSettings,
    "connect": settings.ConnectSettings,
    "apps": settings.PublishSettings,
    "manage": settings.ConsoleSettings,
}
LOCAL_ONLY = {"AWS_ENDPOINT_URL"}
"""Settings a laptop sets and AWS never does."""


def _props(logical_id: str) -> dict[str, Any]:
    return {**TEMPLATE["Globals"]["Function"], **RESOURCES[logical_id]["Properties"]}


def _code_dir(logical_id: str) -> str:
    return Path(_props(logical_id)["CodeUri"]).name


def _queues() -> list[str]:
    return [name for name, res in RESOURCES.items() if res["Type"] == "AWS::SQS::Queue"]


def _consumers_of(queue: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (function, event)
        for function in functions_of(TEMPLATE)
        for event in sqs_events(TEMPLATE, function)
        if referenced_ids(event["Queue"]) == {queue}
    ]


def _requirement_lines(text: str) -> list[str]:
    """Requirement lines of a requirements file, comments (whole-line and trailing) and blanks left out."""
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _http_routes(logical_id: str) -> set[str]:
    events = _props(logical_id).get("Events", {}).values()
    return {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"}


# ---------------------------------------------------------------------------------------------- queues
def test_every_sqs_consumer_reports_batch_item_failures() -> None:
    # Given every SQS event of every function
    consumers = [(f, e) for f in functions_of(TEMPLATE) for e in sqs_events(TEMPLATE, f)]
    assert consumers

    # Then each one returns partial batch failures, so one bad record never deletes or redoes its neighbours
    for function, event in consumers:
        assert event.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], function


def test_every_consumed_queue_has_a_dlq_after_five_tries_and_outlasts_its_consumer() -> None:
    # Given every queue a function consumes
    consumed = [queue for queue in _queues() if _consumers_of(queue)]
    assert {"PollQueue", "SnelstartQueue"} <= set(consumed)

    for queue in consumed:
        props = RESOURCES[queue]["Properties"]
        # Then a message that keeps failing ends in a DLQ, kept there 14 days
        dlq = dead_letter_queue(TEMPLATE, queue)
        assert dlq, f"{queue} has no RedrivePolicy"
        assert props["RedrivePolicy"]["maxReceiveCount"] >= 5
        assert props["MessageRetentionPeriod"] == 345600
        assert RESOURCES[dlq]["Properties"]["MessageRetentionPeriod"] == 1209600
        assert props["SqsManagedSseEnabled"] and RESOURCES[dlq]["Properties"]["SqsManagedSseEnabled"]
        # And no message reappears while a consumer may still be working on it (AWS: ≥ 6 × timeout + window)
        for function, event in _consumers_of(queue):
            needed = 6 * _props(function)["Timeout"] + event.get("MaximumBatchingWindowInSeconds", 0)
            assert props["VisibilityTimeout"] >= needed, f"{queue} visibility < {needed} s for {function}"


def _vendors_that(*capabilities: connectors.contract.Capability) -> set[str]:
    return {name for name in connectors.available() if any(connectors.load(name).can(c) for c in capabilities)}


def test_every_connector_that_takes_deliveries_has_its_deliver_function_and_no_other_does() -> None:
    # Given the connector descriptors: targets book documents, sources that write back take payment status
    takes_deliveries = _vendors_that("target", "payment_status_writer")
    # Then the template deploys one deliver function per such vendor, named for it and told its CONNECTOR
    targets = target_bindings(TEMPLATE)
    assert set(targets) == takes_deliveries
    for name, (function, _) in targets.items():
        assert function_environment_expressions(TEMPLATE, function)["CONNECTOR"] == name


def test_every_polled_source_is_scheduled_and_every_webhook_source_has_its_door() -> None:
    # Given the descriptors' polled and webhook sources
    polled, webhooks = _vendors_that("polled_source"), _vendors_that("webhook_source")
    assert polled and webhooks
    # Then a schedule fires the scheduler, whose jobs the poll function consumes
    scheduler = next(f for f in functions_of(TEMPLATE) if _code_dir(f) == "schedule_polls")
    assert [e["Type"] for e in RESOURCES[scheduler]["Properties"]["Events"].values()] == ["Schedule"]
    poller = next(f for f in functions_of(TEMPLATE) if _code_dir(f) == "poll_source")
    assert (poller, sqs_events(TEMPLATE, poller)[0]) in _consumers_of("PollQueue")
    # And the webhook door takes any source by its path
    ingest = next(f for f in functions_of(TEMPLATE) if _code_dir(f) == "ingest_webhook")
    paths = [e["Properties"].get("Path", "") for e in RESOURCES[ingest]["Properties"]["Events"].values()]
    assert any("{source}" in path for path in paths), paths


def test_an_activating_vendor_is_reached_through_the_connect_function() -> None:
    # Given the vendors that activate by calling back (SnelStart's koppelsleutel)
    activating = _vendors_that("activation")
    assert activating
    # Then the connect function's routes take the target by its path (start, done, callback)
    connect = next(f for f in functions_of(TEMPLATE) if _code_dir(f) == "connect")
    paths = {e["Properties"].get("Path", "") for e in RESOURCES[connect]["Properties"]["Events"].values()}
    assert {"/connect/{target}/start", "/connect/{target}/done", "/connect/{target}/callback"} <= paths


def test_aws_endpoint_url_is_declared_for_sam_local_and_absent_on_aws() -> None:
    # Given the template's shared environment
    declared = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"]
    # Then it is set only when LocalEndpointUrl is given (sam local invoke --parameter-overrides), which it is not
    # by default nor in any samconfig environment: on AWS no function talks to another endpoint
    assert declared == {"Fn::If": ["HasLocalEndpoint", {"Ref": "LocalEndpointUrl"}, {"Ref": "AWS::NoValue"}]}
    assert TEMPLATE["Conditions"]["HasLocalEndpoint"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "LocalEndpointUrl"}, ""]}]
    }
    assert TEMPLATE["Parameters"]["LocalEndpointUrl"]["Default"] == ""
    samconfig = (REPO / "samconfig.toml").read_text()
    assert "LocalEndpointUrl" not in samconfig


def test_every_target_follows_the_three_block_convention_and_is_routed() -> None:
    # Given the targets found by convention ({Vendor}Queue, {Vendor}Dlq, Deliver{Vendor}Function)
    targets = target_bindings(TEMPLATE)

    # When the TARGET_QUEUES variable the publishers read is taken apart
    routing = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["TARGET_QUEUES"]["Fn::Sub"]
    named = {key: re.fullmatch(r"\$\{(\w+)\}", url) for key, url in json.loads(routing).items()}

    # Then it routes each target to exactly its own queue, and each queue has its DLQ and its alarm
    assert {key: match.group(1) for key, match in named.items() if match} == {t: q for t, (_, q) in targets.items()}
    for function, queue in targets.values():
        dlq = dead_letter_queue(TEMPLATE, queue)
        assert dlq == queue.removesuffix("Queue") + "Dlq"
        assert _props(function)["CodeUri"] == "../functions/deliver/"
        assert sqs_events(TEMPLATE, function)[0]["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_each_dead_letter_queue_raises_an_alarm_as_soon_as_it_holds_a_message() -> None:
    # Given every queue that is some queue's DLQ
    dlqs = {dead_letter_queue(TEMPLATE, queue) for queue in _queues()} - {None}
    alarms = [res["Properties"] for res in RESOURCES.values() if res["Type"] == "AWS::CloudWatch::Alarm"]

    # Then each has an alarm on visible messages > 0
    for dlq in dlqs:
        watching = [
            alarm
            for alarm in alarms
            if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and referenced_ids(alarm["Dimensions"]) == {dlq}
        ]
        assert len(watching) == 1, dlq
        assert watching[0]["Threshold"] == 0 and watching[0]["ComparisonOperator"] == "GreaterThanThreshold"


# ------------------------------------------------------------------------------------------- security
# Roles and policies: tests/integration/test_least_privilege.py
def test_tables_are_encrypted_with_the_koppel_key_and_recoverable_and_the_ledger_never_expires() -> None:
    # Given the three tables
    tables = {name: res for name, res in RESOURCES.items() if res["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == {"ConnectionsTable", "LedgerTable", "IdempotencyTable"}

    for res in tables.values():
        props = res["Properties"]
        # Then each is on demand, encrypted with the Koppel key and has point-in-time recovery
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Ref": "KoppelKey"},
        }
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # And the ledger survives stack deletion and replacement; only rows the code marks (expires_at_epoch) expire
    assert tables["LedgerTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at_epoch",
        "Enabled": True,
    }
    assert tables["LedgerTable"]["DeletionPolicy"] == tables["LedgerTable"]["UpdateReplacePolicy"] == "Retain"
    # And idempotency records use Powertools' defaults
    assert tables["IdempotencyTable"]["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert tables["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    key = RESOURCES["KoppelKey"]["Properties"]
    assert key["EnableKeyRotation"] is True


# ------------------------------------------------------------------------------------------- settings
def test_every_function_gets_every_setting_its_code_loads() -> None:
    # Given each function's code directory and the settings class its handler loads
    for function in functions_of(TEMPLATE):
        model = SETTINGS_OF_CODE[_code_dir(function)]
        environment = function_environment_expressions(TEMPLATE, function)

        # Then every variable the settings module declares is set on it, defaults included, so AWS runs
        # with the values written here and not with code defaults nobody sees
        missing = set(model.model_fields) - LOCAL_ONLY - set(environment)
        assert not missing, f"{function} lacks {sorted(missing)} that {model.__name__} reads"


def test_every_function_directory_is_deployed() -> None:
    # Given the function code on disk
    on_disk = {path.parent.name for path in (REPO / "functions").glob("*/app.py")}

    # Then each is deployed by the template, and the settings mapping of these tests knows it
    assert on_disk == {_code_dir(function) for function in functions_of(TEMPLATE)} == set(SETTINGS_OF_CODE)


def test_layer_pins_runtime_dependencies_the_project_allows_and_leaves_boto3_to_lambda() -> None:
    # Given the layer, its pinned requirements and the project's declared dependencies
    layer = RESOURCES["KoppelLayer"]
    text = (REPO / "layers/koppel/requirements.txt").read_text()
    direct_part, marked_part = text.split(RESOLVED_MARK)
    resolved_part = marked_part.split("\n", 1)[1]  # the rest of the marker line is prose
    pins = [Requirement(line) for line in _requirement_lines(direct_part)]
    resolved = [Requirement(line) for line in _requirement_lines(resolved_part)]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    allowed = {canonicalize_name(req.name): req.specifier for req in map(Requirement, project)}

    # Then SAM builds it for the runtime the functions use
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.13"
    # And every pin is exact and inside the project's range; boto3 comes with the Lambda runtime
    for pin in pins:
        (exact,) = pin.specifier
        assert exact.operator == "==", pin
        assert allowed[canonicalize_name(pin.name)].contains(exact.version), pin
    assert {canonicalize_name(pin.name) for pin in pins} == set(allowed) - {"boto3"}
    # And no X-Ray SDK: it would bring a second botocore into the layer and ~350 ms into every cold start
    assert not next(pin.extras for pin in pins if pin.name == "aws-lambda-powertools")
    # And what they pull in is pinned too (make layer-lock), so sam build ships exactly what make security audited
    for pin in resolved:
        (exact,) = pin.specifier
        assert exact.operator == "==", pin
    names = [canonicalize_name(pin.name) for pin in (*pins, *resolved)]
    assert len(names) == len(set(names)) and not {"boto3", "botocore"} & set(names)


def test_a_target_outage_of_72_hours_is_retried_through_before_anything_is_dead() -> None:
    # Given the deliver function's backoff settings and its queue's redrive policy
    from koppel.runtime import backoff_seconds

    env = _props("DeliverSnelstartFunction")["Environment"]["Variables"]
    queue = RESOURCES["SnelstartQueue"]["Properties"]
    base, cap = int(env["RETRY_BASE_SECONDS"]), int(env["RETRY_MAX_SECONDS"])
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    # When every attempt fails, waiting out the backoff between receives
    waited = sum(backoff_seconds(n, None, base=base, cap=cap) for n in range(1, receives))
    # Then the message is still being retried after 72 hours, and the queue keeps it that long
    assert waited >= 72 * 3600
    assert queue["MessageRetentionPeriod"] >= waited


def test_samconfig_never_points_deploy_at_the_unbuilt_template() -> None:
    # Given samconfig.toml
    config = tomllib.loads((REPO / "samconfig.toml").read_text())

    # Then template_file is set only where SAM must read the source template
    with_template = {
        f"{env}.{command}"
        for env, commands in config.items()
        if isinstance(commands, dict)
        for command, section in commands.items()
        if "template_file" in section.get("parameters", {})
    }
    assert with_template == {"default.build", "default.validate", "default.local_invoke"}
    build = config["default"]["build"]["parameters"]
    assert build["cached"] is True and build["parallel"] is True
    # And each stage deploys its own stack with its Stage, prod only after a look at the change set
    for stage in ("dev", "prod"):
        deploy = config[stage]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"koppel-{stage}"
        assert f"Stage={stage}" in deploy["parameter_overrides"].split()
        assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["resolve_s3"] is True
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


# --------------------------------------------------------------------------------------------- events
def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "events" / name).read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("path", EVENTS, ids=[path.name for path in EVENTS])
def test_each_event_is_a_real_payload_of_the_function_it_is_named_after(path: Path) -> None:
    # Given an event file <function>__<case>.json and the functions deployed from that code
    code_dir, _, case = path.stem.partition("__")
    functions = [function for function in functions_of(TEMPLATE) if _code_dir(function) == code_dir]
    event = json.loads(path.read_text(encoding="utf-8"))
    assert case and functions
    kinds = {e["Type"] for function in functions for e in _props(function)["Events"].values()}

    # Then it parses as the trigger the template gives them, aimed at what the template declares
    if kinds == {"HttpApi"}:
        parsed = APIGatewayProxyEventV2Model.model_validate(event)
        assert parsed.routeKey in set().union(*(_http_routes(function) for function in functions))
        assert parsed.requestContext.routeKey == parsed.routeKey
    elif kinds == {"SQS"}:
        (record,) = SqsModel.model_validate(event).Records
        queue_name = record.eventSourceARN.rsplit(":", 1)[1]
        consumed = {queue for f in functions for e in sqs_events(TEMPLATE, f) for queue in referenced_ids(e["Queue"])}
        assert any(f"-{queue}-" in queue_name for queue in consumed), queue_name
        assert isinstance(record.body, str)  # the model also admits a parsed body; a real event has text
        assert record.md5OfBody == hashlib.md5(record.body.encode()).hexdigest()
    else:
        assert kinds == {"Schedule"}
        assert EventBridgeModel.model_validate(event).detail_type == "Scheduled Event"


def test_the_webhook_event_carries_the_genuine_ccv_body_signed_with_the_demo_key() -> None:
    # Given the CCV Shop webhook events and the recorded body they must carry byte for byte
    recorded = (REPO / "tests/fixtures/ccvshop/webhook.orders.status_changed.json").read_text(encoding="utf-8")
    good, bad = _event("ingest_webhook__ccvshop_status_changed.json"), _event("ingest_webhook__bad_signature.json")
    assert good["body"] == recorded
    assert good["body"] == bad["body"] and not good["isBase64Encoded"]
    assert good["pathParameters"] == {"source": "ccvshop", "connection_id": "demo-shop"}
    source = CcvshopSource(
        CcvshopSettings(base_url="https://bonapp1.ccvshop.nl"),
        Connection(
            connection_id="demo-shop",
            tenant_id="t",
            source="ccvshop",
            targets=("snelstart",),
            created_at=datetime(2022, 11, 1, tzinfo=UTC),
        ),
        public_key="p",
        secret_key="s",
        webhook_keys=(DEMO_CCV_WEBHOOK_KEY,),
        session=requests.Session(),
        clock=lambda: datetime(2022, 11, 9, tzinfo=UTC),
    )
    url = f"https://{good['requestContext']['domainName']}{good['rawPath']}"

    # When the CCV Shop connector checks both
    source.verify_webhook(good["headers"], good["body"].encode(), url)

    # Then the signed one passes, names order 339493812, and the other is refused
    assert source.parse_webhook(good["body"].encode()).record_id == "339493812"
    expected = hmac.new(DEMO_CCV_WEBHOOK_KEY.encode(), good["body"].encode(), hashlib.sha512).hexdigest()
    assert good["headers"]["x-hash"] == expected
    with pytest.raises(SignatureError):
        source.verify_webhook(bad["headers"], bad["body"].encode(), url)


def test_the_deliver_event_holds_a_canonical_order_from_the_ccv_sample() -> None:
    # Given the deliver event
    (record,) = _event("deliver__order_completed.json")["Records"]

    # When its body is read the way the deliver handler reads it
    event = HubEnvelope.model_validate_json(record["body"]).event

    # Then it is CCV order 339323562 as a completed order of the demo connection, total to the cent
    assert event.kind == "order.completed" and event.event_id == "ccvshop:order:339323562:completed"
    assert event.connection_id == "demo-shop"
    assert str(event.payload.total) == "590" and str(event.payload.total_vat) == "102.4"
    assert record["messageAttributes"] == {}


def test_the_poll_and_activation_events_carry_what_their_handlers_read() -> None:
    # Given the poll job and the SnelStart activation events
    (record,) = _event("poll_source__job.json")["Records"]
    activation_event = _event("connect__snelstart_activation.json")

    # When their bodies are read
    job = json.loads(record["body"])
    activation = parse_activation(activation_event["body"].encode())

    # Then the job is a plain poll of the demo connection, and the activation creates a SnelStart link for a
    # reference that names no connection (a random one Koppel issued)
    assert job == {"connection_id": "demo-shop", "since": None, "until": None, "is_backfill": False}
    assert activation.action == "create" and "demo-shop" not in activation.reference
    assert activation_event["pathParameters"] == {"target": "snelstart"}
