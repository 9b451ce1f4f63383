"""Least privilege: each function runs as its own role, which allows only the actions it calls on the resources it
uses, and every AWS call the real handlers make in the demo is one their role allows.

The static tests read infra/template.yaml. The last test plays every demo koppeling on the local stack with every
boto3 call recorded per function, and evaluates each call against that function's role the way IAM would (actions,
resource ARNs, KMS encryption-context conditions): moto does not enforce IAM, so without this a role that is one
action short would pass every other test and fail only in AWS.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from devkit.stack import REPO, function_environment_expressions, functions_of, load_template, sqs_events

if TYPE_CHECKING:
    from collections.abc import Iterator

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = functions_of(TEMPLATE)

UNSCOPABLE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
"""The only actions that may have Resource "*": X-Ray offers no resource-level permission for them."""


def _sources(capability: str = "") -> set[str]:
    from koppel import connectors

    sources = {name for name in connectors.available() if connectors.load(name).build_source is not None}
    return {name for name in sources if not capability or connectors.load(name).can(capability)}  # type: ignore[arg-type]


SOURCES = _sources()
"""The systems that are sources (their descriptors say so): the only credentials the webhook function may decrypt."""
OAUTH_SOURCES = _sources("oauth")
"""The sources reached with an OAuth grant: the webhook door renews and re-encrypts it while re-reading a record."""

CHECKOV_SKIPS = {"CKV_AWS_27", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
"""Checks skipped for the whole template in .checkov.yaml, each with its reason there and in docs/security.md."""


def _role_of(function: str) -> str:
    return function.removesuffix("Function") + "Role"


def _statements(function: str) -> list[dict[str, Any]]:
    policies = RESOURCES[_role_of(function)]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource(expression: Any) -> tuple[str, str]:
    """A statement's resource as (logical id, suffix), e.g. ("LedgerTable", "/index/by_state"); ("*", "") for all.

    Only the forms this template uses are understood, so a policy written some other way fails loudly here."""
    if expression == "*":
        return "*", ""
    if isinstance(expression, dict) and list(expression) == ["Fn::GetAtt"] and expression["Fn::GetAtt"][1] == "Arn":
        return expression["Fn::GetAtt"][0], ""
    if isinstance(expression, dict) and list(expression) == ["Ref"]:
        logical_id = expression["Ref"]
        assert RESOURCES[logical_id]["Type"] == "AWS::SecretsManager::Secret", f"Ref {logical_id} is not an ARN"
        return logical_id, ""
    if isinstance(expression, dict) and list(expression) == ["Fn::Sub"] and isinstance(expression["Fn::Sub"], str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/[\w.-]+|/files/\*)", expression["Fn::Sub"])
        assert match, f"unexpected resource {expression}"
        return match.group(1), match.group(2)
    raise AssertionError(f"unexpected resource expression {expression!r}")


def _grants(function: str) -> set[tuple[str, str, str]]:
    """(action, logical id, suffix) for every statement of the function's role."""
    return {
        (action, *_resource(resource))
        for statement in _statements(function)
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


# ------------------------------------------------------------------------------------------------- roles
def test_every_function_runs_as_its_own_role_that_only_lambda_can_assume() -> None:
    # Given every function of the template
    roles = [name for name, res in RESOURCES.items() if res["Type"] == "AWS::IAM::Role"]

    for function in FUNCTIONS:
        props = RESOURCES[function]["Properties"]
        role = _role_of(function)
        # Then it names its own role, so SAM adds no role, no managed policy and no policy template of its own
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}, function
        assert "Policies" not in props and "PermissionsBoundary" not in props, function
        role_props = RESOURCES[role]["Properties"]
        # And only Lambda can assume that role, which carries nothing but its own inline policy
        assert role_props["AssumeRolePolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
        assert set(role_props) == {"Description", "AssumeRolePolicyDocument", "Policies"}, role
        # And it writes its logs to its own log group, kept a year and encrypted with the Koppel key
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[log_group]["Properties"]["RetentionInDays"] >= 365
        assert RESOURCES[log_group]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["KoppelKey", "Arn"]}
        logs = {(action, logical_id) for action, logical_id, _ in _grants(function) if action.startswith("logs:")}
        assert logs == {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}, function
    # And no role is shared or left over
    assert sorted(roles) == sorted(_role_of(function) for function in FUNCTIONS)


def test_no_role_allows_a_wildcard_action_a_star_resource_or_a_scan() -> None:
    scans = set()
    for function in FUNCTIONS:
        # Given each statement of the function's role
        for statement in _statements(function):
            assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, statement  # no Not*
            assert statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"]):
                # Then every action is named in full: no "*", no "dynamodb:*", no "sqs:SendMessage*"
                assert re.fullmatch(r"[a-z0-9]+:[A-Za-z0-9]+", action), f"{function}: {action}"
                assert not action.startswith(("iam:", "sts:")), f"{function}: {action}"
                # And "*" is the resource only where AWS offers nothing narrower
                resources = [_resource(resource) for resource in _as_list(statement["Resource"])]
                for logical_id, suffix in resources:
                    assert logical_id != "*" or action in UNSCOPABLE, f"{function}: {action} on *"
                    assert logical_id == "*" or logical_id in RESOURCES, f"{function}: {logical_id}"
                    if suffix.startswith("/index/"):  # an index ARN only for an index the table has
                        indexes = RESOURCES[logical_id]["Properties"].get("GlobalSecondaryIndexes", [])
                        assert suffix.removeprefix("/index/") in {index["IndexName"] for index in indexes}
                    if suffix == "/files/*":  # objects only in the files bucket's one prefix, never the bucket
                        assert RESOURCES[logical_id]["Type"] == "AWS::S3::Bucket", f"{function}: {logical_id}"
                    if action == "dynamodb:Scan":
                        scans.add((function, logical_id))
    # And no function may Scan: every path reads by key or through an index (the CLI's listing scans as a person)
    assert scans == set()


FILES_CONTEXT = {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": {"Fn::GetAtt": ["FilesBucket", "Arn"]}}}


def _for_original_files(statement: dict[str, Any]) -> bool:
    """A KMS statement for S3's own use of the key on the files bucket (SSE-KMS), pinned to that bucket."""
    return statement.get("Condition") == FILES_CONTEXT


def test_kms_use_is_bound_to_the_connection_and_system_the_ciphertext_was_made_for() -> None:
    for function in FUNCTIONS:
        # Given the function's statements that use the key directly
        kms = [s for s in _statements(function) if any(a.startswith("kms:") for a in _as_list(s["Action"]))]
        systems: set[str] = set()
        for statement in [s for s in kms if _for_original_files(s)]:
            # Then the key's use for the files bucket is only S3's, bound to that bucket's encryption context
            assert set(_as_list(statement["Action"])) <= {"kms:Decrypt", "kms:GenerateDataKey"}, function
            assert statement["Resource"] == {"Fn::GetAtt": ["KoppelKey", "Arn"]}
        kms = [s for s in kms if not _for_original_files(s)]
        for statement in kms:
            # Then each is on the Koppel key and requires the app's encryption context (connection id and system)
            assert set(_as_list(statement["Action"])) <= {"kms:Decrypt", "kms:Encrypt"}, function
            assert statement["Resource"] == {"Fn::GetAtt": ["KoppelKey", "Arn"]}
            condition = statement["Condition"]
            assert set(condition) <= {"StringEquals", "Null"}
            assert condition["Null"]["kms:EncryptionContext:connection_id"] == "false"
            pinned = condition.get("StringEquals", {}).get("kms:EncryptionContext:system")
            assert pinned or condition["Null"]["kms:EncryptionContext:system"] == "false"
            systems |= set(_as_list(pinned)) if pinned else {"*"}
        environment = function_environment_expressions(TEMPLATE, function)
        # And a deliver function reaches only its own target's credentials
        if "CONNECTOR" in environment:
            assert systems == {environment["CONNECTOR"]}, function
        # And the webhook door, open to anyone, only decrypts sources' credentials, and encrypts only a renewed
        # grant of a source reached by OAuth (the grant it re-reads the record with)
        if function == "IngestWebhookFunction":
            assert systems == SOURCES
            encrypts = [s for s in kms if "kms:Encrypt" in _as_list(s["Action"])]
            pinned_systems = [s["Condition"]["StringEquals"]["kms:EncryptionContext:system"] for s in encrypts]
            assert {system for pinned in pinned_systems for system in _as_list(pinned)} == OAUTH_SOURCES
        # And the scheduler never touches the key
        if function == "SchedulePollsFunction":
            assert not kms


PARTNER_SECRET_READERS = {
    # Delivery sends the subscription key with every call; connect shows the activation page and reads the first
    # chart; the poll re-reads the targets' charts
    "snelstart": {"DeliverSnelstartFunction", "ConnectFunction", "PollSourceFunction"},
    # Koppel's OAuth client renews a grant wherever one is used: delivery, consent (the code's exchange), the poll's
    # target sync
    # target sync, and the source's screens (an invoice action)
    # target sync, and the source's screens (an invoice action); the webhook door checks Intuit's notices with its
    # verifier token
    "quickbooks": {
        "DeliverQuickbooksFunction",
        "ConnectFunction",
        "PollSourceFunction",
        "AppsFunction",
        "IngestWebhookFunction",
    },
    # and for a source also the webhook door, which re-reads the deal, and the source's screens, whose requests
    # Koppel's app secret signs
    "pipedrive": {
        "DeliverPipedriveFunction",
        "ConnectFunction",
        "PollSourceFunction",
        "IngestWebhookFunction",
        "AppsFunction",
    },
}


@pytest.mark.parametrize("vendor", sorted(PARTNER_SECRET_READERS))
def test_only_the_functions_that_call_a_vendor_as_partner_read_its_secret(vendor: str) -> None:
    # Given the vendor's partner secret, named by the prefix the app reads plus the vendor name
    logical_id = f"Partner{vendor.capitalize()}Secret"
    secret = RESOURCES[logical_id]["Properties"]
    prefix = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["PARTNER_SECRET_PREFIX"]["Fn::Sub"]
    assert secret["Name"]["Fn::Sub"] == prefix + vendor
    assert json.loads(secret["GenerateSecretString"]["SecretStringTemplate"]) == {}

    # When we look for who may read it
    readers = {
        function for function in FUNCTIONS if ("secretsmanager:GetSecretValue", logical_id, "") in _grants(function)
    }

    # Then only the functions that call the vendor with Koppel's own credentials can
    assert readers == PARTNER_SECRET_READERS[vendor]


def test_no_role_reads_a_secret_other_than_a_partner_secret() -> None:
    partner_secrets = {f"Partner{vendor.capitalize()}Secret" for vendor in PARTNER_SECRET_READERS}
    read = {g[1] for f in FUNCTIONS for g in _grants(f) if g[0].startswith("secretsmanager:")}
    assert read == partner_secrets
    assert {g[0] for f in FUNCTIONS for g in _grants(f) if g[0].startswith("secretsmanager:")} == {
        "secretsmanager:GetSecretValue"
    }


def test_the_reasons_given_for_skipped_checkov_checks_still_hold() -> None:
    # Given the checks .checkov.yaml skips for the whole template
    config = yaml.safe_load((REPO / ".checkov.yaml").read_text(encoding="utf-8"))
    assert set(config["skip-check"]) == CHECKOV_SKIPS
    assert config["skip-download"] is True

    # Then CKV_AWS_27: every queue is encrypted at rest with SQS-managed keys
    queues = [res for res in RESOURCES.values() if res["Type"] == "AWS::SQS::Queue"]
    assert queues and all(queue["Properties"]["SqsManagedSseEnabled"] is True for queue in queues)
    # And CKV_AWS_116: only the scheduler is invoked asynchronously; the others synchronously or by SQS with a DLQ
    for function in FUNCTIONS:
        kinds = {event["Type"] for event in RESOURCES[function]["Properties"]["Events"].values()}
        assert kinds in ({"HttpApi"}, {"SQS"}, {"Schedule"}), function
        assert kinds != {"Schedule"} or function == "SchedulePollsFunction"
        for event in sqs_events(TEMPLATE, function):
            (queue,) = _as_list(event["Queue"]["Fn::GetAtt"][0])
            assert "RedrivePolicy" in RESOURCES[queue]["Properties"], queue
            # And CKV_AWS_115: a target's consumers are capped where the load arrives
            if "CONNECTOR" in function_environment_expressions(TEMPLATE, function):
                assert event["ScalingConfig"]["MaximumConcurrency"] <= 10
    # And the HTTP doors are throttled
    throttle = TEMPLATE["Globals"]["HttpApi"]["DefaultRouteSettings"]
    assert throttle["ThrottlingRateLimit"] <= 100 and throttle["ThrottlingBurstLimit"] <= 200
    # And the files bucket's CKV_AWS_18 (no access logs): nothing is public, and only the poll and the deliver
    # functions that attach files may touch its objects
    bucket = RESOURCES["FilesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    touching = {f for f in FUNCTIONS for _, logical_id, _ in _grants(f) if logical_id == "FilesBucket"}
    assert touching == {"PollSourceFunction", *(f"Deliver{v}Function" for v in ("Snelstart", "Quickbooks", "Billy"))}
    # And CKV_AWS_117: nothing of Koppel's lives in a VPC
    assert not [res for res in RESOURCES.values() if res["Type"].startswith("AWS::EC2::")]
    assert not any("VpcConfig" in RESOURCES[function]["Properties"] for function in FUNCTIONS)


# --------------------------------------------------------------------------------- every call of the demo
_current = threading.local()


def _calling() -> str | None:
    stack: list[str] = getattr(_current, "functions", [])
    return stack[-1] if stack else None


@contextmanager
def _as_function(logical_id: str) -> Iterator[None]:
    _current.functions = [*getattr(_current, "functions", []), logical_id]
    try:
        yield
    finally:
        _current.functions = _current.functions[:-1]


SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}
SQS_ACTIONS["ChangeMessageVisibilityBatch"] = "ChangeMessageVisibility"


def _queue_logical_id(url_or_name: str) -> str:
    name = url_or_name.rsplit("/", 1)[-1]
    (logical_id,) = [q for q, res in RESOURCES.items() if res["Type"] == "AWS::SQS::Queue" and f"-{q}-" in name]
    return logical_id


TRANSACTION_ACTIONS = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}  # fmt: skip
"""IAM authorizes each item of a DynamoDB transaction as its own action (there is no TransactWriteItems action)."""


def _calls_as_iam_sees_them(call: dict[str, Any]) -> list[dict[str, Any]]:
    """A transaction is one call per item, as IAM evaluates it; an S3 object call to the SSE-KMS bucket is also S3's
    own call to KMS in the caller's name (GenerateDataKey to write, Decrypt to read); any other call is itself."""
    if call["service"] == "s3":
        kms = {"PutObject": "GenerateDataKey", "GetObject": "Decrypt"}[call["operation"]]
        context = {"aws:s3:arn": {"Fn::GetAtt": ["FilesBucket", "Arn"]}}
        return [call, {**call, "service": "kms", "operation": kms, "params": {"EncryptionContext": context}}]
    if call["service"] != "dynamodb" or call["operation"] != "TransactWriteItems":
        return [call]
    return [
        {**call, "operation": TRANSACTION_ACTIONS[kind], "params": item}
        for entry in call["params"]["TransactItems"]
        for kind, item in entry.items()
    ]


def _call_as_iam_sees_it(call: dict[str, Any], tables: dict[str, str]) -> tuple[str, tuple[str, str], dict[str, str]]:
    """(action, (logical id, suffix), encryption context) of one recorded boto3 call."""
    service, operation, params = call["service"], call["operation"], call["params"]
    if service == "dynamodb":
        suffix = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
        return f"dynamodb:{operation}", (tables[params["TableName"]], suffix), {}
    if service == "sqs":
        queue = _queue_logical_id(params.get("QueueUrl") or params["QueueName"])
        return f"sqs:{SQS_ACTIONS.get(operation, operation)}", (queue, ""), {}
    if service == "kms":
        return f"kms:{operation}", ("KoppelKey", ""), dict(params.get("EncryptionContext", {}))
    if service == "s3":
        assert params["Key"].startswith("files/"), params["Key"]
        return f"s3:{operation}", ("FilesBucket", "/files/*"), {}
    if service == "secretsmanager":
        vendor = params["SecretId"].rsplit("/partner/", 1)[1]
        secret = f"Partner{vendor.capitalize()}Secret"
        assert RESOURCES[secret]["Type"] == "AWS::SecretsManager::Secret", params["SecretId"]
        return f"secretsmanager:{operation}", (secret, ""), {}
    raise AssertionError(f"{call['function']} calls {service}:{operation}, which no test here knows how to check")


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM's evaluation of the condition operators these roles use, on a KMS request's encryption context."""
    for operator, keys in condition.items():
        for key, expected in keys.items():
            assert key.startswith("kms:EncryptionContext:"), f"no evaluator for condition key {key}"
            value = context.get(key.removeprefix("kms:EncryptionContext:"))
            if operator == "StringEquals":
                if value not in _as_list(expected):
                    return False
            elif operator == "Null":
                if (value is None) != (expected == "true"):
                    return False
            else:
                raise AssertionError(f"no evaluator for condition operator {operator}")
    return True


def _allowed(function: str, action: str, resource: tuple[str, str], context: dict[str, str]) -> bool:
    return any(
        action in _as_list(statement["Action"])
        and resource in {_resource(r) for r in _as_list(statement["Resource"])}
        and _condition_holds(statement.get("Condition", {}), context)
        for statement in _statements(function)
    )


ROLE_GAPS: dict[str, str] = {}
"""Calls of the demo that IAM would refuse, each a known gap in infra/template.yaml with its fix."""

NOT_IN_THE_DEMO: dict[tuple[str, str, str], str] = {
    ("IngestWebhookFunction", "dynamodb:DeleteItem", "ConnectionsTable"): "the replay cache forgets a body whose "
    "handling failed, so the sender's retry gets through (services.ingest)",
    ("IngestWebhookFunction", "sqs:SendMessage", "EboekhoudenQueue"): "a CCV Shop webhook of a connection that "
    "books into e-Boekhouden (the demo's shop books into SnelStart)",
    ("PollSourceFunction", "sqs:SendMessage", "SnelstartQueue"): "a poll that finds an order the webhooks missed",
    ("PollSourceFunction", "sqs:SendMessage", "EboekhoudenQueue"): "a poll that finds a new Bizzcloud document",
    ("PollSourceFunction", "sqs:SendMessage", "BizzcloudQueue"): "payment status carried back (target sync)",
    ("ConnectFunction", "kms:Decrypt", "KoppelKey"): "a second activation of a live connection first tries the "
    "stored credentials (services.connect._still_accepted)",
    ("AppsFunction", "sqs:SendMessage", "SnelstartQueue"): "the button of a Pipedrive connection that books into "
    "SnelStart (the demo's books into QuickBooks)",
    ("AppsFunction", "sqs:SendMessage", "EboekhoudenQueue"): "the button of a Pipedrive connection that books into "
    "e-Boekhouden (the demo's books into QuickBooks)",
}
"""Grants the demo may not exercise, each with the code path that needs it; the deliver functions' are below."""


def _deliver_reasons(function: str) -> dict[tuple[str, str, str], str]:
    """The paths of a deliver function the demo may not take, for the grants its role has."""
    vendor = function.removeprefix("Deliver").removesuffix("Function")
    reasons = {
        ("sqs:ChangeMessageVisibility", f"{vendor}Queue"): "a retry waits out Retry-After or the backoff (runtime)",
        ("sqs:GetQueueUrl", f"{vendor}Queue"): "the queue URL, looked up at the first retry (runtime)",
        ("sqs:SendMessage", f"{vendor}Dlq"): "a message that is no Koppel event goes to the DLQ at once",
        ("dynamodb:GetItem", "IdempotencyTable"): "Powertools reads the record of a duplicate",
        ("dynamodb:DeleteItem", "IdempotencyTable"): "Powertools drops its record when the delivery raised",
        ("dynamodb:GetItem", "LedgerTable"): "a row another worker took over is read back (ledger)",
        ("dynamodb:PutItem", "ConnectionsTable"): "red status when the vendor refuses the credentials; a token",
        ("dynamodb:DeleteItem", "ConnectionsTable"): "red status deletes the connection's next poll (schedule item)",
        ("kms:Encrypt", "KoppelKey"): "a renewed token is stored encrypted (the token-holding targets)",
        ("secretsmanager:GetSecretValue", "PartnerSnelstartSecret"): "SnelStart's subscription key",
    }
    granted = {(action, logical_id) for action, logical_id, _ in _grants(function)}
    return {(function, *key): why for key, why in reasons.items() if key in granted}


def _console_reasons(function: str) -> dict[tuple[str, str, str], str]:
    """The console's grants per target queue and DLQ: the demo's console part acts on its firm's targets only."""
    reasons = {
        "sqs:SendMessage": "a retry of a parked record of a connection that books into this target",
        "sqs:ReceiveMessage": "a connection page of a connection with this target peeks at its dead letters",
        "sqs:ChangeMessageVisibility": "a dead letter peeked at is made visible again at once (the demo's DLQs are "
        "empty)",
        "sqs:DeleteMessage": "a dead letter that was retried leaves the DLQ (the demo's DLQs are empty)",
    }
    return {
        (function, action, logical_id): reasons[action]
        for action, logical_id, _ in _grants(function)
        if action in reasons and logical_id.endswith(("Queue", "Dlq")) and logical_id != "PollQueue"
    }


for _function in FUNCTIONS:
    if "CONNECTOR" in function_environment_expressions(TEMPLATE, _function):
        NOT_IN_THE_DEMO |= _deliver_reasons(_function)
NOT_IN_THE_DEMO |= _console_reasons("ManageFunction")


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[dict[str, Any]]]:
    from aws_lambda_powertools.utilities import parameters
    from botocore import UNSIGNED
    from botocore.client import BaseClient

    from devkit.console import demo as console_demo
    from devkit.koppelingen.banqup.demo import FirmDemo
    from devkit.koppelingen.bizzcloud_eboekhouden.demo import FAST_CLOCK, BizzcloudDemo
    from devkit.koppelingen.ccvshop_snelstart.demo import Demo
    from devkit.koppelingen.pipedrive_quickbooks.demo import PipedriveDemo
    from devkit.koppelingen.simplycrm_billy.demo import CrmDemo
    from devkit.local import LocalStack

    calls: list[dict[str, Any]] = []
    original = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = _calling()
        # An unsigned call (Cognito's public InitiateAuth, signing a person in) uses no role: IAM never sees it
        if function is not None and client.meta.config.signature_version is not UNSIGNED:
            service = client.meta.service_model.service_name
            calls.append({"function": function, "service": service, "operation": operation, "params": params})
        return original(client, operation, params)

    class RecordingStack(LocalStack):
        """The local stack, knowing which function each AWS call is made for (the event source mapping's too)."""

        def invoke(self, logical_id: str, event: dict[str, Any], *, container: int = 0) -> Any:
            # Each function has its own processes on Lambda: nothing read by one is cached for another
            parameters.clear_caches()
            with _as_function(logical_id):
                return super().invoke(logical_id, event, container=container)

        def drain_once(self, logical_id: str, source: Any, *, container: int = 0) -> int:
            with _as_function(logical_id):  # Lambda polls and deletes with the function's role
                return super().drain_once(logical_id, source, container=container)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        # Given the six demo parts played on one local stack, as `make demo` plays them
        with RecordingStack(env_overrides=FAST_CLOCK) as stack:
            with (
                Demo(stack) as demo,
                BizzcloudDemo(stack) as bizzcloud,
                PipedriveDemo(stack) as pipedrive,
                CrmDemo(stack) as crm,
                FirmDemo(stack) as firm,
            ):
                demo.run()
                bizzcloud.run()
                pipedrive.run()
                crm.run()
                firm.run()
                console_demo.run(stack, firm, say=lambda _: None)
            tables = {
                stack.outputs.connections_table: "ConnectionsTable",
                stack.outputs.ledger_table: "LedgerTable",
                stack.outputs.idempotency_table: "IdempotencyTable",
            }
            for call in calls:
                call["tables"] = tables
    yield calls


@pytest.mark.e2e
def test_every_aws_call_of_the_demo_is_one_its_functions_role_allows(recorded: list[dict[str, Any]]) -> None:
    used: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    refused = []
    # When each call the handlers made is evaluated against the role of the function that made it
    for call in (one for made in recorded for one in _calls_as_iam_sees_them(made)):
        action, resource, context = _call_as_iam_sees_it(call, call["tables"])
        used[call["function"]].add((action, *resource))
        if not _allowed(call["function"], action, resource, context):
            refused.append(f"{call['function']}: {action} on {resource[0]}{resource[1]} {context or ''}".strip())

    # Then IAM would have allowed every one of them (else: add it to the role in infra/template.yaml), but for the
    # known gaps, each still refused (strict: a gap that is fixed must leave the list)
    assert sorted(set(refused) - ROLE_GAPS.keys()) == []
    assert sorted(ROLE_GAPS.keys() - set(refused)) == []
    # And every function of the template ran
    assert set(used) == set(FUNCTIONS)
    # And what a role grants beyond what the demo used is a known path the demo does not take, with its reason
    granted = {(function, action, logical_id) for function in FUNCTIONS for action, logical_id, _ in _grants(function)}
    unused = {
        (function, action, logical_id)
        for function in FUNCTIONS
        for action, logical_id, _ in _grants(function) - used[function]
        if not action.startswith(("logs:", "xray:"))  # Lambda's own use, not the handler's
    }
    missing = sorted(unused - NOT_IN_THE_DEMO.keys())
    assert missing == [], "\n".join(map(str, missing))
    # And no reason is kept for a grant that is gone
    assert sorted(NOT_IN_THE_DEMO.keys() - granted) == []


@pytest.mark.e2e
def test_no_function_scans_a_table_the_scheduler_poll_target_sync_and_deliver_read_by_key_or_index(
    recorded: list[dict[str, Any]],
) -> None:
    # Given every AWS call of both demo koppelingen: the scheduler's runs, the polls with target sync reading
    # payment status back, the webhooks and every delivery
    functions = {call["function"] for call in recorded}
    assert {"SchedulePollsFunction", "PollSourceFunction", "IngestWebhookFunction"} <= functions

    # When the DynamoDB operations are counted
    operations = {(call["function"], call["operation"]) for call in recorded if call["service"] == "dynamodb"}

    # Then none is a Scan: a scheduled path must not grow with the size of a table
    assert sorted(op for op in operations if op[1] == "Scan") == []
    # And the scheduler found the due connections and target sync its open items through their indexes
    assert ("SchedulePollsFunction", "Query") in operations
    assert ("PollSourceFunction", "Query") in operations
