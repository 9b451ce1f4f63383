"""The console and its management API (docs/console.md).

- ``GET /console``, ``GET /console/{file}``: the console's static pages (no CDN, strict CSP);
- ``POST /api/session``: sign in (Cognito USER_PASSWORD_AUTH), answered with the ID token the API takes, or, for
  a first sign-in with an operator's temporary password, with a session for ``POST /api/session/password``,
  where the person chooses their own;
- ``/api/...``: behind API Gateway's Cognito JWT authorizer; the claims name the person, ``koppel.access`` says
  which connections they see (an unseen one is answered like an unknown one), ``koppel.services.console`` acts.
- ``GET /api/openapi.json``: the OpenAPI document Powertools writes from these routes and models.

parse (Powertools validates bodies and queries against koppel.console_models) → service → stores and queues.
Every refusal is a 4xx with a sentence saying what to do.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from koppel import bootstrap
from koppel.access import Principal, principal_from_claims
from koppel.console_models import (
    BackfillQueued,
    BackfillRequest,
    Bookings,
    ConnectionList,
    ConnectionView,
    ErrorAnswer,
    History,
    MappingChange,
    MappingView,
    Me,
    NewPassword,
    PasswordRequired,
    PauseRequest,
    Retried,
    RetryRequest,
    Session,
    SignIn,
    StartLink,
)
from koppel.errors import AuthError, InputError, RetryableError
from koppel.observability import logger
from koppel.ports import PasswordToChoose, SignedIn
from koppel.services import console, mapping
from koppel.services.mapping import MappingProblems
from koppel.settings import ConsoleSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from koppel.services.console import ConsoleDeps

app = APIGatewayHttpResolver(enable_validation=True)
app.configure_openapi(
    title="Koppel management API",
    version="1.0.0",
    description="The console's API: connections, their history, retries, pause/resume, backfill and mappings.",
    security_schemes={
        "cognito": HTTPBearer(bearerFormat="JWT", description="The Cognito ID token POST /api/session answers with")
    },
)
_REFUSAL: Any = {
    "description": "Refused, with a sentence saying what to do",
    "content": {"application/json": {"model": ErrorAnswer}},
}


def signed_in(answer: type[Any], status: int = 200) -> dict[str, Any]:
    """Every /api route but signing in: API Gateway's authorizer has checked the token (a 401 of its own
    otherwise); the document names the answer and every refusal."""
    success = {"description": "Done", "content": {"application/json": {"model": answer}}}
    return {
        "security": [{"cognito": []}],
        "responses": dict.fromkeys((400, 403, 404, 422, 503), _REFUSAL) | {status: success},
    }


STATIC = Path(__file__).parent / "console"
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(html|js|css|svg|png|ico)$")
STATIC_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}
SECURE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
}
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_deps: list[ConsoleDeps] = []


def _services() -> ConsoleDeps:
    if not _deps:
        _deps.append(bootstrap.build_console_deps(ConsoleSettings.load()))
    return _deps[0]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=SECURE | (headers or {})
    )


def _principal() -> Principal:
    return principal_from_claims(app.current_event.request_context.authorizer.jwt_claim)


def _connection(connection_id: str) -> Any:
    return console.connection_of(_principal(), connection_id, _services())


def _view(connection: Any, *, with_dead_letters: bool = True) -> ConnectionView:
    deps = _services()
    letters = console.dead_letters_of(connection, deps) if with_dead_letters else []
    return ConnectionView.model_validate(console.view(connection, deps, letters))


# -- the console's pages ---------------------------------------------------------------------------------------
@app.get("/console", include_in_schema=False)
def console_page() -> Response[str]:
    """Into the folder, so the page's relative addresses (app.js, app.css) resolve under /console/."""
    return Response(status_code=302, headers=SECURE | {"Location": "/console/index.html"}, body="")


@app.get("/console/<file>", include_in_schema=False)
def console_file(file: str) -> Response[Any]:
    path = STATIC / file
    if not STATIC_NAME.fullmatch(file) or not path.is_file():
        return _json(404, {"error": "no such page: open /console/"})
    kind = file.rsplit(".", 1)[1]
    # Revalidated on every load: after a deploy no browser runs old modules beside new ones
    headers = SECURE | {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY}
    if kind in ("png", "ico"):
        return Response(200, STATIC_TYPES[kind], path.read_bytes(), headers=headers)
    return Response(200, STATIC_TYPES[kind], path.read_text(encoding="utf-8"), headers=headers)


# -- signing in --------------------------------------------------------------------------------------------------
@app.post(
    "/api/session",
    responses=dict.fromkeys((401, 403, 422, 503), _REFUSAL)
    | {
        200: {"description": "Signed in", "content": {"application/json": {"model": Session}}},
        202: {
            "description": "A first sign-in: choose a password of your own at POST /api/session/password",
            "content": {"application/json": {"model": PasswordRequired}},
        },
    },
)
def sign_in(body: Annotated[SignIn, Body()]) -> Response[Session | PasswordRequired]:
    settings = ConsoleSettings.load()
    signed = bootstrap.sign_in(settings).sign_in(body.username, body.password.get_secret_value())
    if isinstance(signed, PasswordToChoose):
        logger.info("first sign-in: a password to choose")
        return _json(202, PasswordRequired(session=signed.session, rules=signed.rules).model_dump())
    return _session(signed)


@app.post(
    "/api/session/password",
    responses=dict.fromkeys((400, 401, 403, 422, 503), _REFUSAL)
    | {200: {"description": "Password chosen and signed in", "content": {"application/json": {"model": Session}}}},
)
def choose_password(body: Annotated[NewPassword, Body()]) -> Response[Session]:
    settings = ConsoleSettings.load()
    secret = body.new_password.get_secret_value()
    signed = bootstrap.sign_in(settings).choose_password(body.username, body.session.get_secret_value(), secret)
    logger.info("first sign-in: own password chosen")
    return _session(signed)


def _session(signed: SignedIn) -> Response[Any]:
    claims = _unverified_claims(signed.id_token)  # straight from Cognito: only echoed back, never trusted
    who = principal_from_claims(claims)
    logger.info("signed in", extra={"role": who.role})
    return _json(200, Session(id_token=signed.id_token, expires_in=signed.expires_in, user=_me(who)).model_dump())


@app.get("/api/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    schema = app.get_openapi_json_schema()
    return Response(200, content_types.APPLICATION_JSON, schema, headers=SECURE)


@app.get("/api/me", **signed_in(Me))
def me() -> Response[Me]:
    return _json(200, _me(_principal()).model_dump())


# -- connections -----------------------------------------------------------------------------------------------
@app.get("/api/connections", **signed_in(ConnectionList))
def list_connections() -> Response[ConnectionList]:
    deps = _services()
    # The overview reads no dead-letter queue (a person's page load must not peek at every DLQ); a connection's
    # own page does, and the DLQ alarms tell the operator.
    views = console.views(console.connections_of(_principal(), deps), deps)
    return _json(200, ConnectionList.model_validate({"connections": views}).model_dump())


@app.get("/api/connections/<connection_id>", **signed_in(ConnectionView))
def one_connection(connection_id: str) -> Response[ConnectionView]:
    return _json(200, _view(_connection(connection_id)).model_dump())


@app.get("/api/connections/<connection_id>/history", **signed_in(History))
def history(
    connection_id: str,
    state: Annotated[str | None, Query(pattern="^(booked|pending|parked|not-bookable)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    since: Annotated[date | None, Query()] = None,
) -> Response[History]:
    moment = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    records = console.history(_connection(connection_id), _services(), state=state, since=moment, limit=limit)
    return _json(200, History.model_validate({"records": records}).model_dump())


@app.post("/api/connections/<connection_id>/replay", **signed_in(Retried, 202))
def retry(connection_id: str, body: Annotated[RetryRequest | None, Body()] = None) -> Response[Retried]:
    ids = body.event_ids if body else []
    replayed = console.retry(_connection(connection_id), ids, _services())
    logger.info("replayed from the console", extra={"connection_id": connection_id, "replayed": len(replayed)})
    words = f"{len(replayed)} record(s) sent through again" if replayed else "nothing was parked: nothing to retry"
    return _json(202, Retried(replayed=replayed, message=words).model_dump())


@app.post("/api/connections/<connection_id>/pause", **signed_in(ConnectionView))
def pause(connection_id: str, body: Annotated[PauseRequest | None, Body()] = None) -> Response[ConnectionView]:
    who = _principal()
    reason = (body.reason if body else "") or f"paused by {who.username} in the console"
    paused = console.pause(_connection(connection_id), reason, _services())
    return _json(200, _view(paused).model_dump())


@app.post("/api/connections/<connection_id>/resume", **signed_in(ConnectionView))
def resume(connection_id: str) -> Response[ConnectionView]:
    return _json(200, _view(console.resume(_connection(connection_id), _services())).model_dump())


@app.post("/api/connections/<connection_id>/backfill", **signed_in(BackfillQueued, 202))
def backfill(connection_id: str, body: Annotated[BackfillRequest, Body()]) -> Response[BackfillQueued]:
    since = datetime(body.since.year, body.since.month, body.since.day, tzinfo=UTC)
    until = datetime(body.until.year, body.until.month, body.until.day, tzinfo=UTC) if body.until else None
    days = console.backfill(_connection(connection_id), since, until, _services())
    words = f"{days} day(s) queued: records not booked yet are booked in the next minutes"
    return _json(202, BackfillQueued(jobs=days, message=words).model_dump())


@app.get("/api/connections/<connection_id>/bookings", **signed_in(Bookings))
def bookings(connection_id: str, hours: Annotated[int, Query(ge=1, le=168)] = 48) -> Response[Bookings]:
    counts = console.bookings_per_hour(_connection(connection_id), hours, _services())
    return _json(200, Bookings.model_validate({"hours": counts}).model_dump())


@app.get("/api/connections/<connection_id>/mapping/<target>", **signed_in(MappingView))
def read_mapping(connection_id: str, target: str) -> Response[MappingView]:
    return _json(200, MappingView.model_validate(mapping.read_mapping(_connection(connection_id), target)).model_dump())


@app.put("/api/connections/<connection_id>/mapping/<target>", **signed_in(MappingView))
def change_mapping(connection_id: str, target: str, body: Annotated[MappingChange, Body()]) -> Response[MappingView]:
    changed = mapping.change_mapping(_connection(connection_id), target, body.fields, _services().connections)
    logger.info("mapping changed in the console", extra={"connection_id": connection_id, "target": target})
    return _json(200, MappingView.model_validate(changed).model_dump())


@app.post("/api/connections/<connection_id>/connect/<system>", **signed_in(StartLink))
def connect_again(connection_id: str, system: str) -> Response[StartLink]:
    token, until = console.start_link(_principal(), _connection(connection_id), system, _services())
    event = app.current_event
    base = f"{event.headers.get('x-forwarded-proto', 'https')}://{event.request_context.domain_name}"
    url = f"{base}/connect/{system}/start?token={token}"
    return _json(200, StartLink(url=url, expires_at=until.isoformat()).model_dump())


@app.post("/api/connections/<connection_id>/disconnect", **signed_in(ConnectionView))
def disconnect(connection_id: str) -> Response[ConnectionView]:
    gone = console.disconnect(_principal(), _connection(connection_id), _services())
    logger.info("disconnected in the console", extra={"connection_id": connection_id})
    return _json(200, _view(gone).model_dump())


# -- refusals ----------------------------------------------------------------------------------------------------
@app.exception_handler(MappingProblems)  # type: ignore[untyped-decorator]
def mapping_refused(error: MappingProblems) -> Response[Any]:
    return _json(422, {"error": str(error), "problems": error.problems})


@app.exception_handler(InputError)  # type: ignore[untyped-decorator]
def bad_input(error: InputError) -> Response[Any]:
    # A 404 is a person following an old link (or probing): worth a line, not a warning
    log = logger.info if error.status == 404 else logger.warning
    log("console request refused", extra={"status": error.status, "reason": str(error)})
    return _json(error.status, {"error": str(error)})


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def malformed(error: RequestValidationError) -> Response[Any]:
    problems = [
        {"field": ".".join(str(part) for part in e["loc"][1:]) or "body", "message": e["msg"]} for e in error.errors()
    ]
    fields = ", ".join(p["field"] for p in problems)
    return _json(
        422, {"error": f"the request is not as the API expects ({fields}): see /api/openapi.json", "problems": problems}
    )


@app.exception_handler([UnicodeDecodeError, RecursionError])  # type: ignore[untyped-decorator]
def unreadable(_: Exception) -> Response[Any]:
    """Powertools reads the body before any route: bytes that are no UTF-8, or JSON nested too deep to parse."""
    return _json(
        400,
        {"error": "the body is not JSON this API reads (UTF-8, nested at most a few levels): see /api/openapi.json"},
    )


@app.exception_handler(AuthError)  # type: ignore[untyped-decorator]
def refused_sign_in(error: AuthError) -> Response[Any]:
    logger.warning("sign-in refused")
    return _json(401, {"error": str(error)})


@app.exception_handler(RetryableError)  # type: ignore[untyped-decorator]
def busy(error: RetryableError) -> Response[Any]:
    return _json(503, {"error": f"{error}"}, {"Retry-After": str(int(error.retry_after or 5))})


@app.not_found
def no_such_route(_: Exception) -> Response[Any]:
    return _json(404, {"error": "no such address: see /api/openapi.json"})


def _me(who: Principal) -> Me:
    return Me(username=who.username, email=who.email, role=who.role, tenant=who.tenant, client=who.client)


def _unverified_claims(token: str) -> dict[str, Any]:
    import base64
    import json

    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
