"""Billy's wire format: JSON numbers from Decimals, Billy's times, and the error bodies.

Errors [V, Billy's own web client billysbilling/billy-data src/store.js]: a refused write is **422** with
``errorMessage`` and ``validationErrors`` keyed by the record's ``_clientId`` (the id the client sent with the
record), each ``{"message": ..., "attributes": {"<field>": "..."}}``; a belongs-to field is named with its
``Id`` suffix (``contactId``). ``errorCode`` next to ``errorMessage`` is [I]; the codes are ours except
``AUTHENTICATION_REQUIRED`` (401) and ``METHOD_NOT_ALLOWED`` (405), which a third party saw when probing the
API without a token [I, sigvardt/billy-mcp wiki/offline_write_probe_rules.md]. Numbers are JSON numbers [V];
they are written from Decimal digits without trailing zeros (``1200``, ``12.5``) [I]. Times look like
``2025-11-12T04:37:46`` [V, the POST /v2/files example]; dates ``YYYY-MM-DD`` [V].
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit import decimal_json

if TYPE_CHECKING:
    from collections.abc import Mapping


class BillyError(Exception):
    """A refusal in Billy's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        validation: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.headers = dict(headers or {})
        self.body: dict[str, Any] = {"errorCode": code, "errorMessage": message}
        if validation is not None:
            self.body["validationErrors"] = validation


def invalid(message: str, attributes: Mapping[str, str] | None = None, client_id: str = "record") -> BillyError:
    """422 for one record; ``client_id`` is the ``_clientId`` the request carried (else the singular name) [I]."""
    entry: dict[str, Any] = {"message": message}
    if attributes:
        entry["attributes"] = dict(attributes)
    return BillyError(422, message, "VALIDATION_ERROR", {client_id: entry})


def require(data: Mapping[str, Any], keys: tuple[str, ...], client_id: str) -> None:
    """422 naming every required field the record leaves out."""
    missing = [k for k in keys if data.get(k) in (None, "")]
    if missing:
        raise invalid(f"{missing[0]} is required.", dict.fromkeys(missing, "This field is required."), client_id)


def not_found(resource: str, ident: str) -> BillyError:
    return BillyError(404, f"No {resource} with ID {ident} was found.", "RECORD_NOT_FOUND")


def unauthorized() -> BillyError:
    return BillyError(401, "You need to be authenticated to access this resource.", "AUTHENTICATION_REQUIRED")


def bad_request(message: str) -> BillyError:
    return BillyError(400, message, "INVALID_REQUEST")


def method_not_allowed() -> BillyError:
    return BillyError(405, "Method not allowed.", "METHOD_NOT_ALLOWED")


# -- JSON ---------------------------------------------------------------------------------------------------------
def _special(value: Any) -> Any:
    if isinstance(value, datetime):
        return billy_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    return decimal_json.dumps(value, decimal_json.plain_number, _special)


def loads(raw: bytes | str) -> Any:
    return decimal_json.loads(raw)


def answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status=status, mimetype="application/json", headers=dict(headers or {}))


def error_response(error: BillyError) -> Response:
    return answer(error.body, error.status, error.headers)


# -- values -------------------------------------------------------------------------------------------------------
def billy_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_time(text: str, name: str) -> datetime:
    """``minApprovedTime=2025-06-02 12:00:00`` [V example]; ISO with ``T`` or a bare date is accepted too [I]."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise bad_request(f"{name} is not a valid date-time.") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_date(value: Any, field: str, client_id: str = "record") -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise invalid(f"{field} must be a date (YYYY-MM-DD).", {field: "Invalid date."}, client_id) from error


def money(value: Any, field: str, client_id: str = "record") -> Decimal:
    """A JSON number (or numeric string) as Decimal; floats never reach here (loads parses them as Decimal)."""
    if isinstance(value, bool) or value is None:
        raise invalid(f"{field} must be a number.", {field: "Must be a number."}, client_id)
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise invalid(f"{field} must be a number.", {field: "Must be a number."}, client_id) from error
    if not amount.is_finite():
        raise invalid(f"{field} must be a number.", {field: "Must be a number."}, client_id)
    return amount


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
