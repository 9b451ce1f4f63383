"""The local stack: infra/template.yaml's tables, queues, key and secret, created inside moto server.

``create_stack`` reads the SAM template, keeps its plain CloudFormation resources and creates them as a
CloudFormation stack inside moto, so names, key schemas, redrive policies and the key come from the one
template that also deploys to AWS. What is left out, and why:

- ``AWS::Serverless::*`` (functions, the layer, the HTTP API) and with them everything SAM would derive
  from them (roles, permissions, event source mappings, API routes, EventBridge rules). moto runs Lambda
  only in Docker, which this machine does not have, and a queue with an event source mapping makes moto
  try exactly that. The local dispatcher plays these parts: it runs each handler in-process with the
  environment read here (``StackOutputs.functions``), polls the queues the way the event source mappings
  would, serves the HTTP routes and fires the schedules.
- ``AWS::CloudWatch::Alarm``: moto's CloudFormation creates dashboards only, and nothing locally would
  watch an alarm; DLQ depth is read from the queues directly.
- ``AWS::SecretsManager::Secret``: moto's CloudFormation cannot create secrets, so each one is created
  afterwards through the Secrets Manager API, with the template's name and generated JSON shape.
- anything that refers to a dropped resource, and the outputs that do.
- ``AWS::Cognito::*`` (user pools, app clients, groups): moto's CloudFormation cannot create them, so
  ``devkit.console_auth`` creates them through the Cognito API first and writes their ids into the template
  (``!Ref ConsoleUserPool`` in an environment or an authorizer's issuer reads moto's real pool id).

The HTTP API's JWT authorizers are read from the template too (``StackOutputs.jwt_authorizers``, with the issuer
and audience resolved), and each route names the one that guards it (``LocalFunction.route_authorizers``).

Patched for moto: a table's TTL setting is applied through the API afterwards (moto's CloudFormation skips
it; moto never expires items anyway), and the KMS key policy is handed over as a JSON string (see
``_for_moto``). Point-in-time recovery and SSE are accepted and meaningless locally; queues keep their
template settings, redrive included. aws-sam-translator is not used (STYLE §13 names it as one way): all it
would add is dropped anyway, and it pins pydantic/boto3 ranges that STYLE keeps in the tools venv.

Function environments are resolved by moto itself: each environment value that is an intrinsic
(``!Ref``, ``!GetAtt``, ``!Sub``) becomes a stack output, so the values are the ones CloudFormation gives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import requests
import yaml

from devkit import console_auth, gateway

if TYPE_CHECKING:
    from collections.abc import Iterator

    from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "infra" / "template.yaml"
REGION = "eu-west-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_SERVERLESS = "AWS::Serverless::"
_FUNCTION = "AWS::Serverless::Function"
_NAMED = frozenset({"AWS::SQS::Queue", "AWS::DynamoDB::Table"})
"""Resources whose physical name (Ref: queue URL, table name) the local stack reads back."""
_SECRET = "AWS::SecretsManager::Secret"
_NOT_IN_MOTO_CLOUDFORMATION = frozenset({"AWS::CloudWatch::Alarm", _SECRET, "AWS::S3::BucketPolicy"})
"""A bucket policy only denies plain HTTP, which is all the local moto server speaks: left out here."""
_DONE = "CREATE_COMPLETE"
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


# ---------------------------------------------------------------------------------------------- the template
class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation short forms (!Ref, !GetAtt, !Sub, ...) as their long forms."""


def _short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"cannot read !{tag_suffix} here", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data, short-form intrinsics turned into their ``{"Fn::…": …}`` long forms."""
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)
    return loaded


def referenced_ids(node: Any) -> set[str]:
    """Logical ids (resources or parameters, not pseudo parameters) that an expression refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".", 1)[0])
            elif key == "DependsOn":
                found.update([value] if isinstance(value, str) else value)
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                found.update(set(_SUB_NAME.findall(text)) - variables.keys())
                found.update(referenced_ids(list(variables.values())))
            else:
                found.update(referenced_ids(value))
    elif isinstance(node, list):
        for item in node:
            found.update(referenced_ids(item))
    return {name for name in found if not name.startswith("AWS::")}


SET_BY_THE_LOCAL_STACK = ("AWS_ENDPOINT_URL",)
"""Declared in the template only so that `sam local invoke` may set it; the local stack points it at its moto."""


def shared_environment_expressions(template: dict[str, Any]) -> dict[str, Any]:
    """Globals.Function's variables, without those the local stack sets itself."""
    shared = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {name: value for name, value in shared.items() if name not in SET_BY_THE_LOCAL_STACK}


def function_environment_expressions(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's environment as in AWS: Globals.Function's variables overlaid with the function's own."""
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {**shared_environment_expressions(template), **own}


def functions_of(template: dict[str, Any]) -> list[str]:
    return [name for name, res in template["Resources"].items() if res["Type"] == _FUNCTION]


def sqs_events(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    events = template["Resources"][logical_id]["Properties"].get("Events", {})
    return [event["Properties"] for event in events.values() if event["Type"] == "SQS"]


def target_bindings(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Target name → (deliver function, queue), found by convention so a new target needs only template blocks.

    A target is a ``Deliver{Vendor}Function`` with ``CONNECTOR={vendor}`` consuming ``{Vendor}Queue``;
    anything that half-follows the convention is a template mistake and is named in the error."""
    bindings: dict[str, tuple[str, str]] = {}
    for function in functions_of(template):
        connector = function_environment_expressions(template, function).get("CONNECTOR")
        if connector is None:
            continue
        match = re.fullmatch(r"Deliver([A-Z][A-Za-z0-9]*)Function", function)
        queues = [referenced_ids(event["Queue"]) for event in sqs_events(template, function)]
        if not match or match.group(1).lower() != connector or queues != [{f"{match.group(1)}Queue"}]:
            raise ValueError(
                f"{function} (CONNECTOR={connector}) breaks the target convention: name it "
                f"Deliver{{Vendor}}Function with CONNECTOR={{vendor}} and one SQS event on {{Vendor}}Queue"
            )
        bindings[connector] = (function, f"{match.group(1)}Queue")
    return bindings


def dead_letter_queue(template: dict[str, Any], queue: str) -> str | None:
    redrive = template["Resources"][queue].get("Properties", {}).get("RedrivePolicy")
    if not redrive:
        return None
    (dlq,) = referenced_ids(redrive["deadLetterTargetArn"])
    return dlq


# --------------------------------------------------------------------------------------------- the outputs
@dataclass(frozen=True)
class SqsSource:
    """An SQS event of a function, as the local dispatcher must play its event source mapping."""

    queue_url: str
    batch_size: int
    max_batching_window_seconds: int
    reports_batch_item_failures: bool
    max_concurrency: int | None


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    module: str
    """Import path of the handler module, e.g. ``functions.deliver.app``."""
    handler: str
    timeout: int
    environment: dict[str, str]
    """Exactly the variables the function gets in AWS (Lambda's own AWS_* variables aside)."""
    sqs_sources: tuple[SqsSource, ...] = ()
    http_routes: tuple[str, ...] = ()
    """HTTP API route keys, e.g. ``POST /hooks/{source}/{connection_id}``."""
    schedules: tuple[str, ...] = ()
    route_authorizers: dict[str, gateway.RouteAuth] = field(default_factory=dict)
    """Route key → the JWT authorizer that guards it; a route not named here is open (the handler checks)."""


@dataclass(frozen=True)
class StackOutputs:
    stack_name: str
    endpoint_url: str
    connections_table: str
    ledger_table: str
    idempotency_table: str
    kms_key_id: str
    """The key ARN, as KMS_KEY_ID carries it."""
    poll_queue_url: str
    target_queues: dict[str, str]
    """Target name (the CONNECTOR value) → queue URL."""
    dlq_urls: dict[str, str]
    """Target name → its DLQ URL, and ``poll`` → PollQueue's DLQ URL."""
    partner_secret_prefix: str
    shared_environment: dict[str, str] = field(repr=False)
    functions: dict[str, LocalFunction] = field(repr=False)
    dropped: tuple[str, ...] = ()
    """Template resources not created in moto (see the module docstring)."""
    jwt_authorizers: dict[str, gateway.JwtAuthorizer] = field(default_factory=dict, repr=False)
    """The HTTP API's JWT authorizers by name."""
    console_user_pool_id: str = ""
    console_client_id: str = ""
    """ConsoleUserPool's and ConsoleUserPoolClient's ids in moto ("" when the template has none)."""

    def environment(self) -> dict[str, str]:
        """The variables every function gets in AWS (Globals.Function), TARGET_QUEUES as JSON."""
        return dict(self.shared_environment)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The variables one function gets in AWS, its own (e.g. CONNECTOR) included."""
        return dict(self.functions[logical_id].environment)


def aws_client_environment(endpoint_url: str) -> dict[str, str]:
    """Variables that point every boto3 client in a process, Powertools' included, at moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for moto with dummy credentials and the region set: the caller's environment is not used."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=REGION, **CREDENTIALS)  # type: ignore[call-overload]


# ------------------------------------------------------------------------------------------------ moto
def start_moto(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Start moto server on 127.0.0.1 (port 0: any free port) in a thread; returns it and its endpoint URL."""
    from moto.server import ThreadedMotoServer

    requests_log = logging.getLogger("werkzeug")
    if requests_log.level == logging.NOTSET:  # one stderr line per AWS call drowns everything else
        requests_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{bound_port}"
    # moto's backends live in the process, not in the server: a second server in the same process would see the
    # first one's resources. Every start begins empty.
    requests.post(f"{endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
    return server, endpoint_url


def _dropped_resources(template: dict[str, Any]) -> dict[str, str]:
    resources = template["Resources"]
    dropped = {
        name: res["Type"]
        for name, res in resources.items()
        if res["Type"].startswith(_SERVERLESS) or res["Type"] in _NOT_IN_MOTO_CLOUDFORMATION
    }
    changed = True
    while changed:  # whatever refers to a dropped resource goes too
        changed = False
        for name, res in resources.items():
            if name not in dropped and referenced_ids(res) & dropped.keys():
                dropped[name] = res["Type"]
                changed = True
    return dropped


def _as_sub_text(node: Any) -> Any:
    """A JSON document with intrinsics inside, as the text of one ``Fn::Sub``."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref":
            return f"${{{value}}}"
        if key == "Fn::GetAtt":
            return f"${{{'.'.join(value)}}}"
        if key == "Fn::Sub" and isinstance(value, str):
            return value
    if isinstance(node, dict):
        return {key: _as_sub_text(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_as_sub_text(item) for item in node]
    return node


def _for_moto(resource: dict[str, Any]) -> dict[str, Any]:
    if resource["Type"] != "AWS::KMS::Key":
        return resource
    # moto stores a KeyPolicy object as a dict and then fails DescribeKey (json.loads of a dict);
    # the same policy as one JSON string, intrinsics resolved by Fn::Sub, is stored as AWS would.
    policy = json.dumps(_as_sub_text(resource["Properties"]["KeyPolicy"]))
    return {**resource, "Properties": {**resource["Properties"], "KeyPolicy": {"Fn::Sub": policy}}}


def _local_template(template: dict[str, Any], dropped: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The CloudFormation template for moto, plus output key → what it resolves (``env:<fn>:<VAR>``, ``name:<id>``)."""
    kept = {name: _for_moto(res) for name, res in template["Resources"].items() if name not in dropped}
    outputs: dict[str, Any] = {
        key: out for key, out in template.get("Outputs", {}).items() if not referenced_ids(out) & dropped.keys()
    }
    meaning: dict[str, str] = {}

    def resolve_via_output(label: str, expression: Any) -> None:
        if referenced_ids(expression) & dropped.keys():
            raise ValueError(f"{label} refers to {referenced_ids(expression) & dropped.keys()}, absent locally")
        key = f"KoppelLocal{len(meaning)}"
        outputs[key] = {"Value": expression}
        meaning[key] = label

    for label, expression in _resolved_locally(template, kept):
        resolve_via_output(label, expression)
    local = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": template.get("Parameters", {}),
        "Resources": kept,
        "Outputs": outputs,
    }
    return local, meaning


def _resolved_locally(template: dict[str, Any], kept: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, expression) for every value the local stack must learn from moto: functions' environment
    expressions (``env:<fn>:<VAR>``, shared ones ``env::<VAR>``) and the physical names (``name:<id>``)."""
    for function in functions_of(template):
        for name, expression in function_environment_expressions(template, function).items():
            if isinstance(expression, dict):
                yield f"env:{function}:{name}", expression
    for name, expression in shared_environment_expressions(template).items():
        if isinstance(expression, dict):
            yield f"env::{name}", expression
    for name, res in template["Resources"].items():
        if res["Type"] in _NAMED and name in kept:
            yield f"name:{name}", {"Ref": name}
        if res["Type"] == _SECRET:
            yield f"name:{name}", res["Properties"]["Name"]
    yield from gateway.authorizer_expressions(template)


def _create_in_moto(cloudformation: Any, stack_name: str, local: dict[str, Any], stage: str) -> dict[str, str]:
    """Create the stack (or find it, on the same server) and return its outputs."""
    existing = cloudformation.list_stacks(StackStatusFilter=[_DONE])["StackSummaries"]
    if not any(summary["StackName"] == stack_name for summary in existing):
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(local),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
        )
    deadline = time.monotonic() + 30
    while (stack := cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0])["StackStatus"] != _DONE:
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise RuntimeError(f"stack {stack_name} ended {stack['StackStatus']}: {stack.get('StackStatusReason')}")
        time.sleep(0.05)
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    if skipped := local["Resources"].keys() - {res["LogicalResourceId"] for res in resources}:
        raise RuntimeError(f"moto's CloudFormation skipped {sorted(skipped)}: drop them here or create them by API")
    return {out["OutputKey"]: out["OutputValue"] for out in stack.get("Outputs", [])}


def _add_what_moto_leaves_out(endpoint_url: str, template: dict[str, Any], names: dict[str, str]) -> None:
    """TTL settings of the tables (moto's CloudFormation ignores them) and the secrets, as AWS would make them.

    ``names`` maps each table and secret logical id to its physical name."""
    dynamodb = client("dynamodb", endpoint_url)
    manager = client("secretsmanager", endpoint_url)
    for logical_id, name in names.items():
        props = template["Resources"][logical_id]["Properties"]
        if ttl := props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        if template["Resources"][logical_id]["Type"] != _SECRET:
            continue
        value = props.get("SecretString", "")
        if generate := props.get("GenerateSecretString"):
            body = json.loads(generate.get("SecretStringTemplate", "{}"))
            body[generate["GenerateStringKey"]] = secrets.token_hex(generate.get("PasswordLength", 32) // 2)
            value = json.dumps(body)
        with contextlib.suppress(manager.exceptions.ResourceExistsException):  # a reused stack keeps its value
            manager.create_secret(Name=name, Description=str(props.get("Description", "")), SecretString=value)


def _route_key(event: dict[str, Any]) -> str:
    return f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"


def _local_function(
    template_path: Path, template: dict[str, Any], logical_id: str, env: dict[str, str], names: dict[str, str]
) -> LocalFunction:
    props = {**template.get("Globals", {}).get("Function", {}), **template["Resources"][logical_id]["Properties"]}
    # CodeUri is relative to the template, which lives in <repo>/infra/
    code_dir = (template_path.parent / props["CodeUri"]).resolve().relative_to(template_path.parent.parent.resolve())
    module, handler = props["Handler"].rsplit(".", 1)
    events = props.get("Events", {}).values()
    http_events = [event for event in events if event["Type"] == "HttpApi"]
    sources = tuple(
        SqsSource(
            queue_url=names[next(iter(referenced_ids(event["Queue"])))],
            batch_size=int(event.get("BatchSize", 10)),
            max_batching_window_seconds=int(event.get("MaximumBatchingWindowInSeconds", 0)),
            reports_batch_item_failures="ReportBatchItemFailures" in event.get("FunctionResponseTypes", []),
            max_concurrency=event.get("ScalingConfig", {}).get("MaximumConcurrency"),
        )
        for event in sqs_events(template, logical_id)
    )
    return LocalFunction(
        logical_id=logical_id,
        module=".".join((*code_dir.parts, module)),
        handler=handler,
        timeout=int(props.get("Timeout", 3)),
        environment=env,
        sqs_sources=sources,
        http_routes=tuple(_route_key(event) for event in http_events),
        schedules=tuple(e["Properties"]["Schedule"] for e in events if e["Type"] == "Schedule"),
        route_authorizers={
            _route_key(event): auth
            for event in http_events
            if (auth := gateway.route_auth(template, event)) is not None
        },
    )


def create_stack(endpoint_url: str, stage: str = "dev", template_path: Path = TEMPLATE) -> StackOutputs:
    """Create (or, on the same server, reuse) stack ``koppel-<stage>`` from the template inside moto."""
    stack_name = f"koppel-{stage}"
    template = load_template(template_path)
    cognito = console_auth.create_user_pools(
        client("cognito-idp", endpoint_url), template, stack_name, {"Stage": stage}
    )
    template = _with_cognito_resolved(template, cognito)
    dropped = _dropped_resources(template)
    local, meaning = _local_template(template, dropped)
    raw = _create_in_moto(client("cloudformation", endpoint_url), stack_name, local, stage)
    resolved = {meaning[key]: value for key, value in raw.items() if key in meaning}
    names = {label.split(":", 1)[1]: value for label, value in resolved.items() if label.startswith("name:")}
    _add_what_moto_leaves_out(endpoint_url, template, names)

    def env_of(prefix: str, expressions: dict[str, Any]) -> dict[str, str]:
        return {name: resolved.get(f"env:{prefix}:{name}", str(value)) for name, value in expressions.items()}

    shared = env_of("", shared_environment_expressions(template))
    functions = {
        name: _local_function(
            template_path, template, name, env_of(name, function_environment_expressions(template, name)), names
        )
        for name in functions_of(template)
    }
    targets = target_bindings(template)
    backed = {target: queue for target, (_, queue) in targets.items()} | {"poll": "PollQueue"}
    dlq_urls = {key: names[dlq] for key, queue in backed.items() if (dlq := dead_letter_queue(template, queue))}
    return StackOutputs(
        stack_name=stack_name,
        endpoint_url=endpoint_url,
        connections_table=shared["CONNECTIONS_TABLE"],
        ledger_table=shared["LEDGER_TABLE"],
        idempotency_table=shared["IDEMPOTENCY_TABLE"],
        kms_key_id=shared["KMS_KEY_ID"],
        poll_queue_url=shared["POLL_QUEUE_URL"],
        target_queues={target: names[queue] for target, (_, queue) in targets.items()},
        dlq_urls=dlq_urls,
        partner_secret_prefix=shared["PARTNER_SECRET_PREFIX"],
        shared_environment=shared,
        functions=functions,
        dropped=tuple(sorted(dropped)),
        jwt_authorizers=gateway.jwt_authorizers(template, resolved),
        console_user_pool_id=cognito.get("ConsoleUserPool", ""),
        console_client_id=cognito.get("ConsoleUserPoolClient", ""),
    )


def _with_cognito_resolved(template: dict[str, Any], cognito: dict[str, str]) -> dict[str, Any]:
    """The template without its Cognito resources (made by API already), every reference to them their value."""
    made = {name for name, res in template["Resources"].items() if res["Type"] in console_auth.COGNITO}
    values = {key: value for key, value in cognito.items() if key.split(".", 1)[0] in made}
    resources = {name: res for name, res in template["Resources"].items() if name not in made}
    resolved: dict[str, Any] = console_auth.with_references_resolved({**template, "Resources": resources}, values)
    return resolved
