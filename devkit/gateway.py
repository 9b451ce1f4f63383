"""What API Gateway (HTTP API) does before it invokes a function: choose the route and run its JWT authorizer.

The authorizers and which route each guards are read from the template (an event's ``Auth.Authorizer``, else its
API's ``DefaultAuthorizer``; ``NONE``: open); devkit.stack resolves their issuer and audience in moto.

Route selection follows https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html:
the most specific path wins (a literal segment before a ``{param}`` at the first place they differ, a greedy
``{proxy+}`` after both), then a route of the request's method before ``ANY``; ``$default`` takes what is left.

The JWT authorizer follows https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html:
the token from the identity source (``Bearer `` prefix or not), RS256 only, a ``kid`` the issuer's JWKS knows and
a signature that key checks, ``iss`` the configured issuer, ``aud`` (or, without ``aud``, ``client_id``) one of the
audience, ``exp`` after now, ``nbf`` and ``iat`` not after now, and one of the route's scopes if it demands any.
A Cognito issuer's JWKS is read from moto (``<endpoint>/<pool id>/.well-known/jwks.json``) and kept, as API Gateway
keeps it. A refusal is 401 ``{"message":"Unauthorized"}`` with the ``www-authenticate`` header API Gateway sends
(the wording of each ``error_description`` is ours except the audience one, which AWS documents).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from devkit.stack import LocalFunction

_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/(?P<pool>[^/]+)$")
_DEFAULT_ROUTE = "$default"


# ---------------------------------------------------------------------------------- the template's authorizers
@dataclass(frozen=True)
class JwtAuthorizer:
    """A JWT authorizer of the HTTP API (Auth.Authorizers), its expressions resolved."""

    name: str
    identity_source: str
    """E.g. ``$request.header.Authorization``."""
    issuer: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class RouteAuth:
    """Which authorizer guards a route, and the scopes it demands (AuthorizationScopes; none: any token)."""

    authorizer: str
    scopes: tuple[str, ...] = ()


def http_api_authorizers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every HTTP API's authorizers (Auth.Authorizers) by name, as written in the template."""
    found: dict[str, dict[str, Any]] = {}
    for res in template["Resources"].values():
        if res["Type"] != "AWS::Serverless::HttpApi":
            continue
        for name, config in res.get("Properties", {}).get("Auth", {}).get("Authorizers", {}).items():
            if name in found:
                raise ValueError(f"two HTTP APIs name an authorizer {name}: the local gateway tells them apart by name")
            found[name] = config
    return found


def route_auth(template: dict[str, Any], event: dict[str, Any]) -> RouteAuth | None:
    """The JWT authorizer that guards an HttpApi event's route: its own Auth.Authorizer, else its API's
    DefaultAuthorizer; ``NONE`` or neither: the route is open."""
    props = event["Properties"]
    api = props.get("ApiId", {}).get("Ref") if isinstance(props.get("ApiId"), dict) else None
    api_auth = template["Resources"][api]["Properties"].get("Auth", {}) if api else {}
    name = props.get("Auth", {}).get("Authorizer", api_auth.get("DefaultAuthorizer", "NONE"))
    if name == "NONE":
        return None
    config = api_auth.get("Authorizers", {}).get(name)
    if config is None or "JwtConfiguration" not in config:
        raise ValueError(
            f"{props['Method']} {props['Path']}: {name} is no JWT authorizer of its API (all the local gateway plays)"
        )
    return RouteAuth(authorizer=name, scopes=tuple(props.get("Auth", {}).get("AuthorizationScopes", ())))


def authorizer_expressions(template: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The JWT authorizers' issuer and audience expressions (``auth:<name>:issuer``, ``auth:<name>:audience:<i>``)."""
    for name, config in http_api_authorizers(template).items():
        jwt = config.get("JwtConfiguration", {})
        if isinstance(jwt.get("issuer"), dict):
            yield f"auth:{name}:issuer", jwt["issuer"]
        for index, audience in enumerate(jwt.get("audience", [])):
            if isinstance(audience, dict):
                yield f"auth:{name}:audience:{index}", audience


def jwt_authorizers(template: dict[str, Any], resolved: dict[str, str]) -> dict[str, JwtAuthorizer]:
    authorizers = {}
    for name, config in http_api_authorizers(template).items():
        if "JwtConfiguration" not in config:
            continue
        jwt = config["JwtConfiguration"]
        audience = [resolved.get(f"auth:{name}:audience:{i}", a) for i, a in enumerate(jwt.get("audience", []))]
        authorizers[name] = JwtAuthorizer(
            name=name,
            identity_source=config.get("IdentitySource", "$request.header.Authorization"),
            issuer=resolved.get(f"auth:{name}:issuer", jwt.get("issuer", "")),
            audience=tuple(audience),
        )
    return authorizers


# ------------------------------------------------------------------------------------------------ routes
@dataclass(frozen=True)
class Route:
    function: str
    route_key: str
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _match(pattern: str, path: str) -> dict[str, str] | None:
    """The path parameters if ``path`` matches the route's path (a trailing slash is forgiven), else None."""
    wanted, given = _segments(pattern), _segments(path)
    found: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith("+}"):  # greedy: one segment or more, to the end
            if index >= len(given):
                return None
            found[segment[1:-2]] = "/".join(given[index:])
            return found
        if index >= len(given):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            found[segment[1:-1]] = given[index]
        elif segment != given[index]:
            return None
    return found if len(wanted) == len(given) else None


def _specificity(route_key: str) -> tuple[Any, ...]:
    """Sort key: smaller is more specific (see the module docstring)."""
    method, _, pattern = route_key.partition(" ")
    if pattern == _DEFAULT_ROUTE:
        return (2, (), True)
    kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in _segments(pattern))
    return (1 if 2 in kinds else 0, kinds, method == "ANY")


def select_route(functions: Mapping[str, LocalFunction], method: str, path: str) -> Route | None:
    """The route API Gateway would choose for a request, or None (its 404)."""
    candidates: list[tuple[tuple[Any, ...], Route]] = []
    for logical_id, function in functions.items():
        for route_key in function.http_routes:
            route_method, _, pattern = route_key.partition(" ")
            if route_method not in (method, "ANY"):
                continue
            params = {} if pattern == _DEFAULT_ROUTE else _match(pattern, path)
            if params is not None:
                candidates.append((_specificity(route_key), Route(logical_id, route_key, params)))
    return min(candidates, key=lambda candidate: candidate[0])[1] if candidates else None


# -------------------------------------------------------------------------------------------- authorizers
class Unauthorized(Exception):
    """The authorizer refused the request; ``challenge`` is the www-authenticate header API Gateway sends."""

    def __init__(self, description: str = "") -> None:
        super().__init__(description or "no token")
        self.challenge = (
            f'Bearer scope="" error="invalid_token" error_description="{description}"' if description else "Bearer"
        )


def rendered_claim(value: Any) -> str:
    """A claim as API Gateway hands it to the function: text; a list as ``[a b]``, an object as ``map[k:v]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(rendered_claim(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{rendered_claim(v)}" for k, v in sorted(value.items())) + "]"
    return "" if value is None else str(value)


class JwtAuthorizers:
    """The API's JWT authorizers, with the issuers' key sets fetched once (per JWKS address)."""

    def __init__(self, endpoint_url: str, authorizers: Mapping[str, JwtAuthorizer]) -> None:
        self.endpoint_url = endpoint_url
        self.authorizers = dict(authorizers)
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def jwks_url(self, issuer: str) -> str:
        """Where an issuer's keys are: a Cognito pool's at moto, any other issuer's under its own address."""
        if cognito := _COGNITO_ISSUER.match(issuer):
            return f"{self.endpoint_url}/{cognito.group('pool')}/.well-known/jwks.json"
        return issuer.rstrip("/") + "/.well-known/jwks.json"

    def _key_set(self, issuer: str) -> KeySet:
        url = self.jwks_url(issuer)
        with self._lock:
            if url not in self._keys:
                answer = requests.get(url, timeout=10)
                answer.raise_for_status()
                self._keys[url] = KeySet.import_key_set(answer.json())
            return self._keys[url]

    def authorize(self, route: RouteAuth, headers: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
        """``requestContext.authorizer`` for a request the route's authorizer lets through; else Unauthorized."""
        authorizer = self.authorizers[route.authorizer]
        token = _identity(authorizer.identity_source, headers, query)
        claims = self._verified_claims(authorizer, token)
        scopes = _scopes(claims)
        if route.scopes and not set(route.scopes) & set(scopes):
            raise Unauthorized("the token does not have the required scopes")
        rendered = {name: rendered_claim(value) for name, value in claims.items()}
        return {"jwt": {"claims": rendered, "scopes": scopes if route.scopes else None}}

    def _verified_claims(self, authorizer: JwtAuthorizer, token: str) -> dict[str, Any]:
        header = _header(token)
        if header.get("alg") != "RS256":  # API Gateway takes RSA-signed tokens only; never "none"
            raise Unauthorized(f"signing method {header.get('alg')} is invalid")
        keys = self._key_set(authorizer.issuer)
        if not any(key.kid == header.get("kid") for key in keys.keys):
            raise Unauthorized("the token's key id is not known")
        try:
            claims: dict[str, Any] = dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)
        except (JoseError, ValueError) as error:
            raise Unauthorized("the token signature is invalid") from error
        _check_claims(authorizer, claims, time.time())
        return claims


def _identity(source: str, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The token from the identity source; a missing or empty one is refused before any check."""
    kind, _, name = source.removeprefix("$request.").partition(".")
    value = ""
    if kind == "header":
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), "")
    elif kind == "querystring":
        value = query.get(name, "")
    value = value.strip()
    token = value[7:].strip() if value[:7].lower() == "bearer " else value
    if not token:
        raise Unauthorized()
    return token


def _header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    try:
        if len(parts) != 3:  # header, payload, signature
            raise ValueError(token)
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, UnicodeDecodeError) as error:
        raise Unauthorized("the token is not a valid JWT") from error
    if not isinstance(header, dict):
        raise Unauthorized("the token is not a valid JWT")
    return header


def _check_claims(authorizer: JwtAuthorizer, claims: dict[str, Any], now: float) -> None:
    if claims.get("iss") != authorizer.issuer:
        raise Unauthorized("the token does not have a valid issuer")
    audience = claims["aud"] if "aud" in claims else claims.get("client_id")
    if not set(_as_list(audience)) & set(authorizer.audience):
        raise Unauthorized("the token does not have a valid audience")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now:
        raise Unauthorized("the token has expired")
    for name in ("nbf", "iat"):
        if name in claims and (not isinstance(claims[name], int | float) or claims[name] > now):
            raise Unauthorized(f"the token's {name} is in the future")


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else [value]


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope", claims.get("scp", ""))
    return list(scope) if isinstance(scope, list) else str(scope).split()
