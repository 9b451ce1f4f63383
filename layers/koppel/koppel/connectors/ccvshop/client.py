"""How Koppel talks to CCV Shop: signed REST calls under ``{shop}/api/rest/v1/`` (README.md in this folder).

Every request is signed: ``x-hash = hex HMAC-SHA512(secret, public|METHOD|uri|body|x-date)`` with ``uri`` the path
including ``/api/rest/v1/…`` and the query string, as CCV's official PHP SDK does; answers carry the same kind of
hash, checked here when present. Collections are paged with ``start``/``size`` and followed by their ``next`` link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from koppel.connectors.ccvshop.settings import API_PREFIX
from koppel.errors import AuthError, PermanentError, RetryableError
from koppel.http import json_body, send
from koppel.inbound import same_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

ACCEPT = "application/vnd.verto.webshop+json"
VENDOR = "CCV Shop"
RATE_LIMIT_WAIT = 60.0
"""CCV's limits are per minute (codes 429.10 per resource, 429.11 shop-wide): without a Retry-After, wait one."""


class CcvshopClient:
    """Signed calls to one shop's API with its public and secret key."""

    def __init__(
        self,
        base_url: str,
        *,
        public_key: str,
        secret_key: str,
        session: requests.Session,
        clock: Callable[[], datetime],
    ) -> None:
        self._base_url = base_url
        self._public = public_key
        self._secret = secret_key.encode()
        self._session = session
        self._clock = clock

    def get(self, uri: str) -> Any:
        """A signed GET of ``/api/rest/v1/<uri>``; the answer's own x-hash is checked when it has one."""
        return self.request("GET", uri)

    def collection(self, uri: str) -> Iterator[Mapping[str, Any]]:
        """Every item of a collection, following ``next`` (kept to its path: only this shop is ever asked)."""
        seen: set[str] = set()
        next_uri: str | None = uri
        while next_uri and next_uri not in seen:
            seen.add(next_uri)
            page = self.get(next_uri)
            items = page.get("items") if isinstance(page, Mapping) else None
            if not isinstance(items, list):
                raise PermanentError(f"CCV Shop answered GET {next_uri} without an items list")
            yield from (item for item in items if isinstance(item, Mapping))
            link = page.get("next")
            next_uri = _api_path(link) if isinstance(link, str) and link and items else None

    def request(self, method: str, uri: str, payload: Mapping[str, Any] | None = None) -> Any:
        url = self._base_url + API_PREFIX + uri
        body = json.dumps(payload, separators=(",", ":")) if payload is not None else ""
        path = requests.Request(method, url).prepare().path_url  # exactly what goes on the wire
        x_date = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "x-public": self._public,
            "x-date": x_date,
            "x-hash": self._sign(f"{self._public}|{method}|{path}|{body}|{x_date}".encode()),
            "Accept": ACCEPT,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = send(
                self._session, method, url, vendor=VENDOR, describe_error=describe_error, headers=headers,
                data=body.encode() if body else None,
            )  # fmt: skip
        except RetryableError as error:
            if error.status == 429 and error.retry_after is None:
                raise RetryableError(str(error), retry_after=RATE_LIMIT_WAIT, status=429) from error
            raise
        self._check_answer(method, path, response)
        return json_body(response) if response.content else None

    def _check_answer(self, method: str, path: str, response: requests.Response) -> None:
        given = response.headers.get("x-hash")
        if given is None:
            return
        message = f"{self._public}|{method}|{path}|".encode() + response.content
        message += f"|{response.headers.get('x-date', '')}".encode()
        if not same_secret(given.strip().lower(), self._sign(message)):
            raise AuthError(
                f"response signature invalid for {method} {path}: CCV Shop's x-hash does not match the answer, so the "
                "secret_key is wrong or the answer was altered on the way. Check the API keys and reconnect."
            )

    def _sign(self, message: bytes) -> str:
        return hmac.new(self._secret, message, hashlib.sha512).hexdigest()


def describe_error(response: requests.Response) -> str:
    """CCV's error body ``{"code": "429.10", "status": 429, "developermessage": "..."}`` as one sentence."""
    try:
        data = json_body(response)
    except RetryableError:
        data = None
    if isinstance(data, dict) and (data.get("developermessage") or data.get("code")):
        message = str(data.get("developermessage") or data.get("message") or "no message")
        return f"{message} (code {data['code']})" if data.get("code") else message
    text = response.text.strip()
    return text[:300] if text else response.reason or "no message"


def _api_path(link: str) -> str:
    """A ``next`` href (absolute, maybe on another host name of the shop) as a path under the API prefix."""
    parts = urlsplit(link)
    path = parts.path
    if not path.startswith(API_PREFIX):
        raise PermanentError(f"CCV Shop's next link {link!r} is not under {API_PREFIX}")
    return path.removeprefix(API_PREFIX) + (f"?{parts.query}" if parts.query else "")
