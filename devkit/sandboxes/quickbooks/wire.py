"""QuickBooks Online's wire format: Decimal-safe JSON, its timestamps, and the ``Fault`` envelope of its errors.

Every refusal of the v3 API answers ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}],
"type": "ValidationFault"}, "time": "..."}`` (the recorded duplicate-name and tax-service faults), with the
HTTP status QuickBooks uses: 400 for validation and business faults, 401 for authentication, 403 for
authorization, 429 for throttling, 500 for system faults. Each answer carries an ``intuit_tid`` header, the
id Intuit support asks for. Times are written in the company's offset like ``2015-07-24T10:35:08-07:00``;
the sandbox writes them in UTC as ``+00:00`` [I: a real company writes its own zone's offset; parse the
offset, never assume it].
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit import decimal_json

CENT = Decimal("0.01")


class Fault(Exception):
    """A refusal in QuickBooks' Fault shape; ``errors`` are ``(code, message, detail, element)``."""

    def __init__(
        self, status: int, kind: str, *errors: tuple[str, str, str, str], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {kind}: {errors}")
        self.status = status
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}

    def body(self, now: datetime) -> dict[str, Any]:
        errors = [{"Message": m, "Detail": d, "code": c, "element": e} for c, m, d, e in self.errors]
        return {"Fault": {"Error": errors, "type": self.kind}, "time": qbo_time(now, millis=True)}


def validation(code: str, message: str, detail: str, element: str = "") -> Fault:
    return Fault(400, "ValidationFault", (code, message, detail, element))


def business(detail: str, element: str = "") -> Fault:
    """Error 6000, the catch-all business rule QuickBooks words the same way for every rule."""
    message = "A business validation error has occurred while processing your request"
    return validation("6000", message, f"Business Validation Error: {detail}", element)


def required(element: str) -> Fault:
    message = "Required param missing, need to supply the required value for the API"
    return validation("2020", message, f"Required parameter {element} is missing in the request", element)


def invalid_reference(kind: str, ident: object, element: str) -> Fault:
    detail = f"Invalid Reference Id : {kind} assigned to this transaction has been deleted. Id={ident}"
    return validation("2500", "Invalid Reference Id", detail, element)


def not_found(kind: str, ident: object) -> Fault:
    detail = (
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees."
    )
    return validation("610", "Object Not Found", detail, f"{kind}.Id={ident}")


def stale(ident: object) -> Fault:
    detail = (
        "Stale Object Error : You and Koppel Sandbox were working on this at the same time. "
        "Koppel Sandbox finished before you did, so your work was not saved."
    )
    return validation("5010", "Stale Object Error", detail, f"SyncToken of Id={ident}")


def unsupported(operation: str) -> Fault:
    """The oldest recorded fault (2012): code 500, no Detail; the sandbox adds one for readers."""
    return Fault(400, "ValidationFault", ("500", "Unsupported operation requested", operation, ""))


def loads(raw: bytes | str) -> Any:
    return decimal_json.loads(raw)


def dumps(value: Any) -> str:
    """Amounts as JSON numbers in their own digits (``100.00``, ``150.0``), never through a float."""
    return decimal_json.dumps(value, lambda amount: f"{amount:f}", _special)


def _special(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def cents(amount: Decimal) -> Decimal:
    """QuickBooks rounds half up to the cent (a half cent is where line amounts are refused)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def qbo_time(moment: datetime, *, millis: bool = False) -> str:
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "+00:00"


def parse_time(text: str) -> datetime:
    """ISO times as QuickBooks accepts them in queries and CDC: with an offset, ``Z``, or a bare date (UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"intuit_tid": f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}", **(headers or {})}
    return Response(dumps(body), status=status, content_type="application/json;charset=UTF-8", headers=all_headers)


def fault_answer(fault: Fault, now: datetime) -> Response:
    return answer(fault.body(now), fault.status, fault.headers)
