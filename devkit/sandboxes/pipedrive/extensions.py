"""App extensions: the request Pipedrive sends to an app's panel or action URL, so tests can play Pipedrive.

Verified [V]:
- A JSON panel / custom panel URL is called with query parameters ``resource``, ``view``, ``userId``,
  ``companyId``, ``selectedIds``, ``isShared`` and ``token``, e.g.
  ``?resource=deal&view=details&userId=…&companyId=…&selectedIds=5351&isShared=false&token=eyJ…``
  (a developer's recorded request, confirmed by Pipedrive staff,
  https://devcommunity.pipedrive.com/t/json-panel-app-extension-whats-the-use-of-the-token-parameter-in-the-api-endpoint-call/7347).
- ``token`` is a JWT signed with the extension's JWT secret, or with the app's client secret when no JWT
  secret is set; it tells which user and company load the extension: verify it and read ``userId`` and
  ``companyId`` (staff answers, same thread and
  https://devcommunity.pipedrive.com/t/jwt-secret-in-json-panel/7668, whose example verifies HS256).
- Custom UI extensions also get an ``id`` query parameter for the SDK
  (https://www.npmjs.com/package/@pipedrive/app-extensions-sdk); link actions open the app's URL with the
  same kind of parameters (https://pipedrive.readme.io/docs/app-extensions-actions).
Assumed [I]: the claims beyond userId/companyId (``iat``, ``exp`` five minutes later), the claim values
being numbers, ``selectedIds`` as a comma-separated list for several items, ``view`` ``details`` or
``list``, and the JSON panel call also carrying Basic auth when the app set HTTP auth credentials.

PyJWT is not installed in this repository's venv, so HS256 is written here with hmac/hashlib/base64 (a
dozen lines, the RFC 7515 compact form), rather than adding a dependency for a test helper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

TOKEN_LIFETIME = timedelta(minutes=5)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def verify_hs256(token: str, secret: str, now: datetime | None = None) -> dict[str, Any]:
    """The claims of a valid, unexpired HS256 token; raises ValueError otherwise (for tests and examples)."""
    try:
        header, body, signature = token.split(".")
    except ValueError as error:
        raise ValueError("not a compact JWT") from error
    if json.loads(_unb64(header)).get("alg") != "HS256":
        raise ValueError("not HS256")
    expected = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(signature)):
        raise ValueError("bad signature")
    claims: dict[str, Any] = json.loads(_unb64(body))
    moment = (now or datetime.now(UTC)).timestamp()
    if "exp" in claims and moment >= claims["exp"]:
        raise ValueError("token expired")
    return claims


@dataclass(frozen=True)
class ExtensionRequest:
    """A GET Pipedrive's browser or server makes to the app: URL, its query and (panels) Basic auth."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]

    @property
    def full_url(self) -> str:
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode(self.params)}"


def extension_request(
    app_url: str,
    *,
    user_id: int,
    company_id: int,
    secret: str,
    selected_ids: list[int],
    resource: str = "deal",
    view: str = "details",
    is_shared: bool = False,
    custom_ui: bool = False,
    http_auth: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> ExtensionRequest:
    moment = now or datetime.now(UTC)
    claims = {
        "userId": user_id,
        "companyId": company_id,
        "iat": int(moment.timestamp()),
        "exp": int((moment + TOKEN_LIFETIME).timestamp()),
    }
    params = {
        "resource": resource,
        "view": view,
        "userId": str(user_id),
        "companyId": str(company_id),
        "selectedIds": ",".join(str(i) for i in selected_ids),
        "isShared": "true" if is_shared else "false",
        "token": sign_hs256(claims, secret),
    }
    if custom_ui:
        params["id"] = str(uuid.uuid4())
    headers = {}
    if http_auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{http_auth[0]}:{http_auth[1]}".encode()).decode()
    return ExtensionRequest(app_url, params, headers)
