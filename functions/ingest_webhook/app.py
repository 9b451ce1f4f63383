"""API Gateway HTTP API: POST /hooks/{source}/{connection_id} (a source's webhooks) and POST /notices/{target} (a
target's own webhooks, one address for every account).

parse (size, verify, normalize in the source connector) → service (koppel.services.ingest) → SQS.
Bad input is answered 4xx with a reason and never enqueued; a vendor hiccup while re-reading the record is
answered 503, so the sender retries its webhook (and the poller catches it regardless).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from koppel import bootstrap
from koppel.errors import AuthError, InputError, RetryableError
from koppel.inbound import MAX_BODY_BYTES, check_size, raw_body
from koppel.observability import logger, meter
from koppel.services.ingest import ingest_webhook
from koppel.services.notices import receive_notices
from koppel.settings import IngestSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from koppel.services.ingest import IngestDeps
    from koppel.services.notices import NoticeDeps

app = APIGatewayHttpResolver()
_deps: list[IngestDeps] = []
_notice_deps: list[NoticeDeps] = []


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


@app.post("/hooks/<source>/<connection_id>")
def receive(source: str, connection_id: str) -> Response[dict[str, Any]]:
    event = app.current_event
    body = raw_body(event.body, event.is_base64_encoded)
    check_size(body, MAX_BODY_BYTES, "webhook body")
    scheme = event.headers.get("x-forwarded-proto", "https")
    url = f"{scheme}://{event.request_context.domain_name}{event.raw_path}"
    if not _deps:
        _deps.append(bootstrap.build_ingest_deps(IngestSettings.load()))
    result = ingest_webhook(source, connection_id, dict(event.headers), body, url, _deps[0])
    logger.info("webhook accepted", extra={"accepted": result.accepted, "note": result.note})
    return _json(202, {"accepted": result.accepted, "event_ids": list(result.event_ids), "note": result.note})


@app.post("/notices/<target>")
def notices(target: str) -> Response[dict[str, Any]]:
    """A target's own webhook (QuickBooks Online): its accounts' status is read back now."""
    event = app.current_event
    body = raw_body(event.body, event.is_base64_encoded)
    check_size(body, MAX_BODY_BYTES, "notice body")
    if not _notice_deps:
        _notice_deps.append(bootstrap.build_notice_deps(IngestSettings.load()))
    received = receive_notices(target, dict(event.headers), body, _notice_deps[0])
    if received.replay:
        logger.info("change notice already received", extra={"target": target})
        return _json(200, {"reading_back": 0, "note": "already received: this notice was handled before"})
    logger.info("change notice", extra={"target": target, "connections": list(received.connections)})
    return _json(200, {"reading_back": len(received.connections)})


@app.exception_handler(InputError)  # type: ignore[untyped-decorator]
def bad_input(error: InputError) -> Response[dict[str, Any]]:
    cause = str(error.__cause__ or "")
    logger.warning("webhook refused", extra={"status": error.status, "reason": str(error), "cause": cause})
    return _json(error.status, {"error": str(error)})


@app.exception_handler(RetryableError)  # type: ignore[untyped-decorator]
def try_again(error: RetryableError) -> Response[dict[str, Any]]:
    logger.warning("source busy while hydrating", extra={"reason": str(error)})
    retry = str(int(error.retry_after or 30))
    return _json(503, {"error": f"{error} — send the webhook again later"}, {"Retry-After": retry})


@app.exception_handler(AuthError)  # type: ignore[untyped-decorator]
def source_credentials(error: AuthError) -> Response[dict[str, Any]]:
    logger.error("source credentials refused", extra={"reason": str(error)})
    return _json(502, {"error": str(error)})


@app.not_found
def no_such_route(_: Exception) -> Response[dict[str, Any]]:
    """A path that matches no route (a segment with characters a route does not take): a 404 with a reason."""
    return _json(404, {"error": "no such address: check the path against the README"})


@logger.inject_lambda_context(clear_state=True)
@meter.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
