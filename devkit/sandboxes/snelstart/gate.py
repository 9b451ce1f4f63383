"""SnelStart's front door: koppelsleutels and bearer tokens (auth.snelstart.nl) and Azure API Management's checks.

APIM answers its own refusals as ``{"statusCode": N, "message": "..."}`` with Azure's standard texts
(missing/invalid subscription key, 429 "Rate limit is exceeded. Try again in N seconds." with Retry-After).
The token endpoint answers OAuth's ``{"error": "invalid_grant" | "unsupported_grant_type"}``.
[I]: a bad or expired bearer token gets APIM validate-jwt's default text; tokens are JWT-shaped (claims
readable, signature opaque) and stay valid until they expire even when their koppelsleutel is retired;
koppelsleutels are long base64 strings with ``+``, ``/`` and ``=``, so a client must form-encode them.
Not thread-safe on its own: the sandbox calls it under its lock.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit.ratelimit import TenantLimits
from devkit.sandboxes.snelstart.schema import dumps

if TYPE_CHECKING:
    from collections.abc import Mapping

    from werkzeug.wrappers import Request

SCOPES = (
    "artikelen:read",
    "artikelen:write",
    "boekhouden:read",
    "boekhouden:write",
    "orders:read",
    "orders:write",
    "relaties:read",
    "relaties:write",
    "settings:read",
)
MISSING_KEY = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)
INVALID_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)
BAD_TOKEN = "Unauthorized. Access token is missing or invalid."


def json_answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response whose Decimal amounts are numbers in their own digits."""
    return Response(dumps(body), status=status, content_type="application/json; charset=utf-8", headers=headers)


def apim_answer(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_answer({"statusCode": status, "message": message}, status, headers)


def throttled(seconds: int) -> Response:
    return apim_answer(429, f"Rate limit is exceeded. Try again in {seconds} seconds.", {"Retry-After": str(seconds)})


def new_koppelsleutel() -> str:
    return base64.b64encode(os.urandom(96)).decode()


@dataclass
class Gate:
    keys: dict[str, str] = field(default_factory=dict)  # koppelsleutel -> administratie id
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (administratie id, expires at)
    limits: TenantLimits = field(default_factory=TenantLimits)  # per administratie id
    history: dict[str, str] = field(default_factory=dict)  # every key ever issued, retired ones included

    def add_key(self, admin_id: str, key: str | None = None) -> str:
        key = key or new_koppelsleutel()
        self.keys[key] = self.history[key] = admin_id
        return key

    def retire_key(self, key: str) -> None:
        self.keys.pop(key, None)

    def keys_by_admin(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for key, admin_id in self.keys.items():
            grouped.setdefault(admin_id, []).append(key)
        return grouped

    def issue(self, admin_id: str, now: float, ttl: int) -> str:
        claims = {
            "iss": "https://auth.snelstart.nl",
            "administratie": admin_id,
            "scopes": list(SCOPES),
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": secrets.token_hex(8),
        }

        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        token = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(32)}"
        self.tokens[token] = (admin_id, now + ttl)
        return token

    def token_request(self, request: Request, now: float, ttl: int) -> Response:
        """``POST /b2b/token`` with ``grant_type=clientkey&clientkey=<koppelsleutel>``, form-encoded."""
        if request.method != "POST":
            return apim_answer(404, "Resource not found")
        if request.form.get("grant_type") != "clientkey":
            return json_answer({"error": "unsupported_grant_type"}, 400)
        admin_id = self.keys.get(request.form.get("clientkey", ""))
        if admin_id is None:
            return json_answer({"error": "invalid_grant"}, 400)
        return json_answer(
            {"access_token": self.issue(admin_id, now, ttl), "token_type": "bearer", "expires_in": ttl},
            headers={"Cache-Control": "no-cache", "Pragma": "no-cache"},
        )

    def admit(self, request: Request, now: float, subscription_key: str) -> Response | str:
        """APIM's order: subscription key, then the bearer token, then the administratie's rate limit.

        Returns the administratie id the token opens, or the refusal to send.
        """
        key = request.headers.get("Ocp-Apim-Subscription-Key") or request.args.get("subscription-key")
        if not key:
            return apim_answer(401, MISSING_KEY)
        if key != subscription_key:
            return apim_answer(401, INVALID_KEY)
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        admin_id, expires = self.tokens.get(token.strip(), ("", 0.0)) if scheme.lower() == "bearer" else ("", 0.0)
        if not admin_id or expires <= now:
            return apim_answer(401, BAD_TOKEN, {"WWW-Authenticate": "Bearer"})
        wait = self.limits.admit(admin_id, now)
        return throttled(wait) if wait else admin_id
