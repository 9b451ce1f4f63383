"""The embedded local stack: moto in server mode is the AWS, the real handlers run with real event shapes.

- resources come from infra/template.yaml (devkit.stack creates them inside moto);
- an HTTP endpoint on loopback plays API Gateway (HTTP API, payload 2.0) in front of the HTTP functions, with
  its route selection and JWT authorizers (devkit.gateway);
- a dispatcher plays the SQS event source mappings: ReceiveMessage → Lambda SQS event → handler →
  DeleteMessage for every record not reported in batchItemFailures (what Lambda does);
- ``tick()`` plays the EventBridge schedule.
Handlers run in this process with the environment their function has in the template.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devkit import gateway
from devkit import stack as stack_module

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path


@dataclass
class LambdaContext:
    """What Lambda passes as `context`, enough for Powertools (logger, idempotency, batch)."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 30_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self._started) * 1000))


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: the demo prints its own story."""


def http_api_event(request: Request, route_key: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for a request, as Lambda receives it."""
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "headers": {k.lower(): v for k, v in request.headers.items()} | {"x-forwarded-proto": "http"},
        "queryStringParameters": _query_parameters(request),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.user_agent.string,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
    } | _body_fields(request.get_data())


def _query_parameters(request: Request) -> dict[str, str] | None:
    """As API Gateway fills ``queryStringParameters`` for payload format 2.0: the values of a repeated parameter
    combined with commas, in their order; no ``multiValueQueryStringParameters`` (that is format 1.0, where the
    last value is kept), per https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html."""
    return {key: ",".join(values) for key, values in request.args.lists()} or None


def _body_fields(data: bytes) -> dict[str, Any]:
    """UTF-8 text as it is; any other bytes base64-encoded, as API Gateway passes a body that is not text."""
    try:
        return {"body": data.decode("utf-8"), "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(data).decode(), "isBase64Encoded": True}


def sqs_event(messages: Iterable[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """A Lambda SQS event for messages from ReceiveMessage (AttributeNames=All)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for m in messages
        ]
    }


def scheduled_event(now: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/koppel-dev-SchedulePolls"],
        "detail": {},
    }


class WorkerCrashed(BaseException):
    """Raised inside a handler to play its worker dying mid-invocation (killed, out of memory, timed out).

    A BaseException, so no ``except Exception`` in the handler (Powertools' batch and idempotency included)
    cleans up after it. The dispatcher then deletes none of the batch's messages: they reappear after the
    queue's visibility timeout, as they would after a real crash.
    """


@dataclass
class Invocations:
    count: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    crashes: dict[str, int] = field(default_factory=dict)
    """Invocations that ended in WorkerCrashed, per function."""
    slowest: dict[str, float] = field(default_factory=dict)
    """The longest invocation per function, in seconds: a local handler is never cut off at its timeout."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def note(self, table: str, logical_id: str, amount: float = 1) -> None:
        """Count (or, for ``slowest``, keep the maximum); safe from any thread."""
        with self._lock:
            values: dict[str, Any] = getattr(self, table)
            if table == "slowest":
                values[logical_id] = max(values.get(logical_id, 0.0), amount)
            else:
                values[logical_id] = values.get(logical_id, 0) + int(amount)


def _forget_clients() -> None:
    """Clients cached in this process point at an earlier moto: drop them (tests start several stacks)."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    from koppel import bootstrap

    parameters.clear_caches()
    base.DEFAULT_PROVIDERS.clear()
    bootstrap.forget_clients()


def _fresh_module(name: str) -> Any:
    """A new copy of a handler module, not the one in sys.modules: a cold container."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LocalStack:
    """Start with ``start()``; everything runs on 127.0.0.1 and stops with ``stop()``."""

    def __init__(self, env_overrides: dict[str, str] | None = None, template_path: Path | None = None) -> None:
        """``env_overrides`` change function settings for this run (e.g. short leases and backoff for chaos);
        ``template_path`` another template than infra/template.yaml (its CodeUris relative to it, as SAM reads)."""
        self.env_overrides = dict(env_overrides or {})
        self.template_path = template_path or stack_module.TEMPLATE
        self.authorizers: gateway.JwtAuthorizers | None = None
        self.outputs: stack_module.StackOutputs | None = None
        self.endpoint_url = ""
        self.http_url = ""
        self.invocations = Invocations()
        self._moto: Any = None
        self._http: Any = None
        self._lock = threading.RLock()
        self._saved_env: dict[str, str | None] = {}
        self._warm: dict[str, Any] = {}
        """Container 0 of each function: its own copy of the handler module, as each Lambda function has its own
        containers (two deliver functions share one handler module but not its module-level state)."""
        self._containers: dict[tuple[str, int], Any] = {}
        self._container_locks: dict[tuple[str, int], threading.Lock] = {}
        self._containers_lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._arns: dict[str, str] = {}

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": "eu-west-1",
                "AWS_REGION": "eu-west-1",
                "POWERTOOLS_SERVICE_NAME": "koppel",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                "POWERTOOLS_METRICS_NAMESPACE": "Koppel",
                # The EMF lines are for CloudWatch: the demo prints its own story (a test turns them on)
                "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        _forget_clients()
        self._moto, self.endpoint_url = stack_module.start_moto()
        self._set_env({"AWS_ENDPOINT_URL": self.endpoint_url})
        self._create_stack()
        self._set_env(self.operator_environment())
        self._http = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.http_url = f"http://127.0.0.1:{self._http.server_port}"
        self._set_env({"HTTP_API_URL": self.http_url})  # where `koppel connections activate` points its links
        threading.Thread(target=self._http.serve_forever, name="local-api-gateway", daemon=True).start()
        return self

    def _create_stack(self) -> None:
        self.outputs = stack_module.create_stack(self.endpoint_url, template_path=self.template_path)
        self.authorizers = gateway.JwtAuthorizers(self.endpoint_url, self.outputs.jwt_authorizers)

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._moto is not None:
            self._moto.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def client(self, service: str) -> Any:
        """One client per service and stack, shared by every thread (creating boto3 clients is not thread-safe)."""
        import boto3

        with self._clients_lock:
            key = f"{service} {self.endpoint_url}"
            if key not in self._clients:
                self._clients[key] = boto3.client(service, endpoint_url=self.endpoint_url, region_name="eu-west-1")
            return self._clients[key]

    # -- invoking handlers --------------------------------------------------------------------------------
    def invoke(self, logical_id: str, event: dict[str, Any], *, container: int = 0) -> Any:
        """Run one handler the way Lambda would: the environment the template gives it, a fresh context.

        ``container`` 0 is the default: every such invocation runs alone, under one lock. Any other number is a
        container of its own (a separate copy of the handler module, started cold on first use) that runs at
        the same time as the other containers, as when Lambda scales a function out; each container still
        handles one invocation at a time.
        """
        if container:
            return self._invoke_in_container(logical_id, event, container)
        function = self._outputs().functions[logical_id]
        with self._lock:  # one environment at a time: handlers read their settings from os.environ
            self._set_env(function.environment | self.env_overrides)
            module = self._warm.get(logical_id)
            if module is None:
                # A cold start per function and stack: module-level state (cached deps) starts fresh, as on Lambda.
                module = self._warm[logical_id] = _fresh_module(function.module)
            handler: Callable[[dict[str, Any], LambdaContext], Any] = getattr(module, function.handler)
            self.invocations.note("count", logical_id)
            context = LambdaContext(function_name=f"koppel-dev-{logical_id}", timeout_ms=function.timeout * 1000)
            try:
                return handler(event, context)
            finally:
                self.invocations.note("slowest", logical_id, time.monotonic() - context._started)

    def _invoke_in_container(self, logical_id: str, event: dict[str, Any], container: int) -> Any:
        function = self._outputs().functions[logical_id]
        key = (logical_id, container)
        with self._containers_lock:
            own_lock = self._container_locks.setdefault(key, threading.Lock())
        with own_lock:
            with self._containers_lock:
                # Containers overlap other invocations, so the process environment is shared while they run:
                # safe only because every function's variables agree wherever their names meet.
                self._check_environments_agree(logical_id)
                self._set_env(function.environment | self.env_overrides)
                module = self._containers.get(key)
                if module is None:
                    module = self._containers[key] = _fresh_module(function.module)
                self.invocations.note("count", logical_id)
            handler: Callable[[dict[str, Any], LambdaContext], Any] = getattr(module, function.handler)
            context = LambdaContext(function_name=f"koppel-dev-{logical_id}", timeout_ms=function.timeout * 1000)
            try:
                return handler(event, context)
            finally:
                self.invocations.note("slowest", logical_id, time.monotonic() - context._started)

    def _check_environments_agree(self, starting: str) -> None:
        """Functions that run in containers side by side share the process environment: they must agree on every
        variable they both have. (Two targets' deliver functions differ in CONNECTOR, so only one target's
        consumer runs in containers at a time; the other runs as container 0.)"""
        seen: dict[str, tuple[str, str]] = {}
        running = {key[0] for key in self._containers} | {starting}
        for logical_id, function in self._outputs().functions.items():
            if logical_id not in running:
                continue
            for name, value in (function.environment | self.env_overrides).items():
                first = seen.setdefault(name, (logical_id, value))
                if first[1] != value:
                    raise RuntimeError(
                        f"{name} is {first[1]!r} for {first[0]} but {value!r} for {logical_id}: "
                        "containers cannot run side by side in one process"
                    )

    def operator_environment(self) -> dict[str, str]:
        """What the `koppel` CLI gets, like an operator who exported the stack outputs."""
        outputs = self._outputs()
        dead = {target: url for target, url in outputs.dlq_urls.items() if target in outputs.target_queues}
        api = {"HTTP_API_URL": self.http_url} if self.http_url else {}
        users = {"CONSOLE_USER_POOL_ID": outputs.console_user_pool_id} if outputs.console_user_pool_id else {}
        return outputs.environment() | {"DEAD_LETTER_QUEUES": json.dumps(dead)} | api | users | self.env_overrides

    def _outputs(self) -> stack_module.StackOutputs:
        if self.outputs is None:
            raise RuntimeError("the local stack is not started")
        return self.outputs

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        # The method as sent: werkzeug upper-cases it, API Gateway matches it case-sensitively ("post" is no POST)
        found = gateway.select_route(self._outputs().functions, environ.get("REQUEST_METHOD", ""), request.path)
        if found is None:
            response = Response(json.dumps({"message": "Not Found"}), status=404, mimetype="application/json")
        else:
            response = self._answer(request, found)
        return response(environ, start_response)  # type: ignore[no-any-return]

    def _answer(self, request: Request, found: gateway.Route) -> Response:
        event = http_api_event(request, found.route_key)
        if found.path_parameters:  # API Gateway sends the key only for a route with parameters
            event["pathParameters"] = found.path_parameters
        guard = self._outputs().functions[found.function].route_authorizers.get(found.route_key)
        if guard is not None and self.authorizers is not None:
            try:
                authorizer = self.authorizers.authorize(guard, dict(request.headers), request.args.to_dict())
            except gateway.Unauthorized as refused:  # API Gateway answers itself: the function never runs
                return Response(
                    json.dumps({"message": "Unauthorized"}),
                    status=401,
                    mimetype="application/json",
                    headers={"www-authenticate": refused.challenge},
                )
            event["requestContext"]["authorizer"] = authorizer
        answer = self.invoke(found.function, event)
        return Response(
            answer.get("body") or "", status=answer.get("statusCode", 200), headers=answer.get("headers", {})
        )

    # -- the event source mappings ------------------------------------------------------------------------
    def consumers(self) -> list[tuple[str, stack_module.SqsSource]]:
        """(function, its SQS event source) for every SQS consumer in the template."""
        return [
            (logical_id, source)
            for logical_id, function in sorted(self._outputs().functions.items())
            for source in function.sqs_sources
        ]

    def drain_once(self, logical_id: str, source: stack_module.SqsSource, *, container: int = 0) -> int:
        """One poll of the event source mapping: at most BatchSize messages, one invocation (in ``container``).

        An invocation that ends in WorkerCrashed deletes nothing: its messages come back after the visibility
        timeout, and the crash is counted in ``invocations.crashes``.
        """
        sqs = self.client("sqs")
        queue_url = source.queue_url
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, source.batch_size),
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        arn = self._arns.get(queue_url)
        if arn is None:
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self._arns[queue_url] = arn
        event = sqs_event(messages, arn)
        try:
            if container:
                outcome = self.invoke(logical_id, event, container=container)
            else:  # as before: a subclass may override invoke() without the keyword
                outcome = self.invoke(logical_id, event)
        except WorkerCrashed:
            self.invocations.note("crashes", logical_id)
            return len(messages)
        result = outcome or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        self.invocations.note("failures", logical_id, len(failed))
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def drain(self, logical_id: str) -> int:
        """Run one consumer until its queue has no visible message; returns how many messages it handled."""
        handled = 0
        for source in self._outputs().functions[logical_id].sqs_sources:
            while batch := self.drain_once(logical_id, source):
                handled += batch
        return handled

    def run_until_idle(self, timeout: float = 60.0) -> None:
        """Drain every queue until none has a visible message (retries waiting out a backoff are left)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handled = sum(self.drain_once(*consumer) for consumer in self.consumers())
            if handled == 0:
                return
        raise TimeoutError(f"queues still busy after {timeout} s")

    def tick(self, now: datetime | None = None) -> list[Any]:
        """The EventBridge schedule fires once for every scheduled function."""
        scheduled = [lid for lid, f in self._outputs().functions.items() if f.schedules]
        return [self.invoke(lid, scheduled_event(now or datetime.now(UTC))) for lid in scheduled]

    def reset(self) -> None:
        """Start the next test on an empty stack: moto forgets everything and the template is created anew."""
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        self._create_stack()
        self._set_env(self.operator_environment())
        self._warm.clear()
        self._containers.clear()
        self._arns.clear()
        _forget_clients()

    def queue_depths(self) -> dict[str, int]:
        sqs = self.client("sqs")
        outputs = self._outputs()
        urls = {"poll": outputs.poll_queue_url, **outputs.target_queues}
        urls |= {f"{name} DLQ": url for name, url in outputs.dlq_urls.items()}
        depths = {}
        for name, url in urls.items():
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            depths[name] = int(attrs["ApproximateNumberOfMessages"]) + int(
                attrs["ApproximateNumberOfMessagesNotVisible"]
            )
        return depths
