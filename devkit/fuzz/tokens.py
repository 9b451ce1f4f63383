"""Forged and tampered Cognito ID tokens for the console's doors: what API Gateway's JWT authorizer must refuse.

Two keys sign here. A key of our own (made fresh each run, never moto's) stands for an attacker who mints a token
with the right claims. moto's own signing key (shipped in moto's package: every pool moto makes signs with it)
stands for a key the authorizer trusts, so a token signed with it is refused for its claims alone: expired, ``nbf``
ahead, another pool's issuer, another app client's audience. Without it, those would only test the signature again.
"""

from __future__ import annotations

import base64
import gzip
import json
from functools import cache
from importlib import resources
from typing import Any

from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The header, the claims and the signature (as it is) of a genuine token."""
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def claims_of(token: str) -> dict[str, Any]:
    return parts(token)[1]


def assembled(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), signature))


def with_claims(token: str, **changes: Any) -> str:
    """The token with claims changed (``None`` drops one) and its genuine signature kept."""
    header, claims, signature = parts(token)
    claims = {k: v for k, v in (claims | changes).items() if v is not None}
    return assembled(header, claims, signature)


def alg_none(token: str, alg: str = "none", signature: str = "") -> str:
    header, claims, _ = parts(token)
    return assembled(header | {"alg": alg}, claims, signature)


def hs256(token: str, secret: bytes) -> str:
    """Re-signed HMAC-SHA256 with ``secret`` (the issuer's public JWKS: the old algorithm-confusion attack)."""
    header, claims, _ = parts(token)
    return jwt.encode(header | {"alg": "HS256"}, claims, OctKey.import_key(secret), algorithms=["HS256"])


@cache
def own_key() -> RSAKey:
    """An RSA key of our own, never moto's: a token it signs is a forgery whatever it claims."""
    return RSAKey.generate_key(2048)


@cache
def moto_key() -> RSAKey:
    """moto's Cognito signing key, as its package ships it (every pool moto makes signs with it)."""
    packed = resources.files("moto.cognitoidp").joinpath("resources", "jwks-private.json.gz").read_bytes()
    return RSAKey.import_key(json.loads(gzip.decompress(packed)))


def signed(claims: dict[str, Any], key: RSAKey, kid: str) -> str:
    return jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key, algorithms=["RS256"])
