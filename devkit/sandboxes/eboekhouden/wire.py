"""e-Boekhouden's wire format: the error body, money as JSON numbers with two decimals, and list paging/filters.

Errors answer ``{"code", "message", "title", "status"}`` (tests/fixtures/eboekhouden
``rest.session.create.error400.response.json``, from Mantix/eboekhouden-rest-api tests). Confirmed codes:
``API_SESSION_001..004`` and ``MUTA_006`` (outstanding without ``credDeb``, "confirmed against the live API"
in a public Go client). Every code with a 9xx number is the sandbox's own: branch on the HTTP status.

Lists answer ``{"items": [...], "count": N}`` with ``limit``/``offset`` (max limit 2000 per the SDKs' docs;
default 100 [I]; a larger limit is refused [I]) and filters ``field=value`` or ``field[op]=value`` with
``op`` in eq, not_eq, like, not_like (``%`` wildcards), gt, gte, lt, lte, range (``a,b``) — the operator
syntax two public clients send [I]. Text compares case-insensitively [I].
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit import decimal_json

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

CENT = Decimal("0.01")
DEFAULT_LIMIT = 100
MAX_LIMIT = 2000
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """A refusal in e-Boekhouden's error shape."""

    def __init__(
        self, status: int, code: str, message: str, title: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.headers = headers or {}
        self.body = {"code": code, "message": message, "title": title or TITLES.get(status, "Error"), "status": status}


def invalid(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def not_found(kind: str, ident: object) -> ApiError:
    return ApiError(404, "API_NOTFOUND_901", f"{kind} {ident} not found")


# -- JSON ---------------------------------------------------------------------------------------------------------
def loads(raw: bytes | str) -> Any:
    return decimal_json.loads(raw)


def dumps(value: Any) -> str:
    """JSON whose Decimals are numbers with exactly two decimals, written from their digits (never a float)."""
    return decimal_json.dumps(value, lambda amount: f"{cents(amount):f}", _iso)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    text = "" if body is None else dumps(body)
    mimetype = None if body is None else "application/json"
    return Response(text, status=status, mimetype=mimetype, headers=headers)


def error_answer(error: ApiError) -> Response:
    return answer(error.body, error.status, error.headers)


# -- values -------------------------------------------------------------------------------------------------------
def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Any, field: str, code: str) -> Decimal:
    """An amount as e-Boekhouden keeps it: a number, rounded half-up to cents. Strings and booleans are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise invalid(code, f"{field} must be a number")
    return cents(Decimal(value))


def integer(value: Any, field: str, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
        raise invalid(code, f"{field} must be an integer")
    return int(value)


def iso_date(value: Any, field: str, code: str) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat() if value else ""
    except ValueError:
        pass
    raise invalid(code, f"{field} must be a date (yyyy-MM-dd)")


# -- lists --------------------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold()


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "%" else re.escape(part) for part in re.split("(%)", pattern.casefold())))


def _compare(kind: str) -> Callable[[Any], Any]:
    """How a query value and a stored value are made comparable for one field kind."""
    if kind == "int":
        return lambda v: None if v is None or v == "" else int(v)
    if kind == "date":
        return lambda v: None if not v else date.fromisoformat(str(v)[:10])
    return _text


def _matches(stored: Any, op: str, raw: str, kind: str) -> bool:
    convert = _compare(kind)
    if op in {"like", "not_like"}:
        found = bool(_like(raw).fullmatch(_text(stored)))
        return found if op == "like" else not found
    if op == "range":
        low, _, high = raw.partition(",")
        value = convert(stored)
        return value is not None and convert(low) <= value <= convert(high)
    wanted, value = convert(raw), convert(stored)
    checks: dict[str, Callable[[], bool]] = {
        "eq": lambda: value == wanted,
        "not_eq": lambda: value != wanted,
        "gt": lambda: value is not None and value > wanted,
        "gte": lambda: value is not None and value >= wanted,
        "lt": lambda: value is not None and value < wanted,
        "lte": lambda: value is not None and value <= wanted,
    }
    return bool(checks[op]())


_PARAM = re.compile(r"^(?P<name>\w+)(?:\[(?P<op>eq|not_eq|like|not_like|gt|gte|lt|lte|range)\])?$")


def page(rows: list[dict[str, Any]], args: Mapping[str, str], fields: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """Filter, count and page ``rows``; ``fields`` maps a query name to (row key, kind: text|int|date)."""
    limit = _bound(args.get("limit"), "limit", DEFAULT_LIMIT)
    offset = _bound(args.get("offset"), "offset", 0)
    if limit > MAX_LIMIT or limit < 1:
        raise invalid("API_LIMIT_901", f"limit must be between 1 and {MAX_LIMIT}")
    for param, raw in args.items():
        found = _PARAM.match(param)
        if not found or found["name"] not in fields:
            continue  # unknown parameters are ignored, as ASP.NET model binding does
        key, kind = fields[found["name"]]
        try:
            rows = [row for row in rows if _matches(row.get(key), found["op"] or "eq", raw, kind)]
        except ValueError:
            raise invalid("API_FILTER_901", f"{param} has an invalid value {raw!r}") from None
    return {"items": rows[offset : offset + limit], "count": len(rows)}


def _bound(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("API_LIMIT_901", f"{name} must be an integer") from None
    if value < 0:
        raise invalid("API_LIMIT_901", f"{name} must not be negative")
    return value
