"""Intuit's OAuth 2.0 for the sandbox: the consent page, the token endpoint, rotating refresh tokens, revoke.

- ``GET /connect/oauth2`` (appcenter.intuit.com) stands for the consent screen: it redirects (302) at once to
  ``redirect_uri`` with ``code``, ``state`` and ``realmId``, or with ``error=...`` as OAuth 2.0 prescribes.
  The company is the one named by a ``realmId`` parameter (the sandbox's own, standing for the user's choice
  on the consent screen), else the first one added.
- ``POST /oauth2/v1/tokens/bearer`` (oauth.platform.intuit.com), client id and secret by HTTP Basic (or in
  the form), ``grant_type=authorization_code`` or ``refresh_token``; answers the documented token body
  (``token_type``, ``expires_in`` 3600, ``refresh_token``, ``x_refresh_token_expires_in``, ``access_token``).
  Refusals answer ``{"error", "error_description"}`` with 400 (``invalid_grant``) or 401 (``invalid_client``).
- ``POST /v2/oauth2/tokens/revoke`` (developer.api.intuit.com) with ``{"token": ...}`` disconnects the grant.

Rotation: every refresh issues a new refresh token. What happens to the previous one is not settled by
anything we could read [I]: Intuit's FAQ says to always keep the latest one and that the value changes
(roughly daily); third-party write-ups say the old one fails with ``invalid_grant`` from the next use on.
The sandbox answers ``invalid_grant`` for a superseded token after ``refresh_grace`` seconds (default 0,
the strict reading); set a grace to model the lenient one. ``uses`` counts every presentation of a refresh
token, refused ones included, so a test can prove one was never used twice.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from devkit.sandboxes.quickbooks.wire import answer

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

SCOPE = "com.intuit.quickbooks.accounting"
CODE_TTL = 600.0  # [I] Intuit does not publish the life of an authorization code


@dataclass
class RefreshToken:
    token: str
    realm: str
    client_id: str
    expires: float
    superseded_at: float | None = None
    revoked: bool = False
    uses: int = 0


def _oauth_error(status: int, error: str, description: str) -> Response:
    return answer({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


def _access_token() -> str:
    """Opaque to clients; shaped like Intuit's (a compact JWE with a ``dir`` key, five parts)."""
    header = base64.urlsafe_b64encode(b'{"enc":"A128CBC-HS256","alg":"dir"}').decode().rstrip("=")
    return f"{header}..{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(96)}.{secrets.token_urlsafe(16)}"


class OAuth:
    """Clients, codes and tokens; not thread-safe on its own (the sandbox calls it under its lock)."""

    def __init__(self, access_ttl: int = 3600, refresh_ttl: int = 8_640_000, refresh_grace: float = 0.0) -> None:
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl  # 100 days, rolling: every refresh starts it again
        self.refresh_grace = refresh_grace
        self.clients: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.codes: dict[str, tuple[str, str, str, float]] = {}  # code -> client, realm, redirect_uri, expires
        self.access: dict[str, tuple[str, str, float]] = {}  # token -> realm, client, expires
        self.refresh: dict[str, RefreshToken] = {}

    def add_client(self, client_id: str, secret: str, redirect_uris: tuple[str, ...] = ()) -> None:
        """An app as registered in the developer portal; no redirect URIs means any is accepted."""
        self.clients[client_id] = (secret, redirect_uris)

    # -- consent page --------------------------------------------------------------------------------------------
    def authorize(self, request: Request, realm: str | None, now: float) -> Response:
        args = request.args
        client = self.clients.get(args.get("client_id", ""))
        redirect_uri = args.get("redirect_uri", "")
        if client is None or (client[1] and redirect_uri not in client[1]) or not redirect_uri:
            # Intuit shows an error page of its own and does not redirect to an unregistered URI
            return Response("<html><body><h1>Invalid request</h1></body></html>", 400, content_type="text/html")
        state = args.get("state", "")
        if args.get("response_type") != "code":
            return self._back(redirect_uri, {"error": "unsupported_response_type", "state": state})
        if SCOPE not in args.get("scope", "").split():
            return self._back(redirect_uri, {"error": "invalid_scope", "state": state})
        if realm is None:
            return self._back(redirect_uri, {"error": "access_denied", "state": state})
        code = "AB11" + secrets.token_urlsafe(36)
        self.codes[code] = (args["client_id"], realm, redirect_uri, now + CODE_TTL)
        return self._back(redirect_uri, {"code": code, "state": state, "realmId": realm})

    @staticmethod
    def _back(redirect_uri: str, params: dict[str, str]) -> Response:
        separator = "&" if "?" in redirect_uri else "?"
        return Response("", 302, headers={"Location": f"{redirect_uri}{separator}{urlencode(params)}"})

    # -- token endpoint ------------------------------------------------------------------------------------------
    def _client(self, request: Request) -> str | None:
        auth = request.authorization
        client_id, secret = (auth.username, auth.password) if auth and auth.type == "basic" else (None, None)
        client_id = client_id or request.form.get("client_id")
        secret = secret or request.form.get("client_secret")
        known = self.clients.get(client_id or "")
        return client_id if known and secrets.compare_digest(known[0], secret or "") else None

    def token_request(self, request: Request, now: float) -> Response:
        if request.method != "POST":
            return _oauth_error(405, "invalid_request", "Method not allowed")
        client_id = self._client(request)
        if client_id is None:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            return self._code_grant(request, client_id, now)
        if grant_type == "refresh_token":
            return self._refresh_grant(request.form.get("refresh_token", ""), client_id, now)
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type {grant_type!r}")

    def _code_grant(self, request: Request, client_id: str, now: float) -> Response:
        found = self.codes.pop(request.form.get("code", ""), None)  # a code is good for one exchange
        if found is None or found[0] != client_id or found[3] <= now:
            return _oauth_error(400, "invalid_grant", "Authorization code is invalid, expired or already used")
        if request.form.get("redirect_uri") != found[2]:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        return answer(self.issue(found[1], client_id, now), headers={"Cache-Control": "no-store"})

    def _refresh_grant(self, token: str, client_id: str, now: float) -> Response:
        grant = self.refresh.get(token)
        if grant is not None:
            grant.uses += 1
        if grant is None or grant.client_id != client_id or grant.revoked or grant.expires <= now:
            return _oauth_error(400, "invalid_grant", "Incorrect or invalid refresh token")
        if grant.superseded_at is not None and now >= grant.superseded_at + self.refresh_grace:
            return _oauth_error(400, "invalid_grant", "Incorrect or invalid refresh token")
        if grant.superseded_at is None:
            grant.superseded_at = now
        return answer(self.issue(grant.realm, client_id, now), headers={"Cache-Control": "no-store"})

    def issue(self, realm: str, client_id: str, now: float) -> dict[str, Any]:
        access = _access_token()
        self.access[access] = (realm, client_id, now + self.access_ttl)
        refresh = f"AB11{int(now + self.refresh_ttl)}{secrets.token_urlsafe(24)}"
        self.refresh[refresh] = RefreshToken(refresh, realm, client_id, now + self.refresh_ttl)
        return {
            "token_type": "bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": self.refresh_ttl,
            "access_token": access,
        }

    # -- revoke and bearer checks --------------------------------------------------------------------------------
    def revoke_request(self, request: Request) -> Response:
        client_id = self._client(request)
        if client_id is None:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        body = request.get_json(silent=True) or {}
        token = str(body.get("token") or request.form.get("token") or "")
        realm = self.refresh[token].realm if token in self.refresh else self.access.get(token, ("",))[0]
        if not realm:
            return _oauth_error(400, "invalid_request", "Token is not valid")
        self.disconnect(realm, client_id)
        return answer({"statuscode": "200"})

    def disconnect(self, realm: str, client_id: str | None = None) -> None:
        """Revoke every token of the app for the company (what revoke and 'disconnect' in QuickBooks do)."""
        for grant in self.refresh.values():
            if grant.realm == realm and client_id in (None, grant.client_id):
                grant.revoked = True
        for token, (token_realm, token_client, _) in list(self.access.items()):
            if token_realm == realm and client_id in (None, token_client):
                del self.access[token]

    def bearer(self, request: Request, now: float) -> tuple[str, str] | None:
        """``(realm, client_id)`` of a valid, unexpired bearer token; None for a missing, unknown or expired one."""
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = self.access.get(token.strip())
        if found is None or found[2] <= now:
            return None
        return found[0], found[1]

    def uses(self, refresh_token: str) -> int:
        grant = self.refresh.get(refresh_token)
        return grant.uses if grant else 0
