"""API Gateway HTTP API: the source's own screens call Koppel (Pipedrive's app extensions).

- ``GET /apps/{source}/panel``: the invoices of the selected record, in the vendor's panel shape;
- ``POST /apps/{source}/invoice``: book the selected record now (queued once, under its event id);
- ``POST /apps/{source}/invoices/{action}``: void, delete, send or download (pdf) its booked invoice;
- ``GET /records/{system}/sync``: a CRM's "Sync" button on one record of a two-way koppeling (a link with the
  connection's button token): that record is synced now and the answer says how it stands.

parse (the vendor's signed query, checked by the source's app extension) → service (koppel.services.apps) →
queues and targets. Every refusal is a 4xx with a reason (a 401 also names the signature check that failed, as
``check``); a busy vendor is a 503 with Retry-After.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from koppel import bootstrap
from koppel.errors import AuthError, InputError, PermanentError, RetryableError, SignatureError
from koppel.observability import logger, meter
from koppel.services.apps import act, book_now, panel
from koppel.services.record_button import ButtonDeps, press
from koppel.settings import PublishSettings, StoreSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from koppel.services.apps import AppDeps

app = APIGatewayHttpResolver()
_deps: list[AppDeps] = []
_button_deps: list[ButtonDeps] = []
NO_STORE = {"Cache-Control": "no-store"}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=NO_STORE | (headers or {})
    )


def _services() -> AppDeps:
    if not _deps:
        _deps.append(bootstrap.build_app_deps(PublishSettings.load()))
    return _deps[0]


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.get("/apps/<source>/panel")
def show_panel(source: str) -> Response[dict[str, Any]]:
    return _json(200, panel(source, _query(), _services()))


@app.post("/apps/<source>/invoice")
def create_invoice(source: str) -> Response[dict[str, Any]]:
    queued = book_now(source, _query(), _services())
    logger.info("booked from the source's screen", extra={"queued": list(queued.event_ids)})
    message = (
        "the invoice is being created; the panel shows it in a moment"
        if queued.event_ids
        else "this record already has its invoice: the panel shows it"
    )
    return _json(
        202,
        {"queued": list(queued.event_ids), "already_booked": list(queued.already_booked), "message": message},
    )


@app.post("/apps/<source>/invoices/<action>")
def invoice_action(source: str, action: str) -> Response[Any]:
    pdf = act(source, action, _query(), _services())
    logger.info("invoice action", extra={"action": action})
    if pdf is not None:
        return Response(
            status_code=200,
            content_type="application/pdf",
            body=base64.b64encode(pdf).decode(),
            headers=NO_STORE | {"Content-Disposition": 'attachment; filename="invoice.pdf"'},
            compress=False,
        )
    return _json(200, {"done": action})


@app.get("/records/<system>/sync")
def sync_button(system: str) -> Response[Any]:
    said = press(system, _query(), _buttons())
    logger.info("record synced from its button", extra={"state": said.state})
    body = {"state": said.state, "message": said.words, "other_id": said.other_id}
    if "text/html" not in (app.current_event.headers or {}).get("accept", ""):
        return _json(200, body)
    page = (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Koppel sync</title>"
        f"<h1>{html.escape(said.state.capitalize())}</h1><p>{html.escape(said.words)}</p></html>"
    )
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=page, headers=NO_STORE)


def _buttons() -> ButtonDeps:
    if not _button_deps:
        _button_deps.append(bootstrap.build_button_deps(StoreSettings.load()))
    return _button_deps[0]


@app.exception_handler(InputError)  # type: ignore[untyped-decorator]
def bad_input(error: InputError) -> Response[dict[str, Any]]:
    logger.warning("app request refused", extra={"status": error.status, "reason": str(error)})
    return _json(error.status, {"error": str(error)})


@app.exception_handler(SignatureError)  # type: ignore[untyped-decorator]
def not_signed(error: SignatureError) -> Response[dict[str, Any]]:
    """A request the vendor did not sign for Koppel's app: the 401 names the check it failed (missing token, bad
    signature, expired, wrong company, …), never the token or the secret."""
    check = error.check or "signature"
    logger.warning("app request refused: not signed for Koppel", extra={"check": check, "reason": str(error)})
    return _json(401, {"error": str(error), "check": check})


@app.exception_handler(PermanentError)  # type: ignore[untyped-decorator]
def vendor_refused(error: PermanentError) -> Response[dict[str, Any]]:
    logger.warning("vendor refused", extra={"reason": str(error)})
    return _json(422, {"error": str(error)})


@app.exception_handler(RetryableError)  # type: ignore[untyped-decorator]
def vendor_busy(error: RetryableError) -> Response[dict[str, Any]]:
    logger.warning("vendor busy", extra={"reason": str(error)})
    retry = str(int(error.retry_after or 30))
    return _json(503, {"error": f"{error}; nothing was changed, try again in a moment"}, {"Retry-After": retry})


@app.exception_handler(AuthError)  # type: ignore[untyped-decorator]
def credentials_refused(error: AuthError) -> Response[dict[str, Any]]:
    logger.error("credentials refused", extra={"reason": str(error)})
    return _json(502, {"error": f"{error}; ask the account's owner to reconnect it in Koppel"})


@app.not_found
def no_such_route(_: Exception) -> Response[dict[str, Any]]:
    """A path that matches no route: a 404 with a reason."""
    return _json(404, {"error": "no such address: check the path against the README"})


@logger.inject_lambda_context(clear_state=True)
@meter.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
