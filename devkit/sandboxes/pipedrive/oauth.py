"""Pipedrive's OAuth 2.0 server (``https://oauth.pipedrive.com``) and the personal API tokens.

Verified [V] (https://pipedrive.readme.io/docs/marketplace-oauth-authorization,
https://developers.pipedrive.com/docs/api/v1/Oauth,
https://pipedrive.readme.io/docs/marketplace-oauth-and-api-proxy-status-codes):
- ``GET /oauth/authorize?client_id&redirect_uri&state`` → the user approves → redirect to redirect_uri with
  ``code`` and ``state``. The sandbox approves at once (302) for tests.
- ``POST /oauth/token`` with ``Authorization: Basic base64(client_id:client_secret)``, body
  ``application/x-www-form-urlencoded`` (else 400 "Invalid request: content must be
  application/x-www-form-urlencoded"); grants ``authorization_code`` (``code``, ``redirect_uri``) and
  ``refresh_token``. Answer: ``access_token, token_type "Bearer", expires_in 3600, refresh_token, scope``
  and ``api_domain`` (the company's own host, the base for API calls).
- An authorization code lives 5 minutes and is exchanged once ("authorization_code is invalid" /
  "authorization_code has expired"); "Invalid grant: refresh_token is invalid" means the refresh token "is
  not valid for provided client credentials or it was already exchanged" — the words that make us model
  rotating refresh tokens. Missing/invalid client credentials: "Invalid client: …".
Assumed [I]: the JSON error body ``{"success": false, "message": "<the documented sentence>", "error":
"invalid_grant" | "invalid_client" | "invalid_request" | "unsupported_grant_type"}`` and 401 for a bad
client; a refresh token expires after 60 days unused (third-party API catalogue); after rotation the old
refresh token is dead at once (``refresh_grace_seconds = 0``); a grace can be set to model a vendor that
tolerates a retry of a refresh whose answer was lost. Every presentation of a refresh token is counted
(``uses``) so a test can prove none was used twice.
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

ACCESS_LIFETIME = timedelta(seconds=3600)
CODE_LIFETIME = timedelta(minutes=5)
REFRESH_IDLE_LIFETIME = timedelta(days=60)


class OAuthError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"success": False, "message": message, "error": error}


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "base,deals:full,contacts:read,products:read,admin"
    jwt_secret: str | None = None  # app extensions sign with this, else with the client secret [V]


@dataclass
class Grant:
    """What a token stands for: one user of one company, through one client (or a personal API token)."""

    company_id: int
    user_id: int
    client_id: str | None = None
    scope: str = ""
    expires_at: datetime | None = None


@dataclass
class RefreshToken:
    grant: Grant
    last_used: datetime
    replaced_at: datetime | None = None
    successor: str | None = None


@dataclass
class TokenBook:
    """API tokens, OAuth clients, codes, access and refresh tokens; with counters for tests."""

    refresh_grace_seconds: float = 0.0
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    api_tokens: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, tuple[Grant, str, datetime]] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear_sessions(self) -> None:
        with self.lock:
            self.codes.clear()
            self.access.clear()
            self.refresh.clear()
            self.uses.clear()

    # -- authorize ------------------------------------------------------------------------------------------
    def authorize(self, args: dict[str, str], grant: Grant, now: datetime) -> str:
        """The Location the authorize page redirects to (the user approves at once)."""
        client = self.clients.get(args.get("client_id", ""))
        if client is None:
            raise OAuthError(400, "invalid_client", "Invalid client: client is invalid")
        if args.get("redirect_uri") != client.redirect_uri:
            raise OAuthError(400, "invalid_request", "Invalid request: redirect_uri is invalid")
        code = secrets.token_hex(16)
        grant.client_id, grant.scope = client.client_id, client.scope
        with self.lock:
            self.codes[code] = (grant, client.redirect_uri, now + CODE_LIFETIME)
        query = {"code": code} | ({"state": args["state"]} if "state" in args else {})
        return f"{client.redirect_uri}{'&' if '?' in client.redirect_uri else '?'}{urlencode(query)}"

    # -- token ----------------------------------------------------------------------------------------------
    def token(
        self, authorization: str, content_type: str, form: dict[str, str], now: datetime
    ) -> tuple[Grant, dict[str, Any]]:
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise OAuthError(
                400, "invalid_request", "Invalid request: content must be application/x-www-form-urlencoded"
            )
        client = self._client(authorization)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing parameter: grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                grant = self._exchange_code(client, form, now)
                return grant, self._issue(grant, now)
            if grant_type == "refresh_token":
                old = self._rotate(client, form.get("refresh_token", ""), now)
                answer = self._issue(old.grant, now)
                old.successor = answer["refresh_token"]
                return old.grant, answer
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type: grant_type is invalid")

    def _client(self, authorization: str) -> OAuthClient:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise OAuthError(401, "invalid_client", "Invalid client: cannot retrieve client credentials")
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError as error:
            raise OAuthError(401, "invalid_client", "Invalid client: cannot retrieve client credentials") from error
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            raise OAuthError(401, "invalid_client", "Invalid client: client is invalid")
        return client

    def _exchange_code(self, client: OAuthClient, form: dict[str, str], now: datetime) -> Grant:
        entry = self.codes.pop(form.get("code", ""), None)
        if entry is None or entry[0].client_id != client.client_id:
            raise OAuthError(400, "invalid_grant", "Invalid grant: authorization_code is invalid")
        grant, redirect_uri, expires_at = entry
        if now > expires_at:
            raise OAuthError(400, "invalid_grant", "Invalid grant: authorization_code has expired")
        if form.get("redirect_uri") != redirect_uri:
            raise OAuthError(400, "invalid_request", "Invalid request: redirect_uri is invalid")
        return grant

    def _rotate(self, client: OAuthClient, token: str, now: datetime) -> RefreshToken:
        self.uses[token] = self.uses.get(token, 0) + 1
        entry = self.refresh.get(token)
        invalid = OAuthError(400, "invalid_grant", "Invalid grant: refresh_token is invalid")
        if entry is None or entry.grant.client_id != client.client_id:
            raise invalid
        if now - entry.last_used > REFRESH_IDLE_LIFETIME:
            raise invalid
        if entry.replaced_at is not None:
            if (now - entry.replaced_at).total_seconds() > self.refresh_grace_seconds:
                raise invalid
            self.refresh.pop(entry.successor or "", None)  # a retry within the grace replaces the successor
        entry.replaced_at = entry.replaced_at or now
        entry.last_used = now
        return entry

    def _issue(self, grant: Grant, now: datetime) -> dict[str, Any]:
        access, refresh = secrets.token_hex(24), secrets.token_hex(24)
        issued = Grant(grant.company_id, grant.user_id, grant.client_id, grant.scope, now + ACCESS_LIFETIME)
        self.access[access] = issued
        self.refresh[refresh] = RefreshToken(grant, now)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(ACCESS_LIFETIME.total_seconds()),
            "refresh_token": refresh,
            "scope": grant.scope,
        }

    # -- API requests ---------------------------------------------------------------------------------------
    def identify(self, headers: Any, args: Any, now: datetime) -> tuple[Grant, str] | None:
        """The grant behind a request and how it came (``api_token`` or ``oauth``); None when refused."""
        token = headers.get("x-api-token") or args.get("api_token")
        if token:
            grant = self.api_tokens.get(token)
            return (grant, "api_token") if grant else None
        scheme, _, bearer = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer:
            grant = self.access.get(bearer)
            if grant and grant.expires_at and now < grant.expires_at:
                return grant, "oauth"
        return None
