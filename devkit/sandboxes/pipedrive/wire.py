"""Pipedrive's wire format: the response envelope, the error bodies, numbers from Decimals and RFC 3339 times.

Envelope [V]: ``{"success": true, "data": ..., "additional_data": {...}}``. Error body [V]:
``{"success": false, "error": "...", "error_info": "Please check developers.pipedrive.com for more
information about Pipedrive API.", "data": null, "additional_data": null}``. A refused token is answered by
Pipedrive's gateway with a shorter body [V, observed live by a third party]:
``{"success": false, "error": "unauthorized access", "errorCode": 401, "error_info": "Please check
developers.pipedrive.com"}``. v2 writes times as RFC 3339 (``2026-05-27T06:54:41Z``), v1 as
``YYYY-MM-DD HH:MM:SS`` in UTC [V, v2 migration guide]. Numbers are JSON numbers; the sandbox writes them
from Decimal digits without trailing zeros (``90``, ``12.5``), as a JavaScript server would print them [I].
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit import decimal_json

if TYPE_CHECKING:
    from collections.abc import Mapping

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
GATEWAY_INFO = "Please check developers.pipedrive.com"


class PipedriveError(Exception):
    """A refusal in Pipedrive's error shape."""

    def __init__(
        self, status: int, error: str, headers: Mapping[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.headers = dict(headers or {})
        self.body = body or {
            "success": False,
            "error": error,
            "error_info": ERROR_INFO,
            "data": None,
            "additional_data": None,
        }


def unauthorized() -> PipedriveError:
    body = {"success": False, "error": "unauthorized access", "errorCode": 401, "error_info": GATEWAY_INFO}
    return PipedriveError(401, "unauthorized access", body=body)


def not_found(entity: str) -> PipedriveError:
    return PipedriveError(404, f"{entity} not found")


def bad_request(message: str) -> PipedriveError:
    return PipedriveError(400, message)


# -- JSON ---------------------------------------------------------------------------------------------------------
def _special(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    return decimal_json.dumps(value, decimal_json.plain_number, _special)


def loads(raw: bytes | str) -> Any:
    return decimal_json.loads(raw)


def answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status=status, mimetype="application/json", headers=dict(headers or {}))


def ok(data: Any, additional_data: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, **extra, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    return body


# -- times --------------------------------------------------------------------------------------------------------
def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_millis(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def v1_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_rfc3339(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise bad_request(f"Validation failed: {name}: Invalid date format, use RFC 3339") from error
    if moment.tzinfo is None:
        raise bad_request(f"Validation failed: {name}: Invalid date format, use RFC 3339")
    return moment
