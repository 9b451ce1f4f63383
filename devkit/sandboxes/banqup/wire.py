"""Banqup's error shapes, all inferred [I]: no error body is printed in Banqup's public docs.

The token route ``/oauth2/client_credential/gettoken`` (and the recipe's ``/accesstoken``) is the path of an
Apigee API gateway's OAuth proxy, so gateway refusals take Apigee's shapes [I]:
- token route: ``{"ErrorCode": "invalid_client", "Error": "…"}`` (401) or ``invalid_request`` (400);
- a missing/unknown token: 401 ``{"fault": {"faultstring": "Invalid access token", "detail": {"errorcode":
  "oauth.v2.InvalidAccessToken"}}}``; an expired one: ``"Access Token expired"`` /
  ``keymanagement.service.access_token_expired``;
- throttle: 429 ``policies.ratelimit.SpikeArrestViolation``; outage: 503
  ``messaging.adaptors.http.flow.ServiceUnavailable``.
Behind the gateway the datastore answers ``{"code", "message"}`` [I]; the storage (signed URLs) answers like
Google Cloud Storage: 403 with an XML ``<Error><Code>SignatureDoesNotMatch</Code>…`` body [I].
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from devkit.sandboxes.banqup.store import BanqupError
from devkit.sandboxes.kit.server import json_response


def oauth_error(status: int, code: str, message: str) -> BanqupError:
    return BanqupError(status, {"ErrorCode": code, "Error": message})


def gateway_error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> BanqupError:
    return BanqupError(status, {"fault": {"faultstring": message, "detail": {"errorcode": code}}}, headers)


def error_response(error: BanqupError) -> Response:
    if "xml" in error.body:
        return Response(error.body["xml"], status=error.status, mimetype="application/xml", headers=error.headers)
    return json_response(error.body, error.status, error.headers)


def answer(status: int, body: Any, content_type: str = "application/octet-stream") -> Response:
    if isinstance(body, bytes):
        return Response(body, status=status, content_type=content_type)
    return json_response(body, status)
