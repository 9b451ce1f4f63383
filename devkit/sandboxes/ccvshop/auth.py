"""CCV Shop request signing, error bodies and rate limits, as the sandbox enforces them.

Signing [V] (ccvshop-api ``BaseEndpoint``, CCV's python-example-code): headers ``x-public``, ``x-date``,
``x-hash`` = hex HMAC-SHA512(secret, public|METHOD|uri|body|x-date), uri = path with ``/api/rest/v1`` and the
query string as sent, body = the exact bytes ('' without a body). Responses carry their own ``x-date`` and
``x-hash`` over public|METHOD|uri|response body|response x-date.

Error body [V]: ``{"code": "<status>.<nn>", "status": n, "developermessage": "..."}``. Codes taken from the
SDK's ExceptionFactory: 404.20 (unknown resource), 405.10 (method not allowed), 429.10 (per resource+method
per minute), 429.11 (shop total per minute). Codes the SDK does not list, chosen in the same pattern [I]:
401.10 missing header or unknown public key, 401.11 x-hash mismatch, 401.12 x-date unreadable or more than
15 minutes off, 400.10 invalid input, 404.10 no such record, 503.10 maintenance/outage.

Rate limits [V]: orders GET 150/min, orders POST/PATCH 100/min (generated client doc-comments). Other
resources get the same defaults, and the shop-wide total (not published) defaults to 600/min [I]. The window
is the calendar minute [I]; Retry-After says how many seconds remain in it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_SKEW = timedelta(minutes=15)

AUTH_MISSING = "401.10"
AUTH_HASH = "401.11"
AUTH_DATE = "401.12"
BAD_INPUT = "400.10"
NOT_FOUND = "404.10"
UNKNOWN_RESOURCE = "404.20"
METHOD_NOT_ALLOWED = "405.10"
LIMIT_RESOURCE = "429.10"
LIMIT_TOTAL = "429.11"
UNAVAILABLE = "503.10"


class CcvError(Exception):
    """An error CCV answers with its own JSON body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status, "developermessage": self.message}


def sign(secret: str, public: str, method: str, uri: str, body: bytes, x_date: str) -> str:
    message = b"|".join([public.encode(), method.encode(), uri.encode(), body, x_date.encode()])
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def parse_x_date(text: str) -> datetime:
    """Accepts ``...Z`` (python example), ``+00:00`` (PHP SDK, Carbon 'c') and ``+0000`` (PHP ISO8601)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise CcvError(401, AUTH_DATE, f"x-date '{text}' is not an ISO-8601 timestamp") from error
    if moment.tzinfo is None:
        raise CcvError(401, AUTH_DATE, f"x-date '{text}' has no timezone; send UTC")
    return moment


def check_request(
    *,
    headers: dict[str, str],
    secrets: dict[str, str],
    method: str,
    uri: str,
    body: bytes,
    now: datetime,
    max_skew: timedelta = MAX_SKEW,
) -> str:
    """Verify one signed request and return its public key, or raise the 401 CCV would answer."""
    missing = [name for name in ("x-public", "x-date", "x-hash") if not headers.get(name)]
    if missing:
        raise CcvError(401, AUTH_MISSING, f"Missing authentication header(s): {', '.join(missing)}")
    public = headers["x-public"]
    secret = secrets.get(public)
    if secret is None:
        raise CcvError(401, AUTH_MISSING, "Unknown x-public key")
    moment = parse_x_date(headers["x-date"])
    if abs(now - moment) > max_skew:
        raise CcvError(401, AUTH_DATE, f"x-date differs more than {max_skew} from the server time")
    expected = sign(secret, public, method, uri, body, headers["x-date"])
    if not hmac.compare_digest(expected, headers["x-hash"].strip().lower()):
        raise CcvError(401, AUTH_HASH, "x-hash does not match the request (public|method|uri|body|x-date)")
    return public


def response_date(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass
class RateLimits:
    """Requests per minute; ``per_resource`` keys look like ``"orders GET"`` and win over the defaults."""

    get_per_minute: int = 150
    write_per_minute: int = 100
    total_per_minute: int = 600
    per_resource: dict[str, int] = field(default_factory=dict)

    def limit_for(self, resource: str, method: str) -> int:
        default = self.get_per_minute if method in ("GET", "HEAD") else self.write_per_minute
        return self.per_resource.get(f"{resource} {method}", default)

    def update(self, settings: dict[str, Any]) -> None:
        for key, value in settings.items():
            if key == "per_resource":
                self.per_resource.update({str(k): int(v) for k, v in value.items()})
            elif key in ("get_per_minute", "write_per_minute", "total_per_minute"):
                setattr(self, key, int(value))
            else:
                raise ValueError(f"unknown rate limit setting {key!r}")


class RateLimiter:
    """Fixed one-minute windows per shop: one counter per resource+method and one for the shop total."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def admit(self, public: str, resource: str, method: str, now: datetime) -> None:
        minute = int(now.timestamp() // 60)
        retry_after = str(max(1, math.ceil((minute + 1) * 60 - now.timestamp())))
        own_key = (public, f"{resource} {method}", minute)
        total_key = (public, "*", minute)
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[2] >= minute}
            if self._counts.get(own_key, 0) >= self.limits.limit_for(resource, method):
                raise CcvError(
                    429,
                    LIMIT_RESOURCE,
                    "Each method in each resource has a limit of requests that can be made per minute. "
                    "Please lower the frequency of your request rate.",
                    {"Retry-After": retry_after},
                )
            if self._counts.get(total_key, 0) >= self.limits.total_per_minute:
                raise CcvError(
                    429,
                    LIMIT_TOTAL,
                    "The API has a total limit of requests that can be made per minute. "
                    "Please lower the frequency of your request rate.",
                    {"Retry-After": retry_after},
                )
            self._counts[own_key] = self._counts.get(own_key, 0) + 1
            self._counts[total_key] = self._counts.get(total_key, 0) + 1
