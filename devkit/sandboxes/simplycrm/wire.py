"""vtiger's webservice.php wire format: the envelope, the error codes and how values are written.

Envelope [V, recorded]: ``{"success": true, "result": ...}`` and ``{"success": false, "error": {"code": ...,
"message": ...}}``; an error still comes with HTTP 200 because webservice.php only echoes the encoded state
[V, vtiger ``webservice.php``]. Every field value is a string, as MySQL hands it to PHP: money and quantities
with the column's scale (``"1.000"``, ``"500.00000000"``), times as ``YYYY-MM-DD HH:MM:SS`` [V, recorded].
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Response

# Error codes as vtiger's WebServiceErrorCode.php spells them [V].
INVALID_AUTH_TOKEN = "INVALID_AUTH_TOKEN"
INVALID_USER_CREDENTIALS = "INVALID_USER_CREDENTIALS"
INVALID_SESSIONID = "INVALID_SESSIONID"
SESSION_EXPIRED = "SESSION_EXPIRED"
AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
ACCESS_DENIED = "ACCESS_DENIED"
MANDATORY_FIELDS_MISSING = "MANDATORY_FIELDS_MISSING"
INVALID_ID_ATTRIBUTE = "INVALID_ID_ATTRIBUTE"
QUERY_SYNTAX_ERROR = "QUERY_SYNTAX_ERROR"
RECORD_NOT_FOUND = "RECORD_NOT_FOUND"
UNKNOWN_OPERATION = "UNKNOWN_OPERATION"
REFERENCE_INVALID = "REFERENCE_INVALID"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

DENIED = "Permission to perform the operation is denied"
NOT_FOUND = "Record you are trying to access is not found"
BAD_ID = "Id specified is incorrect"


class VtigerError(Exception):
    """A WebServiceException: answered as ``{"success": false, "error": {"code", "message"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def success(result: Any) -> Response:
    return _json({"success": True, "result": result})


def failure(error: VtigerError) -> Response:
    return _json({"success": False, "error": {"code": error.code, "message": error.message}})


def _json(body: Any) -> Response:
    # PHP's json encoder writes compactly; so does the sandbox (the recorded bodies are compact).
    return Response(json.dumps(body, separators=(",", ":")), status=200, mimetype="application/json")


def decimal(text: Any, field: str) -> Decimal:
    """A number the client sent (string or number); vtiger casts with PHP's (float), we refuse nonsense."""
    if text in (None, ""):
        return Decimal(0)
    try:
        value = Decimal(str(text))
    except InvalidOperation as error:
        raise VtigerError(INTERNAL_SERVER_ERROR, f"{field} is not a number") from error
    if not value.is_finite():
        raise VtigerError(INTERNAL_SERVER_ERROR, f"{field} is not a number")
    return value


def fixed(value: Decimal, places: int) -> str:
    """A DECIMAL(n, places) column as MySQL prints it: always ``places`` digits."""
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def seconds(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())
