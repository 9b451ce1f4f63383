"""e-Boekhouden's front door: API tokens, sessions and the (unpublished) per-administration rate limit.

``POST /v1/session {"accessToken", "source"}`` answers ``{"token", "expiresIn"}``; every other call sends
``Authorization: <token>`` raw, as the public clients do (Mantix, matisup10 ``services/base.py``).
Refusals, in order: API_SESSION_001 source missing, 002 source not ``^[\\w ]{1,10}$`` (a public Go client:
"pp-cli" is rejected with API_SESSION_002, "confirmed against the live API"), 003 access token missing,
004 access token unknown (401, title "Login failed": a public client branches on that title and on 004).
[I]: ``expiresIn`` 3600; a missing, expired or ended session answers 401 ``API_SESSION_901`` (the sandbox's
code); a ``Bearer `` prefix is refused unless ``accept_bearer`` (one public client sends it, none shows it
working); the rate limit (429 ``API_RATE_901`` with Retry-After) is off until a test sets one.
Not thread-safe on its own: the sandbox calls it under its lock.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from devkit.sandboxes.eboekhouden.wire import ApiError, invalid
from devkit.sandboxes.kit.ratelimit import TenantLimits

SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9_ ]{1,10}$")


@dataclass
class Sessions:
    access_tokens: dict[str, str] = field(default_factory=dict)  # API token -> administration id
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # session token -> (administration, expiry)
    limits: TenantLimits = field(default_factory=TenantLimits)  # per administration id

    def add_access_token(self, admin_id: str) -> str:
        token = secrets.token_hex(24).upper()
        self.access_tokens[token] = admin_id
        return token

    def start(self, body: Any, now: float, ttl: int) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        source, access_token = body.get("source"), body.get("accessToken")
        if not source:
            raise invalid("API_SESSION_001", "Source is missing")
        if not isinstance(source, str) or not SOURCE_PATTERN.fullmatch(source):
            raise invalid("API_SESSION_002", "Source is invalid: use 1 to 10 letters, digits, underscores or spaces")
        if not access_token:
            raise invalid("API_SESSION_003", "Access token is missing")
        admin_id = self.access_tokens.get(str(access_token))
        if admin_id is None:
            raise ApiError(401, "API_SESSION_004", "Access token is invalid or expired", "Login failed")
        self.throttle(admin_id, now)
        return {"token": self.issue(admin_id, now, ttl), "expiresIn": ttl}

    def issue(self, admin_id: str, now: float, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (admin_id, now + ttl)
        return token

    def end(self, authorization: str | None, now: float, accept_bearer: bool) -> None:
        self.admit(authorization, now, accept_bearer)
        self.tokens.pop(self._token(authorization, accept_bearer), None)

    def admit(self, authorization: str | None, now: float, accept_bearer: bool) -> str:
        """The administration a session token opens (after its rate limit), or a 401/429 refusal."""
        admin_id, expires = self.tokens.get(self._token(authorization, accept_bearer), ("", 0.0))
        if not admin_id or expires <= now:
            raise ApiError(401, "API_SESSION_901", "Session token is missing, expired or ended")
        self.throttle(admin_id, now)
        return admin_id

    def throttle(self, admin_id: str, now: float) -> None:
        wait = self.limits.admit(admin_id, now)
        if wait:
            raise throttled(wait)

    @staticmethod
    def _token(authorization: str | None, accept_bearer: bool) -> str:
        token = (authorization or "").strip()
        if accept_bearer and token[:7].lower() == "bearer ":
            return token[7:].strip()
        return token


def throttled(seconds: int) -> ApiError:
    return ApiError(
        429, "API_RATE_901", f"Too many requests, retry in {seconds} seconds", headers={"Retry-After": str(seconds)}
    )
