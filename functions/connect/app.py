"""Account activation: GET /connect/{target}/start opens an owner's start link and sends the user to the vendor;
POST …/callback receives the vendor's credential (SnelStart's koppelsleutel webhook) and stores it encrypted once
the vendor has shown it works. Every refusal is a 4xx with a reason; nothing about a connection is disclosed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from koppel import bootstrap
from koppel.errors import AuthError, InputError, PermanentError, RetryableError
from koppel.inbound import MAX_CALLBACK_BYTES, check_size, raw_body
from koppel.observability import logger
from koppel.services.authorize import receive_authorization
from koppel.services.connect import activation_of, begin_activation, receive_callback
from koppel.settings import ConnectSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from koppel.services.connect import ConnectDeps

app = APIGatewayHttpResolver()
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=NO_STORE | (headers or {})
    )


def _deps() -> ConnectDeps:
    return bootstrap.build_connect_deps(ConnectSettings.load())


def _here(ending: str) -> str:
    """This function's address for the same target, ending in ``ending`` (done page, OAuth return)."""
    event = app.current_event
    base = f"{event.headers.get('x-forwarded-proto', 'https')}://{event.request_context.domain_name}"
    return base + event.raw_path.rsplit("/", 1)[0] + ending


@app.get("/connect/<target>/start")
def start(target: str) -> Response[dict[str, Any]]:
    token = (app.current_event.query_string_parameters or {}).get("token")
    started = begin_activation(target, token, _deps(), done_url=_here("/done"), callback_url=_here("/callback"))
    logger.info("activation started", extra={"connection_id": started.connection.connection_id, "target": target})
    return Response(status_code=302, headers={"Location": started.vendor_url} | NO_STORE, body=None)


@app.get("/connect/<target>/done")
def done(target: str) -> Response[str]:
    """Where the vendor sends the user back when the owner gave no return address of their own."""
    activation_of(target, _deps())
    page = (
        f"<!doctype html><title>Koppel</title><p>The {target} activation has reached Koppel. "
        "You may close this page; <code>koppel status</code> shows the connection.</p>"
    )
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=page, headers=NO_STORE)


@app.get("/connect/<target>/callback")
def authorized(target: str) -> Response[dict[str, Any]]:
    """The owner back from the vendor's OAuth consent page, with a code (or the reason there is none)."""
    query = app.current_event.query_string_parameters or {}
    returned = receive_authorization(target, query, _deps(), callback_url=_here("/callback"), done_url=_here("/done"))
    logger.info("authorized", extra={"connection_id": returned.connection.connection_id, "target": target})
    return Response(status_code=302, headers={"Location": returned.return_url} | NO_STORE, body=None)


@app.post("/connect/<target>/callback")
def callback(target: str) -> Response[dict[str, Any]]:
    body = raw_body(app.current_event.body, app.current_event.is_base64_encoded)
    check_size(body, MAX_CALLBACK_BYTES, f"{target} activation callback")
    activation, connection = receive_callback(target, body, _deps())
    logger.info("activation received", extra={"connection_id": connection.connection_id, "action": activation.action})
    return _json(200, {"status": connection.status})


@app.exception_handler(InputError)  # type: ignore[untyped-decorator]
def bad_input(error: InputError) -> Response[dict[str, Any]]:
    logger.warning("connect refused", extra={"status": error.status, "reason": str(error)})
    return _json(error.status, {"error": str(error)})


@app.exception_handler(PermanentError)  # type: ignore[untyped-decorator]
def vendor_refused(error: PermanentError) -> Response[dict[str, Any]]:
    logger.warning("vendor refused while connecting", extra={"reason": str(error)})
    return _json(422, {"error": f"{error}; nothing was changed"})


@app.exception_handler(AuthError)  # type: ignore[untyped-decorator]
def vendor_refused_grant(error: AuthError) -> Response[dict[str, Any]]:
    """The vendor refused Koppel's own client or the code (expired, used): nothing was stored."""
    logger.warning("vendor refused the authorization", extra={"reason": str(error)})
    return _json(403, {"error": f"{error}; nothing was changed: ask the owner for a new start link"})


@app.exception_handler(RetryableError)  # type: ignore[untyped-decorator]
def vendor_busy(error: RetryableError) -> Response[dict[str, Any]]:
    logger.warning("vendor busy while connecting", extra={"reason": str(error)})
    retry = str(int(error.retry_after or 30))
    return _json(503, {"error": f"{error}; nothing was changed, send it again later"}, {"Retry-After": retry})


@app.not_found
def no_such_route(_: Exception) -> Response[dict[str, Any]]:
    """A path that matches no route (a segment with characters a route does not take): a 404 with a reason."""
    return _json(404, {"error": "no such address: check the path against the README"})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
