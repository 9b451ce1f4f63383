"""Account activation: GET /connect/{target}/start sends the user to the vendor, POST …/callback receives
the vendor's credential (SnelStart's koppelsleutel webhook) and stores it encrypted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from koppel import bootstrap, connectors
from koppel.errors import InputError
from koppel.observability import logger
from koppel.services.connect import receive_activation, start_activation
from koppel.settings import ConnectSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = APIGatewayHttpResolver()


def _json(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/connect/<target>/start")
def start(target: str) -> Response[dict[str, Any]]:
    params = app.current_event.query_string_parameters or {}
    connection_id = params.get("connection_id")
    success_url = params.get("success_url", "")
    if not connection_id:
        raise InputError("add ?connection_id=<id> (see `koppel connections list`)")
    settings = ConnectSettings.load()
    deps = bootstrap.connect_deps(settings)
    reference = start_activation(connection_id, target, deps)
    url = connectors.load(target).activation_url(
        success_url=success_url,
        reference_key=reference,
        partner=bootstrap.partner_secret_reader(settings, target)(),
        settings=deps.connections.get(connection_id).target_settings.get(target, {}),
    )
    return Response(status_code=302, headers={"Location": url}, body=None)


@app.post("/connect/<target>/callback")
def callback(target: str) -> Response[dict[str, Any]]:
    body = (app.current_event.decoded_body or "").encode()
    activation = connectors.load(target).parse_activation(body)
    connection = receive_activation(target, activation, bootstrap.connect_deps(ConnectSettings.load()))
    logger.info("activation received", extra={"connection_id": connection.connection_id, "action": activation.action})
    return _json(200, {"connection_id": connection.connection_id, "status": connection.status})


@app.exception_handler(InputError)  # type: ignore[untyped-decorator]
def bad_input(error: InputError) -> Response[dict[str, Any]]:
    logger.warning("connect refused", extra={"status": error.status, "reason": str(error)})
    return _json(error.status, {"error": str(error)})


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
