"""In-process stand-ins that answer at once, for measuring Koppel's own CPU (devkit.bench.cpu).

``InstantSnelstart`` is a requests transport that plays an empty SnelStart; ``InstantDynamo`` a botocore
``before-send`` hook that plays a healthy DynamoDB table on the happy path. Their own work is a dict look-up or a
byte splice, so nearly all CPU measured around them is Koppel's (and the libraries it calls).
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import BaseAdapter
from requests.utils import get_encoding_from_headers

if TYPE_CHECKING:
    from collections.abc import Iterator

    from requests import PreparedRequest

TOKEN = json.dumps({"access_token": "bench-token", "token_type": "bearer", "expires_in": 3599}).encode()


class InstantSnelstart(BaseAdapter):
    """A requests transport that answers like an empty SnelStart at once: GET → [], POST → the body with an id."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        if request.method == "GET":
            content, status = b"[]", 200
        elif b"grant_type=" in body:
            content, status = TOKEN, 200
        else:
            ident = f'{{"id":"00000000-0000-0000-0001-{next(self._ids):012d}",'.encode()
            content, status = ident + body[1:], 201
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        response.encoding = get_encoding_from_headers(response.headers)
        response.request = request
        response.url = request.url or ""
        response.reason = "OK"
        return response

    def close(self) -> None:
        """No sockets to close."""


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class InstantDynamo:
    """A botocore ``before-send`` hook that answers DynamoDB calls in-process, as a healthy table would on the happy
    path: PutItem stores the item (conditions pass: every event here is new), GetItem returns it, UpdateItem and
    DeleteItem answer {}. Keys: ``pk``/``sk`` (Koppel's tables) or ``id`` (Powertools idempotency)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls = 0

    @staticmethod
    def _key(table: str, item: dict[str, Any]) -> tuple[str, str]:
        return table, json.dumps([item.get("pk"), item.get("sk"), item.get("id")])

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.calls += 1
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rpartition(".")[2]
        body = json.loads(request.body)
        answer: dict[str, Any] = {}
        if operation == "PutItem":
            self.items[self._key(body["TableName"], body["Item"])] = body["Item"]
        elif operation == "GetItem":
            item = self.items.get(self._key(body["TableName"], body["Key"]))
            answer = {"Item": item} if item else {}
        elif operation not in ("UpdateItem", "DeleteItem"):
            raise RuntimeError(f"InstantDynamo does not play {operation}")
        headers: Any = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Raw(json.dumps(answer).encode()))
